//go:build linux

package container

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInteractiveShell: podman run -it IMAGE -- sh, on a pseudo-terminal
// the test opens as a user's terminal would be. cinit hands the terminal to
// the shell, so the shell has job control: ^Z stops the foreground job, fg
// resumes it, ^C ends it and the shell carries on; the shell's exit status
// is the container's.
func TestInteractiveShell(t *testing.T) {
	needImage(t)
	term, slave := openTerminal(t)
	name := containerName(t)
	cmd := exec.Command("podman", "run", "-it", "--rm", "--name", name, image, "--", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		podman("rm", "-f", "-t", "0", name)
		<-exited
		if t.Failed() {
			t.Logf("terminal:\n%s", term.text())
		}
	})
	c := &container{t: t, name: name}

	// Markers are computed by the shell, so the terminal's echo of the
	// typed line never matches them.
	term.send("echo \"mode $-\"; echo step-$((0+1))\r")
	term.expect(t, "step-1")
	if m := regexp.MustCompile(`mode ([a-zA-Z]+)`).FindStringSubmatch(term.text()); m == nil || !strings.Contains(m[1], "m") {
		t.Fatalf("the shell has no job control (flags %v)", m)
	}

	term.send("sh -c 'echo fg-$((1+1)); exec sleep 1001'\r")
	term.expect(t, "fg-2")
	c.waitForeground("sleep", "S")
	term.send("\x1a") // ^Z
	c.waitForeground("sh", "S")
	term.send("echo stopped-$((2+1)) $?\r")
	term.expect(t, "stopped-3 148") // 128 + SIGTSTP

	term.send("fg\r")
	c.waitForeground("sleep", "S")
	term.send("\x03") // ^C
	c.waitForeground("sh", "S")
	term.send("echo after-$((3+1)) $?\r")
	term.expect(t, "after-4 130") // 128 + SIGINT

	term.send("exit 5\r")
	select {
	case err := <-exited:
		exited <- err
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 5 {
			t.Fatalf("podman run -it ended with %v, want exit status 5", err)
		}
	case <-time.After(hangLimit):
		t.Fatalf("the container did not end after exit 5")
	}
}

// terminal is the test's side of a pseudo-terminal: what it types and
// everything it has read so far.
type terminal struct {
	master *os.File
	chunks chan string
	seen   strings.Builder
}

// openTerminal opens a pseudo-terminal of 24x80 and returns its two ends.
func openTerminal(t *testing.T) (*terminal, *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{master: master, chunks: make(chan string, 64)}
	go term.read()
	return term, slave
}

// read passes what the terminal shows to expect, until it closes.
func (term *terminal) read() {
	buf := make([]byte, 4096)
	for {
		n, err := term.master.Read(buf)
		if n > 0 {
			term.chunks <- string(buf[:n])
		}
		if err != nil {
			close(term.chunks)
			return
		}
	}
}

// send types text.
func (term *terminal) send(text string) {
	term.master.WriteString(text)
}

// expect reads until the terminal has shown want.
func (term *terminal) expect(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(hangLimit)
	for !strings.Contains(term.seen.String(), want) {
		select {
		case chunk, ok := <-term.chunks:
			if !ok {
				t.Fatalf("terminal closed before %q", want)
			}
			term.seen.WriteString(chunk)
		case <-deadline:
			t.Fatalf("no %q on the terminal within %v", want, hangLimit)
		}
	}
}

// text is everything the terminal has shown to expect.
func (term *terminal) text() string {
	return term.seen.String()
}

// waitForeground polls the container's /proc until a process named comm
// in state (S: sleeping, T: stopped) leads the terminal's foreground
// process group: only then does a ^C or ^Z typed on the terminal reach it.
func (c *container) waitForeground(comm, state string) {
	c.t.Helper()
	c.poll(comm+" in the foreground", func() bool {
		out, _ := podman("exec", c.name, "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null")
		for line := range strings.SplitSeq(out, "\n") {
			// pid (comm) state ppid pgrp session tty_nr tpgid ...
			name, rest, ok := strings.Cut(line, ") ")
			f := strings.Fields(rest)
			if ok && strings.HasSuffix(name, "("+comm) && len(f) > 5 && f[0] == state && f[2] == f[5] {
				return true
			}
		}
		return false
	})
}
