package signals

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		sig    syscall.Signal
		single bool
		stops  int
		want   Action
	}{
		{"term stops", unix.SIGTERM, false, 0, Action{Stop, unix.SIGTERM}},
		{"int stops", unix.SIGINT, false, 0, Action{Stop, unix.SIGINT}},
		{"quit stops", unix.SIGQUIT, false, 0, Action{Stop, unix.SIGQUIT}},
		{"second stop kills", unix.SIGINT, false, 1, Action{Kill, unix.SIGKILL}},
		{"second stop kills in single mode", unix.SIGTERM, true, 1, Action{Kill, unix.SIGKILL}},
		{"hup forwarded", unix.SIGHUP, false, 0, Action{Forward, unix.SIGHUP}},
		{"usr1 forwarded during teardown", unix.SIGUSR1, false, 1, Action{Forward, unix.SIGUSR1}},
		{"usr2 forwarded", unix.SIGUSR2, false, 0, Action{Forward, unix.SIGUSR2}},
		{"alrm forwarded", unix.SIGALRM, false, 0, Action{Forward, unix.SIGALRM}},
		{"cont forwarded", unix.SIGCONT, false, 0, Action{Forward, unix.SIGCONT}},
		{"winch ignored with many", unix.SIGWINCH, false, 0, Action{Ignore, unix.SIGWINCH}},
		{"winch forwarded when single", unix.SIGWINCH, true, 0, Action{Forward, unix.SIGWINCH}},
		{"tstp ignored with many", unix.SIGTSTP, false, 0, Action{Ignore, unix.SIGTSTP}},
		{"ttin forwarded when single", unix.SIGTTIN, true, 0, Action{Forward, unix.SIGTTIN}},
		{"ttou ignored with many", unix.SIGTTOU, false, 0, Action{Ignore, unix.SIGTTOU}},
		{"pipe ignored", unix.SIGPIPE, false, 0, Action{Ignore, unix.SIGPIPE}},
		{"urg ignored", unix.SIGURG, true, 0, Action{Ignore, unix.SIGURG}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if have := Classify(tt.sig, tt.single, tt.stops); have != tt.want {
				t.Errorf("Classify(%v, %v, %d) = %+v, want %+v", tt.sig, tt.single, tt.stops, have, tt.want)
			}
		})
	}
}

// TestNotifiedNeverURG guards the explicit list: SIGURG is the Go runtime's
// preemption signal and SIGCHLD belongs to the reaper.
func TestNotifiedNeverURG(t *testing.T) {
	for _, s := range Notified {
		if s == unix.SIGURG || s == unix.SIGCHLD {
			t.Errorf("Notified contains %v", s)
		}
	}
	for _, want := range []syscall.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP, unix.SIGPIPE, unix.SIGTTOU} {
		found := false
		for _, s := range Notified {
			found = found || s == want
		}
		if !found {
			t.Errorf("Notified lacks %v", want)
		}
	}
}

func TestParse(t *testing.T) {
	good := map[string]syscall.Signal{"TERM": unix.SIGTERM, "SIGQUIT": unix.SIGQUIT, "hup": unix.SIGHUP, "9": unix.SIGKILL, "sigusr1": unix.SIGUSR1}
	for in, want := range good {
		if have, err := Parse(in); err != nil || have != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, have, err, want)
		}
	}
	for _, in := range []string{"", "NOPE", "0", "65", "-1", "SIG"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
	if Name(unix.SIGTERM) != "SIGTERM" {
		t.Errorf("Name(SIGTERM) = %q", Name(unix.SIGTERM))
	}
}
