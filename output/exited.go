package output

import (
	"errors"
	"time"
)

// ttyDrainBudget is how many bytes a terminal's drain reads, at most,
// before done is called anyway (see Exited).
const ttyDrainBudget = 4 * maxLine

// errDrained is how a read tells Run that a terminal being drained is
// empty.
var errDrained = errors.New("terminal drained")

// Exited tells the Pipe that the process writing it has exited. done is
// called exactly once: as soon as every byte that was in the pipe at the
// time of the call has been printed, with a pending partial line flushed
// as a line of its own, or at EOF, whichever comes first. It is called from
// Run's goroutine, or from a new goroutine when Run had already returned
// before Exited was called. Exited itself never blocks.
//
// Output that arrives later, from a grandchild that still holds the write
// end, is copied as usual until EOF. Call Exited at most once per Pipe.
//
// Why done comes neither too early nor too late: the caller learned of the
// exit from wait4, so every byte the process wrote is, at the time of the
// call, either in the pipe or already read by Run, and Run formats and
// writes what it reads before it reads again. Exited stores done, then sets
// exited, then sets a read deadline in the past; a Read that is blocked or
// starts later returns at once. Run checks exited after every Read, so it
// sees the flag after at most one more Read. From then on it counts bytes:
// FIONREAD, taken after the call, says how many bytes were in the pipe, and
// since a pipe is first in, first out, once that many more bytes have been
// read (and printed), every byte of the exited process has been printed.
// Counting instead of waiting for FIONREAD to read 0 keeps a chatty
// grandchild from postponing done forever. A deadline that fires after the
// exit was handled only makes one Read return early; Run clears it and
// reads on.
//
// A pseudo-terminal is drained differently, since FIONREAD does not count
// the bytes the kernel has not yet moved from the slave's side to the
// master's: once the exit is seen, Run reads until a read finds the
// terminal empty, and then calls done instead of waiting for more. Linux's read of a pty moves
// those pending bytes before it reports EAGAIN (n_tty_read flushes the
// port's buffer first), so an empty read means every byte written before
// the exit has been printed. The kernel hangs up a session's terminal when
// its leader exits, so the read after the last byte usually returns EIO
// instead, which ends Run. A byte budget bounds the drain when a
// grandchild that dropped the terminal keeps writing.
func (p *Pipe) Exited(done func()) {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		go done()
		return
	}
	p.done = done
	p.mu.Unlock()
	p.exited.Store(true)
	p.f.SetReadDeadline(time.Unix(1, 0)) // an error means Run has closed f; finish calls done
}

// checkExited runs after every Read that returned n bytes (which have
// already been printed) and calls done once every byte that was in the pipe
// when Exited was seen has been read.
func (p *Pipe) checkExited(n int) {
	switch {
	case p.draining:
		p.remaining -= n
		if p.remaining <= 0 {
			p.notify()
		}
	case !p.notified && p.exited.Load():
		p.startDrain()
	}
}

// startDrain clears the deadline that Exited set and counts the bytes left
// in the pipe; with none left, done is due now.
func (p *Pipe) startDrain() {
	p.f.SetReadDeadline(time.Time{})
	if p.tty {
		p.draining, p.remaining = true, ttyDrainBudget
		return
	}
	n := p.unread()
	if n <= 0 {
		p.notify()
		return
	}
	p.draining, p.remaining = true, n
}

// notify flushes the partial line and calls done.
func (p *Pipe) notify() {
	p.draining = false
	p.notified = true
	p.flushPartial()
	p.callDone(false)
}

// finish marks the Pipe finished and calls done if Exited stored one that
// has not been called yet.
func (p *Pipe) finish() {
	p.callDone(true)
}

// callDone takes done (at most once over the Pipe's life) and calls it;
// finished is recorded under the same lock, so that an Exited after it
// calls its done itself.
func (p *Pipe) callDone(finished bool) {
	p.mu.Lock()
	done := p.done
	p.done = nil
	p.finished = p.finished || finished
	p.mu.Unlock()
	if done != nil {
		done()
	}
}

// unread returns the number of bytes in the pipe that have not been read
// (FIONREAD), or 0 when that cannot be told.
func (p *Pipe) unread() int {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	var ierr error
	err = rc.Control(func(fd uintptr) {
		n, ierr = pipeUnread(int(fd))
	})
	if err != nil || ierr != nil {
		return 0
	}
	return n
}
