package proctest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	data := []byte("42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0\n")
	p, ok := parseStat(42, data)
	want := Proc{Pid: 42, PPid: 7, State: 'S', Comm: "a (b) c", Start: "12345"}
	if !ok || p != want {
		t.Errorf("parseStat = %+v, %v; want %+v", p, ok, want)
	}
	if _, ok := parseStat(1, []byte("1 (x S 0")); ok {
		t.Error("a truncated stat parsed")
	}
}

// TestSelfAndChild reads this process and a child it starts: its marker,
// its zombie once it exits, and gone once reaped.
func TestSelfAndChild(t *testing.T) {
	self, ok := Read(os.Getpid())
	if !ok || self.PPid != os.Getppid() || !Alive(os.Getpid()) {
		t.Fatalf("Read(self) = %+v, %v", self, ok)
	}
	if fds, ok := FDs(os.Getpid()); !ok || len(fds) < 3 {
		t.Errorf("FDs(self) = %q, %v", fds, ok)
	}
	if rss, ok := RSS(os.Getpid()); !ok || rss <= 0 {
		t.Errorf("RSS(self) = %d, %v", rss, ok)
	}

	marker := "PROCTEST_MARK=" + strings.Repeat("x", 8) + time.Now().Format("150405.000000000")
	cmd := exec.Command("sh", "-c", "read line")
	cmd.Env = append(os.Environ(), marker)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Process.Kill()
	if got := WithEnv(marker); !slices.Equal(got, []int{pid}) {
		t.Errorf("WithEnv = %v, want [%d]", got, pid)
	}
	stdin.Close() // the shell's read ends, and so does the shell
	deadline := time.Now().Add(90 * time.Second)
	for len(Zombies(os.Getpid())) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if z := Zombies(os.Getpid()); len(z) != 1 || z[0].Pid != pid || Alive(pid) {
		t.Errorf("Zombies = %+v, want the child %d", z, pid)
	}
	cmd.Wait()
	if _, ok := Read(pid); ok {
		t.Errorf("the reaped child %d still reads", pid)
	}
}
