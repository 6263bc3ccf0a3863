package output

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestEventDoesNotBlock stalls the stream and checks that Event still
// returns, that Close prints everything, and in the order of the calls.
func TestEventDoesNotBlock(t *testing.T) {
	bw := &blockWriter{open: make(chan struct{})}
	w := New(bw, Options{Width: 5})
	const n = 5000
	for i := range n {
		w.Event(Event{Kind: "start", Text: fmt.Sprintf("event %d", i)})
	}
	// Every call returned although no write could complete.
	close(bw.open)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	bw.c.checkWhole(t)
	var want strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "cinit | event %d\n", i)
	}
	if got := bw.c.String(); got != want.String() {
		t.Errorf("events out of order or lost:\n%.300q", got)
	}
}

// TestEventsFromManyGoroutines checks that each caller's events keep their
// order, and that events and pipe lines share the stream whole.
func TestEventsFromManyGoroutines(t *testing.T) {
	var c capture
	w := New(&c, Options{Width: 5})
	rp := newPipe(t, w, Label{Name: "p"}, Stdout, nil)
	const callers, n = 4, 2000
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range n {
				w.Event(Event{Kind: "start", Text: fmt.Sprintf("g%d %d", g, i)})
			}
		})
	}
	wg.Go(func() { writeNumbered(rp.in, "p", n, 0) })
	wg.Wait()
	<-rp.done
	w.Close()
	c.checkWhole(t)
	next := map[string]int{}
	var pipeLines []string
	for line := range strings.SplitSeq(strings.TrimSuffix(c.String(), "\n"), "\n") {
		body, ok := strings.CutPrefix(line, "cinit | ")
		if !ok {
			pipeLines = append(pipeLines, line)
			continue
		}
		var g string
		var i int
		if _, err := fmt.Sscanf(body, "%s %d", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q: want number %d", line, next[g])
		}
		next[g]++
	}
	for g := range callers {
		if got := next[fmt.Sprintf("g%d", g)]; got != n {
			t.Errorf("caller %d: %d events", g, got)
		}
	}
	checkNumbered(t, strings.Join(pipeLines, "\n")+"\n", []string{"p"}, n)
}

func TestEventAfterClose(t *testing.T) {
	var c capture
	w := New(&c, Options{Format: JSON})
	w.Event(Event{Kind: "stop", Text: "before"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Event(Event{Kind: "exit", Text: "after"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := decodeJSONLines(t, c.String())
	if len(lines) != 2 || lines[0].Line != "before" || lines[1].Line != "after" {
		t.Errorf("got %q", c.String())
	}
}
