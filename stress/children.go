package main

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cinit/cinit/internal/proctest"
)

// childEnv marks a run of this program as one of the children; the
// others are set by the driver for every process of a cycle.
const (
	childEnv = "STRESS_CHILD"
	exeEnv   = "STRESS_EXE"
	dirEnv   = "STRESS_DIR" // the cycle's directory: ledger/, pids/, quit
	tagEnv   = "STRESS_TAG" // marks every process of the cycle
)

// longLine is how long a long line is at least: over cinit's 1 MiB limit.
const longLine = 1<<20 + 1

// child runs one of the children and returns its exit status.
func child(role string, args []string) int {
	switch role {
	case "writer":
		return newLiner(os.Stdout).writer(args)
	case "burst":
		return newLiner(os.Stdout).burst()
	case "forker":
		return forker()
	case "gc":
		return newLiner(os.Stdout).grandchild()
	case "quitter":
		return quitter()
	}
	fmt.Fprintln(os.Stderr, "stress: unknown child", role)
	return 99
}

// liner writes numbered lines "S ID SEQ LEN PAYLOAD" and keeps count of
// those written whole.
type liner struct {
	out     *os.File
	id      string
	written int // lines whose every byte was written
	rng     *rand.Rand
	stop    chan os.Signal
	buf     []byte
}

// newLiner records the process and traps the signals that cinit forwards
// and the stop signals: a stop ends the process cleanly after its ledger
// is written.
func newLiner(out *os.File) *liner {
	var b [8]byte
	crand.Read(b[:])
	l := &liner{out: out, id: strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]),
		rng: rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano()))), stop: make(chan os.Signal, 1)}
	signal.Notify(l.stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	recordPid()
	return l
}

// line formats line seq with a payload of n bytes, newline included.
func line(b []byte, id string, seq, n int) []byte {
	b = fmt.Appendf(b, "S %s %d %d ", id, seq, n)
	return appendPayload(b, seq, n)
}

// appendPayload appends the n payload bytes of line seq.
func appendPayload(b []byte, seq, n int) []byte {
	for k := range n {
		b = append(b, byte('a'+(seq+k)%26))
	}
	return b
}

// emit writes one line, in pieces when split is set, and counts it once
// all of it is written. It reports false when the process must end.
func (l *liner) emit(n int, split, newline bool) bool {
	l.buf = line(l.buf[:0], l.id, l.written+1, n)
	if len(l.buf)%(1<<20) == 0 {
		// A line of exactly k MiB would look like the first piece of a
		// longer line to the checker.
		l.buf = line(l.buf[:0], l.id, l.written+1, n+1)
	}
	if newline {
		l.buf = append(l.buf, '\n')
	}
	data := l.buf
	for split && len(data) > 1 {
		k := 1 + l.rng.IntN(len(data)-1)
		if _, err := l.out.Write(data[:k]); err != nil {
			return false
		}
		data = data[k:]
	}
	if _, err := l.out.Write(data); err != nil {
		return false
	}
	l.written++
	return true
}

// stopped reports whether a stop signal has arrived.
func (l *liner) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// finish writes the ledger and returns code.
func (l *liner) finish(code int) int {
	path := filepath.Join(os.Getenv(dirEnv), "ledger", l.id)
	if err := os.WriteFile(path, []byte(strconv.Itoa(l.written)+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "stress: ledger:", err)
		return 98
	}
	return code
}

// writer writes batches of lines as fast as it can with short pauses,
// until it is stopped: mostly short lines, some written in pieces, a few
// over 1 MiB.
func (l *liner) writer(args []string) int {
	if len(args) > 0 && args[0] == "stderr" {
		l.out = os.Stderr
	}
	for !l.stopped() {
		for range 1 + l.rng.IntN(2000) {
			n, split := l.rng.IntN(200), l.rng.IntN(50) == 0
			if l.rng.IntN(3000) == 0 {
				n = longLine + l.rng.IntN(2<<20)
			}
			if !l.emit(n, split, true) {
				return l.finish(1)
			}
		}
		time.Sleep(time.Duration(l.rng.IntN(20)) * time.Millisecond)
	}
	return l.finish(0)
}

// burst writes up to a few thousand lines, the last one without newline,
// and exits 1 (0 when stopped first).
func (l *liner) burst() int {
	n := 1 + l.rng.IntN(5000)
	for i := 1; i <= n; i++ {
		if l.stopped() {
			return l.finish(0)
		}
		if !l.emit(l.rng.IntN(100), false, i < n) {
			return l.finish(1)
		}
	}
	return l.finish(1)
}

// grandchild writes short lines, each with one write so that lines of
// processes sharing the pipe cannot mix, for a short while.
func (l *liner) grandchild() int {
	for range 1 + l.rng.IntN(300) {
		if l.stopped() {
			break
		}
		if !l.emit(l.rng.IntN(150), false, true) {
			return l.finish(1)
		}
		if l.rng.IntN(10) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return l.finish(0)
}

// forker starts grandchildren that share its pipe, every few tens of
// milliseconds, until it is stopped. One in four starts in a session of its
// own: an orphan that cinit must find and stop.
func forker() int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	recordPid()
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 3))
	var wg sync.WaitGroup
	for {
		select {
		case <-stop:
			wg.Wait()
			return 0
		case <-time.After(time.Duration(10+rng.IntN(60)) * time.Millisecond):
		}
		cmd := exec.Command(os.Getenv(exeEnv), "gc")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if rng.IntN(4) == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		if err := cmd.Start(); err != nil {
			fmt.Println("stress: forker:", err)
			return 1
		}
		wg.Add(1)
		go func() { defer wg.Done(); cmd.Wait() }()
	}
}

// quitter exits 7 once the file "quit" exists in the cycle's directory.
func quitter() int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	recordPid()
	for {
		if _, err := os.Stat(filepath.Join(os.Getenv(dirEnv), "quit")); err == nil {
			return 7
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordPid writes this process's pid and start time under pids/. The
// children call it once their signal handlers are in place: the driver
// sends no signal before every instance has recorded itself, since a
// forwarded HUP would kill a child that has not yet set up its handlers.
func recordPid() {
	pid := os.Getpid()
	dir := filepath.Join(os.Getenv(dirEnv), "pids")
	tmp := filepath.Join(dir, "."+strconv.Itoa(pid))
	os.WriteFile(tmp, []byte(strconv.Itoa(pid)+" "+proctest.StartTime(pid)+" "+os.Args[1]+" "+os.Getenv("PS")+"\n"), 0o644)
	os.Rename(tmp, filepath.Join(dir, strconv.Itoa(pid))) // whole or not at all for the driver
}
