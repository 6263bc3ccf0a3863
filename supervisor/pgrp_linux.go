package supervisor

import "golang.org/x/sys/unix"

// foregroundGroup returns the foreground process group of the terminal fd
// (TIOCGPGRP). The kernel writes a C int: reading it as a Go int, 64 bits,
// would put the pgid in the high half on big-endian machines (s390x,
// ppc64), so it is read as 32 bits.
func foregroundGroup(fd int) (int, error) {
	pgrp, err := unix.IoctlGetUint32(fd, unix.TIOCGPGRP)
	return int(int32(pgrp)), err
}
