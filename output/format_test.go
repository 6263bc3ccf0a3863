package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"
)

// fixedClock returns a clock that always shows t.
func fixedClock(t time.Time) func() time.Time {
	return func() time.Time { return t }
}

var noon = time.Date(2024, 5, 1, 13, 4, 5, 123456789, time.UTC)

// formatLines formats lines as one batch of a pipe labeled l.
func formatLines(o Options, l Label, s Stream, lines ...string) string {
	if o.Now == nil {
		o.Now = fixedClock(noon)
	}
	f := newFormatter(o, l.Name, paletteColor(l.Color), l.Raw, pipeFields(s.String()))
	f.begin()
	var out []byte
	for _, line := range lines {
		out = f.appendLine(out, []byte(line))
	}
	return string(out)
}

func TestTextFormat(t *testing.T) {
	const (
		cyan   = "\x1b[36m"
		hiCyan = "\x1b[96m"
		blue   = "\x1b[34m"
		yellow = "\x1b[33m"
		reset  = "\x1b[0m"
	)
	tests := []struct {
		name  string
		o     Options
		l     Label
		lines []string
		want  string
	}{
		{"plain", Options{Width: 5}, Label{Name: "web"}, []string{"hello"}, "web   | hello\n"},
		{"exact width", Options{Width: 5}, Label{Name: "web.1"}, []string{"x"}, "web.1 | x\n"},
		{"no width", Options{}, Label{Name: "web"}, []string{"x"}, "web | x\n"},
		{"name wider than width", Options{Width: 2}, Label{Name: "worker"}, []string{"x"}, "worker | x\n"},
		{"empty line", Options{Width: 3}, Label{Name: "web"}, []string{""}, "web | \n"},
		{"several lines", Options{Width: 4}, Label{Name: "db"}, []string{"a", "", "c"}, "db   | a\ndb   | \ndb   | c\n"},
		{"bytes pass", Options{Width: 1}, Label{Name: "b"}, []string{"\x00\xff\xfe\x1b[31mred\r\t"}, "b | \x00\xff\xfe\x1b[31mred\r\t\n"},
		{"colored", Options{Width: 5, Color: true}, Label{Name: "web"}, []string{"hello"}, cyan + "web   |" + reset + " hello\n"},
		{"colored second", Options{Width: 3, Color: true}, Label{Name: "db", Color: 1}, []string{"x"}, yellow + "db  |" + reset + " x\n"},
		{"colored bright", Options{Width: 3, Color: true}, Label{Name: "db", Color: 6}, []string{"x"}, hiCyan + "db  |" + reset + " x\n"},
		{"colored wraps", Options{Width: 3, Color: true}, Label{Name: "db", Color: 12}, []string{"x"}, cyan + "db  |" + reset + " x\n"},
		{"colored wraps negative", Options{Width: 3, Color: true}, Label{Name: "db", Color: -1}, []string{"x"}, "\x1b[94m" + "db  |" + reset + " x\n"},
		{"color leaves the line alone", Options{Width: 1, Color: true}, Label{Name: "a", Color: 5}, []string{"\x1b[1mbold"}, blue + "a |" + reset + " \x1b[1mbold\n"},
		{"timestamps", Options{Width: 5, Timestamps: true}, Label{Name: "web"}, []string{"a", "b"}, "13:04:05 web   | a\n13:04:05 web   | b\n"},
		{"timestamps colored", Options{Width: 3, Timestamps: true, Color: true}, Label{Name: "web"}, []string{"a"}, "13:04:05 " + cyan + "web |" + reset + " a\n"},
		{"raw", Options{Width: 5, Timestamps: true, Color: true}, Label{Name: "web", Raw: true}, []string{`{"level":"info"}`, ""}, "{\"level\":\"info\"}\n\n"},
		{"raw json format", Options{Format: JSON}, Label{Name: "web", Raw: true}, []string{`{"a":1}`, "\xff"}, "{\"a\":1}\n\xff\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := formatLines(tt.o, tt.l, Stdout, tt.lines...)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestColorIgnoresGlobalSwitch checks that fatih/color's package-wide
// NoColor decides nothing here.
func TestColorIgnoresGlobalSwitch(t *testing.T) {
	saved := color.NoColor
	t.Cleanup(func() { color.NoColor = saved })
	for _, global := range []bool{false, true} {
		color.NoColor = global
		on := formatLines(Options{Color: true}, Label{Name: "a"}, Stdout, "x")
		off := formatLines(Options{Color: false}, Label{Name: "a"}, Stdout, "x")
		if on != "\x1b[36ma |\x1b[0m x\n" || off != "a | x\n" {
			t.Errorf("NoColor=%v: colored %q, plain %q", global, on, off)
		}
	}
}

func TestTimestampCache(t *testing.T) {
	now := noon
	f := newFormatter(Options{Timestamps: true, Now: func() time.Time { return now }}, "a", 0, false, "")
	steps := []struct {
		d    time.Duration
		want string
	}{
		{0, "13:04:05 "},
		{800 * time.Millisecond, "13:04:05 "}, // same second, later nanoseconds
		{100 * time.Millisecond, "13:04:06 "},
		{time.Hour, "14:04:06 "},
	}
	for _, s := range steps {
		now = now.Add(s.d)
		f.begin()
		if got := string(f.head); got != s.want+"a | " {
			t.Errorf("at %v: stamp %q, want %q", now, got, s.want)
		}
	}
}

// jsonLine is one decoded line of the JSON format.
type jsonLine struct {
	Time    string  `json:"time"`
	Name    string  `json:"name"`
	Stream  *string `json:"stream"`
	Line    string  `json:"line"`
	Event   *string `json:"event"`
	Process *string `json:"process"`
	Pid     *int    `json:"pid"`
	Code    *int    `json:"code"`
	Signal  *string `json:"signal"`
}

// decodeJSONLines decodes out, one object per line, strictly.
func decodeJSONLines(t *testing.T, out string) []jsonLine {
	t.Helper()
	var lines []jsonLine
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") || !json.Valid([]byte(l)) {
			t.Fatalf("not one JSON object per line: %q", l)
		}
		d := json.NewDecoder(strings.NewReader(l))
		d.DisallowUnknownFields()
		var j jsonLine
		if err := d.Decode(&j); err != nil {
			t.Fatalf("decoding %q: %v", l, err)
		}
		lines = append(lines, j)
	}
	return lines
}

// viaEncodingJSON returns what s becomes after a round trip through
// encoding/json, the reference for invalid UTF-8 and escapes.
func viaEncodingJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back string
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

func TestJSONFormat(t *testing.T) {
	var control []byte
	for c := 0; c < 0x20; c++ {
		control = append(control, byte(c))
	}
	lines := []string{
		"hello",
		"",
		`quote " backslash \ slash /`,
		string(control) + "\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",     // valid UTF-8
		"bad \xff\xfe end",                              // invalid bytes
		"cut \xe2\x82",                                  // truncated sequence
		"\xed\xa0\x80 surrogate, \xc0\xaf overlong",     // invalid encodings
		"<html> & \u2028\u2029",                         // escaped by encoding/json, not here
		strings.Repeat("long \x01 line ", 1000) + "end", // several runs
	}
	for _, s := range []Stream{Stdout, Stderr} {
		out := formatLines(Options{Format: JSON, Timestamps: true, Color: true, Width: 9}, Label{Name: `we"b`}, s, lines...)
		got := decodeJSONLines(t, out)
		if len(got) != len(lines) {
			t.Fatalf("%d lines out of %d", len(got), len(lines))
		}
		for i, j := range got {
			if want := viaEncodingJSON(t, lines[i]); j.Line != want {
				t.Errorf("line %d: %q, want %q", i, j.Line, want)
			}
			if !utf8.ValidString(j.Line) {
				t.Errorf("line %d is not valid UTF-8", i)
			}
			if j.Name != `we"b` || j.Stream == nil || *j.Stream != s.String() || j.Event != nil {
				t.Errorf("line %d: fields %+v", i, j)
			}
			if j.Time != "2024-05-01T13:04:05.123456789Z" {
				t.Errorf("line %d: time %q", i, j.Time)
			}
		}
	}
}

func TestJSONExactBytes(t *testing.T) {
	got := formatLines(Options{Format: JSON}, Label{Name: "web"}, Stderr, "a\"b\x01\xff\n")
	want := `{"time":"2024-05-01T13:04:05.123456789Z","name":"web","stream":"stderr","line":"a\"b\u0001\ufffd\n"}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAppendJSONCharsMatchesEncodingJSON(t *testing.T) {
	// Every single byte, and every pair of bytes from an interesting set.
	set := []byte{0, 1, 0x1f, ' ', '"', '\\', '/', 'a', 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff}
	var inputs [][]byte
	for c := 0; c < 256; c++ {
		inputs = append(inputs, []byte{byte(c)})
	}
	for _, a := range set {
		for _, b := range set {
			inputs = append(inputs, []byte{a, b}, []byte{a, b, 0x82, 0xac})
		}
	}
	// Each byte at each place of a longer plain text, so that the eight
	// bytes at a time path meets it in every lane.
	for c := 0; c < 256; c++ {
		for at := range 17 {
			in := []byte("abcdefghijklmnopq")
			in[at] = byte(c)
			inputs = append(inputs, in)
		}
	}
	for _, in := range inputs {
		enc := appendJSONString(nil, in)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encoded as %s: %v", in, enc, err)
		}
		if want := viaEncodingJSON(t, string(in)); got != want {
			t.Errorf("%q: decoded %q, want %q", in, got, want)
		}
	}
}

func TestEventFormat(t *testing.T) {
	code3, code0 := 3, 0
	tests := []struct {
		name string
		o    Options
		e    Event
		want string
	}{
		{"text", Options{Width: 5}, Event{Kind: "exit", Text: "web exited with code 3", Process: "web", Code: &code3},
			"cinit | web exited with code 3\n"},
		{"text padded", Options{Width: 8}, Event{Kind: "start", Text: "web started"},
			"cinit    | web started\n"},
		{"text colored white", Options{Width: 6, Color: true}, Event{Kind: "start", Text: "x"},
			"\x1b[37mcinit  |\x1b[0m x\n"},
		{"text timestamps", Options{Width: 5, Timestamps: true}, Event{Kind: "warning", Text: "w"},
			"13:04:05 cinit | w\n"},
		{"text several lines", Options{Width: 5}, Event{Kind: "error", Text: "one\r\ntwo"},
			"cinit | one\ncinit | two\n"},
		{"json bare", Options{Format: JSON}, Event{Kind: "signal", Text: "SIGTERM received"},
			`{"time":"2024-05-01T13:04:05.123456789Z","name":"cinit","event":"signal","line":"SIGTERM received"}` + "\n"},
		{"json all", Options{Format: JSON}, Event{Kind: "exit", Text: "web was killed by SIGKILL", Process: "web", Pid: 12, Code: &code0, Signal: "SIGKILL"},
			`{"time":"2024-05-01T13:04:05.123456789Z","name":"cinit","event":"exit","line":"web was killed by SIGKILL","process":"web","pid":12,"code":0,"signal":"SIGKILL"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Now = fixedClock(noon)
			f := newEventFormatter(tt.o)
			f.begin()
			if got := string(f.appendEvent(nil, &tt.e)); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestJSONEventFieldsDecode(t *testing.T) {
	code := 143
	events := []Event{
		{Kind: "start", Text: "web started with pid 12", Process: "web", Pid: 12},
		{Kind: "exit", Text: "web exited with code 143", Process: "web", Pid: 12, Code: &code},
		{Kind: "kill", Text: "sending SIGKILL to 1 process", Signal: "SIGKILL"},
		{Kind: "warning", Text: "odd \x00 \xff \"text\"\n"},
	}
	f := newEventFormatter(Options{Format: JSON, Now: fixedClock(noon)})
	f.begin()
	var out []byte
	for i := range events {
		out = f.appendEvent(out, &events[i])
	}
	got := decodeJSONLines(t, string(out))
	for i, j := range got {
		e := events[i]
		if j.Name != "cinit" || j.Stream != nil || j.Event == nil || *j.Event != e.Kind || j.Line != viaEncodingJSON(t, e.Text) {
			t.Errorf("event %d: %+v", i, j)
		}
		if (j.Process != nil) != (e.Process != "") || (j.Pid != nil) != (e.Pid != 0) ||
			(j.Code != nil) != (e.Code != nil) || (j.Signal != nil) != (e.Signal != "") {
			t.Errorf("event %d: optional fields %s", i, bytes.Split(out, []byte("\n"))[i])
		}
		if j.Code != nil && *j.Code != *e.Code || j.Pid != nil && *j.Pid != e.Pid {
			t.Errorf("event %d: numbers %+v", i, j)
		}
	}
}
