package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/terminal"
)

// attachClient is cinit attach running on a terminal of its own, the way
// a user runs it in a terminal window.
type attachClient struct {
	*screen
	slave *os.File // kept open to read the terminal's mode
	cmd   *exec.Cmd
	codes chan int
	errb  strings.Builder
}

// attachOn runs cinit attach ARGS in dir with env on a new rows×cols
// terminal.
func attachOn(t *testing.T, dir string, env []string, rows, cols uint16, args ...string) *attachClient {
	t.Helper()
	return attachWithOut(t, dir, env, rows, cols, nil, args...)
}

// attachWithOut is attachOn with the client's stdout on out, when it is
// not nil, instead of the terminal.
func attachWithOut(t *testing.T, dir string, env []string, rows, cols uint16, out *os.File, args ...string) *attachClient {
	t.Helper()
	s, slave := newScreen(t, rows, cols)
	a := &attachClient{screen: s, codes: make(chan int, 1)}
	keep, err := unix.Dup(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	a.slave = os.NewFile(uintptr(keep), "slave")
	t.Cleanup(func() { a.slave.Close() })
	cmd := ctlCommand(t, dir, env, append([]string{"attach"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if out != nil {
		cmd.Stdout = out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	a.cmd = cmd
	go func() {
		cmd.Wait()
		a.codes <- cmd.ProcessState.ExitCode()
	}()
	return a
}

// exit waits for the client's exit status.
func (a *attachClient) exit(t *testing.T) int {
	t.Helper()
	return waitCode(t, a.codes, a.screen)
}

// cooked fails unless the client's terminal is back in cooked mode.
func (a *attachClient) cooked(t *testing.T) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(a.slave.Fd()), ioctlReadTermios)
	if err != nil || tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != unix.ICANON|unix.ECHO|unix.ISIG || tio.Oflag&unix.OPOST == 0 {
		t.Errorf("the terminal was left in raw mode: %+v, %v", tio, err)
	}
}

// startTTY runs cinit start with a Procfile and a control socket of its
// own, and returns it with the environment its clients need.
func startTTY(t *testing.T, procfile string, args ...string) (*procRun, string, []string) {
	t.Helper()
	dir := writeProcfile(t, procfile)
	env := ctlEnv(t)
	r := startCinit(t, dir, env, args...)
	return r, dir, env
}

// A user attaches to a --tty process: what they type reaches the program
// (read in a shell), the program's answer shows at once, the merged output
// records the session (the terminal echoes), the others keep their pipes;
// ctrl-\ detaches and leaves the terminal as it was.
func TestAttachTypesIntoTheProcess(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'test -t 0 && echo tty; while read l; do echo "got:$l"; done'
worker: sh -c 'test -t 0 || echo notty; exec sleep 1000'
`, "--tty", "web")
	r.waitLine("web", "tty")
	r.waitLine("worker", "notty")
	a := attachOn(t, dir, env, 24, 80, "web")
	a.waitFor("tty\n") // the replay: the client is attached, its terminal raw
	a.typeKeys("hello\r")
	a.waitFor("got:hello\n")
	r.waitLine("web", "hello")
	r.waitLine("web", "got:hello")
	a.typeKeys("\x1c")
	a.waitFor("[cinit: detached from web]")
	if code := a.exit(t); code != 0 {
		t.Errorf("attach exited %d", code)
	}
	a.cooked(t)
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("cinit exited %d:\n%s", code, tail(lines))
	}
}

// ^C typed through attach is the program's SIGINT, never cinit's; a
// literal ctrl-\ takes two presses and arrives as one byte.
func TestAttachCtrlCAndLiteralDetachKey(t *testing.T) {
	requireTool(t, "python3")
	r, dir, env := startTTY(t, `web: sh -c 'trap "echo INT" INT; echo up; while :; do read l || true; [ "$l" = raw ] && exec python3 -c "import sys,tty; tty.setraw(0); print(\"rawready\", flush=True); print(sys.stdin.buffer.raw.read(1).hex(), flush=True); sys.stdin.buffer.raw.read(1)"; done'
`, "--tty", "web")
	r.waitLine("web", "up")
	a := attachOn(t, dir, env, 24, 80, "web")
	a.waitFor("up\n") // the replay: the client is attached, its terminal raw
	a.typeKeys("\x03")
	r.waitLine("web", "INT")
	a.typeKeys("raw\r")
	r.waitLine("web", "rawready")
	a.typeKeys("\x1c\x1c")
	r.waitLine("web", "1c")
	a.typeKeys("\x1c")
	a.waitFor("[cinit: detached from web]")
	if code := a.exit(t); code != 0 {
		t.Errorf("attach exited %d", code)
	}
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "cinit", "SIGINT received, stopping all processes") >= 0 {
		t.Fatalf("cinit exited %d:\n%s", code, tail(lines))
	}
}

// A client whose stdout is a pipe that was closed (cinit attach web |
// head, head gone) ends as a pipeline's writer does, 141, and leaves its
// terminal as it found it.
func TestAttachClosedStdout(t *testing.T) {
	r, dir, env := startTTY(t, "web: sh -c 'echo up; exec sleep 1000'\n", "--tty", "web")
	r.waitLine("web", "up")
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	a := attachWithOut(t, dir, env, 24, 80, wr, "web") // the replay of "up" meets the closed pipe
	wr.Close()
	if code := a.exit(t); code != 141 {
		t.Errorf("attach exited %d, want 141", code)
	}
	a.cooked(t)
	r.signal(syscall.SIGTERM)
	r.wait()
}

// The window size reaches the program at attach and on every resize of
// the client's terminal, with a SIGWINCH.
func TestAttachResize(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'trap "stty size" WINCH; echo up; while :; do sleep 0.1; done'
`, "--tty", "web")
	r.waitLine("web", "up")
	a := attachOn(t, dir, env, 40, 100, "web")
	r.waitLine("web", "40 100")
	if err := unix.IoctlSetWinsize(int(a.slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 120}); err != nil {
		t.Fatal(err)
	}
	r.waitLine("web", "50 120")
	a.typeKeys("\x1c")
	if code := a.exit(t); code != 0 {
		t.Errorf("attach exited %d", code)
	}
}

// A second attach takes over; the first is told and exits 0. Attaching
// to a process without a terminal is 1, to an unknown one 4, to a stopped
// one 1; the end of the process ends the attach with its exit; a restart
// gives the process a new terminal.
func TestAttachTakeoverEndAndErrors(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'echo "(prompt)"; while read l; do [ "$l" = quit ] && exit 3; echo "got:$l"; done'
worker: sh -c 'exec sleep 1000'
`, "--tty", "web", "-c", "web")
	r.waitLine("web", "(prompt)")
	a := attachOn(t, dir, env, 24, 80, "web")
	a.waitFor("(prompt)") // the replay
	b := attachOn(t, dir, env, 24, 80, "web")
	b.waitFor("(prompt)")
	a.waitFor("[cinit: detached: web attached by another client]")
	if code := a.exit(t); code != 0 {
		t.Errorf("the first client exited %d", code)
	}
	a.cooked(t)
	ctl(t, dir, env, "attach", "worker").want(t, 1, "worker has no terminal (start it with --tty worker)")
	ctl(t, dir, env, "attach", "nope").want(t, 4, "nope")
	b.typeKeys("quit\r")
	b.waitFor("[cinit: web exited with code 3]")
	if code := b.exit(t); code != 0 {
		t.Errorf("the second client exited %d", code)
	}
	ctl(t, dir, env, "attach", "web").want(t, 1, "web is not running")
	ctl(t, dir, env, "restart", "web").want(t, 0, "")
	c := attachOn(t, dir, env, 24, 80, "web")
	c.waitFor("(prompt)")
	c.typeKeys("again\r")
	c.waitFor("got:again")
	ctl(t, dir, env, "stop", "web").want(t, 0, "")
	c.waitFor("[cinit: web was killed by SIGTERM]")
	c.exit(t)
	ctl(t, dir, env, "attach", "web").want(t, 1, "web is not running (stopped)")
	st := statusOf(t, dir, env)
	if !st.Processes[0].Policy.TTY || st.Processes[1].Policy.TTY {
		t.Errorf("status does not tell which process has a terminal: %+v", st.Processes)
	}
	table := ctl(t, dir, env, "status").stdout
	if !strings.Contains(table, "RESTARTS  TTY  LAST EXIT") || !strings.Contains(table, "stopped") {
		t.Errorf("status table:\n%s", table)
	}
}

// Input that is not a terminal is copied until its end, then the client
// detaches; the process never sees an end of file.
func TestAttachPipedInput(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'echo up; while read l; do echo "got:$l"; done; echo eof'
`, "--tty", "web")
	r.waitLine("web", "up")
	cmd := ctlCommand(t, dir, env, "attach", "web")
	cmd.Stdin = strings.NewReader("one\ntwo\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "[cinit: detached from web]") {
		t.Fatalf("attach: %v, %q", err, out)
	}
	r.waitLine("web", "got:two")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "web", "eof") >= 0 {
		t.Fatalf("exit %d; web saw the end of its input:\n%s", code, tail(lines))
	}
}

// A client that stops reading is dropped once 1 MiB waits for it; the
// process and cinit's output never wait for it.
func TestAttachSlowClientDropped(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'echo up; read go; i=0; while [ $i -lt 100000 ]; do echo "line $i of a process that prints a lot"; i=$((i+1)); done; echo done; exec sleep 1000'
`, "--tty", "web")
	r.waitLine("web", "up")
	st := statusOf(t, dir, env)
	conn, err := net.Dial("unix", st.Cinit.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`{"v":1,"cmd":"attach","names":["web"]}` + "\n"))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, `"ok":true`) {
		t.Fatalf("reply %q, %v", line, err)
	}
	conn.Write(terminal.AppendMessage(nil, terminal.Message{Input: []byte("go\r")}))
	r.waitLine("web", "done") // every line printed while the client did not read
	n := 0
	buf := make([]byte, 64<<10)
	conn.SetReadDeadline(time.Now().Add(hangLimit))
	for {
		k, err := br.Read(buf)
		n += k
		if err != nil {
			if isTimeout(err) {
				t.Fatalf("the connection of a client that did not read is still open after %d bytes", n)
			}
			break
		}
	}
	if n > 2<<20 {
		t.Errorf("%d bytes reached a client that did not read", n)
	}
	if got := len(linesOf(r.lines(), "web")); got < 100001 {
		t.Errorf("cinit printed %d of web's lines", got)
	}
}

// isTimeout reports whether err is a deadline.
func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// lines returns the lines cinit printed so far.
func (r *procRun) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// Raw mode is undone however the client ends: SIGTERM, SIGHUP, and the
// end of cinit itself.
func TestAttachRestoresTheTerminal(t *testing.T) {
	r, dir, env := startTTY(t, `web: sh -c 'echo up; exec sleep 1000'
`, "--tty", "web")
	r.waitLine("web", "up")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		a := attachOn(t, dir, env, 24, 80, "web")
		a.waitFor("up\n")
		a.cmd.Process.Signal(sig)
		if code := a.exit(t); code != 128+int(sig) {
			t.Errorf("after %v: exit %d", sig, code)
		}
		a.cooked(t)
	}
	a := attachOn(t, dir, env, 24, 80, "web")
	a.waitFor("up\n")
	r.signal(syscall.SIGTERM)
	a.waitFor("[cinit: web was killed by SIGTERM]")
	if code := a.exit(t); code != 0 {
		t.Errorf("after cinit's end: exit %d", code)
	}
	a.cooked(t)
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("cinit exited %d:\n%s", code, tail(lines))
	}
}
