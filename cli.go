package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"
)

// options holds every flag after the environment forms were applied.
type options struct {
	procfile     string
	root         string
	envFiles     []string
	formation    string
	port         int
	portSet      bool
	procfileSet  bool // -f or CINIT_PROCFILE named the Procfile
	noPort       bool
	timeout      time.Duration
	color        string
	noColor      bool
	timestamps   bool
	noTimestamps bool
	logFormat    string
	verbose      bool
	subreaper    bool // CINIT_SUBREAPER; see platform.go
	noSubreaper  bool
	help         bool
	version      bool
	policy       policyFlags
	instance     int           // run, ready: the instance of the entry (1 when 0)
	wait         bool          // ready: poll until success
	forName      string        // ready: the entry whose env, port and root the check uses
	checkTimeout time.Duration // ready: --timeout as given on the command line, 0 if not
	export       exportFlags
	socket       string // control socket: a path, "none", or "" for the default
}

// invocation is a parsed command line.
type invocation struct {
	cmd   string   // start, run, exec (cinit -- CMD), check, version, help
	args  []string // process names (start), or the command (run, exec)
	opts  options
	given []string // the flags on the command line (not from CINIT_*)
}

// usageError is a bad command line or flag value: exit 2, one line naming
// the culprit.
type usageError struct{ msg string }

// Error returns the one-line message.
func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{oneLine(fmt.Sprintf(format, a...))} }

// oneLine escapes control characters, so that a message quoting a bad
// argument stays one line on a terminal.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return unicode.IsControl(r) }

// subcommands are the words that select a command.
var subcommands = []string{"start", "run", "check", "ready", "export", "version", "help"}

// envForms maps each flag to its environment variable (README, "Flags").
var envForms = map[string]string{
	"procfile":   "CINIT_PROCFILE",
	"root":       "CINIT_ROOT",
	"env":        "CINIT_ENV_FILES",
	"formation":  "CINIT_FORMATION",
	"port":       "CINIT_PORT",
	"no-port":    "CINIT_NO_PORT",
	"timeout":    "CINIT_TIMEOUT",
	"color":      "CINIT_COLOR",
	"timestamps": "CINIT_TIMESTAMPS",
	"log-format": "CINIT_LOG_FORMAT",
	"verbose":    "CINIT_VERBOSE",
	"subreaper":  "CINIT_SUBREAPER",
	"instance":   "CINIT_INSTANCE",
	"socket":     "CINIT_SOCKET",
}

// newFlagSet defines every flag of cinit on o.
func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("cinit", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.StringVarP(&o.procfile, "procfile", "f", "Procfile", "the Procfile")
	fs.StringVarP(&o.root, "root", "d", "", "working directory of the children (default: the Procfile's directory)")
	fs.StringSliceVarP(&o.envFiles, "env", "e", nil, "env files, applied in order (default: .env in the root)")
	fs.StringVarP(&o.formation, "formation", "m", "", "instances per type: NAME=N[,...], all=N sets the default")
	fs.IntVarP(&o.port, "port", "p", 0, "base port (default: $PORT, else .env PORT, else 5000)")
	fs.BoolVarP(&o.noPort, "no-port", "N", false, "do not set PORT")
	fs.VarP((*durationValue)(&o.timeout), "timeout", "t", "grace period before SIGKILL (a bare number is seconds)")
	fs.StringVar(&o.color, "color", "auto", "color of the prefix: auto, always or never")
	fs.BoolVar(&o.noColor, "no-color", false, "the same as --color=never")
	fs.BoolVarP(&o.timestamps, "timestamps", "T", false, "print HH:MM:SS before each line")
	fs.BoolVar(&o.noTimestamps, "no-timestamps", false, "never print timestamps")
	fs.StringVar(&o.logFormat, "log-format", "text", "output format: text or json")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "single-command mode: print cinit's own messages on stderr")
	definePolicyFlags(fs, &o.policy)
	defineSingleFlags(fs, o)
	defineExportFlags(fs, &o.export)
	definePlatformFlags(fs, o)
	fs.StringVar(&o.socket, "socket", "", "control socket path, or none (default: see README \"Control\")")
	fs.BoolVarP(&o.help, "help", "h", false, "print usage")
	fs.BoolVar(&o.version, "version", false, "print the version")
	o.timeout = 5 * time.Second
	return fs
}

// parseArgs reads the command line and the CINIT_* environment (getenv).
// Flags may come before and after the subcommand; a flag beats its
// environment variable.
func parseArgs(args []string, getenv func(string) string) (invocation, error) {
	var inv invocation
	fs := newFlagSet(&inv.opts)
	fs.SetInterspersed(false)
	if err := fs.Parse(args); err != nil {
		return inv, usagef("%v", err)
	}
	rest := fs.Args()
	dashed := fs.ArgsLenAtDash() == 0
	inv.cmd = "start"
	switch {
	case dashed:
		inv.cmd = "exec"
	case len(rest) > 0 && slices.Contains(subcommands, rest[0]):
		inv.cmd = rest[0]
		fs.SetInterspersed(inv.cmd != "run")
		if err := fs.Parse(rest[1:]); err != nil {
			return inv, usagef("%v", err)
		}
		rest = fs.Args()
	default:
		fs.SetInterspersed(true)
		if err := fs.Parse(rest); err != nil {
			return inv, usagef("%v", err)
		}
		rest = fs.Args()
	}
	inv.args = rest
	fs.Visit(func(f *pflag.Flag) { inv.given = append(inv.given, f.Name) })
	if fs.Changed("timeout") {
		inv.opts.checkTimeout = inv.opts.timeout // ready: never CINIT_TIMEOUT
	}
	if err := applyEnv(fs, getenv); err != nil {
		return inv, err
	}
	return inv, finish(&inv, fs)
}

// fromEnv rewrites the messages of fail that name a flag whose value came
// from its CINIT_* variable, so that they name the variable: in a
// container the variable is all there is. parseArgs sets it, once per
// command line, before anything else runs.
var fromEnv *strings.Replacer

// applyEnv sets every flag that was not given from its CINIT_* variable.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var blame []string
	defer func() { fromEnv = strings.NewReplacer(blame...) }()
	forms := map[string]string{}
	for _, m := range []map[string]string{envForms, policyEnv} {
		for flag, variable := range m {
			forms[flag] = variable
		}
	}
	for flag, variable := range forms {
		v := getenv(variable)
		if v == "" || fs.Changed(flag) || flag == "timestamps" && fs.Changed("no-timestamps") {
			continue
		}
		if err := fs.Set(flag, v); err != nil {
			return usagef("bad value %q in %s: %v", v, variable, unwrapFlagErr(err))
		}
		blame = append(blame, "flag --"+flag+":", variable+":")
		if sh := fs.Lookup(flag).Shorthand; sh != "" {
			blame = append(blame, "flag -"+sh+"/--"+flag+":", variable+":")
		}
		if flag == "timestamps" && fs.Lookup(flag).Value.String() == "false" {
			fs.Set("no-timestamps", "true") // off, not the default (on a terminal)
		}
	}
	return nil
}

// finish checks the values that pflag cannot and settles the commands
// given as flags.
func finish(inv *invocation, fs *pflag.FlagSet) error {
	o := &inv.opts
	o.portSet = fs.Changed("port")
	o.procfileSet = fs.Changed("procfile")
	settlePlatformFlags(o, fs)
	switch {
	case o.help:
		inv.cmd = "help"
	case o.version:
		inv.cmd = "version"
	}
	if o.portSet && (o.port < 1 || o.port > 65535) {
		return usagef("bad value %d for flag -p/--port: not a port number", o.port)
	}
	if fs.Changed("instance") && o.instance < 1 {
		return usagef("bad value %d for flag --instance: want 1 or more", o.instance)
	}
	if fs.Changed("env") && (len(o.envFiles) == 0 || slices.Contains(o.envFiles, "")) {
		return usagef("bad value for flag -e/--env: an empty file name (%q)", strings.Join(o.envFiles, ","))
	}
	if !slices.Contains([]string{"auto", "always", "never"}, o.color) {
		return usagef("bad value %q for flag --color: want auto, always or never", o.color)
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return usagef("bad value %q for flag --log-format: want text or json", o.logFormat)
	}
	if o.timestamps && o.noTimestamps {
		return usagef("flags -T/--timestamps and --no-timestamps contradict each other")
	}
	return checkArgs(inv)
}

// checkArgs checks the positional arguments of each command.
func checkArgs(inv *invocation) error {
	switch inv.cmd {
	case "run", "exec":
		if len(inv.args) == 0 {
			return usagef("%s: no command given", map[string]string{"run": "run", "exec": "--"}[inv.cmd])
		}
	case "check", "version", "help":
		if len(inv.args) > 0 {
			return usagef("%s: unexpected argument %q", inv.cmd, inv.args[0])
		}
	}
	if err := checkExportArgs(inv); err != nil {
		return err
	}
	return checkSingleFlags(inv)
}

// unwrapFlagErr shortens pflag's messages about a value.
func unwrapFlagErr(err error) string {
	var u interface{ Unwrap() error }
	if errors.As(err, &u) && u.Unwrap() != nil {
		return u.Unwrap().Error()
	}
	return err.Error()
}

// durationValue is a pflag.Value for -t: a Go duration, or a bare number
// of seconds.
type durationValue time.Duration

// String shows the duration the Go way ("1.5s").
func (d *durationValue) String() string { return time.Duration(*d).String() }

// Type names the value in pflag's messages.
func (d *durationValue) Type() string { return "duration" }

// Set parses "10", "2.5", "1500ms" or "2m".
func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// parseDuration reads a non-negative duration where a bare number means
// seconds.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "eEnNiI") {
		if f < 0 || f > 1e9 {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. 10, 1500ms or 2m)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return v, nil
}

// discard swallows pflag's own printing: cinit prints its errors itself.
type discard struct{}

// Write drops p.
func (discard) Write(p []byte) (int, error) { return len(p), nil }

// usage is the text of cinit help.
const usage = `cinit: a container init that runs a Procfile

Usage:
  cinit [start] [FLAGS] [NAME...]          run the Procfile (the default)
  cinit run [FLAGS] NAME                   run one Procfile entry alone, as init
  cinit run [FLAGS] [--] COMMAND [ARG...]  run a command with the Procfile's env, as init
  cinit [FLAGS] -- COMMAND [ARG...]        the same as run --: a drop-in for tini --
  cinit check [FLAGS]                      validate the Procfile and env files
  cinit ready [--wait] [--timeout D] [--for NAME] CHECK
                                           run one readiness check: exit 0 ready, 1 not
  cinit export kubernetes|compose|systemd [DIR|-] [FLAGS]
                                           write manifests that run each type with cinit run
  cinit version                            print the version
  cinit help                               print this text

Control of a running cinit start (flags after the command; exit 0 done,
1 failed, 2 usage, 3 status: not up, 4 no such process, 7 cinit unreachable):
  cinit status|ps [--json] [NAME...]               state of each process
  cinit restart [--no-wait] [--timeout D] NAME...|all  restart, wait until ready
  cinit stop [--no-wait] NAME...|all               stop; cinit keeps running
  cinit kill [-s SIGNAL] NAME...|all               signal the process groups
  cinit logs [-f] [-n N] [--json] [NAME...]        recent output; -f follows
  cinit probe [--live] [--timeout D] [-q] [NAME...] health check: exits 0 or 1
  cinit quit                                       stop everything (as SIGTERM)
  cinit attach [--detach-keys KEYS] NAME           type into a --tty process; ctrl-\ detaches
  Each takes --socket PATH, --procfile PATH and -d/--root DIR to find cinit.

Flags (each also as an environment variable, which a flag beats):
  -f, --procfile PATH       the Procfile (CINIT_PROCFILE; default Procfile)
  -d, --root DIR            children's working directory (CINIT_ROOT; default the Procfile's directory)
  -e, --env FILE[,FILE]     env files, later wins (CINIT_ENV_FILES; default .env in the root)
  -m, --formation N=C[,..]  instances per type, all=N the default (CINIT_FORMATION)
  -p, --port N              base port (CINIT_PORT; default $PORT, .env PORT, 5000)
  -N, --no-port             do not set PORT (CINIT_NO_PORT)
  -t, --timeout DURATION    grace period before SIGKILL (CINIT_TIMEOUT; default 5s)
      --color WHEN          auto, always or never (CINIT_COLOR, NO_COLOR)
      --no-color            the same as --color=never
  -T, --timestamps          HH:MM:SS before each line (CINIT_TIMESTAMPS; default on a terminal)
      --no-timestamps       never print timestamps
      --log-format FORMAT   text or json (CINIT_LOG_FORMAT)
  -v, --verbose             single-command mode: cinit's own messages on stderr (CINIT_VERBOSE)
      --instance N          run, ready: PORT and PS of instance N of the entry (CINIT_INSTANCE)
      --no-subreaper        leave orphans to the real init (CINIT_SUBREAPER=0)
      --socket PATH|none    the control socket (CINIT_SOCKET; default under /run/cinit or the like)

Export (cinit export; see README "Outgrowing one container"):
  -a, --app NAME            application name (default: the root directory's name)
      --image REF           the image holding cinit and the Procfile (kubernetes, compose)
      --layout LAYOUT       split (a workload per type, default) or single (cinit start)
      --cinit PATH          cinit in the image (default cinit) or on the host (/usr/local/bin/cinit)
      --workdir DIR         the image directory holding the Procfile
      --namespace NS        Kubernetes namespace
      --env-from FROM       secret (env files travel as a secret) or image (the image's .env)
      --user USER           systemd User= (default: root, with a warning)
      --strict              any warning is exit 1, nothing written
      --force               overwrite files cinit export did not write

Process policies (lists: NAME=VALUE[,...] with all= as the default, or NAMES):
  -c, --can-die NAMES          their end does not stop the rest (CINIT_CAN_DIE)
      --oneshot NAMES          run to completion; exit 0 is success (CINIT_ONESHOT)
  -r, --restart NAME=POLICY    no, on-failure or always, with backoff (CINIT_RESTART)
      --stop-signal NAME=SIG   the signal NAME gets at teardown (CINIT_STOP_SIGNAL)
      --after NAME=DEP[+DEP]   start NAME when every DEP is ready (CINIT_AFTER)
      --ready NAME=CHECK       tcp:PORT, http:URL, exec:CMD or file:PATH (CINIT_READY)
      --ready-timeout DURATION how long readiness may take; 0 waits forever (CINIT_READY_TIMEOUT)
      --raw NAMES              print their lines without prefix (CINIT_RAW)
      --tty NAMES              a pseudo-terminal each, for cinit attach (CINIT_TTY)
      --interactive NAME       NAME gets cinit's own terminal (CINIT_INTERACTIVE)

Exit status: the first exited process's code (128+N for signal N); 0 after a
clean stop; 137 when SIGKILL was needed; 2 for a usage or configuration error.
`

// printUsage writes the usage text to stdout.
func printUsage() { fmt.Fprint(os.Stdout, usage) }
