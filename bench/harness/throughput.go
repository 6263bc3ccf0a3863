package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

const (
	shortLine = 60
	mib       = 1 << 20
)

// thru is a throughput scenario: cinit on a Procfile against sh with one
// "| cat" hop running the same writers.
type thru struct {
	figure   string
	procfile string
	extra    []string // cinit flags
	baseline string   // sh -c text
	bytes    int64    // the writers' bytes, for MB/s
	target   float64  // minimal cinit/pipe throughput ratio
	reps     int
}

func (c *config) measure(t thru) (row, pairs) {
	dir := filepath.Dir(t.procfile)
	if c.pinned {
		t.figure += fmt.Sprintf(", pinned to CPU %s", c.cpus)
		if t.reps == c.reps {
			t.reps = c.pinReps
		}
	}
	p := interleave(t.reps,
		func() (time.Duration, error) { return runTimed(c.pin(c.cinitArgv(t.procfile, t.extra...)), dir) },
		func() (time.Duration, error) { return runTimed(c.pin([]string{"/bin/sh", "-c", t.baseline}), dir) })
	target := fmt.Sprintf("≥ %.1f× the pipe", t.target)
	if p.err != nil {
		return errorRow(t.figure, target, p.err), p
	}
	ratio := p.speedRatio()
	if verbose {
		for i := range p.a {
			progress("  %s: cinit %s, pipe %s", t.figure, mbps(t.bytes, p.a[i]), mbps(t.bytes, p.b[i]))
		}
	}
	return row{
		figure: t.figure,
		cinit:  mbps(t.bytes, medianD(p.a)),
		base:   mbps(t.bytes, medianD(p.b)),
		value:  fmt.Sprintf("%.2f×", ratio) + p.spread(false),
		target: target,
		pass:   ratio >= t.target,
	}, p
}

func (c *config) short1() []row {
	return c.oneWriter("short1", "short lines (60 B), 1 writer", c.shortBytes/shortLine, shortLine, 0.7, nil)
}

// oneWriter measures one writer of n lines of size bytes against its
// pipe and, outside the pinned pass, checks every line of one run.
func (c *config) oneWriter(name, figure string, n, size int64, target float64, extra []string) []row {
	w := c.writer("a", n, size)
	t := thru{
		figure:   figure,
		procfile: c.procfile(name, "a: "+w),
		extra:    extra,
		baseline: w + " | cat",
		bytes:    n * size,
		target:   target,
		reps:     c.reps,
	}
	r, _ := c.measure(t)
	if c.pinned {
		r.info = true
		return []row{r}
	}
	v := c.verify(t.procfile, t.extra, map[string]int64{"a": n}, size, false)
	r.note = v.String()
	r.pass = r.pass && v.ok()
	return []row{r}
}

func (c *config) short4() []row {
	n := c.shortBytes / shortLine / 4
	ids := []string{"w1", "w2", "w3", "w4"}
	var lines []string
	base := "("
	want := map[string]int64{}
	for _, id := range ids {
		// The first writer to finish starts cinit's teardown; the others
		// ignore its SIGTERM and finish their lines.
		w := c.writer(id, n, shortLine, "-ignore-term")
		lines = append(lines, id+": "+w)
		base += w + " & "
		want[id] = n
	}
	base += "wait) | cat"
	t := thru{
		figure:   "short lines, 4 concurrent writers",
		procfile: c.procfile("short4", lines...),
		baseline: base,
		bytes:    4 * n * shortLine,
		target:   0.7,
		reps:     c.reps,
	}
	r, _ := c.measure(t)
	if c.pinned {
		r.info = true
		return []row{r}
	}
	v := c.verify(t.procfile, nil, want, shortLine, false)
	check := row{
		figure: "short lines, 4 writers: broken / lost lines",
		cinit:  fmt.Sprintf("%d broken, %d lost", v.broken, v.lost()),
		base:   "—",
		value:  fmt.Sprintf("%d of %d lines intact", v.intact(), v.total()),
		target: "0 broken, 0 lost",
		pass:   v.ok(),
		note:   v.String(),
	}
	return []row{r, check}
}

func (c *config) long() []row {
	return c.oneWriter("long", "1 MiB lines", max(c.longBytes/mib, 1), mib, 0.9, nil)
}

func (c *config) huge() []row {
	w := c.writer("a", 1, c.hugeBytes, "-nonl")
	t := thru{
		figure:   fmt.Sprintf("one %d MiB line without newline", c.hugeBytes>>20),
		procfile: c.procfile("huge", "a: "+w),
		baseline: w + " | cat",
		bytes:    c.hugeBytes,
		target:   0.5,
		reps:     c.hugeReps,
	}
	r, _ := c.measure(t)
	if c.pinned {
		r.info = true
		return []row{r}
	}
	v := c.verify(t.procfile, nil, nil, c.hugeBytes, true)
	whole := row{
		figure: fmt.Sprintf("one %d MiB line: delivered whole in 1 MiB pieces", c.hugeBytes>>20),
		cinit:  fmt.Sprintf("%d pieces, %d B", v.pieces, v.hugeLen),
		base:   "—",
		value:  v.String(),
		target: fmt.Sprintf("%d pieces ≤ 1 MiB, %d B", (c.hugeBytes+mib-1)/mib, c.hugeBytes),
		pass:   v.ok(),
	}
	return []row{r, whole}
}

func (c *config) json() []row {
	return c.oneWriter("json", "JSON format, short lines", c.shortBytes/shortLine, shortLine, 0.3, []string{"--log-format=json"})
}

// verification is what one cinit run delivered, checked line by line.
type verification struct {
	want    map[string]int64 // lines each writer printed
	size    int64            // bytes per writer line, newline included
	huge    bool             // one line without newline, in pieces
	hugeMax int64            // expected bytes of the single line

	good    map[string]int64 // intact lines in sequence, per writer
	next    map[string]int64 // next expected sequence number
	broken  int64            // lines that are not a writer's line
	skipped int64            // out-of-sequence lines
	own     int64            // cinit's own lines
	pieces  int64
	hugeLen int64
	hugeBad bool
	err     error
}

func (v *verification) total() int64 {
	var t int64
	for _, n := range v.want {
		t += n
	}
	return t
}

func (v *verification) intact() int64 {
	var t int64
	for _, n := range v.good {
		t += n
	}
	return t
}

func (v *verification) lost() int64 { return v.total() - v.intact() }

func (v *verification) ok() bool {
	if v.err != nil || v.broken > 0 || v.skipped > 0 {
		return false
	}
	if v.huge {
		return !v.hugeBad && v.hugeLen == v.hugeMax && v.pieces == (v.hugeMax+mib-1)/mib
	}
	return v.lost() == 0
}

func (v *verification) String() string {
	if v.err != nil {
		return "verification failed: " + v.err.Error()
	}
	if v.huge {
		ok := "whole"
		if v.hugeBad || v.hugeLen != v.hugeMax {
			ok = "CORRUPT"
		}
		return fmt.Sprintf("%d pieces, %d of %d B, %s, %d broken lines", v.pieces, v.hugeLen, v.hugeMax, ok, v.broken)
	}
	return fmt.Sprintf("verified: %d of %d lines intact and in order, %d broken, %d out of sequence, %d lost",
		v.intact(), v.total(), v.broken, v.skipped, v.lost())
}

// verify runs cinit once with stdout on a pipe and checks every line.
func (c *config) verify(procfile string, extra []string, want map[string]int64, size int64, huge bool) *verification {
	v := &verification{want: want, size: size, huge: huge, hugeMax: size,
		good: map[string]int64{}, next: map[string]int64{}}
	json := len(extra) > 0 && extra[0] == "--log-format=json"
	r, w, err := os.Pipe()
	if err != nil {
		v.err = err
		return v
	}
	var errb bytes.Buffer
	cmd := command(c.cinitArgv(procfile, extra...), filepath.Dir(procfile), w, &errb)
	if err := cmd.Start(); err != nil {
		v.err = err
		return v
	}
	w.Close()
	v.read(r, json)
	r.Close()
	if err := cmd.Wait(); err != nil {
		v.err = fmt.Errorf("%v: %s", err, lastLine(errb.String()))
	}
	return v
}

// xs returns 2 MiB of 'x', the filler of every line, built on first use
// so that the writer and relay subcommands do not pay for it at start.
var xs = sync.OnceValue(func() []byte { return bytes.Repeat([]byte("x"), 2*mib) })

func (v *verification) read(r *os.File, json bool) {
	br := bufio.NewReaderSize(r, 4*mib)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			v.broken++
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			v.line(line, json)
		}
		if err != nil {
			return
		}
	}
}

var (
	textSep  = []byte(" | ")
	jsonName = []byte(`"name":"`)
	jsonLine = []byte(`"line":"`)
)

// line checks one output line.
func (v *verification) line(line []byte, json bool) {
	if line[len(line)-1] != '\n' {
		v.broken++
		return
	}
	line = line[:len(line)-1]
	var name, payload []byte
	if json {
		name = field(line, jsonName)
		payload = field(line, jsonLine)
	} else if i := bytes.Index(line, textSep); i >= 0 {
		name = bytes.TrimSpace(line[:i])
		payload = line[i+len(textSep):]
	}
	switch {
	case name == nil || payload == nil:
		v.broken++
	case string(name) == "cinit":
		v.own++
	case v.huge:
		v.piece(name, payload)
	default:
		v.writerLine(string(name), payload)
	}
}

// field returns the JSON string value after key, which holds no escapes
// for the writers' lines.
func field(line, key []byte) []byte {
	i := bytes.Index(line, key)
	if i < 0 {
		return nil
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// writerLine checks "ID SEQ xxx" of the writer named like the process.
func (v *verification) writerLine(name string, p []byte) {
	head := len(name) + 12
	if int64(len(p)) != v.size-1 || len(p) < head || string(p[:len(name)]) != name ||
		p[len(name)] != ' ' || p[head-1] != ' ' || !bytes.Equal(p[head:], xs()[:len(p)-head]) {
		v.broken++
		return
	}
	seq, err := strconv.ParseInt(string(p[len(name)+1:head-1]), 10, 64)
	if err != nil {
		v.broken++
		return
	}
	want := v.next[name]
	if want == 0 {
		want = 1
	}
	if seq != want {
		v.skipped++
	} else {
		v.good[name]++
	}
	v.next[name] = seq + 1
}

// piece checks one piece of the single long line: the first starts with
// "a 0000000001 ", every other byte is an 'x'.
func (v *verification) piece(name []byte, p []byte) {
	if string(name) != "a" || len(p) > mib {
		v.hugeBad = true
	}
	body := p
	if v.pieces == 0 {
		head := []byte("a 0000000001 ")
		if !bytes.HasPrefix(p, head) {
			v.hugeBad = true
		} else {
			body = p[len(head):]
		}
	}
	if len(body) > len(xs()) || !bytes.Equal(body, xs()[:len(body)]) {
		v.hugeBad = true
	}
	v.pieces++
	v.hugeLen += int64(len(p))
}
