package container

import (
	"strings"
	"testing"
)

// TestHealthcheckProbe: the image's HEALTHCHECK CMD ["cinit", "probe"].
// While a process's readiness check is pending, podman healthcheck run
// reports unhealthy; once it passes, healthy, and podman inspect shows it.
func TestHealthcheckProbe(t *testing.T) {
	opts, args := procfile(t, "web: echo started; exec sleep 1000\nworker: exec sleep 1000\n")
	c := start(t, opts, append(args, "--ready", "web=file:/tmp/ready")...)
	c.waitLine("web", "started")
	out, err := podman("healthcheck", "run", c.name)
	if err == nil || !strings.Contains(out, "unhealthy") {
		t.Fatalf("healthcheck before web is ready: %q, %v; want unhealthy", out, err)
	}
	probe := c.inspect("{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}")
	t.Logf("podman inspect, health log while web is not ready: %s", probe)
	if !strings.HasPrefix(probe, "1 ") || !strings.Contains(probe, "web") {
		t.Fatalf("health log %q: want exit 1 naming web", probe)
	}
	c.exec("touch", "/tmp/ready")
	c.waitLine("cinit", "web is ready")
	if out, err := podman("healthcheck", "run", c.name); err != nil {
		t.Fatalf("healthcheck once web is ready: %q, %v; want healthy", out, err)
	}
	if status := c.inspect("{{.State.Health.Status}}"); status != "healthy" {
		t.Fatalf("podman inspect shows %s, want healthy", status)
	}
}
