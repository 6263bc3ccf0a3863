package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := writeProcfile(t, "web: run web\nworker: run worker\n")
	code, lines, _ := runCinit(t, dir, nil, "check", "-m", "web=2")
	out := tail(lines)
	if code != 0 || !strings.Contains(out, "5000-5001") || !strings.Contains(out, "5100") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	dir = writeProcfile(t, "web: run web\nthis is junk\n")
	code, _, stderr := runCinit(t, dir, nil, "check")
	if code != 1 || !strings.Contains(stderr, "Procfile:2:") {
		t.Fatalf("exit %d, stderr %q; want 1 and the line", code, stderr)
	}
	dir = writeProcfile(t, "web: a\nweb: b\n")
	if code, _, stderr := runCinit(t, dir, nil, "check"); code != 1 || !strings.Contains(stderr, "Procfile:2:") {
		t.Fatalf("exit %d, stderr %q; want 1", code, stderr)
	}
	// Over 100 instances reach the next type's ports: a warning.
	dir = writeProcfile(t, "web: a\nworker: b\n")
	if code, _, stderr := runCinit(t, dir, nil, "check", "-m", "web=101"); code != 1 || !strings.Contains(stderr, "web.101 and worker both get PORT 5100") {
		t.Fatalf("exit %d, stderr %q; want 1 and the shared port", code, stderr)
	}
	if code, _, stderr := runCinit(t, dir, nil, "check", "-m", "web=100"); code != 0 {
		t.Fatalf("100 instances: exit %d, stderr %q", code, stderr)
	}
}

// TestCheckReportsEveryProblem: a duplicate name does not hide the junk
// lines before it, nor does a bad env file; cinit start reports the same.
func TestCheckReportsEveryProblem(t *testing.T) {
	dir := writeProcfile(t, "web: a\nthis is junk\n  indented: b\nmore junk\nweb: c\n")
	want := []string{"Procfile:2: ignoring line", "Procfile:4: ignoring line", `Procfile:5: duplicate process "web"`}
	code, _, stderr := runCinit(t, dir, nil, "check")
	if code != 1 || !inOrder(stderr, want) {
		t.Errorf("check: exit %d, stderr:\n%s\nwant 1 and, in order, %q", code, stderr, want)
	}
	code, lines, stderr := runCinit(t, dir, nil)
	if code != 2 || len(lines) > 0 || !inOrder(stderr, want) {
		t.Errorf("start: exit %d, output %q, stderr:\n%s\nwant 2, nothing started and, in order, %q", code, lines, stderr, want)
	}

	dir = writeProcfile(t, "web: a\njunk\n")
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("FOO=1\nthis is junk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want = []string{"Procfile:2: ignoring line", ".env:2:"}
	if code, _, stderr := runCinit(t, dir, nil, "check"); code != 1 || !inOrder(stderr, want) {
		t.Errorf("check: exit %d, stderr:\n%s\nwant 1 and, in order, %q", code, stderr, want)
	}
}

// TestIndentedEntriesRun: blanks before a name are accepted, as Heroku
// accepts them.
func TestIndentedEntriesRun(t *testing.T) {
	dir := writeProcfile(t, "   a: echo foo\n\tb: echo bar\n")
	code, lines, stderr := runCinit(t, dir, nil, "--can-die", "a,b")
	if code != 0 || !contains(linesOf(lines, "a"), "foo") || !contains(linesOf(lines, "b"), "bar") || stderr != "" {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, stderr, tail(lines))
	}
}

// inOrder reports whether s holds every one of subs, each after the one
// before.
func inOrder(s string, subs []string) bool {
	for _, sub := range subs {
		i := strings.Index(s, sub)
		if i < 0 {
			return false
		}
		s = s[i+len(sub):]
	}
	return true
}
