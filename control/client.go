package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// UnreachableError says that the client could not talk to cinit at all:
// no socket, a stale one, no permission, or no answer in time. A client
// command exits 7 for it (`cinit probe` exits 1).
type UnreachableError struct {
	Path string
	Err  error
	Msg  string
}

// Error says why, naming the socket.
func (e *UnreachableError) Error() string { return e.Msg }

// Unwrap returns the system error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Client is one connection to a control socket.
type Client struct {
	conn *net.UnixConn
	r    *bufio.Reader
	path string
}

// Dial connects to the socket at path. deadline bounds the whole
// exchange (zero: none); it is set again by [Client.SetDeadline].
func Dial(path string, deadline time.Time) (*Client, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("unix", path)
	if err != nil {
		return nil, unreachable(path, err)
	}
	uc := c.(*net.UnixConn)
	uc.SetDeadline(deadline)
	return &Client{conn: uc, r: bufio.NewReaderSize(uc, 64<<10), path: path}, nil
}

// unreachable turns a dial error into the message a user can act on.
func unreachable(path string, err error) error {
	msg := fmt.Sprintf("cannot reach cinit at %s: %v", path, err)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = fmt.Sprintf("not running (stale socket %s from an earlier instance)", path)
	case errors.Is(err, syscall.ENOENT):
		msg = fmt.Sprintf("not running (no socket %s)", path)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		msg = fmt.Sprintf("permission denied on %s", path)
	case errors.Is(err, os.ErrDeadlineExceeded):
		msg = fmt.Sprintf("no answer from %s in time", path)
	}
	return &UnreachableError{Path: path, Err: err, Msg: msg}
}

// SetDeadline bounds what is left of the exchange (zero: none).
func (c *Client) SetDeadline(t time.Time) { c.conn.SetDeadline(t) }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Do sends req and reads the reply. A reply with "ok": false is returned
// as its *[Error]; what the server refused before reading (busy,
// permission_denied) is an *[UnreachableError] wrapping it.
func (c *Client) Do(req *Request) ([]byte, error) {
	req.V = Version
	b := append(req.AppendJSON(nil), '\n')
	if _, err := c.conn.Write(b); err != nil {
		// The server may have refused us at once (busy, permission):
		// its reply is still there to read.
		if _, rerr := c.reply(); rerr != nil {
			return nil, rerr
		}
		return nil, c.lost(err)
	}
	return c.reply()
}

// reply reads and decodes the reply line: the result's JSON text.
func (c *Client) reply() ([]byte, error) {
	line, err := c.ReadLine()
	if err != nil {
		return nil, c.lost(err)
	}
	result, er, err := decodeReply(line)
	switch {
	case err != nil:
		return nil, c.lost(fmt.Errorf("not a cinit reply: %q", truncate(line, 80)))
	case er != nil && (er.Code == Busy || er.Code == PermissionDenied):
		return nil, &UnreachableError{Path: c.path, Err: er, Msg: er.Message}
	case er != nil:
		return nil, er
	}
	return result, nil
}

// lost turns a broken exchange into an UnreachableError.
func (c *Client) lost(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &UnreachableError{Path: c.path, Err: err, Msg: fmt.Sprintf("no answer from cinit at %s in time", c.path)}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &UnreachableError{Path: c.path, Err: err, Msg: fmt.Sprintf("lost the connection to cinit at %s: %v", c.path, err)}
}

// ReadLine returns the next line the server sent, without its '\n'; the
// slice is valid until the next call. At the end of a stream it returns
// io.EOF.
func (c *Client) ReadLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		buf := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = c.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		if len(line) > 0 && err == io.EOF {
			return line, nil
		}
		return nil, err
	}
	return line[:len(line)-1], nil
}

// Read reads the bytes of a stream that follow the reply.
func (c *Client) Read(p []byte) (int, error) { return c.r.Read(p) }

// Conn returns the underlying connection, for streams that send input
// after the request (what the server's [Conn.Read] sees).
func (c *Client) Conn() *net.UnixConn { return c.conn }

// truncate cuts b to at most n bytes for a message.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
