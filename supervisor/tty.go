package supervisor

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/terminal"
)

// stdio says what a child gets as its descriptors 0, 1 and 2. The zero
// stdio is /dev/null for all three (readiness checks).
type stdio struct {
	pipes bool          // stdout and stderr into new pipes, stdin /dev/null
	pty   *terminal.PTY // all three on the slave of a new terminal (--tty)
	own   bool          // cinit's own three (--interactive)
	fg    bool          // with own: the child's group takes the terminal's foreground
}

// stdioFor chooses u's stdio and environment for its next run. A --tty
// process gets a new terminal for every run, as big as cinit's own
// terminal or 80×24, and TERM=xterm unless its environment has a TERM (the
// choice of docker run -t). An --interactive one gets cinit's terminal,
// and its foreground when cinit's group has it.
func (s *supervisor) stdioFor(u *unit) (stdio, []string, error) {
	env := s.environ(u.inst)
	switch {
	case u.pol.TTY:
		pty, err := terminal.Open(terminal.InitialSize(syscall.Stdout))
		if err != nil {
			return stdio{}, nil, err
		}
		if !hasVar(env, "TERM") {
			env = append(env, "TERM=xterm")
		}
		return stdio{pty: pty}, env, nil
	case u.pol.Interactive:
		return stdio{own: true, fg: ownsTerminal()}, env, nil
	}
	return stdio{pipes: true}, env, nil
}

// hasVar reports whether env sets key.
func hasVar(env []string, key string) bool {
	for _, kv := range env {
		if hasKey(kv, key) {
			return true
		}
	}
	return false
}

// childFiles returns the descriptors and process attributes of a fork:
// a terminal makes the child the leader of a session of its own with the
// terminal as its controlling terminal, so its group is the session and
// group signals reach it as they reach any instance; every other child
// gets a process group of its own in cinit's session.
func (s *supervisor) childFiles(io stdio, out []*os.File) ([]uintptr, *syscall.SysProcAttr) {
	switch {
	case io.pty != nil:
		fd := io.pty.Slave()
		return []uintptr{fd, fd, fd}, &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	case io.own:
		// Foreground implies Setpgid; the child makes itself the
		// foreground group with signals still blocked, so SIGTTOU
		// cannot stop it (Go's syscall/exec_linux.go).
		return []uintptr{uintptr(syscall.Stdin), uintptr(syscall.Stdout), uintptr(syscall.Stderr)},
			&syscall.SysProcAttr{Setpgid: true, Foreground: io.fg, Ctty: syscall.Stdin}
	}
	return []uintptr{s.devnull.Fd(), out[0].Fd(), out[len(out)-1].Fd()}, &syscall.SysProcAttr{Setpgid: true}
}

// startedIO settles io after the fork (err is its error): cinit closes its
// descriptor of a terminal's slave, keeps the master as u's terminal and
// returns it as the file to read the output from.
func (s *supervisor) startedIO(u *unit, io stdio, reads []*os.File, err error) []*os.File {
	u.pty, u.hub, u.fg = nil, nil, false
	switch {
	case io.pty != nil:
		io.pty.CloseSlave()
		if err != nil {
			io.pty.Close()
			return nil
		}
		u.pty, u.hub = io.pty, terminal.NewHub(io.pty.Master)
		return []*os.File{io.pty.Master}
	case io.own:
		u.fg = io.fg && err == nil
	}
	return reads
}

// streamOf is the output stream of u's i-th output file.
func streamOf(io stdio, i int) output.Stream {
	if io.pty != nil {
		return output.TTY
	}
	return output.Stream(i)
}

// writesStop reports whether cinit's writes to fd would raise SIGTTOU:
// fd is cinit's controlling terminal, set to stty tostop, and another
// group is in its foreground (cinit start &).
func writesStop(fd int) bool {
	pgrp, err := foregroundGroup(fd)
	return err == nil && pgrp != unix.Getpgrp() && terminal.StopsBackgroundWrites(fd)
}

// backgroundStart ignores SIGTTOU from the start when cinit's lines would
// raise it (see writesStop and signals.Channels.Background).
func (s *supervisor) backgroundStart() {
	if writesStop(syscall.Stdout) {
		s.sigs.Background()
		s.bg = true
	}
}

// exitedTerminal runs when u's process has exited: an interactive process
// gives the terminal's foreground back to cinit's group.
func (s *supervisor) exitedTerminal(u *unit) {
	if u.fg {
		u.fg, s.bg = false, false
		s.sigs.TakeForeground(syscall.Stdin)
	}
}

// endTerminal runs when every byte of u's run has been printed (and so
// has reached the attach side): an attached client gets how the run ended,
// after its last output, and a later attach finds the process without a
// terminal until it runs again.
func (s *supervisor) endTerminal(u *unit) {
	if u.hub != nil {
		u.hub.End(s.describeEnd(u))
		u.pty, u.hub = nil, nil
	}
}
