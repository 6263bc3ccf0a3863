package export

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// maxUnitLine is the longest line systemd loads (its LONG_LINE_MAX, 1 MiB).
const maxUnitLine = 1 << 20

// systemd renders APP.target and one template unit APP-t@.service per
// process type (split), or one APP.service running cinit start (single).
// The env files stay where they are: cinit reads them at start, and no
// value enters a unit.
func (j *job) systemd() ([]File, error) {
	if j.opt.User == "" {
		j.warn("", "units run as root; give --user")
	}
	if j.opt.Layout == "single" {
		j.splitWarnings(nil, false)
		name := j.app + ".service"
		u, err := j.singleUnit(name)
		if err != nil {
			return nil, err
		}
		return []File{{name, u}}, nil
	}
	unit := func(p *proc) string { return j.app + "-" + p.norm + "@.service" }
	j.splitWarnings(unit, false)
	target := j.app + ".target"
	j.restartWarnings(unit, target)
	var files []File
	for _, p := range j.procs {
		u, err := j.templateUnit(p, unit(p))
		if err != nil {
			return nil, err
		}
		files = append(files, File{unit(p), u})
	}
	t, err := j.targetUnit(target)
	if err != nil {
		return nil, err
	}
	return append([]File{{target, t}}, files...), nil
}

// restartWarnings warns of each type that restarts and whose failing for
// good would stop cinit start: the target only wants its instances, since
// binding them would stop the app as soon as one fails and is restarted
// (a failed unit stops the units bound to it, restart pending or not:
// systemd/systemd#11456), so the end of its restarts stops nothing.
func (j *job) restartWarnings(unit func(*proc) string, target string) {
	if len(j.procs) < 2 {
		return
	}
	for _, p := range j.procs {
		if !p.pol.CanDie && p.pol.Restart != 0 {
			j.warn(unit(p), p.name+" failing for good (5 starts within 60 s) no longer stops the other units: "+
				target+" only wants a unit that restarts, as binding it would stop them at each restart")
		}
	}
}

// instances names the instance units of p.
func (j *job) instances(p *proc) []string {
	var out []string
	for n := 1; n <= p.count; n++ {
		out = append(out, fmt.Sprintf("%s-%s@%d.service", j.app, p.norm, n))
	}
	return out
}

// targetUnit starts every instance; an instance whose end would stop
// cinit (not can-die, not restarted) is bound, so its end stops the app.
func (j *job) targetUnit(name string) ([]byte, error) {
	var bound, wanted, all []string
	for _, p := range j.procs {
		in := j.instances(p)
		all = append(all, in...)
		if p.pol.CanDie || p.pol.Restart != 0 {
			wanted = append(wanted, in...)
		} else {
			bound = append(bound, in...)
		}
	}
	u := &unitWriter{}
	u.section("Unit")
	u.raw("Description", j.app+" (cinit export)")
	u.list("BindsTo", bound)
	u.list("Wants", wanted)
	u.list("After", all)
	u.section("Install")
	u.raw("WantedBy", "multi-user.target")
	return u.file(j.header(name))
}

// templateUnit is the template unit of p: instance %i runs cinit run
// --instance=%i T.
func (j *job) templateUnit(p *proc, name string) ([]byte, error) {
	u := &unitWriter{}
	u.section("Unit")
	u.raw("Description", fmt.Sprintf("%s %s %%i (cinit export)", j.app, escapeSpecifiers(p.name)))
	u.raw("PartOf", j.app+".target")
	var deps []string
	for _, d := range p.pol.After {
		deps = append(deps, j.instances(j.byName[d])...)
	}
	u.list("After", deps)
	u.list("Requires", deps)
	if p.pol.Restart != 0 {
		u.raw("StartLimitIntervalSec", "60s")
		u.raw("StartLimitBurst", "5")
	}
	u.section("Service")
	if p.pol.Oneshot {
		u.raw("Type", "oneshot")
		u.raw("RemainAfterExit", "yes")
	} else {
		u.raw("Type", "exec")
	}
	if err := j.serviceCommon(u, j.runEnv(p, nil)); err != nil {
		return nil, err
	}
	u.raw("ExecStart", execLine([]string{j.opt.Cinit, "run"}, "--instance=%i", []string{p.name}))
	if p.pol.Ready.Kind != "" && !p.pol.Oneshot {
		args := []string{j.opt.Cinit, "ready", "--wait", "--for=" + p.name}
		if j.in.ReadyTimeout > 0 {
			args = append(args, "--timeout="+j.in.ReadyTimeout.String())
		}
		u.raw("ExecStartPost", execLine(args, "--instance=%i", []string{checkArg(p.pol.Ready)}))
	}
	switch {
	case p.pol.Oneshot && j.in.ReadyTimeout > 0:
		// cinit fails a oneshot that has not succeeded within the ready
		// timeout; a oneshot unit has no start timeout unless given one.
		u.raw("TimeoutStartSec", strconv.Itoa(ceilSeconds(j.in.ReadyTimeout))+"s")
	case p.pol.Oneshot:
	case j.in.ReadyTimeout > 0 && p.pol.Ready.Kind != "":
		u.raw("TimeoutStartSec", strconv.Itoa(ceilSeconds(j.in.ReadyTimeout)+5)+"s")
	case p.pol.Ready.Kind != "":
		u.raw("TimeoutStartSec", "infinity")
	}
	u.raw("Restart", map[int]string{0: "no", 1: "on-failure", 2: "always"}[int(p.pol.Restart)])
	if p.pol.Restart != 0 {
		u.raw("RestartSec", "1s")
	}
	u.raw("KillMode", "mixed")
	u.raw("TimeoutStopSec", strconv.Itoa(j.graceSeconds())+"s")
	u.raw("SyslogIdentifier", j.app+"-"+p.norm+".%i")
	return u.file(j.header(name))
}

// serviceCommon writes the user, the directory and the environment.
func (j *job) serviceCommon(u *unitWriter, env map[string]string) error {
	if j.opt.User != "" {
		u.raw("User", j.opt.User)
	}
	if strings.ContainsFunc(j.in.Root, isControl) {
		return errorf("root directory %q holds a control character, which systemd cannot carry", j.in.Root)
	}
	// WorkingDirectory= takes the rest of its line as it is: systemd
	// strips the blanks around it and reads a final backslash as a line
	// continuation, so such a path would name another directory.
	if r := j.in.Root; strings.TrimSpace(r) != r || strings.HasSuffix(r, `\`) {
		return errorf("root directory %q begins or ends with a blank, or ends with a backslash, which WorkingDirectory= cannot carry", r)
	}
	u.raw("WorkingDirectory", escapeSpecifiers(j.in.Root))
	delete(env, "CINIT_PROCFILE")
	delete(env, "CINIT_ROOT")
	if j.in.Procfile != filepath.Join(j.in.Root, "Procfile") {
		env["CINIT_PROCFILE"] = j.in.Procfile
	}
	if filepath.Dir(j.in.Procfile) != j.in.Root {
		env["CINIT_ROOT"] = j.in.Root
	}
	if j.in.EnvGiven {
		for _, f := range j.in.EnvFiles {
			if strings.Contains(f, ",") {
				return errorf("flag -e/--env: %s: a path with a comma cannot go into CINIT_ENV_FILES", f)
			}
		}
		env["CINIT_ENV_FILES"] = strings.Join(j.in.EnvFiles, ",")
	}
	for _, k := range sortedKeys(env) {
		line, err := environmentLine(k, env[k])
		if err != nil {
			return err
		}
		u.raw("Environment", line)
	}
	return nil
}

// singleUnit runs the whole Procfile with cinit start.
func (j *job) singleUnit(name string) ([]byte, error) {
	u := &unitWriter{}
	u.section("Unit")
	u.raw("Description", j.app+" (cinit export)")
	u.section("Service")
	u.raw("Type", "exec")
	if err := j.serviceCommon(u, j.startEnv(nil)); err != nil {
		return nil, err
	}
	u.raw("ExecStart", execLine([]string{j.opt.Cinit, "start"}, "", nil))
	u.raw("KillMode", "mixed")
	u.raw("TimeoutStopSec", strconv.Itoa(j.singleGrace())+"s")
	u.raw("SyslogIdentifier", j.app)
	u.section("Install")
	u.raw("WantedBy", "multi-user.target")
	return u.file(j.header(name))
}

// unitWriter builds a unit file.
type unitWriter struct {
	b   strings.Builder
	err error
}

func (u *unitWriter) section(name string) {
	if u.b.Len() > 0 {
		u.b.WriteString("\n")
	}
	u.b.WriteString("[" + name + "]\n")
}

// raw writes KEY=VALUE with VALUE already in unit syntax.
func (u *unitWriter) raw(key, value string) {
	line := key + "=" + value
	if len(line) > maxUnitLine && u.err == nil {
		u.err = errorf("%s= would be %d bytes long; systemd refuses lines over 1 MiB", key, len(line))
	}
	u.b.WriteString(line + "\n")
}

// list writes a space-separated list of unit names, if any.
func (u *unitWriter) list(key string, names []string) {
	if len(names) > 0 {
		u.raw(key, strings.Join(names, " "))
	}
}

func (u *unitWriter) file(header string) ([]byte, error) {
	if u.err != nil {
		return nil, u.err
	}
	return []byte(header + u.b.String()), nil
}

// bareArg is what an Exec*= argument may hold without quotes.
var bareArg = lazyRegexp(`^[A-Za-z0-9_@+=:,./-]+$`)

// execArg quotes one Exec*= argument: bare when it is plain, else in
// double quotes with C escapes; then "%" and "$" doubled, so that no
// specifier or variable expansion applies (the rule of nixpkgs'
// escapeSystemdExecArg, NixOS/nixpkgs nixos/lib/utils.nix).
func execArg(s string) string {
	if !bareArg().MatchString(s) {
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range s {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == '"':
				b.WriteString(`\"`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
		s = b.String()
	}
	return strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
}

// execLine is an Exec*= command line: head, then raw (a word written as
// it is, holding a specifier on purpose), then tail.
func execLine(head []string, raw string, tail []string) string {
	var words []string
	for _, a := range head {
		words = append(words, execArg(a))
	}
	if raw != "" {
		words = append(words, raw)
	}
	for _, a := range tail {
		words = append(words, execArg(a))
	}
	return strings.Join(words, " ")
}

// environmentLine is one Environment= assignment, quoted: systemd does
// not expand "$" there, but it does expand "%" specifiers, and it refuses
// control characters, which are an error here.
func environmentLine(name, value string) (string, error) {
	if strings.ContainsFunc(value, isControl) {
		return "", errorf("%s=%q holds a control character, which systemd's Environment= cannot carry", name, value)
	}
	v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%").Replace(value)
	return `"` + name + "=" + v + `"`, nil
}

// escapeSpecifiers doubles "%" in a value systemd expands specifiers in.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }
