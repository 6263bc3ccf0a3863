package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// procfileVector is one Procfile input and the result the specification
// prescribes for it.
type procfileVector struct {
	id       string
	input    string
	entries  []Entry // nil when an error is expected
	warnings int
	err      string // substring of the error, including file and line; "" for none
}

// noProcesses is the error for a Procfile without entries.
const noProcesses = "Procfile: no processes defined"

// procfileVectors are Procfile cases P1-P32 (our own numbering, kept stable
// so a failure names its case), with cinit's results: the grammar of the
// procfile package comment. Vectors whose only line is ignored end in the
// "no processes defined" error.
var procfileVectors = []procfileVector{
	{id: "P1 basic", input: "web: cmd\n", entries: []Entry{{"web", "cmd", 1}}},
	{id: "P2 no space after colon", input: "web:cmd\n", entries: []Entry{{"web", "cmd", 1}}},
	{id: "P3 tab after colon", input: "web:\tcmd\n", entries: []Entry{{"web", "cmd", 1}}},
	{id: "P4 leading blanks", input: "  web: cmd\n\t \tworker:\tw\n", entries: []Entry{{"web", "cmd", 1}, {"worker", "w", 2}}},
	{id: "P5 space before colon", input: "web : cmd\n", warnings: 1, err: noProcesses},
	{id: "P6 trailing blanks kept", input: "web: cmd   \n", entries: []Entry{{"web", "cmd   ", 1}}},
	{id: "P7 no command", input: "web:\n", warnings: 1, err: noProcesses},
	{id: "P8 blank command", input: "web: \n", warnings: 1, err: noProcesses},
	{id: "P9 comment with space", input: "# web: cmd\n", err: noProcesses},
	{id: "P10 comment without space", input: "#web: cmd\n", err: noProcesses},
	{id: "P11 inline comment kept", input: "web: cmd # note\n", entries: []Entry{{"web", "cmd # note", 1}}},
	{id: "P12 hash in quotes", input: "web: echo 'a#b'\n", entries: []Entry{{"web", "echo 'a#b'", 1}}},
	{id: "P13 CRLF", input: "web: cmd\r\nworker: w\r\n", entries: []Entry{{"web", "cmd", 1}, {"worker", "w", 2}}},
	{id: "P14 lone CR is content", input: "web: cmd\rworker: w\r", entries: []Entry{{"web", "cmd\rworker: w", 1}}},
	{id: "P15 non-ASCII name", input: "wéb: cmd\n", warnings: 1, err: noProcesses},
	{id: "P16 dot in name", input: "web.1: cmd\n", warnings: 1, err: noProcesses},
	{id: "P17 dash and underscore", input: "web-1_x: cmd\n", entries: []Entry{{"web-1_x", "cmd", 1}}},
	{id: "P18 leading dash", input: "-web: cmd\n", entries: []Entry{{"-web", "cmd", 1}}, warnings: 1},
	{id: "P19 uppercase kept", input: "WEB: cmd\n", entries: []Entry{{"WEB", "cmd", 1}}},
	{id: "P20 numeric", input: "123: cmd\n", entries: []Entry{{"123", "cmd", 1}}},
	{id: "P21 space in name", input: "my web: cmd\n", warnings: 1, err: noProcesses},
	{id: "P22 double colon", input: "web:: cmd\n", entries: []Entry{{"web", ": cmd", 1}}},
	{id: "P23 colon in command", input: "web: curl http://x:80/\n", entries: []Entry{{"web", "curl http://x:80/", 1}}},
	{id: "P24 duplicate", input: "web: a\nweb: b\n", err: `Procfile:2: duplicate process "web" (first defined on line 1)`},
	{id: "P25 no continuation", input: "web: a \\\n  --flag\n", entries: []Entry{{"web", `a \`, 1}}, warnings: 2},
	{id: "P26 BOM", input: "\ufeffweb: cmd\n", entries: []Entry{{"web", "cmd", 1}}},
	{id: "P27 no final newline", input: "web: cmd", entries: []Entry{{"web", "cmd", 1}}},
	{id: "P28 blank lines", input: "\n\nweb: cmd\n\n\nworker: w\n", entries: []Entry{{"web", "cmd", 3}, {"worker", "w", 6}}},
	{id: "P29 env prefix", input: "web: FOO=1 cmd\n", entries: []Entry{{"web", "FOO=1 cmd", 1}}},
	{id: "P30 empty file", input: "", err: noProcesses},
	{id: "P31 only comments", input: "# nothing\n\n", err: noProcesses},
	{id: "P32 70 KB line", input: "web: echo " + strings.Repeat("x", 70<<10) + "\n", entries: []Entry{{"web", "echo " + strings.Repeat("x", 70<<10), 1}}},
}

func TestParseVectors(t *testing.T) {
	for _, v := range procfileVectors {
		t.Run(v.id, func(t *testing.T) {
			entries, warnings, err := Parse("Procfile", strings.NewReader(v.input))
			checkErr(t, err, v.err)
			if !slices.Equal(entries, v.entries) {
				t.Errorf("entries = %+v, want %+v", entries, v.entries)
			}
			if len(warnings) != v.warnings {
				t.Errorf("warnings = %q, want %d of them", warnings, v.warnings)
			}
		})
	}
}

// checkErr fails t unless err contains want, or is nil when want is "".
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestParseWarnings(t *testing.T) {
	input := strings.Join([]string{
		"web: serve",       // 1
		"  indented x",     // 2
		"",                 // 3
		"worker:",          // 4
		"   # comment",     // 5
		"clock: tick \\",   // 6
		"-flag: x",         // 7
		"just some words",  // 8
		"\t",               // 9
		"release: migrate", // 10
		"cinit: x",         // 11
		"all: y",           // 12
	}, "\n")
	entries, warnings, err := Parse("sub/Procfile", strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`sub/Procfile:2: ignoring line that is not "name: command"`,
		`sub/Procfile:4: ignoring process "worker": its command is empty`,
		`sub/Procfile:6: trailing "\" does not continue the line`,
		`sub/Procfile:7: process name "-flag" starts with "-" and may be taken for a flag`,
		`sub/Procfile:8: ignoring line that is not "name: command"`,
		`sub/Procfile:11: process name "cinit" reads like cinit's own messages in the output`,
		`sub/Procfile:12: process name "all" cannot be named alone: "all" in the policy flags, -m and the control commands means every process`,
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	wantEntries := []Entry{{"web", "serve", 1}, {"clock", `tick \`, 6}, {"-flag", "x", 7}, {"release", "migrate", 10}, {"cinit", "x", 11}, {"all", "y", 12}}
	if !slices.Equal(entries, wantEntries) {
		t.Errorf("entries = %+v, want %+v", entries, wantEntries)
	}
}

func TestParseErrorKeepsWarnings(t *testing.T) {
	input := "web: a\nnonsense\nweb: b\nworker: c\nworker: d\n"
	entries, warnings, err := Parse("Procfile", strings.NewReader(input))
	if entries != nil {
		t.Errorf("entries = %+v, want nil on error", entries)
	}
	checkErr(t, err, `Procfile:3: duplicate process "web" (first defined on line 1)`)
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "Procfile:2: ") {
		t.Errorf("warnings = %q, want one for line 2", warnings)
	}
}

func TestParseLongLines(t *testing.T) {
	long := strings.Repeat("y", 5<<20)
	input := "web: " + long + "\nworker: w\n"
	entries, _, err := Parse("Procfile", strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Command != long || entries[1].Line != 2 {
		t.Errorf("got %d entries, first command of %d bytes", len(entries), len(entries[0].Command))
	}
}

func TestParseReadError(t *testing.T) {
	_, _, err := Parse("Procfile", iotest.ErrReader(errors.New("read failed")))
	checkErr(t, err, "Procfile: read failed")
}

func TestFormat(t *testing.T) {
	entries := []Entry{{"web", "serve --port $PORT ", 4}, {"-x", "a\r", 9}, {"worker", `w \`, 12}}
	got := Format(entries)
	want := "web: serve --port $PORT \n-x: a\r\r\nworker: w \\\n"
	if string(got) != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	back, _, err := Parse("Procfile", bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		entries[i].Line = i + 1
	}
	if !slices.Equal(back, entries) {
		t.Errorf("round trip = %+v, want %+v", back, entries)
	}
}

func TestFormatVectors(t *testing.T) {
	for _, v := range procfileVectors {
		if v.err == "" {
			checkRoundTrip(t, []byte(v.input))
		}
	}
}

// checkRoundTrip fails t if data parses but the formatted entries do not
// parse back to the same names and commands.
func checkRoundTrip(t *testing.T, data []byte) {
	t.Helper()
	entries, _, err := Parse("Procfile", bytes.NewReader(data))
	if err != nil {
		return
	}
	printed := Format(entries)
	back, _, err := Parse("Procfile", bytes.NewReader(printed))
	if err != nil {
		t.Fatalf("Parse(Format(%q)) = %v; printed %q", data, err, printed)
	}
	if len(back) != len(entries) {
		t.Fatalf("Parse(Format(%q)) gave %d entries, want %d", data, len(back), len(entries))
	}
	for i, e := range back {
		if e.Name != entries[i].Name || e.Command != entries[i].Command || e.Line != i+1 {
			t.Fatalf("Parse(Format(%q))[%d] = %q: %q on line %d, want %q: %q on line %d",
				data, i, e.Name, e.Command, e.Line, entries[i].Name, entries[i].Command, i+1)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, v := range procfileVectors {
		if len(v.input) < 1024 { // long seeds slow the mutator down
			f.Add([]byte(v.input))
		}
	}
	f.Add([]byte("web: a\r\r\n"))
	f.Add([]byte("web: \v\r\nx: \x00\xff\n"))
	f.Add([]byte("\ufeff\ufeffweb: cmd"))
	f.Add([]byte("  web: a\n\tworker:  b\n \v x: c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkMessages(t, data)
		checkRoundTrip(t, data)
		checkIndent(t, data)
	})
}

// checkIndent fails t unless indenting every line of data with blanks
// changes nothing: the same entries, warnings and error.
func checkIndent(t *testing.T, data []byte) {
	t.Helper()
	entries, warnings, err := Parse("Procfile", bytes.NewReader(data))
	rest, hasBOM := bytes.CutPrefix(data, []byte("\ufeff"))
	indented := bytes.ReplaceAll(rest, []byte("\n"), []byte("\n \t "))
	indented = append([]byte(" \t "), indented...)
	if hasBOM {
		indented = append([]byte("\ufeff"), indented...)
	}
	entries2, warnings2, err2 := Parse("Procfile", bytes.NewReader(indented))
	if !slices.Equal(entries, entries2) || !slices.Equal(warnings, warnings2) || fmt.Sprint(err) != fmt.Sprint(err2) {
		t.Fatalf("Parse(%q) = %+v, %q, %v\nbut indented, Parse(%q) = %+v, %q, %v",
			data, entries, warnings, err, indented, entries2, warnings2, err2)
	}
}

// checkMessages fails t if a warning or the error of parsing data does not
// start with the file name, or a warning lacks a line number.
func checkMessages(t *testing.T, data []byte) {
	t.Helper()
	_, warnings, err := Parse("Procfile", bytes.NewReader(data))
	for _, w := range warnings {
		var n int
		if _, scanErr := fmt.Sscanf(w, "Procfile:%d: ", &n); scanErr != nil || n < 1 {
			t.Fatalf("warning %q lacks its place", w)
		}
	}
	if err != nil && !strings.HasPrefix(err.Error(), "Procfile:") {
		t.Fatalf("error %q lacks its place", err)
	}
}
