package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/signals"
)

// Client exit statuses (README "Control"), after LSB's status codes.
const (
	exitDone        = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNotUp       = 3
	exitNoMatch     = 4
	exitUnreachable = 7
)

// openControl opens the control socket of a cinit start in root: the path
// given (--socket, CINIT_SOCKET), none, or the default one. A default
// socket that another cinit holds, or no usable directory, is a warning
// and cinit runs without one; an explicit path that cannot be used is a
// usage error (exit 2).
func openControl(socket, root string) (*control.Server, error) {
	if socket == "none" {
		return nil, nil
	}
	path := socket
	if path == "" {
		path = control.HostEnv().ServerPath(root, func(msg string) { warn([]string{msg}) })
		if path == "" {
			return nil, nil
		}
	}
	l, err := control.Listen(path)
	if err != nil {
		if socket != "" {
			return nil, usagef("flag --socket: %v", err)
		}
		var taken *control.TakenError
		if errors.As(err, &taken) {
			warn([]string{err.Error() + "; this one runs without it"})
		} else {
			warn([]string{"running without a control socket: " + err.Error()})
		}
		return nil, nil
	}
	return control.NewServer(l), nil
}

// controlCommands are the client commands, each with its own flags.
var controlCommands = map[string]func(*ctlClient) int{
	"status":  (*ctlClient).status,
	"ps":      (*ctlClient).status,
	"restart": (*ctlClient).restart,
	"stop":    (*ctlClient).stop,
	"kill":    (*ctlClient).kill,
	"probe":   (*ctlClient).probe,
	"quit":    (*ctlClient).quit,
	"logs":    (*ctlClient).logs,
	"attach":  (*ctlClient).attach,
}

// isControlCommand reports whether word is a client command.
func isControlCommand(word string) bool {
	_, ok := controlCommands[word]
	return ok
}

// ctlClient is one client command line.
type ctlClient struct {
	cmd    string
	names  []string
	socket string
	proc   string
	root   string
	stdout io.Writer
	stderr io.Writer
	help   string // the text of --help, once asked for

	jsonOut bool          // status, logs: --json
	noWait  bool          // restart, stop
	timeout time.Duration // restart, probe
	signal  string        // kill -s
	live    bool          // probe --live
	quiet   bool          // probe -q
	follow  bool          // logs -f
	lines   int           // logs -n
	color   string        // logs --color
	stamps  bool          // logs -T
	noStamp bool          // logs --no-timestamps
	keys    string        // attach --detach-keys
}

// runControl runs a client command and returns its exit status.
func runControl(cmd string, args []string, getenv func(string) string) int {
	c := &ctlClient{cmd: cmd, stdout: os.Stdout, stderr: os.Stderr}
	if err := c.parse(args, getenv); errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(c.stdout, c.help)
		return 0
	} else if err != nil {
		return c.usageFail(err)
	}
	return controlCommands[cmd](c)
}

// parse reads the flags of c.cmd.
func (c *ctlClient) parse(args []string, getenv func(string) string) error {
	fs := pflag.NewFlagSet("cinit "+c.cmd, pflag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.StringVar(&c.socket, "socket", getenv("CINIT_SOCKET"), "the control socket")
	fs.StringVarP(&c.root, "root", "d", getenv("CINIT_ROOT"), "the Procfile's root directory")
	procfile := getenv("CINIT_PROCFILE")
	if procfile == "" {
		procfile = "Procfile"
	}
	if c.cmd == "logs" {
		fs.StringVar(&c.proc, "procfile", procfile, "the Procfile")
	} else {
		fs.StringVarP(&c.proc, "procfile", "f", procfile, "the Procfile")
	}
	c.defineFlags(fs)
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		c.help = commandHelp(c.cmd, fs)
		return err
	} else if err != nil {
		return usagef("%s: %v", c.cmd, err)
	}
	if err := c.logsEnv(fs, getenv); err != nil {
		return err
	}
	c.names = fs.Args()
	return c.checkArgs()
}

// logsEnv gives the flags of cinit logs that the command line left out
// their values from CINIT_COLOR and CINIT_TIMESTAMPS, as cinit start's,
// and refuses -T with --no-timestamps, as start does.
func (c *ctlClient) logsEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	if c.cmd != "logs" {
		return nil
	}
	stamps := fs.Changed("timestamps") || fs.Changed("no-timestamps")
	if c.stamps && c.noStamp {
		return usagef("logs: flags -T/--timestamps and --no-timestamps contradict each other")
	}
	if v := getenv("CINIT_COLOR"); v != "" && !fs.Changed("color") {
		c.color = v
	}
	if v := getenv("CINIT_TIMESTAMPS"); v != "" && !stamps {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return usagef("logs: bad value %q in CINIT_TIMESTAMPS: want true or false", v)
		}
		c.stamps, c.noStamp = on, !on
	}
	return nil
}

// commandHelp is the text of cinit CMD --help: its line of cinit help,
// then its flags.
func commandHelp(cmd string, fs *pflag.FlagSet) string {
	var synopsis []string
	for line := range strings.Lines(usage) {
		if word, _, _ := strings.Cut(strings.TrimPrefix(line, "  cinit "), " "); strings.HasPrefix(line, "  cinit ") && slices.Contains(strings.Split(word, "|"), cmd) {
			synopsis = append(synopsis, line)
		}
	}
	return "Usage:\n" + strings.Join(synopsis, "") + "\nFlags:\n" + fs.FlagUsages()
}

// defineFlags adds the flags of c.cmd.
func (c *ctlClient) defineFlags(fs *pflag.FlagSet) {
	switch c.cmd {
	case "status", "ps":
		fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	case "restart":
		fs.BoolVar(&c.noWait, "no-wait", false, "do not wait for readiness")
		c.timeout = 60 * time.Second
		fs.Var((*durationValue)(&c.timeout), "timeout", "how long to wait for readiness")
	case "stop":
		fs.BoolVar(&c.noWait, "no-wait", false, "do not wait for the end")
	case "kill":
		fs.StringVarP(&c.signal, "signal", "s", "TERM", "the signal")
	case "probe":
		fs.BoolVar(&c.live, "live", false, "liveness instead of readiness")
		c.timeout = 800 * time.Millisecond
		fs.Var((*durationValue)(&c.timeout), "timeout", "how long to wait for the answer")
		fs.BoolVarP(&c.quiet, "quiet", "q", false, "print nothing")
	case "logs":
		fs.BoolVarP(&c.follow, "follow", "f", false, "follow new lines")
		fs.IntVarP(&c.lines, "lines", "n", 100, "how many past lines")
		fs.BoolVar(&c.jsonOut, "json", false, "print JSON objects")
		fs.StringVar(&c.color, "color", "auto", "auto, always or never (CINIT_COLOR, NO_COLOR)")
		fs.BoolVarP(&c.stamps, "timestamps", "T", false, "HH:MM:SS before each line (CINIT_TIMESTAMPS; default on a terminal)")
		fs.BoolVar(&c.noStamp, "no-timestamps", false, "never print timestamps")
	case "attach":
		defineAttachFlags(fs, c)
	}
}

// checkArgs checks the names of commands that need them.
func (c *ctlClient) checkArgs() error {
	switch c.cmd {
	case "restart", "stop", "kill":
		if len(c.names) == 0 {
			return usagef("%s: name a process, a type or all", c.cmd)
		}
	case "quit":
		if len(c.names) > 0 {
			return usagef("quit: unexpected argument %q", c.names[0])
		}
	case "attach":
		return checkAttachArgs(c)
	case "logs":
		if c.lines < 0 {
			return usagef("logs: -n must not be negative")
		}
		if !slices.Contains([]string{"auto", "always", "never"}, c.color) {
			return usagef("logs: bad value %q for --color (or CINIT_COLOR): want auto, always or never", c.color)
		}
	}
	if c.cmd == "kill" {
		if _, err := parseSignal(c.signal); err != nil {
			return usagef("kill: %v", err)
		}
	}
	return nil
}

// usageFail prints a usage error; probe exits 1 for it (Docker reserves 2).
func (c *ctlClient) usageFail(err error) int {
	fmt.Fprintln(c.stderr, "cinit:", oneLine(err.Error()))
	if c.cmd == "probe" {
		return exitFailed
	}
	return exitUsage
}

// socketPath finds the socket: the one given, else the one of the
// Procfile's root directory (README "Control").
func (c *ctlClient) socketPath() (string, error) {
	if c.socket != "" {
		return c.socket, nil
	}
	root := c.root
	if root == "" {
		root = filepath.Dir(c.proc)
	}
	p, err := control.HostEnv().ClientPath(root)
	if err != nil {
		return "", &control.UnreachableError{Err: err, Msg: err.Error()}
	}
	return p, nil
}

// call sends one request and returns the result. deadline bounds the
// exchange (zero: none). The client stays open for a stream.
func (c *ctlClient) call(req *control.Request, deadline time.Time) (*control.Client, []byte, error) {
	path, err := c.socketPath()
	if err != nil {
		return nil, nil, err
	}
	cl, err := control.Dial(path, deadline)
	if err != nil {
		return nil, nil, err
	}
	req.Cmd, req.Names = c.wireCommand(), c.names
	res, err := cl.Do(req)
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return cl, res, nil
}

// wireCommand is the protocol's name of c.cmd.
func (c *ctlClient) wireCommand() string {
	switch c.cmd {
	case "ps":
		return "status"
	case "kill":
		return "signal"
	}
	return c.cmd
}

// do sends a request that ends with its reply.
func (c *ctlClient) do(req *control.Request, deadline time.Time) ([]byte, error) {
	cl, res, err := c.call(req, deadline)
	if err != nil {
		return nil, err
	}
	cl.Close()
	return res, nil
}

// failWith prints err and returns the exit status it means.
func (c *ctlClient) failWith(err error) int {
	fmt.Fprintln(c.stderr, "cinit:", oneLine(err.Error()))
	var un *control.UnreachableError
	var ce *control.Error
	switch {
	case errors.As(err, &un):
		return exitUnreachable
	case errors.As(err, &ce):
		switch ce.Code {
		case control.NoMatch:
			return exitNoMatch
		case control.BadRequest, control.TooLarge, control.UnsupportedVersion, control.UnknownCommand:
			return exitUsage
		}
	}
	return exitFailed
}

// shortDeadline bounds requests that the loop answers at once.
func shortDeadline() time.Time { return time.Now().Add(10 * time.Second) }

// status prints the state of the selected processes: exit 0 when every
// one is up, 3 otherwise.
func (c *ctlClient) status() int {
	res, err := c.do(&control.Request{}, shortDeadline())
	if err != nil {
		return c.failWith(err)
	}
	st, err := control.DecodeStatus(res)
	if err != nil {
		return c.failWith(fmt.Errorf("bad status from cinit: %v", err))
	}
	if c.jsonOut {
		fmt.Fprintf(c.stdout, "%s\n", res)
	} else {
		printStatus(c.stdout, st, time.Now())
	}
	for _, p := range st.Processes {
		if !p.Up {
			return exitNotUp
		}
	}
	return exitDone
}

// printStatus writes the status table.
func printStatus(w io.Writer, st control.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	tty := hasTerminal(st.Processes)
	fmt.Fprintln(tw, "PROCESS\tPID\tSTATE\tREADY\tUPTIME\tRESTARTS\t"+ttyColumn(tty, "TTY")+"LAST EXIT")
	for _, p := range st.Processes {
		pid, uptime, ready := "-", "-", "no"
		if p.Pid != 0 {
			pid, uptime = strconv.Itoa(p.Pid), shortDuration(time.Duration(p.UptimeS*float64(time.Second)))
		}
		if p.Ready || p.Up {
			ready = "yes"
		}
		term := ttyColumn(tty, map[bool]string{true: "yes", false: "-"}[p.Policy.TTY])
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s%s\n", p.Name, pid, p.State, ready, uptime, p.Restarts, term, lastExit(p, now))
	}
	tw.Flush()
	if st.Cinit.Phase != control.PhaseRunning {
		fmt.Fprintf(w, "cinit is %s\n", st.Cinit.Phase)
	}
}

// hasTerminal reports whether a process runs with --tty: only then does
// the table have a TTY column (README "Debugging a process").
func hasTerminal(ps []control.Process) bool {
	for _, p := range ps {
		if p.Policy.TTY {
			return true
		}
	}
	return false
}

// ttyColumn is a cell of the TTY column, with its tab, or nothing.
func ttyColumn(shown bool, cell string) string {
	if !shown {
		return ""
	}
	return cell + "\t"
}

// lastExit is the LAST EXIT column: "143 (SIGTERM) 2h13m ago", "1, 4s
// ago; restart in 8s" or "-".
func lastExit(p control.Process, now time.Time) string {
	if p.LastExit == nil {
		return "-"
	}
	s := strconv.Itoa(p.LastExit.Code)
	if p.LastExit.Signal != "" {
		s += " (" + p.LastExit.Signal + ")"
	}
	s += " " + shortDuration(now.Sub(p.LastExit.At)) + " ago"
	if p.State == control.StateBackoff {
		s += "; restart in " + shortDuration(time.Duration(p.NextRestartMS)*time.Millisecond)
	}
	return s
}

// shortDuration prints d as "45s", "3m2s", "2h13m" or "3d4h".
func shortDuration(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// probe is a health check: exit 0 or 1 only, one line unless -q.
func (c *ctlClient) probe() int {
	res, err := c.do(&control.Request{Live: c.live}, time.Now().Add(c.timeout))
	var pr control.Probe
	if err == nil {
		if pr, err = control.DecodeProbe(res); err != nil {
			err = fmt.Errorf("bad probe answer from cinit: %v", err)
		}
	}
	if err != nil {
		pr = control.Probe{Message: "cinit not reachable: " + err.Error()}
		var ce *control.Error
		if errors.As(err, &ce) {
			pr.Message = ce.Message
		}
	}
	if !c.quiet {
		msg := oneLine(pr.Message)
		if len(msg) > 4000 {
			msg = msg[:4000]
		}
		fmt.Fprintln(c.stdout, msg)
	}
	if pr.OK {
		return exitDone
	}
	return exitFailed
}

// restart restarts the selected processes and, unless --no-wait, waits
// until they are ready.
func (c *ctlClient) restart() int {
	req := &control.Request{Wait: !c.noWait, TimeoutMS: c.timeout.Milliseconds()}
	deadline := shortDeadline()
	if req.Wait {
		deadline = time.Time{} // cinit answers when ready, failed or timed out
	}
	return c.report(req, deadline)
}

// stop stops the selected processes and, unless --no-wait, waits until
// they have ended.
func (c *ctlClient) stop() int {
	req := &control.Request{Wait: !c.noWait}
	deadline := shortDeadline()
	if req.Wait {
		deadline = time.Time{} // cinit answers after the grace period at the latest
	}
	return c.report(req, deadline)
}

// kill sends a signal to the selected processes.
func (c *ctlClient) kill() int {
	return c.report(&control.Request{Signal: c.signal}, shortDeadline())
}

// report sends a request whose result lists processes, and prints one
// line per process.
func (c *ctlClient) report(req *control.Request, deadline time.Time) int {
	res, err := c.do(req, deadline)
	if err != nil {
		return c.failWith(err)
	}
	d, err := control.DecodeDone(res)
	if err != nil {
		return c.failWith(fmt.Errorf("bad answer from cinit: %v", err))
	}
	for _, p := range d.Processes {
		line := p.Name + " " + p.State
		if p.Pid != 0 {
			line += " (pid " + strconv.Itoa(p.Pid) + ")"
		}
		fmt.Fprintln(c.stdout, line)
	}
	return exitDone
}

// quit asks cinit to stop everything.
func (c *ctlClient) quit() int {
	if _, err := c.do(&control.Request{}, shortDeadline()); err != nil {
		return c.failWith(err)
	}
	fmt.Fprintln(c.stdout, "cinit is stopping")
	return exitDone
}

// logs prints the last lines of cinit's output and, with -f, follows
// it until cinit's output ends. Color and timestamps follow the client's
// own stdout, as cinit's do, and the same flags and variables.
func (c *ctlClient) logs() int {
	tty := isTerminal(os.Stdout)
	req := &control.Request{Lines: &c.lines, Follow: c.follow, Timestamps: (tty || c.stamps) && !c.noStamp,
		Color: useColor(options{color: c.color}, tty, os.Getenv)}
	if c.jsonOut {
		req.Format = "json"
	}
	cl, _, err := c.call(req, shortDeadline())
	if err != nil {
		return c.failWith(err)
	}
	defer cl.Close()
	cl.SetDeadline(time.Time{})
	if _, err := io.Copy(c.stdout, cl); err != nil {
		return c.failWith(&control.UnreachableError{Err: err, Msg: "lost the connection to cinit: " + err.Error()})
	}
	return exitDone
}

// parseSignal checks a signal name for kill -s before anything is sent.
func parseSignal(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("empty signal name")
	}
	if _, err := signals.Parse(s); err != nil {
		return "", err
	}
	return s, nil
}
