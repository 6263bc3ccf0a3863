package supervisor

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// directExec turns on running plain-word lines without the shell: on
// Linux, /bin/sh is dash (Debian, Ubuntu) or busybox ash, whose steps
// direct.go repeats.
const directExec = true

// kernelPath is the kernel's name of directory dir, through a descriptor
// opened with O_PATH and its /proc/self/fd link; ok is false without
// /proc.
func kernelPath(dir string) (string, bool) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return real, err == nil && filepath.IsAbs(real)
}
