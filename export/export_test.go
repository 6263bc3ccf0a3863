package export

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/supervisor"
)

// input builds an Input from "name: command" lines, every type once.
func input(t *testing.T, lines ...string) Input {
	t.Helper()
	entries, warnings, err := procfile.Parse("Procfile", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Entries: entries, Counts: map[string]int{}, Policies: map[string]supervisor.Policy{},
		BasePort: 5000, Grace: 5 * time.Second, Root: "/srv/shop", Procfile: "/srv/shop/Procfile",
		Warnings: warnings}
	for _, e := range entries {
		in.Counts[e.Name] = 1
	}
	return in
}

// options for format with the flags every test needs.
func options(format string) Options {
	o := Options{Format: format, App: "shop", Dir: "-"}
	if format != "systemd" {
		o.Image = "registry.example/shop:1.4"
	}
	return o
}

// all renders every format and layout and returns everything written.
func all(t *testing.T, in Input) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range Formats {
		for _, layout := range []string{"split", "single"} {
			o := options(f)
			o.Layout = layout
			r, err := Render(in, o)
			if err != nil {
				t.Fatalf("%s %s: %v", f, layout, err)
			}
			out[f+" "+layout] = string(Stdout(f, r))
		}
	}
	return out
}

// hostile are commands and values that broke other exporters' output.
var hostile = []string{
	`echo 'it''s' "a \"quote\"" $HOME $$ 100% \back` + "`date`" + `; exit 0`,
	`printf '%s\n' "ünï cödé ☃" && echo $(id -u) %n %i %%`,
	strings.Repeat("x", 200000) + "$PATH%h",
}

func TestCommandsNeverCopied(t *testing.T) {
	lines := []string{"web: " + hostile[0], "worker: " + hostile[1], "big: " + hostile[2]}
	for what, text := range all(t, input(t, lines...)) {
		for _, h := range hostile {
			for _, piece := range []string{h, "it''s", "ünï", "$HOME", "xxxxxxxxxxxxxxxxxxxxxxxxx", "`date`"} {
				if strings.Contains(text, piece) && strings.Contains(h, piece) {
					t.Errorf("%s holds %q of a Procfile command", what, piece)
				}
			}
		}
	}
}

func TestEnvValuesNeverCopied(t *testing.T) {
	in := input(t, "web: run", "worker: work")
	in.EnvFiles, in.EnvGiven = []string{"/srv/shop/.env", "/etc/shop/prod.env"}, true
	in.EnvValues = map[string]string{"SECRET": "hunter2", "MULTI": "line1\nline2", "Q": `say "hi" 'there' $X %n`}
	for what, text := range all(t, in) {
		for _, v := range []string{"hunter2", "line1", "say ", "SECRET", "MULTI"} {
			if strings.Contains(text, v) {
				t.Errorf("%s holds %q from an env file", what, v)
			}
		}
	}
	r, err := Render(in, options("kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	want := "kubectl create secret generic shop-env --from-file=.env=/srv/shop/.env --from-file=prod.env=/etc/shop/prod.env"
	if len(r.Notes) != 1 || !strings.HasSuffix(r.Notes[0], want) {
		t.Errorf("notes %q, want the kubectl line %q", r.Notes, want)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		app   string
		want  string // an object name in the output, or the error's text
		fails bool
	}{
		{[]string{"Web: a"}, "shop", `name: "shop-web"`, false},
		{[]string{"web_2: a"}, "shop", `name: "shop-web-2"`, false},
		{[]string{"Web_Server: a"}, "shop", `cinit/process-type: "Web_Server"`, false},
		{[]string{"Web_Server: a"}, "shop", `- "Web_Server"`, false},
		{[]string{"web: a", "Web: b"}, "shop", `Procfile:2: process "Web" and "web" (line 1) both become "web"`, true},
		{[]string{"a_b: a", "a-b: b"}, "shop", `Procfile:2: process "a-b" and "a_b" (line 1) both become "a-b"`, true},
		{[]string{strings.Repeat("w", 70) + ": a"}, "shop", "longer than 63 characters; give a shorter --app", true},
		{[]string{strings.Repeat("w", 59) + ": a"}, "shop", "longer than 63", true},
		{[]string{strings.Repeat("w", 58) + ": a"}, "shop", `name: "shop-` + strings.Repeat("w", 58) + `"`, false},
		{[]string{strings.Repeat("w", 58) + ": a"}, "ab", `name: "ab-` + strings.Repeat("w", 58) + `"`, false},
		{[]string{"-_-: a"}, "shop", "starts with -", true},
		{[]string{"db: a", "wait_db: b"}, "shop", `Procfile:2: process "wait_db" has the name of the container that waits for "db"`, true},
		{[]string{"_-_: a"}, "shop", "gives no valid object name", true},
		{[]string{"web: a"}, "Shop", `flag --app: "Shop" is not a name`, true},
		{[]string{"web: a"}, "1shop", `flag --app: "1shop" is not a name`, true},
		{[]string{"web: a"}, "shop_x", `flag --app`, true},
		{[]string{"web: a"}, strings.Repeat("a", 64), `flag --app`, true},
	} {
		o := options("kubernetes")
		o.App = tc.app
		in := input(t, tc.lines...)
		if len(tc.lines) == 2 && strings.HasPrefix(tc.lines[1], "wait_db") {
			in.Policies = map[string]supervisor.Policy{"db": {Ready: supervisor.Check{Kind: "tcp"}}, "wait_db": {After: []string{"db"}}}
		}
		r, err := Render(in, o)
		switch {
		case tc.fails && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q -a %s: error %v, want %q", tc.lines, tc.app, err, tc.want)
		case !tc.fails && err != nil:
			t.Errorf("%q -a %s: %v", tc.lines, tc.app, err)
		case !tc.fails && !strings.Contains(string(Stdout("kubernetes", r)), tc.want):
			t.Errorf("%q -a %s: no %q in\n%s", tc.lines, tc.app, tc.want, Stdout("kubernetes", r))
		}
	}
}

func TestAppFromRoot(t *testing.T) {
	in := input(t, "web: a")
	in.Root = "/srv/My_Shop"
	o := options("compose")
	o.App = ""
	r, err := Render(in, o)
	if err != nil || !strings.Contains(string(r.Files[0].Data), `name: "my-shop"`) {
		t.Fatalf("%v", err)
	}
	in.Root = "/srv/2024"
	if _, err := Render(in, o); err == nil || !strings.Contains(err.Error(), "give --app") {
		t.Errorf("root 2024: %v", err)
	}
}

func TestSameBaseNameEnvFiles(t *testing.T) {
	in := input(t, "web: a")
	in.EnvFiles, in.EnvGiven = []string{"/a/.env", "/b/.env"}, true
	for _, f := range []string{"kubernetes", "compose"} {
		_, err := Render(in, options(f))
		if err == nil || !strings.Contains(err.Error(), `/a/.env and /b/.env have the same base name ".env"`) {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	in := input(t, "web: a")
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Format = "nomad" }, "want kubernetes, compose or systemd"},
		{func(o *Options) { o.Image = "" }, "--image is required"},
		{func(o *Options) { o.Image = "Bad Image" }, "not an image reference"},
		{func(o *Options) { o.Layout = "both" }, "--layout"},
		{func(o *Options) { o.EnvFrom = "vault" }, "--env-from"},
		{func(o *Options) { o.Namespace = "Prod" }, "--namespace"},
		{func(o *Options) { o.Workdir = "app" }, "--workdir"},
		{func(o *Options) { o.Format, o.Image, o.Cinit = "systemd", "", "bin/cinit" }, "--cinit"},
		{func(o *Options) { o.Format, o.Image, o.Cinit = "systemd", "", "/opt/100%/cinit" }, "--cinit"},
		{func(o *Options) { o.Format, o.Image, o.Cinit = "systemd", "", "/opt/$x/cinit" }, "--cinit"},
		{func(o *Options) { o.Format, o.Image, o.User = "systemd", "", "Bad User" }, "--user"},
	} {
		o := options("kubernetes")
		tc.change(&o)
		if _, err := Render(in, o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", o, err, tc.want)
		}
	}
}

func TestYAMLQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"no":             `"no"`,
		"0755":           `"0755"`,
		"~":              `"~"`,
		"22:22":          `"22:22"`,
		`a"b\c`:          `"a\"b\\c"`,
		"a\nb\tc\rd":     `"a\nb\tc\rd"`,
		"\x01\x7f":       `"\u0001\u007F"`,
		"\u0085":         `"\u0085"`,
		"\u2028\ufeff":   `"\u2028\uFEFF"`,
		"a\uffffb\ufffe": `"a\uFFFFb\uFFFE"`,
		"ünï ☃":          `"ünï ☃"`,
		"# not & *a":     `"# not & *a"`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := oneLine("a\u2028b\uffff\n"); got != `a\u2028b\uffff\n` {
		t.Errorf("a comment keeps %q", got)
	}
}

func TestDollarsPerFormat(t *testing.T) {
	in := input(t, "web: a")
	in.Policies["web"] = supervisor.Policy{Ready: supervisor.Check{Kind: "exec", Target: `test "$(cat /x)" = "100%"`}}
	in.StartEnv = map[string]string{"CINIT_READY": `web=exec:test "$(cat /x)" = "100%"`}
	out := all(t, in)
	// Compose interpolates everything; Kubernetes does not expand exec
	// probes; systemd expands $ and % in Exec*=.
	for what, want := range map[string]string{
		"compose split":     `- "exec:test \"$$(cat /x)\" = \"100%\""`,
		"kubernetes split":  `- "exec:test \"$(cat /x)\" = \"100%\""`,
		"systemd split":     `"exec:test \"$$(cat /x)\" = \"100%%\""`,
		"compose single":    `CINIT_READY: "web=exec:test \"$$(cat /x)\" = \"100%\""`,
		"kubernetes single": `value: "web=exec:test \"$$(cat /x)\" = \"100%\""`,
		"systemd single":    `Environment="CINIT_READY=web=exec:test \"$(cat /x)\" = \"100%%\""`,
	} {
		if !strings.Contains(out[what], want) {
			t.Errorf("%s: no %s in\n%s", what, want, out[what])
		}
	}
}

func TestSystemdRefusals(t *testing.T) {
	in := input(t, "web: a")
	in.Policies["web"] = supervisor.Policy{Ready: supervisor.Check{Kind: "exec", Target: strings.Repeat("y", 2<<20)}}
	if _, err := Render(in, options("systemd")); err == nil || !strings.Contains(err.Error(), "over 1 MiB") {
		t.Errorf("2 MiB check: %v", err)
	}
	in.Policies["web"] = supervisor.Policy{Ready: supervisor.Check{Kind: "exec", Target: strings.Repeat("y", 100000)}}
	if _, err := Render(in, options("systemd")); err != nil {
		t.Errorf("100 KB check: %v", err)
	}
	in.StartEnv = map[string]string{"CINIT_READY": "web=exec:a\nb"}
	o := options("systemd")
	o.Layout = "single"
	if _, err := Render(in, o); err == nil || !strings.Contains(err.Error(), "control character") {
		t.Errorf("newline in Environment=: %v", err)
	}
	o = options("kubernetes")
	o.Layout = "single"
	if _, err := Render(in, o); err != nil {
		t.Errorf("the same newline in YAML: %v", err)
	}
	in = input(t, "web: a")
	in.Root, in.Procfile = "/srv/100%/$app x", "/srv/100%/$app x/Procfile"
	r, err := Render(in, options("systemd"))
	if err != nil || !strings.Contains(string(Stdout("systemd", r)), "WorkingDirectory=/srv/100%%/$app x\n") {
		t.Errorf("root with %% and $: %v", err)
	}
	// systemd reads a final backslash as a line continuation and strips
	// the blanks around a value: the unit would name another directory.
	for _, root := range []string{`/srv/a\`, "/srv/a ", " /srv/a", "/srv/a\t"} {
		in.Root, in.Procfile = root, "/srv/Procfile"
		if _, err := Render(in, options("systemd")); err == nil || !strings.Contains(err.Error(), "WorkingDirectory= cannot carry") && !strings.Contains(err.Error(), "control character") {
			t.Errorf("root %q: %v", root, err)
		}
	}
}

func TestWarnings(t *testing.T) {
	in := input(t, "db: a", "migrate: b", "web: c", "smoke: curl http://127.0.0.1:5200/h")
	in.Policies = map[string]supervisor.Policy{
		"migrate": {Oneshot: true},
		"web":     {After: []string{"migrate", "db"}},
	}
	in.Counts["web"], in.Counts["migrate"] = 3, 2
	in.Warnings = []string{"Procfile:9: ignoring line that is not \"name: command\""}
	r, err := Render(in, options("kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(r.Warnings, "\n")
	for _, want := range []string{
		"db exiting no longer stops the other types",             // W1
		"migrate runs in every shop-web pod (3 replicas: 3 runs", // W2
		"migrate runs once per pod as an init container, not 2 times (its formation)",
		"web does not wait for db on Kubernetes",    // W3
		"smoke reaches 127.0.0.1:5200 (web's port)", // W4
		"Procfile:9: ignoring line",                 // W7
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no warning %q in\n%s", want, text)
		}
	}
	web := string(r.Files[1].Data)
	if r.Files[1].Name != "shop-web.yaml" || !strings.Contains(web, "# warning: migrate runs in every shop-web pod") {
		t.Errorf("the W2 comment is not in shop-web.yaml:\n%s", web)
	}
	o := options("systemd")
	r, _ = Render(in, o)
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "units run as root") { // W5
		t.Errorf("systemd warnings %q", r.Warnings)
	}
	r, _ = Render(in, options("compose"))
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "no fixed host port for several web replicas") { // W6
		t.Errorf("compose warnings %q", r.Warnings)
	}
	o = options("kubernetes")
	o.Layout = "single"
	r, _ = Render(in, o)
	if len(r.Warnings) != 1 { // only W7: single keeps cinit's semantics
		t.Errorf("single layout warnings %q", r.Warnings)
	}
}

func TestSystemdRestartWarning(t *testing.T) {
	in := input(t, "web: a", "worker: b", "cron: c")
	in.Policies = map[string]supervisor.Policy{
		"worker": {Restart: supervisor.RestartOnFailure},
		"cron":   {Restart: supervisor.RestartAlways, CanDie: true},
	}
	r, err := Render(in, options("systemd"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range r.Warnings {
		if strings.Contains(w, "failing for good") {
			got = append(got, w)
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "worker failing for good") || !strings.Contains(got[0], "shop.target only wants") {
		t.Errorf("restart warnings %q, want one for worker (web does not restart, cron can die)", got)
	}
	unit := string(fileNamed(t, r, "shop-worker@.service"))
	if !strings.Contains(unit, "# warning: worker failing for good") {
		t.Errorf("the warning is not in worker's unit:\n%s", unit)
	}
	in = input(t, "worker: b")
	in.Policies = map[string]supervisor.Policy{"worker": {Restart: supervisor.RestartAlways}}
	r, _ = Render(in, options("systemd"))
	if strings.Contains(strings.Join(r.Warnings, "\n"), "failing for good") {
		t.Errorf("a lone type has nothing to stop: %q", r.Warnings)
	}
}

func TestWriteRules(t *testing.T) {
	dir := t.TempDir()
	in := input(t, "web: a", "worker: b")
	r, err := Render(in, options("kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	other := Marker("kubernetes", "shopping")
	files := map[string]string{
		"notes.txt":         "mine\n",
		"shop-old.yaml":     Marker("kubernetes", "shop") + "\nold\n",
		"shopping-web.yaml": other + "\n",
		"compose.yaml":      "services: {}\n",
		"shop-old-sys.yaml": Marker("systemd", "shop") + "\n",
	}
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	rep, err := Write(dir, r, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 1 || filepath.Base(rep.Removed[0]) != "shop-old.yaml" || len(rep.Written) != 2 {
		t.Errorf("report %+v", rep)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if name != "shop-old.yaml" && string(got) != data {
			t.Errorf("%s changed: %q, %v", name, got, err)
		}
	}
	// Again: nothing is rewritten.
	st, _ := os.Stat(filepath.Join(dir, "shop-web.yaml"))
	rep, err = Write(dir, r, false)
	st2, _ := os.Stat(filepath.Join(dir, "shop-web.yaml"))
	if err != nil || len(rep.Written) != 0 || len(rep.Unchanged) != 2 || !st.ModTime().Equal(st2.ModTime()) || !sameInode(st, st2) {
		t.Errorf("second write: %+v, %v", rep, err)
	}
	// A hand-written file in the way is refused, and nothing changes.
	c, _ := Render(in, options("compose"))
	if _, err := Write(dir, c, false); err == nil || !strings.Contains(err.Error(), "compose.yaml was not written by cinit export") {
		t.Errorf("compose over a hand-written file: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "compose.yaml")); string(got) != files["compose.yaml"] {
		t.Errorf("compose.yaml changed")
	}
	if _, err := Write(dir, c, true); err != nil {
		t.Errorf("--force: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "compose.yaml")); !bytes.Equal(got, c.Files[0].Data) {
		t.Errorf("--force did not write compose.yaml")
	}
	// A DIR that is a file.
	if _, err := Write(filepath.Join(dir, "notes.txt"), r, true); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("DIR a file: %v", err)
	}
	// A type removed from the Procfile: its file is stale.
	r2, _ := Render(input(t, "web: a"), options("kubernetes"))
	rep, err = Write(dir, r2, false)
	if err != nil || len(rep.Removed) != 1 || filepath.Base(rep.Removed[0]) != "shop-worker.yaml" {
		t.Errorf("after removing worker: %+v, %v", rep, err)
	}
}

func sameInode(a, b os.FileInfo) bool {
	return a.Sys().(*syscall.Stat_t).Ino == b.Sys().(*syscall.Stat_t).Ino
}

func TestDeterministic(t *testing.T) {
	in := input(t, "web: a", "worker: b")
	in.Policies["web"] = supervisor.Policy{StopSignal: syscall.SIGQUIT, Ready: supervisor.Check{Kind: "tcp"}}
	in.EnvValues = map[string]string{"A": "localhost:5100", "B": "127.0.0.1:5000", "C": "0.0.0.0:5100"}
	first := all(t, in)
	for range 5 {
		again := all(t, in)
		for k := range first {
			if first[k] != again[k] {
				t.Fatalf("%s differs between two runs", k)
			}
		}
	}
}

func TestWorkdirAndProcfileName(t *testing.T) {
	in := input(t, "web: a")
	in.Procfile = "/srv/shop/Procfile.prod"
	o := options("kubernetes")
	o.Workdir = "/app/"
	r, err := Render(in, o)
	if err != nil {
		t.Fatal(err)
	}
	text := string(Stdout("kubernetes", r))
	for _, want := range []string{`workingDir: "/app/"`, `value: "/app/Procfile.prod"`, `name: "CINIT_ROOT"`} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	o = options("compose")
	r, _ = Render(in, o)
	if text := string(r.Files[0].Data); !strings.Contains(text, `CINIT_PROCFILE: "Procfile.prod"`) || strings.Contains(text, "CINIT_ROOT") {
		t.Errorf("compose without --workdir:\n%s", text)
	}
	in.EnvFiles = []string{"/srv/shop/.env"}
	o.EnvFrom = "image"
	r, _ = Render(in, o)
	if text := string(r.Files[0].Data); strings.Contains(text, "secrets") || strings.Contains(text, "CINIT_ENV_FILES") {
		t.Errorf("--env-from image still ships the files:\n%s", text)
	}
}

func TestInvalidUTF8(t *testing.T) {
	in := input(t, "web: a")
	in.Policies["web"] = supervisor.Policy{Ready: supervisor.Check{Kind: "file", Target: "/tmp/\xff"}}
	for _, f := range Formats {
		if _, err := Render(in, options(f)); err == nil || !strings.Contains(err.Error(), "flag --ready web is not valid UTF-8") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// A readiness check's port and path are read as URLs and addresses are:
// a query without a path, an IPv6 address, no port at all. The wait for
// a dependency aims at the Service with the same path and query.
func TestCheckPorts(t *testing.T) {
	for _, c := range []struct {
		check supervisor.Check
		port  int
		wait  string
	}{
		{supervisor.Check{Kind: "http", Target: "http://127.0.0.1:5000?ready=1"}, 5000, "http:http://shop-api:5000/?ready=1"},
		{supervisor.Check{Kind: "http", Target: "http://[::1]:8080/health"}, 8080, "http:http://shop-api:8080/health"},
		{supervisor.Check{Kind: "http", Target: "http://localhost"}, 80, "http:http://shop-api:80"},
		{supervisor.Check{Kind: "tcp", Target: "[::1]:5432"}, 5432, "tcp:shop-api:5432"},
		{supervisor.Check{Kind: "tcp", Target: "6379"}, 6379, "tcp:shop-api:6379"},
	} {
		p := &proc{pol: supervisor.Policy{Ready: c.check}, port: 5000}
		if got := p.checkPort(); got != c.port {
			t.Errorf("%+v: port %d, want %d", c.check, got, c.port)
		}
		if got := p.remoteCheck("shop-api"); got != c.wait {
			t.Errorf("%+v: wait %q, want %q", c.check, got, c.wait)
		}
	}
}

// A oneshot with --restart always is restarted on failure only, as cinit
// start restarts it: systemd refuses Type=oneshot with Restart=always,
// and Compose would run a successful migration again and again.
func TestOneshotRestartAlways(t *testing.T) {
	in := input(t, "migrate: ./migrate", "web: ./web")
	in.Policies["migrate"] = supervisor.Policy{Oneshot: true, Restart: supervisor.RestartAlways}
	in.Policies["web"] = supervisor.Policy{After: []string{"migrate"}}
	out := all(t, in)
	for _, f := range []string{"systemd split", "systemd single"} {
		if strings.Contains(out[f], "Type=oneshot") && strings.Contains(out[f], "Restart=always") {
			t.Errorf("%s has Type=oneshot with Restart=always:\n%s", f, out[f])
		}
	}
	if strings.Contains(out["compose split"], `restart: "always"`) {
		t.Errorf("compose restarts the oneshot always:\n%s", out["compose split"])
	}
}

// A root (-d) below the Procfile's directory is kept in the containers'
// environment, relative to the Procfile or under --workdir; one outside
// it cannot be, and is warned of.
func TestRootBelowProcfile(t *testing.T) {
	in := input(t, "web: pwd")
	in.Root = "/srv/shop/sub"
	for _, c := range []struct{ format, workdir, want string }{
		{"compose", "", `CINIT_ROOT: "sub"`},
		{"kubernetes", "", `value: "sub"`},
		{"kubernetes", "/app", `value: "/app/sub"`},
	} {
		o := options(c.format)
		o.Workdir = c.workdir
		r, err := Render(in, o)
		if err != nil {
			t.Fatal(err)
		}
		if text := string(Stdout(c.format, r)); !strings.Contains(text, c.want) {
			t.Errorf("%s %q: no %s in\n%s", c.format, c.workdir, c.want, text)
		}
	}
	in.Root = "/elsewhere"
	r, err := Render(in, options("compose"))
	if err != nil || !strings.Contains(strings.Join(r.Warnings, "\n"), "not below the Procfile's directory") {
		t.Errorf("no warning for a root outside: %v %q", err, r.Warnings)
	}
}

// --ready-timeout bounds a oneshot as cinit start bounds it (it fails the
// run with 124): a start timeout for its systemd unit, a deadline for its
// Job; where the platform has none, a warning says so.
func TestOneshotReadyTimeout(t *testing.T) {
	in := input(t, "migrate: ./migrate", "web: ./web")
	in.Policies["migrate"] = supervisor.Policy{Oneshot: true}
	in.ReadyTimeout = 90 * time.Second
	out := all(t, in)
	if !strings.Contains(out["systemd split"], "Type=oneshot") || !strings.Contains(out["systemd split"], "TimeoutStartSec=90s") {
		t.Errorf("systemd: no start timeout for the oneshot:\n%s", out["systemd split"])
	}
	if !strings.Contains(out["kubernetes split"], "activeDeadlineSeconds: 90") {
		t.Errorf("kubernetes: no deadline for the Job:\n%s", out["kubernetes split"])
	}
	r, err := Render(in, options("compose"))
	if err != nil || !strings.Contains(strings.Join(r.Warnings, "\n"), "--ready-timeout does not bound the oneshot migrate") {
		t.Errorf("compose: no warning: %v %q", err, r.Warnings)
	}
	in.Policies["web"] = supervisor.Policy{After: []string{"migrate"}}
	r, err = Render(in, options("kubernetes"))
	if err != nil || !strings.Contains(strings.Join(r.Warnings, "\n"), "--ready-timeout does not bound migrate as an init container") {
		t.Errorf("kubernetes init container: no warning: %v %q", err, r.Warnings)
	}
}

// --env-from image with -e: the containers read the same files from the
// image, below the Procfile's directory (they read the image's .env
// instead); a file outside it is warned of.
func TestEnvFromImageKeepsFiles(t *testing.T) {
	in := input(t, "web: ./web")
	in.EnvFiles, in.EnvGiven = []string{"/srv/shop/prod.env", "/srv/shop/conf/extra.env"}, true
	for _, c := range []struct{ workdir, want string }{
		{"", `CINIT_ENV_FILES: "prod.env,conf/extra.env"`},
		{"/app", `CINIT_ENV_FILES: "/app/prod.env,/app/conf/extra.env"`},
	} {
		o := options("compose")
		o.EnvFrom, o.Workdir = "image", c.workdir
		r, err := Render(in, o)
		if text := string(Stdout("compose", r)); err != nil || !strings.Contains(text, c.want) || strings.Contains(text, "secrets") {
			t.Errorf("workdir %q: %v, no %s in\n%s", c.workdir, err, c.want, text)
		}
	}
	in.EnvFiles = append(in.EnvFiles, "/etc/shared.env")
	o := options("compose")
	o.EnvFrom = "image"
	r, err := Render(in, o)
	if err != nil || !strings.Contains(strings.Join(r.Warnings, "\n"), "outside the Procfile's directory") {
		t.Errorf("no warning for a file outside: %v %q", err, r.Warnings)
	}
}

// fileNamed returns the data of the file name of r.
func fileNamed(t *testing.T, r *Result, name string) []byte {
	t.Helper()
	for _, f := range r.Files {
		if f.Name == name {
			return f.Data
		}
	}
	t.Fatalf("no file %s in %d files", name, len(r.Files))
	return nil
}
