package output

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/fatih/color"
)

// Event is one of cinit's own messages. It is printed under the name
// "cinit": in text as "cinit | TEXT", in JSON as an object with "event" set
// to Kind, "line" set to Text, and whichever of the optional fields are set.
type Event struct {
	Kind    string // "start", "exit", "signal", "stop", "kill", "restart", "warning", "error", ...
	Text    string // the human text, e.g. "web exited with code 3"
	Process string // optional
	Pid     int    // optional; 0 is absent
	Code    *int   // optional
	Signal  string // optional, e.g. "SIGTERM"
}

// Event prints e under the name "cinit". It never waits for the stream:
// the event is formatted at once (so its time is the time of the call) and
// queued without bound. The next write of any kind prints the queued events
// before its own lines, and the Writer's own goroutine prints them when
// nothing else writes. So an event is printed before any line that a child
// wrote after the call returned: "web exited" comes before the lines that
// another process prints in reaction to the teardown it starts.
func (w *Writer) Event(e Event) {
	if t, ok := w.events.push(e); ok {
		w.logs.recordEvent(&e, t)
		return
	}
	// Closed: print directly, after everything queued before (under the
	// Writer's lock, whoever took those events has written them).
	w.write(nil)
	f := newEventFormatter(w.opts)
	f.begin()
	w.write(f.appendEvent(nil, &e))
	w.logs.recordEvent(&e, f.t)
}

// eventQueue holds formatted events until a writer prints them.
type eventQueue struct {
	mu      sync.Mutex // guards f, pending, spare and closed
	f       *formatter
	pending []byte // formatted events not yet printed
	spare   []byte // an emptied buffer for the next events
	closed  bool
	wake    chan struct{} // capacity 1: "events may be pending"
}

// init makes the formatter and the channel; New calls it before starting
// loop.
func (q *eventQueue) init(o Options) {
	q.f = newEventFormatter(o)
	q.wake = make(chan struct{}, 1)
}

// push formats and queues e, and returns the time it was formatted with
// and true, or reports false when the queue is closed.
func (q *eventQueue) push(e Event) (time.Time, bool) {
	q.mu.Lock()
	ok := !q.closed
	var t time.Time
	if ok {
		q.f.begin()
		t = q.f.t
		q.pending = q.f.appendEvent(q.pending, &e)
	}
	q.mu.Unlock()
	if ok {
		q.signal()
	}
	return t, ok
}

// take returns the pending events, leaving the queue empty. The caller
// gives the buffer back with giveBack once it is written.
func (q *eventQueue) take() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.pending
	if len(b) > 0 {
		q.pending = q.spare[:0]
		q.spare = nil
	}
	return b
}

// giveBack returns a written buffer for reuse.
func (q *eventQueue) giveBack(b []byte) {
	q.mu.Lock()
	if q.spare == nil && cap(b) <= 64<<10 {
		q.spare = b[:0]
	}
	q.mu.Unlock()
}

// close makes push fail from now on and tells loop to finish.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// isClosed reports whether close was called.
func (q *eventQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// signal wakes loop, or leaves a wake-up for it if one is not pending.
func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// loop prints events that no other write has printed, until the queue is
// closed; then it prints what is left and returns.
func (w *Writer) loop() {
	for {
		<-w.events.wake
		w.write(nil)
		if w.events.isClosed() {
			w.write(nil) // events pushed before close, after the first write
			return
		}
	}
}

// newEventFormatter returns a formatter for cinit's own lines.
func newEventFormatter(o Options) *formatter {
	return newFormatter(o, cinitName, color.FgWhite, false, `,"event":`)
}

// appendEvent appends e, formatted, to dst. In text format a Text of
// several lines gives several prefixed lines.
func (f *formatter) appendEvent(dst []byte, e *Event) []byte {
	if f.json {
		return f.appendJSONEvent(dst, e)
	}
	text := []byte(e.Text)
	for {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			return f.appendLine(dst, trimCR(text))
		}
		dst = f.appendLine(dst, trimCR(text[:i]))
		text = text[i+1:]
	}
}

// appendJSONEvent appends e as one JSON object, with only the optional
// fields that are set.
func (f *formatter) appendJSONEvent(dst []byte, e *Event) []byte {
	dst = append(dst, f.head...)
	dst = appendJSONString(dst, []byte(e.Kind))
	dst = append(dst, `,"line":`...)
	dst = appendJSONString(dst, []byte(e.Text))
	if e.Process != "" {
		dst = append(dst, `,"process":`...)
		dst = appendJSONString(dst, []byte(e.Process))
	}
	if e.Pid != 0 {
		dst = append(dst, `,"pid":`...)
		dst = strconv.AppendInt(dst, int64(e.Pid), 10)
	}
	if e.Code != nil {
		dst = append(dst, `,"code":`...)
		dst = strconv.AppendInt(dst, int64(*e.Code), 10)
	}
	if e.Signal != "" {
		dst = append(dst, `,"signal":`...)
		dst = appendJSONString(dst, []byte(e.Signal))
	}
	return append(dst, "}\n"...)
}
