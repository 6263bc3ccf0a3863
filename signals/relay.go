package signals

import (
	"os"
	"os/signal"
	"reflect"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
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
	// while it has children, and a stop signal that comes during start-up
	// must not be lost (tini's configure_signals runs before its spawn).
	Ready <-chan struct{}

	ttou chan os.Signal // SIGTTOU's channel, for TakeForeground
}

// Subscribe subscribes to the signals of [Notified] and returns the
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
// signals the same way), and one relay takes from all of them and keeps at
// most one pending signal of each kind. Between a stop signal and another
// kind the order is not kept; the kernel does not keep it either,
// delivering pending standard signals lowest number first.
//
// Subscribe returns at once and subscribes in the background: each
// signal.Notify costs a round trip to the Go runtime's signal thread (about
// 50 µs on the machine of BENCHMARKS.md, 0.5 ms for the list), which so
// overlaps loading the configuration and preparing the first child. Ready
// tells when it is done. Nothing is ever unsubscribed: cinit exits right
// after it stops reading, and signal.Stop costs milliseconds of handler
// changes on the way out.
//
// In multi-process mode (single false) SIGWINCH is left out: cinit ignores
// it there, and so does the kernel by default, also for PID 1.
func Subscribe(single bool) Channels {
	stop := make(chan os.Signal, 16)
	out := make(chan os.Signal)
	ready := make(chan struct{})
	subscribed := subscribed(single)
	var kinds []chan os.Signal
	var ttou chan os.Signal
	for _, sig := range subscribed {
		if !IsStop(sig) {
			kinds = append(kinds, make(chan os.Signal, 1))
		}
		if sig == syscall.SIGTTOU {
			ttou = kinds[len(kinds)-1]
		}
	}
	go func() {
		i := 0
		for _, sig := range subscribed {
			if IsStop(sig) {
				signal.Notify(stop, sig)
				continue
			}
			signal.Notify(kinds[i], sig)
			i++
		}
		close(ready)
	}()
	go relay(kinds, out)
	return Channels{Stop: stop, Other: out, Ready: ready, ttou: ttou}
}

// TakeForeground makes cinit's process group the foreground group of the
// terminal on fd again. From a background group tcsetpgrp raises SIGTTOU,
// which would make the call fail and restart for as long as cinit handles
// the signal, so SIGTTOU is ignored for the call, and then subscribed
// again: left ignored, it would be ignored in every child started later
// too, since exec keeps an ignored signal ignored. c must come from
// Subscribe, from the goroutine that starts children.
func (c Channels) TakeForeground(fd int) {
	<-c.Ready
	signal.Ignore(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp())
	signal.Notify(c.ttou, syscall.SIGTTOU)
}

// Background tells that a child's group holds cinit's terminal's
// foreground now: until TakeForeground, cinit ignores SIGTTOU. Merely
// handled, the signal would not stop cinit, but with `stty tostop` every
// write of cinit to the terminal from the background raises it and is
// restarted, so cinit would spin and print nothing (tini ignores SIGTTOU
// all along). A child forked meanwhile is forked within ForkWith.
func (c Channels) Background() {
	<-c.Ready
	signal.Ignore(syscall.SIGTTOU)
}

// ForkWith runs fork with SIGTTOU subscribed again when bg (after
// Background), so that the child starts with its default action: exec
// resets a handled signal, not an ignored one. It is ignored again after.
func (c Channels) ForkWith(bg bool, fork func()) {
	if !bg {
		fork()
		return
	}
	signal.Notify(c.ttou, syscall.SIGTTOU)
	fork()
	signal.Ignore(syscall.SIGTTOU)
}

// subscribed lists the kinds Subscribe subscribes to in a mode.
func subscribed(single bool) []syscall.Signal {
	if single {
		return Notified
	}
	return slices.DeleteFunc(slices.Clone(Notified), func(s syscall.Signal) bool { return s == syscall.SIGWINCH })
}

// relay moves signals from the channels of kinds to out, in order,
// coalescing a signal with a pending one of the same kind. It owns its
// queue; it runs until every channel of kinds is closed and everything
// queued was taken. One goroutine waits on all of them (reflect.Select), so
// idle cinit keeps no goroutine per kind.
func relay(kinds []chan os.Signal, out chan<- os.Signal) {
	cases := make([]reflect.SelectCase, len(kinds)+1)
	for i, c := range kinds {
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)}
	}
	send, open := len(kinds), len(kinds)
	var q queue
	for {
		next, pending := q.peek()
		if open == 0 && !pending {
			close(out)
			return
		}
		cases[send] = reflect.SelectCase{Dir: reflect.SelectSend}
		if pending {
			cases[send].Chan, cases[send].Send = reflect.ValueOf(out), reflect.ValueOf(next)
		}
		i, v, ok := reflect.Select(cases)
		switch {
		case i == send:
			q.pop()
		case !ok:
			cases[i].Chan = reflect.Value{} // closed: never chosen again
			open--
		default:
			q.add(v.Interface().(os.Signal))
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
