package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

func TestPipeLines(t *testing.T) {
	o := Options{Width: 1}
	tests := []struct {
		name   string
		limit  int // 0: the real 1 MiB
		chunks []string
		want   []string
	}{
		{"nothing", 0, nil, nil},
		{"one line", 0, []string{"hello\n"}, []string{"hello"}},
		{"pieces joined", 0, []string{"hel", "lo\nwor", "ld", "\n"}, []string{"hello", "world"}},
		{"many lines in one chunk", 0, []string{"a\nb\nc\n"}, []string{"a", "b", "c"}},
		{"final partial line", 0, []string{"a\nb"}, []string{"a", "b"}},
		{"only a partial line", 0, []string{"x", "y"}, []string{"xy"}},
		{"empty lines", 0, []string{"\n\n", "\n"}, []string{"", "", ""}},
		{"crlf", 0, []string{"a\r\nb\r\n"}, []string{"a", "b"}},
		{"crlf split", 0, []string{"a\r", "\nb\r", "\n"}, []string{"a", "b"}},
		{"one cr only", 0, []string{"a\r\r\n"}, []string{"a\r"}},
		{"cr inside", 0, []string{"a\rb\n"}, []string{"a\rb"}},
		{"lone cr line", 0, []string{"\r\n"}, []string{""}},
		{"final partial cr", 0, []string{"c\r"}, []string{"c"}},
		{"final lone cr", 0, []string{"a\n\r"}, []string{"a", ""}},
		{"binary", 0, []string{"\x00\xff\x1b[0m\t\n"}, []string{"\x00\xff\x1b[0m\t"}},
		{"long line", 4, []string{"abcdefghij\n"}, []string{"abcd", "efgh", "ij"}},
		{"long line in pieces", 4, []string{"ab", "cdefg", "hij", "\n"}, []string{"abcd", "efgh", "ij"}},
		{"exactly the limit", 4, []string{"abcd\n"}, []string{"abcd"}},
		{"exactly the limit, crlf", 4, []string{"abcd\r", "\n"}, []string{"abcd"}},
		{"exactly the limit, crlf together", 4, []string{"abcd\r\n"}, []string{"abcd"}},
		{"limit and a cr in the line", 4, []string{"abcd\r", "\r\n"}, []string{"abcd", "\r"}},
		{"limit plus one, crlf", 4, []string{"abcde\r\n"}, []string{"abcd", "e"}},
		{"twice the limit, partial", 4, []string{"abcdabcd"}, []string{"abcd", "abcd"}},
		{"twice the limit, crlf", 4, []string{"abcdab", "cd\r", "\n"}, []string{"abcd", "abcd"}},
		{"limit, final cr", 4, []string{"abcd\r"}, []string{"abcd"}},
		{"limit one", 1, []string{"abc\r\n\n"}, []string{"a", "b", "c", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pipeOutput(t, o, Label{Name: "p"}, tt.limit, tt.chunks...)
			if want := prefixed("p | ", tt.want...); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestPipeJSONStream(t *testing.T) {
	var c capture
	w := New(&c, Options{Format: JSON})
	rp := newPipe(t, w, Label{Name: "web"}, Stderr, nil)
	writeAll(t, rp.in, "one\r\n", "two \xff", "\x00\n", "three")
	rp.finish(t)
	w.Close()
	lines := decodeJSONLines(t, c.String())
	want := []string{"one", "two \ufffd\x00", "three"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines: %q", len(lines), c.String())
	}
	for i, l := range lines {
		if l.Line != want[i] || l.Name != "web" || l.Stream == nil || *l.Stream != "stderr" {
			t.Errorf("line %d: %+v", i, l)
		}
	}
}

// TestHugeLine sends 20 MiB without a newline: it must come out as 20
// lines of exactly 1 MiB, in order.
func TestHugeLine(t *testing.T) {
	const size = 20 << 20
	in := make([]byte, size)
	for i := range in {
		in[i] = 'a' + byte(i%251%26)
	}
	var c capture
	w := New(&c, Options{})
	rp := newPipe(t, w, Label{Name: "big"}, Stdout, nil)
	go func() {
		rp.in.Write(in)
		rp.in.Close()
	}()
	<-rp.done
	w.Close()
	c.checkWhole(t)
	lines := strings.Split(strings.TrimSuffix(c.String(), "\n"), "\n")
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20", len(lines))
	}
	var joined bytes.Buffer
	for i, l := range lines {
		body, ok := strings.CutPrefix(l, "big | ")
		if !ok || len(body) != maxLine {
			t.Fatalf("line %d: prefix ok %v, %d bytes", i, ok, len(body))
		}
		joined.WriteString(body)
	}
	if !bytes.Equal(joined.Bytes(), in) {
		t.Error("pieces do not add up to the input")
	}
}

// TestConcurrentPipes runs three pipes into one Writer at once and checks
// that every line comes out whole and every source's lines complete and in
// order.
func TestConcurrentPipes(t *testing.T) {
	const count = 200000
	names := []string{"alpha", "b", "c.1"}
	var c capture
	w := New(&c, Options{Width: 5})
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for i, name := range names {
		rp := newPipe(t, w, Label{Name: name, Color: i}, Stdout, nil)
		wg.Go(func() {
			errs <- writeNumbered(rp.in, name, count, i)
			<-rp.done
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	c.checkWhole(t)
	checkNumbered(t, c.String(), names, count)
}

// writeNumbered writes "name n" lines 0..count-1 to f in chunks whose sizes
// vary with seed, so lines are cut at every possible place.
func writeNumbered(f *os.File, name string, count, seed int) error {
	var buf []byte
	for n := range count {
		buf = fmt.Appendf(buf, "%s %d\n", name, n)
	}
	size := 1 + seed
	for len(buf) > 0 {
		size = (size*7 + 13) % 9000
		k := min(size+1, len(buf))
		if _, err := f.Write(buf[:k]); err != nil {
			return err
		}
		buf = buf[k:]
	}
	return f.Close()
}

// checkNumbered parses "NAME<pad> | NAME n" lines and checks that each
// name's numbers run 0..count-1 in order.
func checkNumbered(t *testing.T, out string, names []string, count int) {
	t.Helper()
	next := map[string]int{}
	for _, n := range names {
		next[n] = 0
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		name, body, ok := strings.Cut(line, " | ")
		name = strings.TrimRight(name, " ")
		src, num, ok2 := strings.Cut(body, " ")
		n, err := strconv.Atoi(num)
		want, known := next[name]
		if !ok || !ok2 || err != nil || !known || src != name || n != want {
			t.Fatalf("bad line %q (expected %s %d)", line, name, want)
		}
		next[name] = n + 1
	}
	for _, n := range names {
		if next[n] != count {
			t.Errorf("%s: %d lines, want %d", n, next[n], count)
		}
	}
}

// failWriter fails every write with EPIPE, as a closed stdout does.
type failWriter struct{ calls atomic.Int32 }

func (f *failWriter) Write(b []byte) (int, error) {
	f.calls.Add(1)
	return 0, syscall.EPIPE
}

func TestBroken(t *testing.T) {
	var fw failWriter
	w := New(&fw, Options{})
	select {
	case <-w.Broken():
		t.Fatal("broken before any write")
	default:
	}
	a := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	b := newPipe(t, w, Label{Name: "b"}, Stdout, nil)
	writeAll(t, a.in, "first\n")
	<-w.Broken()
	if !errors.Is(w.Err(), syscall.EPIPE) {
		t.Fatalf("Err() = %v", w.Err())
	}
	// Far more than a pipe holds: the writes only return if both pipes are
	// still drained.
	big := strings.Repeat("0123456789abcdef\n", 1<<16)
	var wg sync.WaitGroup
	for _, rp := range []*running{a, b} {
		wg.Go(func() {
			writeAll(t, rp.in, big, "partial")
			rp.finish(t)
		})
	}
	wg.Wait()
	w.Event(Event{Kind: "exit", Text: "a exited"})
	if err := w.Close(); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Close() = %v", err)
	}
	if n := fw.calls.Load(); n != 1 {
		t.Errorf("%d writes reached the failed stream, want 1", n)
	}
}

// blockWriter blocks every write until open is closed. entered, if not
// nil, is closed when the first write starts.
type blockWriter struct {
	open    chan struct{}
	entered chan struct{}
	once    sync.Once
	c       capture
}

func (b *blockWriter) Write(p []byte) (int, error) {
	if b.entered != nil {
		b.once.Do(func() { close(b.entered) })
	}
	<-b.open
	return b.c.Write(p)
}

// TestBackpressure checks that a stalled stream stalls Run, and with it
// the child, instead of buffering: with the stream stalled, a non-blocking
// writer soon finds the pipe full. Once the stream moves, nothing is lost.
func TestBackpressure(t *testing.T) {
	bw := &blockWriter{open: make(chan struct{}), entered: make(chan struct{})}
	w := New(bw, Options{})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	stream := bytes.Repeat([]byte("1234567\n"), 1024)
	writeAll(t, rp.in, string(stream[:8]))
	written := 8
	waitFor(t, bw.entered, "Run to write") // Run is now stuck in the write
	for written < 64<<20 {
		n, err := writeNonblocking(rp.in, stream[written%8:][:4096])
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		written += n
	}
	// Run is stuck writing its first line; the pipe holds the rest.
	if written > 1<<20 {
		t.Fatalf("%d bytes went into the pipe while the stream was stalled", written)
	}
	close(bw.open)
	writeAll(t, rp.in, string(stream[written%8:8])) // end the cut line
	written += 8 - written%8
	more, err := io.Copy(rp.in, io.LimitReader(lineSource{}, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	rp.finish(t)
	w.Close()
	bw.c.checkWhole(t)
	total := written + int(more)
	if got, want := len(bw.c.String()), total/8*len("a | 1234567\n"); got != want || total%8 != 0 {
		t.Errorf("%d bytes out, want %d (%d in)", got, want, total)
	}
}

// writeNonblocking makes one write(2) on f's non-blocking descriptor.
func writeNonblocking(f *os.File, b []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, werr
}

// lineSource is an endless stream of "1234567\n".
type lineSource struct{}

func (lineSource) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "1234567\n"[i%8]
	}
	return len(p) - len(p)%8, nil
}
