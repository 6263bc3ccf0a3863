package output

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPipeUnreadCount checks that FIONREAD is read as the kernel's 32-bit
// int. On a big-endian machine a 64-bit read puts the count in the high
// half, and 5 bytes read as 21474836480 (run this package's tests under
// qemu-s390x-static, as make cross does, to see it).
func TestPipeUnreadCount(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	want := 0
	for _, n := range []int{0, 5, 4096} {
		if _, err := w.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		want += n
		if got := mustUnread(t, r); got != want {
			t.Fatalf("unread bytes: got %d, want %d", got, want)
		}
	}
}

func mustUnread(t *testing.T, f *os.File) int {
	t.Helper()
	n, err := pipeUnread(int(f.Fd()))
	if err != nil {
		t.Fatalf("FIONREAD: %v", err)
	}
	return n
}

// TestPipeGrows checks that a pipe found full gets a capacity of pipeSize,
// and that a quiet one keeps its own.
func TestPipeGrows(t *testing.T) {
	var c capture
	w := New(&c, Options{})
	quiet := newPipe(t, w, Label{Name: "q"}, Stdout, nil)
	busy := newPipe(t, w, Label{Name: "b"}, Stdout, nil)
	before, err := unix.FcntlInt(busy.in.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, quiet.in, "hello\n")
	writeAll(t, busy.in, strings.Repeat("0123456789abcde\n", 4*busyRead/16), "end\n")
	for {
		next := c.next()
		// Either pipe may be printed first: the quiet one's reader can be
		// scheduled after the busy one is done (it was, once, under load).
		if out := c.String(); strings.Contains(out, "q | hello\n") && strings.Contains(out, "b | end\n") {
			break
		}
		waitFor(t, next, "the lines")
	}
	quietSize, _ := unix.FcntlInt(quiet.in.Fd(), unix.F_GETPIPE_SZ, 0)
	busySize, _ := unix.FcntlInt(busy.in.Fd(), unix.F_GETPIPE_SZ, 0)
	quiet.finish(t)
	busy.finish(t)
	w.Close()
	if quietSize != before {
		t.Errorf("quiet pipe: capacity %d, want %d", quietSize, before)
	}
	if busySize != pipeSize {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize); err != nil {
			t.Skipf("this system refuses pipes of %d bytes: %v", pipeSize, err)
		}
		t.Errorf("busy pipe: capacity %d, want %d", busySize, pipeSize)
	}
}
