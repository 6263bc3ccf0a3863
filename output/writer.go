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
// A [Pipe] reads its file in chunks of 64 KiB, formats every complete line of
// a chunk into one batch and writes the batch with one Write call, under the
// Writer's lock. Per pipe it keeps its read buffer, at most one unfinished
// line (1 MiB plus one chunk at most), and the batch (256 KiB plus one
// formatted line at most; a formatted 1 MiB piece is larger in JSON when it
// is full of escapes). The buffers are kept for reuse, so a process that once
// printed a long line keeps that much memory. When the underlying stream
// blocks, the write blocks, [Pipe.Run] stops reading, and the child blocks on
// its full pipe: nothing is dropped and nothing grows. [Writer.Event] never
// blocks: events are queued to a goroutine of the [Writer] that writes them
// in order.
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
	"sync"
	"sync/atomic"
	"time"
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
	opts Options // Now is never nil

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
}

// New returns a Writer that writes to w. It starts one goroutine for
// [Writer.Event], which [Writer.Close] stops.
func New(w io.Writer, o Options) *Writer {
	if o.Now == nil {
		o.Now = time.Now
	}
	wr := &Writer{out: w, opts: o, broken: make(chan struct{})}
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

// Close prints the events queued so far and stops the goroutine that prints
// them, waiting for a stalled stream if need be. It returns [Writer.Err].
// Every Pipe's Run must have returned before Close is called. An Event
// after Close is written directly, blocking its caller. Close may be called
// more than once.
func (w *Writer) Close() error {
	w.events.close()
	<-w.events.done
	return w.Err()
}

// isBroken reports whether output is being discarded. Pipes use it to skip
// formatting lines that would be dropped anyway.
func (w *Writer) isBroken() bool {
	return w.failed.Load()
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
