package supervisor

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/output"
)

// Readiness polls start fast and back off (README, "Process policies");
// cinit says whom it waits for every waitLogEvery.
const (
	firstPoll    = 100 * time.Millisecond
	maxPoll      = time.Second
	probeTimeout = 2 * time.Second
	// execTimeout bounds one attempt of an exec check, as Docker's
	// HEALTHCHECK --timeout does, with its default (the Dockerfile
	// reference, "HEALTHCHECK"): a check that hangs is killed and tried
	// again. Generous, so that a check that boots a runtime (bin/rails
	// runner) still passes.
	execTimeout  = 30 * time.Second
	waitLogEvery = 10 * time.Second
)

// checkRun is an exec readiness check in flight.
type checkRun struct {
	u   *unit
	gen int
	at  time.Time // when it started: tells it from a later check with its pid
}

// startEligible starts every pending unit whose dependencies are ready,
// in start order, and gives up on those whose dependencies failed.
//
// A start can make a unit ready at once, which calls startEligible again.
// That call only asks for a new pass from the first unit, the order a
// nested scan would start units in; the stack stays flat instead of
// growing by a few frames per unit (100 instances that are ready as soon
// as they start grew the loop's stack to 128 KiB, all of it resident).
func (s *supervisor) startEligible() {
	if s.scan.running {
		s.scan.again = true
		return
	}
	s.scan.running = true
	defer func() { s.scan.running = false }()
	for s.scan.again = true; s.scan.again; {
		s.scan.again = false
		s.scanOnce()
	}
}

// scanOnce is one pass of startEligible. It stops early when a start asked
// for a new pass or began the teardown.
func (s *supervisor) scanOnce() {
	for _, u := range s.units {
		if s.tear.started || s.scan.again {
			return
		}
		if u.state != pending {
			continue
		}
		switch s.depsState(u) {
		case depsReady:
			s.start(u)
		case depsFailed:
			s.abandon(u)
		}
	}
}

// depsStatus summarizes a unit's dependencies.
type depsStatus int

const (
	depsWaiting depsStatus = iota
	depsReady
	depsFailed
)

// depsState tells whether every type u starts after is ready.
func (s *supervisor) depsState(u *unit) depsStatus {
	status := depsReady
	for _, dep := range u.pol.After {
		for _, d := range s.units {
			if d.inst.Entry.Name != dep {
				continue
			}
			switch {
			case d.failed:
				return depsFailed
			case !d.ready:
				status = depsWaiting
			}
		}
	}
	return status
}

// abandon ends a pending unit that can never start.
func (s *supervisor) abandon(u *unit) {
	u.state, u.failed = over, true
	s.event(output.Event{Kind: "failed", Process: u.inst.Name,
		Text: u.inst.Name + " will not start: a process it starts after failed"})
}

// abandonDependents gives up on pending units whose dependencies failed.
func (s *supervisor) abandonDependents() {
	for changed := true; changed; {
		changed = false
		for _, u := range s.units {
			if u.state == pending && s.depsState(u) == depsFailed {
				s.abandon(u)
				changed = true
			}
		}
	}
}

// needsReadiness reports whether u is not ready as soon as it started.
func (u *unit) needsReadiness() bool {
	return u.pol.Oneshot || u.pol.Ready.Kind != ""
}

// watchReadiness marks a fresh start ready, or starts polling its check and
// arms the ready timeout. Every run is checked: the client of cinit
// restart learns when it is ready, and status and probe do not call an
// automatic restart ready before its check passed (what starts after it
// keeps running meanwhile: u.ready stays latched). The ready timeout is
// for a process that was never ready, or that cinit restart started: an
// automatic restart of one that was is not timed, as it never was.
func (s *supervisor) watchReadiness(u *unit) {
	if !u.needsReadiness() {
		s.setReady(u)
		return
	}
	if u.pol.Ready.Kind != "" {
		u.checkDelay = firstPoll
		s.scheduleCheck(u)
	}
	if s.cfg.ReadyTimeout > 0 && (!u.ready || u.ctl.manual) {
		gen := u.gen
		s.after(s.cfg.ReadyTimeout, func() { s.readyTimeout(u, gen) })
	}
}

// setReady latches u as ready and starts what waited for it.
func (s *supervisor) setReady(u *unit) {
	u.ready, u.runReady, u.since = true, true, time.Now()
	if u.pol.Ready.Kind != "" {
		s.event(output.Event{Kind: "ready", Process: u.inst.Name, Text: u.inst.Name + " is ready"})
	}
	s.startEligible()
}

// readyTimeout fails a unit that is still not ready (exit status 124, the
// timeout(1) convention). A run that is being stopped on request is left
// to its stop. A run that cinit restart started, or of a process that can
// die, fails alone: it is stopped as cinit stop would stop it and ends
// failed, and the container goes on (README, "Control").
func (s *supervisor) readyTimeout(u *unit, gen int) {
	if u.gen != gen || u.runReady || u.state != running || u.ctl.stopping || s.tear.started {
		return
	}
	why := fmt.Sprintf("%s was not ready within %v", u.inst.Name, s.cfg.ReadyTimeout)
	s.event(output.Event{Kind: "failed", Process: u.inst.Name, Text: why})
	u.failed = true
	if u.ctl.manual || u.pol.CanDie {
		// It fails alone, stopped as cinit stop would stop it; left
		// running, it would turn ready later with its dependents
		// abandoned.
		u.ctl.again, u.ctl.notReady = false, true
		u.ctl.manual = u.ctl.manual && !u.pol.CanDie // its end counts for "everything ended"
		s.sendStop(u)
		s.abandonDependents()
		return
	}
	s.endWith(u, 124, u.inst.Name+" was not ready in time, stopping all processes")
}

// scheduleCheck runs u's check after the current poll interval.
func (s *supervisor) scheduleCheck(u *unit) {
	gen := u.gen
	s.after(u.checkDelay, func() {
		if u.gen == gen && u.state == running && !u.runReady && !u.ctl.stopping && !s.tear.started {
			s.runCheck(u)
		}
	})
}

// runCheck starts one probe: an exec check is a child of cinit's, whose
// exit arrives from the reaper; the others run in a goroutine that posts
// the result.
func (s *supervisor) runCheck(u *unit) {
	gen := u.gen
	if u.pol.Ready.Kind == "exec" {
		_, pid, err := s.spawn(u.pol.Ready.Target, s.environ(u.inst), stdio{})
		if err != nil {
			s.checkDone(u, gen, false)
			return
		}
		run := checkRun{u: u, gen: gen, at: time.Now()}
		s.checks[pid] = run
		s.after(execTimeout, func() {
			if s.checks[pid] == run {
				unix.Kill(-pid, syscall.SIGKILL) // its exit is a failed attempt
			}
		})
		return
	}
	check, port, dir := u.pol.Ready, u.inst.Port, s.cfg.Dir
	go func() {
		ok := probe(check, port, dir, probeTimeout)
		s.post(func() { s.checkDone(u, gen, ok) })
	}()
}

// checkDone takes a probe's result: ready, or poll again later. A run
// being stopped on request is never found ready: what starts after it
// must not start because of a run that is ending.
func (s *supervisor) checkDone(u *unit, gen int, ok bool) {
	if u.gen != gen || u.state != running || u.runReady || u.ctl.stopping || s.tear.started {
		return
	}
	if ok {
		s.setReady(u)
		return
	}
	u.checkDelay = min(2*u.checkDelay, maxPoll)
	s.scheduleCheck(u)
}

// logWaiting says every waitLogEvery whom cinit waits for, while anything
// waits.
func (s *supervisor) logWaiting() {
	if s.tear.started {
		return
	}
	var waiting []string
	for _, u := range s.units {
		switch {
		case u.state == pending:
			waiting = append(waiting, u.inst.Name+" (to start after "+strings.Join(u.pol.After, ", ")+")")
		case u.state == running && !u.runReady && u.needsReadiness():
			waiting = append(waiting, u.inst.Name+" (to be ready)")
		}
	}
	if len(waiting) == 0 {
		return
	}
	s.event(output.Event{Kind: "waiting", Text: "waiting for " + strings.Join(waiting, ", ")})
	s.after(waitLogEvery, s.logWaiting)
}

// probe runs one tcp, http or file check for a process whose port is
// port and whose directory is dir (a relative file: path is found there,
// as an exec check runs there), within limit.
func probe(c Check, port int, dir string, limit time.Duration) bool {
	switch c.Kind {
	case "tcp":
		return probeTCP(tcpAddress(c.Target, port), limit)
	case "http":
		return probeHTTP(c.Target, limit)
	case "file":
		path := c.Target
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		_, err := os.Stat(path)
		return err == nil
	}
	return false
}

// tcpAddress turns a tcp check's target ("", "5432" or "host:5432") into
// an address.
func tcpAddress(target string, port int) string {
	switch {
	case target == "":
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	case !strings.Contains(target, ":"):
		return net.JoinHostPort("127.0.0.1", target)
	}
	return target
}

// probeTCP reports whether a TCP connection to addr succeeds.
func probeTCP(addr string, limit time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, limit)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// probeHTTP sends a GET and reports whether the status is 2xx. It speaks
// plain HTTP/1.0 itself: net/http would add megabytes to a binary that
// ships in every image.
func probeHTTP(rawURL string, limit time.Duration) bool {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	deadline := time.Now().Add(limit)
	c, err := net.DialTimeout("tcp", host, limit)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(deadline)
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: cinit\r\n\r\n", u.RequestURI(), u.Host)
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false
	}
	fields := strings.Fields(status)
	return len(fields) >= 2 && strings.HasPrefix(fields[0], "HTTP/") && len(fields[1]) == 3 && fields[1][0] == '2'
}
