package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cinit export from the command line: exit statuses, what is written and
// what is refused. The manifests themselves are validated by the test
// module in export/validate.

// exportRun runs cinit export in dir and returns its status, stdout and
// stderr.
func exportRun(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	r := startCinit(t, dir, env, append([]string{"export"}, args...)...)
	code, lines := r.wait()
	out := strings.Join(lines, "\n")
	if len(lines) > 0 {
		out += "\n"
	}
	return code, out, r.err.String()
}

// listDir returns the names in dir, "" when it does not exist.
func listDir(t *testing.T, dir string) string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

func TestExportErrorsWriteNothing(t *testing.T) {
	dir := writeProcfile(t, "web: a\nweb_1: b\nweb-1: c\n")
	os.WriteFile(filepath.Join(dir, "ok"), []byte("web: a\nworker: b\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kubernetes", "out", "-f", "ok"}, "--image is required"},
		{[]string{"nomad", "out", "-f", "ok"}, "kubernetes, compose or systemd"},
		{[]string{"kubernetes", "out", "-f", "ok", "--image", "r/a:1", "--app", "My_App"}, `flag --app: "My_App"`},
		{[]string{"kubernetes", "out", "--image", "r/a:1", "-a", "shop"}, `Procfile:3: process "web-1" and "web_1" (line 2) both become "web-1"`},
		{[]string{"systemd", "out", "-f", "ok", "--cinit", "bin/cinit"}, "--cinit"},
		{[]string{"systemd", "out", "-f", "ok", "--cinit", "/opt/100%/cinit"}, "--cinit"},
		{[]string{"compose", "out", "-f", "ok", "--image", "r/a:1", "-a", "shop", "-e", "a/.env", "-e", "b/.env"}, "a/.env"},
		{[]string{"compose", "out", "-f", "ok", "--image", "r/a:1", "--after", "web=db"}, `unknown process "db"`},
		{[]string{"compose", "out", "-f", "ok", "--image", "r/a:1", "extra"}, `unexpected argument "extra"`},
		{[]string{"systemd", "out", "-f", "ok", "--env-from", "image"}, "flag --env-from: only for kubernetes and compose"},
		{[]string{"compose", "out", "-f", "ok", "--image", "r/a:1", "-e", "port.env"}, "PORT at port.env:2 sets the ports of the manifests"},
		{[]string{"compose", "out", "-f", "ok", "--image", "r/a:1", "--env-from", "image", "-e", "a/.env", "--workdir", "/app,x"}, `flag --workdir: "/app,x" holds a comma`},
	} {
		os.MkdirAll(filepath.Join(dir, "a"), 0o755)
		os.MkdirAll(filepath.Join(dir, "b"), 0o755)
		os.WriteFile(filepath.Join(dir, "a/.env"), []byte("A=1\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "b/.env"), []byte("B=1\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "port.env"), []byte("B=1\nPORT=6000\n"), 0o644)
		code, out, stderr := exportRun(t, dir, nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || out != "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Fatalf("%q: out was created", tc.args)
		}
	}
	if code, _, stderr := runCinit(t, dir, nil, "-f", "ok", "check", "--image", "r/a:1"); code != 2 || !strings.Contains(stderr, "belong to cinit export") {
		t.Errorf("--image with check: exit %d, %q", code, stderr)
	}
}

// --tty and --interactive are for a terminal at hand: each is left out of
// an export with a warning (they vanished silently from a split layout,
// and made a single one fail to read its policies back).
func TestExportLeavesTerminalsOut(t *testing.T) {
	dir := writeProcfile(t, "web: a\nworker: b\n")
	for _, args := range [][]string{
		{"kubernetes", "-", "-a", "shop", "--image", "r/a:1", "--tty", "web", "-c", "all"},
		{"kubernetes", "-", "-a", "shop", "--image", "r/a:1", "--layout", "single", "--tty", "web"},
		{"compose", "-", "-a", "shop", "--image", "r/a:1", "--layout", "single", "--interactive", "worker"},
		{"systemd", "-", "-a", "shop", "--user", "app", "--interactive", "worker", "-c", "all"},
	} {
		code, out, stderr := exportRun(t, dir, nil, args...)
		if code != 0 || !strings.Contains(stderr, "not exported") || !strings.Contains(out, "# warning: flag --") || strings.Contains(out, "CINIT_TTY") || strings.Contains(out, "CINIT_INTERACTIVE") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// A write that fails half-way (here the file size limit, as a full disk
// would) leaves nothing: the first files used to stay, the target naming
// a unit that was never written.
func TestExportFailedWriteLeavesNothing(t *testing.T) {
	dir := writeProcfile(t, "web: a\nworker: b\n")
	long := "web=exec:" + strings.Repeat("x", 3000) // its unit is over the limit, the target is not
	for _, exists := range []bool{false, true} {
		if exists {
			os.Mkdir(filepath.Join(dir, "out"), 0o755)
		}
		cmd := exec.Command("sh", "-c", `ulimit -f 1 && exec "$0" "$@"`, cinitBin, "export", "systemd", "out", "-a", "shop", "--user", "app", "--ready", long)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "file too large") {
			t.Fatalf("out existing %v: %v: %s", exists, err, out)
		}
		if got := listDir(t, filepath.Join(dir, "out")); got != "" {
			t.Errorf("out existing %v: it holds %q", exists, got)
		}
	}
}

func TestExportStrict(t *testing.T) {
	dir := writeProcfile(t, "web: a\nworker: b\n")
	code, _, stderr := exportRun(t, dir, nil, "compose", "out", "--image", "r/a:1", "-a", "shop", "--strict")
	if code != 1 || !strings.Contains(stderr, "warning: web exiting no longer stops the other types") || listDir(t, filepath.Join(dir, "out")) != "" {
		t.Errorf("exit %d, stderr %q, out %q", code, stderr, listDir(t, filepath.Join(dir, "out")))
	}
	// Without warnings --strict writes.
	code, _, stderr = exportRun(t, dir, nil, "compose", "out", "--image", "r/a:1", "-a", "shop", "--strict", "-c", "all")
	if code != 0 || listDir(t, filepath.Join(dir, "out")) != "compose.yaml" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestExportFiles(t *testing.T) {
	dir := writeProcfile(t, "web: a\nworker: b\nclock: c\n")
	out := filepath.Join(dir, "out")
	args := []string{"kubernetes", out, "--image", "r/a:1", "-a", "shop", "-m", "worker=2", "-c", "all"}
	code, _, stderr := exportRun(t, dir, nil, args...)
	if code != 0 || listDir(t, out) != "shop-clock.yaml shop-web.yaml shop-worker.yaml" || strings.Count(stderr, "wrote ") != 3 {
		t.Fatalf("exit %d, files %q, stderr %q", code, listDir(t, out), stderr)
	}
	before := readTree(t, out)
	// Twice: byte-identical, nothing rewritten.
	code, _, stderr = exportRun(t, dir, nil, args...)
	if code != 0 || strings.Contains(stderr, "wrote") || readTree(t, out) != before {
		t.Errorf("second export: exit %d, stderr %q", code, stderr)
	}
	// The same through CINIT_* and in another order.
	code, _, _ = exportRun(t, dir, []string{"CINIT_FORMATION=worker=2", "CINIT_CAN_DIE=all"}, "-a", "shop", "--image=r/a:1", "kubernetes", out)
	if code != 0 || readTree(t, out) != before {
		t.Errorf("flags as CINIT_* changed the output")
	}
	// A hand-written file in the way: refused, untouched.
	os.WriteFile(filepath.Join(out, "shop-web.yaml"), []byte("mine\n"), 0o644)
	code, _, stderr = exportRun(t, dir, nil, args...)
	if got, _ := os.ReadFile(filepath.Join(out, "shop-web.yaml")); code != 2 || string(got) != "mine\n" || !strings.Contains(stderr, "shop-web.yaml was not written by cinit export") {
		t.Errorf("unmarked file: exit %d, %q, stderr %q", code, got, stderr)
	}
	code, _, _ = exportRun(t, dir, nil, append(args, "--force")...)
	if code != 0 || readTree(t, out) != before {
		t.Errorf("--force: exit %d", code)
	}
	// A type removed from the Procfile: its file is removed and reported.
	os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: a\nworker: b\n"), 0o644)
	code, _, stderr = exportRun(t, dir, nil, args...)
	if code != 0 || listDir(t, out) != "shop-web.yaml shop-worker.yaml" || !strings.Contains(stderr, "removed stale "+filepath.Join(out, "shop-clock.yaml")) {
		t.Errorf("exit %d, files %q, stderr %q", code, listDir(t, out), stderr)
	}
	// DIR is a file.
	code, _, stderr = exportRun(t, dir, nil, "kubernetes", filepath.Join(dir, "Procfile"), "--image", "r/a:1", "-a", "shop")
	if code != 2 || !strings.Contains(stderr, "is not a directory") {
		t.Errorf("DIR a file: exit %d, %q", code, stderr)
	}
}

func TestExportSecretsTravelAsFiles(t *testing.T) {
	dir := writeProcfile(t, "web: a\n")
	os.WriteFile(filepath.Join(dir, ".env"), []byte("SECRET=hunter2\nMULTI=\"a\nb\"\nQ='it\\'s'\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "prod.env"), []byte("TOKEN=\"$ecret %n\"\n"), 0o644)
	for _, format := range []string{"kubernetes", "compose", "systemd"} {
		args := []string{format, "-", "-a", "shop", "-e", ".env", "-e", "prod.env"}
		if format != "systemd" {
			args = append(args, "--image", "r/a:1")
		}
		code, out, stderr := exportRun(t, dir, []string{"DATABASE_URL=postgres://x"}, args...)
		for _, v := range []string{"hunter2", "SECRET", "$ecret", "TOKEN", "DATABASE_URL", "postgres"} {
			if strings.Contains(out, v) || strings.Contains(stderr, v) {
				t.Errorf("%s: %q in the output", format, v)
			}
		}
		if code != 0 {
			t.Errorf("%s: exit %d, %q", format, code, stderr)
		}
		if format == "kubernetes" && !strings.Contains(stderr, "kubectl create secret generic shop-env --from-file=.env="+filepath.Join(dir, ".env")+" --from-file=prod.env="+filepath.Join(dir, "prod.env")) {
			t.Errorf("no kubectl line with the paths in %q", stderr)
		}
	}
}

// readTree returns every file of dir with its contents, for comparisons.
func readTree(t *testing.T, dir string) string {
	var b strings.Builder
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + "\n" + string(data))
	}
	return b.String()
}
