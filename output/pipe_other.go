//go:build !linux

package output

import "golang.org/x/sys/unix"

// fionread is FIONREAD of the BSDs and macOS, _IOR('f', 127, int), which
// golang.org/x/sys does not export for them.
const fionread = 0x4004667f

// pipeUnread returns the number of bytes in the pipe fd that nobody has
// read yet. Go runs these systems only on little-endian machines, where
// reading the kernel's C int as a Go int gives the same value.
func pipeUnread(fd int) (int, error) {
	return unix.IoctlGetInt(fd, fionread)
}

// growPipe does nothing: these systems have no F_SETPIPE_SZ, and their
// pipes grow by themselves while a writer is ahead of the reader.
func growPipe(fd uintptr) {}
