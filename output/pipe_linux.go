package output

import "golang.org/x/sys/unix"

// pipeUnread returns the number of bytes in the pipe fd that nobody has
// read yet (FIONREAD, which golang.org/x/sys calls by its alias TIOCINQ).
// The kernel writes a C int: reading it as a Go int, 64 bits, would put
// the count in the high half on big-endian machines (s390x, ppc64), so it
// is read as 32 bits.
func pipeUnread(fd int) (int, error) {
	n, err := unix.IoctlGetUint32(fd, unix.TIOCINQ)
	return int(int32(n)), err
}

// growPipe raises the capacity of the pipe fd to pipeSize (F_SETPIPE_SZ).
// It is best effort: the limit may be lower, or the user over quota.
func growPipe(fd uintptr) {
	unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
}
