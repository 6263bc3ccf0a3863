package output

import (
	"bytes"
	"strconv"
	"sync"

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

// Event prints e under the name "cinit". It does not wait for the stream:
// the event is queued (without bound) and printed by the Writer's own
// goroutine, under the same lock as every other write. Events of one caller
// are printed in the order of the calls. After [Writer.Close], Event writes
// directly and may block.
func (w *Writer) Event(e Event) {
	if w.events.push(e) {
		return
	}
	<-w.events.done // the loop has printed everything queued before
	f := newEventFormatter(w.opts)
	f.begin()
	w.write(f.appendEvent(nil, &e))
}

// eventQueue hands events from any goroutine to the one running loop.
type eventQueue struct {
	mu     sync.Mutex // guards queue and closed
	queue  []Event
	closed bool
	wake   chan struct{} // capacity 1: "the queue may have changed"
	done   chan struct{} // closed when loop has returned
}

// init makes the channels; New calls it before starting loop.
func (q *eventQueue) init() {
	q.wake = make(chan struct{}, 1)
	q.done = make(chan struct{})
}

// push queues e and reports true, or reports false when the queue is closed.
func (q *eventQueue) push(e Event) bool {
	q.mu.Lock()
	ok := !q.closed
	if ok {
		q.queue = append(q.queue, e)
	}
	q.mu.Unlock()
	if ok {
		q.signal()
	}
	return ok
}

// close makes push fail from now on and tells loop to finish.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// signal wakes loop, or leaves a wake-up for it if one is not pending.
func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits until events are queued or the queue is closed, and returns
// the queued events, swapping in spare (emptied) for the next ones.
func (q *eventQueue) take(spare []Event) ([]Event, bool) {
	for {
		q.mu.Lock()
		events, closed := q.queue, q.closed
		if len(events) > 0 {
			q.queue = spare[:0]
		}
		q.mu.Unlock()
		if len(events) > 0 || closed {
			return events, closed
		}
		<-q.wake
	}
}

// loop prints queued events, all that are queued at a time in one write,
// until the queue is closed and empty. It owns its formatter and buffers.
func (w *Writer) loop() {
	defer close(w.events.done)
	f := newEventFormatter(w.opts)
	var events, spare []Event
	var batch []byte
	for {
		var closed bool
		events, closed = w.events.take(spare)
		f.begin()
		batch = batch[:0]
		for i := range events {
			batch = f.appendEvent(batch, &events[i])
		}
		w.write(batch)
		if closed {
			return
		}
		clear(events) // drop the strings and Code pointers
		spare = events
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
