package validate

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cinitBin is cinit built from this repository by TestMain.
var cinitBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cinit-validate")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cinitBin = filepath.Join(dir, "cinit")
	build := exec.Command("go", "build", "-trimpath", "-o", cinitBin, ".")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building cinit: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// project is a directory with a Procfile and env files.
type project struct {
	dir string
}

// newProject writes the Procfile and the named files into a new directory
// called shop (the default application name is the directory's).
func newProject(t *testing.T, procfile string, files map[string]string) *project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files["Procfile"] = procfile
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &project{dir: dir}
}

// export runs cinit export in the project and returns stdout; it fails
// the test unless cinit exits 0.
func (p *project) export(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := p.run(t, append([]string{"export"}, args...)...)
	if code != 0 {
		t.Fatalf("cinit export %q: exit %d\n%s", args, code, stderr)
	}
	return stdout
}

// run runs cinit in the project with an empty environment (only PATH).
func (p *project) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(cinitBin, args...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// hostile are Procfile commands and readiness checks that broke other
// exporters: quotes, $, $$, %, backslashes, backticks, ;, unicode, tabs
// and a long line. Each prints a line the workload test compares.
var hostileCommands = []string{
	`printf '%s|%s\n' "it's" 'a "quote"'`,
	`X='$HOME $$ 100% \n'; printf '%s\n' "$X"`,
	"printf '%s\\n' \"back\\\\slash \\`tick\\` ; semi\"",
	`printf '%s\n' "ünï cödé ☃ %n %i %%"`,
	`printf '%s\n' "` + strings.Repeat("long", 5000) + `"`,
}

// hostileOutputs are what hostileCommands print.
var hostileOutputs = []string{
	`it's|a "quote"`,
	`$HOME $$ 100% \n`,
	"back\\slash `tick` ; semi",
	`ünï cödé ☃ %n %i %%`,
	strings.Repeat("long", 5000),
}

// hostileCheck is an exec readiness check with every character class
// that needs escaping somewhere.
const hostileCheck = "exec:test \"$(printf '%s' 100%)\" = \"100%\" && printf '%s\\n' 'a\\b' \"`echo $$`\" ; true\t# ünï"

// hostileProcfile names its types a..e, one per hostile command.
func hostileProcfile() string {
	var b strings.Builder
	for i, c := range hostileCommands {
		fmt.Fprintf(&b, "%c: %s\n", 'a'+i, c)
	}
	return b.String()
}

// unexpand applies the kubelet's expansion of command, args and env
// values with an empty environment: $$ is $, and $(VAR) of an unknown
// VAR stays as written (k8s.io/kubernetes third_party/forked/golang/expansion).
func unexpand(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// runWorkload runs argv with env in dir, as a container or unit would,
// and returns its stdout.
func runWorkload(t *testing.T, dir string, argv, env []string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, errb.String())
	}
	return out.String()
}
