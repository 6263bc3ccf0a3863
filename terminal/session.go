package terminal

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Session is the client side of cinit attach, once cinit has accepted the
// request: it copies the terminal's output from Conn to Out and the keys
// typed on In to Conn, until the user detaches, the process ends (cinit
// then sends its message and closes the connection), or a signal ends the
// client.
//
// When In is a terminal it is put in raw mode (restored on every way
// out), each key is sent as it is typed (^C included: it reaches the
// program, not the client), the detach keys are watched, and the window
// size is sent at once and on every SIGWINCH. Otherwise In is copied
// until its end of file, and the client then detaches: the process never
// sees an end of file.
//
// Messages to cinit go through a queue and a goroutine of their own, so
// that a process that does not read its terminal, which leaves cinit's
// write to the terminal and then the client's write to the socket
// blocked, never blocks the client: the detach keys and the signals keep
// working. Typed keys that find the queue full are dropped, with a
// notice; piped input waits for room instead.
type Session struct {
	In, Out *os.File
	Conn    io.ReadWriter
	Name    string // the process, for messages
	Keys    []byte // the detach sequence (ParseKeys); empty: none

	queue    chan []byte // messages for cinit, written by writeQueue
	dropping bool        // typed keys are being dropped; the notice was shown
	outErr   error       // why writing to Out failed; set before ended is closed
}

// Bounds of the queue to cinit.
const (
	queuedMessages = 64          // messages the client holds while cinit takes none
	flushGrace     = time.Second // at the end: how long the queue may take to go out
)

// Run runs the session and returns the client's exit status: 0 when it
// detached or the process ended, 128+N when signal N ended it, 141 (as
// for SIGPIPE) when Out was closed. SIGPIPE is subscribed so that a write
// to a closed Out fails instead of killing the client in raw mode.
func (s *Session) Run() int {
	tty := IsTerminal(int(s.In.Fd()))
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	s.queue = make(chan []byte, queuedMessages)
	flushed := make(chan struct{})
	go s.writeQueue(flushed)
	if tty {
		st, err := MakeRaw(int(s.In.Fd()))
		if err == nil {
			defer st.Restore()
		}
		s.sendSize()
	}
	ended := make(chan struct{})
	go func() { s.copyOut(); close(ended) }()
	keys, done := make(chan []byte), make(chan struct{})
	defer close(done)
	go s.readKeys(keys, done)
	code := s.loop(tty, keys, ended, sigs)
	close(s.queue)
	select { // the detach message, unless cinit takes nothing
	case <-flushed:
	case <-time.After(flushGrace):
	}
	return code
}

// copyOut copies the terminal's output from Conn to Out until either
// ends, noting a failed write to Out.
func (s *Session) copyOut() {
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Conn.Read(buf)
		if n > 0 {
			if _, werr := s.Out.Write(buf[:n]); werr != nil {
				s.outErr = werr
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// writeQueue writes the queued messages to Conn, in order, and closes
// flushed once the queue is closed and written. After a failed write
// (cinit is gone, which the output side notices) it only drains.
func (s *Session) writeQueue(flushed chan<- struct{}) {
	defer close(flushed)
	for m := range s.queue {
		if _, err := s.Conn.Write(m); err != nil {
			for range s.queue {
			}
			return
		}
	}
}

// loop sends keys and sizes until the session ends. It is the only
// sender to the queue.
func (s *Session) loop(tty bool, keys <-chan []byte, ended <-chan struct{}, sigs <-chan os.Signal) int {
	d := &Detacher{}
	if tty {
		d = NewDetacher(s.Keys)
	}
	var tap <-chan time.Time
	for {
		select {
		case <-ended:
			if s.outErr != nil {
				return 128 + int(syscall.SIGPIPE)
			}
			return 0
		case sig := <-sigs:
			switch sig {
			case syscall.SIGWINCH:
				s.sendSize()
				continue
			case syscall.SIGPIPE:
				continue // the write that raised it fails, and ends the copy
			}
			return 128 + int(sig.(syscall.Signal))
		case <-tap:
			tap = nil
			if d.Expire() {
				return s.detach(tty)
			}
		case in, ok := <-keys:
			if !ok {
				return s.detach(tty) // end of input
			}
			out, detach, waiting := d.Feed(in)
			if len(out) > 0 {
				if code, end := s.sendInput(out, tty, ended, sigs); end {
					return code
				}
			}
			if detach {
				return s.detach(tty)
			}
			tap = nil
			if waiting {
				tap = time.After(DoubleTapWindow)
			}
		}
	}
}

// readKeys sends what is read from In, closing keys at its end. It may
// outlive Run (done), blocked in a read, until the client exits.
func (s *Session) readKeys(keys chan<- []byte, done <-chan struct{}) {
	buf := make([]byte, 4096)
	for {
		n, err := s.In.Read(buf)
		if n > 0 {
			select {
			case keys <- append([]byte(nil), buf[:n]...):
			case <-done:
				return
			}
		}
		if err != nil {
			close(keys)
			return
		}
	}
}

// detach tells cinit and the user that the client detaches.
func (s *Session) detach(tty bool) int {
	s.send(Message{Detach: true})
	msg := fmt.Sprintf("[cinit: detached from %s]", s.Name)
	if tty {
		fmt.Fprintf(s.Out, "\r\n%s\r\n", msg)
	} else {
		fmt.Fprintln(os.Stderr, msg)
	}
	return 0
}

// sendSize sends the size of the client's terminal.
func (s *Session) sendSize() {
	size, err := GetSize(int(s.In.Fd()))
	if err != nil {
		size, err = GetSize(int(s.Out.Fd()))
	}
	if err == nil {
		size = size.orDefault()
		s.send(Message{Resize: &size})
	}
}

// send queues one message, unless the queue is full: a size or a detach
// is then dropped (a closed connection detaches too).
func (s *Session) send(m Message) bool {
	select {
	case s.queue <- AppendMessage(nil, m):
		return true
	default:
		return false
	}
}

// sendInput queues input for cinit. Typed keys that do not fit are
// dropped, and the user is told once per stall. Piped input waits for
// room; a signal or the end of the session ends the wait, and then the
// session (end true, with the client's exit status).
func (s *Session) sendInput(in []byte, tty bool, ended <-chan struct{}, sigs <-chan os.Signal) (code int, end bool) {
	if tty {
		switch {
		case s.send(Message{Input: in}):
			s.dropping = false
		case !s.dropping:
			s.dropping = true
			fmt.Fprintf(s.Out, "\r\n[cinit: %s does not read its input; keys are dropped]\r\n", s.Name)
		}
		return 0, false
	}
	m := AppendMessage(nil, Message{Input: in})
	for {
		select {
		case s.queue <- m:
			return 0, false
		case <-ended:
			return 0, true
		case sig := <-sigs:
			if sig != syscall.SIGWINCH {
				return 128 + int(sig.(syscall.Signal)), true
			}
		}
	}
}
