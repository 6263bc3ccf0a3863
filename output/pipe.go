package output

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxLine is the longest line printed whole; a longer line is printed
	// as pieces of exactly maxLine bytes.
	maxLine = 1 << 20
	// readSize is how much a Pipe asks of its file per Read: a full Linux
	// pipe buffer.
	readSize = 64 << 10
	// flushSize bounds a batch: once it holds this much, it is written
	// before more lines are added, so a chunk of many short lines cannot
	// blow up into a large batch.
	flushSize = 256 << 10
)

// Pipe copies one child pipe to a [Writer], line by line. Create it with
// [Writer.Pipe] and call [Pipe.Run] in a goroutine of its own.
type Pipe struct {
	// Immutable after Writer.Pipe.
	w     *Writer
	f     *os.File
	fmt   *formatter
	limit int // maxLine; tests lower it to exercise long lines cheaply

	// Shared between Exited and Run, guarded by mu.
	mu       sync.Mutex
	done     func() // set by Exited, taken (and set to nil) by its caller
	finished bool   // Run has returned; Exited must call done itself

	// exited is set by Exited after done is stored, so that Run can check
	// for it after every Read without taking mu.
	exited atomic.Bool

	// State owned by Run's goroutine.
	buf       []byte // read buffer
	pending   []byte // the start of a line whose '\n' has not been read
	batch     []byte // formatted lines waiting for one write
	draining  bool   // Exited was seen and bytes are left to read
	remaining int    // bytes still to read before done can be called
	notified  bool   // Run has called done
}

// Pipe returns a Pipe that copies f, the read end of a child's pipe, to w,
// showing its lines under l in stream s. f should come from os.Pipe: it
// must be pollable for [Pipe.Exited] to interrupt a blocked Read, and
// FIONREAD must work on it. The Pipe owns f from now on: Run closes it.
func (w *Writer) Pipe(l Label, s Stream, f *os.File) *Pipe {
	return &Pipe{
		w:     w,
		f:     f,
		fmt:   newFormatter(w.opts, l.Name, paletteColor(l.Color), l.Raw, pipeFields(s)),
		limit: maxLine,
	}
}

// Run copies the pipe until EOF (or any other read error), prints a final
// partial line with a newline added, closes the file and returns. It blocks
// while the Writer's stream blocks.
func (p *Pipe) Run() {
	p.buf = make([]byte, readSize)
	for {
		n, err := p.f.Read(p.buf)
		p.consume(p.buf[:n])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Set by Exited: either the one it wanted, or a late one after
			// the exit was already handled. Either way, read on.
			p.f.SetReadDeadline(time.Time{})
		} else if err != nil {
			break
		}
		p.checkExited(n)
	}
	p.flushPartial()
	p.f.Close()
	p.finish()
}

// consume splits data into lines, formats them, and writes them. The last
// bytes of data that end no line are kept in pending.
func (p *Pipe) consume(data []byte) {
	if len(data) == 0 {
		return
	}
	if p.w.isBroken() {
		p.pending = p.pending[:0]
		return
	}
	p.fmt.begin()
	if len(p.pending) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			p.addPartial(data)
			p.write()
			return
		}
		p.endLine(data[:i])
		data = data[i+1:]
	}
	if p.fmt.json {
		data = p.lines(data)
	} else {
		data = p.textLines(data)
	}
	p.addPartial(data)
	p.write()
}

// lines formats the complete lines of data and returns the rest: the bytes
// after the last '\n'.
func (p *Pipe) lines(data []byte) []byte {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return data
		}
		p.emit(trimCR(data[:i]))
		data = data[i+1:]
	}
}

// textLines is lines for the text format (raw included), where a line is
// the head followed by the line's bytes as they are. This is the hot loop
// of cinit: a usual line costs one IndexByte and two copies; only a line
// with '\r' or over the limit takes the general path.
func (p *Pipe) textLines(data []byte) []byte {
	head, b, limit := p.fmt.head, p.batch, p.limit
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if i > limit || i > 0 && data[i-1] == '\r' {
			p.batch = b
			p.emit(trimCR(data[:i]))
			b = p.batch
		} else {
			b = append(b, head...)
			b = append(b, data[:i+1]...) // the line and its '\n'
		}
		data = data[i+1:]
		if len(b) >= flushSize {
			p.batch = b
			p.write()
			b = p.batch
		}
	}
	p.batch = b
	return data
}

// endLine formats the line that seg ends: pending, if any, followed by seg.
func (p *Pipe) endLine(seg []byte) {
	if len(p.pending) > 0 {
		seg = append(p.pending, seg...)
		p.pending = seg[:0] // seg is still read below, before pending grows
	}
	p.emit(trimCR(seg))
}

// addPartial appends data, which holds no '\n', to pending, and prints as
// many 1 MiB pieces from the front of pending as are sure to be pieces.
//
// A piece can be cut when pending holds more than limit bytes of the line.
// The one exception is when the byte past the limit is a '\r': it may be
// the '\r' of a "\r\n" and not part of the line, which would then be
// exactly limit bytes long and printed whole. So pending can hold up to
// limit+1 bytes between reads, plus one read's worth during addPartial.
func (p *Pipe) addPartial(data []byte) {
	p.pending = append(p.pending, data...)
	off := 0
	for p.canCut(p.pending[off:]) {
		p.add(p.pending[off : off+p.limit])
		off += p.limit
	}
	if off > 0 {
		n := copy(p.pending, p.pending[off:])
		p.pending = p.pending[:n]
	}
}

// canCut reports whether the first limit bytes of the unfinished line b
// are a piece of a longer line (see addPartial).
func (p *Pipe) canCut(b []byte) bool {
	return len(b) > p.limit+1 || len(b) == p.limit+1 && b[p.limit] != '\r'
}

// emit formats a complete line, cutting it into pieces of limit bytes when
// it is longer.
func (p *Pipe) emit(line []byte) {
	for len(line) > p.limit {
		p.add(line[:p.limit])
		line = line[p.limit:]
	}
	p.add(line)
}

// add formats one output line into the batch, writing the batch first if
// it is already large.
func (p *Pipe) add(line []byte) {
	if len(p.batch) >= flushSize {
		p.write()
	}
	p.batch = p.fmt.appendLine(p.batch, line)
}

// write hands the batch to the Writer with one write call.
func (p *Pipe) write() {
	p.w.write(p.batch)
	p.batch = p.batch[:0]
}

// flushPartial prints pending as a line of its own, if it holds anything.
func (p *Pipe) flushPartial() {
	if len(p.pending) == 0 {
		return
	}
	if !p.w.isBroken() {
		p.fmt.begin()
		p.emit(trimCR(p.pending))
		p.write()
	}
	p.pending = p.pending[:0]
}

// trimCR drops one '\r' from the end of line.
func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}
