package control

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Deadlines of a connection.
const (
	RequestDeadline = 5 * time.Second  // to send the whole request line
	replyDeadline   = 5 * time.Second  // for the client to take the reply
	closeGrace      = time.Second      // at Close: how long a stream's write may block
	closeBound      = 10 * time.Second // at Close: how long streams may take in all
)

// Peer is the process at the other end of a connection, from SO_PEERCRED.
type Peer struct {
	Pid int
	Uid int
}

// Handler serves one command. It runs in the connection's goroutine and
// must answer the [Call] exactly once, by [Call.Reply], [Call.Fail] or
// [Call.Stream]; the answer may come later from another goroutine (the
// supervisor's loop), and the connection's goroutine waits for it.
type Handler func(*Call)

// Stream is what a streaming command does with its connection once its
// reply is written: it writes (and may read) until it is done or the
// client hangs up. It runs in the connection's goroutine; the connection
// is closed when it returns.
type Stream func(*Conn)

// Call is one accepted request waiting for its answer.
type Call struct {
	Req  *Request
	Peer Peer

	answered atomic.Bool
	answer   chan answer // capacity 1: answering never blocks
	gone     atomic.Bool // the client hung up before the answer
	conn     *net.UnixConn
}

// Gone reports whether the client hung up before the call was answered:
// the answer, when it comes, goes nowhere. A restart that waits for
// readiness goes on; only its client is gone. It looks at the connection
// itself too, so that a client that has just exited counts at once.
func (c *Call) Gone() bool {
	if c.gone.Load() {
		return true
	}
	if c.conn == nil {
		return false
	}
	raw, err := c.conn.SyscallConn()
	if err != nil {
		return true
	}
	end := false
	if raw.Control(func(fd uintptr) { end = closedByPeer(int(fd)) }) != nil {
		return true
	}
	return end
}

// answer is a reply line and, for a stream, what follows it.
type answer struct {
	line   []byte
	stream Stream
}

// NewCall makes a Call outside a server, for tests of a Handler. Its
// answer is read with [Call.Answer].
func NewCall(req *Request, peer Peer) *Call {
	return &Call{Req: req, Peer: peer, answer: make(chan answer, 1)}
}

// Reply answers with success and result (nil gives no "result").
func (c *Call) Reply(result Result) { c.send(answer{line: encodeReply(result, nil)}) }

// Fail answers with e.
func (c *Call) Fail(e *Error) { c.send(answer{line: encodeReply(nil, e)}) }

// Stream answers with success and result, and then hands the connection
// to s.
func (c *Call) Stream(result Result, s Stream) {
	c.send(answer{line: encodeReply(result, nil), stream: s})
}

// Answered reports whether the call has its answer.
func (c *Call) Answered() bool { return c.answered.Load() }

// Answer waits for the answer and returns its reply line (tests).
func (c *Call) Answer() []byte { return (<-c.answer).line }

// send delivers the first answer; later ones are dropped.
func (c *Call) send(a answer) {
	if c.answered.CompareAndSwap(false, true) {
		c.answer <- a
	}
}

// Conn is a connection handed to a [Stream]. Read returns what the client
// sends after its request line; Write sends to the client.
type Conn struct {
	c       *net.UnixConn
	r       *bufio.Reader
	closing <-chan struct{} // the server's
	gone    chan struct{}
	once    sync.Once
}

// Read reads what the client sent after its request.
func (c *Conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write writes p to the client. Once the server is closing, a write that
// blocks for closeGrace fails: a client that keeps reading gets the rest
// of its stream, one that stopped reading does not hold cinit's exit.
func (c *Conn) Write(p []byte) (int, error) {
	select {
	case <-c.closing:
		c.c.SetWriteDeadline(time.Now().Add(closeGrace))
	default:
	}
	return c.c.Write(p)
}

// SetWriteDeadline bounds the writes to come (zero: none).
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.c.SetWriteDeadline(t) }

// Gone returns a channel closed when the client hangs up. It reads and
// discards the client's input to find out, so a stream that reads its
// input must not call it.
func (c *Conn) Gone() <-chan struct{} {
	c.once.Do(func() {
		go func() {
			io.Copy(io.Discard, c.r)
			close(c.gone)
		}()
	})
	return c.gone
}

// Server accepts connections on a [Listener] and hands each valid request
// to the Handler of its command.
type Server struct {
	// Immutable after Serve:
	l        *Listener
	commands map[string]Handler
	euid     int

	closing chan struct{}
	closed  sync.Once
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[*net.UnixConn]bool // open connections; true once past the request
}

// NewServer returns a server for l. Call [Server.Serve] to start it and
// [Server.Close] to stop it.
func NewServer(l *Listener) *Server {
	return &Server{l: l, euid: os.Geteuid(),
		closing: make(chan struct{}), conns: map[*net.UnixConn]bool{}}
}

// Path is the socket's path.
func (s *Server) Path() string { return s.l.Path() }

// Serve serves commands: it accepts connections until Close, each in its
// own goroutine. It returns at once; the accepting goroutine ends with
// Close. Serve is called once.
func (s *Server) Serve(commands map[string]Handler) {
	s.commands = commands
	s.wg.Add(1)
	go s.accept()
}

// accept runs the accept loop.
func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.l.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: let it pass
			continue
		}
		if !s.admit(c) {
			refuse(c, Errorf(Busy, "busy: %d connections are open", MaxConns))
			continue
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

// admit counts a connection in, unless MaxConns are open or the server is
// closing.
func (s *Server) admit(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		return false
	default:
	}
	if len(s.conns) >= MaxConns {
		return false
	}
	s.conns[c] = false
	return true
}

// refuse writes one error reply and closes c.
func refuse(c *net.UnixConn, e *Error) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(encodeReply(nil, e))
	c.Close()
}

// serve handles one connection: the peer check, the request, the answer,
// and the stream if there is one.
func (s *Server) serve(c *net.UnixConn) {
	defer s.wg.Done()
	defer s.drop(c)
	peer, err := peerOf(c)
	if err != nil || (peer.Uid != s.euid && peer.Uid != 0) {
		refuse(c, Errorf(PermissionDenied, "permission denied: only uid %d and root may use this socket", s.euid))
		return
	}
	r := bufio.NewReaderSize(c, MaxRequest+1)
	req, rerr := readRequest(c, r)
	if rerr == nil {
		if _, ok := s.commands[req.Cmd]; !ok {
			rerr = Errorf(UnknownCommand, "unknown command %q", req.Cmd)
		}
	}
	if rerr != nil {
		refuse(c, rerr)
		return
	}
	s.mark(c)
	call := NewCall(req, peer)
	call.conn = c
	s.commands[req.Cmd](call)
	a := s.await(c, call)
	c.SetWriteDeadline(time.Now().Add(replyDeadline))
	if _, err := c.Write(a.line); err != nil || a.stream == nil {
		c.Close()
		if a.stream != nil {
			a.stream(&Conn{c: c, r: r, closing: s.closing, gone: make(chan struct{})}) // it ends at once, and lets go of what it holds
		}
		return
	}
	c.SetWriteDeadline(time.Time{})
	a.stream(&Conn{c: c, r: r, closing: s.closing, gone: make(chan struct{})})
	c.Close()
}

// await waits for call's answer. A client that hangs up meanwhile (a
// killed cinit restart, say) does not keep its connection: the call is
// marked gone, the connection closed and its slot among the MaxConns
// freed, and the answer, when it comes, fails to be written.
func (s *Server) await(c *net.UnixConn, call *Call) answer {
	select {
	case a := <-call.answer:
		return a
	default:
	}
	hup, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		if hungUp(c) {
			close(hup)
		}
	}()
	select {
	case a := <-call.answer:
		c.SetReadDeadline(time.Now()) // ends the watch
		<-watched
		c.SetReadDeadline(time.Time{})
		return a
	case <-hup:
		call.gone.Store(true)
		c.Close()
		s.drop(c)
		return <-call.answer
	}
}

// hungUp waits until the client of c has closed its end, without taking
// any input, and reports whether it has: poll's POLLHUP, which Linux sets
// once both directions are shut. A client that only shut down its
// writing (socat after the request line) still waits for the answer and
// is not gone. A read deadline ends the wait (false).
func hungUp(c *net.UnixConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	end := false
	raw.Read(func(fd uintptr) bool {
		end = closedByPeer(int(fd))
		return end // else nothing, input or a half close: wait for the next change
	})
	return end
}

// closedByPeer reports, without waiting, whether the peer of socket fd has
// closed its end.
func closedByPeer(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
}

// readRequest reads and decodes the request line within RequestDeadline.
// A last line without '\n' at end of file counts (socat sends that).
func readRequest(c *net.UnixConn, r *bufio.Reader) (*Request, *Error) {
	c.SetReadDeadline(time.Now().Add(RequestDeadline))
	defer c.SetReadDeadline(time.Time{})
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, Errorf(TooLarge, "request is over the limit of %d bytes", MaxRequest)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, Errorf(Timeout, "request not complete within %v", RequestDeadline)
	case err != nil && (err != io.EOF || len(line) == 0):
		return nil, Errorf(BadRequest, "no request: %v", err)
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return DecodeRequest(line)
}

// mark notes that c is past its request: Close lets it finish.
func (s *Server) mark(c *net.UnixConn) {
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
}

// drop forgets a closed connection.
func (s *Server) drop(c *net.UnixConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops accepting, removes the socket file, closes connections still
// sending their request, lets streams finish (they end when their source
// does; a write that blocks for closeGrace fails), closes what is left
// after closeBound, and waits for every goroutine of the server. Every Handler must have answered or be about to.
// Close may be called more than once.
func (s *Server) Close() {
	s.closed.Do(s.close)
}

func (s *Server) close() {
	s.mu.Lock()
	close(s.closing)
	for c, past := range s.conns {
		if !past {
			c.Close()
		} else {
			c.SetWriteDeadline(time.Now().Add(closeGrace)) // a write blocked now
		}
	}
	s.mu.Unlock()
	s.l.Close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(closeBound):
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
}
