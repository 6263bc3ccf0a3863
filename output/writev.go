//go:build !freebsd && !netbsd

package output

import "golang.org/x/sys/unix"

// canWritev tells whether long lines may go out with writev.
const canWritev = true

// writev is one writev call.
func writev(fd int, bufs [][]byte) (int, error) {
	return unix.Writev(fd, bufs)
}
