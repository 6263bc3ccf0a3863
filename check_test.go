package main

import (
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
}
