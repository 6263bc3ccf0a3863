package control

import "golang.org/x/sys/unix"

// peerPid is the pid of a socket's peer: LOCAL_PEERPID (macOS's
// <sys/un.h>), 0 when it cannot be read.
func peerPid(fd int) int {
	pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		return 0
	}
	return pid
}
