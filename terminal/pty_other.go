//go:build !linux

package terminal

import (
	"os"

	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// Supported says that [Open] does not work here: it returns
// [ErrUnsupported].
const Supported = false

// Open returns [ErrUnsupported]: cinit opens pseudo-terminals on Linux
// only.
func Open(size Size) (*PTY, error) {
	return nil, ErrUnsupported
}

// ForegroundGroup returns [ErrUnsupported].
func ForegroundGroup(f *os.File) (int, error) {
	return 0, ErrUnsupported
}
