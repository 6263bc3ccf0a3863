package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/cinit/cinit/reaper"
)

// definePlatformFlags adds --no-subreaper, and --subreaper, which exists
// for its environment form CINIT_SUBREAPER=0 (tini's -s, inverted: cinit
// is a subreaper unless told otherwise).
func definePlatformFlags(fs *pflag.FlagSet, o *options) {
	fs.BoolVar(&o.subreaper, "subreaper", true, "become a child subreaper when not PID 1")
	fs.BoolVar(&o.noSubreaper, "no-subreaper", false, "leave orphans to the real init: for running under another supervisor")
	fs.MarkHidden("subreaper")
}

// settlePlatformFlags folds --no-subreaper, when given, into
// o.subreaper: as a flag it beats CINIT_SUBREAPER either way.
func settlePlatformFlags(o *options, fs *pflag.FlagSet) {
	if fs.Changed("no-subreaper") {
		o.subreaper = !o.noSubreaper
	}
}

// wantSubreaper reports whether cinit should ask to become a child
// subreaper: not with --no-subreaper or CINIT_SUBREAPER=0.
func (o options) wantSubreaper() bool {
	return o.subreaper
}

// warnRefused prints one warning when the system refused to make cinit a
// child subreaper (qemu-user before 9.0 does, so docker buildx runs of an
// arm64 image on an amd64 host do). cinit then runs as without one: see
// README.md, "Platforms".
func warnRefused(r *reaper.Reaper) {
	if err := r.Refused(); err != nil {
		fmt.Fprintf(os.Stderr, "cinit: warning: cannot become a child subreaper (%v): a process that leaves its group and loses its parent before the stop is not stopped\n", err)
	}
}
