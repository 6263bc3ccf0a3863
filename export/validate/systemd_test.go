package validate

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// systemdRoot is a root directory for systemd-analyze verify: the units in
// etc/systemd/system and a stand-in for cinit at usr/local/bin/cinit.
type systemdRoot struct {
	dir   string
	units string
}

// needSystemd skips without systemd-analyze, or fails under
// CINIT_REQUIRE_TOOLS (CI installs it).
func needSystemd(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CINIT_REQUIRE_TOOLS") != "" {
			t.Fatal("systemd-analyze is not installed")
		}
		t.Skip("systemd-analyze is not installed")
	}
}

// newSystemdRoot makes a root readable by an unprivileged user, for the
// --test dump (which refuses to run as root).
func newSystemdRoot(t *testing.T) *systemdRoot {
	t.Helper()
	dir, err := os.MkdirTemp("", "cinit-units")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &systemdRoot{dir: dir, units: filepath.Join(dir, "etc/systemd/system")}
	for _, d := range []string{r.units, filepath.Join(dir, "usr/local/bin"), filepath.Join(dir, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	os.Chown(filepath.Join(dir, "home"), 65534, 65534)
	if err := os.WriteFile(filepath.Join(dir, "usr/local/bin/cinit"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// verify runs systemd-analyze verify on units (paths inside the root) and
// requires exit 0 and no output: systemd 252 reports unbalanced quotes,
// bad escapes and specifiers, unknown keys and bad values each on a line.
func (r *systemdRoot) verify(t *testing.T, units ...string) {
	t.Helper()
	args := []string{"verify", "--root=" + r.dir, "--man=no", "--recursive-errors=no"}
	for _, u := range units {
		args = append(args, "/etc/systemd/system/"+u)
	}
	out, err := exec.Command("systemd-analyze", args...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %q: %v\n%s", units, err, out)
		for _, u := range units {
			data, _ := os.ReadFile(filepath.Join(r.units, strings.Replace(u, "@1.", "@.", 1)))
			t.Logf("%s:\n%s", u, data)
		}
	}
}

// dump loads unit with systemd's own parser (systemd --test as an
// unprivileged user, which exits 1 silently as root) and returns its
// dump, where each unit shows its parsed Environment values and Command
// Lines.
func (r *systemdRoot) dump(t *testing.T, unit string) string {
	t.Helper()
	home := filepath.Join(r.dir, "home")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"/usr/lib/systemd/systemd", "--test", "--user", "--unit="+unit, "--no-pager")
	cmd.Dir = home
	cmd.Env = []string{"SYSTEMD_UNIT_PATH=" + r.units + ":", "HOME=" + home, "XDG_RUNTIME_DIR=" + home, "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("systemd --test: %v", err)
	}
	return out.String()
}

// unitSection returns the lines of unit's part of a dump.
func unitSection(dump, unit string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(l, "\t-> Unit ") {
			in = l == "\t-> Unit "+unit+":"
			continue
		}
		if in {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// commandLines returns the argv of every "Command Line:" of a section:
// systemd prints them shell-quoted, with $$ still doubled (it expands
// variables when it runs the command).
func commandLines(section []string) [][]string {
	var out [][]string
	for _, l := range section {
		if rest, ok := strings.CutPrefix(l, "Command Line: "); ok {
			argv := splitQuoted(rest)
			for i, a := range argv {
				argv[i] = strings.ReplaceAll(a, "$$", "$")
			}
			out = append(out, argv)
		}
	}
	return out
}

// splitQuoted splits a line of words, each bare or in double quotes with
// backslash escapes.
func splitQuoted(s string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteString(unescape(s, &i))
			inWord = true
		case c == '"':
			quoted, inWord = !quoted, true
		case c == ' ' && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// unescape decodes the escape whose letter is at s[*i], leaving *i at
// its last byte: the C escapes systemd prints (\t, \n, \r, \xNN, \NNN), and
// any other character as itself.
func unescape(s string, i *int) string {
	switch s[*i] {
	case 't':
		return "\t"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case '0', '1', '2', '3':
		if *i+2 < len(s) {
			var b byte
			for _, o := range s[*i : *i+3] {
				b = b<<3 | byte(o-'0')
			}
			*i += 2
			return string([]byte{b})
		}
	case 'x':
		if *i+2 < len(s) {
			var b byte
			for _, h := range s[*i+1 : *i+3] {
				b = b<<4 | byte(strings.IndexRune("0123456789abcdef", h|0x20))
			}
			*i += 2
			return string([]byte{b})
		}
	}
	return s[*i : *i+1]
}

func TestSystemdHostile(t *testing.T) {
	needSystemd(t)
	r := newSystemdRoot(t)
	p := newProject(t, hostileProcfile(), map[string]string{})
	p.export(t, "systemd", r.units, "--user", "app", "-m", "a=2", "--ready", "a="+hostileCheck,
		"--stop-signal", "b=QUIT", "-c", "all", "-r", "c=on-failure")
	units := []string{"shop.target", "shop-a@1.service", "shop-a@2.service", "shop-b@1.service", "shop-c@1.service", "shop-d@1.service", "shop-e@1.service"}
	r.verify(t, units...)
	dump := r.dump(t, "shop.target")
	a2 := unitSection(dump, "shop-a@2.service")
	want := [][]string{
		{"/usr/local/bin/cinit", "run", "--instance=2", "a"},
		{"/usr/local/bin/cinit", "ready", "--wait", "--for=a", "--instance=2", hostileCheck},
	}
	if got := commandLines(a2); !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("shop-a@2 command lines %q, want %q", got, want)
	}
	if !slices.Contains(unitSection(dump, "shop-b@1.service"), "Environment: CINIT_STOP_SIGNAL=b=QUIT") {
		t.Errorf("no CINIT_STOP_SIGNAL in shop-b@1")
	}
}

func TestSystemdPathsAndValues(t *testing.T) {
	needSystemd(t)
	r := newSystemdRoot(t)
	base := t.TempDir()
	root := filepath.Join(base, "100%", "$app x")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &project{dir: root}
	os.WriteFile(filepath.Join(root, "Procfile"), []byte("web: a\nworker: b\n"), 0o644)
	env := filepath.Join(root, "my %n.env")
	os.WriteFile(env, []byte("SECRET=hunter2\n"), 0o644)
	ready := `web=exec:test "$X" = '100%\n' # "quoted"`
	for _, layout := range []string{"split", "single"} {
		os.RemoveAll(r.units)
		os.MkdirAll(r.units, 0o755)
		p.export(t, "systemd", r.units, "-a", "shop", "--layout", layout, "--ready", ready, "-e", env, "--user", "1000")
		units := []string{"shop.target", "shop-web@1.service", "shop-worker@1.service"}
		unit := "shop-web@1.service"
		if layout == "single" {
			units, unit = []string{"shop.service"}, "shop.service"
		}
		r.verify(t, units...)
		section := unitSection(r.dump(t, units[0]), unit)
		wantEnv := "Environment: CINIT_ENV_FILES=" + env
		if !slices.Contains(section, wantEnv) {
			t.Errorf("%s: no %q in\n%s", layout, wantEnv, strings.Join(section, "\n"))
		}
		if layout == "single" && !slices.Contains(section, "Environment: CINIT_READY="+ready) {
			t.Errorf("single: CINIT_READY did not round-trip:\n%s", strings.Join(section, "\n"))
		}
		if !slices.Contains(section, "RequiresMountsFor: "+root+" (origin-file)") {
			t.Errorf("%s: the working directory %q did not round-trip:\n%s", layout, root, strings.Join(section, "\n"))
		}
		for _, f := range units {
			data, _ := os.ReadFile(filepath.Join(r.units, strings.Replace(f, "@1.", "@.", 1)))
			if bytes.Contains(data, []byte("hunter2")) {
				t.Errorf("%s holds an env value", f)
			}
		}
	}
}

func TestSystemdRefusesNewlineInEnvironment(t *testing.T) {
	p := newProject(t, "web: a\n", map[string]string{})
	_, stderr, code := p.runWith2(t, []string{"CINIT_READY=web=exec:a\nb"}, "export", "systemd", "-", "--layout", "single")
	if code != 2 || !strings.Contains(stderr, "control character") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	// YAML carries it.
	out, _, code := p.runWith2(t, []string{"CINIT_READY=web=exec:a\nb"}, "export", "kubernetes", "-", "--layout", "single", "--image", "r/a:1")
	m := decodeKubernetes(t, out)
	if c := m.deployments["shop"].Spec.Template.Spec.Containers[0]; code != 0 || !slices.Contains(envOf(c), "CINIT_READY=web=exec:a\nb") {
		t.Errorf("kubernetes: exit %d", code)
	}
}

// runWith2 runs cinit in the project with env added, whatever its status.
func (p *project) runWith2(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(cinitBin, args...)
	cmd.Dir = p.dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	}
	return out.String(), errb.String(), 0
}

func TestSystemdLongCheck(t *testing.T) {
	needSystemd(t)
	r := newSystemdRoot(t)
	check := "exec:test -n '" + strings.Repeat("z", 100000) + "'"
	p := newProject(t, "web: a\n", map[string]string{})
	p.export(t, "systemd", r.units, "--user", "app", "--ready", "web="+check)
	r.verify(t, "shop.target", "shop-web@1.service")
	lines := commandLines(unitSection(r.dump(t, "shop.target"), "shop-web@1.service"))
	if len(lines) < 2 || lines[1][len(lines[1])-1] != check {
		t.Errorf("the 100 KB check did not round-trip")
	}
	// One argument is at most 128 KiB (Linux's MAX_ARG_STRLEN), but ten
	// of them make a CINIT_READY line over systemd's 1 MiB limit in the
	// single layout: refused, nothing written.
	var procfile strings.Builder
	args := []string{"export", "systemd", r.units, "--layout", "single"}
	for i := range 10 {
		fmt.Fprintf(&procfile, "t%d: a\n", i)
		args = append(args, "--ready", fmt.Sprintf("t%d=exec:%s", i, strings.Repeat("z", 110000)))
	}
	p = newProject(t, procfile.String(), map[string]string{})
	os.RemoveAll(r.units)
	_, stderr, code := p.run(t, args...)
	if _, err := os.Stat(r.units); code != 2 || !strings.Contains(stderr, "over 1 MiB") || err == nil {
		t.Errorf("a 1.1 MB Environment= line: exit %d, %q, dir %v", code, stderr, err)
	}
}
