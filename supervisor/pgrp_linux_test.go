package supervisor

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestForegroundGroup checks that TIOCGPGRP is read as the kernel's
// 32-bit int: a 64-bit read puts the pgid in the high half on a
// big-endian machine (run under qemu-s390x-static by make cross). A child
// in a new session takes a pty as its controlling terminal, which makes
// its group the terminal's foreground group; the master side answers
// TIOCGPGRP for any caller.
func TestForegroundGroup(t *testing.T) {
	master, slave := openPty(t)
	defer master.Close()
	cmd := exec.Command("/bin/sh", "-c", "read line")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	defer cmd.Wait()
	defer cmd.Process.Kill()
	got, err := foregroundGroup(int(master.Fd()))
	if err != nil {
		t.Fatalf("TIOCGPGRP: %v", err)
	}
	if got != cmd.Process.Pid {
		t.Errorf("foreground group: got %d, want %d (the session leader's)", got, cmd.Process.Pid)
	}
}

// openPty opens a new pty pair.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	return master, slave
}
