package terminal

import "golang.org/x/sys/unix"

// State is the saved mode of a terminal, for [State.Restore].
type State struct {
	fd  int
	old unix.Termios
}

// MakeRaw puts the terminal on fd in raw mode, as cfmakeraw(3) does: no
// echo, no line editing, no signals from keys (^C is a byte like any
// other), no output processing, 8-bit characters, and a read returns as
// soon as one byte is there. It returns the mode to restore.
func MakeRaw(fd int) (*State, error) {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	s := &State{fd: fd, old: *t}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, t); err != nil {
		return nil, err
	}
	return s, nil
}

// Restore puts the terminal back in the mode MakeRaw found. It may be
// called more than once.
func (s *State) Restore() error {
	return unix.IoctlSetTermios(s.fd, ioctlSetTermios, &s.old)
}
