package output

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileStream is a Writer's stream that is a file, the write end of a pipe,
// as cinit's stdout usually is: long lines in text format then go out with
// writev. A goroutine collects what comes out of the read end.
type fileStream struct {
	w    *os.File
	out  bytes.Buffer
	done chan struct{}
}

func newFileStream(t *testing.T) *fileStream {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fs := &fileStream{w: w, done: make(chan struct{})}
	go func() {
		defer close(fs.done)
		defer r.Close()
		io.Copy(&fs.out, r)
	}()
	t.Cleanup(func() { w.Close() })
	return fs
}

// output closes the stream and returns everything written to it.
func (fs *fileStream) output(t *testing.T) string {
	t.Helper()
	fs.w.Close()
	waitFor(t, fs.done, "the stream's reader")
	return fs.out.String()
}

// TestFileStream sends lines of every size through a Writer on a file,
// colored and with timestamps: lines from vecSize up are written with
// writev, head and newline around the bytes of the read buffer, and those
// over 64 KiB meet a full pipe, so writev must carry on after a partial
// write. An event goes in between.
func TestFileStream(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	o := Options{Width: 5, Color: true, Timestamps: true, Now: func() time.Time { return at }}
	long := func(n int, c byte) string { return strings.Repeat(string(c), n) }
	input := "short\n" + long(vecSize-1, 'a') + "\n" + long(vecSize, 'b') + "\r\n" +
		long(maxLine, 'c') + "\r\n" + long(maxLine+3, 'd') + "\n\n" +
		long(100, 'e') + "\n" + long(2*maxLine+5, 'f')
	fs := newFileStream(t)
	w := New(fs.w, o)
	rp := newPipe(t, w, Label{Name: "big", Color: 3}, Stdout, nil)
	if !rp.p.vec {
		t.Fatal("a Pipe of a Writer on a file does not use writev")
	}
	go func() {
		rp.in.WriteString(input[:len(input)/3])
		w.Event(Event{Kind: "start", Text: "in between"})
		rp.in.WriteString(input[len(input)/3:])
		rp.in.Close()
	}()
	waitFor(t, rp.done, "Run")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := fs.output(t)

	f := newFormatter(o, "big", paletteColor(3), false, "")
	f.begin()
	var want []byte
	for _, l := range modelLines([]byte(input), maxLine) {
		want = f.appendLine(want, l)
	}
	e := newEventFormatter(o)
	e.begin()
	event := string(e.appendEvent(nil, &Event{Text: "in between"}))
	i := strings.Index(out, event)
	if i < 0 || i > 0 && out[i-1] != '\n' {
		t.Fatalf("the event is missing or inside a line (at %d)", i)
	}
	if got := out[:i] + out[i+len(event):]; got != string(want) {
		t.Errorf("output differs from the model (%d bytes, want %d plus the event)", len(out), len(want))
	}
}

// TestHugeLineFile is TestHugeLine through writev: 20 MiB without a
// newline come out as 20 lines of exactly 1 MiB, in order, while a long
// buffer holds the line.
func TestHugeLineFile(t *testing.T) {
	const size = 20 << 20
	in := make([]byte, size)
	for i := range in {
		in[i] = 'a' + byte(i%251%26)
	}
	fs := newFileStream(t)
	w := New(fs.w, Options{})
	rp := newPipe(t, w, Label{Name: "big"}, Stdout, nil)
	go func() {
		rp.in.Write(in)
		rp.in.Close()
	}()
	waitFor(t, rp.done, "Run")
	w.Close()
	want := make([]byte, 0, size+20*7)
	for piece := range slices.Chunk(in, maxLine) {
		want = append(want, "big | "...)
		want = append(append(want, piece...), '\n')
	}
	if out := fs.output(t); out != string(want) {
		t.Errorf("output differs (%d bytes, want %d)", len(out), len(want))
	}
}

// TestIdleRelease checks that a Pipe gives its read buffer back whenever
// its pipe runs dry, keeping only a short unfinished line, and keeps the
// buffer for a long one.
func TestIdleRelease(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	type state struct {
		held bool
		rest string
	}
	idled := make(chan state, 64)
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, func(p *Pipe) {
		p.idled = func() { idled <- state{p.buf != nil, string(p.rest)} }
	})
	first := waitFor(t, idled, "the first empty read") // nothing written yet
	writeAll(t, rp.in, "line\npart")
	var s state
	for s = first; s.rest != "part"; {
		s = waitFor(t, idled, "the pipe to run dry")
	}
	if first.held || s.held {
		t.Errorf("buffer held while idle: %+v then %+v", first, s)
	}
	long := strings.Repeat("x", idleKeep+1)
	writeAll(t, rp.in, long)
	for !s.held {
		s = waitFor(t, idled, "the pipe to run dry after a long partial line")
	}
	if s.rest != "" {
		t.Errorf("rest %q while the buffer is held", s.rest)
	}
	writeAll(t, rp.in, "\n")
	rp.finish(t)
	w.Close()
	if got, want := c.String(), "a | line\na | part"+long+"\n"; got != want {
		t.Errorf("output %.40q..., want %.40q...", got, want)
	}
}

// TestBrokenFile: a long line written with writev to a pipe nobody reads
// marks the Writer broken with EPIPE, as a Write does.
func TestBrokenFile(t *testing.T) {
	r, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer out.Close()
	w := New(out, Options{})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, strings.Repeat("x", vecSize)+"\n")
	waitFor(t, w.Broken(), "the Writer to break")
	if !errors.Is(w.Err(), syscall.EPIPE) {
		t.Errorf("Err() = %v, want EPIPE", w.Err())
	}
	writeAll(t, rp.in, strings.Repeat("y", 3*maxLine)) // still drained
	rp.finish(t)
	if err := w.Close(); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Close() = %v", err)
	}
}

func TestAdvance(t *testing.T) {
	bufs := func() [][]byte {
		return [][]byte{nil, []byte("ab"), nil, []byte("cde"), []byte("f")}
	}
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "ab||cde|f"}, {1, "b||cde|f"}, {2, "cde|f"}, {4, "e|f"}, {5, "f"}, {6, ""}} {
		var parts []string
		for _, b := range advance(bufs(), tt.n) {
			parts = append(parts, string(b))
		}
		if got := strings.Join(parts, "|"); got != tt.want {
			t.Errorf("advance(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
