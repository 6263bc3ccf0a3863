package reaper

import (
	"bufio"
	"os/exec"
	"slices"
	"syscall"
	"testing"
)

// TestWalkChildrenAgreesWithScan checks the fast path of Descendants (the
// kernel's children lists) against the full /proc scan on a real tree: a
// shell with two background children, one of which has a child of its own.
func TestWalkChildrenAgreesWithScan(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", `sleep 100 & (sleep 100 & echo started; wait) & wait`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that the whole tree can be killed
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	root := cmd.Process.Pid
	// "started" comes after every fork of the tree.
	walkedProcs, ok := walkChildren(root)
	walked := pidsOf(walkedProcs)
	if !ok {
		t.Skip("this kernel has no /proc/PID/task/TID/children; the scan serves alone")
	}
	procs, err := scan()
	if err != nil {
		t.Fatal(err)
	}
	if scanned := descendantsOf(root, procs); !slices.Equal(walked, scanned) {
		t.Fatalf("walk found %v, scan found %v", walked, scanned)
	}
	if len(walked) != 3 {
		t.Fatalf("found %v, want the two sleeps and the subshell", walked)
	}
}
