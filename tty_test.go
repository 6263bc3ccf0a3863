package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// screen is the master side of a pseudo-terminal that a program under test
// runs on, with everything it printed so far.
type screen struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	text   strings.Builder
	from   int           // waitFor looks from here on
	more   chan struct{} // a token whenever text grows
	closed chan struct{} // the terminal reported EIO: every writer is gone
}

// newScreen opens a terminal of size rows×cols (0×0 is what a new pty
// has) and reads its master in the background.
func newScreen(t *testing.T, rows, cols uint16) (*screen, *os.File) {
	t.Helper()
	master, slave := openPty(t)
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	s := &screen{t: t, master: master, more: make(chan struct{}, 1), closed: make(chan struct{})}
	go s.read()
	return s, slave
}

func (s *screen) read() {
	buf := make([]byte, 4096)
	for {
		n, err := s.master.Read(buf)
		s.mu.Lock()
		s.text.WriteString(strings.ReplaceAll(string(buf[:n]), "\r", ""))
		s.mu.Unlock()
		select {
		case s.more <- struct{}{}:
		default:
		}
		if err != nil {
			close(s.closed)
			return
		}
	}
}

// String returns everything printed so far, without carriage returns.
func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// waitFor waits until substr appears after the previous match.
func (s *screen) waitFor(substr string) {
	s.t.Helper()
	deadline := time.After(hangLimit)
	for {
		s.mu.Lock()
		all := s.text.String()
		i := strings.Index(all[s.from:], substr)
		if i >= 0 {
			s.from += i + len(substr)
		}
		s.mu.Unlock()
		if i >= 0 {
			return
		}
		select {
		case <-s.more:
		case <-s.closed:
			s.mu.Lock()
			ok := strings.Contains(s.text.String()[s.from:], substr)
			s.mu.Unlock()
			if !ok {
				s.t.Fatalf("terminal closed without %q; it shows:\n%s", substr, s.String())
			}
		case <-deadline:
			s.t.Fatalf("no %q after %v; the terminal shows:\n%s", substr, hangLimit, s.String())
		}
	}
}

// type writes keys to the terminal, as typed.
func (s *screen) typeKeys(keys string) {
	s.t.Helper()
	if _, err := s.master.WriteString(keys); err != nil {
		s.t.Fatal(err)
	}
}

// startOnTerminal runs cinit with args in dir as the session leader of the
// terminal slave (stdin, stdout and stderr), the way a shell in a terminal
// window runs it. It returns a channel that gets cinit's exit status.
func startOnTerminal(t *testing.T, slave *os.File, dir string, args ...string) <-chan int {
	t.Helper()
	cmd := exec.Command(cinitBin, append([]string{"-f", filepath.Join(dir, "Procfile"), "--no-color"}, args...)...)
	cmd.Env = append(os.Environ(), "CINIT_TEST_HELPER=1", "CINIT_TEST_EXE="+os.Args[0], "GORACE=atexit_sleep_ms=0")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	codes := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		codes <- cmd.ProcessState.ExitCode()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(hangLimit):
		}
	})
	return codes
}

// waitCode waits for cinit's exit status.
func waitCode(t *testing.T, codes <-chan int, s *screen) int {
	t.Helper()
	select {
	case c := <-codes:
		return c
	case <-time.After(hangLimit):
		t.Fatalf("cinit did not exit; the terminal shows:\n%s", s.String())
	}
	return 0
}

// withoutTERM unsets TERM for the rest of the test.
func withoutTERM(t *testing.T) {
	t.Setenv("TERM", "")
	os.Unsetenv("TERM")
}

// A --tty process runs on a terminal of its own (the others do not), as the
// leader of its session, with TERM=xterm and a sane size; its output goes
// through cinit's output path, and its last line, even without a newline,
// comes before its exit is reported.
func TestTTYProcess(t *testing.T) {
	withoutTERM(t)
	dir := writeProcfile(t, `web: sh -c 'test -t 0 && test -t 1 && test -t 2 && echo tty; stty size; echo "TERM=$TERM"; ps -o pid=,sid=,pgid=,tty= -p $$ | awk "\$1==\$2 && \$1==\$3 && \$4!=\"?\" {print \"leader\"}"; printf last'
worker: sh -c 'test -t 0 || echo notty; exec sleep 1000'
`)
	code, lines, stderr := runCinit(t, dir, nil, "--tty", "web")
	web := linesOf(lines, "web")
	want := []string{"tty", "24 80", "TERM=xterm", "leader", "last"}
	if code != 0 || strings.Join(web, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exit %d, web printed %q, want %q; output:\n%s\nstderr:\n%s", code, web, want, tail(lines), stderr)
	}
	if indexOf(lines, "worker", "notty") < 0 {
		t.Errorf("worker has a terminal; output:\n%s", tail(lines))
	}
	if last, exit := indexOf(lines, "web", "last"), indexOf(lines, "cinit", "web exited with code 0"); exit < last {
		t.Errorf("the exit was reported before the last line; output:\n%s", tail(lines))
	}
}

// In JSON, a terminal's lines are "stream":"tty".
func TestTTYStreamInJSON(t *testing.T) {
	dir := writeProcfile(t, "web: echo hello\n")
	code, lines, _ := runCinit(t, dir, nil, "--tty", "web", "--log-format", "json")
	want := `"name":"web","stream":"tty","line":"hello"}`
	if code != 0 || !strings.Contains(strings.Join(lines, "\n"), want) {
		t.Fatalf("exit %d, no %s in:\n%s", code, want, tail(lines))
	}
}

// Nobody attached: a --tty process's input stays open and empty, so a
// program that stops at end of input (a --watch tool) keeps running, while
// the same program without a terminal reads /dev/null and ends at once.
func TestTTYInputStaysOpen(t *testing.T) {
	line := `sh -c 'echo reading; read x; echo "eof $?"; exec sleep 1000'`
	dir := writeProcfile(t, "w1: "+line+"\nw2: "+line+"\nlast: sh -c 'sleep 1; echo done; exec sleep 1000'\n")
	r := startCinit(t, dir, nil, "--tty", "w1", "-c", "w2")
	r.waitLine("w1", "reading")
	r.waitLine("w2", "eof 1")
	r.waitLine("last", "done")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || len(linesOf(lines, "w1")) != 1 {
		t.Fatalf("exit %d; w1 saw the end of its input; output:\n%s", code, tail(lines))
	}
}

// cinit's own terminal has no size (0×0, as a fresh pty or some CI
// runners have): a --tty process gets 80×24. A real size is passed on.
func TestTTYSize(t *testing.T) {
	for _, c := range []struct {
		rows, cols uint16
		want       string
	}{{0, 0, "24 80"}, {0, 100, "24 100"}, {50, 132, "50 132"}} {
		s, slave := newScreen(t, c.rows, c.cols)
		dir := writeProcfile(t, "web: stty size\n")
		codes := startOnTerminal(t, slave, dir, "--tty", "web", "--no-timestamps")
		s.waitFor("web   | " + c.want + "\n")
		if code := waitCode(t, codes, s); code != 0 {
			t.Fatalf("exit %d; the terminal shows:\n%s", code, s)
		}
	}
}

// --interactive on a terminal: the process reads cinit's terminal and
// prints on it unprefixed, while another process prints prefixed lines;
// ^C interrupts it and not cinit; its exit is handled as any exit.
func TestInteractive(t *testing.T) {
	s, slave := newScreen(t, 24, 80)
	dir := writeProcfile(t, `sh: sh -c 'trap "echo INT" INT; echo iready; read l; echo "got:$l"; while :; do read m; [ "$m" = quit ] && exit 3; done'
other: `+helperLine("trapterm")+"\n")
	codes := startOnTerminal(t, slave, dir, "--interactive", "sh", "--no-timestamps")
	s.waitFor("iready\n")
	s.waitFor("other | ready\n")
	s.typeKeys("hello\r")
	s.waitFor("got:hello\n")
	s.typeKeys("\x03")
	s.waitFor("INT\n")
	s.typeKeys("quit\r")
	s.waitFor("cinit | sh exited with code 3")
	if code := waitCode(t, codes, s); code != 3 {
		t.Fatalf("exit %d, want 3; the terminal shows:\n%s", code, s)
	}
	out := s.String()
	if strings.Contains(out, "| got:") || strings.Contains(out, "SIGINT received") || !strings.Contains(out, "other | got terminated") {
		t.Fatalf("the interactive process's output went through cinit, or ^C reached cinit; the terminal shows:\n%s", out)
	}
}

// When the interactive process ends, cinit takes the terminal's
// foreground back without leaving SIGTTOU ignored: a process started
// afterwards has it at its default, as the first ones do (exec keeps an
// ignored signal ignored).
func TestInteractiveEndLeavesSignalsAlone(t *testing.T) {
	s, slave := newScreen(t, 24, 80)
	dir := writeProcfile(t, "sh: echo iready; read l\nlate: grep SigIgn /proc/self/status\n")
	codes := startOnTerminal(t, slave, dir, "--interactive", "sh", "--oneshot", "sh", "--after", "late=sh", "--no-timestamps")
	s.waitFor("iready\n")
	s.typeKeys("\r")
	s.waitFor("late  | SigIgn:")
	if code := waitCode(t, codes, s); code != 0 {
		t.Fatalf("exit %d; the terminal shows:\n%s", code, s)
	}
	_, rest, _ := strings.Cut(s.String(), "late  | SigIgn:")
	mask, err := strconv.ParseUint(strings.Fields(rest)[0], 16, 64)
	if err != nil || mask&(1<<(syscall.SIGTTOU-1)) != 0 {
		t.Fatalf("late started with SigIgn %q (SIGTTOU is bit %d); the terminal shows:\n%s", strings.Fields(rest)[0], syscall.SIGTTOU-1, s)
	}
}

// Without a terminal (CI), --interactive is ignored with a warning and the
// process runs as the others do.
func TestInteractiveWithoutTerminal(t *testing.T) {
	dir := writeProcfile(t, "web: echo hello\n")
	code, lines, stderr := runCinit(t, dir, nil, "--interactive", "web")
	if code != 0 || indexOf(lines, "web", "hello") < 0 || !strings.Contains(stderr, "--interactive web: stdin is not a terminal") {
		t.Fatalf("exit %d; stderr %q; output:\n%s", code, stderr, tail(lines))
	}
}

// Terminal flags that cannot work are usage errors that start nothing.
func TestTerminalFlagErrors(t *testing.T) {
	dir := writeProcfile(t, "web: echo started\nworker: echo started\n")
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--tty", "web", "--interactive", "web"}, nil, `flags --tty and --interactive both name "web"`},
		{nil, []string{"CINIT_TTY=web", "CINIT_INTERACTIVE=web"}, `flags --tty and --interactive both name "web"`},
		{[]string{"--interactive", "web,worker"}, nil, `flag --interactive: "web,worker": give one process`},
		{[]string{"--interactive", "nope"}, nil, `flag --interactive: unknown process "nope"`},
		{[]string{"--tty", "nope"}, nil, `flag --tty: unknown process "nope"`},
		{[]string{"--interactive", "web", "-m", "web=2"}, nil, `web runs 2 instances`},
	} {
		code, lines, stderr := runCinit(t, dir, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || len(lines) > 0 {
			t.Errorf("%q %q: exit %d, stderr %q, output %q; want 2 and %q", c.args, c.env, code, stderr, lines, c.want)
		}
	}
}
