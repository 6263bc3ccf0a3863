package control

import (
	"bytes"
	"encoding/json"
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
// fields from Raw.
type Request struct {
	V         int      `json:"v"`
	Cmd       string   `json:"cmd"`
	Names     []string `json:"names,omitempty"`      // the selection; empty selects everything where allowed
	Wait      bool     `json:"wait,omitempty"`       // restart, stop: reply when done
	TimeoutMS int64    `json:"timeout_ms,omitempty"` // restart: how long the wait may take
	Signal    string   `json:"signal,omitempty"`     // signal: the signal's name or number
	Lines     *int     `json:"lines,omitempty"`      // logs: how many past lines (absent: 100)
	Follow    bool     `json:"follow,omitempty"`     // logs: then follow
	Live      bool     `json:"live,omitempty"`       // probe: liveness instead of readiness
	// logs: how the lines are printed: Format "text" (the default) or
	// "json", as cinit's --log-format; Color and Timestamps for text.
	Format     string `json:"format,omitempty"`
	Color      bool   `json:"color,omitempty"`
	Timestamps bool   `json:"timestamps,omitempty"`

	// Raw is the request line as received.
	Raw json.RawMessage `json:"-"`
}

// Error is a failed request's error, as carried in a reply.
type Error struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Versions []int  `json:"versions,omitempty"` // with UnsupportedVersion: the versions spoken
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an Error with code and a formatted message.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Reply is the first line the server writes on a connection:
//
//	{"v":1,"ok":true,"result":{...}}
//	{"v":1,"ok":false,"error":{"code":"no_match","message":"no process matches \"wbe\""}}
type Reply struct {
	V      int             `json:"v"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// wire is how a request is decoded: "v" must be present.
type wire struct {
	V *int `json:"v"`
	Request
}

// DecodeRequest parses one request line (without its '\n') and checks the
// envelope: a JSON object with "v" equal to [Version] and a "cmd". Whether
// the command exists is the server's business. The error is one a reply
// can carry as it is.
func DecodeRequest(line []byte) (*Request, *Error) {
	if len(line) > MaxRequest {
		return nil, Errorf(TooLarge, "request of %d bytes is over the limit of %d", len(line), MaxRequest)
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil, Errorf(BadRequest, "a request is one JSON object on one line")
	}
	var w wire
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, Errorf(BadRequest, "bad request: %v", err)
	}
	switch {
	case w.V == nil:
		return nil, Errorf(BadRequest, `bad request: "v" is required`)
	case *w.V != Version:
		e := Errorf(UnsupportedVersion, "protocol version %d is not supported", *w.V)
		e.Versions = []int{Version}
		return nil, e
	case w.Cmd == "":
		return nil, Errorf(BadRequest, `bad request: "cmd" is required`)
	}
	r := w.Request
	r.V = Version
	r.Raw = append(json.RawMessage(nil), line...)
	return &r, nil
}

// encodeReply returns the reply line for a result (marshalled to JSON) or
// an error, with its '\n'.
func encodeReply(result any, e *Error) []byte {
	r := Reply{V: Version, OK: e == nil, Error: e}
	if e == nil && result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return encodeReply(nil, Errorf(Failed, "encoding the result: %v", err))
		}
		r.Result = b
	}
	b, _ := json.Marshal(r) // only strings, numbers and valid raw JSON
	return append(b, '\n')
}
