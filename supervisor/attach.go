package supervisor

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/terminal"
)

// attachResult is the reply to attach, before the stream:
// {"name":"web","pid":12}.
type attachResult struct {
	Name string
	Pid  int
}

// AppendJSON writes the result; a process name needs no escaping beyond
// Go's quoting (Procfile names are letters, digits, '_', '-' and '.').
func (r attachResult) AppendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = strconv.AppendQuote(b, r.Name)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(r.Pid), 10)
	return append(b, '}')
}

// ctlAttach attaches the client to the terminal of one --tty process
// (README "Debugging a process"). The loop only checks and registers the
// client with the terminal's hub; the connection's goroutine carries the
// stream, so the loop never waits for the client.
func (s *supervisor) ctlAttach(c *control.Call, units []*unit) {
	if len(units) != 1 {
		c.Fail(control.Errorf(control.Failed, "%q selects %d processes; attach to one of them", c.Req.Names[0], len(units)))
		return
	}
	u := units[0]
	if !u.pol.TTY {
		c.Fail(control.Errorf(control.NotAttachable, "%s has no terminal (start it with --tty %s)", u.inst.Name, u.inst.Entry.Name))
		return
	}
	var cl *terminal.Client
	err := terminal.ErrEnded
	if u.hub != nil {
		cl, err = u.hub.Attach(u.inst.Name)
	}
	if err != nil {
		c.Fail(control.Errorf(control.Failed, "%s is not running (%s)", u.inst.Name, s.stateOf(u)))
		return
	}
	s.audit(c, "attach "+u.inst.Name, []*unit{u})
	hub := u.hub
	c.Stream(attachResult{Name: u.inst.Name, Pid: u.pid}, func(conn *control.Conn) {
		serveAttach(conn, hub, cl)
	})
}

// attachConn is the part of a control connection an attach stream uses.
type attachConn interface {
	io.ReadWriter
	SetWriteDeadline(time.Time) error
}

// serveAttach carries one attach stream in the connection's goroutine:
// the terminal's output to the client, and the client's messages (keys,
// window sizes, detach) to the terminal, until either side ends it. A
// client dropped for not reading has its pending write cut short.
func serveAttach(conn attachConn, hub *terminal.Hub, cl *terminal.Client) {
	go readAttach(conn, hub, cl)
	go func() {
		<-cl.Over()
		if cl.Dropped() {
			conn.SetWriteDeadline(time.Unix(1, 0))
		}
	}()
	for {
		out, msg, ok := cl.Next(nil)
		if !ok {
			if msg != "" {
				conn.Write([]byte("\r\n[cinit: " + msg + "]\r\n"))
			}
			return
		}
		if _, err := conn.Write(out); err != nil {
			cl.Detach()
			return
		}
	}
}

// readAttach reads the client's messages until it detaches or hangs up.
func readAttach(conn io.Reader, hub *terminal.Hub, cl *terminal.Client) {
	defer cl.Detach()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), control.MaxRequest)
	for sc.Scan() {
		m, err := terminal.ParseMessage(sc.Bytes())
		if err != nil {
			return
		}
		select {
		case <-cl.Over():
			return // taken over: its keys no longer count
		default:
		}
		switch {
		case m.Detach:
			return
		case m.Resize != nil:
			hub.Resize(*m.Resize)
		case len(m.Input) > 0:
			if hub.Input(m.Input) != nil {
				return
			}
		}
	}
}
