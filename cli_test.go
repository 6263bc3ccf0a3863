package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// flagCases gives, for every flag with an environment form, a value for the
// variable, a different one for the flag, and how to read the result.
var flagCases = []struct {
	flag, variable string
	envValue       string
	flagArgs       []string
	get            func(options) string
	wantEnv        string
	wantFlag       string
}{
	{"procfile", "CINIT_PROCFILE", "env.Procfile", []string{"-f", "flag.Procfile"}, func(o options) string { return o.procfile }, "env.Procfile", "flag.Procfile"},
	{"root", "CINIT_ROOT", "/env", []string{"--root=/flag"}, func(o options) string { return o.root }, "/env", "/flag"},
	{"env", "CINIT_ENV_FILES", "a.env,b.env", []string{"-e", "c.env", "-e", "d.env"}, func(o options) string { return strings.Join(o.envFiles, "+") }, "a.env+b.env", "c.env+d.env"},
	{"formation", "CINIT_FORMATION", "web=2", []string{"-m", "all=3"}, func(o options) string { return o.formation }, "web=2", "all=3"},
	{"port", "CINIT_PORT", "6000", []string{"-p", "7000"}, func(o options) string { return fmt.Sprint(o.port, o.portSet) }, "6000 true", "7000 true"},
	{"no-port", "CINIT_NO_PORT", "true", []string{"--no-port=false"}, func(o options) string { return fmt.Sprint(o.noPort) }, "true", "false"},
	{"timeout", "CINIT_TIMEOUT", "10", []string{"-t", "1500ms"}, func(o options) string { return o.timeout.String() }, "10s", "1.5s"},
	{"color", "CINIT_COLOR", "always", []string{"--color=never"}, func(o options) string { return o.color }, "always", "never"},
	{"timestamps", "CINIT_TIMESTAMPS", "true", []string{"-T=false"}, func(o options) string { return fmt.Sprint(o.timestamps) }, "true", "false"},
	{"log-format", "CINIT_LOG_FORMAT", "json", []string{"--log-format", "text"}, func(o options) string { return o.logFormat }, "json", "text"},
	{"instance", "CINIT_INSTANCE", "2", []string{"--instance", "3"}, func(o options) string { return fmt.Sprint(o.instance) }, "2", "3"},
	{"subreaper", "CINIT_SUBREAPER", "0", []string{"--no-subreaper=false"}, func(o options) string { return fmt.Sprint(o.wantSubreaper()) }, "false", "true"},
	{"verbose", "CINIT_VERBOSE", "1", []string{"--verbose=false"}, func(o options) string { return fmt.Sprint(o.verbose) }, "true", "false"},
	{"can-die", "CINIT_CAN_DIE", "web", []string{"-c", "worker"}, func(o options) string { return strings.Join(o.policy.canDie, "+") }, "web", "worker"},
	{"oneshot", "CINIT_ONESHOT", "init", []string{"--oneshot", "migrate"}, func(o options) string { return strings.Join(o.policy.oneshot, "+") }, "init", "migrate"},
	{"restart", "CINIT_RESTART", "all=always", []string{"-r", "web=no"}, func(o options) string { return strings.Join(o.policy.restart, "+") }, "all=always", "web=no"},
	{"stop-signal", "CINIT_STOP_SIGNAL", "web=QUIT", []string{"--stop-signal", "web=INT"}, func(o options) string { return strings.Join(o.policy.stopSignal, "+") }, "web=QUIT", "web=INT"},
	{"after", "CINIT_AFTER", "web=db", []string{"--after", "web=migrate"}, func(o options) string { return strings.Join(o.policy.after, "+") }, "web=db", "web=migrate"},
	{"ready", "CINIT_READY", "db=tcp", []string{"--ready", "db=file:/x"}, func(o options) string { return strings.Join(o.policy.ready, "+") }, "db=tcp", "db=file:/x"},
	{"ready-timeout", "CINIT_READY_TIMEOUT", "30", []string{"--ready-timeout=1m"}, func(o options) string { return o.policy.readyTimeout.String() }, "30s", "1m0s"},
	{"raw", "CINIT_RAW", "web", []string{"--raw", "api"}, func(o options) string { return strings.Join(o.policy.raw, "+") }, "web", "api"},
	{"tty", "CINIT_TTY", "web", []string{"--tty", "api"}, func(o options) string { return strings.Join(o.policy.tty, "+") }, "web", "api"},
	{"interactive", "CINIT_INTERACTIVE", "web", []string{"--interactive", "api"}, func(o options) string { return o.policy.interactive }, "web", "api"},
	{"socket", "CINIT_SOCKET", "/env.sock", []string{"--socket", "none"}, func(o options) string { return o.socket }, "/env.sock", "none"},
}

// CINIT_TIMESTAMPS: --no-timestamps beats it too (it contradicted it),
// and 0 turns timestamps off rather than leaving the terminal default.
func TestTimestampsVariable(t *testing.T) {
	for _, c := range []struct {
		value string
		args  []string
		want  string // timestamps, noTimestamps
	}{
		{"1", []string{"--no-timestamps"}, "false true"},
		{"0", nil, "false true"},
		{"1", nil, "true false"},
		{"0", []string{"-T"}, "true false"},
	} {
		inv, err := parseArgs(c.args, func(k string) string {
			if k == "CINIT_TIMESTAMPS" {
				return c.value
			}
			return ""
		})
		if got := fmt.Sprint(inv.opts.timestamps, inv.opts.noTimestamps); err != nil || got != c.want {
			t.Errorf("CINIT_TIMESTAMPS=%s %q: %s, %v; want %s", c.value, c.args, got, err, c.want)
		}
	}
}

// flagCommand returns the command line that tries flag with args: the
// default command, or for a flag that belongs to one command, that one.
func flagCommand(flag string, args []string) []string {
	if flag == "instance" {
		return append(append([]string{"run"}, args...), "web")
	}
	return args
}

// TestFlagBeatsVariable checks every flag against its environment form:
// the variable alone applies, and the flag beats it.
func TestFlagBeatsVariable(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range flagCases {
		covered[tc.flag] = true
		env := func(k string) string {
			if k == tc.variable {
				return tc.envValue
			}
			return ""
		}
		inv, err := parseArgs(flagCommand(tc.flag, nil), env)
		if err != nil || tc.get(inv.opts) != tc.wantEnv {
			t.Errorf("%s=%s: got %q, %v; want %q", tc.variable, tc.envValue, tc.get(inv.opts), err, tc.wantEnv)
		}
		inv, err = parseArgs(flagCommand(tc.flag, tc.flagArgs), env)
		if err != nil || tc.get(inv.opts) != tc.wantFlag {
			t.Errorf("%s with %s set: got %q, %v; want %q", tc.flagArgs, tc.variable, tc.get(inv.opts), err, tc.wantFlag)
		}
	}
	for _, m := range []map[string]string{envForms, policyEnv} {
		for flag := range m {
			if !covered[flag] {
				t.Errorf("flag --%s has no case here", flag)
			}
		}
	}
}

func TestParseArgsCommands(t *testing.T) {
	none := func(string) string { return "" }
	tests := []struct {
		args     []string
		cmd      string
		rest     []string
		timeout  time.Duration
		procfile string
	}{
		{nil, "start", nil, 5 * time.Second, "Procfile"},
		{[]string{"web", "worker"}, "start", []string{"web", "worker"}, 5 * time.Second, "Procfile"},
		{[]string{"-t", "2", "start", "web", "-f", "x"}, "start", []string{"web"}, 2 * time.Second, "x"},
		{[]string{"--timeout=3s", "--", "sleep", "-t", "1"}, "exec", []string{"sleep", "-t", "1"}, 3 * time.Second, "Procfile"},
		{[]string{"run", "ls", "-la"}, "run", []string{"ls", "-la"}, 5 * time.Second, "Procfile"},
		{[]string{"run", "-t", "1", "--", "ls", "-t"}, "run", []string{"ls", "-t"}, time.Second, "Procfile"},
		{[]string{"check", "-f", "p"}, "check", nil, 5 * time.Second, "p"},
		{[]string{"--version"}, "version", nil, 5 * time.Second, "Procfile"},
		{[]string{"-h"}, "help", nil, 5 * time.Second, "Procfile"},
	}
	for _, tt := range tests {
		inv, err := parseArgs(tt.args, none)
		if err != nil || inv.cmd != tt.cmd || !slices.Equal(inv.args, tt.rest) || inv.opts.timeout != tt.timeout || inv.opts.procfile != tt.procfile {
			t.Errorf("%q: got %s %q t=%v f=%s, %v", tt.args, inv.cmd, inv.args, inv.opts.timeout, inv.opts.procfile, err)
		}
	}
}

func TestParseArgsUsageErrors(t *testing.T) {
	none := func(string) string { return "" }
	for args, culprit := range map[string]string{
		"--bogus":                 "--bogus",
		"-t soon":                 "soon",
		"-t -1":                   "-1",
		"-p 70000":                "70000",
		"--color sometimes":       "sometimes",
		"--log-format yaml":       "yaml",
		"-T --no-timestamps":      "--no-timestamps",
		"run":                     "no command",
		"--":                      "no command",
		"check extra":             "extra",
		"--ready-timeout forever": "forever",
		"start --instance 2":      "--instance",
		"--instance 2 web":        "--instance",
		"status --instance 2":     "--instance",
		"check --instance 2":      "--instance",
	} {
		_, err := parseArgs(strings.Fields(args), none)
		if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), culprit) {
			t.Errorf("%q: error %v, want a usage error naming %q", args, err, culprit)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"10": 10 * time.Second, "1.5": 1500 * time.Millisecond, "1500ms": 1500 * time.Millisecond, "2m": 2 * time.Minute, "0": 0} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-1", "-5s", "1e3", "NaN", "Inf", "10 s"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
}
