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

// attachCommand is the shell command that runs cinit attach in dir.
func attachCommand(dir string, env []string, args ...string) string {
	return fmt.Sprintf("cd %q && env %s CINIT_SOCKET= %q attach %s", dir, strings.Join(env, " "), cinitBin, strings.Join(args, " "))
}

// The debugging session a user has: Python's pdb in a --tty process, a
// second process printing all along. Attach shows pdb's prompt from the
// replay, p 6*7 prints 42, c runs the program to its end, ctrl-\ detaches
// and leaves the terminal as it was, and the merged output holds the
// session.
func TestTmuxPdbSession(t *testing.T) {
	requireTool(t, "python3")
	r, dir, env := startTTY(t, `web: python3 -m pdb prog.py
ticker: sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.1; done'
`, "--tty", "web", "--no-timestamps")
	prog := "x = 6\nprint('start')\nfor i in range(3):\n    print('loop', i)\nprint('finished')\n"
	if err := os.WriteFile(filepath.Join(dir, "prog.py"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	r.waitLine("web", "-> x = 6")
	p := newPane(t, 100, 30, attachCommand(dir, env, "web"))
	p.waitFor("(Pdb)")
	p.keys("p 6*7", "Enter")
	p.waitFor("\n42\n")
	p.keys("c", "Enter")
	p.waitFor("finished")
	r.waitLine("web", "finished")
	ticks := len(linesOf(r.lines(), "ticker"))
	p.keys(`C-\`)
	p.waitFor("[cinit: detached from web]")
	p.waitFor("EXIT=0")
	p.waitFor("isig icanon")                              // stty -a: not -isig -icanon
	r.waitLine("ticker", fmt.Sprintf("tick %d", ticks+5)) // still printing after the detach
	lines := r.lines()
	for _, want := range []string{"(Pdb) p 6*7", "42", "start", "loop 2", "finished"} {
		if !hasLine(lines, "web", want) {
			t.Errorf("the merged output has no web line %q:\n%s", want, tail(lines))
		}
	}
	if n := len(linesOf(lines, "ticker")); n < 10 {
		t.Errorf("ticker printed %d lines during the session", n)
	}
}

// hasLine reports whether name printed a line containing text.
func hasLine(lines []string, name, text string) bool {
	for _, l := range linesOf(lines, name) {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// In tmux: the window's size reaches the program at attach and when the
// window is resized; ^C interrupts the program and not cinit; a custom
// detach sequence (ctrl-a,d) detaches, restoring the terminal.
func TestTmuxResizeInterruptAndKeys(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'trap "stty size" WINCH; trap "echo INT" INT; trap "echo QUIT" QUIT; echo up; while :; do sleep 0.1; done'
`, "--tty", "web")
	r.waitLine("web", "up")
	p := newPane(t, 100, 30, attachCommand(dir, env, "--detach-keys", "ctrl-a,d", "web"))
	r.waitLine("web", "30 100")
	p.run("resize-window", "-t", "t", "-x", "120", "-y", "40")
	r.waitLine("web", "40 120")
	p.keys("C-c")
	r.waitLine("web", "INT")
	p.keys(`C-\`) // not a detach key here: the program gets it (SIGQUIT)
	r.waitLine("web", "QUIT")
	p.keys("C-a", "d")
	p.waitFor("[cinit: detached from web]")
	p.waitFor("EXIT=0")
	p.waitFor("isig icanon") // stty -a: not -isig -icanon
	r.signal(15)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "cinit", "SIGINT received, stopping all processes") >= 0 {
		t.Fatalf("cinit exited %d:\n%s", code, tail(lines))
	}
}

// --interactive in tmux, as bin/dev runs in a terminal window: the shell
// reads the keys typed, another process prints prefixed lines beside it,
// and ^C reaches the shell only.
func TestTmuxInteractive(t *testing.T) {
	testTmuxInteractive(t, "")
}

// The same on a terminal set to stty tostop, where a background write
// raises SIGTTOU: cinit, in the background while sh holds the terminal,
// still prints the others' lines (it spun, or stopped everything with
// 141, on its first write).
func TestTmuxInteractiveTostop(t *testing.T) {
	testTmuxInteractive(t, "stty tostop && ")
}

// The same with processes started after sh has taken the terminal, while
// the ones before them print: each is forked with SIGTTOU handled again
// (so that it starts with the default action), and a line written then
// failed with EIO, cinit's group being orphaned in the pane (exit 141).
func TestTmuxInteractiveTostopLaterStarts(t *testing.T) {
	dir := writeProcfile(t, `sh: sh -c 'echo iready; read l; exit 0'
other: i=0; while [ $i -lt 100 ]; do i=$((i+1)); echo "line $i"; done; exec sleep 1000
`)
	p := newPane(t, 100, 30, fmt.Sprintf("stty tostop && cd %q && env CINIT_SOCKET=none %q --interactive sh -m other=30 --no-timestamps --no-color", dir, cinitBin))
	p.waitFor("iready")
	p.waitFor("other.30 | line 100")
	p.keys("x", "Enter")
	p.waitFor("EXIT=0")
}

func testTmuxInteractive(t *testing.T, setup string) {
	dir := writeProcfile(t, `sh: sh -c 'trap "echo INT" INT; echo iready; while :; do read l || continue; [ "$l" = quit ] && exit 0; echo "got:$l"; done'
other: sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
`)
	p := newPane(t, 100, 30, fmt.Sprintf("%scd %q && env CINIT_TEST_HELPER=1 CINIT_SOCKET=none %q --interactive sh --no-timestamps --no-color", setup, dir, cinitBin))
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

// cinit -v -- CMD on a terminal set to stty tostop: cinit's own lines,
// written from the background while CMD holds the terminal, are printed,
// and CMD's status is cinit's.
func TestTmuxSingleTostop(t *testing.T) {
	p := newPane(t, 100, 30, fmt.Sprintf(`stty tostop && %q -v -- sh -c 'echo sready; read l; echo "got:$l"; exit 4'`, cinitBin))
	p.waitFor("sready")
	p.keys("x", "Enter")
	p.waitFor("got:x")
	p.waitFor("sh exited with code 4")
	p.waitFor("EXIT=4")
}

// cinit start in the background of an interactive shell (cinit &) on a
// terminal set to stty tostop: its lines are printed, as a program that
// ignores SIGTTOU prints them, and it ends as it would in the foreground.
func TestTmuxBackgroundTostop(t *testing.T) {
	requireTool(t, "bash")
	dir := writeProcfile(t, "a: echo hello-bg\n")
	p := newPane(t, 100, 30, fmt.Sprintf(`bash --norc -i -c 'stty tostop; cd %q && CINIT_SOCKET=none %q --no-color --no-timestamps & wait $!; echo "WAITED=$?"'`, dir, cinitBin))
	p.waitFor("| hello-bg")
	p.waitFor("WAITED=0")
}
