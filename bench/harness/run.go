package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// childEnv is the harness's environment without cinit's own variables, so
// that a CINIT_* setting of the caller cannot change what is measured.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CINIT_") && !strings.HasPrefix(kv, "NO_COLOR=") {
			env = append(env, kv)
		}
	}
	return env
}

// procfile writes a Procfile with lines into a fresh directory named dir
// under the scratch directory and returns its path.
func (c *config) procfile(dir string, lines ...string) string {
	d := filepath.Join(c.tmp, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		panic(err)
	}
	p := filepath.Join(d, "Procfile")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		panic(err)
	}
	return p
}

// cinitArgv runs the Procfile with a grace period long enough that a
// writer that ignores SIGTERM is never killed.
func (c *config) cinitArgv(procfile string, extra ...string) []string {
	return append([]string{c.cinit, "-f", procfile, "-t", "600"}, extra...)
}

// pin prefixes argv with taskset(1) during the pinned pass. On a VM a
// pipe between two CPUs can be several times slower than on one, so
// unpinned throughput is bimodal; pinning both sides to the same CPUs
// trades realism for repeatable A/B comparisons of CPU cost.
func (c *config) pin(argv []string) []string {
	if !c.pinned {
		return argv
	}
	return append([]string{"taskset", "-c", c.cpus}, argv...)
}

// writer is the shell text that runs the load generator.
func (c *config) writer(id string, n int64, size int64, flags ...string) string {
	s := fmt.Sprintf("%s write -n %d -size %d -id %s -chunk %d", shellQuote(c.self), n, size, id, c.chunk)
	if len(flags) > 0 {
		s += " " + strings.Join(flags, " ")
	}
	return s
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// command builds an exec.Cmd with stdout on out and stderr kept.
func command(argv []string, dir string, out *os.File, errb *bytes.Buffer) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = childEnv()
	cmd.Stdout = out
	cmd.Stderr = errb
	return cmd
}

// runTimed runs argv to completion with stdout on /dev/null and returns
// the wall time from start to exit.
func runTimed(argv []string, dir string) (time.Duration, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	var errb bytes.Buffer
	cmd := command(argv, dir, devnull, &errb)
	t0 := time.Now()
	err = cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, lastLine(errb.String()))
	}
	return d, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// pairs holds interleaved measurements: a[i] and b[i] ran back to back.
type pairs struct {
	a, b []time.Duration
	err  error
}

// interleave runs one warm-up of each, then n pairs a, b.
func interleave(n int, a, b func() (time.Duration, error)) pairs {
	var p pairs
	if _, p.err = a(); p.err != nil {
		return p
	}
	if _, p.err = b(); p.err != nil {
		return p
	}
	for i := 0; i < n; i++ {
		da, err := a()
		if err != nil {
			p.err = err
			return p
		}
		db, err := b()
		if err != nil {
			p.err = err
			return p
		}
		p.a = append(p.a, da)
		p.b = append(p.b, db)
	}
	return p
}

// speedRatio is the median over pairs of b/a: cinit's throughput relative
// to the baseline's when a is cinit.
func (p pairs) speedRatio() float64 {
	return medianF(p.ratios(false))
}

// timeRatio is the median over pairs of a/b.
func (p pairs) timeRatio() float64 {
	return medianF(p.ratios(true))
}

// ratios lists b/a per pair, or a/b when inverse.
func (p pairs) ratios(inverse bool) []float64 {
	r := make([]float64, len(p.a))
	for i := range p.a {
		r[i] = p.b[i].Seconds() / p.a[i].Seconds()
		if inverse {
			r[i] = 1 / r[i]
		}
	}
	return r
}

// spread is the interquartile range of the per-pair ratios, to show how
// noisy the machine was.
func (p pairs) spread(inverse bool) string {
	r := p.ratios(inverse)
	if len(r) < 4 {
		return ""
	}
	slices.Sort(r)
	q := func(f float64) float64 { return r[int(f*float64(len(r)-1)+0.5)] }
	return fmt.Sprintf(" (IQR %.2f–%.2f)", q(0.25), q(0.75))
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianD(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(medianF(f))
}

func mbps(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MB/s", float64(bytes)/d.Seconds()/1e6)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

func nproc() int { return runtime.NumCPU() }

// errorRow reports a scenario that could not be measured.
func errorRow(figure, target string, err error) row {
	return row{figure: figure, cinit: "error", base: "—", value: "error", target: target,
		note: err.Error()}
}
