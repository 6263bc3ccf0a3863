package terminal

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)

// Supported says that [Open] works here.
const Supported = true

// Open opens a new pty pair of the given size (see [SetSize] for zeros).
// The slave is opened through the master (TIOCGPTPEER, Linux 4.13), which
// works whatever /dev/pts is mounted where, with /dev/pts/N as the
// fallback.
func Open(size Size) (*PTY, error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/dev/ptmx", Err: err}
	}
	// O_NONBLOCK makes os.NewFile register the master with the poller.
	p := &PTY{Master: os.NewFile(uintptr(m), "/dev/ptmx"), slave: -1}
	if err := p.openSlave(m); err != nil {
		p.Close()
		return nil, err
	}
	if err := SetSize(p.Master, size); err != nil {
		p.Close()
		return nil, &os.PathError{Op: "set window size of", Path: "/dev/ptmx", Err: err}
	}
	return p, nil
}

// openSlave unlocks the pair and opens the slave, blocking, without making
// it cinit's controlling terminal.
func (p *PTY) openSlave(m int) error {
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		return &os.PathError{Op: "unlock", Path: "/dev/ptmx", Err: err}
	}
	flags := unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, uintptr(flags))
	if errno == 0 {
		p.slave = int(s)
		return nil
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		return &os.PathError{Op: "name the slave of", Path: "/dev/ptmx", Err: err}
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	fd, err := unix.Open(name, flags, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	p.slave = fd
	return nil
}

// ForegroundGroup returns the process group in the foreground of the pty
// whose master is f. The ioctl's result is a C int, read as 32 bits.
func ForegroundGroup(f *os.File) (int, error) {
	var pgrp int
	err := control(f, func(fd int) error {
		v, err := unix.IoctlGetUint32(fd, unix.TIOCGPGRP)
		pgrp = int(int32(v))
		return err
	})
	return pgrp, err
}
