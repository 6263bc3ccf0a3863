package container

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// hangLimit bounds every wait for an event, only so that a broken
	// build fails instead of hanging; events normally come in a second.
	hangLimit = 2 * time.Minute
	// stopTimeout is podman's own grace before it SIGKILLs PID 1 (podman
	// stop -t, 10 s by default, as docker's): cinit must be done first.
	stopTimeout = 10 * time.Second
)

// image is the tag of the example image built by TestMain; empty when the
// container tests do not run, and then skipReason says why.
var (
	image      string
	skipReason = "container tests need root and podman: run them with `make container-test` (sets CINIT_CONTAINER_TESTS=1)"
)

func TestMain(m *testing.M) {
	os.Exit(setUpAndRun(m))
}

// setUpAndRun builds the example image once when the switch is on, runs
// the tests, and removes the image.
func setUpAndRun(m *testing.M) int {
	if os.Getenv("CINIT_CONTAINER_TESTS") != "1" {
		return m.Run()
	}
	if err := checkTools(); err != nil {
		if os.Getenv("CINIT_REQUIRE_TOOLS") != "" {
			fmt.Fprintln(os.Stderr, "container tests:", err, "(.ci/podman-setup installs it)")
			return 1
		}
		skipReason = err.Error()
		return m.Run()
	}
	tag, err := buildImage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "container tests: building the image:", err)
		return 1
	}
	image = tag
	defer exec.Command("podman", "rmi", "-f", tag).Run()
	return m.Run()
}

// checkTools reports the first missing piece the tests need.
func checkTools() error {
	if os.Geteuid() != 0 {
		return errors.New("container tests need root (rootful podman)")
	}
	for _, tool := range []string{"podman", "runc", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed", tool)
		}
	}
	return nil
}

// needImage skips the test unless TestMain built the image.
func needImage(t *testing.T) {
	t.Helper()
	if image == "" {
		t.Skip(skipReason)
	}
}

// buildImage builds examples/docker/scratch, as its Dockerfile says: the
// context is that directory plus a static cinit and a static busybox.
func buildImage() (string, error) {
	ctx, err := os.MkdirTemp("", "cinit-image")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(ctx)
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(ctx, "cinit"), "github.com/cinit/cinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	busybox, err := staticBusybox()
	if err != nil {
		return "", err
	}
	if err := copyFile(busybox, filepath.Join(ctx, "busybox")); err != nil {
		return "", err
	}
	for _, name := range []string{"Dockerfile", "Procfile"} {
		if err := copyFile(filepath.Join("..", "examples", "docker", "scratch", name), filepath.Join(ctx, name)); err != nil {
			return "", err
		}
	}
	tag := fmt.Sprintf("localhost/cinit-scratch-test:%d", os.Getpid())
	out, err := exec.Command("podman", "build", "-q", "--format", "docker", "-t", tag, ctx).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("podman build: %v\n%s", err, out)
	}
	return tag, nil
}

// staticBusybox finds busybox and checks that it needs no dynamic loader:
// a FROM scratch image has none.
func staticBusybox() (string, error) {
	path, err := exec.LookPath("busybox")
	if err != nil {
		return "", err
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked: apt-get install busybox-static", path)
		}
	}
	return path, nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

// podman runs podman and returns its stdout; the error carries stderr.
func podman(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// mustPodman is podman that fails the test on an error.
func mustPodman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podman(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// container is one detached container of the example image.
type container struct {
	t    *testing.T
	name string
}

// containerName makes a name that no other test or concurrent run uses.
func containerName(t *testing.T) string {
	base := regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-")
	return fmt.Sprintf("cinit-%d-%s", os.Getpid(), base)
}

// start runs the image detached: opts go to podman run, args to cinit (the
// image's CMD when there are none). The container is removed at the end
// of the test, and its output logged if the test failed.
func start(t *testing.T, opts []string, args ...string) *container {
	t.Helper()
	needImage(t)
	c := &container{t: t, name: containerName(t)}
	run := append([]string{"run", "-d", "--name", c.name}, opts...)
	run = append(run, image)
	mustPodman(t, append(run, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of %s:\n%s", c.name, c.logs())
		}
		podman("rm", "-f", "-t", "0", c.name)
	})
	return c
}

// procfile writes a Procfile for one test and returns the podman options
// that mount it at /test and the cinit flag that reads it.
func procfile(t *testing.T, text string) (opts, args []string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-v", dir + ":/test:ro"}, []string{"-f", "/test/Procfile"}
}

// logs returns everything the container printed so far.
func (c *container) logs() string {
	out, err := exec.Command("podman", "logs", c.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("podman logs: %v: %s", err, out)
	}
	return string(out)
}

// waitLine polls the container's output until process name has printed a
// line containing text.
func (c *container) waitLine(name, text string) {
	c.t.Helper()
	c.poll(fmt.Sprintf("a line %q from %s", text, name), func() bool {
		return hasLine(c.logs(), name, text)
	})
}

// poll calls done with growing pauses until it is true, failing the test
// after hangLimit.
func (c *container) poll(what string, done func() bool) {
	c.t.Helper()
	pause := 20 * time.Millisecond
	for deadline := time.Now().Add(hangLimit); !done(); {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %s within %v", c.name, what, hangLimit)
		}
		time.Sleep(pause)
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// hasLine tells whether the output holds a line of process name (the
// prefix is padded to the longest name) containing text.
func hasLine(out, name, text string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		prefix, rest, ok := strings.Cut(line, " | ")
		if ok && strings.TrimSpace(prefix) == name && strings.Contains(rest, text) {
			return true
		}
	}
	return false
}

// wait returns the exit status that podman wait reports.
func (c *container) wait() int {
	c.t.Helper()
	out := mustPodman(c.t, "wait", c.name)
	code, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		c.t.Fatalf("podman wait printed %q", out)
	}
	return code
}

// stop runs podman stop with the runtime's usual timeout and returns how
// long it took and the container's exit status.
func (c *container) stop() (time.Duration, int) {
	c.t.Helper()
	begin := time.Now()
	mustPodman(c.t, "stop", "-t", strconv.Itoa(int(stopTimeout/time.Second)), c.name)
	took := time.Since(begin)
	return took, c.wait()
}

// inspect returns one field of podman inspect, as a Go template.
func (c *container) inspect(format string) string {
	c.t.Helper()
	return strings.TrimSpace(mustPodman(c.t, "inspect", "--format", format, c.name))
}

// exec runs a command in the container and returns its output.
func (c *container) exec(args ...string) string {
	c.t.Helper()
	return mustPodman(c.t, append([]string{"exec", c.name}, args...)...)
}
