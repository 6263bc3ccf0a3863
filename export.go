package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cinit/cinit/export"
	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/signals"
	"github.com/cinit/cinit/supervisor"
)

// exportFlags are the flags of cinit export (README "Outgrowing one
// container").
type exportFlags struct {
	app, image, layout, cinit, workdir, namespace, envFrom, user string
	strict, force                                                bool
}

// defineExportFlags adds the flags of cinit export.
func defineExportFlags(fs *pflag.FlagSet, e *exportFlags) {
	fs.StringVarP(&e.app, "app", "a", "", "export: application name (default: the root directory's name)")
	fs.StringVar(&e.image, "image", "", "export: the image holding cinit and the Procfile (kubernetes, compose)")
	fs.StringVar(&e.layout, "layout", "split", "export: split (a workload per type) or single (cinit start)")
	fs.StringVar(&e.cinit, "cinit", "", "export: path of cinit in the image or on the host")
	fs.StringVar(&e.workdir, "workdir", "", "export: the image directory holding the Procfile")
	fs.StringVar(&e.namespace, "namespace", "", "export: Kubernetes namespace")
	fs.StringVar(&e.envFrom, "env-from", "", "export: secret (env files as a secret) or image (the image's .env)")
	fs.StringVar(&e.user, "user", "", "export: systemd User=")
	fs.BoolVar(&e.strict, "strict", false, "export: any warning is exit 1, nothing written")
	fs.BoolVar(&e.force, "force", false, "export: overwrite files cinit export did not write")
}

// checkExportArgs checks the arguments of cinit export, and that its flags
// are not given to another command.
func checkExportArgs(inv *invocation) error {
	if inv.cmd != "export" {
		if inv.opts.export != (exportFlags{layout: "split"}) {
			return usagef("flags -a/--app, --image, --layout, --cinit, --workdir, --namespace, --env-from, --user, --strict and --force belong to cinit export")
		}
		return nil
	}
	switch len(inv.args) {
	case 0:
		return usagef("export: want a format: kubernetes, compose or systemd")
	case 1, 2:
		return nil
	}
	return usagef("export: unexpected argument %q", inv.args[2])
}

// exportCmd writes the manifests of cinit export and returns the exit
// status: 0 written, 1 warnings under --strict (or an I/O failure), 2 for
// a usage or configuration error; on 1 and 2 nothing was written.
func exportCmd(inv invocation) int {
	o, e := inv.opts, inv.opts.export
	dest := "."
	if len(inv.args) == 2 {
		dest = inv.args[1]
	}
	in, err := exportInput(o, e.layout)
	if err != nil {
		return fail(err)
	}
	res, err := export.Render(in, export.Options{Format: inv.args[0], App: e.app, Image: e.image, Layout: e.layout,
		Cinit: e.cinit, Workdir: e.workdir, Namespace: e.namespace, EnvFrom: e.envFrom, User: e.user, Dir: dest})
	if err != nil {
		return fail(usageError{oneLine(err.Error())})
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(os.Stderr, "cinit: export: warning:", w)
	}
	if e.strict && len(res.Warnings) > 0 {
		fmt.Fprintln(os.Stderr, "cinit: export: --strict: nothing written")
		return 1
	}
	if dest == "-" {
		os.Stdout.Write(export.Stdout(inv.args[0], res))
	} else if code := writeExport(dest, res, e.force); code != 0 {
		return code
	}
	for _, n := range res.Notes {
		fmt.Fprintln(os.Stderr, "cinit: export:", n)
	}
	return 0
}

// writeExport writes the files into dir and says what changed.
func writeExport(dir string, res *export.Result, force bool) int {
	rep, err := export.Write(dir, res, force)
	for _, p := range rep.Written {
		fmt.Fprintln(os.Stderr, "cinit: export: wrote", p)
	}
	for _, p := range rep.Removed {
		fmt.Fprintln(os.Stderr, "cinit: export: removed stale", p)
	}
	var ee export.Error
	if errors.As(err, &ee) {
		return fail(usageError{oneLine(err.Error())})
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// dropTerminals leaves --tty and --interactive out of an export, with a
// warning each: a terminal is for a person at a laptop, and a workload
// runs without one.
func dropTerminals(p *plan) {
	for _, name := range slices.Sorted(maps.Keys(p.policies)) {
		pol := p.policies[name]
		if pol.TTY {
			p.warnings = append(p.warnings, "flag --tty: not exported: "+name+" runs without a pseudo-terminal (and cinit attach) there")
		}
		if pol.Interactive {
			p.warnings = append(p.warnings, "flag --interactive: not exported: "+name+" runs without a terminal there")
		}
		pol.TTY, pol.Interactive = false, false
		if p.policies[name] = pol; reflect.DeepEqual(pol, supervisor.Policy{}) {
			delete(p.policies, name) // as if never given: start reads back none
		}
	}
}

// portFromEnvFile refuses a base port that only an env file gives: the
// ports go into the manifests, and no env-file value may.
func portFromEnvFile(o options, p *plan) error {
	if o.portSet || o.noPort || !slices.ContainsFunc(p.env, func(kv string) bool { return strings.HasPrefix(kv, "PORT=") && kv != "PORT=" }) {
		return nil
	}
	at := procfile.Where("PORT", envPaths(o, p.dir)...)
	return usagef("PORT at %s sets the ports of the manifests, and no env-file value goes into one: give it with -p/--port (CINIT_PORT)", at)
}

// exportInput reads what cinit start would run, with none of this
// machine's environment: an export captures no inherited variable.
func exportInput(o options, layout string) (export.Input, error) {
	p, err := load(o, nil, nil)
	if err != nil {
		return export.Input{}, err
	}
	if err := portFromEnvFile(o, p); err != nil {
		return export.Input{}, err
	}
	dropTerminals(p)
	in := export.Input{Entries: p.entries, Counts: map[string]int{}, Policies: p.policies,
		NoPort: o.noPort, Grace: o.timeout, ReadyTimeout: o.policy.readyTimeout,
		EnvValues: map[string]string{}, Warnings: p.warnings}
	for _, inst := range p.instances {
		in.Counts[inst.Entry.Name]++
		in.BasePort = inst.Port - 100*inst.Index - inst.Num + 1
	}
	for _, kv := range p.env {
		k, v, _ := strings.Cut(kv, "=")
		in.EnvValues[k] = v
	}
	if in.Root, err = filepath.Abs(p.dir); err != nil {
		return in, err
	}
	if in.Procfile, err = filepath.Abs(o.procfile); err != nil {
		return in, err
	}
	in.EnvGiven = len(o.envFiles) > 0
	if in.EnvFiles, err = envFilePaths(o, in.Root); err != nil {
		return in, err
	}
	if layout == "single" {
		in.StartEnv, err = startEnv(o, p)
	}
	return in, err
}

// envFilePaths are the absolute paths of the env files start reads.
func envFilePaths(o options, root string) ([]string, error) {
	if len(o.envFiles) == 0 {
		def := filepath.Join(root, ".env")
		if _, err := os.Stat(def); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return []string{def}, nil
	}
	var out []string
	for _, f := range o.envFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}

// startEnv writes the formation and every policy back as CINIT_*
// variables for a cinit start workload, and checks that they read back as
// the same policies.
func startEnv(o options, p *plan) (map[string]string, error) {
	env := map[string]string{}
	var formation, canDie, oneshot, raw, restart, stop, after, ready []string
	counts := map[string]int{}
	for _, in := range p.instances {
		counts[in.Entry.Name]++
	}
	for _, e := range p.entries {
		n, pol := e.Name, p.policies[e.Name]
		formation = append(formation, n+"="+strconv.Itoa(counts[n]))
		add := func(cond bool, list *[]string, item string) {
			if cond {
				*list = append(*list, item)
			}
		}
		add(pol.CanDie, &canDie, n)
		add(pol.Oneshot, &oneshot, n)
		add(pol.Raw, &raw, n)
		add(pol.Restart != supervisor.RestartNo, &restart, n+"="+map[supervisor.Restart]string{1: "on-failure", 2: "always"}[pol.Restart])
		add(pol.StopSignal != 0, &stop, n+"="+strings.TrimPrefix(signals.Name(pol.StopSignal), "SIG"))
		add(len(pol.After) > 0, &after, n+"="+strings.Join(pol.After, "+"))
		add(pol.Ready.Kind != "", &ready, n+"="+pol.Ready.Kind+":"+pol.Ready.Target)
	}
	set := func(k string, items []string) {
		if len(items) > 0 {
			env[k] = strings.Join(items, ",")
		}
	}
	set("CINIT_FORMATION", formation)
	set("CINIT_CAN_DIE", canDie)
	set("CINIT_ONESHOT", oneshot)
	set("CINIT_RAW", raw)
	set("CINIT_RESTART", restart)
	set("CINIT_STOP_SIGNAL", stop)
	set("CINIT_AFTER", after)
	set("CINIT_READY", ready)
	if o.policy.readyTimeout > 0 {
		env["CINIT_READY_TIMEOUT"] = o.policy.readyTimeout.String()
	}
	return env, checkStartEnv(env, p)
}

// checkStartEnv reads env back as cinit start would and compares.
func checkStartEnv(env map[string]string, p *plan) error {
	inv, err := parseArgs(nil, func(k string) string { return env[k] })
	if err == nil {
		var back map[string]supervisor.Policy
		back, err = buildPolicies(inv.opts.policy, p.entries, p.instances)
		if err == nil && !reflect.DeepEqual(back, p.policies) {
			err = errors.New("they read back differently")
		}
	}
	if err != nil {
		return usagef("export: --layout single: the policies cannot be carried as CINIT_* variables (%v); a --ready value holding \",NAME=\" is one cause", err)
	}
	return nil
}
