package reaper

import (
	"bufio"
	"context"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["exit"] = helperExit
	helpers["kill"] = helperKill
	helpers["codes"] = helperCodes
	helpers["burst"] = helperBurst
	helpers["orphan"] = helperOrphan
	helpers["busy"] = helperBusy
	helpers["notice"] = helperNotice
	helpers["deaf"] = helperDeaf
}

// Status words as wait4 fills them in.
func exited(code int) unix.WaitStatus           { return unix.WaitStatus(code << 8) }
func killed(sig syscall.Signal) unix.WaitStatus { return unix.WaitStatus(sig) }
func stopped(sig syscall.Signal) unix.WaitStatus {
	return unix.WaitStatus(0x7f | int(sig)<<8)
}

// step is one scripted wait4 result.
type step struct {
	pid int
	ws  unix.WaitStatus
	err error
}

var (
	echild = step{err: unix.ECHILD}
	eintr  = step{err: unix.EINTR}
	none   = step{} // wait4 returned 0: children remain
)

// script returns a waitFunc that plays steps in order, then ECHILD.
func script(steps ...step) waitFunc {
	return func(ws *unix.WaitStatus, block bool) (int, error) {
		if len(steps) == 0 {
			return 0, unix.ECHILD
		}
		s := steps[0]
		steps = steps[1:]
		*ws = s.ws
		return s.pid, s.err
	}
}

// sent returns what is buffered on r's channel.
func sent(r *Reaper) []Exit {
	var got []Exit
	for len(r.exits) > 0 {
		got = append(got, <-r.exits)
	}
	return got
}

// TestPass plays wait4 results through consecutive passes of one Reaper and
// checks what each pass sends, Last and the Pid-0 notice included.
func TestPass(t *testing.T) {
	type pass struct {
		steps []step
		want  []Exit
	}
	notice := Exit{Last: true}
	cases := []struct {
		name   string
		passes []pass
	}{
		{"no child at start, then nothing new", []pass{
			{[]step{echild}, []Exit{notice}},
			{[]step{echild}, nil},
		}},
		{"children remain, nothing reaped", []pass{
			{[]step{none}, nil},
		}},
		{"exits, children remain, then they vanish unreaped", []pass{
			{[]step{{pid: 10, ws: exited(0)}, {pid: 11, ws: exited(3)}, none},
				[]Exit{{Pid: 10}, {Pid: 11, Code: 3}}},
			{[]step{echild}, []Exit{notice}},
			{[]step{echild}, nil},
		}},
		{"the last exit of a pass ending in ECHILD has Last", []pass{
			{[]step{{pid: 10, ws: exited(255)}, {pid: 11, ws: killed(syscall.SIGTERM)}, echild},
				[]Exit{{Pid: 10, Code: 255}, {Pid: 11, Code: 143, Signal: syscall.SIGTERM, Last: true}}},
			{[]step{echild}, nil},
		}},
		{"killed by SIGKILL", []pass{
			{[]step{{pid: 12, ws: killed(syscall.SIGKILL)}, echild},
				[]Exit{{Pid: 12, Code: 137, Signal: syscall.SIGKILL, Last: true}}},
		}},
		{"EINTR is retried", []pass{
			{[]step{eintr, {pid: 10, ws: exited(1)}, eintr, echild},
				[]Exit{{Pid: 10, Code: 1, Last: true}}},
		}},
		{"a stop is not an exit", []pass{
			{[]step{{pid: 9, ws: stopped(syscall.SIGSTOP)}, {pid: 10, ws: exited(0)}, echild},
				[]Exit{{Pid: 10, Last: true}}},
		}},
		{"an unexpected error ends the pass without Last", []pass{
			{[]step{{pid: 10, ws: exited(0)}, {err: unix.EINVAL}}, []Exit{{Pid: 10}}},
			{[]step{echild}, []Exit{notice}},
		}},
		{"a new child after Last", []pass{
			{[]step{echild}, []Exit{notice}},
			{[]step{none}, nil},
			{[]step{{pid: 20, ws: exited(4)}, echild}, []Exit{{Pid: 20, Code: 4, Last: true}}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var steps []step
			for _, p := range tc.passes {
				steps = append(steps, p.steps...)
			}
			r := newReaper(script(steps...), 16)
			for i, p := range tc.passes {
				if _, ok := r.pass(context.Background(), false); !ok {
					t.Fatalf("pass %d reported a cancelled context", i)
				}
				if got := sent(r); !reflect.DeepEqual(got, p.want) {
					t.Errorf("pass %d sent %+v, want %+v", i, got, p.want)
				}
			}
		})
	}
}

// TestRunLoop drives Run with scripted wait4 results and checks which
// calls it makes: a pass at start; while children remain, a blocking wait4
// for the next exit, followed by a non-blocking pass, with no SIGCHLD
// needed; once none is left, a pass per SIGCHLD.
func TestRunLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := make(chan bool) // the block argument of every call
	results := make(chan step)
	wait := func(ws *unix.WaitStatus, block bool) (int, error) {
		select {
		case calls <- block:
		case <-ctx.Done():
			return 0, unix.ECHILD
		}
		s := <-results // like wait4 itself, deaf to ctx once called
		*ws = s.ws
		return s.pid, s.err
	}
	r := newReaper(wait, 16)
	r.sweep = [2]time.Duration{time.Hour, time.Hour} // no periodic pass: every call below is accounted for
	done := make(chan struct{})
	go func() {
		r.Run(ctx)
		close(done)
	}()
	answer := func(block bool, s step) {
		t.Helper()
		select {
		case got := <-calls:
			if got != block {
				t.Fatalf("wait4 called with block %v, want %v", got, block)
			}
			results <- s
		case <-time.After(helperTimeout):
			t.Fatalf("no wait4 call; want one with block %v", block)
		}
	}

	answer(false, echild) // the pass at start
	expectExit(t, r, Exit{Last: true})
	notify(r)
	answer(false, none) // a child was started: Run now waits for it
	answer(true, step{pid: 7, ws: exited(3)})
	answer(false, none)
	expectExit(t, r, Exit{Pid: 7, Code: 3})
	answer(true, eintr)
	answer(true, step{pid: 8, ws: killed(syscall.SIGKILL)})
	answer(false, echild)
	expectExit(t, r, Exit{Pid: 8, Code: 137, Signal: syscall.SIGKILL, Last: true})
	notify(r) // a spurious SIGCHLD: a pass, nothing to send
	answer(false, echild)
	notify(r)
	answer(false, none)
	answer(true, step{pid: 10, ws: exited(1)})
	answer(false, none)
	expectExit(t, r, Exit{Pid: 10, Code: 1})
	answer(true, echild) // the other child vanished unreaped
	expectExit(t, r, Exit{Last: true})

	// Cancelled during a blocking wait4, Run returns after the next exit.
	notify(r)
	answer(false, none)
	select {
	case block := <-calls:
		if !block {
			t.Fatal("wait4 called without block, want a blocking call")
		}
	case <-time.After(helperTimeout):
		t.Fatal("Run did not block in wait4")
	}
	cancel()
	results <- step{pid: 9, ws: exited(0)}
	select {
	case <-done:
	case <-time.After(helperTimeout):
		t.Fatal("Run did not return after cancel")
	}
	for e := range r.Exits() {
		if e.Pid != 9 {
			t.Errorf("after cancel: %+v", e)
		}
	}
}

// TestRunSweeps: with no child and no SIGCHLD, Run still makes passes of
// its own, and the first one that finds a child leads to a blocking wait4.
func TestRunSweeps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := make(chan bool)
	results := make(chan step)
	wait := func(ws *unix.WaitStatus, block bool) (int, error) {
		select {
		case calls <- block:
		case <-ctx.Done():
			return 0, unix.ECHILD
		}
		s := <-results
		*ws = s.ws
		return s.pid, s.err
	}
	r := newReaper(wait, 16)
	r.sweep = [2]time.Duration{time.Millisecond, 4 * time.Millisecond}
	go r.Run(ctx)
	for i, s := range []step{echild, echild, echild, echild, echild, none, {pid: 5, ws: exited(0)}, echild} {
		select {
		case block := <-calls:
			if want := i == 6; block != want {
				t.Fatalf("call %d: block %v, want %v", i, block, want)
			}
			results <- s
		case <-time.After(helperTimeout):
			t.Fatalf("no wait4 call %d", i)
		}
	}
	expectExit(t, r, Exit{Last: true})
	expectExit(t, r, Exit{Pid: 5, Last: true})
}

// notify delivers SIGCHLD the way signal.Notify does: never blocking, so
// a notification already pending absorbs this one.
func notify(r *Reaper) {
	select {
	case r.sigchld <- syscall.SIGCHLD:
	default:
	}
}

func expectExit(t *testing.T, r *Reaper, want Exit) {
	t.Helper()
	select {
	case got := <-r.Exits():
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	case <-time.After(helperTimeout):
		t.Fatalf("no exit; want %+v", want)
	}
}

// TestRunCancelWhileBlocked checks that Run returns when its consumer stops
// reading: here wait4 always has another exit, the buffer fills, and only
// ctx can end the send.
func TestRunCancelWhileBlocked(t *testing.T) {
	pid := 100
	wait := func(ws *unix.WaitStatus, block bool) (int, error) {
		pid++
		*ws = exited(0)
		return pid, nil
	}
	r := newReaper(wait, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.Run(ctx)
		close(done)
	}()
	<-r.Exits() // Run is sending
	cancel()
	select {
	case <-done:
	case <-time.After(helperTimeout):
		t.Fatal("Run blocked on a full channel after cancel")
	}
}

// TestExitCodes: exit 0, 3 and 255; killed by SIGTERM (through the shell
// and through Go's default handler) and by SIGKILL.
func TestExitCodes(t *testing.T) {
	run := newRun(t, runHelper(t, "codes", nil))
	want := map[string]event{
		"exit0":   {Code: 0},
		"exit3":   {Code: 3},
		"exit255": {Code: 255},
		"shterm":  {Code: 143, Signal: int(syscall.SIGTERM)},
		"goterm":  {Code: 143, Signal: int(syscall.SIGTERM)},
		"kill":    {Code: 137, Signal: int(syscall.SIGKILL)},
	}
	for role, w := range want {
		pid, ok := run.started[role]
		if !ok {
			t.Fatalf("%s not started", role)
		}
		got := run.exitOf(t, pid)
		if got.Code != w.Code || got.Signal != w.Signal {
			t.Errorf("%s: code %d signal %d, want code %d signal %d",
				role, got.Code, got.Signal, w.Code, w.Signal)
		}
	}
	run.checkEnd(t)
}

func helperCodes([]string) {
	h := startHarness()
	h.start("exit0", self("exit", "0"))
	h.start("exit3", self("exit", "3"))
	h.start("exit255", self("exit", "255"))
	h.start("shterm", sh("kill -TERM $$"))
	h.start("goterm", self("kill", "TERM"))
	h.start("kill", self("kill", "KILL"))
	h.drain()
}

// helperExit exits with the code in args[0].
func helperExit(args []string) {
	code, err := strconv.Atoi(args[0])
	if err != nil {
		fail("%v", err)
	}
	os.Exit(code)
}

// helperKill sends itself the signal named in args[0] and waits to die.
func helperKill(args []string) {
	sig := unix.SignalNum("SIG" + args[0])
	if sig == 0 {
		fail("unknown signal %q", args[0])
	}
	if err := unix.Kill(os.Getpid(), sig); err != nil {
		fail("%v", err)
	}
	time.Sleep(helperTimeout) // the signal ends this
	fail("still alive after SIG%s", args[0])
}

// TestBurst: 200 children exit at once; SIGCHLDs coalesce, yet every pid is
// reported exactly once.
func TestBurst(t *testing.T) {
	const n = 200
	run := newRun(t, runHelper(t, "burst", nil, strconv.Itoa(n)))
	if len(run.started) != n {
		t.Fatalf("%d children started, want %d", len(run.started), n)
	}
	for role, pid := range run.started {
		if e := run.exitOf(t, pid); e.Code != 7 {
			t.Errorf("%s: code %d, want 7", role, e.Code)
		}
	}
	for _, e := range run.exits {
		if _, ok := run.roles[e.Pid]; !ok && e.Pid != 0 {
			t.Errorf("exit of a pid never started: %+v", e)
		}
	}
	run.checkEnd(t)
}

// helperBurst starts args[0] shells that all block on one pipe, then closes
// it so that they exit together.
func helperBurst(args []string) {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		fail("%v", err)
	}
	h := startHarness()
	r, w := mustPipe()
	for i := range n {
		cmd := sh("read x; exit 7")
		cmd.Stdin = r
		h.start("child"+strconv.Itoa(i), cmd)
	}
	r.Close()
	w.Close()
	h.drain()
}

// TestOrphan: a child double-forks a grandchild that outlives it. The
// subreaper adopts and reaps the grandchild, and only its exit has Last.
func TestOrphan(t *testing.T) {
	run := newRun(t, runHelper(t, "orphan", nil))
	child := run.exitOf(t, run.started["child"])
	grandchild := run.exitOf(t, run.started["grandchild"])
	if child.Code != 4 || child.Last {
		t.Errorf("child: %+v, want code 4 without Last (the grandchild lives)", child)
	}
	if grandchild.Code != 5 || !grandchild.Last {
		t.Errorf("grandchild: %+v, want code 5 with Last", grandchild)
	}
	if ppid, self := run.facts["adopted"].Pid, run.facts["self"].Pid; ppid != self {
		t.Errorf("the orphan's parent is %d, want the subreaper %d", ppid, self)
	}
	if !run.facts["descendant"].OK {
		t.Error("Descendants of the subreaper misses the adopted orphan")
	}
	run.checkEnd(t)
}

// orphanScript double-forks a grandchild that blocks on fd 3, prints its
// pid and exits 4; the grandchild exits 5 at EOF on fd 3.
const orphanScript = `(/bin/sh -c 'read x <&3; exit 5' >/dev/null & echo $!); exit 4`

func helperOrphan([]string) {
	h := startHarness()
	emit(event{Kind: "self", Pid: os.Getpid()})
	gpid, release := startOrphan(h)
	p, ok, err := readProc(gpid)
	if err != nil || !ok {
		fail("reading the orphan: %v", err)
	}
	emit(event{Kind: "adopted", Pid: p.ppid})
	ds, err := Descendants(os.Getpid())
	if err != nil {
		fail("%v", err)
	}
	emit(event{Kind: "descendant", OK: contains(ds, gpid)})
	release()
	h.drain()
}

// startOrphan runs orphanScript, waits for the child's exit and returns the
// grandchild's pid and a function that lets the grandchild exit.
func startOrphan(h *harness) (int, func()) {
	r, w := mustPipe()
	cmd := sh(orphanScript)
	cmd.ExtraFiles = []*os.File{r}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("%v", err)
	}
	pid := h.start("child", cmd)
	r.Close()
	_, gpid := readPid(bufio.NewReader(out))
	h.expect("grandchild", gpid)
	h.waitFor(pid)
	return gpid, func() { w.Close() }
}

func contains(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// TestBusy: rounds of short-lived children, some leaving short-lived
// orphans, then a hundred at once; the consumer's rule never hangs.
func TestBusy(t *testing.T) {
	run := newRun(t, runHelper(t, "busy", nil))
	wantCode := map[string]int{"true": 0, "false": 1, "bg": 0, "selfkill": 2}
	for role, pid := range run.started {
		e := run.exitOf(t, pid)
		kind, _, _ := strings.Cut(role, "-")
		if code, ok := wantCode[kind]; ok && e.Code != code {
			t.Errorf("%s: code %d, want %d", role, e.Code, code)
		}
	}
	run.checkEnd(t)
}

func helperBusy([]string) {
	h := startHarness()
	scripts := []struct{ kind, script string }{
		{"true", ":"},
		{"false", "exit 1"},
		{"bg", ": & exit 0"},
		{"selfkill", `/bin/sh -c ': & kill -9 $$'; exit 2`},
	}
	start := func() {
		for _, s := range scripts {
			cmd := sh(s.script)
			if err := cmd.Start(); err != nil {
				fail("%v", err)
			}
			h.expect(s.kind+"-"+strconv.Itoa(cmd.Process.Pid), cmd.Process.Pid)
		}
	}
	for range 50 {
		start()
		h.drain()
	}
	for range 25 {
		start()
	}
	h.drain()
}

// TestNotice: with no child at start Run sends one Pid-0 notice; spurious
// SIGCHLDs send nothing; every later child's exit carries Last itself.
func TestNotice(t *testing.T) {
	run := newRun(t, runHelper(t, "notice", nil))
	var got []event
	for _, e := range run.exits {
		got = append(got, event{Pid: e.Pid, Code: e.Code, Last: e.Last})
	}
	want := []event{
		{Last: true},
		{Pid: run.started["first"], Code: 3, Last: true},
		{Pid: run.started["second"], Code: 4, Last: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exits %+v, want %+v", got, want)
	}
}

func helperNotice([]string) {
	h := startHarness()
	if e := h.next(); e != (Exit{Last: true}) {
		fail("first value %+v, want the notice", e)
	}
	for range 3 {
		if err := unix.Kill(os.Getpid(), syscall.SIGCHLD); err != nil {
			fail("%v", err)
		}
	}
	h.start("first", self("exit", "3"))
	h.drain()
	h.start("second", self("exit", "4"))
	h.drain()
}

// TestDeaf: a Reaper that gets no SIGCHLD and makes no periodic pass still
// reports every exit while a child is alive, its own children's and an
// adopted orphan's, because it waits for them in wait4.
func TestDeaf(t *testing.T) {
	run := newRun(t, runHelper(t, "deaf", nil))
	for role, pid := range run.started {
		run.exitOf(t, pid)
		if role == "keeper" && !run.exitOf(t, pid).Last {
			t.Errorf("keeper's exit lacks Last")
		}
	}
	run.checkEnd(t)
}

func helperDeaf([]string) {
	if err := setSubreaper(); err != nil {
		fail("%v", err)
	}
	h := &harness{
		r:       newReaper(wait4, exitBuffer), // no SIGCHLD subscription
		pending: map[int]bool{}, roles: map[string]int{},
		deadline: time.After(helperTimeout),
	}
	h.r.sweep = [2]time.Duration{time.Hour, time.Hour}
	keep, release := mustPipe()
	keeper := sh("read x; exit 0")
	keeper.Stdin = keep
	h.start("keeper", keeper)
	keep.Close()
	h.run()
	for i := range 3 {
		h.waitFor(h.start("quick"+strconv.Itoa(i), self("exit", "3")))
	}
	gpid, letGo := startOrphan(h)
	letGo()
	h.waitFor(gpid)
	release.Close()
	h.drain()
}
