package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/supervisor"
)

// defineSingleFlags adds the flags of cinit run and cinit ready.
func defineSingleFlags(fs *pflag.FlagSet, o *options) {
	fs.IntVar(&o.instance, "instance", 0, "run, ready: PORT and PS of instance N of the entry")
	fs.BoolVar(&o.wait, "wait", false, "ready: poll until the check succeeds or --timeout passes")
	fs.StringVar(&o.forName, "for", "", "ready: the Procfile entry whose environment, port and root the check uses")
}

// checkSingleFlags rejects the flags of run and ready given to other
// commands, and bad values.
func checkSingleFlags(inv *invocation) error {
	o := inv.opts
	switch {
	case (o.wait || o.forName != "") && inv.cmd != "ready":
		return usagef("flags --wait and --for belong to cinit ready")
	case o.instance > 0 && inv.cmd != "run" && inv.cmd != "ready":
		return usagef("flag --instance: needs cinit run NAME or cinit ready --for NAME")
	case inv.cmd == "ready" && len(inv.args) != 1:
		return usagef("ready: want one CHECK (tcp:PORT, http:URL, exec:COMMAND or file:PATH), got %d arguments", len(inv.args))
	case inv.cmd == "ready" && o.instance > 0 && o.forName == "":
		return usagef("flag --instance: needs --for NAME")
	case inv.cmd == "ready" && o.forName == "":
		return entryFlagsNeedFor(inv.given)
	}
	return nil
}

// entryFlagsNeedFor refuses the flags that describe the Procfile's
// entries when cinit ready has no --for NAME: the check then runs in the
// current environment and directory, and such a flag would be ignored.
// Their CINIT_* forms are left alone: a container sets them for
// everything.
func entryFlagsNeedFor(given []string) error {
	for _, name := range given {
		if _, policy := policyEnv[name]; policy || slices.Contains([]string{"procfile", "root", "env", "formation", "port", "no-port"}, name) {
			return usagef("flag --%s: cinit ready takes it with --for NAME only (without, the check runs in the current environment)", name)
		}
	}
	return nil
}

// ready runs one readiness check (cinit ready), or polls it with --wait,
// and returns 0 when it succeeded, 1 when not, 2 for a usage or
// configuration error. It is what probes, healthchecks, init containers
// and ExecStartPost= lines of an export run.
func ready(inv invocation) int {
	c, err := parseCheck(inv.args[0])
	if err != nil {
		return fail(usagef("ready: %v", err))
	}
	t, err := readyTarget(inv.opts, os.Environ())
	if err != nil {
		return fail(err)
	}
	r, err := reaper.New(inv.opts.wantSubreaper())
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	t.Exits = r.Exits()
	if c.Kind == "tcp" && c.Target == "" && t.Port == 0 {
		return fail(usagef("ready: %s has no port: give tcp:PORT, or --for NAME of an entry with a PORT", inv.args[0]))
	}
	stop, caught := stopOnSignal()
	t.Stop = stop
	var ok bool
	if inv.opts.wait {
		ok = supervisor.Await(c, t, inv.opts.checkTimeout)
	} else {
		ok = supervisor.Probe(c, t, inv.opts.checkTimeout)
	}
	switch sig := caught(); {
	case sig != 0:
		return 128 + int(sig)
	case !ok:
		return 1
	}
	return 0
}

// stopOnSignal closes the returned channel at the first TERM, INT or HUP,
// so that an exec check in flight is killed and reaped rather than left
// running (a caller's timeout, ^C); caught returns that signal, or 0.
// SIGKILL cannot be caught: a check left by it runs on (hence
// --timeout, below the caller's).
func stopOnSignal() (<-chan struct{}, func() syscall.Signal) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	stop := make(chan struct{})
	var got atomic.Int32
	go func() {
		got.Store(int32((<-sigs).(syscall.Signal)))
		close(stop)
	}()
	return stop, func() syscall.Signal { return syscall.Signal(got.Load()) }
}

// readyTarget settles the port, environment and directory of the check:
// with --for NAME those cinit run NAME would give the entry (the env files,
// PORT and PS of its instance, the root); without, the inherited
// environment and its PORT, in the current directory.
func readyTarget(o options, environ []string) (supervisor.Target, error) {
	t := supervisor.Target{Env: environ}
	if o.forName == "" {
		if v, ok := lookup(environ, "PORT"); ok {
			t.Port, _ = strconv.Atoi(v)
		}
		return t, nil
	}
	o = procfileOfInit(o)
	cfg, err := singleConfig(invocation{cmd: "run", args: []string{o.forName}, opts: o}, environ)
	if err != nil {
		return t, err
	}
	if cfg.Shell == "" {
		return t, usagef("flag --for: unknown process %q in %s", o.forName, o.procfile)
	}
	t.Env, t.Dir = cfg.Env, cfg.Dir
	if v, ok := lookup(cfg.Env, "PORT"); ok && !o.noPort {
		t.Port, _ = strconv.Atoi(v)
	}
	return t, nil
}

// procfileOfInit points o at the Procfile of the cinit that is PID 1 when
// neither -f nor -d says where it is and the current directory has none:
// a Kubernetes exec probe may run in /, not in the container's working
// directory.
func procfileOfInit(o options) options {
	if o.root != "" || o.procfile != "Procfile" {
		return o
	}
	if _, err := os.Stat(o.procfile); !errors.Is(err, fs.ErrNotExist) {
		return o
	}
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "cinit" {
		return o
	}
	if dir, err := os.Readlink("/proc/1/cwd"); err == nil {
		o.procfile = filepath.Join(dir, "Procfile")
	}
	return o
}

// entryInstance returns the instance number run and ready use, 1 unless
// --instance says otherwise.
func entryInstance(o options) int {
	if o.instance > 0 {
		return o.instance
	}
	return 1
}
