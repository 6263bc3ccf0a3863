package control

import (
	"bytes"
	"fmt"
)

// Version is the protocol version this package speaks.
const Version = 1

// Limits of the protocol.
const (
	MaxRequest = 64 << 10 // bytes of a request line, without its '\n'
	MaxConns   = 32       // connections served at once; one more gets Busy
)

// Error codes. They are part of the protocol and never change meaning.
const (
	BadRequest         = "bad_request"         // not JSON, not an object, a field of the wrong type, "v" or "cmd" missing
	TooLarge           = "too_large"           // a request line over MaxRequest
	UnsupportedVersion = "unsupported_version" // "v" is not a version this server speaks
	UnknownCommand     = "unknown_command"     // "cmd" names no command
	NoMatch            = "no_match"            // a name selects no process
	PermissionDenied   = "permission_denied"   // the peer's uid is neither the server's nor root
	Busy               = "busy"                // MaxConns connections are open
	Stopping           = "stopping"            // cinit is stopping: the request cannot be done
	Timeout            = "timeout"             // the request or the wait it asked for took too long
	Failed             = "failed"              // the request was carried out and did not succeed
	NotAttachable      = "not_attachable"      // the process has no terminal
)

// Request is one request, as a client writes it:
//
//	{"v":1,"cmd":"restart","names":["web"],"wait":true,"timeout_ms":60000}
//
// Fields a command does not use are ignored, and so are fields this
// version does not know. A command of another package reads its own
// fields from Raw (with [Request.Field]).
type Request struct {
	V         int      // "v"
	Cmd       string   // "cmd"
	Names     []string // "names": the selection; empty selects everything where allowed
	Wait      bool     // "wait": restart, stop: reply when done
	TimeoutMS int64    // "timeout_ms": restart: how long the wait may take
	Signal    string   // "signal": the signal's name or number
	Lines     *int     // "lines": logs: how many past lines (absent: 100)
	Follow    bool     // "follow": logs: then follow
	Live      bool     // "live": probe: liveness instead of readiness
	// "format", "color", "timestamps": logs: how the lines are printed,
	// Format "text" (the default) or "json" as cinit's --log-format.
	Format     string
	Color      bool
	Timestamps bool

	// Raw is the request line as received.
	Raw []byte

	fields map[string]any // every field of Raw, parsed
}

// Field returns a field of the request as parsed JSON (string, bool,
// []any, map[string]any, or nil when absent or null; a number is a
// string-like type whose text [Request.Int] reads), for commands whose
// fields Request does not name.
func (r *Request) Field(key string) any { return r.fields[key] }

// Int reads an integer field of the request; ok is false when it is
// absent, null or not an integer.
func (r *Request) Int(key string) (n int64, ok bool) {
	n, present, err := getInt(r.fields, key)
	return n, present && err == nil
}

// Error is a failed request's error, as carried in a reply.
type Error struct {
	Code     string
	Message  string
	Versions []int // with UnsupportedVersion: the versions spoken
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an Error with code and a formatted message.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Result is what a successful reply carries: something that writes
// itself as a JSON value.
type Result interface {
	AppendJSON(b []byte) []byte
}

// DecodeRequest parses one request line (without its '\n') and checks the
// envelope: a JSON object with "v" equal to [Version] and a "cmd", and
// the known fields of the right types. Whether the command exists is the
// server's business. The error is one a reply can carry as it is.
func DecodeRequest(line []byte) (*Request, *Error) {
	if len(line) > MaxRequest {
		return nil, Errorf(TooLarge, "request of %d bytes is over the limit of %d", len(line), MaxRequest)
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil, Errorf(BadRequest, "a request is one JSON object on one line")
	}
	v, err := parseJSON(line)
	if err != nil {
		return nil, Errorf(BadRequest, "bad request: %v", err)
	}
	m := v.(map[string]any)
	ver, present, err := getInt(m, "v")
	switch {
	case err != nil:
		return nil, Errorf(BadRequest, "bad request: %v", err)
	case !present:
		return nil, Errorf(BadRequest, `bad request: "v" is required`)
	case ver != Version:
		e := Errorf(UnsupportedVersion, "protocol version %d is not supported", ver)
		e.Versions = []int{Version}
		return nil, e
	}
	r, err := requestOf(m)
	if err != nil {
		return nil, Errorf(BadRequest, "bad request: %v", err)
	}
	if r.Cmd == "" {
		return nil, Errorf(BadRequest, `bad request: "cmd" is required`)
	}
	r.Raw = append([]byte(nil), line...)
	return r, nil
}

// requestOf reads the known fields of a request object.
func requestOf(m map[string]any) (*Request, error) {
	r := &Request{V: Version, fields: m}
	f := fields{m: m}
	f.str("cmd", &r.Cmd)
	f.strings("names", &r.Names)
	f.boolean("wait", &r.Wait)
	f.int64("timeout_ms", &r.TimeoutMS)
	f.str("signal", &r.Signal)
	f.boolean("follow", &r.Follow)
	f.boolean("live", &r.Live)
	f.str("format", &r.Format)
	f.boolean("color", &r.Color)
	f.boolean("timestamps", &r.Timestamps)
	if f.err != nil {
		return nil, f.err
	}
	if n, present, err := getInt(m, "lines"); err != nil {
		return nil, err
	} else if present {
		lines := int(n)
		r.Lines = &lines
	}
	return r, nil
}

// AppendJSON appends the request as one JSON object, with the fields that
// are set.
func (r *Request) AppendJSON(b []byte) []byte {
	e := enc{b: b}
	e.open("")
	e.int("v", Version)
	e.str("cmd", r.Cmd)
	if len(r.Names) > 0 {
		e.strings("names", r.Names)
	}
	for _, f := range []struct {
		key string
		set bool
	}{{"wait", r.Wait}, {"follow", r.Follow}, {"live", r.Live}, {"color", r.Color}, {"timestamps", r.Timestamps}} {
		if f.set {
			e.boolean(f.key, true)
		}
	}
	if r.TimeoutMS != 0 {
		e.int("timeout_ms", r.TimeoutMS)
	}
	if r.Lines != nil {
		e.int("lines", int64(*r.Lines))
	}
	for _, f := range [][2]string{{"signal", r.Signal}, {"format", r.Format}} {
		if f[1] != "" {
			e.str(f[0], f[1])
		}
	}
	e.close()
	return e.b
}

// appendJSON appends the error object.
func (er *Error) appendJSON(e *enc) {
	e.open("error")
	e.str("code", er.Code)
	e.str("message", er.Message)
	if len(er.Versions) > 0 {
		e.openArray("versions")
		for _, v := range er.Versions {
			e.int("", int64(v))
		}
		e.closeArray()
	}
	e.close()
}

// encodeReply returns the reply line for a result or an error, with its
// '\n':
//
//	{"v":1,"ok":true,"result":{...}}
//	{"v":1,"ok":false,"error":{"code":"no_match","message":"no process matches \"wbe\""}}
func encodeReply(result Result, er *Error) []byte {
	e := enc{}
	e.open("")
	e.int("v", Version)
	e.boolean("ok", er == nil)
	switch {
	case er != nil:
		er.appendJSON(&e)
	case result != nil:
		e.key("result")
		e.b = result.AppendJSON(e.b)
		e.comma = true
	}
	e.close()
	return append(e.b, '\n')
}

// decodeReply parses a reply line into its result's JSON text, or its
// error.
func decodeReply(line []byte) (result []byte, er *Error, err error) {
	p := &parser{s: line, spans: map[string][2]int{}}
	v, err := p.whole()
	if err != nil {
		return nil, nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("not an object")
	}
	if ver, _, _ := getInt(m, "v"); ver != Version {
		return nil, nil, fmt.Errorf("protocol version %v", m["v"])
	}
	if good, _ := getBool(m, "ok"); good {
		if s, ok := p.spans["result"]; ok {
			result = append([]byte(nil), line[s[0]:s[1]]...)
		}
		return result, nil, nil
	}
	er = &Error{Code: Failed, Message: "failed"}
	if eo, _ := getObject(m, "error"); eo != nil {
		f := fields{m: eo}
		f.str("code", &er.Code)
		f.str("message", &er.Message)
	}
	return nil, er, nil
}
