package container

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// exportFlags are the policies of examples/export/Procfile that README
// "Outgrowing one container" exports: web starts after db is ready, and
// each type has the stop signal its program wants.
var exportFlags = []string{"--ready", "db=tcp", "--after", "web=db", "--stop-signal", "db=INT,web=INT,worker=QUIT", "-c", "worker"}

// TestComposeExportRuns exports examples/export/Procfile with cinit
// export compose, from inside an image holding it, and runs the result
// with podman-compose: each service runs its type with the right PORT,
// the healthcheck the export wrote passes in the engine, web starts after
// db, and podman-compose down stops each with the type's stop signal and
// cinit's own exit status 0.
//
// podman-compose 1.0.3 (Debian 12) reads depends_on's long form but not
// its condition: it starts the services in dependency order, one second
// apart, without waiting for health, and it maps no stop_grace_period
// (podman's default of 10 s applies, the export's grace for -t 5s). It
// also needs systemd to run healthchecks on a timer, which a CI machine
// has not; the test runs the healthcheck with podman healthcheck run.
func TestComposeExportRuns(t *testing.T) {
	needImage(t)
	if _, err := exec.LookPath("podman-compose"); err != nil {
		if os.Getenv("CINIT_REQUIRE_TOOLS") != "" {
			t.Fatal("podman-compose is not installed (.ci/podman-setup installs it)")
		}
		t.Skip("podman-compose is not installed")
	}
	tag := exportImage(t)
	project := fmt.Sprintf("cinit-export-%d", os.Getpid())
	// A base port of its own: web's port is published on the host.
	export := append([]string{"run", "--rm", "--entrypoint", "cinit", tag, "export", "compose", "-",
		"--image", tag, "-a", "demo", "-p", "15400"}, exportFlags...)
	compose := mustPodman(t, export...)
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	up := podmanCompose(t, project, file, "up", "-d")
	t.Cleanup(func() { exec.Command("podman-compose", "-p", project, "-f", file, "down").Run() })
	names := map[string]string{}
	for _, svc := range []string{"db", "web", "worker"} {
		names[svc] = project + "_" + svc + "_1"
	}
	c := func(svc string) *container { return &container{t: t, name: names[svc]} }
	c("db").waitRaw("db listening on 15400")
	c("web").waitRaw("web listening on 15500")
	c("worker").waitRaw("worker running, PORT=15600")
	if _, err := podman("healthcheck", "run", names["db"]); err != nil {
		t.Errorf("db's healthcheck failed in the engine: %v", err)
	}
	// A probe run in / (as a Kubernetes exec probe may be) finds the
	// Procfile of the cinit that is PID 1.
	if _, err := podman("exec", "-w", "/", names["db"], "cinit", "ready", "--for", "db", "tcp"); err != nil {
		t.Errorf("cinit ready --for db from /: %v", err)
	}
	if db, web := c("db").inspect("{{.State.StartedAt}}"), c("web").inspect("{{.State.StartedAt}}"); !(db < web) {
		t.Errorf("web started at %s, not after db (%s); podman-compose up:\n%s", web, db, up)
	}
	// Follow each container until it ends, then take it down.
	var wg sync.WaitGroup
	codes, logs := map[string]string{}, map[string]string{}
	var mu sync.Mutex
	for svc, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := podman("wait", name)
			mu.Lock()
			codes[svc] = strings.TrimSpace(code)
			mu.Unlock()
		}()
		follow := exec.Command("podman", "logs", "-f", name)
		var out strings.Builder
		follow.Stdout, follow.Stderr = &out, &out
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			follow.Wait()
			mu.Lock()
			logs[svc] = out.String()
			mu.Unlock()
		}()
	}
	// An exit status of 0 also says that no service needed podman's
	// SIGKILL (that would be 137).
	podmanCompose(t, project, file, "down")
	wg.Wait()
	for svc := range names {
		if codes[svc] != "0" {
			t.Errorf("%s ended with %q after podman-compose down, want cinit's 0; output:\n%s", svc, codes[svc], logs[svc])
		}
	}
	if !strings.Contains(logs["worker"], "worker stopped by SIGQUIT") {
		t.Errorf("the worker did not get its stop signal:\n%s", logs["worker"])
	}
}

// exportImage builds the example image with examples/export/Procfile in
// place of its own.
func exportImage(t *testing.T) string {
	t.Helper()
	ctx := t.TempDir()
	if err := copyFile(filepath.Join("..", "examples", "export", "Procfile"), filepath.Join(ctx, "Procfile")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte("FROM "+image+"\nCOPY Procfile /app/Procfile\n"), 0o644)
	tag := fmt.Sprintf("localhost/cinit-export-test:%d", os.Getpid())
	mustPodman(t, "build", "-q", "--format", "docker", "-t", tag, ctx)
	t.Cleanup(func() { podman("rmi", "-f", tag) })
	return tag
}

// podmanCompose runs podman-compose on file as project and returns its
// output; a failure fails the test.
func podmanCompose(t *testing.T, project, file string, args ...string) string {
	t.Helper()
	cmd := exec.Command("podman-compose", append([]string{"-p", project, "-f", file}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podman-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitRaw waits for a line of the container's own output.
func (c *container) waitRaw(text string) {
	c.t.Helper()
	c.poll(fmt.Sprintf("%q in the output of %s", text, c.name), func() bool {
		return strings.Contains(c.logs(), text+"\n")
	})
}
