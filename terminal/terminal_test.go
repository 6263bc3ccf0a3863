package terminal

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPair opens a pty of size s and returns it with a file of its own for
// the slave side (the pty's descriptor of it is closed).
func openPair(t *testing.T, s Size) (*PTY, *os.File) {
	t.Helper()
	p, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	fd, err := unix.Dup(int(p.Slave()))
	if err != nil {
		t.Fatal(err)
	}
	p.CloseSlave()
	slave := os.NewFile(uintptr(fd), "slave")
	t.Cleanup(func() { slave.Close() })
	return p, slave
}

// A new terminal has the size asked for; a zero dimension becomes the
// default's, so a program never sees 0×0.
func TestOpenSize(t *testing.T) {
	for _, c := range []struct{ ask, want Size }{
		{Size{50, 132}, Size{50, 132}},
		{Size{0, 0}, DefaultSize},
		{Size{0, 100}, Size{24, 100}},
		{Size{40, 0}, Size{40, 80}},
	} {
		_, slave := openPair(t, c.ask)
		got, err := GetSize(int(slave.Fd()))
		if err != nil || got != c.want {
			t.Errorf("Open(%v): size %v, %v; want %v", c.ask, got, err, c.want)
		}
	}
}

// InitialSize takes a terminal's size, fixing zeros, and 80×24 for what
// is not a terminal.
func TestInitialSize(t *testing.T) {
	_, slave := openPair(t, Size{33, 99})
	if got := InitialSize(int(slave.Fd())); got != (Size{33, 99}) {
		t.Errorf("InitialSize of a 33×99 terminal: %v", got)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := InitialSize(int(w.Fd())); got != DefaultSize {
		t.Errorf("InitialSize of a pipe: %v", got)
	}
	if IsTerminal(int(w.Fd())) || !IsTerminal(int(slave.Fd())) {
		t.Error("IsTerminal is wrong")
	}
}

// SetSize reaches the program (stty size reads the slave side), and
// ForegroundGroup names the group of a session leader on the terminal.
func TestSetSizeAndForeground(t *testing.T) {
	p, slave := openPair(t, DefaultSize)
	if err := SetSize(p.Master, Size{41, 101}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "stty size; read x")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := p.Master.Read(buf)
	if err != nil || strings.TrimSpace(string(buf[:n])) != "41 101" {
		t.Errorf("stty size printed %q, %v", buf[:n], err)
	}
	if pg, err := ForegroundGroup(p.Master); err != nil || pg != cmd.Process.Pid {
		t.Errorf("foreground group %d, %v; want %d", pg, err, cmd.Process.Pid)
	}
	p.Master.WriteString("\n")
	cmd.Wait()
}

// MakeRaw turns off echo, line editing and signal keys; Restore brings back
// exactly the mode before.
func TestRawRestore(t *testing.T) {
	_, slave := openPair(t, DefaultSize)
	fd := int(slave.Fd())
	before, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		t.Fatal(err)
	}
	st, err := MakeRaw(fd)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if raw.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 || raw.Oflag&unix.OPOST != 0 || raw.Cc[unix.VMIN] != 1 {
		t.Errorf("not raw: %+v", raw)
	}
	if err := st.Restore(); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if *after != *before {
		t.Errorf("restored mode %+v, want %+v", after, before)
	}
}
