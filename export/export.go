// Package export turns a Procfile and cinit's policies into manifests for
// the platforms an application moves to when it outgrows one container:
// Kubernetes, Compose and systemd.
//
// The rule that keeps every output correct is that nothing is copied: no
// Procfile command and no env-file value ever appears in a manifest. Every
// workload runs `cinit run TYPE` (or `cinit start`) from an image or host
// that holds the same Procfile, so the shell, the env files, PORT and PS
// are handled by the same code everywhere; the policies cinit run applies
// itself travel as CINIT_* variables, the rest become the platform's own
// fields. Env files travel as files (a Secret, a Compose secret, the file
// on the host). What a platform cannot express is a warning, on stderr and
// as a comment in the file it concerns.
//
// [Render] builds the files in memory and fails before anything is
// written; [Write] puts them in a directory without ever touching a file
// that does not carry this format's and app's marker line.
package export

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/signals"
	"github.com/cinit/cinit/supervisor"
)

// Formats are the names cinit export accepts, in the order help lists them.
var Formats = []string{"kubernetes", "compose", "systemd"}

// Input is what cinit start would run, read and validated by cinit's own
// loader.
type Input struct {
	Entries      []procfile.Entry
	Counts       map[string]int               // instances per type (the formation)
	Policies     map[string]supervisor.Policy // by type
	BasePort     int
	NoPort       bool
	Grace        time.Duration
	ReadyTimeout time.Duration
	Root         string            // absolute root directory
	Procfile     string            // absolute path of the Procfile
	EnvFiles     []string          // absolute paths of the env files, in order
	EnvGiven     bool              // EnvFiles come from -e, not the root's default .env
	EnvValues    map[string]string // their merged variables, only to look for loopback addresses
	Warnings     []string          // the Procfile's warnings
	StartEnv     map[string]string // layout single: the CINIT_* variables that give cinit start the same run
}

// Options are the flags of cinit export.
type Options struct {
	Format    string
	App       string // "" for the root directory's base name
	Image     string
	Layout    string // "split" or "single"
	Cinit     string // "" for the format's default
	Workdir   string
	Namespace string
	EnvFrom   string // "secret", "image", or "" (secret when there are env files)
	User      string
	Dir       string // where Write puts the files; "-" for stdout
}

// File is one output file.
type File struct {
	Name string
	Data []byte
}

// Result is a successful export.
type Result struct {
	Files    []File
	Warnings []string // each also a comment in the file it concerns
	Notes    []string // to print on stderr: what the user must do next
	Marker   string   // line 1 of every file
}

// Error is an export that cannot be made: a usage or representation
// problem, exit 2 with nothing written.
type Error struct{ Msg string }

// Error returns the message.
func (e Error) Error() string { return e.Msg }

func errorf(format string, a ...any) error { return Error{fmt.Sprintf(format, a...)} }

// proc is one process type as every format sees it.
type proc struct {
	name  string // T: the Procfile name, which cinit reads
	norm  string // t: its object name
	line  int
	index int
	count int
	port  int // of the first instance; 0 with --no-port
	pol   supervisor.Policy
}

// job holds one export in the making.
type job struct {
	in     Input
	opt    Options
	app    string
	procs  []*proc
	byName map[string]*proc
	notes  []string
	found  []finding
}

// finding is a warning or note for one file ("" for every file).
type finding struct {
	file    string
	warning bool
	text    string
}

// Render builds the files of an export. It returns an [Error] for
// anything the chosen format cannot carry; nothing has been written then.
func Render(in Input, opt Options) (*Result, error) {
	j := &job{in: in, opt: opt, byName: map[string]*proc{}}
	if err := j.prepare(); err != nil {
		return nil, err
	}
	var files []File
	var err error
	switch opt.Format {
	case "kubernetes":
		files, err = j.kubernetes()
	case "compose":
		files, err = j.compose()
	case "systemd":
		files, err = j.systemd()
	}
	if err != nil {
		return nil, err
	}
	return j.result(files), nil
}

// prepare checks the options and names every process type.
func (j *job) prepare() error {
	o := &j.opt
	if !slices.Contains(Formats, o.Format) {
		return errorf("export: unknown format %q, want kubernetes, compose or systemd", o.Format)
	}
	if o.Layout == "" {
		o.Layout = "split"
	}
	if o.Layout != "split" && o.Layout != "single" {
		return errorf("flag --layout: bad value %q, want split or single", o.Layout)
	}
	if err := j.checkOptions(); err != nil {
		return err
	}
	if err := j.checkUTF8(); err != nil {
		return err
	}
	if err := j.appName(); err != nil {
		return err
	}
	return j.names()
}

// checkUTF8 rejects input that no output can carry: every string that
// reaches a file must be valid UTF-8.
func (j *job) checkUTF8() error {
	texts := map[string]string{"flag --image": j.opt.Image, "flag --cinit": j.opt.Cinit,
		"flag --workdir": j.opt.Workdir, "root directory": j.in.Root, "Procfile path": j.in.Procfile}
	for _, e := range j.in.Entries {
		texts["flag --ready "+e.Name] = j.in.Policies[e.Name].Ready.Target
	}
	for i, f := range j.in.EnvFiles {
		texts["env file "+strconv.Itoa(i+1)] = f
	}
	for k, v := range j.in.StartEnv {
		texts[k] = v
	}
	for _, what := range sortedKeys(texts) {
		if err := checkText(what, texts[what]); err != nil {
			return Error{err.Error()}
		}
	}
	return nil
}

// checkOptions checks the flags that depend on the format.
func (j *job) checkOptions() error {
	o := &j.opt
	container := o.Format != "systemd"
	switch {
	case container && o.Image == "":
		return errorf("flag --image is required for %s", o.Format)
	case container && !validImage(o.Image):
		return errorf("flag --image: %q is not an image reference", o.Image)
	case !container && o.Image != "":
		return errorf("flag --image: systemd runs cinit on the host, not an image")
	case o.EnvFrom != "" && o.EnvFrom != "secret" && o.EnvFrom != "image":
		return errorf("flag --env-from: bad value %q, want secret or image", o.EnvFrom)
	case o.EnvFrom != "" && !container:
		return errorf("flag --env-from: only for kubernetes and compose (systemd reads the env files where they are)")
	case o.User != "" && o.Format != "systemd":
		return errorf("flag --user: only for systemd (an image has its own USER)")
	case o.User != "" && !userName().MatchString(o.User):
		return errorf("flag --user: %q is not a user name", o.User)
	case o.Namespace != "" && o.Format != "kubernetes":
		return errorf("flag --namespace: only for kubernetes")
	case o.Namespace != "" && !isLabel(o.Namespace):
		return errorf("flag --namespace: %q is not a DNS label", o.Namespace)
	case o.Workdir != "" && !container:
		return errorf("flag --workdir: systemd runs in the Procfile's directory (use -d)")
	case o.Workdir != "" && !strings.HasPrefix(o.Workdir, "/"):
		return errorf("flag --workdir: %q is not an absolute path", o.Workdir)
	case strings.Contains(o.Workdir, ","):
		return errorf("flag --workdir: %q holds a comma, which the list of env files (CINIT_ENV_FILES) cannot carry", o.Workdir)
	}
	return j.checkCinit()
}

// userName is what systemd's User= takes: a name or a number.
// lazyRegexp compiles expr on first use. cinit export is rare and every
// other command of the binary runs this package's initialisers too, so
// nothing is compiled at start-up (the image reference alone cost
// milliseconds and 150 KB on every start).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

var userName = lazyRegexp(`^([a-z_][a-z0-9_-]*|[0-9]+)$`)

// checkCinit settles the path of cinit in the image or on the host.
func (j *job) checkCinit() error {
	o := &j.opt
	if o.Format == "systemd" {
		if o.Cinit == "" {
			o.Cinit = "/usr/local/bin/cinit"
		}
		if !strings.HasPrefix(o.Cinit, "/") || strings.ContainsAny(o.Cinit, "%$\\\"' \t\n;") {
			return errorf("flag --cinit: %q must be an absolute path without %%, $, quotes or blanks for systemd", o.Cinit)
		}
	}
	if o.Cinit == "" {
		o.Cinit = "cinit"
	}
	if err := checkText("flag --cinit", o.Cinit); err != nil {
		return Error{err.Error()}
	}
	if strings.ContainsFunc(o.Cinit, isControl) {
		return errorf("flag --cinit: %q holds a control character", o.Cinit)
	}
	return nil
}

// validImage accepts an OCI image reference: [HOST[:PORT]/]PATH[:TAG][@DIGEST]
// (distribution/reference's grammar, without its length limit).
var imageRef = lazyRegexp(`^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`)

func validImage(s string) bool { return len(s) <= 255+128+80 && imageRef().MatchString(s) }

var label = lazyRegexp(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// isLabel reports whether s is a DNS-1123 label.
func isLabel(s string) bool { return len(s) <= 63 && label().MatchString(s) }

// normalize applies the naming rule: lower case, "_" to "-", no "-" at
// either end.
func normalize(s string) string {
	return strings.Trim(strings.ReplaceAll(strings.ToLower(s), "_", "-"), "-")
}

// appName settles APP: --app as given, or the root directory's base name
// normalized.
func (j *job) appName() error {
	app := j.opt.App
	if app != "" {
		if !isLabel(app) || app[0] < 'a' || app[0] > 'z' {
			return errorf("flag --app: %q is not a name: lower-case letters, digits and -, starting with a letter, at most 63", app)
		}
		j.app = app
		return nil
	}
	base := filepath.Base(j.in.Root)
	app = normalize(base)
	if !isLabel(app) || app[0] < 'a' || app[0] > 'z' {
		return errorf("export: the root directory's name %q makes no application name; give --app NAME", base)
	}
	if app != base {
		j.note("", fmt.Sprintf("application name %q, from the directory %q", app, base))
	}
	j.app = app
	return nil
}

// names gives every process type its object name, rejecting names no
// platform accepts and two types that would share one.
func (j *job) names() error {
	if _, below := j.belowProcfile(j.in.Root); j.opt.Format != "systemd" && !below {
		j.warn("", fmt.Sprintf("the root %s is not below the Procfile's directory; in the image the processes run in the Procfile's directory", j.in.Root))
	}
	if files := j.imageEnvFiles(); j.in.EnvGiven && !j.envFromSecret() && len(files) < len(j.in.EnvFiles) {
		j.warn("", "--env-from image: an env file outside the Procfile's directory is not in the image's CINIT_ENV_FILES; give it on the platform, or use --env-from secret")
	}
	seen := map[string]*proc{}
	for i, e := range j.in.Entries {
		p := &proc{name: e.Name, norm: normalize(e.Name), line: e.Line, index: i,
			count: j.in.Counts[e.Name], pol: j.in.Policies[e.Name]}
		if p.pol.Oneshot && p.pol.Restart == supervisor.RestartAlways {
			// cinit never restarts a oneshot that succeeded, so always is
			// on-failure for it (and systemd refuses Type=oneshot with
			// Restart=always).
			p.pol.Restart = supervisor.RestartOnFailure
		}
		if !j.in.NoPort {
			p.port = j.in.BasePort + 100*i
		}
		where := fmt.Sprintf("%s:%d", filepath.Base(j.in.Procfile), e.Line)
		switch {
		case strings.HasPrefix(e.Name, "-"):
			return errorf("%s: process %q starts with -, which cinit run would read as a flag", where, e.Name)
		case p.norm == "" || !label().MatchString(p.norm):
			return errorf("%s: process %q gives no valid object name (%q)", where, e.Name, p.norm)
		case len(j.app)+1+len(p.norm) > 63:
			return errorf("%s: %q is longer than 63 characters; give a shorter --app", where, j.app+"-"+p.norm)
		case seen[p.norm] != nil:
			return errorf("%s: process %q and %q (line %d) both become %q", where, e.Name, seen[p.norm].name, seen[p.norm].line, p.norm)
		}
		if p.pol.Ready.Kind == "tcp" && p.pol.Ready.Target == "" && j.in.NoPort {
			return errorf("flag --ready: %s=tcp has no port under --no-port; give tcp:PORT", e.Name)
		}
		seen[p.norm] = p
		j.procs = append(j.procs, p)
		j.byName[e.Name] = p
	}
	return nil
}

// warn records a warning for file ("" for all).
func (j *job) warn(file, text string) {
	j.found = append(j.found, finding{file: file, warning: true, text: text})
}

// note records a comment for file ("" for all) that is no warning.
func (j *job) note(file, text string) {
	j.found = append(j.found, finding{file: file, text: text})
}

// marker is line 1 of every file of this format and app.
func (j *job) marker() string { return Marker(j.opt.Format, j.app) }

// Marker returns the line that starts every file of format for app.
func Marker(format, app string) string {
	return fmt.Sprintf("# Generated by cinit export %s for app %s. Do not edit; rerun cinit export.", format, app)
}

// header returns the marker and the comments for file.
func (j *job) header(file string) string {
	var b strings.Builder
	b.WriteString(j.marker() + "\n")
	for _, f := range j.found {
		if f.file != "" && f.file != file {
			continue
		}
		kind := "note"
		if f.warning {
			kind = "warning"
		}
		b.WriteString("# " + kind + ": " + oneLine(f.text) + "\n")
	}
	return b.String()
}

// result collects the warnings and notes of every file.
func (j *job) result(files []File) *Result {
	r := &Result{Files: files, Marker: j.marker(), Notes: j.notes}
	for _, f := range j.found {
		if f.warning {
			r.Warnings = append(r.Warnings, oneLine(f.text))
		}
	}
	return r
}

// graceSeconds is the platform's grace period: cinit's, rounded up, plus
// 5 s for cinit to SIGKILL and report.
func (j *job) graceSeconds() int {
	return ceilSeconds(j.in.Grace) + 5
}

func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// longRunning are the types that are no oneshot.
func (j *job) longRunning() []*proc {
	var out []*proc
	for _, p := range j.procs {
		if !p.pol.Oneshot {
			out = append(out, p)
		}
	}
	return out
}

// splitWarnings adds the warnings every split layout shares: W1 (types
// no longer stop each other), W4 (loopback addresses of another type's
// port) and W7 (the Procfile's own warnings).
func (j *job) splitWarnings(file func(*proc) string, teardown bool) {
	for _, w := range j.in.Warnings {
		j.warn("", w)
	}
	if j.opt.Layout != "split" {
		return
	}
	long := j.longRunning()
	if teardown && len(long) >= 2 {
		for _, p := range long {
			if !p.pol.CanDie {
				j.warn(file(p), p.name+" exiting no longer stops the other types; --layout single keeps cinit's teardown")
			}
		}
	}
	j.loopbackWarnings(file)
}

// loopback finds a loopback address with a port in a command, a check or
// an env value.
var loopback = lazyRegexp(`(?:127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0):([0-9]{1,5})\b`)

// loopbackWarnings is W4: a process that reaches another type's port on
// loopback will not find it in another container or unit.
func (j *job) loopbackWarnings(file func(*proc) string) {
	if j.in.NoPort {
		return
	}
	owner := map[int]*proc{}
	for _, p := range j.procs {
		for n := range max(p.count, 1) {
			owner[p.port+n] = p
		}
	}
	for _, p := range j.procs {
		texts := []string{p.commandText(j.in.Entries), p.pol.Ready.Target}
		for _, t := range texts {
			j.loopbackIn(p, t, owner, file)
		}
	}
	var values []string
	for _, v := range j.in.EnvValues {
		values = append(values, v)
	}
	slices.Sort(values)
	for _, v := range values {
		for _, m := range loopback().FindAllStringSubmatch(v, -1) {
			port, _ := strconv.Atoi(m[1])
			if o := owner[port]; o != nil && j.opt.Format != "systemd" {
				j.warn("", fmt.Sprintf("an env file reaches %s (%s's port); %s runs in another container: use %s", m[0], o.name, o.name, j.remote(o, port)))
			}
		}
	}
}

// loopbackIn warns when text, of process p, reaches another type's port.
func (j *job) loopbackIn(p *proc, text string, owner map[int]*proc, file func(*proc) string) {
	if j.opt.Format == "systemd" {
		return // one host: loopback still reaches the other units
	}
	for _, m := range loopback().FindAllStringSubmatch(text, -1) {
		port, _ := strconv.Atoi(m[1])
		if o := owner[port]; o != nil && o != p {
			j.warn(file(p), fmt.Sprintf("%s reaches %s (%s's port); %s runs in another container: use %s", p.name, m[0], o.name, o.name, j.remote(o, port)))
		}
	}
}

// remote is how another container reaches o's port.
func (j *job) remote(o *proc, port int) string {
	if j.opt.Format == "kubernetes" {
		return fmt.Sprintf("%s-%s:%d", j.app, o.norm, port)
	}
	return fmt.Sprintf("%s:%d", o.norm, port)
}

// commandText returns the Procfile command of p, only to look at it.
func (p *proc) commandText(entries []procfile.Entry) string {
	return entries[p.index].Command
}

// envKeys returns the keys of the env files as they travel to a
// container (their base names), checking that no two share one.
func (j *job) envKeys() ([]string, error) {
	var keys []string
	for _, path := range j.in.EnvFiles {
		key := filepath.Base(path)
		if i := slices.Index(keys, key); i >= 0 {
			return nil, errorf("flag -e/--env: %s and %s have the same base name %q; a secret needs one key per file", j.in.EnvFiles[i], path, key)
		}
		if !secretKey().MatchString(key) || key == "." || key == ".." {
			return nil, errorf("flag -e/--env: %s: the base name %q cannot be a secret key ([-._a-zA-Z0-9])", path, key)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// secretKey is what a Kubernetes Secret accepts as a key.
var secretKey = lazyRegexp(`^[-._a-zA-Z0-9]+$`)

// envFromSecret reports whether the env files travel as a secret.
func (j *job) envFromSecret() bool {
	switch j.opt.EnvFrom {
	case "image":
		return false
	case "secret":
		return true
	}
	return len(j.in.EnvFiles) > 0
}

// secretDir is where the env files appear in a container.
const secretDir = "/run/secrets/cinit-env"

// runEnv returns the CINIT_* variables a `cinit run` workload gets: the
// base port, the grace period, its stop signal, where its env files and
// Procfile are.
func (j *job) runEnv(p *proc, keys []string) map[string]string {
	env := map[string]string{"CINIT_TIMEOUT": j.in.Grace.String()}
	if j.in.NoPort {
		env["CINIT_NO_PORT"] = "1"
	} else {
		env["CINIT_PORT"] = strconv.Itoa(j.in.BasePort)
	}
	if p != nil && p.pol.StopSignal != 0 {
		env["CINIT_STOP_SIGNAL"] = p.name + "=" + strings.TrimPrefix(signals.Name(p.pol.StopSignal), "SIG")
	}
	j.placeEnv(env, keys)
	return env
}

// placeEnv adds where a container finds its env files and Procfile.
func (j *job) placeEnv(env map[string]string, keys []string) {
	if j.envFromSecret() && len(keys) > 0 {
		paths := make([]string, len(keys))
		for i, k := range keys {
			paths[i] = secretDir + "/" + k
		}
		env["CINIT_ENV_FILES"] = strings.Join(paths, ",")
	}
	// A probe's command may run in another directory than the
	// container's: with --workdir the Procfile's path is absolute. A root
	// (-d) below the Procfile's directory stays that far below it.
	base := filepath.Base(j.in.Procfile)
	switch {
	case j.opt.Workdir != "":
		env["CINIT_PROCFILE"] = strings.TrimSuffix(j.opt.Workdir, "/") + "/" + base
	case base != "Procfile":
		env["CINIT_PROCFILE"] = base
	}
	switch root := j.imagePath(j.in.Root); {
	case root != "" && root != ".":
		env["CINIT_ROOT"] = root
	case j.opt.Workdir != "":
		env["CINIT_ROOT"] = j.opt.Workdir // the root is not below the Procfile (warned)
	}
	if files := j.imageEnvFiles(); files != nil {
		env["CINIT_ENV_FILES"] = strings.Join(files, ",")
	}
}

// imageEnvFiles returns, with --env-from image and -e, the env files as
// the image holds them: relative to the Procfile's directory, or under
// --workdir. Without -e the image's own .env is read anyway. A file
// outside the Procfile's directory is left out (names warns of it).
func (j *job) imageEnvFiles() []string {
	if j.envFromSecret() || !j.in.EnvGiven {
		return nil
	}
	var files []string
	for _, f := range j.in.EnvFiles {
		if p := j.imagePath(f); p != "" {
			files = append(files, p)
		}
	}
	return files
}

// belowProcfile returns p relative to the Procfile's directory, and
// whether it is that directory or below it.
func (j *job) belowProcfile(p string) (string, bool) {
	rel, err := filepath.Rel(filepath.Dir(j.in.Procfile), p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// imagePath returns where p is in the image, which holds the Procfile's
// directory at --workdir, or at the containers' working directory (then
// relative, "." for the directory itself); "" when p is not below it
// (names warns of that).
func (j *job) imagePath(p string) string {
	rel, below := j.belowProcfile(p)
	switch {
	case !below:
		return ""
	case j.opt.Workdir == "":
		return rel
	case rel == ".":
		return j.opt.Workdir
	}
	return path.Join(j.opt.Workdir, rel)
}

// checkArg is a readiness check as cinit ready takes it.
func checkArg(c supervisor.Check) string {
	if c.Target == "" {
		return c.Kind
	}
	return c.Kind + ":" + c.Target
}

// readyArgv is the probe command of p: cinit ready with p's environment.
func (j *job) readyArgv(p *proc) []string {
	return []string{j.opt.Cinit, "ready", "--for", p.name, checkArg(p.pol.Ready)}
}

// checkPort is the port a network check of p probes, 0 when the check
// is no tcp or http check.
func (p *proc) checkPort() int {
	c := p.pol.Ready
	switch c.Kind {
	case "tcp":
		if c.Target == "" {
			return p.port
		}
		n, _ := strconv.Atoi(c.Target[strings.LastIndexByte(c.Target, ':')+1:]) // [::1]:5432 too
		return n
	case "http":
		u, err := url.Parse(c.Target)
		if err != nil {
			return 0
		}
		if u.Port() == "" {
			return 80
		}
		n, _ := strconv.Atoi(u.Port())
		return n
	}
	return 0
}

// remoteCheck is p's network check aimed at host instead of loopback.
func (p *proc) remoteCheck(host string) string {
	port := strconv.Itoa(p.checkPort())
	if p.pol.Ready.Kind == "tcp" {
		return "tcp:" + host + ":" + port
	}
	path := ""
	if u, err := url.Parse(p.pol.Ready.Target); err == nil && (u.Path != "" || u.RawQuery != "") {
		path = u.RequestURI() // a query without a path gets "/"
	}
	return "http:http://" + host + ":" + port + path
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// oneLine escapes what YAML does not print raw (see unprintable), so that
// a comment stays one line: U+2028 ends a line for some parsers.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }
