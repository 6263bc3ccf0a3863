package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cinit/cinit/procfile"
)

func init() {
	helpers["listen"] = helperListen
	helpers["httpserve"] = helperHTTPServe
	helpers["httpget"] = helperHTTPGet
}

// helperListen accepts TCP connections on $PORT until stopped.
func helperListen(args []string) int {
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("listening")
	for {
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		c.Close()
	}
}

// helperHTTPServe answers 200 "ok" on $PORT until stopped.
func helperHTTPServe(args []string) int {
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("serving")
	return fmtErr(http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})))
}

func fmtErr(err error) int {
	fmt.Println(err)
	return 1
}

// helperHTTPGet fetches args[0] and exits 0 on a 2xx answer, 1 otherwise:
// the smoke test of a CI Procfile.
func helperHTTPGet(args []string) int {
	resp, err := http.Get(args[0])
	if err != nil {
		fmt.Println(err)
		return 1
	}
	resp.Body.Close()
	fmt.Println("status", resp.StatusCode)
	if resp.StatusCode/100 != 2 {
		return 1
	}
	return 0
}

// freePort returns a TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestCanDie(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("exit 3")+"\nb: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, nil, "--can-die", "a")
	r.waitLine("cinit", "a exited with code 3")
	r.waitLine("b", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "b", "got terminated") < 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

func TestEverythingCanDieEndsWithZero(t *testing.T) {
	dir := writeProcfile(t, "a: exit 3\nb: true\n")
	if code, lines, _ := runCinit(t, dir, nil, "-c", "all"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

// When every process has ended by itself, what they left behind is
// stopped and cinit exits 0, also when a leftover that ignores SIGTERM
// needs SIGKILL (which is said once).
func TestLeftoverKilledStillZero(t *testing.T) {
	dir := writeProcfile(t, "web: setsid sh -c 'trap \"\" TERM; exec sleep 100' & sleep 0.3; echo bye\n")
	code, lines, _ := runCinit(t, dir, nil, "-t", "1", "-c", "web")
	kills := 0
	for _, l := range linesOf(lines, "cinit") {
		if strings.HasPrefix(l, "sending SIGKILL to") {
			kills++
		}
	}
	if code != 0 || kills != 1 || indexOf(lines, "cinit", "every process has ended, stopping what they left behind") < 0 {
		t.Fatalf("exit %d, %d SIGKILL lines; want 0 and 1:\n%s", code, kills, tail(lines))
	}
}

func TestOneshotSuccessStartsDependents(t *testing.T) {
	dir := writeProcfile(t, "web: "+helperLine("trapterm")+"\ninit: echo initialized\n")
	r := startCinit(t, dir, nil, "--oneshot", "init", "--after", "web=init")
	r.waitLine("web", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	done, started := indexOf(lines, "cinit", "init exited with code 0"), indexOf(lines, "cinit", fmt.Sprintf("web started with pid %d", pidOf(lines, "web")))
	if code != 0 || done < 0 || started < done {
		t.Fatalf("exit %d, init done at %d, web started at %d:\n%s", code, done, started, tail(lines))
	}
}

// A process that is ready as soon as it starts lets its dependents start
// at once, before the processes after it in the Procfile, and the next
// start is always the first one in Procfile order that may start: b's
// start makes nothing eligible, c's makes a eligible, and a comes before
// d. 300 more instances that are ready at once start too (the scan that
// follows each start does not nest).
func TestStartOrderWithInstantReadiness(t *testing.T) {
	dir := writeProcfile(t, "a: sleep 100\nb: sleep 100\nc: sleep 100\nd: sleep 100\nmany: sleep 100\n")
	r := startCinit(t, dir, nil, "--after", "a=c", "-m", "many=300")
	r.waitLine("cinit", "many.300 started with pid")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	var order []string
	for _, l := range linesOf(lines, "cinit") {
		if name, _, ok := strings.Cut(l, " started with pid "); ok && !strings.HasPrefix(name, "many") {
			order = append(order, name)
		}
	}
	if code != 0 || strings.Join(order, ",") != "b,c,a,d" {
		t.Fatalf("exit %d, start order %v, want b,c,a,d:\n%s", code, order, tail(lines))
	}
}

// pidOf finds the pid in name's "started with pid" message.
func pidOf(lines []string, name string) int {
	var pid int
	for _, l := range linesOf(lines, "cinit") {
		if strings.HasPrefix(l, name+" started with pid ") {
			fmt.Sscanf(l, name+" started with pid %d", &pid)
		}
	}
	return pid
}

func TestOneshotFailureStopsWithItsCode(t *testing.T) {
	dir := writeProcfile(t, "web: touch web-started\ninit: exit 4\n")
	code, lines, _ := runCinit(t, dir, nil, "--oneshot", "init", "--after", "web=init")
	if code != 4 {
		t.Fatalf("exit %d, want 4:\n%s", code, tail(lines))
	}
	if _, err := os.Stat(filepath.Join(dir, "web-started")); err == nil {
		t.Errorf("web started after its dependency failed")
	}
}

// event is one of cinit's JSON records.
type event struct {
	Time    time.Time
	Name    string
	Event   string
	Line    string
	Process string
	Code    *int
}

// events decodes cinit's own JSON records.
func events(t *testing.T, lines []string) []event {
	var out []event
	for _, l := range lines {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if e.Name == "cinit" {
			out = append(out, e)
		}
	}
	return out
}

func TestRestartBackoffAndGiveUp(t *testing.T) {
	t.Parallel() // the real schedule takes 1+2+4+8+16 seconds
	dir := writeProcfile(t, "a: exit 1\nb: "+helperLine("block")+"\n")
	code, lines, _ := runCinit(t, dir, nil, "-r", "a=on-failure", "--log-format=json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a's last code):\n%s", code, tail(lines))
	}
	// Measure each backoff from cinit's own events: from "restarting in
	// D" to the next start of a.
	var restartAt time.Time
	var delays []time.Duration
	n := 0
	for _, e := range events(t, lines) {
		switch {
		case e.Event == "restart" && e.Process == "a":
			n++
			restartAt = e.Time
			if want := fmt.Sprintf("(%d/5)", n); !strings.HasSuffix(e.Line, want) {
				t.Errorf("restart %d says %q", n, e.Line)
			}
		case e.Event == "start" && e.Process == "a" && !restartAt.IsZero():
			delays = append(delays, e.Time.Sub(restartAt))
			restartAt = time.Time{}
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	if len(delays) != len(want) {
		t.Fatalf("%d restarts, want %d:\n%s", len(delays), len(want), tail(lines))
	}
	for i, d := range delays {
		if d < want[i] || d > want[i]+time.Second {
			t.Errorf("backoff %d was %v, want %v", i+1, d, want[i])
		}
	}
	// Said once, and then the teardown it starts (the same words used to
	// come twice).
	if n := strings.Count(strings.Join(lines, "\n"), "giving up"); n != 1 {
		t.Errorf("%d give-up messages:\n%s", n, tail(lines))
	}
	evs := events(t, lines)
	if i := slices.IndexFunc(evs, func(e event) bool { return e.Line == "a restarted 5 times within 1m0s, giving up" }); i < 0 || i+1 >= len(evs) || evs[i+1].Line != "a gave up, stopping all processes" {
		t.Errorf("no give-up message followed by the teardown's:\n%s", tail(lines))
	}
}

func TestStopDuringBackoff(t *testing.T) {
	dir := writeProcfile(t, "a: exit 1\nb: "+helperLine("block")+"\n")
	r := startCinit(t, dir, nil, "-r", "a=always")
	r.waitLine("cinit", "a exited with code 1, restarting in 1s (1/5)")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	starts := 0
	for _, l := range linesOf(lines, "cinit") {
		if strings.HasPrefix(l, "a started") {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("a started %d times, want once:\n%s", starts, tail(lines))
	}
}

func TestStopSignalPerProcess(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\nb: echo ready; exec sleep 1000\n")
	r := startCinit(t, dir, nil, "--stop-signal", "a=QUIT")
	r.waitLine("a", "ready")
	r.waitLine("b", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "a", "got quit") < 0 || indexOf(lines, "cinit", "b was killed by SIGTERM") < 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

func TestReadyTCPAndHTTP(t *testing.T) {
	dir := writeProcfile(t, "db: "+helperLine("listen")+"\napi: "+helperLine("httpserve")+"\nweb: echo up; exec sleep 1000\n")
	base := freePort(t)
	r := startCinit(t, dir, []string{"PORT="}, "-p", fmt.Sprint(base), "--no-timestamps",
		"--ready", "db=tcp", "--ready", fmt.Sprintf("api=http:http://127.0.0.1:%d/health", base+100),
		"--after", "web=db+api")
	r.waitLine("web", "up")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	dbReady, apiReady := indexOf(lines, "cinit", "db is ready"), indexOf(lines, "cinit", "api is ready")
	webStart := indexOf(lines, "cinit", fmt.Sprintf("web started with pid %d", pidOf(lines, "web")))
	if code != 0 || dbReady < 0 || apiReady < 0 || webStart < dbReady || webStart < apiReady {
		t.Fatalf("exit %d, db ready %d, api ready %d, web started %d:\n%s", code, dbReady, apiReady, webStart, tail(lines))
	}
}

// A stop signal during a teardown that an exit started reaches every
// group: web, stopping already, at once; db, which waits for web to stop,
// with its stop signal when its turn comes.
func TestStopSignalDuringExitTeardownReachesEveryGroup(t *testing.T) {
	dir := writeProcfile(t, "db: trap 'echo db got TERM' TERM; trap 'echo db got INT; exit 0' INT; echo ready; while :; do sleep 0.1; done\n"+
		"web: trap 'echo web got TERM' TERM; trap 'echo web got INT' INT; echo ready; until [ -e go ]; do sleep 0.1; done\n"+
		"x: until [ -e boom ]; do sleep 0.05; done; exit 3\n")
	r := startCinit(t, dir, nil, "--after", "web=db", "-t", "5s")
	r.waitLine("db", "ready")
	r.waitLine("web", "ready")
	os.WriteFile(filepath.Join(dir, "boom"), nil, 0o644)
	r.waitLine("web", "web got TERM")
	r.signal(syscall.SIGINT)
	r.waitLine("web", "web got INT")
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	code, lines := r.wait()
	if code != 3 || indexOf(lines, "db", "db got INT") < 0 || indexOf(lines, "cinit", "db exited with code 0") < 0 {
		t.Fatalf("exit %d; want 3, db told INT and ending by it:\n%s", code, tail(lines))
	}
}

func TestDependencyChainStopsInReverse(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\nb: "+helperLine("trapterm")+"\nc: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, nil, "--after", "b=a,c=b")
	for _, name := range []string{"a", "b", "c"} {
		r.waitLine(name, "ready") // each has its trap in place
	}
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	// Each process saw its signal only after its dependents had ended.
	c, b, a := indexOf(lines, "c", "got terminated"), indexOf(lines, "b", "got terminated"), indexOf(lines, "a", "got terminated")
	cEnd, bEnd := indexOf(lines, "cinit", "c exited with code 0"), indexOf(lines, "cinit", "b exited with code 0")
	if c < 0 || b < 0 || a < 0 || !(c < cEnd && cEnd < b && b < bEnd && bEnd < a) {
		t.Fatalf("stop order wrong (c %d, c ended %d, b %d, b ended %d, a %d):\n%s", c, cEnd, b, bEnd, a, tail(lines))
	}
}

func TestPolicyErrorsAreUsageErrors(t *testing.T) {
	dir := writeProcfile(t, "a: touch started\nb: true\n")
	for _, args := range [][]string{
		{"--after", "a=b,b=a"},
		{"--after", "a=a"},
		{"--after", "a=nope"},
		{"--restart", "a=sometimes"},
		{"--restart", "nope=always"},
		{"--stop-signal", "a=SIGNOPE"},
		{"--ready", "a=smoke:signals"},
		{"--ready", "a=http:ftp://x"},
		{"--ready", "a=tcp:99999"},
		{"--ready", "a=tcp:localhost:0"},
		{"--can-die", "nope"},
		{"--ready-timeout", "soon"},
		{"-m", "b=0", "--after", "a=b"},
	} {
		code, lines, stderr := runCinit(t, dir, nil, args...)
		if code != 2 || stderr == "" || len(lines) > 0 {
			t.Errorf("%q: exit %d, stderr %q, output %q", args, code, stderr, lines)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
		t.Errorf("a process started despite a bad policy")
	}
	_, _, stderr := runCinit(t, dir, nil, "--after", "a=b,b=a")
	if !strings.Contains(stderr, "cycle a -> b -> a") {
		t.Errorf("cycle not named: %q", stderr)
	}
}

func TestReadyTimeoutIs124(t *testing.T) {
	dir := writeProcfile(t, "a: exec sleep 1000\n")
	code, lines, _ := runCinit(t, dir, nil, "--ready", "a=file:never-created", "--ready-timeout", "300ms")
	if code != 124 {
		t.Fatalf("exit %d, want 124:\n%s", code, tail(lines))
	}
	// Why, then the teardown with its reason.
	if i := indexOf(lines, "cinit", "a was not ready within 300ms"); i < 0 || indexOf(lines, "cinit", "a was not ready in time, stopping all processes") != i+1 {
		t.Errorf("no reason, or not before the teardown:\n%s", tail(lines))
	}
}

func TestRawLines(t *testing.T) {
	dir := writeProcfile(t, "a: echo '{\"level\":\"info\"}'\n")
	_, lines, _ := runCinit(t, dir, nil, "--raw", "a")
	if len(lines) == 0 || !contains(lines, `{"level":"info"}`) {
		t.Fatalf("raw line missing:\n%s", tail(lines))
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestCISmokePattern is the Procfile of the README's "The CI smoke-test
// pattern": db, a migrate
// oneshot after db, web after migrate and ready over HTTP, and a smoke test
// after web whose code becomes cinit's.
func TestCISmokePattern(t *testing.T) {
	{
		base := freePort(t)
		procfile := strings.Join([]string{
			"db: " + helperLine("listen"),
			"migrate: echo migrated",
			"web: " + helperLine("httpserve"),
			"smoke: " + helperLine(fmt.Sprintf("httpget http://127.0.0.1:%d/health", base+200)),
		}, "\n") + "\n"
		dir := writeProcfile(t, procfile)
		code, lines, _ := runCinit(t, dir, []string{"PORT="}, "-p", fmt.Sprint(base),
			"--oneshot", "migrate", "--after", "migrate=db,web=migrate,smoke=web",
			"--ready", "db=tcp", "--ready", fmt.Sprintf("web=http:http://127.0.0.1:%d/", base+200))
		if code != 0 || indexOf(lines, "smoke", "status 200") < 0 {
			t.Fatalf("exit %d, want 0:\n%s", code, tail(lines))
		}
	}
	// A failing smoke test fails the run with its code.
	dir := writeProcfile(t, "web: "+helperLine("httpserve")+"\nsmoke: exit 7\n")
	code, lines, _ := runCinit(t, dir, []string{"PORT="}, "-p", fmt.Sprint(freePort(t)), "--after", "smoke=web", "--ready", "web=tcp")
	if code != 7 {
		t.Fatalf("exit %d, want 7:\n%s", code, tail(lines))
	}
}

func TestHangingReadinessCheckDoesNotHoldTheStop(t *testing.T) {
	// The check never ends by itself; a stop must not wait for it.
	dir := writeProcfile(t, "a: echo up; exec sleep 1000\n")
	r := startCinit(t, dir, nil, "-t", "1h", "--ready", "a=exec:echo checking > checked; exec sleep 1000")
	r.waitLine("a", "up")
	waitFile(t, filepath.Join(dir, "checked"))
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

// waitFile waits until a child has created path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(hangLimit)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(10 * time.Millisecond) // polls a file that nothing announces
	}
}

// --after NAME=DEP+DEP names DEP once: the exports would write a key twice.
func TestAfterDuplicateDependency(t *testing.T) {
	instances, err := procfile.Instances(fuzzEntries, procfile.Formation{Default: 1}, 5000, nil)
	if err != nil {
		t.Fatal(err)
	}
	policies, err := buildPolicies(policyFlags{after: []string{"web=worker+clock+worker"}}, fuzzEntries, instances)
	if err != nil || strings.Join(policies["web"].After, "+") != "worker+clock" {
		t.Fatalf("after: %v, %v; want worker+clock", policies["web"].After, err)
	}
}

// Where cinit opens no pseudo-terminal, --tty is a usage error naming the
// flag, before anything starts, rather than each start failing.
func TestTTYRefusedWithoutPseudoTerminals(t *testing.T) {
	instances, err := procfile.Instances(fuzzEntries, procfile.Formation{Default: 1}, 5000, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func(old bool) { ptySupported = old }(ptySupported)
	ptySupported = false
	_, err = buildPolicies(policyFlags{tty: []string{"web"}}, fuzzEntries, instances)
	if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), "--tty") {
		t.Errorf("--tty without pseudo-terminals: %v, want a usage error naming the flag", err)
	}
	if _, err := buildPolicies(policyFlags{interactive: "web"}, fuzzEntries, instances); err != nil {
		t.Errorf("--interactive needs no pseudo-terminal: %v", err)
	}
}

// TestExecCheckThatHangsIsTriedAgain: the first attempt of each check
// hangs (the file is not there yet, so it sleeps); it is killed after the
// 30 s an attempt may take, and the next one passes. It used to wait on
// the first attempt for good, in cinit start (the dependent never
// started) and in cinit ready --wait alike.
func TestExecCheckThatHangsIsTriedAgain(t *testing.T) {
	t.Parallel()
	dir := writeProcfile(t, "web: echo up; exec sleep 1000\ndep: echo dep up; exec sleep 1000\n")
	check := "exec:test -f flag || exec sleep 1000"
	r := startCinit(t, dir, nil, "--ready", "web="+check, "--after", "dep=web")
	waiting := startCinit(t, dir, nil, "ready", "--wait", check)
	r.waitLine("web", "up")
	if err := os.WriteFile(filepath.Join(dir, "flag"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := waiting.wait(); code != 0 {
		t.Errorf("cinit ready --wait: exit %d, want 0", code)
	}
	r.waitLine("dep", "dep up")
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 0 {
		t.Errorf("exit %d:\n%s", code, tail(lines))
	}
}

// TestRelativeFileCheckIsInTheRoot: a relative file: path is found in the
// root directory, where the processes and an exec check run, not in
// cinit's own directory.
func TestRelativeFileCheckIsInTheRoot(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "app")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "Procfile"), []byte("web: touch ready.flag; exec sleep 1000\ndep: echo dep up; exec sleep 1000\n"), 0o644)
	r := startCinit(t, dir, nil, "-f", "app/Procfile", "--ready", "web=file:ready.flag", "--after", "dep=web")
	r.waitLine("dep", "dep up")
	r.signal(syscall.SIGTERM)
	r.wait()
	if code, _, stderr := runCinit(t, dir, nil, "ready", "-f", "app/Procfile", "--for", "web", "file:ready.flag"); code != 0 {
		t.Errorf("cinit ready --for web: exit %d (%s)", code, stderr)
	}
}

// TestReadyPolicyConflicts: a oneshot is ready when it exits 0, so a check
// of its own is an error (its dependents started as soon as the check
// passed, while it still ran); all= leaves oneshots out. Under -N a
// process has no $PORT for a bare tcp check.
func TestReadyPolicyConflicts(t *testing.T) {
	dir := writeProcfile(t, "migrate: touch started\nweb: touch started\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--oneshot", "migrate", "--ready", "migrate=file:/"}, "flag --ready: migrate is a oneshot"},
		{[]string{"-N", "--ready", "web=tcp"}, "flag --ready: a bare tcp check (web's) checks the port"},
	} {
		code, lines, stderr := runCinit(t, dir, nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || len(lines) > 0 {
			t.Errorf("%q: exit %d, stderr %q, output %q", tc.args, code, stderr, lines)
		}
	}
	if exists(filepath.Join(dir, "started")) {
		t.Errorf("a process started despite a bad policy")
	}
	code, _, stderr := runCinit(t, dir, nil, "check", "--oneshot", "migrate", "--ready", "all=file:/", "-N", "--ready", "web=tcp:1")
	if code != 0 {
		t.Fatalf("check: exit %d (%s)", code, stderr)
	}
}

// TestCanDieReadyTimeoutStopsIt: a process that can die and is not ready in
// time has failed: it is stopped alone (it used to run on, and turn ready
// later with its dependents abandoned), what starts after it never
// starts, and once everything has ended cinit exits 0.
func TestCanDieReadyTimeoutStopsIt(t *testing.T) {
	dir := writeProcfile(t, "web: echo up; exec sleep 1000\ndep: touch started\n")
	code, lines, _ := runCinit(t, dir, nil, "-c", "web", "--ready", "web=file:never", "--ready-timeout", "500ms", "--after", "dep=web")
	if code != 0 || indexOf(lines, "cinit", "web was not ready within 500ms") < 0 || indexOf(lines, "cinit", "web was killed by SIGTERM") < 0 {
		t.Errorf("exit %d, want 0 with web failed and stopped:\n%s", code, tail(lines))
	}
	if exists(filepath.Join(dir, "started")) {
		t.Errorf("dep started after web failed")
	}
}

// TestHTTPWaitKeepsItsTimeout: an http check against a server that
// accepts and never answers ends when --timeout passes; each attempt's
// own 2 s limit used to outlast a shorter --timeout.
func TestHTTPWaitKeepsItsTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	begin := time.Now()
	code, _, _ := runCinit(t, t.TempDir(), nil, "ready", "--wait", "--timeout", "300ms", "http:http://"+l.Addr().String()+"/")
	// The bound is below the 2 s of one attempt, far above 300 ms.
	if took := time.Since(begin); code != 1 || took >= 1900*time.Millisecond {
		t.Errorf("exit %d after %v, want 1 within about 300ms", code, took)
	}
}

// --after all=db starts every other type after db, and db after none of
// them (it was refused as the cycle db -> db); NAME= exempts one type.
func TestAfterAll(t *testing.T) {
	dir := writeProcfile(t, "db: a\nweb: b\nworker: c\n")
	code, lines, stderr := runCinit(t, dir, nil, "check", "--after", "all=db,worker=")
	out := strings.Join(lines, "\n")
	for _, want := range []string{"db      1      5000   -", "web     1      5100   after db", "worker  1      5200   -"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d (%s), no %q in:\n%s", code, stderr, want, out)
		}
	}
	// A second all= replaces the first, for the type it left out too.
	code, lines, stderr = runCinit(t, dir, nil, "check", "--after", "all=db,all=worker")
	out = strings.Join(lines, "\n")
	for _, want := range []string{"db      1      5000   after worker", "web     1      5100   after worker", "worker  1      5200   -"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d (%s), no %q in:\n%s", code, stderr, want, out)
		}
	}
}
