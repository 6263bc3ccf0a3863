package control

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer's credentials (SO_PEERCRED, unix(7)).
func peerOf(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, cerr
	}
	return Peer{Pid: int(cred.Pid), Uid: int(cred.Uid)}, nil
}
