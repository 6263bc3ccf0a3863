package output

import (
	"os"
	"testing"
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
