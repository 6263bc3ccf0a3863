package signals

import (
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestRelayCoalesces feeds a burst into the relay while nobody reads: each
// kind comes out once, in the order of its first arrival.
func TestRelayCoalesces(t *testing.T) {
	in := make(chan os.Signal)
	out := make(chan os.Signal)
	go relay([]chan os.Signal{in}, out)
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
	go relay([]chan os.Signal{in}, out)
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

// TestSubscribeDeliversEveryKind: once Ready is closed, each kind of
// Notified sent to this process arrives, stop signals on Stop and the rest
// on Other, and none of them stops or ends the process. (Single-command
// mode subscribes to all of them; multi-process mode to all but WINCH.)
func TestSubscribeDeliversEveryKind(t *testing.T) {
	ch := Subscribe(true)
	select {
	case <-ch.Ready:
	case <-time.After(10 * time.Second):
		t.Fatal("Ready never closed")
	}
	for _, sig := range Notified {
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		want, other := ch.Stop, ch.Other
		if !IsStop(sig) {
			want, other = ch.Other, ch.Stop
		}
		select {
		case got := <-want:
			if got != sig {
				t.Errorf("sent %v, got %v", sig, got)
			}
		case got := <-other:
			t.Errorf("sent %v, got %v on the wrong channel", sig, got)
		case <-time.After(10 * time.Second):
			t.Errorf("%v never arrived", sig)
		}
	}
}

func TestSubscribedKinds(t *testing.T) {
	if !slices.Equal(subscribed(true), Notified) {
		t.Errorf("single-command mode: %v, want %v", subscribed(true), Notified)
	}
	multi := subscribed(false)
	if len(multi) != len(Notified)-1 || slices.Contains(multi, syscall.SIGWINCH) {
		t.Errorf("multi-process mode: %v, want Notified without SIGWINCH", multi)
	}
}
