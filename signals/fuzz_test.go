package signals

import (
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParse checks that Parse accepts only real signal numbers, and that a
// signal it accepts by name has that name: Name and Parse agree both ways.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "SIGTERM", "term", "sigquit", "15", "0", "65", "-9", "+9", "09",
		"SIG", "", "SIGSIGTERM", "rtmin", "SIGRTMIN+1", "signal 34", "9999999999999999999", "ſigterm", "TERM\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err != nil {
			if sig != 0 {
				t.Fatalf("Parse(%q) = %d with error %v", s, sig, err)
			}
			return
		}
		if sig < 1 || sig > 64 {
			t.Fatalf("Parse(%q) = %d, not a signal", s, sig)
		}
		if _, numErr := strconv.Atoi(s); numErr == nil {
			return
		}
		name := Name(sig)
		if back, err := Parse(name); err != nil || back != sig {
			t.Fatalf("Parse(%q) = %v, but Parse(%q) = %v, %v", s, sig, name, back, err)
		}
	})
}

// TestParseEveryNumber checks the other direction for every signal
// number: its number, and its name where it has one, parse back to it.
func TestParseEveryNumber(t *testing.T) {
	for n := 1; n <= 64; n++ {
		sig := syscall.Signal(n)
		if got, err := Parse(strconv.Itoa(n)); err != nil || got != sig {
			t.Errorf("Parse(%d) = %v, %v", n, got, err)
		}
		if name := unix.SignalName(sig); name != "" {
			if got, err := Parse(name); err != nil || got != sig {
				t.Errorf("Parse(%q) = %v, %v; want %d", name, got, err, n)
			}
		}
	}
}
