package procfile

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envVector is one env file input and its expected result.
type envVector struct {
	id    string
	input string
	want  map[string]string // nil when an error is expected
	err   string            // substring of the error after the file name
}

// envVectors are env file cases E1-E39 (our own numbering, kept stable so a
// failure names its case), with exactly the results of
// github.com/joho/godotenv v1.5.1 (the version go.mod pins). They are
// pinned on purpose: godotenv 1.6 changes E8, E18 and E25, and an upgrade
// must show up here as a failing test rather than as a silent change in the
// environment of users' processes. Errors must carry "<file>:<line>:".
var envVectors = []envVector{
	{id: "E1", input: "FOO=bar\n", want: m("FOO", "bar")},
	{id: "E2", input: "FOO=\"bar baz\"\n", want: m("FOO", "bar baz")},
	{id: "E3", input: "FOO='bar baz'\n", want: m("FOO", "bar baz")},
	{id: "E4", input: "FOO=bar baz\n", want: m("FOO", "bar baz")},
	{id: "E5", input: "FOO=bar # c\n", want: m("FOO", "bar")},
	{id: "E6", input: "FOO=bar#baz\n", want: m("FOO", "bar#baz")},
	{id: "E7", input: "FOO=\"bar # x\"\n", want: m("FOO", "bar # x")},
	// The comment search starts from the end of the line (1.6 gives "a").
	{id: "E8", input: "FOO=a # b # c\n", want: m("FOO", "a # b")},
	{id: "E9", input: "export FOO=bar\n", want: m("FOO", "bar")},
	{id: "E10", input: "FOO=\n", want: m("FOO", "")},
	{id: "E11", input: "FOO\n", err: `:1: expected "=" after "FOO"`},
	{id: "E12", input: "FOO=\"a\\nb\"\n", want: m("FOO", "a\nb")},
	{id: "E13", input: "FOO='a\\nb'\n", want: m("FOO", `a\nb`)},
	{id: "E14", input: "FOO=a\\nb\n", want: m("FOO", `a\nb`)},
	{id: "E15", input: "FOO=\"a\nb\"\n", want: m("FOO", "a\nb")},
	{id: "E16", input: "BAR=x\nFOO=${BAR}y\n", want: m("BAR", "x", "FOO", "xy")},
	{id: "E17", input: "BAR=x\nFOO=$BAR\n", want: m("BAR", "x", "FOO", "x")},
	// Only keys of the same file are expanded, never the process
	// environment, where PROBE_OS is set (1.6 gives "osval").
	{id: "E18", input: "FOO=$PROBE_OS\n", want: m("FOO", "")},
	{id: "E19", input: "BAR=x\nFOO=\"$BAR\"\n", want: m("BAR", "x", "FOO", "x")},
	{id: "E20", input: "BAR=x\nFOO='$BAR'\n", want: m("BAR", "x", "FOO", "$BAR")},
	{id: "E21", input: "bar=x\nFOO=$bar\n", want: m("bar", "x", "FOO", "$bar")},
	{id: "E22", input: "FOO=a$NOPE_UNDEF_X\n", want: m("FOO", "a")},
	{id: "E23", input: "FOO = bar\n", want: m("FOO", "bar")},
	{id: "E24", input: "FOO: bar\n", want: m("FOO", "bar")},
	// 1.6 accepts "-" in names.
	{id: "E25", input: "FOO-BAR=1\n", err: `:1: unexpected character "-" in variable name`},
	{id: "E26", input: "FOO.BAR=1\n", want: m("FOO.BAR", "1")},
	{id: "E27", input: "1FOO=x\n", want: m("1FOO", "x")},
	{id: "E28", input: "FOO=\"abc\nBAR=1\n", err: ":1: unterminated quoted value"},
	{id: "E29", input: "FOO=\"a\\\"b\"\n", want: m("FOO", `a"b`)},
	{id: "E30", input: "FOO=a=b\n", want: m("FOO", "a=b")},
	{id: "E31", input: "FOO=bar\r\nBAZ=qux\r\n", want: m("FOO", "bar", "BAZ", "qux")},
	{id: "E32", input: "FOO=\\\"x\\\"\n", want: m("FOO", `\"x\"`)},
	{id: "E33", input: "FOO=1\nFOO=2\n", want: m("FOO", "2")},
	{id: "E34", input: "FOO=$(echo hi)\n", want: m("FOO", "$(echo hi)")},
	{id: "E35", input: "   FOO=bar\n", want: m("FOO", "bar")},
	{id: "E36", input: "FOO=\"a\"b\n", err: `:1: expected "=" after "b"`},
	{id: "E37", input: "URL=http://e.com/?a=1&b=2\n", want: m("URL", "http://e.com/?a=1&b=2")},
	// The process environment has PROBE_PRESET=fromos; the parser ignores it.
	{id: "E38", input: "PROBE_PRESET=fromfile\n", want: m("PROBE_PRESET", "fromfile")},
	{id: "E39", input: "this is junk\nFOO=bar\n", err: `:1: expected "=" after "this is junk"`},
}

// envPlaces are further inputs whose errors must point at the right line.
var envPlaces = []envVector{
	{id: "bad name after comments", input: "A=1\n# x\n\n  FOO-BAR=1\n", err: `:4: unexpected character "-"`},
	{id: "bad name after multi-line value", input: "A=\"x\ny-z\"\nB-C=2\n", err: `:3: unexpected character "-"`},
	{id: "non-ASCII in name", input: "A=1\nCAFÉ=1\n", err: `:2: unexpected character "É"`},
	{id: "symbol in name", input: "A=1\n\nB†=1\n", err: `:3: unexpected character "†"`},
	{id: "junk after quoted values", input: "A='1'\nB=\"2\"\nC=\"3\" x\n", err: `:3: expected "=" after "x"`},
	{id: "unterminated after CRLF lines", input: "A=1\r\nB=2\r\nC='x\r\nD=4\r\n", err: ":3: unterminated quoted value"},
	{id: "unterminated snippet seen before", input: "A='\"x'\nB=\"x\n", err: ":2: unterminated quoted value"},
	{id: "unterminated snippet escaped later", input: "B=\"x\n\\\"x\n", err: ":1: unterminated quoted value"},
	{id: "unterminated after multi-line value", input: "A=\"1\n2\"\nB='3\n", err: ":3: unterminated quoted value"},
	{id: "export alone", input: "export \nA=1\n", err: `:1: "export" without a variable`},
	{id: "export at end", input: "A=1\nexport ", err: `:2: "export" without a variable`},
	{id: "empty name", input: "A=1\n=2\n", err: ":2: variable with an empty name"},
	{id: "empty name after multi-line value", input: "A=\"x\n=y\"\n: z\n", err: ":3: variable with an empty name"},
	{id: "last line without =", input: "A=1\nFOO", err: ":2: variable with an empty name"},
	{id: "byte order mark", input: "\ufeffA=1\n", want: m("A", "1")},
}

// m builds a map from alternating keys and values.
func m(kv ...string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestEnvVectors(t *testing.T) {
	t.Setenv("PROBE_OS", "osval")
	t.Setenv("PROBE_PRESET", "fromos")
	dir := t.TempDir()
	for _, v := range append(envVectors, envPlaces...) {
		t.Run(v.id, func(t *testing.T) {
			path := writeFile(t, dir, v.id+".env", v.input)
			got, err := ReadEnv(path)
			if v.err != "" {
				checkErr(t, err, path+v.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, v.want) {
				t.Errorf("got %q, want %q", got, v.want)
			}
		})
	}
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadEnvLaterWins(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base.env", "A=base\nB=base\nC=base\n")
	prod := writeFile(t, dir, "prod.env", "B=prod\nD=prod\n")
	local := writeFile(t, dir, "local.env", "C=local\nD=local\n")
	got, err := ReadEnv(base, prod, local)
	if err != nil {
		t.Fatal(err)
	}
	want := m("A", "base", "B", "prod", "C", "local", "D", "local")
	if !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadEnvNone(t *testing.T) {
	got, err := ReadEnv()
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("ReadEnv() = %q, %v; want an empty map", got, err)
	}
}

func TestReadEnvMissing(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.env", "A=1\n")
	missing := filepath.Join(dir, "prod.env")
	got, err := ReadEnv(good, missing)
	if got != nil {
		t.Errorf("got %q, want nil on error", got)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	checkErr(t, err, missing+": open "+missing)
}

func TestReadEnvErrorStopsAll(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.env", "A=1\n")
	bad := writeFile(t, dir, "bad.env", "B=2\nC=\"open\n")
	got, err := ReadEnv(good, bad)
	if got != nil {
		t.Errorf("got %q, want nil: never a partial environment", got)
	}
	checkErr(t, err, bad+":2: unterminated quoted value")
	if strings.Count(err.Error(), bad) != 1 {
		t.Errorf("error %q names the file more than once", err)
	}
}

func FuzzParseEnv(f *testing.F) {
	for _, v := range append(envVectors, envPlaces...) {
		f.Add([]byte(v.input))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseEnv("x.env", data)
		if err == nil {
			return
		}
		var line int
		if _, scanErr := fmt.Sscanf(err.Error(), "x.env:%d: ", &line); scanErr != nil || line < 1 {
			t.Fatalf("parseEnv(%q) error %q lacks a line", data, err)
		}
		if lines := strings.Count(string(data), "\n") + 1; line > lines {
			t.Fatalf("parseEnv(%q) error %q: line past the end (%d lines)", data, err, lines)
		}
	})
}

// TestWhere: the file and line of the definition ReadEnv keeps, past the
// lines of a quoted value that spans lines (one of them reading like an
// assignment of the same variable).
func TestWhere(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.env", "PORT=1\nexport PORT = 2\nX=y\n")
	b := write("b.env", "PORT=abc\nMSG=\"hello\nPORT=9\n\"\nQ='a'\n")
	c := write("c.env", "# none here\nY: z\n")
	d := write("d.env", "PORT: 7\nA=\"x \\\" y\nPORT=8\"\n")
	e := write("e.env", "PORT=1\n# note: \"a quote in a comment\nPORT=abc\n# end\"\nB='x\\'\nPORT=2\n'\n")
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{a}, a + ":2"},
		{[]string{b}, b + ":1"},
		{[]string{a, c}, a + ":2"},
		{[]string{c, b}, b + ":1"},
		{[]string{d}, d + ":1"},
		{[]string{e}, e + ":3"},
		{[]string{c}, ""},
		{[]string{filepath.Join(dir, "missing.env")}, ""},
	} {
		if got := Where("PORT", tc.paths...); got != tc.want {
			t.Errorf("Where(PORT, %q) = %q, want %q", tc.paths, got, tc.want)
		}
	}
}
