package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/supervisor"
)

// single runs one command as init (cinit -- CMD, cinit run; README,
// "Single-command mode")
// and returns the status cinit exits with.
func single(inv invocation) int {
	sigs, r, err := subscribe(true, inv.opts)
	if err != nil {
		return fail(err)
	}
	cfg, err := singleConfig(inv, os.Environ())
	if err != nil {
		return fail(err)
	}
	cfg.NoSubreaper = !r.Subreaper()
	return supervisor.RunSingle(cfg, r.Exits(), sigs)
}

// singleConfig settles what single runs. `run NAME`, when NAME is the only
// argument and a Procfile entry, runs that entry's command through the shell
// with its PORT and PS; otherwise the arguments are the command (foreman's
// rule), run directly. `cinit -- CMD` always takes CMD as the command.
// environ is cinit's inherited environment, which wins over the env files.
func singleConfig(inv invocation, environ []string) (supervisor.SingleConfig, error) {
	o := inv.opts
	p, fileEnv, err := singlePlan(o, inv.cmd == "run", inv.cmd == "run" && len(inv.args) == 1)
	if err != nil {
		return supervisor.SingleConfig{}, err
	}
	if o.verbose {
		warn(p.warnings)
	}
	cfg := supervisor.SingleConfig{
		Argv:    inv.args,
		Env:     mergeEnv(fileEnv, environ),
		Dir:     p.dir,
		Grace:   o.timeout,
		Stderr:  os.Stderr,
		Verbose: o.verbose,
		Init:    reaper.IsInit(),
	}
	if inv.cmd == "run" && len(inv.args) == 1 {
		for i, e := range p.entries {
			if e.Name == inv.args[0] {
				return entryConfig(cfg, o, p, i, environ, fileEnv)
			}
		}
	}
	if o.instance > 0 {
		return cfg, usagef("flag --instance: needs cinit run NAME with NAME a Procfile entry")
	}
	return cfg, nil
}

// entryConfig turns cfg into a run of the index-th entry of p's Procfile:
// its command through the shell, with the PORT and PS of its instance
// (the first, or --instance; README, "Environment") and its --stop-signal. The
// policy flags are checked as cinit start checks them.
func entryConfig(cfg supervisor.SingleConfig, o options, p *plan, index int, environ []string, fileEnv map[string]string) (supervisor.SingleConfig, error) {
	e := p.entries[index]
	base, from, err := basePortFrom(o, p.dir, environ, fileEnv)
	if err != nil {
		return cfg, configError{err}
	}
	policies, err := entryPolicies(o, p.entries)
	if err != nil {
		return cfg, err
	}
	n := entryInstance(o)
	cfg.Name, cfg.Argv, cfg.Shell = e.Name, nil, e.Command
	cfg.StopSignal = policies[e.Name].StopSignal
	if !o.noPort {
		in := procfile.Instance{Name: e.Name + "." + strconv.Itoa(n), Port: base + 100*index + n - 1}
		if err := checkPorts([]procfile.Instance{in}, base, from); err != nil {
			return cfg, err
		}
		cfg.Env = setEnv(cfg.Env, "PORT", strconv.Itoa(in.Port))
	}
	cfg.Env = setEnv(cfg.Env, "PS", e.Name+"."+strconv.Itoa(n))
	return cfg, nil
}

// entryPolicies validates the policy flags and the formation for a run of
// one entry, every type counting as started (the formation does not apply
// to cinit run).
func entryPolicies(o options, entries []procfile.Entry) (map[string]supervisor.Policy, error) {
	all, err := procfile.Instances(entries, procfile.Formation{Default: 1}, 0, nil)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	// The formation does not apply, but a bad one is as wrong here.
	if _, err := parseFormation(o, entries); err != nil {
		return nil, err
	}
	return buildPolicies(o.policy, entries, all)
}

// singlePlan reads what single-command mode takes from the Procfile: its
// entries (only for `run`, which may name one), the root directory and the
// env files. A missing Procfile is no error here (then only the -e files
// are read, and the command runs in -d, or in cinit's own directory),
// unless named is set (`run` of one word, which may name an entry) and
// -f or CINIT_PROCFILE said where the Procfile is.
// `cinit -- CMD` never reads the entries, so a Procfile it does not use
// cannot stop it.
func singlePlan(o options, entries, named bool) (*plan, map[string]string, error) {
	p := &plan{}
	if _, err := os.Stat(o.procfile); errors.Is(err, fs.ErrNotExist) {
		if named && o.procfileSet {
			// cinit run NAME would run NAME as a command: "not found".
			return nil, nil, configError{fmt.Errorf("%s: no such Procfile (named by -f/--procfile or CINIT_PROCFILE)", o.procfile)}
		}
		p.dir = o.root
		if err := checkDir(p.dir); err != nil {
			return nil, nil, configError{err}
		}
		fileEnv, err := procfile.ReadEnv(o.envFiles...)
		if err != nil {
			return nil, nil, configError{err}
		}
		return p, fileEnv, nil
	}
	if entries {
		if err := p.readProcfile(o); err != nil {
			return nil, nil, configError{err}
		}
	} else if p.dir = o.root; p.dir == "" {
		p.dir = filepath.Dir(o.procfile)
	} else if err := checkDir(p.dir); err != nil {
		return nil, nil, configError{err}
	}
	fileEnv, err := readEnvFiles(o, p.dir)
	if err != nil {
		return nil, nil, configError{err}
	}
	return p, fileEnv, nil
}

// checkDir checks that dir, when given, is a directory.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("root directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("root directory %s: not a directory", dir)
	}
	return nil
}

// setEnv returns env with key set to value, replacing any earlier value.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
