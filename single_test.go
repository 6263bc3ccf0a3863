package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cinit/cinit/internal/proctest"
	"golang.org/x/sys/unix"
)

// Single-command mode (README, "Single-command mode"): cinit -- CMD and
// cinit run. CMD's output is its own, unprefixed, and cinit prints nothing
// but errors unless -v. Many of these check what tini's and dumb-init's own
// test suites expect of them (krallin/tini test/, Yelp/dumb-init tests/).

func init() {
	helpers["signals"] = helperSignals
	helpers["cat"] = helperCat
	helpers["ppid"] = helperPpid
	helpers["killinit"] = helperKillInit
	helpers["orphans"] = helperOrphans
	helpers["foreground"] = helperForeground
}

// exe is the test binary, which plays the children.
func exe() string { return os.Args[0] }

func TestSingleExitStatusRegularExit(t *testing.T) {
	for _, n := range []int{0, 1, 3, 127, 255} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			code, lines, stderr := runCinit(t, t.TempDir(), nil, "--", exe(), "exit", strconv.Itoa(n))
			if code != n {
				t.Errorf("exit %d, want %d", code, n)
			}
			// The child's output as it wrote it; nothing of cinit's own.
			if !slices.Equal(lines, []string{"bye"}) || stderr != "" {
				t.Errorf("stdout %q, stderr %q; want [bye] and nothing", lines, stderr)
			}
		})
	}
}

func TestSingleExitStatusTerminatedBySignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGKILL} {
		want := 128 + int(sig) // this system's number
		t.Run(sig.String(), func(t *testing.T) {
			// A shell, not a Go helper: Go exits 2 on SIGQUIT.
			code, _, stderr := runCinit(t, t.TempDir(), nil, "--", "/bin/sh", "-c", fmt.Sprintf("kill -%d $$", sig))
			if code != want {
				t.Errorf("exit %d, want %d; stderr %q", code, want, stderr)
			}
		})
	}
}

// cinit -- CMD reads the env files beside the Procfile but never its
// entries: a Procfile it does not use cannot stop it (tini needs none).
func TestSingleIgnoresProcfileEntries(t *testing.T) {
	dir := writeProcfile(t, "web: a\nweb: b\n") // a duplicate: start and run refuse it
	os.WriteFile(filepath.Join(dir, ".env"), []byte("FROM_ENV=yes\n"), 0o644)
	code, lines, stderr := runCinit(t, dir, nil, "--", "sh", "-c", "echo from env: $FROM_ENV")
	if code != 0 || len(lines) != 1 || lines[0] != "from env: yes" {
		t.Fatalf("exit %d, output %q, stderr %q", code, lines, stderr)
	}
	if code, _, stderr := runCinit(t, dir, nil, "run", "web"); code != 2 || !strings.Contains(stderr, "duplicate process") {
		t.Fatalf("run web: exit %d, stderr %q; want 2 naming the duplicate", code, stderr)
	}
}

// An executable file without #! runs under /bin/sh with its arguments,
// as execvp (and so tini and dumb-init) runs it.
func TestSingleScriptWithoutShebang(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "noshebang"), []byte("echo script ran with $# arguments: $*\nexit 3\n"), 0o755)
	code, lines, stderr := runCinit(t, dir, nil, "--", "./noshebang", "a", "b")
	if code != 3 || len(lines) != 1 || lines[0] != "script ran with 2 arguments: a b" {
		t.Fatalf("exit %d, output %q, stderr %q", code, lines, stderr)
	}
}

func TestSingleExecFailures(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Procfile"), []byte("missing: foobar123\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--", "foobar123"}, 127, "cinit: foobar123: command not found"},
		{[]string{"--", "/nonexistent/program"}, 127, "cinit: /nonexistent/program: no such file or directory"},
		{[]string{"--", "/etc"}, 126, "cinit: /etc: is a directory"},
		{[]string{"--", "./notexec"}, 126, "cinit: ./notexec: permission denied"},
		{[]string{"run", "foobar123", "arg"}, 127, "cinit: foobar123: command not found"},
		// A Procfile entry runs through the shell, which reports it.
		{[]string{"run", "missing"}, 127, "foobar123"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, lines, stderr := runCinit(t, dir, nil, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) || len(lines) > 0 {
				t.Errorf("exit %d, stderr %q, stdout %q; want %d and %q", code, stderr, lines, tt.code, tt.want)
			}
		})
	}
}

func TestSingleProxiesSignals(t *testing.T) {
	// Every forwarded signal of the signals package comment, WINCH and job
	// control included: in single-command mode they concern the child.
	r := startCinit(t, t.TempDir(), nil, "--", exe(), "signals", "SIGTERM")
	r.waitOutput("ready")
	for _, sig := range []syscall.Signal{unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM, unix.SIGWINCH,
		unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT} {
		r.signal(sig)
		r.waitOutput("got " + unix.SignalName(sig))
	}
	r.signal(syscall.SIGTERM)
	r.waitOutput("got SIGTERM")
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tail(lines))
	}
}

func TestSingleStopSignalsForwardedUntranslated(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT} {
		name := unix.SignalName(sig)
		t.Run(name, func(t *testing.T) {
			// The child exits 0 on the signal; cinit's status is the
			// child's.
			r := startCinit(t, t.TempDir(), nil, "--", exe(), "signals", name)
			r.waitOutput("ready")
			r.signal(sig)
			r.waitOutput("got " + name)
			if code, lines := r.wait(); code != 0 {
				t.Fatalf("exit %d; output:\n%s", code, tail(lines))
			}
		})
	}
}

func TestSingleSignalExitCodes(t *testing.T) {
	// tini's expectation, kept in single-command mode: cinit exits with
	// CMD's status, 128+N when the forwarded signal killed it. (In
	// multi-process mode a clean stop is 0 instead: README, "Stopping and
	// exit status".)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2} {
		want := 128 + int(sig) // this system's numbers: SIGUSR1 is 10 on Linux, 30 on macOS
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			// sleep, not a Go helper: Go ignores USR1 and USR2.
			r := startCinit(t, t.TempDir(), nil, "--", "/bin/sh", "-c", "echo ready; exec sleep 1000")
			r.waitOutput("ready")
			r.signal(sig)
			if code, lines := r.wait(); code != want {
				t.Fatalf("exit %d, want %d; output:\n%s", code, want, tail(lines))
			}
		})
	}
}

func TestSingleSecondStopSignalKillsAtOnce(t *testing.T) {
	// The child reports the stop signal and ignores it; the grace
	// period is far beyond hangLimit, so only the second signal can end
	// this.
	r := startCinit(t, t.TempDir(), nil, "-t", "1h", "--", exe(), "signals")
	r.waitOutput("ready")
	r.signal(syscall.SIGTERM)
	r.waitOutput("got SIGTERM")
	r.signal(syscall.SIGINT)
	if code, lines := r.wait(); code != 137 {
		t.Fatalf("exit %d, want 137; output:\n%s", code, tail(lines))
	}
}

func TestSingleGraceThenSIGKILL(t *testing.T) {
	r := startCinit(t, t.TempDir(), nil, "-v", "-t", "300ms", "--", exe(), "signals")
	r.waitOutput("ready")
	r.signal(syscall.SIGTERM)
	r.waitOutput("got SIGTERM")
	code, lines := r.wait()
	if stderr := r.err.String(); code != 137 || !strings.Contains(stderr, "cinit: sending SIGKILL to 1 process") {
		t.Fatalf("exit %d, want 137; output:\n%s\nstderr:\n%s", code, tail(lines), stderr)
	}
}

func TestSingleLeftoverDaemonGetsTerm(t *testing.T) {
	// The daemon left CMD's process group and session; cinit sends it
	// SIGTERM when CMD exits and waits for it (its trap writes the file).
	// The grace period is far beyond hangLimit: no SIGKILL is involved,
	// and the daemon's status (0) does not count.
	dir := t.TempDir()
	mark := filepath.Join(dir, "mark")
	code, lines, stderr := runCinit(t, dir, nil, "-t", "1h", "--", "/bin/sh", "-c", `"$CINIT_TEST_EXE" daemon "$1"; exit 3`, "sh", mark)
	if code != 3 {
		t.Fatalf("exit %d, want 3; output:\n%s\nstderr:\n%s", code, tail(lines), stderr)
	}
	if data, err := os.ReadFile(mark); string(data) != "stopped\n" {
		t.Fatalf("the daemon's trap did not run before cinit exited: %q, %v", data, err)
	}
}

func TestSingleLeftoverIgnoringTermIsKilled(t *testing.T) {
	// ignoreterm is left behind in CMD's group; CMD (the shell) exits 0
	// once head has read its "ready". The leftover needs SIGKILL, which
	// does not make cinit's status 137: only CMD's status counts.
	code, lines, stderr := runCinit(t, t.TempDir(), nil, "-v", "-t", "300ms", "--",
		"/bin/sh", "-c", `("$CINIT_TEST_EXE" ignoreterm &) | head -n 1`)
	if code != 0 || !slices.Equal(lines, []string{"ready"}) {
		t.Fatalf("exit %d, stdout %q, want 0 and [ready]; stderr:\n%s", code, lines, stderr)
	}
	if !strings.Contains(stderr, "cinit: sending SIGKILL to 1 process") {
		t.Errorf("the leftover was not killed:\n%s", stderr)
	}
}

func TestSingleStdinPassedThrough(t *testing.T) {
	cmd := exec.Command(cinitBin, "--", exe(), "cat")
	cmd.Env = append(os.Environ(), "CINIT_TEST_HELPER=1", "GORACE=atexit_sleep_ms=0")
	cmd.Stdin = strings.NewReader("hello\nworld\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "hello\nworld\n" {
		t.Fatalf("output %q, %v", out, err)
	}
}

func TestVerbose(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"-v"}},
		{"variable", []string{"CINIT_VERBOSE=1"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--", exe(), "exit", "3")
			code, lines, stderr := runCinit(t, t.TempDir(), tt.env, args...)
			if code != 3 || !slices.Equal(lines, []string{"bye"}) {
				t.Errorf("exit %d, stdout %q", code, lines)
			}
			base := filepath.Base(exe())
			for _, want := range []string{"cinit: " + base + " started with pid ", "cinit: " + base + " exited with code 3"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
		})
	}
}

// run NAME and run COMMAND (foreman's rule, README "Commands").

func TestRunEntryGetsPortPSAndEnv(t *testing.T) {
	dir := writeProcfile(t, "web: true\nworker: "+helperLine("printenv PORT PS FROM_FILE BOTH")+"\n")
	os.WriteFile(filepath.Join(dir, ".env"), []byte("FROM_FILE=file\nBOTH=file\nPORT=7000\n"), 0o644)
	code, lines, stderr := runCinit(t, dir, []string{"BOTH=inherited", "PORT="}, "run", "worker")
	want := []string{"PORT=7100", "PS=worker.1", "FROM_FILE=file", "BOTH=inherited"}
	if code != 0 || !slices.Equal(lines, want) {
		t.Fatalf("exit %d, stdout %q, want %q; stderr %q", code, lines, want, stderr)
	}
}

func TestRunEntryExecsTheProgram(t *testing.T) {
	// exec is inserted for a simple command, as for an instance: the
	// program is cinit's own child, not a shell's.
	dir := writeProcfile(t, "p: "+helperLine("ppid")+"\n")
	r := startCinit(t, dir, nil, "run", "p")
	code, lines := r.wait()
	if want := fmt.Sprintf("ppid %d", r.cmd.Process.Pid); code != 0 || !slices.Equal(lines, []string{want}) {
		t.Fatalf("exit %d, stdout %q, want %q", code, lines, want)
	}
}

func TestRunCommandWithArgs(t *testing.T) {
	dir := writeProcfile(t, "true: exit 5\n")
	os.WriteFile(filepath.Join(dir, ".env"), []byte("FROM_FILE=file\n"), 0o644)
	t.Run("env files, no PS", func(t *testing.T) {
		code, lines, _ := runCinit(t, dir, nil, "run", exe(), "printenv", "FROM_FILE", "PS")
		if want := []string{"FROM_FILE=file", "PS=<unset>"}; code != 0 || !slices.Equal(lines, want) {
			t.Fatalf("exit %d, stdout %q, want %q", code, lines, want)
		}
	})
	t.Run("-- is the same", func(t *testing.T) {
		code, lines, _ := runCinit(t, dir, nil, "--", exe(), "printenv", "FROM_FILE")
		if want := []string{"FROM_FILE=file"}; code != 0 || !slices.Equal(lines, want) {
			t.Fatalf("exit %d, stdout %q, want %q", code, lines, want)
		}
	})
	t.Run("run NAME is the entry", func(t *testing.T) {
		if code, _, stderr := runCinit(t, dir, nil, "run", "true"); code != 5 {
			t.Fatalf("exit %d, want the entry's 5; stderr %q", code, stderr)
		}
	})
	t.Run("-- NAME is the command", func(t *testing.T) {
		if code, _, stderr := runCinit(t, dir, nil, "--", "true"); code != 0 {
			t.Fatalf("exit %d, want /bin/true's 0; stderr %q", code, stderr)
		}
	})
}

func TestRunWithoutProcfile(t *testing.T) {
	dir := t.TempDir()
	// Without a Procfile no .env is read, only -e files.
	os.WriteFile(filepath.Join(dir, ".env"), []byte("FROM_DOTENV=yes\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "extra.env"), []byte("FROM_EXTRA=yes\n"), 0o644)
	code, lines, stderr := runCinit(t, dir, nil, "run", "-e", "extra.env", exe(), "printenv", "FROM_DOTENV", "FROM_EXTRA")
	if want := []string{"FROM_DOTENV=<unset>", "FROM_EXTRA=yes"}; code != 0 || !slices.Equal(lines, want) {
		t.Fatalf("exit %d, stdout %q, want %q; stderr %q", code, lines, want, stderr)
	}
	// A Procfile named by CINIT_PROCFILE that is not there stops only a
	// run of one word, which may name an entry; a command runs.
	code, lines, stderr = runCinit(t, dir, []string{"CINIT_PROCFILE=nope/Procfile"}, "run", "--", exe(), "printenv", "FROM_EXTRA")
	if code != 0 || !slices.Equal(lines, []string{"FROM_EXTRA=<unset>"}) {
		t.Errorf("run -- CMD ARG: exit %d, stdout %q, stderr %q", code, lines, stderr)
	}
}

// An exec that fails after the child took the terminal's foreground gives
// it back: the shell that ran cinit owns its terminal again, where it was
// left in the background of a dead group.
func TestSingleExecFailureGivesTheTerminalBack(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.sh")
	os.WriteFile(bad, []byte("#!/nonexistent/interpreter\n"), 0o755)
	// Fields 5 and 8 of /proc/PID/stat: the shell's group and the
	// terminal's foreground group.
	script := `"$0" -- "$1"; echo "exit $?"; awk '{print "groups", $5, $8}' /proc/$$/stat`
	cmd := exec.Command("sh", "-c", script, cinitBin, bad)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	text, _ := runOnTerminal(t, cmd)
	var own, fg int
	if i := strings.Index(text, "groups "); i < 0 || !strings.Contains(text, "exit 127") {
		t.Fatalf("no exit 127 and groups in %q", text)
	} else if _, err := fmt.Sscanf(text[i:], "groups %d %d", &own, &fg); err != nil || own != fg {
		t.Fatalf("the shell's group %d, the terminal's foreground %d (%v): %q", own, fg, err, text)
	}
}

// The terminal (tini's isolate_child; README, "Single-command mode").

// runOnTerminal runs cmd as the leader of a session whose controlling
// terminal is a new pty, as docker run -t runs a container's first
// process (its group is then the foreground group), and returns what it
// printed there once it has exited.
func runOnTerminal(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	master, slave := openPty(t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := make(chan string)
	go func() { b, _ := io.ReadAll(master); out <- string(b) }()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(hangLimit):
		cmd.Process.Kill()
		t.Fatalf("%s did not exit", cmd.Path)
	}
	return <-out, err
}

func TestSingleCommandGetsTerminalForeground(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	cmd := exec.Command(cinitBin, "-t", "1h", "--", exe(), "foreground", mark)
	cmd.Env = append(os.Environ(), "CINIT_TEST_HELPER=1", "GORACE=atexit_sleep_ms=0")
	text, err := runOnTerminal(t, cmd)
	if err != nil || !strings.Contains(text, "foreground true") {
		t.Fatalf("%v; the child did not own the terminal: %q", err, text)
	}
	// A leftover in the child's group looked once the child was gone.
	if data, _ := os.ReadFile(mark); string(data) != "true" {
		t.Fatalf("the foreground did not go back to cinit: %q", data)
	}
}

// cinit as PID 1 of a new PID namespace (unshare --pid --fork), in both
// modes.

// modes runs cinit start with a Procfile entry "a", or cinit -- with the
// same command.
var modes = []struct {
	name string
	args func(dir, command string) []string
}{
	{"start", func(dir, command string) []string {
		os.WriteFile(filepath.Join(dir, "Procfile"), []byte("a: "+command+"\n"), 0o644)
		return []string{"start"}
	}},
	{"single", func(dir, command string) []string {
		return []string{"--", "/bin/sh", "-c", command}
	}},
}

func TestPID1_TermFromInsideIsStop(t *testing.T) {
	requirePIDNamespace(t)
	// The child sends SIGTERM to PID 1 from inside the namespace, where
	// the kernel delivers only signals with a handler (pid_namespaces(7)),
	// and dies of the TERM cinit passes on. start: a clean stop is 0
	// (unlike tini's 143; README, "Stopping and exit status"); single:
	// CMD's status, as tini.
	want := map[string]int{"start": 0, "single": 143}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			r := startInit(t, dir, nil, m.args(dir, helperLine("killinit"))...)
			if code, lines := r.wait(); code != want[m.name] {
				t.Fatalf("exit %d, want %d; output:\n%s\nstderr:\n%s", code, want[m.name], tail(lines), r.err.String())
			}
		})
	}
}

func TestPID1_DaemonStoppedByKillAll(t *testing.T) {
	requirePIDNamespace(t)
	// The daemon called setsid: only kill(-1) from PID 1 reaches it. Its
	// trap must run before cinit exits, since the kernel SIGKILLs the
	// namespace when PID 1 ends (pid_namespaces(7)). start: kill(-1, TERM)
	// at the stop; single: TERM to CMD's group, then kill(-1, TERM) to the
	// leftovers.
	want := map[string]int{"start": 0, "single": 143}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			mark := filepath.Join(dir, "mark")
			r := startInit(t, dir, nil, m.args(dir, helperLine("daemon "+mark)+" && exec "+helperLine("block"))...)
			r.waitOutput("ready")
			r.signalInit(syscall.SIGTERM)
			if code, lines := r.wait(); code != want[m.name] {
				t.Fatalf("exit %d, want %d; output:\n%s\nstderr:\n%s", code, want[m.name], tail(lines), r.err.String())
			}
			if data, err := os.ReadFile(mark); string(data) != "stopped\n" {
				t.Fatalf("the daemon's trap did not run before cinit exited: %q, %v", data, err)
			}
		})
	}
}

func TestPID1_OrphansLeaveNoZombies(t *testing.T) {
	requirePIDNamespace(t)
	// 300 orphans are re-parented to PID 1 while alive and then end at
	// once, so their SIGCHLDs coalesce; the child fails unless /proc
	// shows every one of them gone, zombies included.
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			r := startInit(t, dir, nil, m.args(dir, helperLine("orphans 300"))...)
			code, lines := r.wait()
			if code != 0 || !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, "orphans 300 zombies 0") }) {
				t.Fatalf("exit %d; output:\n%s\nstderr:\n%s", code, tail(lines), r.err.String())
			}
		})
	}
}

// pidNamespace is the result of trying unshare once.
var pidNamespace = sync.OnceValues(func() ([]byte, error) {
	return exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").CombinedOutput()
})

// requirePIDNamespace skips the test when this system does not let us make
// a PID namespace (EPERM), and fails it on any other problem.
func requirePIDNamespace(t *testing.T) {
	t.Helper()
	if out, err := pidNamespace(); err != nil {
		if bytes.Contains(out, []byte("Operation not permitted")) {
			t.Skipf("no PID namespaces here: %s", out)
		}
		t.Fatalf("unshare: %v: %s", err, out)
	}
}

// startInit runs cinit as PID 1 of a new PID namespace with its own /proc.
// --kill-child makes a test that gives up take the namespace down with it.
func startInit(t *testing.T, dir string, env []string, args ...string) *procRun {
	t.Helper()
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", cinitBin}, args...)
	return startProgram(t, dir, env, "unshare", argv...)
}

// signalInit sends sig to cinit from outside its PID namespace, as docker
// stop does.
func (r *procRun) signalInit(sig syscall.Signal) {
	r.t.Helper()
	if err := syscall.Kill(r.initPid(), sig); err != nil {
		r.t.Fatal(err)
	}
}

// initPid is the pid, outside its namespace, of the cinit startInit ran:
// unshare's only child.
func (r *procRun) initPid() int {
	r.t.Helper()
	pid := r.cmd.Process.Pid
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	fields := strings.Fields(string(data))
	if err != nil || len(fields) != 1 {
		r.t.Fatalf("cinit's pid: %q, %v", data, err)
	}
	n, _ := strconv.Atoi(fields[0])
	return n
}

// rawKey is where waitOutput keeps its place in procRun.next; it cannot be
// a process name.
const rawKey = "\x00stdout"

// waitOutput waits for a line of stdout containing substr, after the line
// the previous waitOutput matched. Lines are taken whole, prefix or not: in
// single-command mode they are the child's own, without a prefix.
func (r *procRun) waitOutput(substr string) {
	r.t.Helper()
	deadline := time.After(hangLimit)
	for !r.scanRaw(substr) {
		select {
		case <-r.more:
		case <-r.done:
			if !r.scanRaw(substr) {
				r.t.Fatalf("cinit ended without printing %q; output:\n%s\nstderr:\n%s", substr, r.output(), r.err.String())
			}
			return
		case <-deadline:
			r.t.Fatalf("no line with %q after %v; output:\n%s", substr, hangLimit, r.output())
		}
	}
}

// scanRaw looks for substr among the stdout lines not yet scanned.
func (r *procRun) scanRaw(substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := r.next[rawKey]; i < len(r.seen); i++ {
		if strings.Contains(r.seen[i], substr) {
			r.next[rawKey] = i + 1
			return true
		}
	}
	r.next[rawKey] = len(r.seen)
	return false
}

// Helpers: the children these tests run.

// helperSignals prints "ready", then "got SIGNAME" for every signal that
// cinit may forward, and exits 0 on a signal named in args.
func helperSignals(args []string) int {
	c := make(chan os.Signal, 32)
	signal.Notify(c, unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
		unix.SIGALRM, unix.SIGWINCH, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT)
	fmt.Println("ready")
	for s := range c {
		name := unix.SignalName(s.(syscall.Signal))
		fmt.Println("got", name)
		if slices.Contains(args, name) {
			return 0
		}
	}
	return 0
}

// helperCat copies stdin to stdout.
func helperCat(args []string) int {
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		return 1
	}
	return 0
}

// helperPpid prints its parent's pid.
func helperPpid(args []string) int {
	fmt.Printf("ppid %d\n", os.Getppid())
	return 0
}

// helperKillInit sends SIGTERM to PID 1 and waits, with SIGTERM's default
// disposition.
func helperKillInit(args []string) int {
	if err := syscall.Kill(1, syscall.SIGTERM); err != nil {
		fmt.Println(err)
		return 1
	}
	select {}
}

// helperOrphans makes args[0] orphans of PID 1 and checks that PID 1 reaps
// them, as tini's and dumb-init's zombie tests check. Each orphan is a cat
// started in the background by a shell that exits at once, so the cat is
// re-parented to PID 1 while it runs. Once /proc shows them all with PPid
// 1, closing their stdin ends them together. It prints "orphans N zombies
// 0" when /proc then shows neither a cat nor a zombie, and exits 1 with
// what is left when that does not happen within the bound.
func helperOrphans(args []string) int {
	n, _ := strconv.Atoi(args[0])
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	for range n {
		sh := exec.Command("/bin/sh", "-c", "cat <&3 >/dev/null 3<&- &")
		sh.ExtraFiles = []*os.File{r}
		if err := sh.Run(); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	r.Close()
	orphans := func(ps []proctest.Proc) bool {
		k := 0
		for _, p := range ps {
			if p.Comm == "cat" && p.PPid == 1 && p.State != 'Z' {
				k++
			}
		}
		return k == n
	}
	if !pollProcs(orphans) {
		fmt.Println("the cats were not all re-parented to PID 1")
		return 1
	}
	w.Close()
	gone := func(ps []proctest.Proc) bool {
		return !slices.ContainsFunc(ps, func(p proctest.Proc) bool { return p.Comm == "cat" || p.State == 'Z' })
	}
	if !pollProcs(gone) {
		ps := proctest.All()
		cats := slices.DeleteFunc(slices.Clone(ps), func(p proctest.Proc) bool { return p.Comm != "cat" })
		zombies := slices.DeleteFunc(ps, func(p proctest.Proc) bool { return p.State != 'Z' })
		fmt.Printf("orphans %d: %d cats and %d zombies left\n", n, len(cats), len(zombies))
		return 1
	}
	fmt.Printf("orphans %d zombies 0\n", n)
	return 0
}

// pollProcs reads /proc until ok holds, for at most 20 s.
func pollProcs(ok func([]proctest.Proc) bool) bool {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok(proctest.All()) {
			return true
		}
	}
	return false
}

// helperForeground prints "foreground true" when its process group is the
// foreground group of its terminal (stdin), then leaves behind a process of
// its group and exits. On SIGTERM, that leftover writes to args[0] whether
// the foreground group is then the session leader's (cinit's, in
// TestSingleCommandGetsTerminalForeground).
func helperForeground(args []string) int {
	if len(args) > 1 {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		ready := os.NewFile(3, "ready")
		ready.Write([]byte{1})
		ready.Close()
		<-c
		pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		sid, _ := unix.Getsid(0)
		os.WriteFile(args[0], []byte(strconv.FormatBool(err == nil && pgrp == sid)), 0o644)
		return 0
	}
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	fmt.Printf("foreground %v\n", err == nil && pgrp == unix.Getpgrp())
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	leftover := exec.Command(os.Args[0], "foreground", args[0], "leftover")
	leftover.Stdin = os.Stdin
	leftover.ExtraFiles = []*os.File{w}
	if err := leftover.Start(); err != nil {
		fmt.Println(err)
		return 1
	}
	w.Close()
	r.Read(make([]byte, 1)) // its trap is in place
	return 0
}
