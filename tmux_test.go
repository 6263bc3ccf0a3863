package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pane is a tmux window running one command, driven the way a person
// would: keys in with send-keys, the screen read back with capture-pane.
type pane struct {
	t    *testing.T
	tmux string
	sock string // tmux's own server socket, one per test
}

// newPane starts a tmux server of its own with one cols×rows window
// running shell command cmd, which is kept on screen after it ends.
func newPane(t *testing.T, cols, rows int, cmd string) *pane {
	t.Helper()
	p := &pane{t: t, tmux: requireTool(t, "tmux"), sock: filepath.Join(t.TempDir(), "tmux.sock")}
	p.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows),
		cmd+`; echo "EXIT=$?"; stty -a; exec sleep 1000`)
	t.Cleanup(func() { exec.Command(p.tmux, "-S", p.sock, "kill-server").Run() })
	return p
}

// run runs a tmux command against the test's server.
func (p *pane) run(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys types keys (tmux key names, such as Enter or C-c).
func (p *pane) keys(keys ...string) {
	p.t.Helper()
	p.run(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// screen returns what the window shows, its history included.
func (p *pane) screen() string {
	p.t.Helper()
	return p.run("capture-pane", "-p", "-J", "-S", "-1000", "-t", "t")
}

// waitFor polls the screen until it shows text (bounded by hangLimit).
func (p *pane) waitFor(text string) {
	p.t.Helper()
	deadline := time.Now().Add(hangLimit)
	for !strings.Contains(p.screen(), text) {
		if time.Now().After(deadline) {
			p.t.Fatalf("the screen does not show %q after %v; it shows:\n%s", text, hangLimit, p.screen())
		}
		time.Sleep(20 * time.Millisecond) // the poll interval, not a wait for an event
	}
}

// --interactive in tmux, as bin/dev runs in a terminal window: the shell
// reads the keys typed, another process prints prefixed lines beside it,
// and ^C reaches the shell only.
func TestTmuxInteractive(t *testing.T) {
	dir := writeProcfile(t, `sh: sh -c 'trap "echo INT" INT; echo iready; while :; do read l || continue; [ "$l" = quit ] && exit 0; echo "got:$l"; done'
other: sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
`)
	p := newPane(t, 100, 30, fmt.Sprintf("cd %q && env CINIT_TEST_HELPER=1 CINIT_SOCKET=none %q --interactive sh --no-timestamps --no-color", dir, cinitBin))
	p.waitFor("iready")
	p.waitFor("other | tick 2")
	p.keys("hello", "Enter")
	p.waitFor("got:hello")
	p.keys("C-c")
	p.waitFor("INT")
	p.waitFor("other | tick 5") // cinit and the others carry on
	p.keys("quit", "Enter")
	p.waitFor("sh exited with code 0")
	p.waitFor("EXIT=0")
	if s := p.screen(); strings.Contains(s, "| got:hello") || strings.Contains(s, "SIGINT received") {
		t.Errorf("the shell's output went through cinit, or ^C reached cinit:\n%s", s)
	}
}
