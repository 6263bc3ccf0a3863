package reaper

import "golang.org/x/sys/unix"

// setSubreaper makes cinit a child subreaper (PR_SET_CHILD_SUBREAPER,
// Linux 3.4).
func setSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
