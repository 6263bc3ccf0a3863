package signals

import (
	"os"
	"os/signal"
	"syscall"
)

// Subscribe subscribes to every signal of [Notified] and returns the
// channel the supervisor reads them from. It never loses a stop signal and
// never lets a burst of other signals push one out.
//
// os/signal drops a signal when the channel it sends to is full (its
// documentation: "Package signal will not block sending to c"). A loop that
// forwards every HUP to every process group drains far slower than a burst
// of thousands of signals arrives, so one shared channel would drop what
// comes last: perhaps the SIGTERM meant to stop everything, or the last
// SIGCONT. So every kind has a channel of its own: one slot for a kind that
// is forwarded (a drop then only means that one of its kind is already
// waiting, which is the same news: the kernel coalesces pending signals the
// same way), and room for many stop signals, of which cinit counts two. A
// goroutine per kind moves its signals to a relay that queues stop signals
// in order and keeps at most one pending signal of each other kind.
func Subscribe() <-chan os.Signal {
	in := make(chan os.Signal)
	out := make(chan os.Signal)
	for _, sig := range Notified {
		room := 1
		if IsStop(sig) {
			room = 16
		}
		c := make(chan os.Signal, room)
		signal.Notify(c, sig)
		go feed(c, in)
	}
	go relay(in, out)
	return out
}

// feed moves the signals of one kind to the relay.
func feed(c <-chan os.Signal, in chan<- os.Signal) {
	for s := range c {
		in <- s
	}
}

// relay moves signals from in to out: stop signals queued in order, any
// other kind coalesced with a pending one of the same kind. It owns its
// queue; it runs until in is closed and everything queued was taken.
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

// queue holds the signals the loop has not taken yet, in arrival order.
type queue struct {
	list    []os.Signal
	pending map[os.Signal]bool // kinds other than stop signals in list
}

// add queues s unless it is not a stop signal and one of its kind is
// already waiting.
func (q *queue) add(s os.Signal) {
	if sig, ok := s.(syscall.Signal); !ok || !IsStop(sig) {
		if q.pending[s] {
			return
		}
		if q.pending == nil {
			q.pending = map[os.Signal]bool{}
		}
		q.pending[s] = true
	}
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
