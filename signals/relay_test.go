package signals

import (
	"os"
	"slices"
	"syscall"
	"testing"
)

// TestRelayCoalesces feeds a burst into the relay while nobody reads: each
// kind comes out once, in the order of its first arrival.
func TestRelayCoalesces(t *testing.T) {
	in := make(chan os.Signal)
	out := make(chan os.Signal)
	go relay(in, out)
	kinds := []os.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT, syscall.SIGWINCH}
	for i := range 5000 {
		in <- kinds[i%len(kinds)]
	}
	close(in)
	var got []os.Signal
	for s := range out {
		got = append(got, s)
	}
	if !slices.Equal(got, kinds) {
		t.Errorf("got %v, want each kind once: %v", got, kinds)
	}
}

// TestRelayPassesEachSignalWhenRead: with a reader keeping up, a kind sent
// again after it was taken comes out again.
func TestRelayPassesEachSignalWhenRead(t *testing.T) {
	in := make(chan os.Signal)
	out := make(chan os.Signal)
	go relay(in, out)
	for range 3 {
		in <- syscall.SIGHUP
		if s := <-out; s != syscall.SIGHUP {
			t.Fatalf("got %v", s)
		}
	}
	close(in)
	if _, ok := <-out; ok {
		t.Fatal("out not closed after in")
	}
}
