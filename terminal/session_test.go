package terminal

import (
	"bufio"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeServer is cinit's side of an attach connection: it records the
// messages the client sends.
type fakeServer struct {
	conn net.Conn
	msgs chan Message
}

func newFakeServer(t *testing.T) (*fakeServer, net.Conn) {
	server, client := net.Pipe()
	f := &fakeServer{conn: server, msgs: make(chan Message, 100)}
	go func() {
		sc := bufio.NewScanner(server)
		for sc.Scan() {
			m, err := ParseMessage(sc.Bytes())
			if err != nil {
				t.Errorf("bad message %q: %v", sc.Text(), err)
			}
			f.msgs <- m
		}
		close(f.msgs)
	}()
	t.Cleanup(func() { server.Close(); client.Close() })
	return f, client
}

// next returns the next message.
func (f *fakeServer) next(t *testing.T) Message {
	t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message from the client")
	}
	return Message{}
}

// input reads messages until n bytes of input arrived, skipping resizes.
func (f *fakeServer) input(t *testing.T, n int) string {
	t.Helper()
	var in []byte
	for len(in) < n {
		m := f.next(t)
		if m.Detach {
			t.Fatalf("detached after input %q", in)
		}
		in = append(in, m.Input...)
	}
	return string(in)
}

// userTerminal is the terminal of a user running cinit attach: the
// client's side is the slave, the test types and reads at the master.
type userTerminal struct {
	pty    *PTY
	slave  *os.File
	mu     sync.Mutex
	shown  strings.Builder
	before unix.Termios
}

func newUserTerminal(t *testing.T, size Size) *userTerminal {
	p, slave := openPair(t, size)
	u := &userTerminal{pty: p, slave: slave}
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), ioctlGetTermios)
	if err != nil {
		t.Fatal(err)
	}
	u.before = *tio
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := p.Master.Read(buf)
			u.mu.Lock()
			u.shown.Write(buf[:n])
			u.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return u
}

func (u *userTerminal) typeKeys(t *testing.T, s string) {
	if _, err := u.pty.Master.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// waitShown waits for text on the user's screen.
func (u *userTerminal) waitShown(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		u.mu.Lock()
		s := u.shown.String()
		u.mu.Unlock()
		if strings.Contains(s, text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal does not show %q; it shows %q", text, s)
		}
		time.Sleep(5 * time.Millisecond) // polling the screen, bounded above
	}
}

// restored fails unless the user's terminal is back in its mode.
func (u *userTerminal) restored(t *testing.T) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(u.slave.Fd()), ioctlGetTermios)
	if err != nil || *tio != u.before {
		t.Errorf("terminal mode not restored: %+v, %v", tio, err)
	}
}

// runSession runs a Session on the user's terminal in the background.
func runSession(u *userTerminal, conn net.Conn, keys string) <-chan int {
	k, _ := ParseKeys(keys)
	s := &Session{In: u.slave, Out: u.slave, Conn: conn, Name: "web", Keys: k}
	codes := make(chan int, 1)
	go func() { codes <- s.Run() }()
	return codes
}

func waitExit(t *testing.T, codes <-chan int) int {
	t.Helper()
	select {
	case c := <-codes:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not end")
	}
	return -1
}

// Keys go through byte for byte (^C too: raw mode, no signal), the size is
// sent first, ctrl-\ twice sends one, and ctrl-\ alone detaches and
// restores the terminal.
func TestSessionKeysAndDetach(t *testing.T) {
	u := newUserTerminal(t, Size{30, 90})
	f, conn := newFakeServer(t)
	codes := runSession(u, conn, DefaultDetachKeys)
	if m := f.next(t); m.Resize == nil || *m.Resize != (Size{30, 90}) {
		t.Fatalf("first message %+v, want the size 30×90", m)
	}
	u.typeKeys(t, "p 6*7\r\x03")
	if in := f.input(t, 7); in != "p 6*7\r\x03" {
		t.Errorf("input %q", in)
	}
	u.typeKeys(t, "\x1c\x1c")
	if in := f.input(t, 1); in != "\x1c" {
		t.Errorf("ctrl-\\ twice sent %q", in)
	}
	f.conn.Write([]byte("(Pdb) "))
	u.waitShown(t, "(Pdb) ")
	u.typeKeys(t, "\x1c")
	if m := f.next(t); !m.Detach {
		t.Errorf("got %+v, want detach", m)
	}
	if code := waitExit(t, codes); code != 0 {
		t.Errorf("exit %d", code)
	}
	u.waitShown(t, "[cinit: detached from web]")
	u.restored(t)
}

// A custom sequence detaches; its first key twice sends it once.
func TestSessionCustomKeys(t *testing.T) {
	u := newUserTerminal(t, DefaultSize)
	f, conn := newFakeServer(t)
	codes := runSession(u, conn, "ctrl-a,d")
	f.next(t) // the size
	u.typeKeys(t, "\x01\x01x\x1c")
	if in := f.input(t, 3); in != "\x01x\x1c" {
		t.Errorf("input %q", in)
	}
	u.typeKeys(t, "\x01d")
	if m := f.next(t); !m.Detach {
		t.Errorf("got %+v, want detach", m)
	}
	if code := waitExit(t, codes); code != 0 {
		t.Errorf("exit %d", code)
	}
	u.restored(t)
}

// The end of the process: cinit sends its message and closes; the client
// shows it, exits 0 and restores the terminal. A resize of the user's
// terminal is sent on SIGWINCH.
func TestSessionEndAndResize(t *testing.T) {
	u := newUserTerminal(t, DefaultSize)
	f, conn := newFakeServer(t)
	codes := runSession(u, conn, DefaultDetachKeys)
	f.next(t)
	if err := SetSize(u.pty.Master, Size{50, 120}); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	if m := f.next(t); m.Resize == nil || *m.Resize != (Size{50, 120}) {
		t.Errorf("after SIGWINCH: %+v", m)
	}
	f.conn.Write([]byte("bye\r\n[cinit: web exited with code 0]\r\n"))
	f.conn.Close()
	if code := waitExit(t, codes); code != 0 {
		t.Errorf("exit %d", code)
	}
	u.waitShown(t, "[cinit: web exited with code 0]")
	u.restored(t)
}

// A process that does not read its terminal leaves cinit, and then the
// socket, taking no input. The client must not block on it: keys beyond
// its queue are dropped with a notice, and the detach key still detaches
// and restores the terminal.
func TestSessionInputNotTaken(t *testing.T) {
	u := newUserTerminal(t, DefaultSize)
	server, conn := net.Pipe()
	t.Cleanup(func() { server.Close(); conn.Close() })
	codes := runSession(u, conn, DefaultDetachKeys)
	if _, err := bufio.NewReader(server).ReadString('\n'); err != nil { // the size, and nothing more
		t.Fatal(err)
	}
	typed := make(chan struct{})
	go func() {
		defer close(typed)
		for range 400 {
			u.pty.Master.WriteString(strings.Repeat("x", 1024))
		}
	}()
	u.waitShown(t, "[cinit: web does not read its input; keys are dropped]")
	<-typed
	u.typeKeys(t, "\x1c")
	if code := waitExit(t, codes); code != 0 {
		t.Errorf("exit %d", code)
	}
	u.waitShown(t, "[cinit: detached from web]")
	u.restored(t)
}

// Input that is not a terminal is copied until its end, then the client
// detaches; no key is special.
func TestSessionPipedInput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	f, conn := newFakeServer(t)
	s := &Session{In: r, Out: out, Conn: conn, Name: "web", Keys: []byte{0x1c}}
	codes := make(chan int, 1)
	go func() { codes <- s.Run() }()
	w.WriteString("c\n\x1c")
	w.Close()
	if in := f.input(t, 3); in != "c\n\x1c" {
		t.Errorf("input %q", in)
	}
	if m := f.next(t); !m.Detach {
		t.Errorf("got %+v, want detach", m)
	}
	if code := waitExit(t, codes); code != 0 {
		t.Errorf("exit %d", code)
	}
}
