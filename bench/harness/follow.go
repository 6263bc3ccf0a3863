package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// logClients is how many cinit logs -f clients the followers scenario
// attaches; the first of them is stopped.
const logClients = 4

// followers measures the short-lines scenario of one writer with four
// cinit logs -f clients attached, one of them stopped with SIGSTOP,
// against the same run without clients, interleaved. The writer waits on
// a FIFO until cinit runs (and, with clients, until every client has
// printed its first line, so it follows), and the time runs from the
// FIFO's release until the writer's last write has returned (it then
// opens a second FIFO): the output's throughput. How long cinit then
// takes to exit is shown apart: at its exit cinit lets the clients read
// what is left, and waits a moment for a stopped one. One more run with clients, where a
// second process keeps cinit running after the writer, has cinit's
// stdout on a pipe that the harness checks line by line, and checks that
// the stopped client, once continued, reports lines dropped.
func (c *config) followers() []row {
	n := c.shortBytes / shortLine
	dir := filepath.Join(c.tmp, "followers")
	fifo, fifo2, wrote := filepath.Join(dir, "go"), filepath.Join(dir, "end"), filepath.Join(dir, "wrote")
	sock := filepath.Join(dir, "cinit.sock")
	w := c.writer("a", n, shortLine, "-wait", shellQuote(fifo))
	procfile := c.procfile("followers", "a: "+w+" -done "+shellQuote(wrote))
	figure := "short lines (60 B), 1 writer, 4 `cinit logs -f` clients (1 stopped)"
	target := "≥ 0.9× without clients"
	for _, f := range []string{fifo, fifo2, wrote} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			return []row{errorRow(figure, target, err)}
		}
	}
	var exits [2][]time.Duration // from the writer's end to cinit's exit: with, without clients
	run := func(clients int, exit *[]time.Duration) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			d, e, err := c.runFollowed(procfile, sock, fifo, "", wrote, clients, nil)
			*exit = append(*exit, e)
			return d, err
		}
	}
	p := interleave(c.reps, run(logClients, &exits[0]), run(0, &exits[1]))
	if p.err != nil {
		return []row{errorRow(figure, target, p.err)}
	}
	ratio := p.speedRatio()
	exit := row{
		figure: "the same: from the writer's end to cinit's exit",
		cinit:  ms(medianD(exits[0])),
		base:   ms(medianD(exits[1])) + " (no clients)",
		value:  ms(medianD(exits[0])),
		target: "—",
		pass:   true,
		info:   true,
	}
	r := row{
		figure: figure,
		cinit:  mbps(n*shortLine, medianD(p.a)),
		base:   mbps(n*shortLine, medianD(p.b)) + " (no clients)",
		value:  fmt.Sprintf("%.2f×", ratio) + p.spread(false),
		target: target,
		pass:   ratio >= 0.9,
	}
	end := c.writer("b", 1, shortLine, "-wait", shellQuote(fifo2))
	checked := c.procfile("followers-check", "a: "+w, "b: "+end)
	v := &verification{want: map[string]int64{"a": n, "b": 1}, size: shortLine,
		good: map[string]int64{}, next: map[string]int64{}}
	rd, wr, err := os.Pipe()
	if err != nil {
		return []row{errorRow(figure, target, err)}
	}
	done := make(chan struct{})
	go func() { v.read(rd, false); rd.Close(); close(done) }()
	_, _, v.err = c.runFollowed(checked, sock, fifo, fifo2, "", logClients, wr)
	wr.Close()
	<-done
	r.note = v.String() + "; the stopped client, continued, reported lines dropped"
	if v.err != nil {
		r.note = v.String()
	}
	r.pass = r.pass && v.ok()
	return []row{r, exit}
}

// runFollowed runs cinit on procfile with its socket at sock and stdout on
// out (nil: /dev/null), attaches clients cinit logs -f clients and stops
// the first, releases the writer through fifo, and returns the time from
// then until the writer opens wrote (or, without wrote, until cinit
// exits), and from then until cinit exits. Then every client must end by
// itself with status 0. With fifo2 (the Procfile's a can die, and b
// waits on fifo2 before it prints and ends cinit), it first waits for
// a's exit, continues the stopped client and waits for its notice of
// lines dropped, then releases b; the times are then not figures.
func (c *config) runFollowed(procfile, sock, fifo, fifo2, wrote string, clients int, out *os.File) (time.Duration, time.Duration, error) {
	if out == nil {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, 0, err
		}
		defer devnull.Close()
		out = devnull
	}
	var extra []string
	if fifo2 != "" {
		extra = []string{"--can-die", "a"}
	}
	var errb bytes.Buffer
	cmd := command(c.cinitArgv(procfile, append(extra, "--socket", sock)...), filepath.Dir(procfile), out, &errb)
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	var ls []*logClient
	fail := func(err error) (time.Duration, time.Duration, error) {
		cmd.Process.Kill()
		cmd.Wait()
		for _, l := range ls {
			l.cmd.Process.Kill()
			l.cmd.Process.Signal(syscall.SIGCONT)
			l.wait()
		}
		return 0, 0, fmt.Errorf("%v: %s", err, lastLine(errb.String()))
	}
	if err := waitFile(sock, 10*time.Second); err != nil {
		return fail(err)
	}
	ls, err := c.startClients(sock, clients, fifo2 == "")
	if err != nil {
		return fail(err)
	}
	if len(ls) > 0 {
		ls[0].cmd.Process.Signal(syscall.SIGSTOP)
	}
	written := make(chan time.Time, 1)
	if wrote != "" {
		go func() {
			if err := drainFileAt(wrote); err == nil {
				written <- time.Now()
			}
		}()
	}
	t0 := time.Now()
	if err := release(fifo); err != nil {
		return fail(err)
	}
	if fifo2 != "" {
		if err := ls[1].await(ls[1].exited, "a's exit"); err != nil {
			return fail(err)
		}
		ls[0].cmd.Process.Signal(syscall.SIGCONT)
		if err := ls[0].await(ls[0].dropped, "a notice of lines dropped from the stopped client"); err != nil {
			return fail(err)
		}
		if err := release(fifo2); err != nil {
			return fail(err)
		}
	}
	err = cmd.Wait()
	t2 := time.Now()
	if err != nil {
		return 0, 0, fmt.Errorf("cinit: %v: %s", err, lastLine(errb.String()))
	}
	t1 := t2
	if wrote != "" {
		select {
		case t1 = <-written:
		case <-time.After(10 * time.Second):
			return 0, 0, fmt.Errorf("the writer did not open %s", wrote)
		}
	}
	if len(ls) > 0 {
		ls[0].cmd.Process.Signal(syscall.SIGCONT)
	}
	for i, l := range ls {
		if err := l.wait(); err != nil {
			return 0, 0, fmt.Errorf("cinit logs -f client %d: %v", i, err)
		}
	}
	return t1.Sub(t0), t2.Sub(t1), nil
}

// drainFileAt reads the FIFO at path until the writer that opens it
// closes it.
func drainFileAt(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// release opens and closes the FIFO at path, which lets a writer that
// waits on it go.
func release(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// logClient is one cinit logs -f process whose output the harness reads
// and discards, watching for two lines.
type logClient struct {
	cmd     *exec.Cmd
	errb    bytes.Buffer
	done    chan struct{}
	dropped chan struct{} // closed at a notice of lines dropped
	exited  chan struct{} // closed at cinit's line "a exited"
	waited  bool          // output into a file: a goroutine waits for the process
	err     error         // what that Wait returned, once done is closed
}

// startClients starts n clients of the socket and returns once each has
// printed its first line (the last line cinit printed), so that each
// follows. With toFile, each prints into a file of its own, as to a
// terminal, and the harness only waits for the file to hold a line;
// else the harness reads and watches what it prints.
func (c *config) startClients(sock string, n int, toFile bool) ([]*logClient, error) {
	var ls []*logClient
	for i := range n {
		l := &logClient{done: make(chan struct{}), dropped: make(chan struct{}), exited: make(chan struct{})}
		l.cmd = exec.Command(c.cinit, "logs", "-f", "-n", "1", "--socket", sock)
		l.cmd.Env = childEnv()
		l.cmd.Stderr = &l.errb
		if toFile {
			if err := l.startFile(filepath.Join(filepath.Dir(sock), fmt.Sprintf("client%d.out", i))); err != nil {
				return ls, err
			}
			ls = append(ls, l)
			continue
		}
		stdout, err := l.cmd.StdoutPipe()
		if err != nil {
			return ls, err
		}
		if err := l.cmd.Start(); err != nil {
			return ls, err
		}
		ls = append(ls, l)
		br := bufio.NewReaderSize(stdout, 64<<10)
		if _, err := br.ReadSlice('\n'); err != nil {
			return ls, fmt.Errorf("cinit logs -f: no first line: %v: %s", err, lastLine(l.errb.String()))
		}
		go l.drain(br)
	}
	return ls, nil
}

// startFile starts the client with its output into a new file at path
// and waits until the file holds a whole line.
func (l *logClient) startFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	l.cmd.Stdout = f
	if err := l.cmd.Start(); err != nil {
		return err
	}
	l.waited = true
	go func() { l.err = l.cmd.Wait(); close(l.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile(path); bytes.IndexByte(b, '\n') >= 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cinit logs -f printed no line within 10s: %s", lastLine(l.errb.String()))
		}
		time.Sleep(time.Millisecond)
	}
}

// drain reads the client's output to its end.
func (l *logClient) drain(br *bufio.Reader) {
	defer close(l.done)
	watch := []struct {
		text string
		ch   chan struct{}
	}{{"lines dropped (reader too slow)", l.dropped}, {"| a exited", l.exited}}
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("cinit")) {
			for i, w := range watch {
				if w.ch != nil && bytes.Contains(line, []byte(w.text)) {
					close(w.ch)
					watch[i].ch = nil
				}
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err != io.EOF {
				l.errb.WriteString(err.Error())
			}
			return
		}
	}
}

// await waits for ch to be closed, within a minute.
func (l *logClient) await(ch chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-l.done:
		return fmt.Errorf("cinit logs -f ended before %s", what)
	case <-time.After(time.Minute):
		return fmt.Errorf("cinit logs -f: no %s within a minute", what)
	}
}

// wait waits for the client to end by itself, within a minute.
func (l *logClient) wait() error {
	select {
	case <-l.done:
	case <-time.After(time.Minute):
		l.cmd.Process.Kill()
		<-l.done
	}
	err := l.err
	if !l.waited {
		err = l.cmd.Wait()
	}
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(l.errb.String()))
	}
	return nil
}

// waitFile waits until path exists.
func waitFile(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", path, limit)
		}
		time.Sleep(time.Millisecond)
	}
}
