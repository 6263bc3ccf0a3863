package main

import (
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/terminal"
)

// defineAttachFlags adds --detach-keys; its default is CINIT_DETACH_KEYS
// when that is set, even to the empty string (which disables detaching),
// else ctrl-\.
func defineAttachFlags(fs *pflag.FlagSet, c *ctlClient) {
	keys, ok := os.LookupEnv("CINIT_DETACH_KEYS")
	if !ok {
		keys = terminal.DefaultDetachKeys
	}
	fs.StringVar(&c.keys, "detach-keys", keys, `the keys that detach, in Docker's syntax ("ctrl-a,d"); empty: none`)
}

// checkAttachArgs wants one process and valid detach keys.
func checkAttachArgs(c *ctlClient) error {
	if len(c.names) != 1 {
		return usagef("attach: name one process")
	}
	if _, err := terminal.ParseKeys(c.keys); err != nil {
		return usagef("attach: --detach-keys: %v", err)
	}
	return nil
}

// attach connects the terminal to a --tty process of a running cinit
// (README "Debugging a process") until the user detaches or the process
// ends: exit 0; 1 when the process has no terminal or is not running, 4
// when no process has that name, 7 when cinit cannot be reached.
func (c *ctlClient) attach() int {
	keys, _ := terminal.ParseKeys(c.keys)
	cl, _, err := c.call(&control.Request{}, shortDeadline())
	if err != nil {
		return c.failWith(err)
	}
	defer cl.Close()
	cl.SetDeadline(time.Time{})
	s := &terminal.Session{In: os.Stdin, Out: os.Stdout, Conn: streamConn{cl}, Name: c.names[0], Keys: keys}
	return s.Run()
}

// streamConn reads the stream after the reply and writes to the socket.
type streamConn struct{ cl *control.Client }

// Read reads the terminal's output that cinit sends.
func (s streamConn) Read(p []byte) (int, error) { return s.cl.Read(p) }

// Write sends a message to cinit.
func (s streamConn) Write(p []byte) (int, error) { return s.cl.Conn().Write(p) }
