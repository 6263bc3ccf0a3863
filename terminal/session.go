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
type Session struct {
	In, Out *os.File
	Conn    io.ReadWriter
	Name    string // the process, for messages
	Keys    []byte // the detach sequence (ParseKeys); empty: none
}

// Run runs the session and returns the client's exit status: 0 when it
// detached or the process ended, 128+N when signal N ended it.
func (s *Session) Run() int {
	tty := IsTerminal(int(s.In.Fd()))
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if tty {
		st, err := MakeRaw(int(s.In.Fd()))
		if err == nil {
			defer st.Restore()
		}
		s.sendSize()
	}
	ended := make(chan struct{})
	go func() { io.Copy(s.Out, s.Conn); close(ended) }()
	keys, done := make(chan []byte), make(chan struct{})
	defer close(done)
	go s.readKeys(keys, done)
	return s.loop(tty, keys, ended, sigs)
}

// loop sends keys and sizes until the session ends. It is the only
// writer to Conn.
func (s *Session) loop(tty bool, keys <-chan []byte, ended <-chan struct{}, sigs <-chan os.Signal) int {
	d := &Detacher{}
	if tty {
		d = NewDetacher(s.Keys)
	}
	var tap <-chan time.Time
	for {
		select {
		case <-ended:
			return 0
		case sig := <-sigs:
			if sig == syscall.SIGWINCH {
				s.sendSize()
				continue
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
				s.send(Message{Input: out})
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

// send writes one message; an error means cinit is gone, which the
// output side notices.
func (s *Session) send(m Message) {
	s.Conn.Write(AppendMessage(nil, m))
}
