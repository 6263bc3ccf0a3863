// Command harness measures cinit against the least a multiplexer can cost:
// the same commands under a plain sh with one "| cat" hop. It is run by
// bench/run.sh (make bench); see BENCHMARKS.md for the figures.
//
// Every scenario runs cinit and its baseline interleaved in the same run
// (A, B, A, B, ...) and reports medians; a ratio is the median of the
// per-pair ratios, so slow drift of a shared machine cancels out.
//
//	harness write [-n N] [-size B] [-id ID] [-nonl] [-ignore-term] [-wait FIFO] [-done FIFO]
//	harness relay [-signals] COMMAND [ARG...]   the start-up floor of a Go relay
//	harness supervise N COMMAND [ARG...]        the SIGTERM floor of a Go init
//	harness          run every scenario, print a Markdown table
//
// Sizes and repetitions come from BENCH_* environment variables (see
// config); the binary under test from CINIT.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "write" {
		writeMain(os.Args[2:])
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "relay" {
		relayMain(os.Args[2:])
		return
	}
	if len(os.Args) > 3 && os.Args[1] == "supervise" {
		superviseMain(os.Args[2:])
		return
	}
	c, err := newConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(2)
	}
	code := c.runAll()
	os.RemoveAll(c.tmp)
	os.Exit(code)
}

// config holds the binary under test, a scratch directory and the sizes.
type config struct {
	cinit string // absolute path of the binary under test
	self  string // this program, used as the writer
	tmp   string // scratch directory, removed at the end
	only  string // comma-separated scenario names to run; empty: all

	reps       int   // pairs per throughput scenario
	shortBytes int64 // bytes of 60-byte lines per throughput run
	longBytes  int64 // bytes of 1 MiB lines per run
	hugeBytes  int64 // size of the single line without newline
	hugeReps   int   // pairs for the single-line scenario
	startReps  int   // pairs for start-up
	termReps   int   // pairs for SIGTERM and RSS
	settle     time.Duration
	orphans    int    // double-forked sleepers
	orphanNap  string // how long each sleeps (sleep(1) syntax)
	sample     time.Duration
	chunk      int    // writer's bytes per write
	cpus       string // taskset CPU list for the pinned pass; empty: no such pass
	pinReps    int    // pairs per scenario in the pinned pass
	pinned     bool   // the pinned pass is running

	controlReps int // runs of each control-plane call
}

func newConfig() (*config, error) {
	c := &config{}
	var err error
	bin := os.Getenv("CINIT")
	if bin == "" {
		bin = "bin/cinit"
	}
	if c.cinit, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.cinit); err != nil {
		return nil, fmt.Errorf("binary under test: %w (build it with make all)", err)
	}
	if c.self, err = os.Executable(); err != nil {
		return nil, err
	}
	if c.tmp, err = os.MkdirTemp("", "cinit-bench-"); err != nil {
		return nil, err
	}
	c.only = os.Getenv("BENCH_ONLY")
	mib := int64(1 << 20)
	c.reps = envInt("BENCH_REPS", 15)
	c.shortBytes = int64(envInt("BENCH_SHORT_MIB", 512)) * mib
	c.longBytes = int64(envInt("BENCH_LONG_MIB", 1024)) * mib
	c.hugeBytes = int64(envInt("BENCH_HUGE_MIB", 10)) * mib
	c.hugeReps = envInt("BENCH_HUGE_REPS", 31)
	c.startReps = envInt("BENCH_START_REPS", 101)
	c.termReps = envInt("BENCH_TERM_REPS", 30)
	c.settle = time.Duration(envInt("BENCH_SETTLE_MS", 200)) * time.Millisecond
	c.orphans = envInt("BENCH_ORPHANS", 3000)
	c.orphanNap = envStr("BENCH_ORPHAN_SLEEP", "0.05")
	c.sample = time.Duration(envInt("BENCH_SAMPLE_MS", 20)) * time.Millisecond
	c.chunk = envInt("BENCH_CHUNK", 64<<10)
	c.cpus = envStr("BENCH_PIN", "0")
	if c.cpus == "none" {
		c.cpus = ""
	}
	c.pinReps = envInt("BENCH_PIN_REPS", 7)
	c.controlReps = envInt("BENCH_CONTROL_REPS", 101)
	return c, nil
}

// verbose prints every measurement on stderr (BENCH_VERBOSE=1).
var verbose = os.Getenv("BENCH_VERBOSE") != ""

func envInt(name string, def int) int {
	v, err := strconv.Atoi(os.Getenv(name))
	if err != nil || v <= 0 {
		return def
	}
	return v
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// row is one line of the results table.
type row struct {
	figure string
	cinit  string // cinit's median
	base   string // the baseline's median
	value  string // the figure compared with the target
	target string
	pass   bool
	info   bool // a supplementary figure: shown, not counted
	note   string
}

// scenario names a group of rows and how to produce them.
type scenario struct {
	name string
	run  func() []row
}

// runAll runs the scenarios in order, printing progress on stderr and the
// table on stdout. It returns 0 even when targets fail: the bench measures.
func (c *config) runAll() int {
	scenarios := []scenario{
		{"binary", c.binary},
		{"short1", c.short1},
		{"followers", c.followers},
		{"short4", c.short4},
		{"long", c.long},
		{"huge", c.huge},
		{"json", c.json},
		{"tty", c.ttyShort},
		{"attach", c.attachEcho},
		{"startup", c.startup},
		{"term", c.term},
		{"orphans", c.orphanScenario},
		{"control", c.controlScenario},
		{"pinned", c.pinnedPass},
	}
	var rows []row
	for _, s := range scenarios {
		if c.only != "" && !contains(strings.Split(c.only, ","), s.name) {
			continue
		}
		start := time.Now()
		progress("%s ...", s.name)
		rows = append(rows, s.run()...)
		progress("%s done in %.1fs", s.name, time.Since(start).Seconds())
	}
	printTable(c, rows)
	return 0
}

// pinnedPass repeats the throughput scenarios with cinit and the pipe
// both confined to the CPUs in BENCH_PIN (the rows say so).
func (c *config) pinnedPass() []row {
	if c.cpus == "" {
		return nil
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return []row{errorRow("throughput, pinned", "—", errors.New("taskset not found (util-linux)"))}
	}
	c.pinned = true
	defer func() { c.pinned = false }()
	var rows []row
	for _, f := range []func() []row{c.short1, c.short4, c.long, c.huge, c.json} {
		rows = append(rows, f()...)
	}
	return rows
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// printTable prints the machine and the rows as Markdown.
func printTable(c *config, rows []row) {
	fmt.Printf("machine: %s\n", machine())
	fmt.Printf("settings: reps=%d (pinned pass %s) short=%d MiB long=%d MiB huge=%d MiB x%d start=%d term/rss=%d orphans=%d sample=%s\n\n",
		c.reps, pinDesc(c), c.shortBytes>>20, c.longBytes>>20, c.hugeBytes>>20, c.hugeReps,
		c.startReps, c.termReps, c.orphans, c.sample)

	fmt.Println("| figure | cinit | pipe / floor | measured | target | ok |")
	fmt.Println("|---|---|---|---|---|---|")
	failed := 0
	for _, r := range rows {
		ok := "yes"
		switch {
		case r.info && !r.pass:
			ok = "no (info)"
		case r.info:
			ok = "yes (info)"
		case !r.pass:
			ok = "**NO**"
			failed++
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.figure, r.cinit, r.base, r.value, r.target, ok)
	}
	for _, r := range rows {
		if r.note != "" {
			fmt.Printf("\n- %s: %s", r.figure, r.note)
		}
	}
	counted := 0
	for _, r := range rows {
		if !r.info {
			counted++
		}
	}
	fmt.Printf("\n\n%d of %d figures miss their target.\n", failed, counted)
}

func pinDesc(c *config) string {
	if c.cpus == "" {
		return "off"
	}
	return fmt.Sprintf("CPU %s, %d reps", c.cpus, c.pinReps)
}

// machine describes the host: cores, kernel, CPU model.
func machine() string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					model = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	return fmt.Sprintf("nproc %d, Linux %s, %s", nproc(), strings.TrimSpace(string(kernel)), model)
}
