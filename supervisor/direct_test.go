package supervisor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPlainArgv(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: the shell must run it
	}{
		{`echo hello`, []string{"echo", "hello"}},
		{`  sleep   1000  `, []string{"sleep", "1000"}},
		{"redis-server\t--port 6380", []string{"redis-server", "--port", "6380"}},
		{`./bin/web --port=5000 -x a,b:c@d+e%f`, []string{"./bin/web", "--port=5000", "-x", "a,b:c@d+e%f"}},
		{`cmd # a comment`, []string{"cmd"}},
		{`/usr/bin/env`, []string{"/usr/bin/env"}},
		// Anything the shell would expand, quote, glob, split or run itself.
		{`echo $PORT`, nil},
		{`echo ${PORT}`, nil},
		{`echo "hi"`, nil},
		{`echo 'hi'`, nil},
		{`echo a\ b`, nil},
		{`ls *.go`, nil},
		{`ls file?`, nil},
		{`ls [ab]`, nil},
		{`cat ~/x`, nil},
		{`echo a#b`, nil},
		{`echo {a,b}`, nil},
		{`server >log`, nil},
		{`server 2>&1`, nil},
		{`A=1 env`, nil},
		{`echo one; echo two`, nil},
		{`echo one && echo two`, nil},
		{`yes | head`, nil},
		{`sleep 1 &`, nil},
		{`exit 3`, nil},
		{`cd /tmp`, nil},
		{`exec nginx`, nil},
		{`if true`, nil},
		{`! false`, nil},
		{"echo `date`", nil},
		{"echo \x01", nil},
		{`echo é`, nil},
		{``, nil},
		{`# only a comment`, nil},
	}
	for _, tt := range tests {
		have, ok := plainArgv(tt.in)
		if ok != (tt.want != nil) || !slices.Equal(have, tt.want) {
			t.Errorf("plainArgv(%q) = %q, %v; want %q", tt.in, have, ok, tt.want)
		}
	}
}

// writeFile writes a file with the given mode into dir.
func writeFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindRunnable(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeFile(t, a, "prog", "#!/bin/sh\n", 0o644) // not executable: the shell searches on
	want := writeFile(t, b, "prog", "#!/bin/sh\n", 0o755)
	writeFile(t, a, "noshebang", "echo hi\n", 0o755)
	writeFile(t, b, "noshebang", "#!/bin/sh\n", 0o755)
	elf, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(a, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, b, "dir", "#!/bin/sh\n", 0o755)

	tests := []struct {
		name, path, dir string
		want            string // "" when the shell must decide
	}{
		{"prog", a + ":" + b, "", want},
		{"dir", a + ":" + b, "", filepath.Join(b, "dir")},
		{"missing", a + ":" + b, "", ""},
		// The shell would run this one as a script: it must see it.
		{"noshebang", a + ":" + b, "", ""},
		// A relative entry is searched in the child's directory first.
		{"prog", "bin:" + b, "", ""},
		{"prog", ":" + b, "", ""},
		{"prog", "", "", ""},
		{"./prog", "", b, "./prog"},
		{"./prog", "", a, ""},
		{elf, "", "", elf},
	}
	for _, tt := range tests {
		have, ok := findRunnable(tt.name, []string{"PATH=" + tt.path}, tt.dir)
		if ok != (tt.want != "") || have != tt.want && ok {
			t.Errorf("findRunnable(%q, PATH=%q, dir %q) = %q, %v; want %q", tt.name, tt.path, tt.dir, have, ok, tt.want)
		}
	}
	// Without PATH, dash searches its default path.
	if have, ok := findRunnable("sh", []string{"HOME=/"}, ""); !ok || filepath.Dir(have) == "." {
		t.Errorf("findRunnable(sh) without PATH = %q, %v; want a path from %s", have, ok, defaultPath)
	}
}

func TestShellPWD(t *testing.T) {
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  []string
		dir  string
		want string
	}{
		{nil, dir, real},
		{[]string{"PWD=" + link}, dir, link}, // names the directory: kept
		{[]string{"PWD=" + link}, link, link},
		{[]string{"PWD=/"}, dir, real}, // another directory: replaced
		{[]string{"PWD=relative"}, dir, real},
		{[]string{"PWD=" + link, "PWD=/"}, dir, real}, // the last one counts
	}
	for _, tt := range tests {
		if have, ok := shellPWD(tt.env, tt.dir); !ok || have != tt.want {
			t.Errorf("shellPWD(%q, %q) = %q, %v; want %q", tt.env, tt.dir, have, ok, tt.want)
		}
	}
}

func TestLauncher(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	prog := writeFile(t, bin, "prog", "#!/bin/sh\n", 0o755)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := newLauncher(dir)
	env := []string{"PATH=" + bin, "PWD=/", "A=1", "A-B=2"}
	path, argv, env2, ok := l.command("prog a b", env)
	if !ok || path != prog || !slices.Equal(argv, []string{"prog", "a", "b"}) {
		t.Fatalf("command = %q %q %v", path, argv, ok)
	}
	if want := []string{"PATH=" + bin, "A=1", "PWD=" + real}; !slices.Equal(env2, want) {
		t.Errorf("environment %q, want %q", env2, want)
	}
	if !slices.Equal(env, []string{"PATH=" + bin, "PWD=/", "A=1", "A-B=2"}) {
		t.Errorf("the caller's environment changed: %q", env)
	}
	// Found once, like a shell's table of commands: a program removed
	// since is left for exec to refuse (and the shell to take over).
	os.Remove(prog)
	if path, _, _, ok := l.command("prog", env); !ok || path != prog {
		t.Errorf("after removal: %q, %v; want the remembered %q", path, ok, prog)
	}
	if _, _, _, ok := l.command("other", env); ok {
		t.Error("a program nowhere in PATH runs without the shell")
	}
	if _, _, _, ok := l.command("echo $A", env); ok {
		t.Error("an expansion runs without the shell")
	}
	// No PATH means dash's default path; an empty one means no search.
	if _, _, _, ok := l.command("sh -c true", []string{"A=1"}); !ok {
		t.Error("sh not found in the default path")
	}
	if _, _, _, ok := l.command("sh -c true", []string{"PATH="}); ok {
		t.Error("sh found with an empty PATH")
	}
}
