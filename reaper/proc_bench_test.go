package reaper

import (
	"os"
	"os/exec"
	"testing"
)

// BenchmarkDescendants walks a tree of 100 sleeping children, the walk a
// teardown makes to find orphans among 100 instances.
func BenchmarkDescendants(b *testing.B) {
	var cmds []*exec.Cmd
	for range 100 {
		c := exec.Command("sleep", "1000")
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}()
	for b.Loop() {
		pids, err := Descendants(os.Getpid())
		if err != nil || len(pids) < 100 {
			b.Fatalf("%d descendants, %v", len(pids), err)
		}
	}
}
