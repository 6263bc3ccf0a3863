package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/supervisor"
)

// plan is everything start and check need, read and validated before
// anything starts.
type plan struct {
	entries   []procfile.Entry
	instances []procfile.Instance
	policies  map[string]supervisor.Policy
	env       []string // file variables overridden by the inherited environment
	dir       string
	warnings  []string
}

// configError is a bad Procfile, env file or formation: exit 2 (check: 1).
type configError struct{ err error }

// Error returns the message of the underlying error.
func (e configError) Error() string { return e.err.Error() }

// Unwrap gives errors.Is and errors.As the underlying error.
func (e configError) Unwrap() error { return e.err }

// load reads the Procfile and env files and expands the formation. only
// restricts the run to the named types. An error comes with the warnings
// found before it (see afterWarnings), so that every problem is reported
// at once.
func load(o options, only []string, environ []string) (*plan, error) {
	p := &plan{}
	if err := p.fill(o, only, environ); err != nil {
		if len(p.warnings) > 0 {
			err = afterWarnings{err, p.warnings}
		}
		return nil, err
	}
	return p, nil
}

// fill does the work of load.
func (p *plan) fill(o options, only []string, environ []string) error {
	if err := p.readProcfile(o); err != nil {
		return configError{err}
	}
	fileEnv, err := readEnvFiles(o, p.dir)
	if err != nil {
		return configError{err}
	}
	base, from, err := basePortFrom(o, p.dir, environ, fileEnv)
	if err != nil {
		return configError{err}
	}
	formation, err := parseFormation(o, p.entries)
	if err != nil {
		return err
	}
	if p.instances, err = procfile.Instances(p.entries, formation, base, only); err != nil {
		return usageError{err.Error() + " in " + o.procfile + controlHint(only)}
	}
	if len(p.instances) == 0 {
		return usagef("flag -m/--formation: no process to start")
	}
	if !o.noPort {
		if err := checkPorts(p.instances, base, from); err != nil {
			return err
		}
		p.warnings = append(p.warnings, sharedPorts(p.instances)...)
	}
	if p.policies, err = buildPolicies(o.policy, p.entries, p.instances); err != nil {
		return err
	}
	if o.noPort {
		if err := checkPortless(p.policies); err != nil {
			return err
		}
	}
	p.env = mergeEnv(fileEnv, environ)
	return nil
}

// parseFormation reads -m and checks it against the Procfile's entries.
func parseFormation(o options, entries []procfile.Entry) (procfile.Formation, error) {
	formation, err := procfile.ParseFormation(o.formation)
	if err == nil {
		err = formation.Check(entries)
	}
	if err != nil {
		return formation, usagef("flag -m/--formation: %v", err)
	}
	return formation, nil
}

// controlHint explains a process name that is a control command: `cinit
// --socket S status` reads as starting a process named status, because a
// control command takes its flags after it.
func controlHint(only []string) string {
	for _, name := range only {
		if isControlCommand(name) {
			return fmt.Sprintf("; to ask a running cinit, put the flags after the command: cinit %s --socket PATH", name)
		}
	}
	return ""
}

// afterWarnings is an error found after warnings about the same
// configuration (lines of the Procfile it ignored): [fail] prints the
// warnings first, then the error. It unwraps to the error, whose kind
// decides the exit status.
type afterWarnings struct {
	err      error
	warnings []string
}

func (e afterWarnings) Error() string { return e.err.Error() }
func (e afterWarnings) Unwrap() error { return e.err }

// readProcfile parses the Procfile and settles the root directory.
func (p *plan) readProcfile(o options) error {
	f, err := os.Open(o.procfile)
	if err != nil {
		return err
	}
	defer f.Close()
	p.entries, p.warnings, err = procfile.Parse(o.procfile, f)
	if err != nil {
		return err
	}
	p.dir = o.root
	if p.dir == "" {
		p.dir = filepath.Dir(o.procfile)
	}
	if st, err := os.Stat(p.dir); err != nil {
		return fmt.Errorf("root directory: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("root directory %s: not a directory", p.dir)
	}
	return nil
}

// readEnvFiles reads the -e list, or the root's .env when there is one.
func readEnvFiles(o options, dir string) (map[string]string, error) {
	vars, err := procfile.ReadEnv(envPaths(o, dir)...)
	if len(o.envFiles) == 0 && errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil // a missing default .env is fine
	}
	return vars, err
}

// envPaths lists the env files: the -e list, or the root's .env.
func envPaths(o options, dir string) []string {
	if len(o.envFiles) > 0 {
		return o.envFiles
	}
	return []string{filepath.Join(dir, ".env")}
}

// basePortFrom picks the first port: -p, then the inherited PORT, then the
// env files' PORT, then 5000; and says where it came from, for messages (a
// PORT from an env file is named by its file and line). With -N no PORT
// is set, so none is read: an inherited one passes through to the
// processes as it is.
func basePortFrom(o options, dir string, environ []string, fileEnv map[string]string) (int, string, error) {
	switch v, ok := lookup(environ, "PORT"); {
	case o.portSet:
		return o.port, "-p/--port or CINIT_PORT", nil
	case o.noPort:
		return 5000, "the default", nil
	case ok && v != "":
		port, err := parsePort(v, "the PORT environment variable")
		return port, "the PORT environment variable", err
	}
	if v, ok := fileEnv["PORT"]; ok && v != "" {
		from := "PORT in the env file"
		if at := procfile.Where("PORT", envPaths(o, dir)...); at != "" {
			from = "PORT at " + at
		}
		port, err := parsePort(v, from)
		return port, from, err
	}
	return 5000, "the default", nil
}

// checkPorts refuses instances whose PORT would be over 65535: the base
// port plus 100 for each process type before them and one for each
// instance before them of their own type.
func checkPorts(instances []procfile.Instance, base int, from string) error {
	for _, in := range instances {
		if in.Port > 65535 {
			return usagef("the port of %s would be %d, over 65535: lower the base port %d (%s)", in.Name, in.Port, base, from)
		}
	}
	return nil
}

// sharedPorts warns of the first two instances that get the same PORT: a
// type runs over 100 instances into the ports of the type after it.
func sharedPorts(instances []procfile.Instance) []string {
	by := map[int]string{}
	for _, in := range instances {
		if other, ok := by[in.Port]; ok {
			return []string{fmt.Sprintf("%s and %s both get PORT %d: a type of over 100 instances takes the ports of the next", other, in.Name, in.Port)}
		}
		by[in.Port] = in.Name
	}
	return nil
}

// parsePort reads a base port found in where.
func parsePort(v, where string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%s: %q is not a port number", where, v)
	}
	return n, nil
}

// lookup finds key in an environ-style list.
func lookup(environ []string, key string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// mergeEnv returns the env-file variables overridden by the inherited
// environment (README, "Environment": what docker run -e sets wins over a
// baked-in .env), sorted for a stable result.
func mergeEnv(fileEnv map[string]string, environ []string) []string {
	merged := make(map[string]string, len(fileEnv)+len(environ))
	for k, v := range fileEnv {
		merged[k] = v
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			merged[k] = v
		}
	}
	out := make([]string, 0, len(merged))
	for k, v := range merged {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
