package main

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/signals"
	"github.com/cinit/cinit/supervisor"
)

// start runs the Procfile (cinit start) and returns cinit's exit status.
func start(o options, names []string) int {
	sigs, r, err := subscribe(false, o)
	if err != nil {
		return fail(err)
	}
	p, err := load(o, names, os.Environ())
	if err != nil {
		return fail(err)
	}
	warn(p.warnings)
	interactiveNeedsTerminal(p.policies)
	srv, err := openControl(o.socket, p.dir)
	if err != nil {
		return fail(err)
	}

	out := output.New(os.Stdout, outputOptions(o, p.instances))
	code := supervisor.Run(supervisor.Config{
		Instances:    p.instances,
		Policies:     p.policies,
		Env:          p.env,
		NoPort:       o.noPort,
		Dir:          p.dir,
		Grace:        o.timeout,
		ReadyTimeout: o.policy.readyTimeout,
		Out:          out,
		Split:        o.logFormat == "json",
		Init:         reaper.IsInit(),
		NoSubreaper:  !r.Subreaper(),
		Control:      srv,
		Version:      version,
	}, r.Exits(), sigs)
	out.Close() // followers of the logs get their end of file
	if srv != nil {
		srv.Close() // the socket goes last: status answers until now
	}
	return code
}

// interactiveNeedsTerminal drops --interactive, with a warning, when
// cinit's stdin is not a terminal: the same bin/dev script then runs in CI
// as a plain Procfile.
func interactiveNeedsTerminal(policies map[string]supervisor.Policy) {
	for name, pol := range policies {
		if pol.Interactive && !isTerminal(os.Stdin) {
			fmt.Fprintf(os.Stderr, "cinit: --interactive %s: stdin is not a terminal; %s runs as the other processes do\n", name, name)
			pol.Interactive = false
			policies[name] = pol
		}
	}
}

// subscribe subscribes to every signal cinit handles in its mode, in the
// background (the supervisor waits for sigs.Ready before its first child),
// and makes cinit a subreaper at once; the reaper runs, and subscribes to
// SIGCHLD, once the other signals are subscribed, so that its round trip to
// the runtime's signal thread is not one more on the way to the first child
// (ARCHITECTURE.md, "Cross-cutting concerns"). A stop signal that arrives
// while the configuration loads waits for the loop like any other; if
// loading fails, cinit exits 2 with it unhandled.
func subscribe(single bool, o options) (signals.Channels, *reaper.Reaper, error) {
	sigs := signals.Subscribe(single)
	r, err := reaper.New(o.wantSubreaper())
	if err != nil {
		return signals.Channels{}, nil, err
	}
	warnRefused(r)
	go func() {
		<-sigs.Ready
		r.Run(context.Background())
	}()
	return sigs, r, nil
}

// outputOptions settles color, timestamps and the name column.
func outputOptions(o options, instances []procfile.Instance) output.Options {
	tty := isTerminal(os.Stdout)
	oo := output.Options{
		Color:      useColor(o, tty, os.Getenv),
		Timestamps: (tty || o.timestamps) && !o.noTimestamps,
		Width:      len("cinit"),
	}
	if o.logFormat == "json" {
		oo.Format = output.JSON
	}
	for _, in := range instances {
		oo.Width = max(oo.Width, len(in.Name))
	}
	return oo
}

// useColor applies the README's color rule ("Output"): --color/--no-color
// beat CINIT_COLOR (already folded into o.color), which beats NO_COLOR
// (no-color.org), which beats the terminal check (TERM=dumb counts as no
// terminal).
func useColor(o options, tty bool, getenv func(string) string) bool {
	switch {
	case o.noColor || o.color == "never":
		return false
	case o.color == "always":
		return true
	case getenv("NO_COLOR") != "":
		return false
	}
	return tty && getenv("TERM") != "dumb"
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlReadTermios)
	return err == nil
}
