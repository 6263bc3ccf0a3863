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
// of thousands of signals arrives, so a plain channel would drop what comes
// last: perhaps the SIGTERM that was meant to stop everything. Subscribe
// therefore puts a relay goroutine between the runtime and the loop. The
// relay only moves signals, so it keeps up with any burst; it queues every
// stop signal in order, and keeps at most one pending signal of each other
// kind: a HUP raised while a HUP is still waiting to be forwarded is the
// same news, and the kernel coalesces pending signals the same way.
func Subscribe() <-chan os.Signal {
	in := make(chan os.Signal, 64)
	out := make(chan os.Signal)
	signal.Notify(in, toOS(Notified)...)
	go relay(in, out)
	return out
}

// toOS converts a signal list for signal.Notify.
func toOS(list []syscall.Signal) []os.Signal {
	out := make([]os.Signal, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
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
