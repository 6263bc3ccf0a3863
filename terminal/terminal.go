// Package terminal owns cinit's pseudo-terminals and the local terminal of
// cinit attach: opening a pty pair, window sizes, raw mode and its
// restoration, and the detach keys.
//
// A process started with --tty gets the slave side of a new pty as its
// stdin, stdout and stderr and the pty as its controlling terminal (the
// caller forks it with Setsid and Setctty). cinit keeps the master: it
// reads the process's output from it like a pipe (end of output is EIO,
// which the kernel returns once the session is hung up, after every byte
// written before has been read) and writes the keys of an attached client
// to it. While nobody is attached nobody writes, and since the master stays
// open the process's reads block: it never sees end of file, which is what
// tools with a --watch mode that exit on EOF need.
//
// A window size of 0×0 confuses full-screen programs and line editors
// (DarthSim/overmind#31), so [InitialSize] never returns one.
package terminal

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Size is a window size in character cells.
type Size struct {
	Rows, Cols uint16
}

// DefaultSize is the size of a terminal whose size cannot be learned: the
// VT100's.
var DefaultSize = Size{Rows: 24, Cols: 80}

// ErrUnsupported is returned where this platform has no pseudo-terminals
// cinit knows how to open.
var ErrUnsupported = errors.New("pseudo-terminals are not supported on this platform")

// PTY is a pseudo-terminal pair opened by [Open]. The caller hands Slave to
// the child as descriptors 0, 1 and 2, then calls CloseSlave; Master is
// its own from then on (it may give it to an output.Pipe, which closes it).
type PTY struct {
	// Master is non-blocking and registered with Go's poller, so reads
	// honour deadlines. Never call its Fd method: that would make it
	// blocking.
	Master *os.File
	slave  int
}

// Slave returns the slave's descriptor, blocking and close-on-exec, for
// the child's stdio.
func (p *PTY) Slave() uintptr { return uintptr(p.slave) }

// CloseSlave closes cinit's descriptor of the slave side, once the child
// has it (or when the start failed). The kernel reports EIO on the master
// once every slave descriptor is closed, so cinit must not keep one.
func (p *PTY) CloseSlave() {
	if p.slave >= 0 {
		unix.Close(p.slave)
		p.slave = -1
	}
}

// Close closes both sides.
func (p *PTY) Close() {
	p.CloseSlave()
	p.Master.Close()
}

// InitialSize returns the size a new pty gets: that of the terminal on fd
// (cinit's stdout) when it is one, with a dimension of 0 replaced by the
// default's, else [DefaultSize].
func InitialSize(fd int) Size {
	s, err := GetSize(fd)
	if err != nil {
		return DefaultSize
	}
	return s.orDefault()
}

// orDefault replaces a zero dimension by the default one.
func (s Size) orDefault() Size {
	if s.Rows == 0 {
		s.Rows = DefaultSize.Rows
	}
	if s.Cols == 0 {
		s.Cols = DefaultSize.Cols
	}
	return s
}

// GetSize returns the window size of the terminal on fd.
func GetSize(fd int) (Size, error) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return Size{}, err
	}
	return Size{Rows: ws.Row, Cols: ws.Col}, nil
}

// SetSize sets the window size of the pty whose master is f; a dimension
// of 0 is replaced by the default's. The kernel sends SIGWINCH to the
// terminal's foreground group when the size changes.
func SetSize(f *os.File, s Size) error {
	s = s.orDefault()
	return control(f, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
	})
}

// control runs fn on f's descriptor without taking it out of the poller.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// StopsBackgroundWrites reports whether fd is a terminal set to stty
// tostop: a write to it from a background process group raises SIGTTOU.
func StopsBackgroundWrites(fd int) bool {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	return err == nil && t.Lflag&unix.TOSTOP != 0
}

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	return err == nil
}
