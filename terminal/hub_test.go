package terminal

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// drain takes the client's output until it ends or nothing more is
// queued.
func drain(t *testing.T, c *Client) (string, string, bool) {
	t.Helper()
	var out []byte
	for {
		c.hub.mu.Lock()
		empty, ended := len(c.queue) == 0, c.ended
		c.hub.mu.Unlock()
		if empty && !ended {
			return string(out), "", true
		}
		b, msg, ok := c.Next(nil)
		if !ok {
			return string(out), msg, false
		}
		out = append(out, b...)
	}
}

// The replay is the latest output from a line start; everything when the
// output is short.
func TestHubReplay(t *testing.T) {
	h := NewHub(nil)
	h.Write([]byte("first\n(Pdb) "))
	c, err := h.Attach("web")
	if err != nil {
		t.Fatal(err)
	}
	if out, _, ok := drain(t, c); out != "first\n(Pdb) " || !ok {
		t.Errorf("replay %q, %v", out, ok)
	}
	h = NewHub(nil)
	line := strings.Repeat("x", 99) + "\n"
	for range 1000 {
		h.Write([]byte(line))
	}
	h.Write([]byte("(Pdb) "))
	c, _ = h.Attach("web")
	out, _, _ := drain(t, c)
	if len(out) > ReplaySize || len(out) < ReplaySize-len(line) || !strings.HasPrefix(out, line) || !strings.HasSuffix(out, "\n(Pdb) ") {
		t.Errorf("replay of %d bytes starts %q, ends %q", len(out), out[:10], out[len(out)-10:])
	}
	h = NewHub(nil)
	h.Write(bytes.Repeat([]byte("y"), 3*ReplaySize))
	h.Write([]byte("\nprompt"))
	c, _ = h.Attach("web")
	if out, _, _ := drain(t, c); out != "prompt" {
		t.Errorf("replay after one long write: %q", out)
	}
}

// Output reaches the attached client in order; a second attach takes over
// and the first one is told why; the run's end comes after its output.
func TestHubTakeoverAndEnd(t *testing.T) {
	h := NewHub(nil)
	a, _ := h.Attach("web")
	h.Write([]byte("one "))
	h.Write([]byte("two"))
	if out, _, ok := drain(t, a); out != "one two" || !ok {
		t.Fatalf("a got %q", out)
	}
	h.Write([]byte(" three"))
	b, _ := h.Attach("web")
	out, msg, ok := drain(t, a)
	if out != " three" || ok || msg != "detached: web attached by another client" {
		t.Errorf("a after the takeover: %q, %q, %v", out, msg, ok)
	}
	select {
	case <-a.Over():
	default:
		t.Error("a is not over")
	}
	h.Write([]byte("\nlast"))
	h.End("web exited with code 0")
	out, msg, ok = drain(t, b)
	if out != "one two three\nlast" || ok || msg != "web exited with code 0" {
		t.Errorf("b: %q, %q, %v", out, msg, ok)
	}
	if _, err := h.Attach("web"); err != ErrEnded {
		t.Errorf("attach after the end: %v", err)
	}
}

// A client that does not read is dropped once more than MaxQueued bytes
// wait for it; Write never blocks.
func TestHubDropsSlowClient(t *testing.T) {
	h := NewHub(nil)
	c, _ := h.Attach("web")
	chunk := bytes.Repeat([]byte("z"), 64<<10)
	for range MaxQueued / len(chunk) {
		h.Write(chunk)
	}
	if c.Dropped() {
		t.Fatal("dropped at exactly MaxQueued")
	}
	h.Write([]byte("!"))
	if !c.Dropped() {
		t.Fatal("not dropped past MaxQueued")
	}
	if out, msg, ok := c.Next(nil); out != nil || msg != "" || ok {
		t.Errorf("a dropped client got %d bytes, %q, %v", len(out), msg, ok)
	}
	d, _ := h.Attach("web")
	if out, _, _ := drain(t, d); len(out) > ReplaySize {
		t.Errorf("the next client's replay is %d bytes", len(out))
	}
}

// Next returns when the client hangs up.
func TestHubClientGone(t *testing.T) {
	h := NewHub(nil)
	c, _ := h.Attach("web")
	gone := make(chan struct{})
	res := make(chan bool)
	go func() {
		_, _, ok := c.Next(gone)
		res <- ok
	}()
	close(gone)
	select {
	case ok := <-res:
		if ok {
			t.Error("Next returned output")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Next did not return")
	}
}
