//go:build !linux

package supervisor

import "golang.org/x/sys/unix"

// foregroundGroup returns the foreground process group of the terminal fd
// (TIOCGPGRP). Go runs these systems only on little-endian machines, where
// reading the kernel's C int as a Go int gives the same value.
func foregroundGroup(fd int) (int, error) {
	return unix.IoctlGetInt(fd, unix.TIOCGPGRP)
}
