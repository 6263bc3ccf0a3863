package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
)

// floorSignals are the signals cinit subscribes to in multi-process mode
// (signals.Notified without SIGWINCH), SIGTERM first.
var floorSignals = []syscall.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
	syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
	syscall.SIGPIPE,
}

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
		for _, sig := range floorSignals {
			signal.Notify(make(chan os.Signal, 1), sig)
		}
	}
	r, w := mustPipe("relay")
	pid := startOn("relay", mustLookPath("relay", args[0]), args, w)
	w.Close()
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

// superviseMain is the "supervise" subcommand: the least a Go init does
// between SIGTERM and its exit, for the SIGTERM floor. It subscribes to the
// signals cinit does, starts args[1:] args[0] times, each in a process
// group of its own with its output on one relayed pipe, and prints "sN
// started with pid P" for each. On SIGTERM it sends SIGTERM to every group,
// reaps every child and exits 0. No configuration, no teardown order, no
// orphan scan, no per-process output.
func superviseMain(args []string) {
	n, err := strconv.Atoi(args[0])
	if err != nil || len(args) < 2 {
		fmt.Fprintln(os.Stderr, "supervise: usage: supervise N COMMAND [ARG...]")
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	for _, sig := range floorSignals[1:] {
		signal.Notify(make(chan os.Signal, 1), sig)
	}
	path := mustLookPath("supervise", args[1])
	r, w := mustPipe("supervise")
	var pids []int
	for i := 1; i <= n; i++ {
		pid := startOn("supervise", path, args[1:], w)
		pids = append(pids, pid)
		fmt.Printf("s%d started with pid %d\n", i, pid)
	}
	w.Close()
	go io.Copy(os.Stdout, r)
	<-stop
	for _, pid := range pids {
		syscall.Kill(-pid, syscall.SIGTERM)
	}
	for range pids {
		var ws syscall.WaitStatus
		syscall.Wait4(-1, &ws, 0, nil)
	}
	os.Exit(0)
}

// mustLookPath finds name in PATH, or exits 127 as a shell would.
func mustLookPath(who, name string) string {
	path, err := exec.LookPath(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", who, err)
		os.Exit(127)
	}
	return path
}

// mustPipe makes a pipe, or exits 1.
func mustPipe(who string) (r, w *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", who, err)
		os.Exit(1)
	}
	return r, w
}

// startOn starts path with argv in a process group of its own, stdin
// inherited and stdout and stderr on w, and returns its pid; it exits 126
// when the start fails.
func startOn(who, path string, argv []string, w *os.File) int {
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, w.Fd(), w.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", who, err)
		os.Exit(126)
	}
	return pid
}
