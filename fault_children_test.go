package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cinit/cinit/internal/proctest"
	"golang.org/x/sys/unix"
)

func init() {
	helpers["fault-flood"] = faultFlood
	helpers["fault-closeout"] = faultCloseOut
	helpers["fault-gc"] = faultGrandchild
	helpers["fault-late"] = faultLate
	helpers["fault-waitfile"] = faultWaitFile
	helpers["fault-forker"] = faultForker
	helpers["fault-deaf"] = faultDeaf
	helpers["fault-sigs"] = faultSigs
	helpers["fault-slowstop"] = faultSlowStop
	helpers["fault-untilusr1"] = faultUntilUSR1
	helpers["fault-garbage"] = faultGarbage
}

// shellRecord is a Procfile command prefix with which a shell line
// records its pid and start time the way the helpers do.
const shellRecord = `echo $$ $(cut -d' ' -f22 /proc/$$/stat) > pids/$$; `

// The helper children. Each records its pid first.

// recordPid writes this process's pid and start time under pids/.
func recordPid() {
	pid := os.Getpid()
	os.WriteFile(filepath.Join("pids", strconv.Itoa(pid)), fmt.Appendf(nil, "%d %s\n", pid, proctest.StartTime(pid)), 0o644)
}

// floodLine is line i of a flood writer whose PS is ps, without newline.
func floodLine(b []byte, ps string, i int) []byte {
	b = append(b, ps...)
	b = append(b, ' ')
	for d := 1000000; d > 0; d /= 10 {
		b = append(b, byte('0'+i/d%10))
	}
	b = append(b, ' ')
	for j := range 52 {
		b = append(b, byte('a'+(i+j)%26))
	}
	return b
}

// faultFlood writes N numbered lines as fast as it can, creates the file
// done.$PS, and waits to be stopped. It refuses a non-blocking stdout:
// programs that are not written in Go would fail on it with EAGAIN once
// the pipe is full, instead of waiting for cinit.
func faultFlood(args []string) int {
	recordPid()
	if fl, err := unix.FcntlInt(1, unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		fmt.Println("stdout is non-blocking", err)
		return 3
	}
	n, _ := strconv.Atoi(args[0])
	ps := os.Getenv("PS")
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	var line []byte
	for i := 1; i <= n; i++ {
		line = append(floodLine(line[:0], ps, i), '\n')
		if _, err := w.Write(line); err != nil {
			return 1
		}
	}
	w.Flush()
	os.WriteFile("done."+ps, nil, 0o644)
	select {}
}

// faultCloseOut prints a line, closes its stdout and stderr, creates the
// file "closed" and runs on until SIGTERM, which it survives by exiting 0.
func faultCloseOut(args []string) int {
	recordPid()
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGHUP)
	fmt.Println("before close")
	syscall.Close(1)
	syscall.Close(2)
	os.WriteFile("closed", nil, 0o644)
	for s := range c {
		if s == syscall.SIGTERM {
			return 0
		}
	}
	return 0
}

// faultGrandchild starts a copy of itself in a new session that keeps the
// output pipe, ticks on it, and on SIGTERM prints "gc got TERM" and exits
// ("trap"), or ignores SIGTERM ("deaf"); then it exits at once.
func faultGrandchild(args []string) int {
	mode := args[0]
	if len(args) > 1 {
		return faultGrandchildRun(mode)
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	cmd := exec.Command(os.Args[0], "fault-gc", mode, "child")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return 1
	}
	w.Close()
	r.Read(make([]byte, 1))
	fmt.Println("parent exits")
	return 0
}

func faultGrandchildRun(mode string) int {
	recordPid()
	c := make(chan os.Signal, 1)
	if mode == "deaf" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(c, syscall.SIGTERM)
	}
	ready := os.NewFile(3, "ready")
	ready.Write([]byte{1})
	ready.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	for i := 1; ; i++ {
		select {
		case <-c:
			fmt.Println("gc got TERM")
			return 0
		case <-tick.C:
			fmt.Printf("gc tick %d\n", i)
		}
	}
}

// faultLate creates the file ready.$PS once it traps SIGTERM; on SIGTERM it
// writes N lines "late I", a 3 MiB line of 'y' and "last", and exits 0.
func faultLate(args []string) int {
	recordPid()
	n, _ := strconv.Atoi(args[0])
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println("ready")
	os.WriteFile("ready."+os.Getenv("PS"), nil, 0o644)
	<-c
	w := bufio.NewWriter(os.Stdout)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "late %d\n", i)
	}
	w.WriteString(strings.Repeat("y", 3<<20) + "\nlast\n")
	w.Flush()
	return 0
}

// faultWaitFile waits for the file args[0] and exits with code args[1].
func faultWaitFile(args []string) int {
	recordPid()
	for !exists(args[0]) {
		time.Sleep(5 * time.Millisecond)
	}
	code, _ := strconv.Atoi(args[1])
	return code
}

// faultForker forks N short-lived children (/bin/true), reaps every other
// one itself and leaves the rest as zombies for whoever inherits them,
// prints "forked N" and exits 0.
func faultForker(args []string) int {
	recordPid()
	n, _ := strconv.Atoi(args[0])
	for i := range n {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		if i%2 == 0 {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}
	fmt.Printf("forked %d\n", n)
	return 0
}

// faultDeaf ignores every signal a process can ignore and blocks. Left
// alone are SIGKILL and SIGSTOP, which cannot be ignored, the synchronous
// signals of faults (the Go runtime's own), and 32 and 33, which the C
// library reserves.
func faultDeaf(args []string) int {
	recordPid()
	for n := 1; n <= 64; n++ {
		switch syscall.Signal(n) {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, 32, 33:
			continue
		}
		signal.Ignore(syscall.Signal(n))
	}
	fmt.Println("ready")
	select {}
}

// faultSigs prints "got NAME" the first time it receives each signal of
// the list, and exits 0 on SIGTERM.
func faultSigs(args []string) int {
	recordPid()
	c := make(chan os.Signal, 64)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT,
		syscall.SIGWINCH, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE, syscall.SIGTERM)
	fmt.Println("ready")
	seen := map[os.Signal]bool{}
	for s := range c {
		if !seen[s] {
			seen[s] = true
			fmt.Println("got", unix.SignalName(s.(syscall.Signal)))
		}
		if s == syscall.SIGTERM {
			return 0
		}
	}
	return 0
}

// faultSlowStop prints "stopping" on SIGTERM, waits for SIGUSR2, prints
// "bye" and exits 0.
func faultSlowStop(args []string) int {
	recordPid()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	proceed := make(chan os.Signal, 1)
	signal.Notify(proceed, syscall.SIGUSR2)
	fmt.Println("ready")
	<-c
	fmt.Println("stopping")
	<-proceed
	fmt.Println("bye")
	return 0
}

// faultUntilUSR1 prints "run" and exits 1 on SIGUSR1.
func faultUntilUSR1(args []string) int {
	recordPid()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	fmt.Println("run")
	<-c
	return 1
}

// faultGarbage writes garbageData(seed, true) to stdout, then
// garbageData(seed+1, false) to stderr, in chunks of random sizes.
func faultGarbage(args []string) int {
	recordPid()
	seed, _ := strconv.ParseUint(args[0], 10, 64)
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, out := range []struct {
		f    *os.File
		data []byte
	}{{os.Stdout, garbageData(seed, true)}, {os.Stderr, garbageData(seed+1, false)}} {
		data := out.data
		for len(data) > 0 {
			n := min(len(data), 1+rng.IntN(100000))
			if _, err := out.f.Write(data[:n]); err != nil {
				return 1
			}
			data = data[n:]
		}
	}
	return 0
}

// garbageData is hostile output made from seed: binary bytes, invalid
// UTF-8, control characters, carriage returns in every place, empty lines,
// with big a 20 MiB line (with a character cut by the 1 MiB piece
// boundaries) and a last line without newline.
func garbageData(seed uint64, big bool) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b []byte
	for range 300 {
		for n := rng.IntN(300); n > 0; n-- {
			switch k := rng.IntN(10); {
			case k < 4:
				b = append(b, byte(' '+rng.IntN(95)))
			case k < 6:
				b = append(b, byte(0x80+rng.IntN(128)))
			case k < 7:
				c := byte(rng.IntN(32))
				if c == '\n' {
					c = 0
				}
				b = append(b, c)
			case k < 8:
				b = append(b, '\r')
			default:
				b = append(b, []string{"é", "€", "😀", "\x1b[31m", "\xe2\x82", "\xf0\x9f"}[rng.IntN(6)]...)
			}
		}
		b = append(b, []string{"\n", "\r\n", "\r\r\n", "\n\n"}[rng.IntN(4)]...)
	}
	if big {
		line := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
		for i := 4093; i < len(line); i += 4093 {
			line[i] = 0xff
		}
		for p := 1 << 20; p < len(line); p += 1 << 20 {
			copy(line[p-1:], "€") // 3 bytes across the cut
		}
		b = append(append(b, line...), '\n')
	}
	return append(b, "the end\xff\r"...)
}

// garbageLines is how cinit cuts data into output lines (README, "Output").
func garbageLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out [][]byte
	for _, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\r"))
		for len(l) > 1<<20 {
			out = append(out, l[:1<<20])
			l = l[1<<20:]
		}
		out = append(out, l)
	}
	return out
}
