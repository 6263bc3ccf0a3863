package output

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
)

// capture is an io.Writer that keeps everything written to it and checks
// that every write holds whole lines only.
type capture struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	partial int           // writes that did not end in '\n'
	wrote   chan struct{} // closed and replaced at every write
}

func (c *capture) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.wrote != nil {
		close(c.wrote)
		c.wrote = nil
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		c.partial++
	}
	return c.buf.Write(b)
}

// next returns a channel that is closed at the next write.
func (c *capture) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wrote == nil {
		c.wrote = make(chan struct{})
	}
	return c.wrote
}

// String returns everything written so far.
func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// checkWhole fails t if any write held a partial line.
func (c *capture) checkWhole(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.partial > 0 {
		t.Errorf("%d of %d writes did not end with a newline", c.partial, c.writes)
	}
}

// running is a Pipe whose Run goroutine the test started.
type running struct {
	p    *Pipe
	in   *os.File      // write end, the child's side
	done chan struct{} // closed when Run has returned
}

// newPipe makes an os.Pipe, attaches its read end to w under l, lets
// adjust change the Pipe before it runs, and starts Run.
func newPipe(t *testing.T, w *Writer, l Label, s Stream, adjust func(*Pipe)) *running {
	t.Helper()
	r, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	p := w.Pipe(l, s, r)
	if adjust != nil {
		adjust(p)
	}
	rp := &running{p: p, in: in, done: make(chan struct{})}
	go func() {
		defer close(rp.done)
		p.Run()
	}()
	return rp
}

// finish closes the write end and waits for Run to return.
func (rp *running) finish(t *testing.T) {
	t.Helper()
	if err := rp.in.Close(); err != nil {
		t.Fatal(err)
	}
	<-rp.done
}

// writeAll writes each chunk with a Write call of its own.
func writeAll(t *testing.T, f *os.File, chunks ...string) {
	t.Helper()
	for _, c := range chunks {
		if _, err := f.WriteString(c); err != nil {
			t.Fatal(err)
		}
	}
}

// pipeOutput sends chunks through a real pipe into a fresh Writer with a
// line limit of limit (0: the real one) and returns the output.
func pipeOutput(t *testing.T, o Options, l Label, limit int, chunks ...string) string {
	t.Helper()
	var c capture
	w := New(&c, o)
	rp := newPipe(t, w, l, Stdout, func(p *Pipe) {
		if limit > 0 {
			p.limit = limit
		}
	})
	writeAll(t, rp.in, chunks...)
	rp.finish(t)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.checkWhole(t)
	return c.String()
}

// prefixed returns lines, each prefixed with prefix and ended with '\n'.
func prefixed(prefix string, lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}
