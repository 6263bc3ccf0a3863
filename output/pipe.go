package output

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxLine is the longest line printed whole; a longer line is printed
	// as pieces of exactly maxLine bytes.
	maxLine = 1 << 20
	// readSize is the most a Pipe asks of its file per read, and the size
	// of a read buffer: a quarter of a grown pipe (pipeSize).
	readSize = 256 << 10
	// minRoom is the least free space a read is made with. When an
	// unfinished line leaves less in a read buffer, the line moves to a
	// long buffer.
	minRoom = 64 << 10
	// longSize is the size of a long buffer: room for an unfinished line
	// of maxLine+1 bytes (see Pipe.addPartial) plus a read.
	longSize = maxLine + readSize
	// flushSize bounds a batch: once it holds this much, it is written
	// before more lines are added, so a chunk of many short lines cannot
	// blow up into a large batch.
	flushSize = 256 << 10
	// keepBatch is the largest batch kept for reuse: one that holds a
	// formatted 1 MiB line. A larger one (a long line in JSON, full of
	// escapes) is left to the garbage collector.
	keepBatch = 2 << 20
	// vecSize is the length from which a line in text format skips the
	// batch when the Writer's stream is a file: it is written with
	// writev straight from the read buffer, head and newline around it.
	vecSize = 16 << 10
	// idleKeep is the longest unfinished line that is moved out of the
	// read buffer when the pipe runs dry, so that the buffer can go back
	// to the pool. A longer one keeps its buffer, so that a slow writer
	// of a long line does not make every read copy the line twice.
	idleKeep = 4 << 10
	// busyRead is half the capacity of a new Linux pipe (64 KiB): a read
	// that returns that much found its writer ahead of cinit.
	busyRead = 32 << 10
	// pipeSize is the capacity given to a pipe once a read found it busy
	// (F_SETPIPE_SZ): the writer runs on while cinit formats, and both
	// sides make fewer system calls and context switches. 1 MiB is the
	// most an unprivileged process may ask for by default
	// (/proc/sys/fs/pipe-max-size). Quiet pipes keep the default.
	pipeSize = 1 << 20
)

// Buffers are shared by all Pipes through these pools: a Pipe takes a read
// buffer and a batch only when its file has data, and gives them back when
// the file runs dry (see the package documentation for the one exception).
// So an idle Pipe holds no buffer, and the memory of the buffers follows
// the number of pipes that are busy at the same time, not the number of
// children.
var (
	readBufs = sync.Pool{New: func() any { return new([readSize]byte) }}
	longBufs = sync.Pool{New: func() any { return new([longSize]byte) }}
	batches  = sync.Pool{New: func() any { b := make([]byte, 0, flushSize+vecSize); return &b }}
)

// Pipe copies one child pipe to a [Writer], line by line. Create it with
// [Writer.Pipe] and call [Pipe.Run] in a goroutine of its own.
type Pipe struct {
	// Immutable after Writer.Pipe.
	w      *Writer
	f      *os.File
	fmt    *formatter
	src    *source   // what the logs ring knows of the Pipe; Run sets its limit
	limit  int       // maxLine; tests lower it to exercise long lines cheaply
	vec    bool      // long lines go out with writev (text format, a file stream)
	vecMin int       // vecSize; tests lower it
	idled  func()    // called by Run whenever the pipe is found empty; tests set it
	tty    bool      // f is a pty master (stream TTY): see Pipe.Exited
	tee    io.Writer // gets every read's bytes as they are; nil for none (see Pipe.Tee)

	// Shared between Exited and Run, guarded by mu.
	mu       sync.Mutex
	done     func() // set by Exited, taken (and set to nil) by its caller
	finished bool   // Run has returned; Exited must call done itself

	// exited is set by Exited after done is stored, so that Run can check
	// for it after every Read without taking mu.
	exited atomic.Bool

	// State owned by Run's goroutine.
	buf       []byte  // read buffer from readBufs or longBufs; nil while idle
	part      int     // buf[:part] is the start of a line whose '\n' has not been read
	rest      []byte  // that start while buf is nil
	batch     []byte  // formatted lines waiting for one write; nil while idle
	batchp    *[]byte // the batches entry batch came from
	grown     bool    // the pipe's capacity was raised (or that failed)
	onData    func(fd uintptr) bool
	n         int   // result of the last read, set by onData
	rerr      error // error of the last read, set by onData
	draining  bool  // Exited was seen and bytes are left to read
	remaining int   // bytes still to read before done can be called
	notified  bool  // Run has called done
	count     int   // lines printed and not yet recorded in the logs ring
}

// Pipe returns a Pipe that copies f, the read end of a child's pipe, to w,
// showing its lines under l in stream s. f should come from os.Pipe: it
// must be pollable for [Pipe.Exited] to interrupt a blocked Read, and
// FIONREAD must work on it. For stream [TTY], f is the master of a
// pseudo-terminal, opened non-blocking: EIO from it is the end of output.
// The Pipe owns f from now on: Run closes it.
func (w *Writer) Pipe(l Label, s Stream, f *os.File) *Pipe {
	fm := newFormatter(w.opts, l.Name, paletteColor(l.Color), l.Raw, pipeFields(s.String()))
	return &Pipe{
		w:      w,
		f:      f,
		fmt:    fm,
		src:    &source{name: l.Name, stream: s.String(), color: l.Color, raw: l.Raw},
		limit:  maxLine,
		vec:    canWritev && w.raw != nil && !fm.json,
		vecMin: vecSize,
		tty:    s == TTY,
	}
}

// Tee makes Run hand every read's bytes, as they were read, to w before
// it prints them (a terminal's attach side). w must not keep the slice or
// block. Call Tee before Run.
func (p *Pipe) Tee(w io.Writer) {
	p.tee = w
}

// Run copies the pipe until EOF (or any other read error), prints a final
// partial line with a newline added, closes the file and returns. It blocks
// while the Writer's stream blocks.
func (p *Pipe) Run() {
	p.src.limit = p.limit
	if rc, err := p.f.SyscallConn(); err == nil {
		p.onData = p.readFD
		p.copy(rc)
	}
	p.flushPartial()
	p.drop()
	p.f.Close()
	p.finish()
}

// copy reads and prints until EOF or an error.
func (p *Pipe) copy(rc syscall.RawConn) {
	for {
		n, err := p.read(rc)
		if p.tee != nil && n > 0 {
			p.tee.Write(p.buf[p.part : p.part+n])
		}
		p.consume(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Set by Exited: either the one it wanted, or a late one after
			// the exit was already handled. Either way, read on.
			p.f.SetReadDeadline(time.Time{})
		} else if err == errDrained {
			p.notify() // a terminal being drained was found empty
			continue
		} else if err != nil {
			return
		}
		p.checkExited(n)
	}
}

// read makes one read into the free part of the read buffer and returns
// the number of bytes read; at EOF it returns io.EOF. The buffer is taken
// only once the file is readable (RawConn.Read calls onData first without
// waiting, and again whenever the poller says so) and is given back
// whenever the file is found empty.
func (p *Pipe) read(rc syscall.RawConn) (int, error) {
	p.n, p.rerr = 0, nil
	err := rc.Read(p.onData)
	switch {
	case err != nil:
		return 0, err
	case p.rerr != nil:
		return 0, p.rerr
	case p.n == 0:
		return 0, io.EOF
	}
	return p.n, nil
}

// readFD is onData: one read(2) into the buffer. It reports false, after
// giving the buffer back, when the pipe is empty.
func (p *Pipe) readFD(fd uintptr) bool {
	p.hold()
	room := p.buf[p.part:min(len(p.buf), p.part+readSize)]
	n, err := unix.Read(int(fd), room)
	for err == unix.EINTR {
		n, err = unix.Read(int(fd), room)
	}
	if err == unix.EAGAIN {
		p.idle()
		if p.draining && p.tty {
			p.rerr = errDrained // see Exited
			return true
		}
		return false
	}
	if err != nil {
		p.rerr = err
		return true
	}
	p.n = n
	if n >= busyRead && !p.grown {
		// Best effort: the limit may be lower, or the user over quota.
		growPipe(fd)
		p.grown = true
	}
	return true
}

// hold makes sure that there is a read buffer with room for a read,
// moving the unfinished line into it.
func (p *Pipe) hold() {
	if p.buf == nil {
		p.buf = readBufs.Get().(*[readSize]byte)[:]
		p.part = copy(p.buf, p.rest)
		p.rest = p.rest[:0]
	}
	if len(p.buf)-p.part < minRoom && len(p.buf) == readSize {
		long := longBufs.Get().(*[longSize]byte)[:]
		copy(long, p.buf[:p.part])
		readBufs.Put((*[readSize]byte)(p.buf))
		p.buf = long
	}
}

// idle gives the read buffer back to its pool when the pipe is empty,
// keeping a short unfinished line in rest.
func (p *Pipe) idle() {
	p.putBatch()
	if p.part <= idleKeep {
		p.rest = append(p.rest[:0], p.buf[:p.part]...)
		p.part = 0
		p.putBuf()
	}
	if p.idled != nil {
		p.idled()
	}
}

// drop gives every buffer back when Run ends.
func (p *Pipe) drop() {
	p.putBatch()
	p.part = 0
	p.rest = nil
	if p.buf != nil {
		p.putBuf()
	}
}

// putBuf returns buf to the pool it came from.
func (p *Pipe) putBuf() {
	if len(p.buf) == longSize {
		longBufs.Put((*[longSize]byte)(p.buf))
	} else {
		readBufs.Put((*[readSize]byte)(p.buf))
	}
	p.buf = nil
}

// consume handles the n bytes just read after the unfinished line at the
// start of buf: it formats and writes every complete line, and keeps the
// bytes after the last '\n' at the start of buf.
func (p *Pipe) consume(n int) {
	if n == 0 {
		return
	}
	old := p.part // buf[:old] holds no '\n'
	p.part += n
	if p.w.isBroken() {
		p.part = 0
		return
	}
	p.fmt.begin()
	p.takeBatch()
	data := p.buf[:p.part]
	split := -1 // where the last '\n' is
	if i := bytes.IndexByte(data[old:], '\n'); i >= 0 {
		p.emit(trimCR(data[:old+i]))
		if p.fmt.json {
			data = p.lines(data[old+i+1:])
		} else {
			data = p.textLines(data[old+i+1:])
		}
		split = p.part - len(data) - 1
	}
	data = p.addPartial(data)
	p.write()
	if end := p.part - len(data); !p.handOff(end, split, data) {
		p.record(p.buf[:end], split)
		if len(data) < p.part {
			p.part = copy(p.buf, data)
		}
	}
}

// handOff gives the read buffer, whose first end bytes hold the lines
// just printed (the last '\n' at split), to the logs ring, if they are
// worth a buffer (see ring.go), and goes on with a new buffer that holds rest, the unfinished
// line. It reports whether it did (see ring.go).
func (p *Pipe) handOff(end, split int, rest []byte) bool {
	if end < handoffBytes && p.count < handoffLines || len(p.buf) != readSize || p.count == 0 || p.w.logs == nil {
		return false
	}
	old := (*[readSize]byte)(p.buf)
	p.buf = p.w.logs.buffer()[:]
	p.part = copy(p.buf, rest)
	p.w.logs.record(chunk{src: p.src, t: p.fmt.t, split: split, lines: p.count}, old[:end], old)
	p.count = 0
	return true
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
// with '\r', over the limit or long enough for writev takes the general
// path.
func (p *Pipe) textLines(data []byte) []byte {
	long := p.limit + 1
	if p.vec {
		long = min(long, p.vecMin)
	}
	head, b, n := p.fmt.head, p.batch, 0
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if i >= long || i > 0 && data[i-1] == '\r' {
			p.batch = b
			p.emit(trimCR(data[:i]))
			b = p.batch
		} else {
			b = append(b, head...)
			b = append(b, data[:i+1]...) // the line and its '\n'
			n++
		}
		data = data[i+1:]
		if len(b) >= flushSize {
			p.batch = b
			p.write()
			b = p.batch
		}
	}
	p.batch = b
	p.count += n
	return data
}

// addPartial takes data, the start of a line (it holds no '\n'), prints
// as many pieces of limit bytes from its front as are sure to be pieces,
// and returns what is left.
//
// A piece can be cut when more than limit bytes of the line are there.
// The one exception is when the byte past the limit is a '\r': it may be
// the '\r' of a "\r\n" and not part of the line, which would then be
// exactly limit bytes long and printed whole. So an unfinished line of up
// to limit+1 bytes stays in the buffer between reads; with the room for a
// read this is what a long buffer holds.
func (p *Pipe) addPartial(data []byte) []byte {
	for p.canCut(data) {
		p.add(data[:p.limit])
		data = data[p.limit:]
	}
	return data
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
// it is already large. A long line with writev goes out at once, after the
// batch, without being copied.
func (p *Pipe) add(line []byte) {
	p.count++
	if p.vec && len(line) >= p.vecMin {
		p.w.writeLine(p.batch, p.fmt.head, line)
		p.batch = p.batch[:0]
		return
	}
	if len(p.batch) >= flushSize {
		p.write()
	}
	p.batch = p.fmt.appendLine(p.batch, line)
}

// record keeps the lines printed since the last record in the logs ring:
// b holds them as read, with the last '\n' at split (see chunk).
func (p *Pipe) record(b []byte, split int) {
	if p.count > 0 && p.w.logs != nil {
		p.w.logs.record(chunk{src: p.src, t: p.fmt.t, split: split, lines: p.count}, b, nil)
		p.count = 0
	}
}

// write hands the batch to the Writer with one write call.
func (p *Pipe) write() {
	if len(p.batch) > 0 {
		p.w.write(p.batch)
	}
	p.batch = p.batch[:0]
}

// takeBatch takes an empty batch from the pool, unless the Pipe has one.
func (p *Pipe) takeBatch() {
	if p.batchp == nil {
		p.batchp = batches.Get().(*[]byte)
		p.batch = (*p.batchp)[:0]
	}
}

// putBatch gives the batch, which is empty, back to the pool, unless it
// grew too large to keep.
func (p *Pipe) putBatch() {
	if p.batchp != nil && cap(p.batch) <= keepBatch {
		*p.batchp = p.batch[:0]
		batches.Put(p.batchp)
	}
	p.batch, p.batchp = nil, nil
}

// flushPartial prints the unfinished line as a line of its own, if there
// is one.
func (p *Pipe) flushPartial() {
	line := p.rest
	if p.buf != nil {
		line = p.buf[:p.part]
	}
	if len(line) > 0 && !p.w.isBroken() {
		p.fmt.begin()
		p.takeBatch()
		p.emit(trimCR(line))
		p.write()
		p.record(line, len(line))
	}
	p.part = 0
	p.rest = p.rest[:0]
}

// trimCR drops one '\r' from the end of line.
func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}
