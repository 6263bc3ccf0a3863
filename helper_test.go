package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The test binary plays every child: a Procfile line such as
// `web: "$CINIT_TEST_EXE" lines 3` runs it through the real /bin/sh -c path
// with CINIT_TEST_HELPER set, and TestMain dispatches to one of these.
var helpers = map[string]func(args []string) int{
	"lines":      helperLines,
	"exit":       helperExit,
	"killself":   helperKillSelf,
	"trapterm":   helperTrapTerm,
	"ignoreterm": helperIgnoreTerm,
	"block":      helperBlock,
	"partial":    helperPartial,
	"printenv":   helperPrintenv,
	"daemon":     helperDaemon,
	"bigline":    helperBigLine,
}

// cinitBin is the binary under test, built once by TestMain with -race.
var cinitBin string

func TestMain(m *testing.M) {
	if name := os.Getenv("CINIT_TEST_HELPER"); name != "" && len(os.Args) > 1 {
		h, ok := helpers[os.Args[1]]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", os.Args[1])
			os.Exit(99)
		}
		os.Exit(h(os.Args[2:]))
	}
	os.Exit(buildAndRun(m))
}

// buildAndRun builds cinit into a temporary directory and runs the tests.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cinit-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cinitBin = filepath.Join(dir, "cinit")
	build := exec.Command("go", "build", "-race", "-o", cinitBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cinit:", err)
		return 1
	}
	return m.Run()
}

// helperLines prints N numbered lines: "NAME line I".
func helperLines(args []string) int {
	n, _ := strconv.Atoi(args[0])
	tag := os.Getenv("PS")
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "%s line %d\n", tag, i)
	}
	w.Flush()
	return 0
}

// helperExit prints "bye" and exits with the given code.
func helperExit(args []string) int {
	n, _ := strconv.Atoi(args[0])
	fmt.Println("bye")
	return n
}

// helperKillSelf kills itself with the named signal.
func helperKillSelf(args []string) int {
	n, _ := strconv.Atoi(args[0])
	signal.Reset()
	syscall.Kill(os.Getpid(), syscall.Signal(n))
	select {}
}

// helperTrapTerm prints "ready", and on SIGTERM (or INT, QUIT) prints
// "got SIGNAL" and exits 0.
func helperTrapTerm(args []string) int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	fmt.Println("ready")
	for s := range c {
		fmt.Printf("got %v\n", s)
		if s != syscall.SIGHUP {
			return 0
		}
	}
	return 0
}

// helperIgnoreTerm ignores every stop signal and blocks.
func helperIgnoreTerm(args []string) int {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	fmt.Println("ready")
	select {}
}

// helperBlock prints "ready" and blocks with default signal dispositions.
func helperBlock(args []string) int {
	fmt.Println("ready")
	select {}
}

// helperPartial writes its argument without a newline, in two pieces.
func helperPartial(args []string) int {
	s := args[0]
	os.Stdout.WriteString(s[:len(s)/2])
	os.Stdout.WriteString(s[len(s)/2:])
	return 0
}

// helperPrintenv prints KEY=value for each named variable.
func helperPrintenv(args []string) int {
	for _, k := range args {
		v, ok := os.LookupEnv(k)
		if !ok {
			v = "<unset>"
		}
		fmt.Printf("%s=%s\n", k, v)
	}
	return 0
}

// helperDaemon starts a copy of itself in a new session that traps TERM
// and writes the file named by args[0] when it gets it, prints that copy's
// pid once its trap is set, and exits: the copy is an orphan that left the
// instance's process group.
func helperDaemon(args []string) int {
	if len(args) > 1 && args[1] == "child" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		ready := os.NewFile(3, "ready")
		ready.Write([]byte{1})
		ready.Close()
		<-c
		os.WriteFile(args[0], []byte("stopped\n"), 0o644)
		return 0
	}
	if err := startDaemon(args[0]); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// startDaemon starts the copy of helperDaemon that writes mark, and prints
// its pid once its trap is set.
func startDaemon(mark string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "daemon", mark, "child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return err
	}
	r.Read(make([]byte, 1)) // the child's trap is in place
	fmt.Printf("daemon pid %d\n", cmd.Process.Pid)
	return nil
}

// helperBigLine writes N MiB of 'x' with no newline, in odd-sized pieces.
func helperBigLine(args []string) int {
	n, _ := strconv.Atoi(args[0])
	chunk := []byte(strings.Repeat("x", 7777))
	left := n << 20
	for left > 0 {
		k := min(left, len(chunk))
		os.Stdout.Write(chunk[:k])
		left -= k
	}
	return 0
}
