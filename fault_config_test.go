package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cinit/cinit/procfile"
)

// Malformed configuration: every shape is exit 2 before anything starts,
// with messages that name the file and, where one is at fault, the line.

// readCorpus returns the inputs of a one-argument fuzz target's corpus
// directory, by file name.
func readCorpus(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		arg, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !ok {
			t.Fatalf("%s: not a one-argument corpus file", f.Name())
		}
		v, err := strconv.Unquote(strings.TrimSuffix(arg, ")"))
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		out[f.Name()] = []byte(v)
	}
	return out
}

// malformedProcfiles are Procfiles that must not start: each gives an
// error naming the file, and the line where one is at fault.
var malformedProcfiles = map[string]string{
	"duplicate":          "a: touch started\na: touch started\n",
	"duplicate BOM CRLF": "\ufeffa: touch started\r\nb: touch started\r\na: x\r\n",
	"duplicate in junk":  "garbage\x00\xff\na: touch started\n\n  a: x\na: y\n",
	"only junk":          "this is junk\n  indented x\nweb :x\nw\xe9b: x\nweb.1: x\n",
	"only empty":         "a:\nb: \t\nc:\r\n",
	"binary":             "\x00\x01\x02\xff\xfe\n\x7f\x1b[31m",
	"empty":              "",
	"only BOM":           "\ufeff",
	"comments":           "# a: touch started\n   # b: x\n\n",
	"long junk":          strings.Repeat("x", 1<<20) + "\n",
	"lone CRs":           "\r\r\r",
}

func TestFaultMalformedProcfile(t *testing.T) {
	t.Parallel()
	inputs := readCorpus(t, filepath.Join("procfile", "testdata", "fuzz", "FuzzParse"))
	for name, s := range malformedProcfiles {
		inputs["table/"+name] = []byte(s)
	}
	errs := 0
	for name, input := range inputs {
		_, warnings, err := procfile.Parse("Procfile", bytes.NewReader(input))
		if err != nil {
			errs++
		} else if strings.HasPrefix(name, "table/") {
			t.Errorf("%s: the parser accepts it", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Procfile"), input, 0o644); err != nil {
				t.Fatal(err)
			}
			if err == nil {
				// Valid: check it, never start random commands.
				code, _, stderr := runCinit(t, dir, nil, "check")
				if want := min(len(warnings), 1); code != want {
					t.Errorf("check: exit %d, want %d; stderr %q", code, want, stderr)
				}
				checkStderr(t, stderr)
				return
			}
			code, lines, stderr := runCinit(t, dir, nil)
			if code != 2 || len(lines) > 0 || exists(filepath.Join(dir, "started")) {
				t.Errorf("exit %d, output %q: want 2 and nothing started", code, lines)
			}
			checkPlaced(t, stderr, "Procfile", strings.Contains(err.Error(), "duplicate"))
		})
	}
	if errs < len(malformedProcfiles) {
		t.Errorf("only %d inputs are errors", errs)
	}
}

// checkPlaced checks that every line of stderr is one of cinit's messages
// about file, naming a line when lined is set or the message is a warning.
func checkPlaced(t *testing.T, stderr, file string, lined bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "cinit: "+file+":")
		var n int
		numbered := ok && len(rest) > 0 && rest[0] != ' '
		if numbered {
			_, err := fmt.Sscanf(rest, "%d: ", &n)
			numbered = err == nil && n > 0
		}
		last := i == len(lines)-1
		if !ok || ((lined || !last) && !numbered) {
			t.Errorf("stderr line %q does not name %s and a line", l, file)
		}
	}
}

// malformedEnvs are env files that must not start anything.
var malformedEnvs = map[string]string{
	"no equals":          "FOO\n",
	"dash in name":       "A=1\n# x\n\n  FOO-BAR=1\n",
	"unterminated":       "A=1\r\nB=2\r\nC='x\r\nD=4\r\n",
	"junk after quote":   "FOO=\"a\"b\n",
	"empty name":         "A=1\n=2\n",
	"export alone":       "export \nA=1\n",
	"last line no equal": "A=1\nFOO",
	"binary":             "A=1\n\x00\xff=2\n",
	"non-ASCII name":     "A=1\nCAF\xc3\x89=1\n",
	"junk line":          "this is junk\nFOO=bar\n",
}

func TestFaultMalformedEnv(t *testing.T) {
	t.Parallel()
	inputs := readCorpus(t, filepath.Join("procfile", "testdata", "fuzz", "FuzzParseEnv"))
	for name, s := range malformedEnvs {
		inputs["table/"+name] = []byte(s)
	}
	errs := 0
	for name, input := range inputs {
		dir := writeProcfile(t, "a: touch started\n")
		if err := os.WriteFile(filepath.Join(dir, "bad.env"), input, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := procfile.ReadEnv(filepath.Join(dir, "bad.env"))
		if err != nil {
			errs++
		} else if strings.HasPrefix(name, "table/") {
			t.Errorf("%s: the parser accepts it", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err == nil {
				code, _, stderr := runCinit(t, dir, nil, "check", "-e", "bad.env")
				if code != 0 {
					t.Errorf("check: exit %d; stderr %q", code, stderr)
				}
				return
			}
			want := "cinit: " + strings.ReplaceAll(err.Error(), filepath.Join(dir, "bad.env"), "bad.env") + "\n"
			code, lines, stderr := runCinit(t, dir, nil, "-e", "bad.env")
			if code != 2 || len(lines) > 0 || exists(filepath.Join(dir, "started")) {
				t.Errorf("exit %d, output %q: want 2 and nothing started", code, lines)
			}
			if stderr != want {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
			checkPlaced(t, stderr, "bad.env", true)
		})
	}
	if errs < len(malformedEnvs) {
		t.Errorf("only %d inputs are errors", errs)
	}
}
