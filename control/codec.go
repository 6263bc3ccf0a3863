package control

// AppendJSON appends the status as one JSON object.
func (st Status) AppendJSON(b []byte) []byte {
	e := enc{b: b}
	e.open("")
	c := st.Cinit
	e.open("cinit")
	e.int("pid", int64(c.Pid))
	e.str("version", c.Version)
	e.str("phase", c.Phase)
	e.float("uptime_s", c.UptimeS)
	e.str("root", c.Root)
	e.str("socket", c.Socket)
	e.close()
	appendProcesses(&e, st.Processes)
	e.close()
	return e.b
}

// appendProcesses appends the "processes" array.
func appendProcesses(e *enc, ps []Process) {
	e.openArray("processes")
	for i := range ps {
		ps[i].appendJSON(e)
	}
	e.closeArray()
}

// appendJSON appends one process as an array element.
func (p *Process) appendJSON(e *enc) {
	e.open("")
	e.str("name", p.Name)
	e.str("type", p.Type)
	e.int("pid", int64(p.Pid))
	e.str("state", p.State)
	e.str("want", p.Want)
	e.boolean("ready", p.Ready)
	e.boolean("up", p.Up)
	e.time("since", p.Since)
	e.float("uptime_s", p.UptimeS)
	e.int("restarts", int64(p.Restarts))
	if x := p.LastExit; x != nil {
		e.open("last_exit")
		e.int("code", int64(x.Code))
		if x.Signal != "" {
			e.str("signal", x.Signal)
		}
		e.time("at", x.At)
		e.close()
	} else {
		e.null("last_exit")
	}
	if p.NextRestartMS != 0 {
		e.int("next_restart_ms", p.NextRestartMS)
	}
	if p.Port != 0 {
		e.int("port", int64(p.Port))
	}
	e.open("policy")
	e.str("restart", p.Policy.Restart)
	e.boolean("can_die", p.Policy.CanDie)
	e.boolean("oneshot", p.Policy.Oneshot)
	e.boolean("tty", p.Policy.TTY)
	e.close()
	e.close()
}

// AppendJSON appends the probe's answer.
func (pr Probe) AppendJSON(b []byte) []byte {
	e := enc{b: b}
	e.open("")
	e.boolean("ok", pr.OK)
	e.str("message", pr.Message)
	e.close()
	return e.b
}

// AppendJSON appends the processes acted on.
func (d Done) AppendJSON(b []byte) []byte {
	e := enc{b: b}
	e.open("")
	appendProcesses(&e, d.Processes)
	if d.Message != "" {
		e.str("message", d.Message)
	}
	e.close()
	return e.b
}

// Hello is the result of the hello command: who answers.
type Hello struct {
	Pid      int
	Version  string
	Versions []int // protocol versions spoken
	Root     string
	Phase    string
}

// AppendJSON appends the hello answer.
func (h Hello) AppendJSON(b []byte) []byte {
	e := enc{b: b}
	e.open("")
	e.int("pid", int64(h.Pid))
	e.str("version", h.Version)
	e.openArray("versions")
	for _, v := range h.Versions {
		e.int("", int64(v))
	}
	e.closeArray()
	e.str("root", h.Root)
	e.str("phase", h.Phase)
	e.close()
	return e.b
}

// objectOf parses a result that must be a JSON object.
func objectOf(raw []byte) (map[string]any, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldError("result", "an object")
	}
	return m, nil
}

// DecodeStatus reads a status result.
func DecodeStatus(raw []byte) (Status, error) {
	var st Status
	m, err := objectOf(raw)
	if err != nil {
		return st, err
	}
	f := fields{m: m}
	if c := f.object("cinit"); c != nil {
		g := fields{m: c}
		g.integer("pid", &st.Cinit.Pid)
		g.str("version", &st.Cinit.Version)
		g.str("phase", &st.Cinit.Phase)
		g.float("uptime_s", &st.Cinit.UptimeS)
		g.str("root", &st.Cinit.Root)
		g.str("socket", &st.Cinit.Socket)
		f.err = g.err
	}
	if f.err != nil {
		return st, f.err
	}
	st.Processes, err = decodeProcesses(m)
	return st, err
}

// decodeProcesses reads the "processes" array of a result.
func decodeProcesses(m map[string]any) ([]Process, error) {
	list, ok := m["processes"].([]any)
	if !ok && m["processes"] != nil {
		return nil, fieldError("processes", "an array")
	}
	out := make([]Process, 0, len(list))
	for _, v := range list {
		pm, ok := v.(map[string]any)
		if !ok {
			return nil, fieldError("processes", "an array of objects")
		}
		p, err := decodeProcess(pm)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// decodeProcess reads one process.
func decodeProcess(m map[string]any) (Process, error) {
	var p Process
	f := fields{m: m}
	f.str("name", &p.Name)
	f.str("type", &p.Type)
	f.integer("pid", &p.Pid)
	f.str("state", &p.State)
	f.str("want", &p.Want)
	f.boolean("ready", &p.Ready)
	f.boolean("up", &p.Up)
	f.time("since", &p.Since)
	f.float("uptime_s", &p.UptimeS)
	f.integer("restarts", &p.Restarts)
	f.int64("next_restart_ms", &p.NextRestartMS)
	f.integer("port", &p.Port)
	if x := f.object("last_exit"); x != nil {
		p.LastExit = &Exit{}
		g := fields{m: x}
		g.integer("code", &p.LastExit.Code)
		g.str("signal", &p.LastExit.Signal)
		g.time("at", &p.LastExit.At)
		f.err = g.err
	}
	if pol := f.object("policy"); pol != nil {
		g := fields{m: pol}
		g.str("restart", &p.Policy.Restart)
		g.boolean("can_die", &p.Policy.CanDie)
		g.boolean("oneshot", &p.Policy.Oneshot)
		g.boolean("tty", &p.Policy.TTY)
		f.err = g.err
	}
	return p, f.err
}

// DecodeProbe reads a probe result.
func DecodeProbe(raw []byte) (Probe, error) {
	var pr Probe
	m, err := objectOf(raw)
	if err != nil {
		return pr, err
	}
	f := fields{m: m}
	f.boolean("ok", &pr.OK)
	f.str("message", &pr.Message)
	return pr, f.err
}

// DecodeDone reads the result of restart, stop or signal.
func DecodeDone(raw []byte) (Done, error) {
	var d Done
	m, err := objectOf(raw)
	if err != nil {
		return d, err
	}
	f := fields{m: m}
	f.str("message", &d.Message)
	if f.err != nil {
		return d, f.err
	}
	d.Processes, err = decodeProcesses(m)
	return d, err
}
