package control

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary lines to the request decoder: the
// JSON parser accepts what encoding/json accepts and nothing else, the
// decoder never panics, every error carries a protocol code, and every
// request it accepts has version 1 and a command, and survives a round
// trip through Request.AppendJSON.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"cmd":"status"}`,
		`{"v":1,"cmd":"restart","names":["web","w*"],"wait":true,"timeout_ms":60000}`,
		`{"v":1,"cmd":"signal","names":["all"],"signal":"HUP"}`,
		`{"v":1,"cmd":"logs","lines":5,"follow":true,"x":{"y":[null,1.5e9]}}`,
		`{"v":2,"cmd":"status"}`,
		`{"cmd":"status"}`,
		`{"v":1,"cmd":""}`,
		`{"v":1,"cmd":"status"`,
		`[{"v":1}]`,
		"{\"v\":1,\"cmd\":\"st\xffatus\"}",
		`not json`,
	} {
		f.Add([]byte(s))
	}
	codes := map[string]bool{BadRequest: true, TooLarge: true, UnsupportedVersion: true}
	f.Fuzz(func(t *testing.T, line []byte) {
		// The hand-written parser accepts exactly what encoding/json does.
		if _, perr := parseJSON(line); (perr == nil) != json.Valid(line) {
			t.Fatalf("parseJSON error %v, json.Valid %v", perr, json.Valid(line))
		}
		req, err := DecodeRequest(line)
		if err != nil {
			if !codes[err.Code] || err.Message == "" {
				t.Fatalf("error %+v", err)
			}
			return
		}
		if req.V != Version || req.Cmd == "" {
			t.Fatalf("accepted %+v", req)
		}
		again, err := DecodeRequest(req.AppendJSON(nil))
		if err != nil || again.Cmd != req.Cmd || len(again.Names) != len(req.Names) {
			t.Fatalf("round trip of %+v: %+v %v", req, again, err)
		}
	})
}
