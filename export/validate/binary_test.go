package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryHasNoValidationModules builds cinit as make all does and
// checks that none of this module's libraries reached it, and that it is
// static and under 4 MiB.
func TestBinaryHasNoValidationModules(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cinit")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != "dep" && f[0] != "=>") {
			continue
		}
		for _, bad := range []string{"k8s.io/", "sigs.k8s.io/", "compose-spec/", "yaml"} {
			if strings.Contains(f[1], bad) {
				t.Errorf("cinit's binary holds %s", f[1])
			}
		}
	}
	if !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Errorf("not a static build:\n%s", out)
	}
	st, err := os.Stat(bin)
	if err != nil || st.Size() >= 4<<20 {
		t.Errorf("cinit is %d bytes, the limit is 4 MiB", st.Size())
	}
}
