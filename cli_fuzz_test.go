package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/supervisor"
)

// Fuzz targets for the parsers of flag values: durations (-t,
// --ready-timeout), the policy lists (README, "Process policies") and the
// whole command line with its CINIT_* environment. Their seed corpora live
// in testdata/fuzz/ and run with every go test; `make fuzz` runs them for
// FUZZTIME each.

// FuzzParseDuration checks that parseDuration never returns a negative
// duration, and that every duration it returns reads back the same from
// its printed form, so that what cinit shows of a timeout is what it uses.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10", "1.5", "1500ms", "2m", "0", "-1", "1e3", "NaN", "Inf", "0x1p-2",
		"1000000000", "1000000001", "9223372036s", "9223372037s", "-0", ".5", "5.", "1h2m3.5s", "", " 1", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("parseDuration(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("parseDuration(%q) = %v, negative", s, d)
		}
		back, err := parseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("parseDuration(%q) = %v, which reads back as %v, %v", s, d, back, err)
		}
	})
}

// fuzzEntries is the Procfile the policy fuzz target validates against;
// clock is not started.
var fuzzEntries = []procfile.Entry{{Name: "web", Command: "w", Line: 1}, {Name: "worker", Command: "k", Line: 2},
	{Name: "clock", Command: "c", Line: 3}, {Name: "-x", Command: "x", Line: 4}}

// FuzzPolicyFlags feeds one value to each policy flag. Whatever the
// values, buildPolicies returns either a usage error naming the flag, or
// policies that only name known types, depend only on started types,
// hold valid checks and signals, and have no dependency cycle.
func FuzzPolicyFlags(f *testing.F) {
	f.Add("web", "", "web=always", "web=QUIT", "worker=web", "web=tcp:5000", "")
	f.Add("web,worker", "worker", "all=on-failure,web=no", "all=15,web=SIGHUP", "web=worker+-x", "web=http:http://h/a?b=1,c=2", "-x")
	f.Add("all", "clock", "web=sometimes", "web=SIGNOPE", "web=clock", "web=exec:", "nope")
	f.Add("", "", "=always", "web", "web=worker,worker=web", "web=file:/tmp/x,worker=exec:test -f a,b=1", " web , worker ")
	f.Add(",", "all,", "web=always,,worker=no", "web=99", "web=web", "web=tcp:h:p", "all")
	f.Fuzz(func(t *testing.T, canDie, oneshot, restart, stopSignal, after, ready, raw string) {
		flags := policyFlags{
			canDie: fuzzList(canDie), oneshot: fuzzList(oneshot), restart: fuzzList(restart),
			stopSignal: fuzzList(stopSignal), after: fuzzList(after), ready: fuzzList(ready), raw: fuzzList(raw),
		}
		for _, v := range []string{restart, stopSignal, after, ready} {
			if got := strings.Join(splitPairs([]string{v}), ","); got != v {
				t.Fatalf("splitPairs(%q) joined back is %q", v, got)
			}
		}
		instances, err := procfile.Instances(fuzzEntries, procfile.Formation{Default: 1, Counts: map[string]int{"clock": 0}}, 5000, nil)
		if err != nil {
			t.Fatal(err)
		}
		policies, err := buildPolicies(flags, fuzzEntries, instances)
		if err != nil {
			checkUsageError(t, err, "flag --")
			return
		}
		checkPolicies(t, policies)
	})
}

// fuzzList makes a repeatable flag's values: none for "", else one value.
func fuzzList(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// checkUsageError fails t unless err is a one-line usage error (exit 2)
// whose message starts with prefix.
func checkUsageError(t *testing.T, err error, prefix string) {
	t.Helper()
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("error %q is a %T, not a usage error", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error %q: want one line starting with %q", msg, prefix)
	}
}

// checkPolicies fails t if a policy breaks the contract of buildPolicies.
func checkPolicies(t *testing.T, policies map[string]supervisor.Policy) {
	t.Helper()
	started := []string{"web", "worker", "-x"}
	for name, p := range policies {
		if !slices.ContainsFunc(fuzzEntries, func(e procfile.Entry) bool { return e.Name == name }) {
			t.Fatalf("policy for unknown type %q", name)
		}
		for _, d := range p.After {
			if !slices.Contains(started, d) {
				t.Fatalf("%s starts after %q, which does not run", name, d)
			}
		}
		if p.StopSignal < 0 || p.StopSignal > 64 {
			t.Fatalf("%s: stop signal %d", name, p.StopSignal)
		}
		if k := p.Ready.Kind; k != "" && !slices.Contains([]string{"tcp", "http", "exec", "file"}, k) {
			t.Fatalf("%s: check kind %q", name, k)
		}
	}
	if hasCycle(policies) {
		t.Fatalf("dependency cycle accepted: %+v", policies)
	}
}

// hasCycle reports whether the After relation of policies has a cycle, by
// peeling off types without dependencies left.
func hasCycle(policies map[string]supervisor.Policy) bool {
	left := map[string][]string{}
	for name, p := range policies {
		left[name] = p.After
	}
	for progress := true; progress; {
		progress = false
		for name, deps := range left {
			if !slices.ContainsFunc(deps, func(d string) bool { _, ok := left[d]; return ok }) {
				delete(left, name)
				progress = true
			}
		}
	}
	return len(left) > 0
}

// FuzzParseArgs runs the whole command line parser on arguments (one per
// line of args) and a CINIT_* environment (NAME=VALUE lines of env). It
// either fails with a one-line usage error, which is exit 2 with nothing
// started, or returns an invocation that the commands can run.
func FuzzParseArgs(f *testing.F) {
	f.Add("start\n-m\nweb=2\n-t\n1.5", "CINIT_TIMEOUT=3")
	f.Add("--\nsleep\n1", "")
	f.Add("run\nweb\n--port=0", "CINIT_COLOR=always")
	f.Add("check\nextra", "CINIT_READY_TIMEOUT=-1")
	f.Add("-tx", "CINIT_PORT=70000")
	f.Add("--restart\nweb=always\nstart\nweb\n-e\na.env,b.env", "CINIT_RAW=web\nCINIT_NO_PORT=maybe")
	f.Add("version\n--help", "CINIT_LOG_FORMAT=yaml")
	f.Add("-T\n--no-timestamps", "")
	f.Add("--bogus\x00", "CINIT_TIMESTAMPS=1")
	f.Add("run", "")
	f.Add("-", "CINIT_ENV_FILES=,")
	f.Fuzz(func(t *testing.T, args, env string) {
		vars := map[string]string{}
		for _, kv := range strings.Split(env, "\n") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				vars[k] = v
			}
		}
		var list []string
		if args != "" {
			list = strings.Split(args, "\n")
		}
		inv, err := parseArgs(list, func(k string) string { return vars[k] })
		if err != nil {
			checkUsageError(t, err, "")
			return
		}
		checkInvocation(t, inv)
	})
}

// checkInvocation fails t if a parsed command line could not be run as it
// is.
func checkInvocation(t *testing.T, inv invocation) {
	t.Helper()
	o := inv.opts
	switch inv.cmd {
	case "start":
	case "run", "exec":
		if len(inv.args) == 0 {
			t.Fatalf("%s without a command", inv.cmd)
		}
	case "check", "version", "help":
		if len(inv.args) > 0 {
			t.Fatalf("%s with arguments %q", inv.cmd, inv.args)
		}
	default:
		t.Fatalf("unknown command %q", inv.cmd)
	}
	if o.timeout < 0 || o.policy.readyTimeout < 0 {
		t.Fatalf("negative duration: timeout %v, ready timeout %v", o.timeout, o.policy.readyTimeout)
	}
	if o.portSet && (o.port < 1 || o.port > 65535) {
		t.Fatalf("port %d accepted", o.port)
	}
	if !slices.Contains([]string{"auto", "always", "never"}, o.color) || (o.logFormat != "text" && o.logFormat != "json") {
		t.Fatalf("color %q, log format %q accepted", o.color, o.logFormat)
	}
}
