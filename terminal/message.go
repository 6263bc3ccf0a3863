package terminal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
)

// Message is what an attach client sends to cinit after its request, one
// JSON object per line, of three shapes:
//
//	{"input":"cCA2KjcN"}   keys typed, base64
//	{"resize":[40,120]}    the window's new size, rows and columns
//	{"detach":true}        the client leaves
//
// They are written and read by hand (see [AppendMessage],
// [ParseMessage]) rather than with encoding/json, which would add about
// a tenth to cinit's binary for three fixed shapes.
type Message struct {
	Input  []byte
	Resize *Size
	Detach bool
}

// AppendMessage appends m as one JSON line to b. A Message sets one of
// its fields; the first set of Detach, Resize and Input is written.
func AppendMessage(b []byte, m Message) []byte {
	switch {
	case m.Detach:
		b = append(b, `{"detach":true}`...)
	case m.Resize != nil:
		b = append(b, `{"resize":[`...)
		b = strconv.AppendUint(b, uint64(m.Resize.Rows), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(m.Resize.Cols), 10)
		b = append(b, "]}"...)
	default:
		b = append(b, `{"input":"`...)
		b = base64.StdEncoding.AppendEncode(b, m.Input)
		b = append(b, `"}`...)
	}
	return append(b, '\n')
}

var errMessage = errors.New(`not an attach message: want {"input":"BASE64"}, {"resize":[ROWS,COLS]} or {"detach":true}`)

// ParseMessage reads one line written by [AppendMessage] (blanks around
// the tokens are allowed).
func ParseMessage(line []byte) (Message, error) {
	s := squeeze(line)
	switch {
	case bytes.Equal(s, []byte(`{"detach":true}`)):
		return Message{Detach: true}, nil
	case bytes.HasPrefix(s, []byte(`{"input":"`)) && bytes.HasSuffix(s, []byte(`"}`)):
		enc := s[len(`{"input":"`) : len(s)-2]
		in, err := base64.StdEncoding.AppendDecode(nil, enc)
		if err != nil {
			return Message{}, errMessage
		}
		return Message{Input: in}, nil
	case bytes.HasPrefix(s, []byte(`{"resize":[`)) && bytes.HasSuffix(s, []byte(`]}`)):
		rows, cols, ok := bytes.Cut(s[len(`{"resize":[`):len(s)-2], []byte{','})
		r, err1 := strconv.ParseUint(string(rows), 10, 16)
		c, err2 := strconv.ParseUint(string(cols), 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return Message{}, errMessage
		}
		return Message{Resize: &Size{Rows: uint16(r), Cols: uint16(c)}}, nil
	}
	return Message{}, errMessage
}

// squeeze drops the blanks of a line; no message holds a blank inside a
// string (base64 has none).
func squeeze(line []byte) []byte {
	out := make([]byte, 0, len(line))
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}
