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
	path, err := exec.LookPath(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervise:", err)
		os.Exit(127)
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervise:", err)
		os.Exit(1)
	}
	var pids []int
	for i := 1; i <= n; i++ {
		pid, err := syscall.ForkExec(path, args[1:], &syscall.ProcAttr{
			Env:   os.Environ(),
			Files: []uintptr{0, w.Fd(), w.Fd()},
			Sys:   &syscall.SysProcAttr{Setpgid: true},
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "supervise:", err)
			os.Exit(126)
		}
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
