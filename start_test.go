package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// Exit status (README, "Stopping and exit status").

func TestFirstExitCodeIsCinits(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("exit 3")+"\nb: "+helperLine("trapterm")+"\n")
	code, lines, _ := runCinit(t, dir, nil)
	if code != 3 {
		t.Fatalf("exit %d, want 3; output:\n%s", code, tail(lines))
	}
	if i, j := indexOf(lines, "cinit", "a exited with code 3"), indexOf(lines, "cinit", "a exited, stopping all processes"); i < 0 || j < i {
		t.Errorf("exit messages missing or out of order:\n%s", tail(lines))
	}
	// b may or may not have set its trap before a's exit: either way it
	// must have been stopped by SIGTERM.
	if indexOf(lines, "b", "got terminated") < 0 && indexOf(lines, "cinit", "b was killed by SIGTERM") < 0 {
		t.Errorf("b was not stopped with SIGTERM:\n%s", tail(lines))
	}
}

func TestKilledBySignalIs128PlusN(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("killself 15")+"\nb: "+helperLine("block")+"\n")
	code, lines, _ := runCinit(t, dir, nil)
	if code != 143 {
		t.Fatalf("exit %d, want 143; output:\n%s", code, tail(lines))
	}
	if indexOf(lines, "cinit", "a was killed by SIGTERM") < 0 {
		t.Errorf("no kill message:\n%s", tail(lines))
	}
}

func TestCleanExitIsZero(t *testing.T) {
	dir := writeProcfile(t, "a: true\nb: "+helperLine("block")+"\n")
	if code, lines, _ := runCinit(t, dir, nil); code != 0 {
		t.Fatalf("exit %d, want 0; output:\n%s", code, tail(lines))
	}
}

func TestStopSignalCleanIsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			// b is not a Go program: Go exits 2 on SIGQUIT.
			dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\nb: echo ready; exec sleep 1000\n")
			r := startCinit(t, dir, nil)
			r.waitLine("a", "ready")
			r.waitLine("b", "ready")
			r.signal(sig)
			code, lines := r.wait()
			if code != 0 {
				t.Fatalf("exit %d, want 0; output:\n%s", code, tail(lines))
			}
			if got := linesOf(lines, "a"); len(got) != 2 || !strings.HasPrefix(got[1], "got ") {
				t.Errorf("a saw %q", got)
			}
			if indexOf(lines, "cinit", "b was killed by "+signalName(sig)) < 0 {
				t.Errorf("b did not die of %v:\n%s", sig, tail(lines))
			}
		})
	}
}

func signalName(sig syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT"}[sig]
}

func TestStopSignalUncleanGivesFirstCode(t *testing.T) {
	// On TERM the shell runs its trap and exits 4: not a clean stop.
	dir := writeProcfile(t, "a: trap 'exit 4' TERM; echo ready; while :; do sleep 0.1; done\n")
	r := startCinit(t, dir, nil)
	r.waitLine("a", "ready")
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 4 {
		t.Fatalf("exit %d, want 4; output:\n%s", code, tail(lines))
	}
}

func TestGraceThenSIGKILLIs137(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("ignoreterm")+"\nb: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, nil, "-t", "2s")
	r.waitLine("a", "ready")
	r.waitLine("b", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 137 {
		t.Fatalf("exit %d, want 137; output:\n%s", code, tail(lines))
	}
	if indexOf(lines, "cinit", "sending SIGKILL to 1 process") < 0 || indexOf(lines, "cinit", "a was killed by SIGKILL") < 0 {
		t.Errorf("no escalation messages:\n%s", tail(lines))
	}
}

func TestSecondSignalKillsAtOnce(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("ignoreterm")+"\n")
	// A grace period far beyond hangLimit: only the second signal can end this.
	r := startCinit(t, dir, nil, "-t", "1h")
	r.waitLine("a", "ready")
	r.signal(syscall.SIGINT)
	r.waitLine("cinit", "SIGINT received, stopping all processes")
	r.signal(syscall.SIGINT)
	code, lines := r.wait()
	if code != 137 {
		t.Fatalf("exit %d, want 137; output:\n%s", code, tail(lines))
	}
}

func TestExitTeardownForwardsFirstSignal(t *testing.T) {
	// b ignores TERM (sent after a's exit) but traps HUP... use INT: the
	// first INT during an exit-started teardown is forwarded, not a kill.
	dir := writeProcfile(t, "a: "+helperLine("exit 5")+"\nb: trap '' TERM; trap 'echo got INT; exit 0' INT; echo ready; while :; do sleep 0.1; done\n")
	r := startCinit(t, dir, nil, "-t", "1h")
	r.waitLine("b", "ready")
	r.waitLine("cinit", "a exited, stopping all processes")
	r.signal(syscall.SIGINT)
	code, lines := r.wait()
	if code != 5 {
		t.Fatalf("exit %d, want 5 (the first exit's code); output:\n%s", code, tail(lines))
	}
	if indexOf(lines, "b", "got INT") < 0 {
		t.Errorf("INT not forwarded:\n%s", tail(lines))
	}
}

func TestForwardedSignals(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, nil)
	r.waitLine("a", "ready")
	r.signal(syscall.SIGHUP)
	r.waitLine("a", "got hangup")
	r.signal(syscall.SIGWINCH) // not forwarded, and harmless to cinit
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tail(lines))
	}
}

// Output rules (README, "Output"), end to end.

func TestLastPartialLineBeforeExit(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("partial tail-without-newline")+"\n")
	code, lines, _ := runCinit(t, dir, nil)
	i, j := indexOf(lines, "a", "tail-without-newline"), indexOf(lines, "cinit", "a exited with code 0")
	if code != 0 || i < 0 || j < i {
		t.Fatalf("exit %d, line at %d, exit message at %d:\n%s", code, i, j, tail(lines))
	}
}

func TestManyLinesNoneLost(t *testing.T) {
	const n = 200000
	procfile := ""
	for _, name := range []string{"a", "b", "c"} {
		procfile += fmt.Sprintf("%s: %s; exec %s\n", name, helperLine(fmt.Sprintf("lines %d", n)), helperLine("block"))
	}
	r := startCinit(t, writeProcfile(t, procfile), nil)
	for _, name := range []string{"a", "b", "c"} {
		r.waitLine(name, fmt.Sprintf("%s.1 line %d", name, n))
	}
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, name := range []string{"a", "b", "c"} {
		got := linesOf(lines, name)
		if len(got) < n {
			t.Fatalf("%s: %d lines, want %d", name, len(got), n)
		}
		for i, l := range got[:n] {
			if want := fmt.Sprintf("%s.1 line %d", name, i+1); l != want {
				t.Fatalf("%s: line %d is %q, want %q", name, i+1, l, want)
			}
		}
	}
}

func TestHugeLineInPieces(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("bigline 20")+"\n")
	code, lines, _ := runCinit(t, dir, nil)
	got := linesOf(lines, "a")
	total := 0
	for _, l := range got {
		if strings.Trim(l, "x") == "" {
			total += len(l)
			if len(l) > 1<<20 {
				t.Errorf("piece of %d bytes, over 1 MiB", len(l))
			}
		}
	}
	if code != 0 || total != 20<<20 {
		t.Fatalf("exit %d, %d bytes of x, want %d", code, total, 20<<20)
	}
}

// Environment, ports and names (README, "Environment" and "Ports,
// formation and names").

func TestEnvPrecedenceAndPorts(t *testing.T) {
	// Each instance prints its environment, then waits to be stopped, so
	// that no instance's exit cuts another short.
	then := "; exec " + helperLine("block")
	dir := writeProcfile(t, "web: "+helperLine("printenv PORT PS FROM_FILE BOTH")+then+"\nworker: "+helperLine("printenv PORT PS")+then+"\n")
	os.WriteFile(filepath.Join(dir, ".env"), []byte("FROM_FILE=file\nBOTH=file\nPORT=7000\n"), 0o644)
	r := startCinit(t, dir, []string{"BOTH=inherited", "PORT="}, "-m", "web=2")
	want := map[string][]string{
		"web.1":  {"PORT=7000", "PS=web.1", "FROM_FILE=file", "BOTH=inherited"},
		"web.2":  {"PORT=7001", "PS=web.2", "FROM_FILE=file", "BOTH=inherited"},
		"worker": {"PORT=7100", "PS=worker.1"},
	}
	for name, vars := range want {
		for _, v := range vars {
			r.waitLine(name, v)
		}
	}
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

func TestShellExpandsPortNotCinit(t *testing.T) {
	dir := writeProcfile(t, "a: echo '$PORT' \"$PORT\"\n")
	_, lines, _ := runCinit(t, dir, []string{"PORT="}, "-p", "6000")
	if got := linesOf(lines, "a"); len(got) == 0 || got[0] != "$PORT 6000" {
		t.Fatalf("got %q", got)
	}
}

// A line of plain words runs without the shell (supervisor/direct.go);
// its program must see what it would see under /bin/sh -c 'exec ...'.
// "exec env" names a shell builtin, so that line goes to the shell.
func TestDirectCommandSeesWhatTheShellGives(t *testing.T) {
	dir := writeProcfile(t, "direct: env\nshell: exec env\n")
	code, lines, stderr := runCinit(t, dir, []string{"PWD=/", "spring.profiles.active=x", "A-B=1", "GOOD_1=2"}, "--oneshot", "direct,shell")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, tail(lines))
	}
	direct, shell := envSet(linesOf(lines, "direct")), envSet(linesOf(lines, "shell"))
	real, _ := filepath.EvalSymlinks(dir)
	if direct["PWD"] != real {
		t.Errorf("PWD = %q, want %q", direct["PWD"], real)
	}
	if direct["GOOD_1"] != "2" || direct["A-B"] != "" || direct["spring.profiles.active"] != "" {
		t.Errorf("GOOD_1=%q A-B=%q spring.profiles.active=%q; want 2 and the others dropped, as dash does",
			direct["GOOD_1"], direct["A-B"], direct["spring.profiles.active"])
	}
	if len(direct) < 5 || !maps.Equal(direct, shell) {
		t.Errorf("environments differ:\ndirect %q\nshell  %q", direct, shell)
	}
}

// envSet maps the lines of env's output to their values, without the two
// variables that differ between instances.
func envSet(lines []string) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, "="); ok && k != "PS" && k != "PORT" {
			m[k] = v
		}
	}
	return m
}

// exec refusing a file that looked runnable hands the line to the shell,
// which reports it as it always did.
func TestDirectCommandExecFailureGoesToTheShell(t *testing.T) {
	dir := writeProcfile(t, "a: ./fake\n")
	if err := os.WriteFile(filepath.Join(dir, "fake"), []byte("\x7fELF not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, lines, stderr := runCinit(t, dir, nil)
	if code != 126 || !slices.ContainsFunc(linesOf(lines, "a"), func(l string) bool { return strings.Contains(l, "Exec format error") }) {
		t.Fatalf("exit %d, want 126 with the shell's message: %s\n%s", code, stderr, tail(lines))
	}
}

// Bad input: exit 2, a message naming the culprit, nothing started.

func TestConfigErrorsStartNothing(t *testing.T) {
	tests := []struct {
		name, procfile, env string
		args                []string
		want                string
	}{
		{"duplicate", "a: touch started\na: true\n", "", nil, `Procfile:2: duplicate process "a"`},
		{"empty", "# nothing\n", "", nil, "no processes defined"},
		{"env syntax", "a: touch started\n", "FOO=\"a\"b\n", nil, ".env"},
		{"unknown flag", "a: touch started\n", "", []string{"--bogus"}, "--bogus"},
		{"bad timeout", "a: touch started\n", "", []string{"-t", "soon"}, "soon"},
		{"unknown name", "a: touch started\n", "", []string{"start", "nope"}, `unknown process "nope" in Procfile`},
		{"control flags first", "a: touch started\n", "", []string{"--socket", "s.sock", "status"},
			`unknown process "status" in Procfile; to ask a running cinit, put the flags after the command: cinit status --socket PATH`},
		{"unknown formation", "a: touch started\n", "", []string{"-m", "nope=2"}, `"nope"`},
		{"missing env file", "a: touch started\n", "", []string{"-e", "missing.env"}, "missing.env"},
		{"bad env var", "a: touch started\n", "", []string{"--color=sometimes"}, "--color"},
		{"port over 65535", "a: touch started\nb: true\n", "", []string{"-p", "65500"}, "the port of b would be 65600, over 65535"},
		{"port from an env file", "a: touch started\nb: true\n", "", []string{"-e", "a.env,b.env"}, "lower the base port 65500 (PORT at b.env:3)"},
		{"bad port in an env file", "a: touch started\n", "", []string{"-e", "a.env", "-e", "c.env"}, `PORT at c.env:1: "80a" is not a port number`},
		{"run: port over 65535", "a: touch started\nb: touch started\n", "", []string{"-p", "65500", "run", "b"}, "the port of b.1 would be 65600, over 65535"},
		{"instance 0", "a: touch started\n", "", []string{"run", "--instance", "0", "a"}, "bad value 0 for flag --instance: want 1 or more"},
		{"empty env file name", "a: touch started\n", "", []string{"-e", "a.env,"}, `flag -e/--env: an empty file name ("a.env,")`},
		{"no env file", "a: touch started\n", "", []string{"-e", ""}, "flag -e/--env: an empty file name"},
		{"run: bad formation", "a: touch started\n", "", []string{"run", "-m", "nope=x", "a"}, "flag -m/--formation"},
		{"run: missing Procfile", "a: touch started\n", "", []string{"run", "-f", "nope/Procfile", "a"}, "nope/Procfile: no such Procfile"},
	}
	envFiles := map[string]string{"a.env": "PORT=65000\n", "b.env": "X=1\n# the port\nexport PORT = 65500\n", "c.env": "PORT=80a\n"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeProcfile(t, tt.procfile)
			if tt.env != "" {
				os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.env), 0o644)
			}
			for name, text := range envFiles {
				os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
			}
			code, lines, stderr := runCinit(t, dir, nil, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("want one line on stderr, got %q", stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil || len(lines) > 0 {
				t.Errorf("something started: %q", lines)
			}
		})
	}
}

// With -N cinit sets no PORT, so it reads none: a PORT that is not a
// number passes through to the processes as it is.
func TestNoPortLeavesPortAlone(t *testing.T) {
	dir := writeProcfile(t, "a: echo \"port $PORT\"\n")
	os.WriteFile(filepath.Join(dir, "x.env"), []byte("PORT=abc\n"), 0o644)
	for _, tc := range []struct{ env, args []string }{{[]string{"PORT=abc"}, nil}, {nil, []string{"-e", "x.env"}}} {
		code, lines, stderr := runCinit(t, dir, tc.env, append([]string{"-N"}, tc.args...)...)
		if code != 0 || indexOf(lines, "a", "port abc") < 0 {
			t.Errorf("%q %q: exit %d (%s):\n%s", tc.env, tc.args, code, stderr, tail(lines))
		}
	}
}

// A bad value that came from a CINIT_* variable is blamed on the
// variable, whichever check finds it: in a container the variable is all
// there is to look for.
func TestEnvErrorsNameTheVariable(t *testing.T) {
	dir := writeProcfile(t, "a: touch started\nb: true\n")
	for _, kv := range []string{"CINIT_PORT=70000", "CINIT_COLOR=bogus", "CINIT_FORMATION=a=x", "CINIT_CAN_DIE=nope", "CINIT_AFTER=a=nope", "CINIT_LOG_FORMAT=xml"} {
		variable, _, _ := strings.Cut(kv, "=")
		code, lines, stderr := runCinit(t, dir, []string{kv})
		if code != 2 || !strings.Contains(stderr, variable+":") || strings.Contains(stderr, "flag") || len(lines) > 0 {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s and no flag", kv, code, stderr, variable)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
		t.Error("a process started")
	}
}

func TestEnvVariableFormOfFlag(t *testing.T) {
	dir := writeProcfile(t, "a: "+helperLine("printenv PORT")+"\n")
	_, lines, _ := runCinit(t, dir, []string{"CINIT_PORT=6100", "PORT="})
	if got := linesOf(lines, "a"); len(got) == 0 || got[0] != "PORT=6100" {
		t.Fatalf("CINIT_PORT ignored: %q", got)
	}
	_, lines, _ = runCinit(t, dir, []string{"CINIT_PORT=6100", "PORT="}, "-p", "6200")
	if got := linesOf(lines, "a"); len(got) == 0 || got[0] != "PORT=6200" {
		t.Fatalf("flag did not beat CINIT_PORT: %q", got)
	}
	code, _, stderr := runCinit(t, dir, []string{"CINIT_TIMEOUT=never"})
	if code != 2 || !strings.Contains(stderr, "CINIT_TIMEOUT") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestColorAndTimestamps(t *testing.T) {
	dir := writeProcfile(t, "a: echo plain\n")
	// Not a terminal: no color, no timestamps, whatever NO_COLOR says.
	_, lines, _ := runCinit(t, dir, nil)
	if l := lines[indexOf(lines, "a", "plain")]; l != "a     | plain" {
		t.Errorf("plain line %q", l)
	}
	// --color=always beats NO_COLOR; only the prefix is colored.
	_, lines, _ = runCinit(t, dir, []string{"NO_COLOR=1"}, "--color=always", "-T")
	found := false
	for _, l := range lines {
		if strings.HasSuffix(l, " plain") && strings.Contains(l, "\x1b[") {
			found = true
			if !regexp.MustCompile(`^\d\d:\d\d:\d\d `).MatchString(l) || !strings.HasSuffix(l, "\x1b[0m plain") {
				t.Errorf("colored line %q", l)
			}
		}
	}
	if !found {
		t.Errorf("no colored line in %q", lines)
	}
	// CINIT_COLOR=always loses to --no-color.
	_, lines, _ = runCinit(t, dir, []string{"CINIT_COLOR=always"}, "--no-color")
	if strings.Contains(strings.Join(lines, "\n"), "\x1b[") {
		t.Errorf("--no-color ignored: %q", lines)
	}
}
