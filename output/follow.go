package output

import (
	"math"
	"time"
)

// maxSpan stands for "no byte limit" in views and copyOut: as large as an
// int of this machine allows with room for sums (1<<62 does not fit the
// int of 32-bit targets).
const maxSpan = math.MaxInt >> 1

// Tail returns the last n lines of the logs ring, oldest first: at most
// the last 1000 lines, within the last 1 MiB of line text, of everything
// the Writer printed (the lines of every Pipe and cinit's events). Each
// Pipe's lines are in the order they were printed; across Pipes and
// events the order is the ring's, which records a read's lines just after
// they were written, so lines printed at the same moment may interleave
// differently than in the output. The records are copies; Tail never
// waits for the output stream.
func (w *Writer) Tail(n int) []Record {
	r := w.logs
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.collect(r.tailStart(n))
}

// Follow returns a Follower whose first [Follower.Next] returns at once
// what Tail(n) would (maybe nothing: Follow(0) for only new lines), and
// whose later calls return every line printed after those, without a gap
// or a repeat, until the Writer is closed.
func (w *Writer) Follow(n int) *Follower { return w.FollowSelected(n, nil) }

// FollowSelected is Follow for the records that keep selects (nil: all).
// Records left out are neither returned, nor counted for the follower's
// pace, nor counted as dropped: a follower of one quiet process loses
// nothing to another process's flood.
func (w *Writer) FollowSelected(n int, keep func(*Record) bool) *Follower {
	r := w.logs
	spare := r.reserveBuffers()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range spare {
		r.putBuffer(b, true)
	}
	f := &Follower{r: r, keep: keep, at: r.lines, tail: r.collect(r.tailStart(n)), first: true, done: make(chan struct{})}
	f.tail = f.selected(f.tail)
	r.followers = append(r.followers, f)
	return f
}

// Follower reads the lines of a [Writer] as they are printed (cinit logs
// -f). It never slows the Writer down: it reads from the logs ring, which
// keeps what a follower has not read yet up to 4 MiB of memory (shared by
// all followers, counted from the newest line): a bounded queue, whose
// memory the first Follow reserves and the last Close gives back (ring.go,
// "The followers' reserve"). When a follower falls further behind, its
// oldest unread lines are dropped, and its next call of Next reports how
// many. A follower that stops calling Next costs only that memory, and
// nothing once it is closed.
//
// A follower is also given at most 4 MiB of lines a second (followRate;
// each line counted with 32 bytes more), so that followers cannot take
// the CPU from the children and the Writer when the output runs at full
// speed: Next waits as long as the lines it returned last are worth
// first. Lines that come faster pile up in the queue and are dropped as
// above.
type Follower struct {
	r    *ring
	keep func(*Record) bool // the records it follows; nil: all

	// Guarded by r.mu.
	at      uint64 // the number of the next line to return
	pos     int    // where line posAt starts in its chunk's bytes
	posAt   uint64 // the line pos is for; pos is 0 for another line
	closed  bool
	lost    int    // selected lines dropped before it read them, not reported yet
	copying bool   // next is copying lines out without the lock
	gone    []span // chunks dropped meanwhile: lost as far as the copy did not reach

	done chan struct{} // closed by Close

	// Owned by the goroutine that calls Next.
	due   time.Time // the time before which Next returns nothing more
	tail  []Record  // what Follow found
	first bool      // Next has not returned tail yet
	recs  []Record  // the records of the last Next, reused
	buf   []byte    // their lines, reused
	spans []int     // where each record's line starts and ends in buf
	views []view    // the chunks being read, reused
}

// The most one Next returns, and the most a follower is given. A batch is
// small because a follower keeps its batch's records, lines and rendering
// for reuse: 512 records are about 90 KB, and the lines under 32 KiB
// (twice as much with the rendering). With 4096 records and 256 KiB, four
// new followers made cinit fault in about 11 MB more memory in their
// first batches (2,900 page faults), and on a virtual machine, where a
// page fault costs about 15 µs, that slowed the output down while they
// started (BENCHMARKS.md, "The logs ring and cinit logs -f followers").
// At followRate, a follower needs only 128 batches a second.
const (
	nextRecords = 512
	nextBytes   = 32 << 10
	followRate  = 4 << 20 // bytes a second
	recordCost  = 32      // bytes counted for a line besides its text
)

// Next returns the lines of Follow's tail the first time, without
// waiting; then it waits for lines printed after those already returned,
// and returns them, oldest first, with the number of lines that were
// dropped before them because the follower fell too far behind (recs may
// then be empty). It returns ok false once the Writer is closed and every line
// has been returned, or once the Follower is closed. The records and their
// lines stay valid until the next call of Next. Next must not be called
// from several goroutines at once.
func (f *Follower) Next() (recs []Record, dropped int, ok bool) {
	if f.first {
		recs, f.tail, f.first = f.tail, nil, false
		return recs, 0, true
	}
	if !f.pace() {
		return nil, 0, false
	}
	r := f.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for !f.closed {
		if f.at < r.lines {
			recs, dropped, ok = f.next()
			f.charge(recs)
			return recs, dropped, ok
		}
		if r.closed {
			return nil, 0, false
		}
		r.waiting++
		r.cond.Wait()
		r.waiting--
	}
	return nil, 0, false
}

// pace waits until f.due, and reports false if f is closed meanwhile.
// Once the Writer is closed, nothing can be slowed down any more: the
// follower reads what is left at once.
func (f *Follower) pace() bool {
	wait := time.Until(f.due)
	if wait <= 0 || f.r.ended.Load() {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.r.end:
		return true
	case <-f.done:
		return false
	}
}

// charge moves f.due by the time that recs are worth at followRate.
func (f *Follower) charge(recs []Record) {
	size := 0
	for i := range recs {
		size += len(recs[i].Line) + recordCost
	}
	if now := time.Now(); f.due.Before(now) {
		f.due = now
	}
	f.due = f.due.Add(time.Duration(size) * time.Second / followRate)
}

// next returns the lines from f.at on; the caller holds r.mu and knows
// there are some, or some dropped. The lock is not held while lines are
// cut and copied, so that a follower never holds up a Pipe that records:
// next takes a copy of the chunks' descriptions and pins their blocks,
// which keeps their memory from being reused until it has copied the
// lines out.
func (f *Follower) next() ([]Record, int, bool) {
	r := f.r
	i := r.find(f.at)
	start := r.lines
	if i < r.count {
		start = max(f.at, r.at(i).first)
	}
	dropped := f.lost
	f.lost = 0
	pos := 0
	if f.posAt == start {
		pos = f.pos
	}
	f.views = r.views(f.views[:0], i, start, nextRecords, nextBytes, true)
	f.copying = true
	r.mu.Unlock()
	f.recs, f.buf, f.spans = f.recs[:0], f.buf[:0], f.spans[:0]
	var at uint64
	f.recs, f.buf, f.spans, at, pos = copyOut(f.views, f.recs, f.buf, f.spans, start, pos, nextRecords, nextBytes, true)
	r.mu.Lock()
	for _, v := range f.views {
		if v.c.blk != nil {
			r.unpin(v.c.blk)
		}
	}
	clear(f.views) // let go of the blocks
	f.at, f.pos, f.posAt = at, pos, at
	f.copying = false
	for _, g := range f.gone {
		if g.end > at {
			f.lost += int(g.end - max(at, g.first))
		}
	}
	f.gone = f.gone[:0]
	return f.selected(f.recs), dropped, true
}

// span is the line numbers of a dropped chunk.
type span struct{ first, end uint64 }

// selected keeps the records f follows, in place.
func (f *Follower) selected(recs []Record) []Record { return Select(recs, f.keep) }

// Select keeps the records of recs that keep selects, in place (keep nil:
// all of them), and returns them.
func Select(recs []Record, keep func(*Record) bool) []Record {
	if keep == nil {
		return recs
	}
	out := recs[:0]
	for i := range recs {
		if keep(&recs[i]) {
			out = append(out, recs[i])
		}
	}
	return out
}

// dropping counts c's lines that f has not read as lost, if f follows
// them; the caller holds r.mu and is about to drop c.
func (f *Follower) dropping(c *chunk) {
	if f.keep != nil {
		rec := Record{Name: cinitName}
		if c.ev != nil {
			rec = eventRecord(c)
		} else if c.src != nil {
			rec = Record{Name: c.src.name, Stream: c.src.stream}
		}
		if !f.keep(&rec) {
			return
		}
	}
	switch {
	case f.copying:
		f.gone = append(f.gone, span{c.first, c.end()})
	case f.at < c.end():
		f.lost += int(c.end() - max(f.at, c.first))
	}
}

// view is a copy of a chunk's description and its bytes, which a
// follower reads without the ring's lock while the chunk's block is
// pinned.
type view struct {
	c chunk
	b []byte
}

// views appends to vs the chunks from index i on, enough for maxRecs
// lines from number at on, or maxBytes bytes, pinning their blocks if pin
// is set; the caller holds mu. The lines of the first chunk before at do
// not count: counted, they left Tail short of the newest lines.
func (r *ring) views(vs []view, i int, at uint64, maxRecs, maxBytes int, pin bool) []view {
	lines, size := 0, 0
	for ; i < r.count && lines < maxRecs && size < maxBytes; i++ {
		c := r.at(i)
		vs = append(vs, view{c: *c, b: r.bytesOf(c)})
		if pin && c.blk != nil {
			c.blk.pins++
		}
		if c.end() > at {
			lines += int(c.end() - max(at, c.first))
		}
		size += c.n
	}
	return vs
}

// Close stops f: a Next that waits returns ok false, and the ring no
// longer keeps lines for it. Close may be called from any goroutine, more
// than once.
func (f *Follower) Close() {
	r := f.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	close(f.done)
	for i, g := range r.followers {
		if g == f {
			r.followers = append(r.followers[:i], r.followers[i+1:]...)
			break
		}
	}
	r.cond.Broadcast()
	if len(r.followers) == 0 {
		r.shrink()
	}
}

// shrink gives back what followers made the ring keep: the caller holds
// mu and no follower is left.
func (r *ring) shrink() {
	r.trim()
	for i, b := range r.spare {
		readBufs.Put(b)
		r.spare[i] = nil
	}
	r.spare = nil
	if len(r.chunks) > 2*ringLines {
		r.resizeChunks(max(minChunks, r.count))
	}
}

// tailStart returns the number of the first of the last n lines that Tail
// returns; the caller holds mu.
func (r *ring) tailStart(n int) uint64 {
	n = min(n, ringLines)
	lines, size, first := 0, 0, r.lines
	for i := r.count - 1; i >= 0 && lines < n; i-- {
		c := r.at(i)
		if size+c.n > ringBytes {
			// Only the end of c fits: a chunk over ringBytes, kept whole
			// while a follower was attached.
			skip, _ := c.fit(r.bytesOf(c), ringBytes-size)
			if skip < c.lines {
				lines += c.lines - skip
				first = c.first + uint64(skip)
			}
			break
		}
		size += c.n
		lines += c.lines
		first = c.first
	}
	return first + uint64(max(lines-n, 0))
}

// collect returns copies of the lines from number at on, at most
// ringLines of them; the caller holds mu.
func (r *ring) collect(at uint64) []Record {
	vs := r.views(nil, r.find(at), at, ringLines, maxSpan, false)
	recs, _, _, _, _ := copyOut(vs, nil, nil, nil, at, 0, ringLines, maxSpan, false)
	return recs
}

// copyOut appends to recs the lines of vs from number at on, at most
// maxRecs of them and about maxBytes of line text, copying their text
// into buf; recs, buf and spans (scratch space) must be empty. pos is
// where line at starts in its chunk's bytes, or 0 to find it. Lines that
// were dropped are skipped, or end the copy when gaps is set and some
// were copied. It returns recs, buf and spans, and the number of the line
// after the last one returned and where it starts.
func copyOut(vs []view, recs []Record, buf []byte, spans []int, at uint64, pos, maxRecs, maxBytes int, gaps bool) ([]Record, []byte, []int, uint64, int) {
	size := 0
	for i := 0; i < len(vs) && len(recs) < maxRecs && size < maxBytes; i++ {
		c, b := &vs[i].c, vs[i].b
		if c.end() <= at {
			continue
		}
		if at < c.first {
			if gaps && len(recs) > 0 {
				break
			}
			at, pos = c.first, 0
		}
		if c.ev != nil {
			spans = append(spans, len(buf))
			buf = append(buf, c.ev.Text...)
			spans = append(spans, len(buf))
			recs = append(recs, eventRecord(c))
			at, pos = at+1, 0
			continue
		}
		if pos == 0 {
			for range at - c.first {
				_, pos = c.next(b, pos)
			}
		}
		for ; at < c.end() && len(recs) < maxRecs && size < maxBytes; at++ {
			var line []byte
			line, pos = c.next(b, pos)
			spans = append(spans, len(buf))
			buf = append(buf, line...)
			spans = append(spans, len(buf))
			size += len(line)
			recs = append(recs, Record{Time: c.t, Name: c.src.name, Stream: c.src.stream,
				Color: c.src.color, Raw: c.src.raw})
		}
		if at == c.end() {
			pos = 0
		}
	}
	for i := range recs {
		recs[i].Line = buf[spans[2*i]:spans[2*i+1]:spans[2*i+1]]
	}
	return recs, buf, spans, at, pos
}

// eventRecord returns the record of an event's chunk, without its line.
func eventRecord(c *chunk) Record {
	e := c.ev
	return Record{Time: c.t, Name: cinitName, Event: e.Kind, Process: e.Process,
		Pid: e.Pid, Code: e.Code, Signal: e.Signal}
}

// recordEvent keeps e, formatted at time t, in the ring.
func (r *ring) recordEvent(e *Event, t time.Time) {
	if r == nil { // benchmarks measure the Writer without a ring
		return
	}
	ev := *e
	if e.Code != nil {
		code := *e.Code
		ev.Code = &code
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := chunk{ev: &ev, t: t, lines: 1, first: r.lines}
	r.lines = c.end()
	r.add(c)
}
