package output

import (
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// failAfter bounds a wait on an event that must happen; it is a failure
// deadline, not a stand-in for the event.
const failAfter = 20 * time.Second

// waitFor waits for ch or fails the test.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestExitedWithGrandchild runs a real shell that prints, leaves a
// background grandchild holding the pipe, and exits. done must come once
// everything the shell printed is out, while the pipe is still open; what
// the grandchild prints later must still be copied.
func TestExitedWithGrandchild(t *testing.T) {
	var c capture
	w := New(&c, Options{Width: 2})
	r, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	hold, release, err := os.Pipe() // the grandchild waits on this as fd 3
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c",
		`printf 'one\ntwo\r\npartial'; { read x <&3; echo "late $x"; exec sleep 30; } &`)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{hold}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		release.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the grandchild, if still there
	})
	out.Close()
	hold.Close()

	p := w.Pipe(Label{Name: "sh"}, Stdout, r)
	runDone := make(chan struct{})
	go func() { p.Run(); close(runDone) }()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	var calls atomic.Int32
	seen := make(chan string, 1)
	p.Exited(func() {
		calls.Add(1)
		seen <- c.String()
	})
	got := waitFor(t, seen, "done")
	if want := "sh | one\nsh | two\nsh | partial\n"; got != want {
		t.Errorf("output when done was called: %q, want %q", got, want)
	}
	if isClosed(runDone) {
		t.Fatal("Run returned: done waited for EOF")
	}

	release.WriteString("hi\n")
	// The grandchild is now in sleep 30 and still holds the pipe; the late
	// line is printed as it arrives, without EOF.
	for {
		next := c.next()
		if strings.Contains(c.String(), "sh | late hi\n") {
			break
		}
		waitFor(t, next, "the late line")
	}
	if isClosed(runDone) {
		t.Fatal("Run returned before the grandchild closed the pipe")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	waitFor(t, runDone, "Run to return at EOF")
	w.Close()
	if n := calls.Load(); n != 1 {
		t.Errorf("done called %d times", n)
	}
	c.checkWhole(t)
}

func TestExitedAfterEOF(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, "x\ny")
	rp.finish(t)
	var calls atomic.Int32
	done := make(chan struct{})
	rp.p.Exited(func() {
		if calls.Add(1) == 1 {
			close(done)
		}
	})
	waitFor(t, done, "done")
	w.Close()
	if n := calls.Load(); n != 1 {
		t.Errorf("done called %d times", n)
	}
	if got := c.String(); got != "a | x\na | y\n" {
		t.Errorf("output %q", got)
	}
}

// TestExitedBlockedRead calls Exited while Run waits in Read on an open,
// empty pipe, with a partial line pending.
func TestExitedBlockedRead(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, "line\npart")
	var calls atomic.Int32
	seen := make(chan string, 1)
	rp.p.Exited(func() {
		calls.Add(1)
		seen <- c.String()
	})
	if got := waitFor(t, seen, "done"); got != "a | line\na | part\n" {
		t.Errorf("output when done was called: %q", got)
	}
	writeAll(t, rp.in, "later\n", "and more")
	rp.finish(t)
	w.Close()
	if got := c.String(); got != "a | line\na | part\na | later\na | and more\n" {
		t.Errorf("output %q", got)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("done called %d times", n)
	}
}

// TestExitedBeforeRun calls Exited before Run has read anything.
func TestExitedBeforeRun(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	r, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	writeAll(t, in, "a\nb\nc")
	p := w.Pipe(Label{Name: "x"}, Stdout, r)
	seen := make(chan string, 1)
	p.Exited(func() { seen <- c.String() })
	runDone := make(chan struct{})
	go func() { p.Run(); close(runDone) }()
	if got := waitFor(t, seen, "done"); got != "x | a\nx | b\nx | c\n" {
		t.Errorf("output when done was called: %q", got)
	}
	in.Close()
	waitFor(t, runDone, "Run")
	w.Close()
}

// TestExitedChattyGrandchild keeps writing into the pipe after Exited:
// done must still come, once the bytes written before Exited are out.
func TestExitedChattyGrandchild(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
	writeAll(t, rp.in, strings.Repeat("before\n", 20000)) // more than a pipe holds
	writeAll(t, rp.in, "last before\n")
	stop := make(chan struct{})
	chatDone := make(chan struct{})
	go func() {
		defer close(chatDone)
		for !isClosed(stop) {
			rp.in.WriteString("after\n")
		}
	}()
	seen := make(chan string, 1)
	rp.p.Exited(func() { seen <- c.String() })
	got := waitFor(t, seen, "done")
	close(stop)
	<-chatDone
	rp.finish(t)
	w.Close()
	if !strings.Contains(got, "a | last before\n") {
		t.Error("done came before the bytes written before Exited were printed")
	}
	if strings.Count(c.String(), "a | before\n") != 20000 {
		t.Error("lines lost")
	}
}

// TestExitedRace races Exited against the end of the pipe, many times:
// done is called exactly once, and never before the bytes written before
// Exited are printed.
func TestExitedRace(t *testing.T) {
	for i := range 300 {
		var c capture
		w := New(&c, Options{})
		rp := newPipe(t, w, Label{Name: "a"}, Stdout, nil)
		writeAll(t, rp.in, "x\ny")
		var calls atomic.Int32
		seen := make(chan string, 2)
		closed := make(chan struct{})
		go func() { rp.in.Close(); close(closed) }()
		if i%2 == 0 {
			<-closed
		}
		rp.p.Exited(func() {
			calls.Add(1)
			seen <- c.String()
		})
		if got := waitFor(t, seen, "done"); got != "a | x\na | y\n" {
			t.Fatalf("run %d: output when done was called: %q", i, got)
		}
		<-closed
		<-rp.done
		w.Close()
		if n := calls.Load(); n != 1 {
			t.Fatalf("run %d: done called %d times", i, n)
		}
	}
}
