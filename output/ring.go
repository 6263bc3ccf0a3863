package output

import (
	"bytes"
	"sync"
	"time"
)

// The logs ring keeps the end of the merged output in memory, for
// [Writer.Tail] and [Writer.Follow] (cinit logs).
//
// What it keeps. The last ringLines lines within the last ringBytes bytes
// of line text, cinit's events included, in the order they were
// recorded. A line longer than the limit is kept as the pieces the Writer
// printed, each a line. While followers exist, lines that a follower has
// not read yet are kept too, up to followBytes (see [Follower]).
//
// How it keeps them. Lines are not recorded one by one: at the end of
// each read, a Pipe hands the ring the bytes of the lines it has just
// printed, exactly as it read them, with the position of the last '\n'
// and the number of lines they make (a chunk). The ring copies them into
// one byte buffer with a single copy under its lock. The lines are cut
// out of a chunk again only when somebody reads them (chunk.next applies
// the same rules as the Pipe). So recording costs the printing path one
// lock, one copy of what it read, and no work per line.
//
// Memory. Nothing is allocated until the first line; the byte buffer then
// grows by doubling, up to ringBytes (followBytes while followers exist;
// it shrinks back when the last one leaves). A read larger than ringBytes
// (a long line) is cut down to the lines that fit before it is copied.
const (
	ringLines   = 1000    // lines kept for Tail
	ringBytes   = 1 << 20 // bytes of lines kept for Tail
	followBytes = 4 << 20 // how far a follower may fall behind, metadata included
	chunkCost   = 64      // bytes counted per chunk against followBytes
	minStore    = 4 << 10 // first size of the byte buffer
	minChunks   = 16      // first length of the chunk queue
)

// source is where the lines of a Pipe come from; one per Pipe, immutable.
type source struct {
	name   string
	stream string
	color  int
	raw    bool
	limit  int // the Pipe's line limit: longer lines were printed as pieces
}

// chunk is what one call of ring.record keeps: lines of one source that
// the Writer printed together, or one event. Its bytes are
// data[off:off+n]; they are the lines as read, split as follows. If split
// is 0 or more, the bytes before split are whole lines separated by '\n'
// (one '\r' before each end is dropped, and a line longer than the
// limit is cut into pieces of the limit), and the bytes after split+1,
// if any, are pieces of exactly the limit of a line not yet ended. If
// split is -1, all the bytes are such pieces.
type chunk struct {
	src   *source // nil for an event
	ev    *Event  // the event; nil for lines
	t     time.Time
	off   int
	n     int
	split int
	first uint64 // the number of its first line
	lines int    // how many lines it makes
}

// end returns the number of the line after the chunk's last.
func (c *chunk) end() uint64 {
	return c.first + uint64(c.lines)
}

// next returns the line that starts at pos of b, the chunk's bytes, and
// the position where the line after it starts.
func (c *chunk) next(b []byte, pos int) ([]byte, int) {
	lim := c.src.limit
	if pos > c.split { // a piece
		n := min(lim, len(b)-pos)
		return b[pos : pos+n], pos + n
	}
	end := c.split
	if i := bytes.IndexByte(b[pos:end], '\n'); i >= 0 {
		end = pos + i
	}
	line := trimCR(b[pos:end])
	if len(line) > lim {
		return line[:lim], pos + lim
	}
	return line, end + 1
}

// ring is the store of the logs ring. Everything in it is guarded by mu,
// which is never held while anything is written to the Writer's stream.
type ring struct {
	mu   sync.Mutex
	cond sync.Cond // followers wait on it for more lines, or for the end

	data   []byte  // the bytes of the chunks; nil until the first line
	chunks []chunk // a circular queue: chunks[(head+i)%len(chunks)], i < count
	head   int
	count  int
	bytes  int // Σ n of the chunks
	kept   int // Σ lines of the chunks
	rpos   int // the live bytes are data[rpos:wpos], circularly
	wpos   int

	lines uint64 // the number of the next line to be recorded
	gone  uint64 // every line before this number was dropped

	followers []*Follower
	waiting   int  // followers waiting on cond
	closed    bool // the Writer is closed: followers get EOF once they have read everything
}

// newRing returns an empty ring; it allocates nothing more until the
// first line.
func newRing() *ring {
	r := &ring{}
	r.cond.L = &r.mu
	return r
}

// record keeps the lines of c, whose bytes are b. c.first and c.off are
// set here. b is copied.
func (r *ring) record(c chunk, b []byte) {
	if c.lines == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c.first = r.lines
	r.lines = c.end()
	if len(b) > ringBytes {
		c, b = c.cut(b)
	}
	c.off, c.n = r.reserve(len(b), r.need()), len(b)
	copy(r.data[c.off:], b)
	r.wpos = c.off + len(b)
	r.bytes += len(b)
	r.kept += c.lines
	r.push(c)
	r.trim()
	if r.waiting > 0 {
		r.cond.Broadcast()
	}
}

// cut drops lines from the front of c, whose bytes are b, until what is
// left fits in ringBytes. Their numbers stay used, so that a follower
// learns that it lost them.
func (c chunk) cut(b []byte) (chunk, []byte) {
	pos, skipped := 0, 0
	for len(b)-pos > ringBytes {
		_, pos = c.next(b, pos)
		skipped++
	}
	c.lines -= skipped
	if c.split >= 0 {
		c.split -= pos // below 0 once pos is past split: only pieces are left
		c.split = max(c.split, -1)
	}
	c.first += uint64(skipped)
	return c, b[pos:]
}

// reserve returns where n bytes can go, making room by growing the
// buffer, while what is kept needs it, or by dropping the oldest chunks.
// need is the number of the oldest line that a follower has not read.
func (r *ring) reserve(n int, need uint64) int {
	for {
		if r.count > 0 && len(r.followers) > 0 &&
			r.bytes+n+(r.count+1)*chunkCost > followBytes {
			r.drop()
			continue
		}
		if off, ok := r.fit(n); ok {
			return off
		}
		if r.count == 0 || len(r.data) < r.maxData() &&
			(r.bytes+n > len(r.data) || need < r.at(0).end()) {
			r.resize(r.grownSize(r.bytes + n))
			continue
		}
		r.drop()
	}
}

// maxData returns how large the byte buffer may grow.
func (r *ring) maxData() int {
	if len(r.followers) > 0 {
		return followBytes
	}
	return ringBytes
}

// fit returns where n free bytes follow each other in data, if they do.
func (r *ring) fit(n int) (int, bool) {
	if r.bytes == 0 {
		r.rpos, r.wpos = 0, 0
	}
	if r.wpos > r.rpos || r.bytes == 0 { // free: data[wpos:] and data[:rpos]
		if n <= len(r.data)-r.wpos {
			return r.wpos, true
		}
		return 0, n <= r.rpos
	}
	return r.wpos, n <= r.rpos-r.wpos // free: data[wpos:rpos]
}

// grownSize returns the size of a grown buffer that holds need bytes:
// at least twice the old size, within maxData.
func (r *ring) grownSize(need int) int {
	size := max(minStore, 2*len(r.data))
	for size < need {
		size *= 2
	}
	return max(min(size, r.maxData()), need)
}

// resize moves the chunks to a new buffer of size bytes, which must hold
// them.
func (r *ring) resize(size int) {
	data := make([]byte, size)
	pos := 0
	for i := range r.count {
		c := r.at(i)
		pos += copy(data[pos:], r.data[c.off:c.off+c.n])
		c.off = pos - c.n
	}
	r.data, r.rpos, r.wpos = data, 0, pos
}

// push appends c to the chunk queue, growing it when it is full.
func (r *ring) push(c chunk) {
	if r.count == len(r.chunks) {
		r.resizeChunks(max(minChunks, 2*r.count))
	}
	r.chunks[(r.head+r.count)%len(r.chunks)] = c
	r.count++
}

// resizeChunks moves the chunk queue to a new one of length n.
func (r *ring) resizeChunks(n int) {
	chunks := make([]chunk, n)
	for i := range r.count {
		chunks[i] = *r.at(i)
	}
	r.chunks, r.head = chunks, 0
}

// at returns the i-th oldest chunk.
func (r *ring) at(i int) *chunk {
	return &r.chunks[(r.head+i)%len(r.chunks)]
}

// drop removes the oldest chunk.
func (r *ring) drop() {
	c := r.at(0)
	if c.n > 0 {
		r.rpos = c.off + c.n
	}
	r.bytes -= c.n
	r.kept -= c.lines
	r.gone = c.end()
	*c = chunk{}
	r.head = (r.head + 1) % len(r.chunks)
	r.count--
}

// trim drops the oldest chunks that neither Tail nor a follower needs:
// those before the last ringLines lines and beyond the last ringBytes
// bytes.
func (r *ring) trim() {
	need := r.need()
	for r.count > 0 {
		c := r.at(0)
		if need < c.end() || r.kept-c.lines < ringLines && r.bytes <= ringBytes {
			return
		}
		r.drop()
	}
}

// need returns the number of the oldest line that a follower has not
// read, or of the next line if there is none.
func (r *ring) need() uint64 {
	need := r.lines
	for _, f := range r.followers {
		need = min(need, f.at)
	}
	return need
}

// bytesOf returns the bytes of c.
func (r *ring) bytesOf(c *chunk) []byte {
	return r.data[c.off : c.off+c.n]
}

// find returns the index of the oldest chunk that holds line number at or
// a later one, or count if there is none.
func (r *ring) find(at uint64) int {
	lo, hi := 0, r.count
	for lo < hi {
		m := (lo + hi) / 2
		if r.at(m).end() <= at {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// close marks the end of the output and wakes every follower.
func (r *ring) close() {
	if r == nil { // benchmarks measure the Writer without a ring
		return
	}
	r.mu.Lock()
	r.closed = true
	r.cond.Broadcast()
	r.mu.Unlock()
}
