package main

import (
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/signals"
	"github.com/cinit/cinit/supervisor"
	"github.com/cinit/cinit/terminal"
)

// policyFlags are the raw values of the process policy flags (README,
// "Process policies"). Each is a list of items; the flags are repeatable
// and each value may hold several comma-separated items.
type policyFlags struct {
	canDie       []string
	oneshot      []string
	restart      []string
	stopSignal   []string
	after        []string
	ready        []string
	raw          []string
	tty          []string
	interactive  string
	readyTimeout time.Duration
}

// policyEnv maps the policy flags to their environment forms.
var policyEnv = map[string]string{
	"can-die":       "CINIT_CAN_DIE",
	"oneshot":       "CINIT_ONESHOT",
	"restart":       "CINIT_RESTART",
	"stop-signal":   "CINIT_STOP_SIGNAL",
	"after":         "CINIT_AFTER",
	"ready":         "CINIT_READY",
	"ready-timeout": "CINIT_READY_TIMEOUT",
	"raw":           "CINIT_RAW",
	"tty":           "CINIT_TTY",
	"interactive":   "CINIT_INTERACTIVE",
}

// definePolicyFlags adds the policy flags to fs.
func definePolicyFlags(fs *pflag.FlagSet, p *policyFlags) {
	fs.StringArrayVarP(&p.canDie, "can-die", "c", nil, "NAMES whose end does not stop the rest")
	fs.StringArrayVar(&p.oneshot, "oneshot", nil, "NAMES that run to completion: exit 0 is success")
	fs.StringArrayVarP(&p.restart, "restart", "r", nil, "NAME=no|on-failure|always[,...]")
	fs.StringArrayVar(&p.stopSignal, "stop-signal", nil, "NAME=SIG[,...]: the signal NAME gets at teardown")
	fs.StringArrayVar(&p.after, "after", nil, "NAME=DEP[+DEP][,...]: start NAME when each DEP is ready")
	fs.StringArrayVar(&p.ready, "ready", nil, "NAME=tcp:PORT|http:URL|exec:CMD|file:PATH[,...]")
	fs.StringArrayVar(&p.raw, "raw", nil, "NAMES whose lines are printed without prefix")
	fs.StringArrayVar(&p.tty, "tty", nil, "NAMES that get a pseudo-terminal of their own (cinit attach)")
	fs.StringVar(&p.interactive, "interactive", "", "NAME that gets cinit's own terminal")
	fs.Var((*durationValue)(&p.readyTimeout), "ready-timeout", "how long a process may take to be ready (0: forever)")
}

// itemStart finds where a new NAME=VALUE item begins after a comma, so that
// a value may itself hold commas (a URL, a command).
var itemStart = regexp.MustCompile(`,\s*[A-Za-z0-9_-]+=`)

// splitPairs splits values into NAME=VALUE items.
func splitPairs(values []string) []string {
	var items []string
	for _, v := range values {
		last := 0
		for _, loc := range itemStart.FindAllStringIndex(v, -1) {
			items = append(items, v[last:loc[0]])
			last = loc[0] + 1
		}
		items = append(items, v[last:])
	}
	return items
}

// splitNames splits values into plain names.
func splitNames(values []string) []string {
	var names []string
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	return names
}

// policyBuilder turns the flags into one Policy per process type.
type policyBuilder struct {
	types    []string // process types, in Procfile order
	started  map[string]bool
	count    map[string]int // instances per type
	policies map[string]supervisor.Policy
}

// buildPolicies validates the policy flags against the Procfile and the
// types that will run.
func buildPolicies(f policyFlags, entries []procfile.Entry, instances []procfile.Instance) (map[string]supervisor.Policy, error) {
	b := &policyBuilder{started: map[string]bool{}, count: map[string]int{}, policies: map[string]supervisor.Policy{}}
	for _, e := range entries {
		b.types = append(b.types, e.Name)
	}
	for _, in := range instances {
		b.started[in.Entry.Name] = true
		b.count[in.Entry.Name]++
	}
	steps := []func(policyFlags) error{b.names, b.restarts, b.stopSignals, b.afters, b.readies, b.terminals}
	for _, step := range steps {
		if err := step(f); err != nil {
			return nil, err
		}
	}
	return b.policies, b.checkGraph()
}

// targets resolves a name ("all" for every type) of flag.
func (b *policyBuilder) targets(flag, name string) ([]string, error) {
	switch {
	case name == "all":
		return b.types, nil
	case slices.Contains(b.types, name):
		return []string{name}, nil
	}
	return nil, usagef("flag --%s: unknown process %q", flag, name)
}

// update applies fn to the policy of every type name stands for.
func (b *policyBuilder) update(flag, name string, fn func(*supervisor.Policy)) error {
	names, err := b.targets(flag, name)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := b.policies[n]
		fn(&p)
		b.policies[n] = p
	}
	return nil
}

// forPairs runs fn for each NAME=VALUE item of a flag, "all=" items first
// so that a named item beats the default whatever the order.
func forPairs(flag string, values []string, fn func(name, value string) error) error {
	items := splitPairs(values)
	slices.SortStableFunc(items, func(a, b string) int {
		return boolRank(!strings.HasPrefix(a, "all=")) - boolRank(!strings.HasPrefix(b, "all="))
	})
	for _, item := range items {
		name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" {
			return usagef("flag --%s: bad item %q, want NAME=VALUE", flag, item)
		}
		if err := fn(name, value); err != nil {
			return err
		}
	}
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// names applies the flags that take plain name lists.
func (b *policyBuilder) names(f policyFlags) error {
	lists := []struct {
		flag   string
		values []string
		set    func(*supervisor.Policy)
	}{
		{"can-die", f.canDie, func(p *supervisor.Policy) { p.CanDie = true }},
		{"oneshot", f.oneshot, func(p *supervisor.Policy) { p.Oneshot = true }},
		{"raw", f.raw, func(p *supervisor.Policy) { p.Raw = true }},
		{"tty", f.tty, func(p *supervisor.Policy) { p.TTY = true }},
	}
	for _, l := range lists {
		for _, name := range splitNames(l.values) {
			if err := b.update(l.flag, name, l.set); err != nil {
				return err
			}
		}
	}
	return nil
}

// restartPolicies maps the words of --restart.
var restartPolicies = map[string]supervisor.Restart{
	"no": supervisor.RestartNo, "on-failure": supervisor.RestartOnFailure, "always": supervisor.RestartAlways,
}

func (b *policyBuilder) restarts(f policyFlags) error {
	return forPairs("restart", f.restart, func(name, value string) error {
		r, ok := restartPolicies[value]
		if !ok {
			return usagef("flag --restart: bad policy %q for %s, want no, on-failure or always", value, name)
		}
		return b.update("restart", name, func(p *supervisor.Policy) { p.Restart = r })
	})
}

func (b *policyBuilder) stopSignals(f policyFlags) error {
	return forPairs("stop-signal", f.stopSignal, func(name, value string) error {
		sig, err := signals.Parse(value)
		if err != nil {
			return usagef("flag --stop-signal: %s: %v", name, err)
		}
		return b.update("stop-signal", name, func(p *supervisor.Policy) { p.StopSignal = sig })
	})
}

func (b *policyBuilder) afters(f policyFlags) error {
	return forPairs("after", f.after, func(name, value string) error {
		if value == "" { // web= starts web after nothing, whatever all= says
			return b.update("after", name, func(p *supervisor.Policy) { p.After = nil })
		}
		deps := strings.Split(value, "+")
		for _, d := range deps {
			if !slices.Contains(b.types, d) {
				return usagef("flag --after: %s: unknown process %q", name, d)
			}
			if !b.started[d] {
				return usagef("flag --after: %s starts after %q, which is not started", name, d)
			}
		}
		var uniq []string // db+db is db: Compose refuses a key twice
		for _, d := range deps {
			if !slices.Contains(uniq, d) {
				uniq = append(uniq, d)
			}
		}
		if name != "all" {
			return b.update("after", name, func(p *supervisor.Policy) { p.After = uniq })
		}
		// all=db: every other type starts after db, and db after none
		// of them (it was a cycle db -> db).
		for _, t := range b.types {
			deps := uniq
			if slices.Contains(uniq, t) {
				deps = nil // and a second all= replaces the first for it too
			}
			b.update("after", t, func(p *supervisor.Policy) { p.After = deps })
		}
		return nil
	})
}

func (b *policyBuilder) readies(f policyFlags) error {
	return forPairs("ready", f.ready, func(name, value string) error {
		c, err := parseCheck(value)
		if err != nil {
			return usagef("flag --ready: %s: %v", name, err)
		}
		if name != "all" && b.policies[name].Oneshot {
			return usagef("flag --ready: %s is a oneshot, ready when it exits 0: a check cannot make it ready sooner", name)
		}
		return b.update("ready", name, func(p *supervisor.Policy) {
			if !p.Oneshot { // all= is for the others
				p.Ready = c
			}
		})
	})
}

// checkPortless refuses a tcp check of a process's own $PORT when -N
// gives it none.
func checkPortless(policies map[string]supervisor.Policy) error {
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		if c := policies[name].Ready; c.Kind == "tcp" && c.Target == "" {
			return usagef("flag --ready: a bare tcp check (%s's) checks the port cinit gives the process, and -N/--no-port gives none: name one (tcp:PORT)", name)
		}
	}
	return nil
}

// ptySupported says whether this build opens pseudo-terminals for --tty
// (Linux only: terminal.Open); tests turn it off.
var ptySupported = terminal.Supported

// terminals refuses --tty where cinit opens no pseudo-terminal, and
// applies --interactive: one process type, running one instance (two
// cannot share one terminal's foreground), and not one that has a
// terminal of its own (--tty).
func (b *policyBuilder) terminals(f policyFlags) error {
	if len(splitNames(f.tty)) > 0 && !ptySupported {
		return usagef("flag --tty: cinit opens pseudo-terminals on Linux only, not on %s (cinit attach needs one)", runtime.GOOS)
	}
	name := strings.TrimSpace(f.interactive)
	if name == "" {
		return nil
	}
	if name == "all" || strings.Contains(name, ",") {
		return usagef("flag --interactive: %q: give one process", name)
	}
	if _, err := b.targets("interactive", name); err != nil {
		return err
	}
	switch {
	case b.policies[name].TTY:
		return usagef("flags --tty and --interactive both name %q: give it one terminal or the other", name)
	case b.count[name] > 1:
		return usagef("flag --interactive: %s runs %d instances; one terminal serves one", name, b.count[name])
	}
	return b.update("interactive", name, func(p *supervisor.Policy) { p.Interactive = true })
}

// parseCheck reads tcp[:PORT], http:URL, exec:COMMAND or file:PATH.
func parseCheck(s string) (supervisor.Check, error) {
	kind, target, _ := strings.Cut(s, ":")
	c := supervisor.Check{Kind: kind, Target: target}
	switch {
	case kind == "tcp":
		if target != "" && !regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]:|[^:\[\]]*:)?[0-9]{1,5}$`).MatchString(target) {
			return c, fmt.Errorf("bad tcp check %q, want tcp:PORT, tcp:HOST:PORT or tcp:[IPv6]:PORT", s)
		}
		if i := strings.LastIndexByte(target, ':'); target != "" {
			if port, _ := strconv.Atoi(target[i+1:]); port < 1 || port > 65535 {
				return c, fmt.Errorf("bad tcp check %q: %s is not a port (1-65535)", s, target[i+1:])
			}
		}
	case kind == "http":
		if !strings.HasPrefix(target, "http://") {
			return c, fmt.Errorf("bad http check %q, want http:http://HOST[:PORT]/PATH", s)
		}
	case kind == "exec" || kind == "file":
		if strings.TrimSpace(target) == "" {
			return c, fmt.Errorf("empty %s check", kind)
		}
	default:
		return c, fmt.Errorf("bad check %q, want tcp:PORT, http:URL, exec:COMMAND or file:PATH", s)
	}
	return c, nil
}

// checkGraph rejects dependency cycles, naming them.
func (b *policyBuilder) checkGraph() error {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case visiting:
			i := slices.Index(path, n)
			return usagef("flag --after: dependency cycle %s", strings.Join(append(path[i:], n), " -> "))
		case done:
			return nil
		}
		state[n] = visiting
		path = append(path, n)
		for _, d := range b.policies[n].After {
			if err := visit(d); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, t := range b.types {
		if err := visit(t); err != nil {
			return err
		}
	}
	return nil
}

// describePolicy summarizes a policy for cinit check.
func describePolicy(p supervisor.Policy) string {
	var parts []string
	add := func(cond bool, s string) {
		if cond {
			parts = append(parts, s)
		}
	}
	add(p.Oneshot, "oneshot")
	add(p.CanDie, "can-die")
	add(p.Restart == supervisor.RestartOnFailure, "restart on-failure")
	add(p.Restart == supervisor.RestartAlways, "restart always")
	add(p.StopSignal != 0, "stop "+signals.Name(p.StopSignal))
	add(len(p.After) > 0, "after "+strings.Join(p.After, "+"))
	add(p.Ready.Kind != "", "ready "+p.Ready.Kind+":"+p.Ready.Target)
	add(p.Raw, "raw")
	add(p.TTY, "tty")
	add(p.Interactive, "interactive")
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
