//go:build linux

package reaper

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["setsid-exec"] = helperSetsidExec
	helpers["descendants"] = helperDescendants
	helpers["pid1"] = helperPID1
}

func TestParseStat(t *testing.T) {
	cases := []struct {
		stat string
		want proc
	}{
		{"1234 (sh) S 1 1234 1234 0 -1 4194560\n", proc{1234, 1, 'S', 0, 1234, 0}},
		{"77 (a) Z 1 (b) S 42 77 77 0\n", proc{77, 42, 'S', 0, 77, 0}},
		{"5 ()) R 3 5 5\n", proc{5, 3, 'R', 0, 5, 0}},
		{"6 (x y  z) Z 2 6 6\n", proc{6, 2, 'Z', 0, 6, 0}},
		{"8 (() S 0 0 0\n", proc{8, 0, 'S', 0, 0, 0}},
		{"2345 (cinit) S 1 2345 2345 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 7 0 555 0 0\n", proc{2345, 1, 'S', 7, 2345, 555}},
	}
	for _, tc := range cases {
		got, err := parseStat([]byte(tc.stat))
		if err != nil || got != tc.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v", tc.stat, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "12 sh S 1", "12 (sh) S", "12 (sh) S x", "x (sh) S 1", "12 (sh) SS 1", "(sh) S 1"} {
		if got, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestDescendantsOf(t *testing.T) {
	procs := []proc{
		{1, 0, 'S', 1, 0, 0},
		{10, 1, 'S', 1, 0, 0},
		{11, 10, 'R', 1, 0, 0},
		{12, 11, 'Z', 1, 0, 0}, // a zombie: left out
		{13, 11, 'D', 1, 0, 0},
		{14, 13, 'S', 1, 0, 0},
		{20, 1, 'S', 1, 0, 0},  // a sibling of 10
		{30, 31, 'S', 1, 0, 0}, // a cycle pid reuse could fake
		{31, 30, 'S', 1, 0, 0},
	}
	cases := []struct {
		root int
		want []int
	}{
		{10, []int{11, 13, 14}},
		{13, []int{14}},
		{14, nil},
		{99, nil},
		{30, []int{31}},
	}
	for _, tc := range cases {
		if got := descendantsOf(tc.root, procs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("descendantsOf(%d) = %v, want %v", tc.root, got, tc.want)
		}
	}
}

// TestDescendants builds child → grandchild → setsid'ed great-grandchild
// (whose name, "a) Z 1 (b", mimics the fields a naive parser would read)
// plus a zombie child, in a helper, next to an unrelated sibling of that
// helper, and checks what Descendants(helper) lists.
func TestDescendants(t *testing.T) {
	sibling := exec.Command("/bin/sh", "-c", "read x")
	stdin, err := sibling.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sibling.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		sibling.Wait()
	}()

	run := newRun(t, runHelper(t, "descendants", nil))
	ds := run.facts["descendants"].Pids
	for _, role := range []string{"child", "grandchild", "greatgrandchild"} {
		if !contains(ds, run.started[role]) {
			t.Errorf("Descendants %v misses the %s %d", ds, role, run.started[role])
		}
	}
	for role, pid := range map[string]int{
		"sibling": sibling.Process.Pid,
		"zombie":  run.started["zombie"],
		"self":    run.facts["self"].Pid,
	} {
		if contains(ds, pid) {
			t.Errorf("Descendants %v lists the %s %d", ds, role, pid)
		}
	}
	gg := run.started["greatgrandchild"]
	if sid := run.facts["session"].Pid; sid != gg {
		t.Errorf("great-grandchild %d is in session %d, want its own", gg, sid)
	}
	if comm := run.facts["comm"].Name; comm != "a) Z 1 (b" {
		t.Errorf("great-grandchild is named %q, want %q", comm, "a) Z 1 (b")
	}
	run.checkEnd(t)
}

// The tree for TestDescendants; each level prints "ROLE pid" and blocks on
// fd 3.
const (
	scriptChild      = `echo child $$; /bin/sh -c "$SCRIPT_G" & read x <&3`
	scriptGrandchild = `echo grandchild $$; "$EXE" setsid-exec "$LINK" -c "$SCRIPT_GG" & read x <&3`
	scriptGreat      = `echo greatgrandchild $$; read x <&3`
)

func helperDescendants([]string) {
	h := newHarness() // not running yet, so the zombie stays one
	emit(event{Kind: "self", Pid: os.Getpid()})
	dir, err := os.MkdirTemp("", "reaper-test")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	link := filepath.Join(dir, "a) Z 1 (b")
	if err := os.Symlink("/bin/sh", link); err != nil {
		fail("%v", err)
	}
	release := startTree(h, link)
	zombie := h.start("zombie", sh("exit 0"))
	waitState(zombie, 'Z')

	ds, err := Descendants(os.Getpid())
	if err != nil {
		fail("%v", err)
	}
	emit(event{Kind: "descendants", Pids: ds})
	describe(h.rolePid("greatgrandchild"))
	release()
	h.run()
	h.drain()
}

// startTree starts the three levels and announces each: the child must be
// reported, the others only if they outlive their parent.
func startTree(h *harness, link string) (release func()) {
	r, w := mustPipe()
	cmd := sh(scriptChild)
	cmd.Env = append(cmd.Env, "LINK="+link, "SCRIPT_G="+scriptGrandchild, "SCRIPT_GG="+scriptGreat)
	cmd.ExtraFiles = []*os.File{r}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("%v", err)
	}
	h.start("child", cmd)
	r.Close()
	lines := bufio.NewReader(out)
	for range 3 {
		if role, pid := readPid(lines); role != "child" {
			// Adopted only if its parent goes first.
			h.member(role, pid)
		}
	}
	return func() { w.Close() }
}

// rolePid returns the pid announced under role.
func (h *harness) rolePid(role string) int {
	pid, ok := h.roles[role]
	if !ok {
		fail("no %s announced", role)
	}
	return pid
}

// describe prints the session and name of pid.
func describe(pid int) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		fail("%v", err)
	}
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	sid, err := strconv.Atoi(string(fields[3]))
	if err != nil {
		fail("bad session in %q", stat)
	}
	emit(event{Kind: "session", Pid: sid})
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		fail("%v", err)
	}
	emit(event{Kind: "comm", Name: string(bytes.TrimSuffix(comm, []byte("\n")))})
}

// waitState polls until pid is in state, which no event announces.
func waitState(pid int, state byte) {
	deadline := time.Now().Add(helperTimeout)
	for time.Now().Before(deadline) {
		if p, ok, err := readProc(pid); err == nil && ok && p.state == state {
			return
		}
		time.Sleep(time.Millisecond)
	}
	fail("pid %d never reached state %c", pid, state)
}

// helperSetsidExec starts a new session and execs args.
func helperSetsidExec(args []string) {
	if _, err := unix.Setsid(); err != nil {
		fail("setsid: %v", err)
	}
	err := syscall.Exec(args[0], args, os.Environ())
	fail("exec %s: %v", args[0], err)
}

func TestSignal(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := Signal([]int{pid}, syscall.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	err = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("child ended with %v, want killed by SIGTERM", err)
	}
	if err := Signal([]int{pid}, syscall.SIGTERM); err != nil {
		t.Errorf("Signal to a pid that is gone: %v, want nil (ESRCH ignored)", err)
	}
	for _, bad := range []int{0, -1} {
		if err := Signal([]int{bad}, 0); err == nil {
			t.Errorf("Signal(%d) = nil, want a refusal", bad)
		}
	}
}

func TestKillAllNotInit(t *testing.T) {
	if IsInit() {
		t.Skip("the test binary is PID 1; kill(-1) would hit everything")
	}
	if ok, err := KillAll(0); ok || !errors.Is(err, ErrNotInit) {
		t.Errorf("KillAll = %v, %v; want false, ErrNotInit", ok, err)
	}
}

// TestPID1 runs the helper as PID 1 of a new PID namespace (with its own
// mount namespace, to mount a /proc for it): IsInit holds, orphans are
// adopted and reaped without a subreaper, KillAll reaches a setsid'ed
// daemon, and no process, zombie or not, is left at the end.
func TestPID1(t *testing.T) {
	events, err := helperOutput(t, "pid1", func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	})
	if startError(err, syscall.EPERM) {
		t.Skipf("cannot create a PID namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	run := newRun(t, events)
	if !run.facts["init"].OK {
		t.Error("IsInit() is false as PID 1")
	}
	ds := run.facts["descendants"].Pids
	for _, role := range []string{"grandchild", "daemon"} {
		if !contains(ds, run.started[role]) {
			t.Errorf("Descendants(1) %v misses the orphaned %s", ds, role)
		}
	}
	if e := run.exitOf(t, run.started["grandchild"]); e.Code != 143 {
		t.Errorf("grandchild: code %d, want 143 (KillAll TERM)", e.Code)
	}
	if e := run.exitOf(t, run.started["daemon"]); e.Code != 137 {
		t.Errorf("daemon: code %d, want 137 (ignores TERM, KillAll KILL)", e.Code)
	}
	for fact, want := range map[string]bool{"killall-term": true, "killall-kill": true, "killall-after": false} {
		if got := run.facts[fact].OK; got != want {
			t.Errorf("%s: KillAll reported %v, want %v", fact, got, want)
		}
	}
	if others := run.facts["others"].Pids; len(others) > 0 {
		t.Errorf("processes left in the namespace: %v", others)
	}
	if zombies := run.facts["zombies"].Pids; len(zombies) > 0 {
		t.Errorf("zombies left in the namespace: %v", zombies)
	}
	run.checkEnd(t)
}

// daemonScript leaves a setsid'ed shell that ignores TERM, prints its pid
// and blocks on fd 3, then exits.
const daemonScript = `("$EXE" setsid-exec /bin/sh -c 'trap "" TERM; echo $$; read x <&3' &); exit 0`

func helperPID1([]string) {
	if !IsInit() {
		fail("pid %d, want 1", os.Getpid())
	}
	emit(event{Kind: "init", OK: true})
	if !mountProc() {
		return
	}
	h := startHarness()
	gpid, _ := startOrphan(h)
	startDaemon(h)

	ds, err := Descendants(1)
	if err != nil {
		fail("%v", err)
	}
	emit(event{Kind: "descendants", Pids: ds})
	killAll("killall-term", syscall.SIGTERM)
	h.waitFor(gpid)
	killAll("killall-kill", syscall.SIGKILL)
	h.drain()
	killAll("killall-after", 0)
	reportLeft()
}

// mountProc mounts a /proc for the new PID namespace, privately. It reports
// false, after a skip event, when that is not permitted.
func mountProc() bool {
	err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	if err == nil {
		err = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	if errors.Is(err, unix.EPERM) {
		emit(event{Kind: "skip", Name: "cannot mount /proc in a new mount namespace: " + err.Error()})
		return false
	}
	if err != nil {
		fail("mount: %v", err)
	}
	return true
}

// startDaemon runs daemonScript and announces the daemon.
func startDaemon(h *harness) {
	r, _ := mustPipe()
	cmd := sh(daemonScript)
	cmd.ExtraFiles = []*os.File{r}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("%v", err)
	}
	launcher := h.start("launcher", cmd)
	r.Close()
	_, pid := readPid(bufio.NewReader(out))
	h.expect("daemon", pid)
	h.waitFor(launcher)
}

// killAll runs KillAll and prints whether anyone received sig.
func killAll(fact string, sig syscall.Signal) {
	ok, err := KillAll(sig)
	if err != nil {
		fail("KillAll(%v): %v", sig, err)
	}
	emit(event{Kind: fact, OK: ok})
}

// reportLeft prints every process of the namespace but this one, and the
// zombies among them, from a fresh read of /proc.
func reportLeft() {
	procs, err := scan()
	if err != nil {
		fail("%v", err)
	}
	var others, zombies []int
	for _, p := range procs {
		if p.pid == 1 {
			continue
		}
		others = append(others, p.pid)
		if !p.living() {
			zombies = append(zombies, p.pid)
		}
	}
	emit(event{Kind: "others", Pids: others})
	emit(event{Kind: "zombies", Pids: zombies})
}
