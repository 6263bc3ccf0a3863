package output

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The logs ring keeps the end of the merged output in memory, for
// [Writer.Tail] and [Writer.Follow] (cinit logs).
//
// What it keeps. The last ringLines lines within the last ringBytes bytes
// of memory, cinit's events included, in the order they were recorded. A
// line longer than the limit is kept as the pieces the Writer printed,
// each a line. While followers exist, lines that a follower has not read
// yet are kept too, up to followBytes of memory (see [Follower]).
//
// How it keeps them. Lines are not recorded one by one: at the end of
// each read, a Pipe hands the ring the bytes of the lines it has just
// printed, exactly as it read them, with the position of the last '\n'
// and the number of lines they make (a chunk). The lines are cut out of a
// chunk again only when somebody reads them (chunk.next applies the same
// rules as the Pipe). A large read is not even copied: the Pipe gives its
// read buffer to the ring and takes another one from the pool, as it
// would after going idle, and the ring puts the buffer back in the pool
// when the chunk is dropped. A read is large when its chunk holds a
// quarter of the lines the ring keeps for Tail (handoffLines), or fills
// its buffer to 15/16 (handoffBytes): so the buffers the ring holds keep
// 1000 lines, or lines that fill their memory. So when cinit's output
// runs at full speed, recording costs one lock and no copy per read, and
// no work per line; other reads are copied, at a time when the Pipe is
// waiting for its writer anyway (a read of a few long lines is copied,
// or the ring's 1 MiB would hold mostly empty buffers: 656-byte lines in
// reads of 64 KiB kept 303 lines). A copy fills the room left in the
// current block first, split at a line's end (splitForRoom), so that the
// blocks hold lines end to end.
//
// Memory. The ring's memory is a list of blocks: the read buffers it was
// given, and blocks it copies small chunks into, one after the other. The
// first such block is minStore bytes, the next ones twice as large as the
// one before, up to readSize; a longer line's chunk (at most ringBytes,
// cut down to the lines that fit) gets a block of its own size. Nothing
// is allocated until the first line. A block is freed, or goes back to
// the pool, once its last chunk is dropped; the blocks held stay within
// ringBytes, or followBytes while followers exist. Blocks of readSize
// come from the read buffers' pool and go back to it: small reads keep
// the ring copying for as long as the output runs, and a block allocated
// each time would leave one for the collector every readSize bytes,
// growing the heap, and the idle memory after a burst, to the collector's
// goal instead of what the ring holds.
const (
	ringLines    = 1000                        // lines kept for Tail
	ringBytes    = 1 << 20                     // memory kept for Tail
	followBytes  = 4 << 20                     // how far a follower may fall behind, metadata included
	chunkCost    = int(unsafe.Sizeof(chunk{})) // bytes counted per chunk against followBytes
	minStore     = 4 << 10                     // size of the first block
	handoffLines = ringLines / 4               // a chunk of this many lines is worth a buffer
	handoffBytes = readSize - readSize/16      // and so is a buffer this full
	minChunks    = 16                          // first length of the chunk queue
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
// blk.buf[off:off+n]; they are the lines as read, split as follows. If
// split is 0 or more, the bytes before split are whole lines separated by
// '\n' (one '\r' before each end is dropped, and a line longer than the
// limit is cut into pieces of the limit), and the bytes after split+1, if
// any, are pieces of exactly the limit of a line not yet ended. If split
// is -1, all the bytes are such pieces.
type chunk struct {
	src   *source // nil for an event
	ev    *Event  // the event; nil for lines
	t     time.Time
	blk   *block // nil for an event
	off   int
	n     int
	split int
	first uint64 // the number of its first line
	lines int    // how many lines it makes
}

// block is memory of the ring: a read buffer given by a Pipe, holding
// one chunk, or a block that chunks are copied into.
type block struct {
	buf   []byte
	used  int        // bytes of buf taken by chunks
	live  int        // chunks whose bytes are in buf
	pool  *sync.Pool // where buf goes back to, if anywhere
	pins  int        // followers copying lines out of buf without the lock
	freed bool       // free was called while pinned: the last unpin frees
}

// bigBlocks holds the blocks of long lines' chunks, so that a stream of
// long lines does not allocate a block per line.
var bigBlocks = sync.Pool{New: func() any { return new([ringBytes]byte) }}

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

	chunks []chunk // a circular queue: chunks[(head+i)%len(chunks)], i < count
	head   int
	count  int
	kept   int    // Σ lines of the chunks
	cur    *block // the block that small chunks are copied into; nil at first
	mem    int    // Σ len(buf) of the blocks held

	lines uint64 // the number of the next line to be recorded
	gone  uint64 // every line before this number was dropped

	followers []*Follower
	spare     []*[readSize]byte // the followers' reserve (see followSpares)
	waiting   int               // followers waiting on cond
	closed    bool              // the Writer is closed: followers get EOF once they have read everything

	// end is closed, and ended set, when closed is set; followers that
	// pace themselves look at them without the lock.
	end   chan struct{}
	ended atomic.Bool
}

// newRing returns an empty ring; it allocates nothing more until the
// first line.
func newRing() *ring {
	r := &ring{end: make(chan struct{})}
	r.cond.L = &r.mu
	return r
}

// record keeps the lines of c, whose bytes are b. c.first, c.blk, c.off
// and c.n are set here. If own is not nil, b is at the start of it, and
// the ring takes it over; else b is copied.
func (r *ring) record(c chunk, b []byte, own *[readSize]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.first = r.lines
	r.lines = c.end()
	if own != nil {
		c.blk = r.newBlock(readSize, own[:])
		c.blk.pool = &readBufs
		r.keep(c, len(b))
		return
	}
	if len(b) > ringBytes && len(r.followers) == 0 {
		// Tail keeps 1 MiB; a follower may fall 4 MiB behind, and a
		// chunk is at most a read and the piece of a line before it.
		// The lines cut came after every line held: those go too,
		// or Tail would skip the cut ones in the middle.
		first := c.first
		if c, b = c.cut(b); c.first > first {
			r.dropAll()
		}
	}
	// A block counts whole against the ring's memory, so the room left in
	// the current one is filled before another is taken: the first lines
	// of a chunk that does not fit whole go there.
	for {
		head, rest, n, ok := r.splitForRoom(c, b)
		if !ok {
			break
		}
		r.copyIn(head, b[:n])
		c, b = rest, b[n:]
	}
	r.copyIn(c, b)
}

// copyIn copies chunk c, whose bytes are b, into a block and keeps it.
func (r *ring) copyIn(c chunk, b []byte) {
	c.blk = r.space(len(b))
	c.off = c.blk.used
	copy(c.blk.buf[c.off:], b)
	r.keep(c, len(b))
}

// keep queues c, whose n bytes are in c.blk from c.off.
func (r *ring) keep(c chunk, n int) {
	c.n = n
	c.blk.used = c.off + n
	c.blk.live++
	r.add(c)
}

// splitForRoom splits c, whose bytes are b, when it does not fit in the
// room left in the current block and at least one of its first lines
// does: head is the lines that fit, its first n bytes, and rest the
// others. Less room than minStore is not worth a chunk.
func (r *ring) splitForRoom(c chunk, b []byte) (head, rest chunk, n int, ok bool) {
	if r.cur == nil || c.src == nil {
		return c, c, 0, false
	}
	room := len(r.cur.buf) - r.cur.used
	if len(b) <= room || room < minStore {
		return c, c, 0, false
	}
	return c.splitAt(b, room)
}

// splitAt splits c, whose bytes are b, after the lines that fit in room
// bytes: head is those lines, their n bytes, and rest the others. It
// reports false when not even the first line fits.
func (c chunk) splitAt(b []byte, room int) (head, rest chunk, n int, ok bool) {
	k, n := c.take(b, room)
	if k == 0 {
		return c, c, 0, false
	}
	head = c
	head.lines = k
	head.split = bytes.LastIndexByte(b[:min(n, c.split+1)], '\n')
	return head, c.after(k, n), n, true
}

// take returns how many of the first lines of c, whose bytes are b, fit
// in room bytes, and where the lines after them start.
func (c *chunk) take(b []byte, room int) (k, pos int) {
	for k < c.lines {
		_, next := c.next(b, pos)
		if next > room {
			break
		}
		k, pos = k+1, next
	}
	return k, pos
}

// add queues c, drops what is no longer needed and wakes the followers.
// While followers exist, the chunks' descriptions count against
// followBytes with every chunk, not only when a block is allocated: a
// stopped follower behind a child that prints empty lines one at a time
// would otherwise hold a queue of millions of chunks in one block.
func (r *ring) add(c chunk) {
	r.kept += c.lines
	r.push(c)
	r.trim()
	for r.count > 1 && r.over(0) {
		r.makeRoom()
	}
	if r.waiting > 0 {
		r.cond.Broadcast()
	}
}

// cut drops lines from the front of c, whose bytes are b, until what is
// left fits in ringBytes. Their numbers stay used, so that a follower
// learns that it lost them.
func (c chunk) cut(b []byte) (chunk, []byte) {
	skipped, pos := c.fit(b, ringBytes)
	return c.after(skipped, pos), b[pos:]
}

// after returns the chunk of the lines of c after its first k, which take
// its first pos bytes.
func (c chunk) after(k, pos int) chunk {
	c.lines -= k
	if c.split >= 0 {
		c.split -= pos // below 0 once pos is past split: only pieces are left
		c.split = max(c.split, -1)
	}
	c.first += uint64(k)
	return c
}

// fit returns how many of the first lines of c, whose bytes are b, must
// be left out for the rest to take at most room bytes, and where the rest
// starts in b.
func (c *chunk) fit(b []byte, room int) (skip, pos int) {
	for len(b)-pos > room && skip < c.lines {
		_, pos = c.next(b, pos)
		skip++
	}
	return skip, pos
}

// space returns a block with room for n more bytes: the current block,
// or a new one.
func (r *ring) space(n int) *block {
	if b := r.cur; b != nil {
		if b.used+n <= len(b.buf) {
			return b
		}
		if b.live == 0 && b.pins == 0 && n <= len(b.buf) {
			b.used = 0
			return b
		}
	}
	size := minStore
	if r.cur != nil {
		size = min(2*len(r.cur.buf), readSize)
	}
	for size < n {
		size *= 2
	}
	var b *block
	switch {
	case size == ringBytes: // a long line's chunk: a block of its own, pooled
		b = r.newBlock(ringBytes, bigBlocks.Get().(*[ringBytes]byte)[:])
		b.pool = &bigBlocks
	case size > readSize: // one of half that size, which leaves room for older lines
		b = r.newBlock(size, nil)
	case len(r.spare) > 0: // followers' room is in their reserve
		b = r.newBlock(readSize, r.takeSpare()[:])
		b.pool = &readBufs
	case size == readSize: // from the pool, and back to it once dropped
		b = r.newBlock(readSize, readBufs.Get().(*[readSize]byte)[:])
		b.pool = &readBufs
	default:
		b = r.newBlock(size, nil)
	}
	if old := r.cur; old != nil && old.live == 0 {
		r.free(old)
	}
	r.cur = b
	return b
}

// newBlock returns a block of size bytes, using buf if it is not nil,
// after dropping the oldest chunks until the memory held stays within
// its bound.
func (r *ring) newBlock(size int, buf []byte) *block {
	for r.over(size) {
		if !r.makeRoom() {
			break
		}
	}
	if buf == nil {
		buf = make([]byte, size)
	}
	r.mem += len(buf)
	return &block{buf: buf}
}

// makeRoom gives up what costs the least of the memory the ring holds: a
// buffer of the reserve, which holds no lines; else the oldest chunk,
// whose buffer may go to the reserve and then, on the next call, to the
// pool; else the current block, when the chunk of a long line needs all
// the room. It reports false when nothing is left to give up.
func (r *ring) makeRoom() bool {
	switch {
	case len(r.spare) > 0:
		readBufs.Put(r.takeSpare())
	case r.count > 0:
		r.drop()
	case r.cur != nil:
		r.free(r.cur)
		r.cur = nil
	default:
		return false
	}
	return true
}

// over reports whether a new block of size bytes would take the memory
// held beyond its bound, the chunks' descriptions counted while followers
// exist.
func (r *ring) over(size int) bool {
	return r.held()+size+r.count*chunkCost*min(len(r.followers), 1) > r.maxMem()
}

// held returns the memory of the blocks and of the followers' reserve.
func (r *ring) held() int {
	return r.mem + len(r.spare)*readSize
}

// maxMem returns how much memory the blocks and the reserve may hold.
func (r *ring) maxMem() int {
	if len(r.followers) > 0 {
		return followBytes
	}
	return ringBytes
}

// free gives up block b, whose last chunk was dropped, or once no
// follower reads from it any more.
func (r *ring) free(b *block) {
	if b.pins > 0 {
		b.freed = true
		return
	}
	r.mem -= len(b.buf)
	switch b.pool {
	case &readBufs:
		r.putBuffer((*[readSize]byte)(b.buf), len(r.followers) > 0)
	case &bigBlocks:
		bigBlocks.Put((*[ringBytes]byte)(b.buf))
	}
	b.buf = nil
}

// The followers' reserve. While followers exist, the ring keeps up to
// followBytes of lines instead of ringBytes, and when the output runs at
// full speed it fills that room with the read buffers the Pipes hand
// over, each replaced by a new one. Those buffers are reserved, and their
// pages faulted in, when the first follower comes (reserveBuffers), so
// that the queue's memory is taken when somebody attaches and not while
// the output runs: a page fault costs about 15 µs on a virtual machine,
// and growing by 3 MiB in the output's path took several percent of its
// throughput (BENCHMARKS.md, "The logs ring and cinit logs -f
// followers"). Buffers freed while followers exist go back to the
// reserve; the last follower's Close gives it all back to the pool. The
// reserve counts against followBytes, and the ring copies small chunks
// into its buffers too: while a follower is attached, the ring holds
// followBytes, the bound of the followers' queue, as a buffered channel
// of that capacity would, and never more. Where lines need room that
// the reserve holds, the reserve shrinks before any line is dropped: its
// buffers go to the pool, where the Pipes find them again. So once the
// queue is full, the buffers of the dropped chunks go round through the
// pool, their pages still in place.
const (
	followSpares = (followBytes - ringBytes) / readSize // buffers in the reserve
	pageSize     = 4 << 10                              // the smallest page size cinit runs with
)

// reserveBuffers returns the buffers that the followers' reserve lacks,
// their pages faulted in, unless followers exist already (their reserve
// is in use). The caller keeps them with putBuffer once it holds mu; no
// Pipe waits for the page faults.
func (r *ring) reserveBuffers() []*[readSize]byte {
	r.mu.Lock()
	n := 0
	if len(r.followers) == 0 {
		n = followSpares - len(r.spare)
	}
	r.mu.Unlock()
	bufs := make([]*[readSize]byte, n)
	for i := range bufs {
		b := readBufs.Get().(*[readSize]byte)
		for j := 0; j < readSize; j += pageSize {
			b[j] = 0 // fault the page in now
		}
		bufs[i] = b
	}
	return bufs
}

// putBuffer gives up read buffer b: to the followers' reserve if keep is
// set and the reserve is not full, else to the pool. The caller holds mu.
func (r *ring) putBuffer(b *[readSize]byte, keep bool) {
	if keep && len(r.spare) < followSpares {
		r.spare = append(r.spare, b)
		return
	}
	readBufs.Put(b)
}

// buffer returns a read buffer for a Pipe that has handed its own to
// the ring: one of the reserve if there is one, else one of the pool.
func (r *ring) buffer() *[readSize]byte {
	var b *[readSize]byte
	r.mu.Lock()
	if len(r.spare) > 0 {
		b = r.takeSpare()
	}
	r.mu.Unlock()
	if b == nil {
		b = readBufs.Get().(*[readSize]byte)
	}
	return b
}

// takeSpare takes a buffer out of the reserve, which is not empty; the
// caller holds mu.
func (r *ring) takeSpare() *[readSize]byte {
	n := len(r.spare) - 1
	b := r.spare[n]
	r.spare[n] = nil
	r.spare = r.spare[:n]
	return b
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
	for _, f := range r.followers {
		f.dropping(c)
	}
	if b := c.blk; b != nil {
		b.live--
		if b.live == 0 && b != r.cur {
			r.free(b)
		}
	}
	r.kept -= c.lines
	r.gone = c.end()
	*c = chunk{}
	r.head = (r.head + 1) % len(r.chunks)
	r.count--
}

// dropAll drops every chunk held.
func (r *ring) dropAll() {
	for r.count > 0 {
		r.drop()
	}
}

// trim drops the oldest chunks that neither Tail nor a follower needs:
// those before the last ringLines lines and beyond ringBytes of memory.
func (r *ring) trim() {
	need := r.need()
	for r.count > 0 {
		c := r.at(0)
		if need < c.end() || r.kept-c.lines < ringLines && r.mem <= ringBytes {
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
	if c.blk == nil {
		return nil
	}
	return c.blk.buf[c.off : c.off+c.n]
}

// unpin ends a follower's read of block b (see Follower.next).
func (r *ring) unpin(b *block) {
	b.pins--
	if b.pins == 0 && b.freed {
		r.free(b)
	}
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
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.ended.Store(true)
		close(r.end)
		r.cond.Broadcast()
	}
}
