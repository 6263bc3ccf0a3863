//go:build freebsd || netbsd

package output

import "golang.org/x/sys/unix"

// canWritev is false: golang.org/x/sys has no writev for these systems, so
// long lines are copied into one buffer and written like short ones.
const canWritev = false

// writev is never called where canWritev is false.
func writev(fd int, bufs [][]byte) (int, error) {
	return 0, unix.ENOSYS
}
