package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cinit/cinit/internal/proctest"
)

func TestFaultStalledReaderBoundsMemory(t *testing.T) {
	t.Parallel()
	// The race detector's shadow memory would be most of a race build's
	// RSS and grows with every byte it has seen touched, so the bound is
	// measured on a plain build; the race build runs the same paths in
	// the other tests.
	bin, err := plainCinit()
	if err != nil {
		t.Fatal(err)
	}
	const n, limit = 400000, 64 << 20 // 3 × 25 MB written, 64 MiB allowed
	names := []string{"a", "b", "c"}
	procfile := ""
	for _, name := range names {
		procfile += name + ": " + helperLine(fmt.Sprintf("fault-flood %d", n)) + "\n"
	}
	dir, tag := newFaultDir(t, procfile)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r := rawCinit(t, bin, dir, tag, pw)
	pw.Close()
	maxRSS := watchRSS(r.cmd.Process.Pid)

	waitUntil(t, "the writers to start", func() bool { return len(recordedPids(dir)) == len(names) })
	time.Sleep(5 * time.Second) // nobody reads: that is the fault
	for _, name := range names {
		if exists(filepath.Join(dir, "done."+name+".1")) {
			t.Errorf("%s wrote all its %d lines while nobody read cinit's stdout", name, n)
		}
	}
	stalled := maxRSS.Load()

	readFlood(t, pr, names, n, func() { r.cmd.Process.Signal(syscall.SIGTERM) })
	if code := r.wait(t); code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, r.stderr.String())
	}
	t.Logf("cinit's peak RSS: %d KiB while stalled, %d KiB overall", stalled>>10, maxRSS.Load()>>10)
	if peak := maxRSS.Load(); peak > limit {
		t.Errorf("cinit's RSS reached %d KiB, over %d KiB", peak>>10, limit>>10)
	}
	checkStderr(t, r.stderr.String())
	checkLeftovers(t, dir, tag)
}

// watchRSS samples the VmRSS of pid every 10 ms until it is gone, and
// keeps the largest value, in bytes.
func watchRSS(pid int) *atomic.Int64 {
	var peak atomic.Int64
	go func() {
		for {
			rss, ok := proctest.RSS(pid)
			if !ok || proctest.State(pid) == 'Z' {
				return
			}
			if rss > peak.Load() {
				peak.Store(rss)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return &peak
}

// readFlood reads cinit's output until EOF and checks that each flood
// writer's n lines arrive whole, in order, exactly once. allIn is called
// once every line has arrived.
func readFlood(t *testing.T, r io.Reader, names []string, n int, allIn func()) {
	t.Helper()
	next := map[string]int{}
	for _, name := range names {
		next[name] = 1
	}
	complete := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var want []byte
	for sc.Scan() {
		name, text, ok := bytes.Cut(sc.Bytes(), []byte(" | "))
		i, isFlood := next[string(bytes.TrimSpace(name))]
		if !ok || !isFlood {
			continue
		}
		if i > n {
			t.Fatalf("%s: line after the last: %q", name, text)
		}
		if want = floodLine(want[:0], string(bytes.TrimSpace(name))+".1", i); !bytes.Equal(text, want) {
			t.Fatalf("%s: line %d is %q, want %q", name, i, text, want)
		}
		if next[string(bytes.TrimSpace(name))] = i + 1; i == n {
			if complete++; complete == len(names) {
				allIn()
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if next[name] != n+1 {
			t.Errorf("%s: %d lines arrived, want %d", name, next[name]-1, n)
		}
	}
}

func TestFaultStdoutClosedEarly(t *testing.T) {
	t.Parallel()
	procfile := "a: " + helperLine("fault-flood 100000000") + "\n" +
		"b: " + helperLine("fault-late 1000") + "\n" +
		"c: " + shellRecord + "echo ready; exec sleep 1000\n" +
		"d: " + shellRecord + "trap 'exit 1' TERM; while :; do sleep 0.05; done\n" // 141 all the same
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			// cinit | head -1
			dir, tag := newFaultDir(t, procfile)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r := rawCinit(t, cinitBin, dir, tag, pw, "--log-format="+format)
			pw.Close()
			if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			if code := r.wait(t); code != 141 {
				t.Errorf("exit %d, want 141; stderr:\n%s", code, r.stderr.String())
			}
			checkStderr(t, r.stderr.String())
			checkLeftovers(t, dir, tag)
		})
	}
	t.Run("dev-full", func(t *testing.T) {
		t.Parallel()
		// Every write fails with ENOSPC: the same as a closed stdout.
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer full.Close()
		dir, tag := newFaultDir(t, procfile)
		r := rawCinit(t, cinitBin, dir, tag, full)
		if code := r.wait(t); code != 141 {
			t.Errorf("exit %d, want 141; stderr:\n%s", code, r.stderr.String())
		}
		checkStderr(t, r.stderr.String())
		checkLeftovers(t, dir, tag)
	})
}

func TestFaultChildClosesStdout(t *testing.T) {
	t.Parallel()
	f := startFault(t, "a: "+helperLine("fault-closeout")+"\nb: "+helperLine("fault-sigs")+"\n", nil)
	f.waitLine("a", "before close")
	f.waitLine("b", "ready")
	waitUntil(t, "a to close its stdout", func() bool { return exists(filepath.Join(f.dir, "closed")) })
	// cinit has seen the end of a's pipe while a runs on; it still
	// forwards, prints and stops everything.
	f.signal(syscall.SIGHUP)
	f.waitLine("b", "got SIGHUP")
	f.signal(syscall.SIGTERM)
	code, lines := f.end()
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, tail(lines))
	}
	if indexOf(lines, "cinit", "a exited with code 0") < 0 {
		t.Errorf("a's end not reported:\n%s", tail(lines))
	}
}

func TestFaultGrandchildKeepsPipe(t *testing.T) {
	t.Parallel()
	t.Run("stops on TERM", func(t *testing.T) {
		t.Parallel()
		// The grace period is beyond hangLimit: the end of the orphan, not
		// the timeout, must end cinit.
		f := startFault(t, "a: "+helperLine("fault-gc trap")+"\n", nil, "-t", "1h")
		code, lines := f.end()
		i, j := indexOf(lines, "cinit", "a exited with code 0"), indexOf(lines, "a", "gc got TERM")
		if code != 0 || i < 0 || j < i {
			t.Fatalf("exit %d, exit report at %d, orphan's last line at %d:\n%s", code, i, j, tail(lines))
		}
	})
	t.Run("ignores TERM", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine("fault-gc deaf")+"\n", nil, "-t", "1s")
		code, lines := f.end()
		if code != 0 || indexOf(lines, "cinit", "sending SIGKILL to 1 process") < 0 {
			t.Fatalf("exit %d, want 0 after a SIGKILL for the orphan:\n%s", code, tail(lines))
		}
	})
}

func TestFaultWritesAfterTeardownStarted(t *testing.T) {
	t.Parallel()
	const n = 5000
	check := func(t *testing.T, lines []string) {
		t.Helper()
		got := linesOf(lines, "a")
		i := indexOf(lines, "a", "late 1")
		if i < 0 {
			t.Fatalf("no late line:\n%s", tail(lines))
		}
		got = got[len(got)-(n+5):]
		for k := 1; k <= n; k++ {
			if got[k] != fmt.Sprintf("late %d", k) {
				t.Fatalf("line %d after ready is %q", k, got[k])
			}
		}
		for k := n + 1; k <= n+3; k++ {
			if got[k] != strings.Repeat("y", 1<<20) {
				t.Fatalf("piece %d of the 3 MiB line: %d bytes", k-n, len(got[k]))
			}
		}
		last, exit := indexOf(lines, "a", "last"), indexOf(lines, "cinit", "a exited with code 0")
		if got[n+4] != "last" || exit < last {
			t.Errorf("last line %q at %d, exit reported at %d", got[n+4], last, exit)
		}
	}
	t.Run("stop signal", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine(fmt.Sprintf("fault-late %d", n))+"\n", nil)
		f.waitLine("a", "ready")
		f.signal(syscall.SIGTERM)
		code, lines := f.end()
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, tail(lines))
		}
		check(t, lines)
	})
	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine(fmt.Sprintf("fault-late %d", n))+"\nb: "+helperLine("fault-waitfile ready.a.1 3")+"\n", nil)
		code, lines := f.end()
		if code != 3 {
			t.Fatalf("exit %d, want 3:\n%s", code, tail(lines))
		}
		check(t, lines)
	})
}

func TestFaultGarbageOutput(t *testing.T) {
	t.Parallel()
	const seed = 7
	stdout, stderr := garbageData(seed, true), garbageData(seed+1, false)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			dir, tag := newFaultDir(t, "a: "+helperLine(fmt.Sprintf("fault-garbage %d", seed))+"\n")
			out, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			r := rawCinit(t, cinitBin, dir, tag, out, "--log-format="+format)
			out.Close()
			if code := r.wait(t); code != 0 {
				t.Errorf("exit %d; stderr:\n%s", code, r.stderr.String())
			}
			checkStderr(t, r.stderr.String())
			checkLeftovers(t, dir, tag)
			data, err := os.ReadFile(out.Name())
			if err != nil {
				t.Fatal(err)
			}
			if format == "text" {
				// One pipe for both streams: stderr's bytes follow stdout's.
				checkTextGarbage(t, data, garbageLines(append(append([]byte{}, stdout...), stderr...)))
			} else {
				checkJSONGarbage(t, data, map[string][][]byte{"stdout": garbageLines(stdout), "stderr": garbageLines(stderr)})
			}
		})
	}
}

// checkTextGarbage compares a's lines in data with want, byte for byte.
func checkTextGarbage(t *testing.T, data []byte, want [][]byte) {
	t.Helper()
	var got [][]byte
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		if l[len(l)-1] != '\n' {
			t.Fatalf("output does not end in a newline: %q", l[max(0, len(l)-80):])
		}
		name, text, ok := bytes.Cut(l[:len(l)-1], []byte(" | "))
		if !ok {
			t.Fatalf("line without prefix: %q", l[:min(len(l), 80)])
		}
		if string(bytes.TrimSpace(name)) == "a" {
			got = append(got, text)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines of a, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("line %d: %q, want %q", i, got[i][:min(len(got[i]), 200)], want[i][:min(len(want[i]), 200)])
		}
	}
}

// checkJSONGarbage checks that every line of data is a JSON object, and
// that a's lines on each stream are want's, with U+FFFD for each byte
// that is not part of valid UTF-8 (README, "Output").
func checkJSONGarbage(t *testing.T, data []byte, want map[string][][]byte) {
	t.Helper()
	got := map[string][]string{}
	for i, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var rec struct{ Name, Stream, Line string }
		if err := json.Unmarshal(l, &rec); err != nil { // Unmarshal checks validity first
			t.Fatalf("line %d is not valid JSON: %v: %q", i, err, l[:min(len(l), 200)])
		}
		if rec.Name == "a" {
			got[rec.Stream] = append(got[rec.Stream], rec.Line)
		}
	}
	for stream, lines := range want {
		if len(got[stream]) != len(lines) {
			t.Fatalf("%s: %d lines, want %d", stream, len(got[stream]), len(lines))
		}
		for i, l := range lines {
			if ref := replaceInvalid(l); got[stream][i] != ref {
				t.Fatalf("%s line %d: %q, want %q", stream, i, got[stream][i], ref)
			}
		}
	}
}

// replaceInvalid replaces each byte of b that is not part of a valid UTF-8
// character with U+FFFD.
func replaceInvalid(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			s.WriteRune(utf8.RuneError)
		} else {
			s.Write(b[:size])
		}
		b = b[size:]
	}
	return s.String()
}
