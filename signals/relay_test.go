package signals

import (
	"os"
	"syscall"
	"testing"
)

// TestRelayKeepsStopsAndCoalesces feeds a burst into the relay while
// nobody reads: every stop signal comes out in order, and each other kind
// at least once but never twice while one is pending.
func TestRelayKeepsStopsAndCoalesces(t *testing.T) {
	in := make(chan os.Signal)
	out := make(chan os.Signal)
	go relay(in, out)
	kinds := []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT, syscall.SIGWINCH}
	for i := range 5000 {
		in <- kinds[i%len(kinds)]
		if i == 2500 {
			in <- syscall.SIGTERM
		}
	}
	in <- syscall.SIGINT
	close(in)
	var got []os.Signal
	for s := range out {
		got = append(got, s)
	}
	counts := map[os.Signal]int{}
	var stops []os.Signal
	for _, s := range got {
		counts[s]++
		if IsStop(s.(syscall.Signal)) {
			stops = append(stops, s)
		}
	}
	if len(stops) != 2 || stops[0] != syscall.SIGTERM || stops[1] != syscall.SIGINT {
		t.Errorf("stop signals %v, want SIGTERM then SIGINT", stops)
	}
	for _, k := range kinds {
		if counts[k] != 1 {
			t.Errorf("%v came out %d times, want once (coalesced)", k, counts[k])
		}
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
