package output

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/terminal"
)

// TestExitedTerminal runs a real shell on a pseudo-terminal, as a --tty
// process: when done is called after its exit, every line it wrote is out
// (with the terminal's "\r\n" read as "\n"), the unfinished last line
// included, although the kernel moves a pty's bytes to the master side
// asynchronously. Repeated, since a late move shows only sometimes.
func TestExitedTerminal(t *testing.T) {
	var want strings.Builder
	for i := range 500 {
		fmt.Fprintf(&want, "sh | line %d\n", i)
	}
	want.WriteString("sh | partial\n")
	for range 20 {
		var c capture
		w := New(&c, Options{Width: 2})
		pty, err := terminal.Open(terminal.DefaultSize)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", `i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; printf partial`)
		slave := slaveFile(t, pty)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		p := w.Pipe(Label{Name: "sh"}, TTY, pty.Master)
		runDone := make(chan struct{})
		go func() { p.Run(); close(runDone) }()
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		seen := make(chan string, 1)
		p.Exited(func() { seen <- c.String() })
		if got := waitFor(t, seen, "done"); got != want.String() {
			t.Fatalf("output when done was called:\n%s\nwant 500 lines and partial", got)
		}
		waitFor(t, runDone, "Run to return at EIO")
		w.Close()
	}
}

// slaveFile returns a file of its own for pty's slave side, and closes the
// pty's descriptor of it.
func slaveFile(t *testing.T, pty *terminal.PTY) *os.File {
	t.Helper()
	fd, err := unix.Dup(int(pty.Slave()))
	if err != nil {
		t.Fatal(err)
	}
	pty.CloseSlave()
	return os.NewFile(uintptr(fd), "pty slave")
}
