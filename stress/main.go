// Command stress runs cinit through a bounded stress run (make stress) and
// fails if a line was lost, duplicated or mangled, or if anything leaked.
//
//	go run ./stress [-cinit bin/cinit] [-seconds 60] [-seed N] [-v]
//
// The run is a sequence of cycles. Each cycle starts cinit on a Procfile
// whose children are this program itself:
//
//	w   three heavy writers of numbered lines, some over 1 MiB, some
//	    written in pieces
//	e   the same on stderr
//	r   writes a burst of lines, the last without newline, and exits 1:
//	    restarted by cinit (-r r=always) with its backoff; it can die
//	f   two forkers whose short-lived children write into the inherited
//	    pipe, some of them in a session of their own (orphans)
//	q   in every third cycle, exits 7 when told: an exit starts the
//	    teardown instead of a signal
//
// Text and JSON output alternate between cycles. While a cycle runs, the
// driver sends cinit bursts of signals (HUP, USR1, USR2, ALRM, CONT,
// WINCH, TSTP), stops and continues random children, and samples cinit's
// file descriptors, RSS and zombies. A cycle ends with SIGTERM or the
// quitter's exit.
//
// Every child line is "S ID SEQ LEN PAYLOAD": each process has its own
// ID and numbers its lines from 1, and the payload is a function of SEQ
// and LEN. Each process writes how many lines it wrote to a ledger file
// when it ends. After each cycle the driver checks that the lines of every
// ID arrived exactly once and in order, as many as the ledger says; that
// cinit exited with the expected code and printed no SIGKILL, warning or
// panic; and that no process of the cycle is alive (each records its pid
// and start time, and carries a tag in its environment that /proc is
// searched for).
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Getenv(childEnv) != "" {
		os.Exit(child(os.Args[1], os.Args[2:]))
	}
	bin := flag.String("cinit", "bin/cinit", "the cinit binary under test")
	seconds := flag.Int("seconds", 60, "how long to run")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the random choices")
	verbose := flag.Bool("v", false, "report every cycle")
	flag.Parse()
	d, err := newDriver(*bin, *seed, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(2)
	}
	ok := d.run(time.Duration(*seconds) * time.Second)
	d.report()
	if !ok {
		fmt.Fprintf(os.Stderr, "stress: FAILED (seed %d); pids and ledgers kept in %s\n", *seed, d.work)
		os.Exit(1)
	}
	os.RemoveAll(d.work)
}

// driver runs the cycles and keeps the totals.
type driver struct {
	cinit   string // absolute path of the binary under test
	self    string // this program, which plays the children
	work    string // scratch directory, removed at the end
	seed    uint64
	rng     *rand.Rand
	verbose bool
	start   time.Time

	totals totals
}

// totals are what the report shows.
type totals struct {
	cycles, lines, ids, restarts, signals, stops int
	bytes                                        int64
	maxFDs, maxRSS                               int64
	failures                                     []string
}

func newDriver(bin string, seed uint64, verbose bool) (*driver, error) {
	d := &driver{seed: seed, rng: rand.New(rand.NewPCG(seed, 1)), verbose: verbose}
	var err error
	if d.cinit, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	if _, err := os.Stat(d.cinit); err != nil {
		return nil, fmt.Errorf("binary under test: %w (build it with make all)", err)
	}
	if d.self, err = os.Executable(); err != nil {
		return nil, err
	}
	d.work, err = os.MkdirTemp("", "cinit-stress")
	return d, err
}

// run runs cycles until length has passed, and reports whether all passed.
func (d *driver) run(length time.Duration) bool {
	d.start = time.Now()
	deadline := d.start.Add(length)
	for n := 1; time.Now().Before(deadline) || n == 1; n++ {
		left := time.Until(deadline)
		c := d.newCycle(n, min(left, time.Duration(2+d.rng.IntN(5))*time.Second))
		c.run()
		d.add(c)
		if len(d.totals.failures) > 0 {
			return false
		}
	}
	return true
}

// add folds a finished cycle into the totals.
func (d *driver) add(c *cycle) {
	t := &d.totals
	t.cycles++
	t.lines += c.lines
	t.bytes += c.bytes
	t.ids += len(c.next)
	t.restarts += c.restarts
	t.signals += c.signals
	t.stops += c.stops
	t.maxFDs = max(t.maxFDs, c.maxFDs)
	t.maxRSS = max(t.maxRSS, c.maxRSS)
	for _, f := range c.failures {
		t.failures = append(t.failures, fmt.Sprintf("cycle %d (%s, %s): %s", c.n, c.format, c.end, f))
	}
	if d.verbose {
		fmt.Printf("cycle %d: %s, %s after %v: %d lines from %d processes, %d restarts, exit %d\n",
			c.n, c.format, c.end, c.length, c.lines, len(c.next), c.restarts, c.code)
	}
}

// report prints the totals and the failures.
func (d *driver) report() {
	t := d.totals
	fmt.Printf("stress: %d cycles in %v: %d lines (%d MiB) from %d processes checked, %d restarts, "+
		"%d signals, %d stops of children; cinit peaked at %d fds, %d MiB RSS\n",
		t.cycles, time.Since(d.start).Round(time.Second), t.lines, t.bytes>>20, t.ids, t.restarts,
		t.signals, t.stops, t.maxFDs, t.maxRSS>>20)
	for i, f := range t.failures {
		if i == 20 {
			fmt.Printf("... and %d more\n", len(t.failures)-i)
			break
		}
		fmt.Println("FAIL", f)
	}
}
