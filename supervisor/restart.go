package supervisor

import (
	"fmt"
	"time"

	"github.com/cinit/cinit/output"
)

// The restart schedule (README, "Process policies"): capped exponential
// backoff, reset after a long enough run, and a budget of restarts per
// window, as in systemd's StartLimitBurst and supervisord's startretries.
const (
	firstDelay    = time.Second
	maxDelay      = 30 * time.Second
	resetAfter    = 30 * time.Second // a run this long resets the delay
	maxRestarts   = 5
	restartWindow = 60 * time.Second
)

// wantsRestart reports whether u's policy asks for a restart of the run
// that just ended.
func (s *supervisor) wantsRestart(u *unit) bool {
	switch u.pol.Restart {
	case RestartAlways:
		return true
	case RestartOnFailure:
		return u.exit.Code != 0
	}
	return false
}

// restart schedules u's next start after its backoff delay, or ends it for
// good when the budget is spent.
func (s *supervisor) restart(u *unit) {
	delay, n, ok := u.nextRestart(time.Now())
	if !ok {
		s.reportExit(u)
		u.state, u.failed = over, true
		why := fmt.Sprintf("%s restarted %d times within %v, giving up", u.inst.Name, maxRestarts, restartWindow)
		s.event(output.Event{Kind: "failed", Process: u.inst.Name, Text: why})
		s.endWith(u, u.exit.Code, u.inst.Name+" gave up, stopping all processes")
		return
	}
	u.state, u.since, u.ctl.nextStart = backoff, time.Now(), time.Now().Add(delay)
	s.event(output.Event{Kind: "restart", Process: u.inst.Name, Pid: u.pid, Code: &u.exit.Code,
		Text: fmt.Sprintf("%s, restarting in %v (%d/%d)", s.describeEnd(u), delay, n, maxRestarts)})
	gen := u.gen
	s.after(delay, func() {
		if u.state == backoff && u.gen == gen && !s.tear.started {
			u.ctl.manual = false // unattended again
			u.ctl.restarts++
			s.start(u)
		}
	})
}

// nextRestart returns the delay before the next start and the restart's
// number within the window; ok is false when maxRestarts restarts already
// happened within restartWindow.
func (u *unit) nextRestart(now time.Time) (delay time.Duration, n int, ok bool) {
	if u.delay == 0 || now.Sub(u.started) >= resetAfter {
		u.delay = firstDelay
	}
	recent := u.restarts[:0]
	for _, t := range u.restarts {
		if now.Sub(t) < restartWindow {
			recent = append(recent, t)
		}
	}
	u.restarts = recent
	if len(recent) >= maxRestarts {
		return 0, 0, false
	}
	u.restarts = append(u.restarts, now)
	delay = u.delay
	u.delay = min(2*u.delay, maxDelay)
	return delay, len(u.restarts), true
}
