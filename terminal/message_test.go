package terminal

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Every message round-trips, is valid JSON, and blanks do not matter.
func TestMessages(t *testing.T) {
	for _, m := range []Message{
		{Input: []byte("p 6*7\r\x03\x1c\xff")},
		{Input: []byte{}},
		{Resize: &Size{Rows: 40, Cols: 120}},
		{Detach: true},
	} {
		line := AppendMessage(nil, m)
		if !json.Valid(line) || line[len(line)-1] != '\n' {
			t.Errorf("%q is not one JSON line", line)
		}
		got, err := ParseMessage(line)
		if err != nil || !bytes.Equal(got.Input, m.Input) || got.Detach != m.Detach ||
			(m.Resize != nil) != (got.Resize != nil) || m.Resize != nil && *got.Resize != *m.Resize {
			t.Errorf("%q read back as %+v, %v", line, got, err)
		}
	}
	if m, err := ParseMessage([]byte(` { "resize" : [ 24 , 80 ] } `)); err != nil || *m.Resize != (Size{24, 80}) {
		t.Errorf("with blanks: %+v, %v", m, err)
	}
	for _, bad := range []string{``, `{}`, `{"input":"***"}`, `{"resize":[1]}`, `{"resize":[70000,1]}`, `{"detach":false}`, `[1]`} {
		if _, err := ParseMessage([]byte(bad)); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
