package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// relayMain is the "relay" subcommand: the least any Go program that runs
// a command and passes on its output has to do, for the start-up floor. It
// starts args[0] with stdout and stderr on one pipe, in a process group of
// its own, writes each chunk it reads with a "a | " prefix, and waits for
// the command. No configuration, no reaper; with -signals it first
// subscribes to the signals cinit must handle before its first child
// starts in multi-process mode (signals.Notified without SIGWINCH), each
// with a signal.Notify of its own as cinit does, and nothing more.
func relayMain(args []string) {
	if args[0] == "-signals" {
		args = args[1:]
		for _, sig := range []syscall.Signal{
			syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
			syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT,
			syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
			syscall.SIGPIPE,
		} {
			signal.Notify(make(chan os.Signal, 1), sig)
		}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(127)
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, w.Fd(), w.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	w.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(126)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf[4:])
		if n > 0 {
			copy(buf, "a | ")
			os.Stdout.Write(buf[:4+n])
		}
		if err != nil {
			break
		}
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
}
