package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cinit/cinit/terminal"
)

// echoKeys is how many keystrokes the echo is timed over.
const echoKeys = 300

// attachEcho times a keystroke through cinit attach: a byte written to
// the client's terminal until its echo (made by the --tty process's
// terminal, passed back through cinit and the client) is read there. The
// baseline is the same echo from a program on a terminal of its own,
// measured in the same run.
func (c *config) attachEcho() []row {
	figure, target := "keystroke echo through cinit attach (median)", "≤ 2 ms"
	base, err := directEcho()
	if err != nil {
		return []row{errorRow(figure, target, err)}
	}
	d, err := c.attachedEcho()
	if err != nil {
		return []row{errorRow(figure, target, err)}
	}
	return []row{{figure: figure, cinit: ms(d), base: ms(base), value: ms(d), target: target,
		pass: d <= 2*time.Millisecond, note: fmt.Sprintf("%d keystrokes; base: cat on a terminal of its own", echoKeys)}}
}

// attachedEcho runs cinit with cat on a terminal and times keystrokes
// through cinit attach.
func (c *config) attachedEcho() (time.Duration, error) {
	pf := c.procfile("attach", "a: cat")
	sock := filepath.Join(filepath.Dir(pf), "cinit.sock")
	srv := exec.Command(c.cinit, "-f", pf, "--tty", "a", "--socket", sock)
	srv.Env = childEnv()
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	if err := waitStatus(c.cinit, sock); err != nil {
		return 0, err
	}
	return echoOnTerminal(func(slave *os.File) *exec.Cmd {
		cmd := exec.Command(c.cinit, "attach", "--socket", sock, "a")
		cmd.Env = childEnv()
		return cmd
	})
}

// directEcho times keystrokes echoed by a terminal whose program is cat.
func directEcho() (time.Duration, error) {
	return echoOnTerminal(func(*os.File) *exec.Cmd { return exec.Command("cat") })
}

// waitStatus waits until cinit answers on sock.
func waitStatus(cinit, sock string) error {
	deadline := time.Now().Add(30 * time.Second)
	for exec.Command(cinit, "status", "--socket", sock).Run() != nil {
		if time.Now().After(deadline) {
			return errors.New("cinit did not answer on its socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// echoOnTerminal runs the command made by mk on a new terminal, types one
// key until the first echo comes back (the command is ready), then times
// echoKeys keystrokes and returns the median.
func echoOnTerminal(mk func(*os.File) *exec.Cmd) (time.Duration, error) {
	pty, err := terminal.Open(terminal.DefaultSize)
	if err != nil {
		return 0, err
	}
	defer pty.Close()
	slave, err := slaveFile(pty)
	if err != nil {
		return 0, err
	}
	cmd := mk(slave)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	m := pty.Master
	if err := firstEcho(m); err != nil {
		return 0, err
	}
	var times []time.Duration
	buf := make([]byte, 256)
	for i := range echoKeys {
		if i%64 == 63 {
			m.Write([]byte{0x15}) // ^U: keep the line short
			drain(m, buf)
		}
		t0 := time.Now()
		m.Write([]byte{'x'})
		m.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := m.Read(buf)
		if err != nil || !bytes.Contains(buf[:n], []byte{'x'}) {
			return 0, fmt.Errorf("no echo: %q, %v", buf[:n], err)
		}
		times = append(times, time.Since(t0))
	}
	return medianD(times), nil
}

// firstEcho types x until it comes back, then erases it.
func firstEcho(m *os.File) error {
	buf := make([]byte, 256)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m.Write([]byte{'x'})
		m.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _ := m.Read(buf); bytes.Contains(buf[:n], []byte{'x'}) {
			m.Write([]byte{0x15})
			drain(m, buf)
			return nil
		}
	}
	return errors.New("no echo from the terminal")
}

// drain reads what the terminal has to say within 50 ms.
func drain(m *os.File, buf []byte) {
	for {
		m.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := m.Read(buf); err != nil {
			return
		}
	}
}
