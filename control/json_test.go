package control

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// plain turns the parser's numbers into float64, as encoding/json gives
// them, so that the two can be compared.
func plain(v any) any {
	switch v := v.(type) {
	case number:
		var f float64
		json.Unmarshal([]byte(v), &f)
		return f
	case []any:
		for i := range v {
			v[i] = plain(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = plain(v[k])
		}
	}
	return v
}

func TestParseJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `-12.25E-2`, `true`, `false`, `null`,
		` { "a" : [ 1 , { "b" : null } , "c" ] } `,
		`"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \ud83d\ude00 \ud800 x"`,
		"\"caf\xc3\xa9 \xff\"",
		`{"a":1,"a":2}`,
		// Invalid:
		`{`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `+1`, `1e`, `-`, `tru`, `nul`, `"abc`, "\"a\tb\"", `"\x"`, `"\u12"`,
		`{"a" 1}`, `{1:2}`, `[1 2]`, `1 2`, `{"a":1}}`, strings.Repeat("[", 300) + strings.Repeat("]", 300),
	} {
		got, err := parseJSON([]byte(s))
		var want any
		werr := json.Unmarshal([]byte(s), &want)
		if strings.HasPrefix(s, strings.Repeat("[", 300)) {
			if err == nil {
				t.Errorf("%d levels of nesting accepted", 300)
			}
			continue
		}
		if (err == nil) != (werr == nil) {
			t.Errorf("%q: error %v, encoding/json %v", s, err, werr)
			continue
		}
		if err == nil && !reflect.DeepEqual(plain(got), want) {
			t.Errorf("%q: %#v, encoding/json %#v", s, got, want)
		}
	}
}

func TestAppendStringIsJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" backslash \\ nl \n tab \t nul \x00 del \x7f", "é😀", "bad \xff\xfe utf8"} {
		var back string
		b := appendString(nil, s)
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q gives %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "bad \xff\xfe utf8" {
			want = "bad \uFFFD\uFFFD utf8"
		}
		if back != want {
			t.Errorf("%q: round trip gives %q", s, back)
		}
	}
}

func TestStatusRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	st := Status{
		Cinit: Cinit{Pid: 1, Version: "v1 \"x\"", Phase: PhaseRunning, UptimeS: 12.5, Root: "/app", Socket: "/run/cinit/app-1.sock"},
		Processes: []Process{
			{Name: "web.1", Type: "web", Pid: 42, State: StateRunning, Want: "up", Ready: true, Up: true, Since: at,
				UptimeS: 3.25, Restarts: 2, LastExit: &Exit{Code: 143, Signal: "SIGTERM", At: at}, Port: 5000,
				Policy: Policy{Restart: "always", CanDie: true, TTY: true}},
			{Name: "worker", Type: "worker", State: StateBackoff, Want: "up", Since: at, NextRestartMS: 800,
				Policy: Policy{Restart: "on-failure", Oneshot: true}},
		},
	}
	b := st.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("not JSON: %s", b)
	}
	back, err := DecodeStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, st) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", back, st)
	}
	var generic map[string]any
	json.Unmarshal(b, &generic)
	if p := generic["processes"].([]any)[1].(map[string]any); p["last_exit"] != nil || p["next_restart_ms"] != 800.0 {
		t.Errorf("second process %v: want last_exit null and next_restart_ms 800", p)
	}
}

func TestReplyRoundTrip(t *testing.T) {
	line := encodeReply(Probe{OK: true, Message: "ready"}, nil)
	res, er, err := decodeReply(line[:len(line)-1])
	if err != nil || er != nil {
		t.Fatal(err, er)
	}
	if pr, err := DecodeProbe(res); err != nil || !pr.OK || pr.Message != "ready" {
		t.Errorf("probe %+v %v", pr, err)
	}
	e := Errorf(UnsupportedVersion, "no")
	e.Versions = []int{1}
	line = encodeReply(nil, e)
	if !json.Valid(line) || !strings.Contains(string(line), `"versions":[1]`) {
		t.Errorf("error reply %s", line)
	}
	if _, er, _ := decodeReply(line[:len(line)-1]); er == nil || er.Code != UnsupportedVersion {
		t.Errorf("decoded error %+v", er)
	}
}
