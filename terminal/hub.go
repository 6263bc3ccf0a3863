package terminal

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"syscall"
)

const (
	// ReplaySize is how much of a terminal's latest output an attach
	// replays, from the first line start in it, so that a debugger's
	// prompt shows up at once.
	ReplaySize = 16 << 10
	// MaxQueued is how much output may wait for an attached client that
	// does not read; one more byte and it is detached. Neither the process
	// nor cinit's output ever waits for a client.
	MaxQueued = 1 << 20
)

// ErrEnded is returned by [Hub.Attach] once the run of the terminal's
// process is over.
var ErrEnded = errors.New("the process has exited")

// Hub is the attach side of one run of a --tty process: it keeps the
// latest output for a replay, passes new output to the attached client,
// writes the client's keys to the terminal and sets its size. At most one
// client is attached; a second one takes over. Its methods are safe for
// concurrent use and never wait for a client.
type Hub struct {
	master *os.File // the terminal's master side; the output pipe owns and closes it

	mu      sync.Mutex
	recent  []byte  // the latest output: up to 2*ReplaySize, trimmed to ReplaySize
	trimmed bool    // output before recent was dropped
	client  *Client // the attached client, or nil
	end     string  // set by End: why the run is over
}

// NewHub returns the Hub of the terminal whose master is master.
func NewHub(master *os.File) *Hub {
	return &Hub{master: master}
}

// Write takes output read from the terminal (the output pipe calls it
// with every read, as it reads), keeps it for replays and queues it for
// the attached client. It never blocks and never fails.
func (h *Hub) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keep(p)
	if c := h.client; c != nil {
		if len(c.queue)+len(p) > MaxQueued {
			c.dropped = true
			h.detach(c, "")
		} else {
			c.queue = append(c.queue, p...)
			c.poke()
		}
	}
	return len(p), nil
}

// keep appends p to recent, dropping what is older than ReplaySize once
// recent holds twice that (so a byte is copied at most twice).
func (h *Hub) keep(p []byte) {
	if len(p) >= ReplaySize {
		h.recent = append(h.recent[:0], p[len(p)-ReplaySize:]...)
		h.trimmed = true
		return
	}
	h.recent = append(h.recent, p...)
	if len(h.recent) > 2*ReplaySize {
		n := copy(h.recent, h.recent[len(h.recent)-ReplaySize:])
		h.recent = h.recent[:n]
		h.trimmed = true
	}
}

// replay returns the latest ReplaySize bytes of output, from the first
// line start in them unless they go back to the start of the output.
func (h *Hub) replay() []byte {
	r := h.recent[max(0, len(h.recent)-ReplaySize):]
	if h.trimmed || len(h.recent) > ReplaySize {
		if i := bytes.IndexByte(r, '\n'); i >= 0 {
			r = r[i+1:]
		}
	}
	return append([]byte(nil), r...)
}

// Attach attaches a new client, whose first output is the replay. The
// client attached before, if any, is detached with the message that
// another client took over. After [Hub.End] it returns ErrEnded.
func (h *Hub) Attach(name string) (*Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.end != "" {
		return nil, ErrEnded
	}
	if h.client != nil {
		h.detach(h.client, "detached: "+name+" attached by another client")
	}
	c := &Client{hub: h, queue: h.replay(), wake: make(chan struct{}, 1), over: make(chan struct{})}
	h.client = c
	return c, nil
}

// End tells the Hub that the run is over and every byte of its output
// has been written to it: the attached client gets msg after the output
// queued so far, and later attaches fail.
func (h *Hub) End(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.end = msg
	if h.client != nil {
		h.detach(h.client, msg)
	}
}

// Input writes keys to the terminal, byte for byte. It blocks while the
// terminal's input queue is full (the program does not read), which only
// holds up the client that typed.
func (h *Hub) Input(keys []byte) error {
	_, err := h.master.Write(keys)
	return err
}

// Resize sets the terminal's window size and sends SIGWINCH to its
// foreground process group even when the size did not change, so that
// line editors and full-screen programs redraw for the new client (the
// way dtach's winch redraw method does).
func (h *Hub) Resize(s Size) error {
	if err := SetSize(h.master, s); err != nil {
		return err
	}
	pgrp, err := ForegroundGroup(h.master)
	if err != nil || pgrp <= 0 {
		return err
	}
	return syscall.Kill(-pgrp, syscall.SIGWINCH)
}

// detach ends c with msg; h.mu is held.
func (h *Hub) detach(c *Client, msg string) {
	if h.client == c {
		h.client = nil
	}
	if c.ended {
		return
	}
	c.ended, c.msg = true, msg
	if msg == "" {
		c.queue = nil // dropped: it did not read, so it gets nothing more
	}
	close(c.over)
	c.poke()
}

// Client is one attached client of a [Hub].
type Client struct {
	hub  *Hub
	wake chan struct{} // a token when queue grows or the client ends
	over chan struct{} // closed when the client is detached

	// Guarded by hub.mu:
	queue   []byte // output not yet taken by Next
	ended   bool
	dropped bool   // ended because MaxQueued was reached
	msg     string // why it ended: shown to the client, "" for nothing
}

// poke wakes Next; hub.mu is held.
func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Next waits for output for the client and returns it. Once the client
// is detached and its queued output taken, it returns ok false and the
// message to show (empty when the client was dropped for not reading, or
// detached itself). gone stops the wait when the client hung up.
func (c *Client) Next(gone <-chan struct{}) (out []byte, msg string, ok bool) {
	for {
		c.hub.mu.Lock()
		out, c.queue = c.queue, nil
		ended, msg := c.ended, c.msg
		c.hub.mu.Unlock()
		if len(out) > 0 {
			return out, "", true
		}
		if ended {
			return nil, msg, false
		}
		select {
		case <-c.wake:
		case <-gone:
			c.Detach()
		}
	}
}

// Over returns a channel that is closed when the client is detached.
func (c *Client) Over() <-chan struct{} { return c.over }

// Dropped reports whether the client was detached for not reading.
func (c *Client) Dropped() bool {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return c.dropped
}

// Detach detaches the client on its own account (it asked, or it hung
// up): nothing more is queued for it.
func (c *Client) Detach() {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	c.hub.detach(c, "")
}
