// Package output owns cinit's standard output: it multiplexes the pipes of
// the children into one stream of whole lines, each shown under the name of
// the process that wrote it, and prints cinit's own messages under the name
// "cinit".
//
// # Formats
//
// In [Text] format every line is
//
//	[HH:MM:SS ]NAME<pad> | LINE
//
// where NAME is left-aligned and padded to [Options.Width] so that the "|"
// separators line up. When [Options.Color] is set, only the prefix (the
// name, its padding and the "|") is colored; the child's bytes are never
// touched. The timestamp is printed only when [Options.Timestamps] is set.
//
// In [JSON] format every line is one object:
//
//	{"time":"2024-05-01T12:00:00.123456789Z","name":"web","stream":"stdout","line":"..."}
//
// Invalid UTF-8 in a line becomes U+FFFD (one per invalid byte) and control
// characters are escaped, so every output line is valid JSON. cinit's own
// messages carry "event" instead of "stream", plus the optional fields of
// [Event] that apply.
//
// A [Label] with Raw set prints its lines exactly as they are, without any
// prefix, in both formats (for children that log JSON themselves).
//
// # Lines
//
// The same rules hold in both formats:
//
//   - Lines are split on '\n' only. One '\r' right before the '\n' is
//     dropped, and so is one '\r' at the end of a final line that has no
//     '\n'. Empty lines are kept. In text mode every other byte passes
//     through unchanged, binary and invalid UTF-8 included.
//   - A line written in several pieces is one line. A final line without
//     '\n' is printed, with a newline added, when the pipe reaches EOF or
//     when [Pipe.Exited] has seen every byte of the exited process.
//   - A line longer than 1 MiB is printed as pieces of exactly 1 MiB (the
//     last piece may be shorter), each with its own prefix; no byte is lost.
//   - Every write to the underlying stream holds only whole formatted lines,
//     and writes never overlap, so lines of different processes never
//     interleave.
//
// # Memory and backpressure
//
// A [Pipe] reads its file into a read buffer, up to 256 KiB at a time,
// formats every complete line of the read into one batch and writes the
// batch with one Write call, under the Writer's lock. The bytes after the
// last '\n' stay at the start of the read buffer and the next read goes
// right after them, so a line written in pieces is put together where it
// was read. When the stream blocks, the write blocks, [Pipe.Run] stops
// reading, and the child blocks on its full pipe: nothing is dropped and
// nothing grows. [Writer.Event] never blocks: events are queued to a
// goroutine of the [Writer] that writes them in order.
//
// Buffers come from pools shared by all pipes. A Pipe takes a read buffer
// (256 KiB) and a batch (256 KiB plus one formatted line) only once its
// file is readable, and gives both back whenever the file is empty. An
// idle Pipe therefore holds no buffer, only an unfinished line of up to
// 4 KiB if there is one, and the memory of the buffers follows how many
// pipes are busy at once, not how many children there are. (Pooled
// buffers are freed by the garbage collector some cycles after they were
// last used.) A longer unfinished line keeps its buffer; one that outgrows
// the read buffer moves to a long buffer of 1.25 MiB (1 MiB of line plus
// a read), which is what bounds a line. A formatted 1 MiB piece is larger
// in JSON when it is full of escapes; such a batch is not pooled.
//
// # The output path
//
// The costs of a byte are the read from the child's pipe, the look for
// '\n', the copy into the batch and the write; the design keeps each to one.
//
//   - Short lines are copied once, into the batch after their prefix: the
//     prefix must go in front of every line, and a batch makes one write
//     of thousands of lines. The hot loop is an IndexByte and two appends
//     per line.
//   - Long lines are not copied at all when the Writer's stream is a file
//     (cinit's stdout): in text format a line from 16 KiB up goes out with
//     one writev of the batch so far, the prefix, the line where it lies in
//     the read buffer, and "\n". For another io.Writer it is copied into
//     the batch, so that every Write still holds whole lines.
//   - A pipe whose read returns at least 32 KiB has a writer that is ahead
//     of cinit; Run then raises its capacity to 1 MiB (F_SETPIPE_SZ, errors
//     ignored), so that both sides make fewer system calls and context
//     switches. Quiet pipes keep the default 64 KiB, which keeps the kernel
//     memory of a stalled stream and the per-user pipe quota
//     (/proc/sys/fs/pipe-user-pages-soft) in check.
//   - Reads go through the file's RawConn, so that the buffer is taken
//     only when the poller says there is data; deadlines still work, which
//     [Pipe.Exited] relies on.
//
// The Writer prints from whichever goroutine writes: a Pipe's Run, the
// event goroutine, and [Writer.Close], which prints what is left itself
// instead of waiting for the event goroutine, since waking another thread
// on the way out costs a good part of a millisecond on a busy machine.
//
// # Logs
//
// Every Writer keeps the end of what it printed in memory, for cinit logs:
// the logs ring, with the last 1000 lines (cinit's events included) in at
// most 1 MiB of memory, allocated from the first line on. [Writer.Tail]
// returns the last n lines as [Record] values; [Writer.Follow] returns a
// [Follower] that returns the same, then every later line, until
// [Writer.Close]. A [Renderer] prints a Record exactly as the Writer
// printed it, in either format; [DroppedRecord] is the notice for lines a
// follower lost. Recording never waits for the stream and never makes
// the stream wait: a Pipe hands the ring what it printed once per read, in
// O(1) under a short lock (a large read's buffer changes hands, a small
// one is copied), and lines are cut out again only when someone reads
// them. Followers read from the ring; one that falls behind loses its
// oldest lines, never slows anything down, and is told how many it lost.
// Their queue's 4 MiB are reserved when the first follower comes, so
// that the output path does not fault in new memory while it runs
// (ring.go and follow.go have the details).
//
// # Failure
//
// When a write to the underlying stream fails (typically EPIPE: the reader
// is gone), the [Writer] remembers the first error, closes the channel
// returned by [Writer.Broken] and discards all later output. Pipes keep
// being read so that children never block on them. The caller must keep
// SIGPIPE from killing the process (os/signal) for EPIPE to arrive as an
// error.
package output

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Format selects how lines are written.
type Format int

const (
	// Text prints "NAME | LINE", optionally with a time and colors.
	Text Format = iota
	// JSON prints one JSON object per line.
	JSON
)

// Options configures a [Writer]. The caller decides Color and Timestamps;
// this package never looks at terminals or at the environment, and never
// depends on the global switch of github.com/fatih/color.
type Options struct {
	Format     Format
	Color      bool             // color the text prefix
	Timestamps bool             // print HH:MM:SS before the name (text format)
	Width      int              // width of the name column: the longest display name, including "cinit"
	Now        func() time.Time // clock; nil means time.Now
}

// Writer owns the output stream. All of its methods are safe for concurrent
// use. Create it with [New], attach one [Pipe] per child pipe, and call
// [Writer.Close] after every Pipe's Run has returned.
type Writer struct {
	// Immutable after New.
	out  io.Writer
	opts Options         // Now is never nil
	file *os.File        // out, when it is a file
	raw  syscall.RawConn // file's descriptor, for writev; nil if out is no file

	// mu serializes writes to out: the goroutine holding it owns the stream.
	// It is held during a Write, so it can be held for a long time when the
	// reader of the stream is slow.
	mu sync.Mutex

	// Failure state. failed is set, then broken is closed, by the goroutine
	// holding mu whose Write failed; this happens at most once because
	// nobody writes after failed is set. err is guarded by errMu, which is
	// never held during a Write, so Err does not wait for a stalled stream.
	failed atomic.Bool
	broken chan struct{}
	errMu  sync.Mutex
	err    error

	// The event queue: formatted events, printed by whoever writes next.
	events eventQueue

	// logs is the logs ring (ring.go): the end of the output, for Tail and
	// Follow.
	logs *ring
}

// New returns a Writer that writes to w. It starts one goroutine for
// [Writer.Event], which [Writer.Close] stops.
func New(w io.Writer, o Options) *Writer {
	if o.Now == nil {
		o.Now = time.Now
	}
	wr := &Writer{out: w, opts: o, broken: make(chan struct{}), logs: newRing()}
	if f, ok := w.(*os.File); ok {
		if rc, err := f.SyscallConn(); err == nil {
			wr.file, wr.raw = f, rc
		}
	}
	wr.events.init(o)
	go wr.loop()
	return wr
}

// Broken returns a channel that is closed when a write to the underlying
// stream has failed. From then on all output is discarded.
func (w *Writer) Broken() <-chan struct{} {
	return w.broken
}

// Err returns the first error of a write to the underlying stream, or nil.
func (w *Writer) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// Close prints the events queued so far, waiting for a stalled stream if
// need be, and tells the goroutine that prints them to stop. Then every
// [Follower] gets the end of the output once it has read what was
// printed. It returns [Writer.Err]. Every Pipe's Run must have returned
// before Close is called. An Event after Close is written directly,
// blocking its caller (and kept for Tail, though followers no longer see
// it). Close may be called more than once. It prints in its caller's
// goroutine (see "The output path" above).
func (w *Writer) Close() error {
	w.events.close()
	w.write(nil)
	w.logs.close()
	return w.Err()
}

// isBroken reports whether output is being discarded. Pipes use it to skip
// formatting lines that would be dropped anyway.
func (w *Writer) isBroken() bool {
	return w.failed.Load()
}

// Hold runs f while no write to the stream is under way or can start:
// for a change that must not meet a write halfway, such as handing the
// terminal the stream goes to over to another process group. f must not
// write; Hold waits for a write under way, however slow.
func (w *Writer) Hold(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
}

// write prints the queued events, then b, which holds whole formatted
// lines, with one Write call each. After a failure it discards both.
func (w *Writer) write(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev := w.events.take(); len(ev) > 0 {
		w.writeLocked(ev)
		w.events.giveBack(ev)
	}
	w.writeLocked(b)
}

// writeLine prints the queued events, then the whole lines in batch
// followed by the line head+line+"\n", with one writev call: the line is
// not copied. Only a Pipe whose Writer has raw calls it.
func (w *Writer) writeLine(batch, head, line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev := w.events.take(); len(ev) > 0 {
		w.writeLocked(ev)
		w.events.giveBack(ev)
	}
	if w.failed.Load() {
		return
	}
	if err := w.writev([][]byte{batch, head, line, newline}); err != nil {
		w.fail(err)
	}
}

var newline = []byte{'\n'}

// writev writes all of bufs to the file, with as many writev calls as it
// takes; the caller holds w.mu. Like os.File.Write, it waits for a
// non-blocking descriptor to take more, and reports a write error as an
// *os.PathError.
func (w *Writer) writev(bufs [][]byte) error {
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		bufs, werr = writevAll(int(fd), bufs)
		return werr != unix.EAGAIN // EAGAIN: wait until fd takes more
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: w.file.Name(), Err: err}
	}
	return nil
}

// writevAll calls writev until all of bufs is written or it fails, and
// returns what is left to write.
func writevAll(fd int, bufs [][]byte) ([][]byte, error) {
	for bufs = advance(bufs, 0); len(bufs) > 0; {
		n, err := writev(fd, bufs)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return bufs, err
		case n <= 0:
			return bufs, io.ErrShortWrite
		}
		bufs = advance(bufs, n)
	}
	return nil, nil
}

// advance drops the first n bytes from bufs, and the empty buffers that
// are then in front.
func advance(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && (n > 0 || len(bufs[0]) == 0) {
		k := min(n, len(bufs[0]))
		bufs[0] = bufs[0][k:]
		n -= k
		if len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
	}
	return bufs
}

// writeLocked writes b; the caller holds w.mu.
func (w *Writer) writeLocked(b []byte) {
	if len(b) == 0 || w.failed.Load() {
		return
	}
	if _, err := w.out.Write(b); err != nil {
		w.fail(err)
	}
}

// fail records err and marks the Writer broken. The caller holds w.mu.
func (w *Writer) fail(err error) {
	w.errMu.Lock()
	w.err = err
	w.errMu.Unlock()
	w.failed.Store(true)
	close(w.broken)
}
