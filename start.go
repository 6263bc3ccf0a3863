package main

import (
	"context"
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
	subscribed := subscribe()
	p, err := load(o, names, os.Environ())
	if err != nil {
		return fail(err)
	}
	warn(p.warnings)
	sigs, r, err := subscribed()
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
	}, r.Exits(), sigs)
	out.Close()
	return code
}

// subscribe subscribes to every signal cinit handles and starts the
// reaper, in the background; the function it returns waits for both, and
// must be called before the first child starts (style-anchors.md §5.5).
// Each signal.Notify costs a round trip to the Go runtime's signal thread
// (about 50 µs on the machine of BENCHMARKS.md, 0.6 ms for the whole
// list), so it runs while the configuration loads. A stop signal that
// arrives meanwhile waits for the loop like any other; if loading fails,
// cinit exits 2 with it unhandled. Neither is undone: cinit exits right
// after, and signal.Stop costs milliseconds of handler changes on the way
// out.
func subscribe() func() (signals.Channels, *reaper.Reaper, error) {
	type subscription struct {
		sigs signals.Channels
		r    *reaper.Reaper
		err  error
	}
	done := make(chan subscription, 1)
	go func() {
		sigs := signals.Subscribe()
		r, err := reaper.New()
		if err == nil {
			go r.Run(context.Background())
		}
		done <- subscription{sigs, r, err}
	}()
	return func() (signals.Channels, *reaper.Reaper, error) {
		s := <-done
		return s.sigs, s.r, s.err
	}
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

// useColor applies SPEC section 6: --color/--no-color beat CINIT_COLOR
// (already folded into o.color), which beats NO_COLOR (no-color.org), which
// beats the terminal check (TERM=dumb counts as no terminal).
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
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
