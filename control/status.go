package control

import "time"

// Instance states, as `cinit status` shows them.
const (
	StateWaiting  = "waiting"  // not started: a process it starts after is not ready
	StateStarting = "starting" // has a pid; not ready yet
	StateRunning  = "running"  // has a pid and is ready
	StateBackoff  = "backoff"  // ended; an automatic restart is due
	StateStopping = "stopping" // its stop signal was sent
	StateStopped  = "stopped"  // stopped by `cinit stop`
	StateExited   = "exited"   // ended by itself and not restarting
	StateFailed   = "failed"   // failed for good
)

// Phases of cinit as a whole.
const (
	PhaseStarting = "starting" // some process has not been ready yet
	PhaseRunning  = "running"
	PhaseStopping = "stopping" // the teardown has begun
)

// Status is the result of the status command.
type Status struct {
	Cinit     Cinit     `json:"cinit"`
	Processes []Process `json:"processes"`
}

// Cinit describes the running cinit.
type Cinit struct {
	Pid     int     `json:"pid"`
	Version string  `json:"version"`
	Phase   string  `json:"phase"`
	UptimeS float64 `json:"uptime_s"`
	Root    string  `json:"root"`
	Socket  string  `json:"socket"`
}

// Process describes one instance.
type Process struct {
	Name          string    `json:"name"`
	Type          string    `json:"type"`
	Pid           int       `json:"pid"` // 0 when it has no process
	State         string    `json:"state"`
	Want          string    `json:"want"` // "up", or "down" once stopped by request
	Ready         bool      `json:"ready"`
	Up            bool      `json:"up"` // ready and running, or a oneshot that succeeded
	Since         time.Time `json:"since"`
	UptimeS       float64   `json:"uptime_s"` // of the current run; 0 without one
	Restarts      int       `json:"restarts"` // automatic and requested
	LastExit      *Exit     `json:"last_exit"`
	NextRestartMS int64     `json:"next_restart_ms,omitempty"`
	Port          int       `json:"port,omitempty"`
	Policy        Policy    `json:"policy"`
}

// Exit is how a run ended.
type Exit struct {
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"`
	At     time.Time `json:"at"`
}

// Policy is the part of an instance's policy that status shows.
type Policy struct {
	Restart string `json:"restart"` // no, on-failure, always
	CanDie  bool   `json:"can_die"`
	Oneshot bool   `json:"oneshot"`
	TTY     bool   `json:"tty"` // it runs on a pseudo-terminal
}

// Probe is the result of the probe command.
type Probe struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"` // one line: "ready", "not ready: web starting (3s)", ...
}

// Done is the result of restart, stop and signal: the processes acted on.
type Done struct {
	Processes []Process `json:"processes"`
	Message   string    `json:"message,omitempty"`
}
