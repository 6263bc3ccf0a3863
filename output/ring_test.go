package output

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// render prints recs with a Renderer for o.
func render(o Options, recs []Record) string {
	rd := NewRenderer(o)
	var b []byte
	for i := range recs {
		b = rd.Append(b, &recs[i])
	}
	return string(b)
}

// lastLines returns the last n lines of out, each with its '\n'.
func lastLines(out string, n int) string {
	lines := strings.SplitAfter(out, "\n")
	lines = lines[:len(lines)-1] // after the final '\n'
	return strings.Join(lines[max(len(lines)-n, 0):], "")
}

// checkTail checks that Tail(n) of w, rendered for o, is the end of out,
// the Writer's output.
func checkTail(t *testing.T, w *Writer, o Options, out string, n int) []Record {
	t.Helper()
	recs := w.Tail(n)
	got := render(o, recs)
	if want := lastLines(out, strings.Count(got, "\n")); got != want {
		t.Fatalf("Tail(%d) rendered:\n%q\nthe output ends with:\n%q", n, got, want)
	}
	return recs
}

// TestTailIsOutput sends lines of every kind (empty, '\r', pieces of a
// long line, a final line without '\n', events, JSON escapes) through a
// real pipe in text and JSON, written whole and byte by byte, and checks
// that the ring renders them exactly as the Writer printed them.
func TestTailIsOutput(t *testing.T) {
	input := []string{"one\n\ntwo\r\nthree\rfour\n", "abcdefghij", "klm\r", "\nnop", "\xff\"\\\x01 é\r\n", "end"}
	opts := []Options{
		{Width: 6},
		{Width: 6, Color: true, Timestamps: true, Now: fixedClock(noon)},
		{Format: JSON, Now: fixedClock(noon)},
		{Format: JSON},
	}
	for _, o := range opts {
		for _, cut := range []bool{false, true} {
			chunks := input
			if cut {
				chunks = strings.Split(strings.Join(input, ""), "")
			}
			var c capture
			w := New(&c, o)
			w.Event(Event{Kind: "start", Process: "web.1", Pid: 12, Text: "web.1 started"})
			rp := newPipe(t, w, Label{Name: "web.1", Color: 3}, Stderr, func(p *Pipe) { p.limit = 4 })
			writeAll(t, rp.in, chunks...)
			rp.finish(t)
			code := 3
			w.Event(Event{Kind: "exit", Process: "web.1", Pid: 12, Code: &code, Text: "web.1 exited\nwith code 3"})
			w.Close()
			recs := checkTail(t, w, o, c.String(), 1000)
			if len(recs) != 16 {
				t.Errorf("%+v: %d records, want 16", o, len(recs))
			}
		}
	}
}

// TestRawTail checks that a raw process's lines come back without prefix
// in both formats.
func TestRawTail(t *testing.T) {
	for _, o := range []Options{{Width: 3}, {Format: JSON}} {
		var c capture
		w := New(&c, o)
		rp := newPipe(t, w, Label{Name: "r", Raw: true}, Stdout, nil)
		writeAll(t, rp.in, `{"a":1}`+"\n", "plain\r\n")
		rp.finish(t)
		w.Close()
		checkTail(t, w, o, c.String(), 10)
	}
}

// numbered returns "name 0\n" ... "name count-1\n".
func numbered(name string, from, count int) string {
	var b []byte
	for n := from; n < from+count; n++ {
		b = fmt.Appendf(b, "%s %d\n", name, n)
	}
	return string(b)
}

// TestRingLines checks the line bound: of 2500 lines, Tail returns the
// last n, and never more than 1000.
func TestRingLines(t *testing.T) {
	var c capture
	o := Options{Width: 1}
	w := New(&c, o)
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, numbered("a", 0, 2500))
	rp.finish(t)
	w.Close()
	for _, n := range []int{0, 1, 999, 1000, 5000} {
		recs := checkTail(t, w, o, c.String(), n)
		if want := min(n, 1000); len(recs) != want {
			t.Errorf("Tail(%d): %d lines, want %d", n, len(recs), want)
		}
	}
}

// TestRingBytes checks the byte bound with lines of 10000 bytes, written
// one by one and all at once, and with pieces of a 3.5 MiB line: Tail
// returns the last lines that fit in 1 MiB, and the ring's buffer never
// grows beyond 1 MiB.
func TestRingBytes(t *testing.T) {
	line := func(n int) string { return fmt.Sprintf("%09d ", n) + strings.Repeat("x", 9989) + "\n" }
	var many []string
	for n := range 300 {
		many = append(many, line(n))
	}
	huge := strings.Repeat("h", 3*maxLine+maxLine/2) + "\n"
	// A line of the limit ended by "\r\n", or one just over the limit,
	// completed in one read with the line after it: the chunk is over
	// 1 MiB, and what is cut from its front must take every older line
	// with it, or Tail has a gap.
	exact := []string{"before\n", strings.Repeat("l", maxLine) + "\r\nafter\n"}
	over := []string{"before\n", strings.Repeat("l", maxLine+100) + "\nafter\n"}
	for _, chunks := range [][]string{many, {strings.Join(many, "")}, {huge}, {huge, "tail\n"}, exact, over} {
		var c capture
		o := Options{Width: 1}
		w := New(&c, o)
		rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
		for _, ch := range chunks {
			writeAll(t, rp.in, ch)
			if n := ringSize(w); n > ringBytes {
				t.Fatalf("the ring's buffer grew to %d bytes", n)
			}
		}
		rp.finish(t)
		w.Close()
		recs := checkTail(t, w, o, c.String(), 1000)
		size := 0
		for _, r := range recs {
			size += len(r.Line)
		}
		// How much below the bound the ring holds depends on how the reads
		// fell (whole read buffers are evicted at once), so only the bound
		// and a non-empty tail are fixed; checkTail compared the content.
		if size > ringBytes || len(recs) == 0 || ringSize(w) > ringBytes {
			t.Errorf("%d lines, %d bytes, a buffer of %d bytes", len(recs), size, ringSize(w))
		}
	}
}

// TestRingKeepsLongLines writes bursts of 100 lines of 656 bytes, each
// read on its own: 1000 of them take 656 KB, so Tail keeps 1000. Each
// read took a whole 256 KiB buffer for its 64 KiB, and the ring kept 303.
func TestRingKeepsLongLines(t *testing.T) {
	var c capture
	o := Options{Width: 1}
	w := New(&c, o)
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	for burst := range 30 {
		var b strings.Builder
		for i := range 100 {
			fmt.Fprintf(&b, "%04d %s\n", burst*100+i, strings.Repeat("x", 650))
		}
		writeAll(t, rp.in, b.String())
		last := fmt.Sprintf("a | %04d ", burst*100+99)
		for {
			next := c.next()
			if strings.Contains(c.String(), last) {
				break
			}
			waitFor(t, next, "the burst's last line")
		}
	}
	rp.finish(t)
	w.Close()
	if recs := checkTail(t, w, o, c.String(), 1000); len(recs) != 1000 {
		t.Errorf("Tail(1000) has %d lines, want 1000", len(recs))
	}
	if n := held(w); n > ringBytes {
		t.Errorf("the ring holds %d bytes", n)
	}
}

// TestTailReachesNewestLines: a chunk of 2000 lines, then one of 50. Tail
// starts in the first and must end with the second; counting the first
// chunk's lines before its start as if they were returned, it stopped
// after the first chunk and left out the 50 newest lines.
func TestTailReachesNewestLines(t *testing.T) {
	w := New(&capture{}, Options{})
	defer w.Close()
	src := &source{name: "a", stream: "stdout", limit: maxLine}
	for _, n := range []int{2000, 50} {
		var b []byte
		for i := range n {
			b = fmt.Appendf(b, "%d-%d\n", n, i)
		}
		w.logs.record(chunk{src: src, split: len(b) - 1, lines: n}, b, nil)
	}
	for _, n := range []int{100, 1000} {
		recs := w.Tail(n)
		if len(recs) != n || string(recs[n-1].Line) != "50-49" || string(recs[n-51].Line) != "2000-1999" {
			t.Errorf("Tail(%d): %d lines, the last %q", n, len(recs), recs[len(recs)-1].Line)
		}
	}
}

// chunkLines cuts the lines of chunk c, whose bytes are b, as Tail does.
func chunkLines(c chunk, b []byte) []string {
	var out []string
	for i, pos := 0, 0; i < c.lines; i++ {
		var line []byte
		line, pos = c.next(b, pos)
		out = append(out, string(line))
	}
	return out
}

// TestChunkSplitAt splits chunks of lines around a small limit (pieces,
// "\r\n", empty lines, a line of exactly the limit, pieces of a line not
// yet ended after the last '\n') at every room smaller than the chunk:
// the head's lines and then the rest's are the chunk's, in order.
func TestChunkSplitAt(t *testing.T) {
	const limit = 10
	rnd := rand.New(rand.NewPCG(3, 4))
	src := &source{name: "a", stream: "stdout", limit: limit}
	for round := range 200 {
		var b []byte
		for range 1 + rnd.IntN(8) {
			b = append(b, strings.Repeat("x", rnd.IntN(3*limit+2))...)
			b = append(b, []string{"\n", "\r\n", "\r\r\n"}[rnd.IntN(3)]...)
		}
		split := len(b) - 1
		b = append(b, strings.Repeat("p", limit*rnd.IntN(3))...) // pieces of an unfinished line
		c := chunk{src: src, split: split, lines: 1 << 20}
		lines := 0
		for pos := 0; pos < len(b); lines++ {
			_, pos = c.next(b, pos)
		}
		c.lines = lines
		want := chunkLines(c, b)
		for room := range len(b) {
			head, rest, n, ok := c.splitAt(b, room)
			if !ok {
				if _, end := c.next(b, 0); end <= room {
					t.Fatalf("round %d, room %d: no split, though the first line takes %d bytes", round, room, end)
				}
				continue
			}
			if n > room || head.lines+rest.lines != c.lines || rest.first != c.first+uint64(head.lines) {
				t.Fatalf("round %d, room %d: %d bytes, %d+%d lines of %d", round, room, n, head.lines, rest.lines, c.lines)
			}
			got := append(chunkLines(head, b[:n:n]), chunkLines(rest, b[n:])...) // b[:n:n]: nothing of rest behind the head, as in a block
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, room %d (split at %d of %q):\n got %q\nwant %q", round, room, n, b, got, want)
			}
		}
	}
}

// TestRingSplitsAtLineEnds sends lines of every length around a small
// line limit (pieces included, "\r\n" too) in writes of every size, each
// printed before the next is written, so that every read is copied and
// chunks are split to fill blocks at every kind of line end: Tail has the
// lines asked for and renders the end of the output exactly.
func TestRingSplitsAtLineEnds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var in strings.Builder
	for i := 0; in.Len() < 600<<10; i++ {
		in.WriteString(fmt.Sprintf("%d:", i) + strings.Repeat("y", rnd.IntN(350)))
		in.WriteString([]string{"\n", "\r\n"}[rnd.IntN(2)])
	}
	var writes []string
	for rest := in.String(); rest != ""; {
		n := min(len(rest), 1+rnd.IntN(8000)) // under 250 lines: copied, never handed over
		writes, rest = append(writes, rest[:n]), rest[n:]
	}
	var c capture
	o := Options{Width: 1}
	w := New(&c, o)
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, func(p *Pipe) { p.limit = 100 })
	ended := 0 // lines whose '\n' was written
	for _, ch := range writes {
		writeAll(t, rp.in, ch)
		if n := strings.Count(ch, "\n"); n > 0 {
			ended += n
			last := fmt.Sprintf("a | %d:", ended-1)
			for next := c.next(); !strings.Contains(c.String(), last); next = c.next() {
				waitFor(t, next, "the write's last line")
			}
		}
	}
	rp.finish(t)
	w.Close()
	for _, n := range []int{1, 7, 500, 1000} {
		if recs := checkTail(t, w, o, c.String(), n); len(recs) != n {
			t.Errorf("Tail(%d) has %d lines", n, len(recs))
		}
	}
}

// TestRingReusesBlocks records 64 MiB of short lines, each copied into the
// ring's blocks as small reads are: the blocks go round through the pool
// instead of being allocated anew every readSize bytes. Without the pool
// the ring allocated all 64 MiB; with it, nothing but the first blocks,
// or about a quarter under -race, whose sync.Pool drops a quarter of what
// it is given.
func TestRingReusesBlocks(t *testing.T) {
	r := newRing()
	src := &source{name: "a", stream: "stdout", limit: maxLine}
	line := []byte(strings.Repeat("x", 199) + "\n")
	const total = 64 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range total / len(line) {
		r.record(chunk{src: src, split: -1, lines: 1}, line, nil)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > total/2 {
		t.Fatalf("recording %d MiB allocated %d MiB", total>>20, got>>20)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mem > ringBytes || r.kept != ringLines {
		t.Fatalf("the ring holds %d bytes and %d lines, want at most %d and %d", r.mem, r.kept, ringBytes, ringLines)
	}
}

// TestFollowBoundCountsChunks records 300000 empty lines one at a time,
// as a child printing them one write at a time makes the ring do, with a
// follower that never reads: the chunks' descriptions count against
// followBytes with each record, so the blocks, the reserve and the chunk
// queue stay within it (the queue alone grew to 22 MiB). Once the
// follower is closed, the queue shrinks back.
func TestFollowBoundCountsChunks(t *testing.T) {
	w := New(&capture{}, Options{})
	defer w.Close()
	r := w.logs
	stopped := w.Follow(0)
	src := &source{name: "a", stream: "stdout", limit: maxLine}
	for range 300000 {
		r.record(chunk{src: src, split: 0, lines: 1}, []byte("\n"), nil)
	}
	r.mu.Lock()
	held, count, queue := r.held(), r.count, len(r.chunks)
	r.mu.Unlock()
	if held+count*chunkCost > followBytes || queue*chunkCost > 2*followBytes {
		t.Fatalf("%d bytes of blocks and reserve and %d chunks of %d bytes (a queue of %d): more than %d", held, count, chunkCost, queue, followBytes)
	}
	stopped.Close()
	for range 3 * ringLines {
		r.record(chunk{src: src, split: 0, lines: 1}, []byte("\n"), nil)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.chunks) > 4*ringLines {
		t.Fatalf("without followers, the chunk queue still has room for %d chunks", len(r.chunks))
	}
}

// TestFollowSelectedCountsItsOwn follows one process of two with a
// follower that does not read while the other floods the ring: the
// notice counts only the followed process's lost lines, and its lines
// after the flood arrive.
func TestFollowSelectedCountsItsOwn(t *testing.T) {
	w := New(&capture{}, Options{})
	defer w.Close()
	r := w.logs
	f := w.FollowSelected(0, func(rec *Record) bool { return rec.Name == "web" })
	defer f.Close()
	if recs, _, _ := f.Next(); len(recs) != 0 {
		t.Fatalf("tail %v", recs)
	}
	web := &source{name: "web", stream: "stdout", limit: maxLine}
	worker := &source{name: "worker", stream: "stdout", limit: maxLine}
	record := func(src *source, lines string) {
		r.record(chunk{src: src, split: len(lines) - 1, lines: strings.Count(lines, "\n")}, []byte(lines), nil)
	}
	record(web, "w1\nw2\nw3\n")
	flood := strings.Repeat(strings.Repeat("x", 59)+"\n", 100)
	for range 2000 { // 12 MB: more than the followers' 4 MiB
		record(worker, flood)
	}
	record(web, "w4\nw5\n")
	var got []string
	dropped := 0
	for len(got) < 2 {
		recs, d, ok := f.Next()
		if !ok {
			t.Fatal("the follower ended")
		}
		dropped += d
		for _, rec := range recs {
			got = append(got, rec.Name+" "+string(rec.Line))
		}
	}
	if dropped != 3 || strings.Join(got, ",") != "web w4,web w5" {
		t.Fatalf("dropped %d, got %v; want 3 dropped and web's last two lines", dropped, got)
	}
}

// TestFollowGetsChunkOverRingBytes records one chunk of more than 1 MiB
// (a line of 1000 KiB, then 100 short lines, as one read can bring after
// a partial line) with a follower attached: the follower gets all of it
// (the chunk used to be cut to 1 MiB for everybody, and the long line
// reported as dropped).
func TestFollowGetsChunkOverRingBytes(t *testing.T) {
	w := New(&capture{}, Options{})
	defer w.Close()
	f := w.Follow(0)
	defer f.Close()
	f.Next() // the empty tail
	src := &source{name: "a", stream: "stdout", limit: maxLine}
	b := append(bytes.Repeat([]byte("l"), 1000<<10), '\n')
	for i := range 100 {
		b = append(b, strconv.Itoa(i)+strings.Repeat("s", 1000)+"\n"...)
	}
	w.logs.record(chunk{src: src, split: len(b) - 1, lines: 101}, b, nil)
	lines := 0
	for lines < 101 {
		recs, d, ok := f.Next()
		if !ok || d > 0 {
			t.Fatalf("after %d lines: ok %v, %d dropped", lines, ok, d)
		}
		if lines == 0 && len(recs) > 0 && len(recs[0].Line) != 1000<<10 {
			t.Fatalf("the first line has %d bytes", len(recs[0].Line))
		}
		lines += len(recs)
	}
	// Tail shows what of that chunk fits in 1 MiB: its last lines (it
	// used to show nothing at all).
	for _, n := range []int{100, ringLines} {
		recs := w.Tail(n)
		if len(recs) != 100 || string(recs[0].Line[:2]) != "0s" || string(recs[99].Line[:3]) != "99s" {
			t.Errorf("Tail(%d) has %d lines, want the 100 short ones", n, len(recs))
		}
	}
	if recs := w.Tail(10); len(recs) != 10 || string(recs[0].Line[:3]) != "90s" {
		t.Errorf("Tail(10) has %d lines, want the last 10", len(recs))
	}
}

// TestRingLongLineKeepsOlder records 900 short lines and then one line of
// 300 KiB: the long line gets a block of half the ring, and the short
// lines stay for Tail (a block of the whole ring used to push them out).
func TestRingLongLineKeepsOlder(t *testing.T) {
	w := New(&capture{}, Options{})
	defer w.Close()
	src := &source{name: "a", stream: "stdout", limit: maxLine}
	for i := range 900 {
		line := []byte(strconv.Itoa(i) + "\n")
		w.logs.record(chunk{src: src, split: len(line) - 1, lines: 1}, line, nil)
	}
	long := append(bytes.Repeat([]byte("x"), 300<<10), '\n')
	w.logs.record(chunk{src: src, split: len(long) - 1, lines: 1}, long, nil)
	recs := w.Tail(ringLines)
	if len(recs) != 901 || string(recs[0].Line) != "0" || len(recs[900].Line) != 300<<10 {
		t.Fatalf("Tail has %d lines (first %.20q, last %d bytes), want the 900 short ones and the long one", len(recs), recs[0].Line, len(recs[len(recs)-1].Line))
	}
}

// ringSize returns the memory that w's ring holds.
func ringSize(w *Writer) int {
	w.logs.mu.Lock()
	defer w.logs.mu.Unlock()
	return w.logs.mem
}

// TestRingLazy checks that a Writer holds no ring memory before its first
// line, and little after a few.
func TestRingLazy(t *testing.T) {
	w := New(&capture{}, Options{})
	defer w.Close()
	if w.logs.cur != nil || w.logs.chunks != nil || len(w.Tail(10)) != 0 {
		t.Fatal("the ring holds memory before any line")
	}
	w.Event(Event{Kind: "start", Text: "a started"})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, "hello\n")
	rp.finish(t)
	if n := ringSize(w); n != minStore {
		t.Errorf("after one line the buffer has %d bytes, want %d", n, minStore)
	}
	if recs := w.Tail(10); len(recs) != 2 || string(recs[1].Line) != "hello" || recs[0].Event != "start" {
		t.Errorf("Tail: %+v", recs)
	}
}

// follow reads f until EOF and returns its lines, as "NAME LINE", and how
// many were dropped.
func follow(f *Follower) (lines []string, dropped int) {
	for {
		recs, d, ok := f.Next()
		if !ok {
			return lines, dropped
		}
		dropped += d
		for _, r := range recs {
			lines = append(lines, r.Name+" "+string(r.Line))
		}
	}
}

// checkSequence checks that lines are "a a n" for consecutive n from
// first on, count of them.
func checkSequence(t *testing.T, lines []string, name string, first, count int) {
	t.Helper()
	if len(lines) != count {
		t.Fatalf("%d lines, want %d", len(lines), count)
	}
	for i, l := range lines {
		if want := name + " " + name + " " + strconv.Itoa(first+i); l != want {
			t.Fatalf("line %d is %q, want %q", i, l, want)
		}
	}
}

// TestFollowNoGap starts a follower while a pipe is busy: what Follow's
// tail returns and what follows are the lines from some number on, each
// once, until EOF after Close.
func TestFollowNoGap(t *testing.T) {
	const count = 100000 // under 1 MiB: the follower cannot fall behind 4 MiB
	var c capture
	w := New(&c, Options{})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	wrote := c.next()
	writing := make(chan error)
	go func() {
		_, err := rp.in.WriteString(numbered("a", 0, count))
		writing <- err
	}()
	waitFor(t, wrote, "the first lines") // the pipe is busy
	f := w.Follow(10)
	done := make(chan struct{})
	var lines []string
	var dropped int
	go func() {
		defer close(done)
		lines, dropped = follow(f)
	}()
	if err := waitFor(t, writing, "the writer"); err != nil {
		t.Fatal(err)
	}
	rp.finish(t)
	w.Close()
	waitFor(t, done, "the follower's end")
	if dropped != 0 || len(lines) == 0 {
		t.Fatalf("%d lines, %d dropped", len(lines), dropped)
	}
	first, _ := strconv.Atoi(strings.Fields(lines[0])[2])
	checkSequence(t, lines, "a", first, count-first)
}

// TestFollowEOF checks the ends of a follower: Next returns the tail,
// then waits; Close of the Writer gives EOF after the last line; a
// follower closed while Next waits returns at once; Follow after Close
// gives the tail, then EOF.
func TestFollowEOF(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	w.Event(Event{Kind: "start", Text: "started"})
	f, g := w.Follow(5), w.Follow(0)
	if recs, d, ok := f.Next(); len(recs) != 1 || d != 0 || !ok || recs[0].Event != "start" {
		t.Fatalf("first Next: %+v %d %v", recs, d, ok)
	}
	if recs, _, ok := g.Next(); len(recs) != 0 || !ok {
		t.Fatalf("the tail of Follow(0): %+v %v", recs, ok)
	}
	gDone := make(chan struct{})
	go func() {
		defer close(gDone)
		if recs, _, ok := g.Next(); ok {
			t.Errorf("a closed follower got %+v", recs)
		}
	}()
	g.Close()
	waitFor(t, gDone, "Next of a closed follower")
	next := make(chan []Record)
	go func() {
		for {
			recs, _, ok := f.Next()
			if !ok {
				close(next)
				return
			}
			next <- recs
		}
	}()
	w.Event(Event{Kind: "stop", Text: "stopping"})
	if recs := waitFor(t, next, "a line"); len(recs) != 1 || string(recs[0].Line) != "stopping" {
		t.Fatalf("got %+v", recs)
	}
	w.Close()
	if _, ok := <-next; ok {
		t.Fatal("a line after Close")
	}
	h := w.Follow(10)
	if recs, _, ok := h.Next(); len(recs) != 2 || !ok {
		t.Fatalf("Follow after Close: %+v", recs)
	}
	if _, _, ok := h.Next(); ok {
		t.Fatal("no EOF after Close")
	}
}

// TestStoppedFollower writes 6 MiB of lines while one follower reads
// nothing and another reads all it can: stdout gets every line; each
// follower gets lines in order, and where lines are missing it was told
// how many; the stopped one, once it reads, learns that it lost some and
// gets the rest.
func TestStoppedFollower(t *testing.T) {
	const count = 600000 // "a a NNNNNN\n"
	var c capture
	w := New(&c, Options{Width: 1})
	stopped, reader := w.Follow(0), w.Follow(0)
	readerDone := make(chan struct{})
	var lines []string
	var dropped []int
	go func() {
		defer close(readerDone)
		lines, dropped = followGaps(reader)
	}()
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, numbered("a", 0, count))
	rp.finish(t)
	w.Close()
	checkNumbered(t, c.String(), []string{"a"}, count)
	if n := ringSize(w); n > followBytes {
		t.Errorf("the ring holds %d bytes", n)
	}
	waitFor(t, readerDone, "the reader's end")
	checkGaps(t, lines, dropped, count)
	lines, dropped = followGaps(stopped)
	if dropped[0] == 0 {
		t.Error("the stopped follower was not told of lines dropped")
	}
	checkGaps(t, lines, dropped, count)
}

// TestFollowReserve checks the followers' reserve: the first follower
// brings followSpares read buffers, a second one none, and closing one of
// two keeps them; while a stopped follower makes the ring keep
// followBytes, the Pipe's new buffers come from the reserve, the ring's
// blocks and the reserve stay within followBytes, and the blocks fill
// that room with lines; the last Close gives it all back.
func TestFollowReserve(t *testing.T) {
	const count = 600000 // "a a NNNNNN\n": 6.3 MiB
	var c capture
	w := New(&c, Options{Width: 1})
	r := w.logs
	stopped := w.Follow(0)
	r.mu.Lock()
	reserved := map[*[readSize]byte]bool{}
	for _, b := range r.spare {
		reserved[b] = true
	}
	r.mu.Unlock()
	if len(reserved) != followSpares {
		t.Fatalf("the first follower reserved %d buffers, want %d", len(reserved), followSpares)
	}
	other := w.Follow(0)
	if n := spares(w); n != followSpares {
		t.Fatalf("with a second follower the reserve has %d buffers, want %d", n, followSpares)
	}
	other.Close()
	if n := spares(w); n != followSpares {
		t.Fatalf("after closing one of two followers the reserve has %d buffers, want %d", n, followSpares)
	}
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, numbered("a", 0, count))
	rp.finish(t)
	checkNumbered(t, c.String(), []string{"a"}, count)

	size := held(w)
	r.mu.Lock()
	used := 0
	for i := range r.count {
		if b := r.at(i).blk; b != nil && b.pool == &readBufs && reserved[(*[readSize]byte)(b.buf)] {
			used++
		}
	}
	r.mu.Unlock()
	if used == 0 {
		t.Error("no block of the ring is a reserved buffer: the Pipe did not take its buffers from the reserve")
	}
	if size > followBytes {
		t.Errorf("the ring's blocks and the reserve hold %d bytes, more than %d", size, followBytes)
	}
	if n := ringSize(w); n < followBytes*3/4 {
		t.Errorf("the ring's blocks hold %d bytes: room for the stopped follower went unused", n)
	}
	stopped.Close()
	if n, size := spares(w), ringSize(w); n != 0 || size > ringBytes {
		t.Errorf("after the last follower: %d buffers in the reserve, %d bytes in the ring", n, size)
	}
	w.Close()
}

// TestFollowReserveBound checks the bound of followBytes when lines come
// in small writes, which the ring copies into blocks of its own: the
// reserve is part of the bound, so that the blocks and the reserve
// together never hold more.
func TestFollowReserveBound(t *testing.T) {
	var c capture
	w := New(&c, Options{Width: 1})
	stopped := w.Follow(0)
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	for i := range 3000 { // 200 lines a write: fewer than a read hands over
		writeAll(t, rp.in, numbered("a", i*200, 200))
		if n := held(w); n > followBytes {
			t.Fatalf("after %d lines the ring's blocks and the reserve hold %d bytes, more than %d", (i+1)*200, n, followBytes)
		}
	}
	rp.finish(t)
	checkNumbered(t, c.String(), []string{"a"}, 600000)
	stopped.Close()
	w.Close()
}

// TestFollowReserveLongLines checks that the reserve does not take the
// followers' room from long lines, which the ring keeps in blocks of
// their own: a stopped follower still gets as many of the last lines of
// 900 KiB as fit in followBytes, not only the one that fits beside the
// reserve; and the bound holds with a short line's block, one of the
// reserve's, in the ring as well.
func TestFollowReserveLongLines(t *testing.T) {
	var c capture
	w := New(&c, Options{Width: 1})
	stopped := w.Follow(0)
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, "short\n") // copied into a block taken from the reserve
	for i := range 8 {
		writeAll(t, rp.in, fmt.Sprintf("%d%s\n", i, strings.Repeat("x", 900<<10)))
		if n := held(w); n > followBytes {
			t.Fatalf("after line %d the ring's blocks and the reserve hold %d bytes, more than %d", i, n, followBytes)
		}
	}
	rp.finish(t)
	w.Close()
	lines, dropped := followGaps(stopped)
	if len(lines) < 3 || dropped[0] == 0 {
		t.Errorf("the stopped follower got %d lines of 900 KiB after %d dropped, want 3 or more after some dropped", len(lines), dropped[0])
	}
}

// held returns the memory of w's ring's blocks and reserve.
func held(w *Writer) int {
	w.logs.mu.Lock()
	defer w.logs.mu.Unlock()
	return w.logs.held()
}

// spares returns the number of buffers in w's followers' reserve.
func spares(w *Writer) int {
	w.logs.mu.Lock()
	defer w.logs.mu.Unlock()
	return len(w.logs.spare)
}

// followGaps reads f until EOF and returns its lines, and for each line
// how many were dropped right before it (the last entry: at the end).
func followGaps(f *Follower) (lines []string, dropped []int) {
	dropped = []int{0}
	for {
		recs, d, ok := f.Next()
		if !ok {
			return lines, dropped
		}
		dropped[len(dropped)-1] += d
		for _, r := range recs {
			lines = append(lines, string(r.Line))
			dropped = append(dropped, 0)
		}
	}
}

// checkGaps checks that lines, "a N", and the numbers of lines dropped
// before each add up to the lines 0..count-1 in order.
func checkGaps(t *testing.T, lines []string, dropped []int, count int) {
	t.Helper()
	n := 0
	for i, l := range lines {
		n += dropped[i]
		if want := "a " + strconv.Itoa(n); l != want {
			t.Fatalf("line %d is %q, want %q (after %d dropped)", i, l, want, dropped[i])
		}
		n++
	}
	if n += dropped[len(lines)]; n != count {
		t.Fatalf("%d lines and dropped, want %d", n, count)
	}
}

// TestFollowConcurrent runs four pipes at once with two followers: each
// follower sees each pipe's lines in order, each once.
func TestFollowConcurrent(t *testing.T) {
	const count = 20000
	names := []string{"a", "b", "c", "d"}
	var c capture
	w := New(&c, Options{Width: 1})
	fs := []*Follower{w.Follow(0), w.Follow(0)}
	var wg sync.WaitGroup
	results := make([][]string, len(fs))
	drops := make([]int, len(fs))
	for i, f := range fs {
		wg.Go(func() { results[i], drops[i] = follow(f) })
	}
	var pipes sync.WaitGroup
	for i, name := range names {
		rp := newPipe(t, w, Label{Name: name, Color: i}, Stdout, nil)
		pipes.Go(func() {
			if err := writeNumbered(rp.in, name, count, i); err != nil {
				t.Error(err)
			}
			<-rp.done
		})
	}
	pipes.Wait()
	w.Close()
	wg.Wait()
	checkNumbered(t, c.String(), names, count)
	for i, lines := range results {
		if drops[i] != 0 {
			t.Fatalf("follower %d: %d dropped", i, drops[i])
		}
		var out strings.Builder
		for _, l := range lines {
			name, rest, _ := strings.Cut(l, " ")
			out.WriteString(name + " | " + rest + "\n")
		}
		checkNumbered(t, out.String(), names, count)
	}
}

// TestDroppedRecord checks the notice in both formats.
func TestDroppedRecord(t *testing.T) {
	r := DroppedRecord(42, noon)
	if got := render(Options{Width: 6}, []Record{r}); got != "cinit  | logs: 42 lines dropped (reader too slow)\n" {
		t.Errorf("text: %q", got)
	}
	got := render(Options{Format: JSON}, []Record{r})
	want := `{"time":"2024-05-01T13:04:05.123456789Z","name":"cinit","event":"dropped","line":"logs: 42 lines dropped (reader too slow)","lines":42}` + "\n"
	if got != want {
		t.Errorf("JSON: %s", got)
	}
	if !bytes.Contains([]byte(render(Options{}, []Record{DroppedRecord(1, noon)})), []byte("1 line dropped")) {
		t.Error("singular")
	}
}
