package signals

import (
	"os"
	"os/signal"
)

// Channels are the two streams of a [Subscribe]: stop signals, and every
// other kind of [Notified].
type Channels struct {
	// Stop carries SIGTERM, SIGINT and SIGQUIT in the order they came,
	// straight from os/signal, with room for 16 waiting.
	Stop <-chan os.Signal
	// Other carries the other kinds through a relay that keeps at most one
	// pending signal of each kind.
	Other <-chan os.Signal
	// Ready is closed once every kind is subscribed. No child may start
	// before: a signal whose default action ends cinit must not end it
	// while it has children (style-anchors.md §5.5).
	Ready <-chan struct{}
}

// Subscribe subscribes to every signal of [Notified] and returns the
// channels the supervisor reads them from. It never loses a stop signal
// that matters and never lets a burst of other signals push one out.
//
// os/signal drops a signal when the channel it sends to is full (its
// documentation: "Package signal will not block sending to c"). A loop that
// forwards every HUP to every process group drains far slower than a burst
// of thousands of signals arrives, so one shared channel would drop what
// comes last: perhaps the SIGTERM meant to stop everything, or the last
// SIGCONT. So stop signals have a channel of their own with room for
// sixteen, of which cinit counts two, and the loop reads it directly: a
// SIGTERM reaches the loop in one hop from os/signal (the way to the exit
// that the stop figure of BENCHMARKS.md times). Every other kind has a
// channel with one slot (a drop then only means that one of its kind is
// already waiting, which is the same news: the kernel coalesces pending
// signals the same way), and a goroutine per kind moves its signals to a
// relay that keeps at most one pending signal of each kind. Between a stop
// signal and another kind the order is not kept; the kernel does not keep
// it either, delivering pending standard signals lowest number first.
//
// Subscribe returns at once and subscribes in the background: each
// signal.Notify costs a round trip to the Go runtime's signal thread (about
// 50 µs on the machine of BENCHMARKS.md, 0.5 ms for the list), which so
// overlaps loading the configuration and preparing the first child. Ready
// tells when it is done. Nothing is ever unsubscribed: cinit exits right
// after it stops reading, and signal.Stop costs milliseconds of handler
// changes on the way out.
func Subscribe() Channels {
	stop := make(chan os.Signal, 16)
	in := make(chan os.Signal)
	out := make(chan os.Signal)
	ready := make(chan struct{})
	go func() {
		for _, sig := range Notified {
			if IsStop(sig) {
				signal.Notify(stop, sig)
				continue
			}
			c := make(chan os.Signal, 1)
			signal.Notify(c, sig)
			go feed(c, in)
		}
		close(ready)
	}()
	go relay(in, out)
	return Channels{Stop: stop, Other: out, Ready: ready}
}

// feed moves the signals of one kind to the relay.
func feed(c <-chan os.Signal, in chan<- os.Signal) {
	for s := range c {
		in <- s
	}
}

// relay moves signals from in to out, in order, coalescing a signal with
// a pending one of the same kind. It owns its queue; it runs until in is
// closed and everything queued was taken.
func relay(in <-chan os.Signal, out chan<- os.Signal) {
	var q queue
	for {
		next, send := q.peek()
		if in == nil && !send {
			close(out)
			return
		}
		var to chan<- os.Signal
		if send {
			to = out
		}
		select {
		case s, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			q.add(s)
		case to <- next:
			q.pop()
		}
	}
}

// queue holds the signals the loop has not taken yet, in arrival order,
// at most one of each kind.
type queue struct {
	list    []os.Signal
	pending map[os.Signal]bool // the kinds in list
}

// add queues s unless one of its kind is already waiting.
func (q *queue) add(s os.Signal) {
	if q.pending[s] {
		return
	}
	if q.pending == nil {
		q.pending = map[os.Signal]bool{}
	}
	q.pending[s] = true
	q.list = append(q.list, s)
}

// peek returns the oldest queued signal.
func (q *queue) peek() (os.Signal, bool) {
	if len(q.list) == 0 {
		return nil, false
	}
	return q.list[0], true
}

// pop removes the oldest queued signal.
func (q *queue) pop() {
	delete(q.pending, q.list[0])
	q.list[0] = nil
	q.list = q.list[1:]
}
