package export

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cinit/cinit/supervisor"
)

// compose renders compose.yaml: one service per process type (split) or
// one service running cinit start (single). Compose interpolates every
// value, so the emitter doubles every "$".
func (j *job) compose() ([]File, error) {
	keys, err := j.envKeys()
	if err != nil {
		return nil, err
	}
	secrets, err := j.composeSecrets()
	if err != nil {
		return nil, err
	}
	const file = "compose.yaml"
	services := mapping{}
	if j.opt.Layout == "single" {
		j.splitWarnings(nil, false)
		services = services.set(j.app, j.singleService(keys))
	} else {
		j.splitWarnings(func(*proc) string { return file }, true)
		for _, p := range j.procs {
			services = services.set(p.norm, j.composeService(p, keys))
		}
	}
	doc := mapping{}.set("name", j.app).set("services", services)
	if len(secrets) > 0 {
		doc = doc.set("secrets", secrets)
	}
	var b strings.Builder
	b.WriteString(j.header(file))
	e := &emitter{dollars: true}
	e.document(doc)
	b.WriteString(e.b.String())
	return []File{{file, []byte(b.String())}}, nil
}

// composeSecrets declares each env file as a file secret, its path
// relative to the directory of compose.yaml.
func (j *job) composeSecrets() (mapping, error) {
	if !j.envFromSecret() || len(j.in.EnvFiles) == 0 {
		return nil, nil
	}
	base := j.opt.Dir
	if base == "-" || base == "" {
		base = "."
	}
	abs, err := filepath.Abs(base)
	if err != nil {
		return nil, errorf("export: %v", err)
	}
	m := mapping{}
	for i, path := range j.in.EnvFiles {
		rel, err := filepath.Rel(abs, path)
		if err != nil {
			rel = path
		}
		if err := checkText("env file path", rel); err != nil {
			return nil, Error{err.Error()}
		}
		m = m.set(secretName(i), mapping{}.set("file", rel))
	}
	j.note("", "the env files travel as file secrets, read by cinit in the container; their values are not in this file")
	return m, nil
}

// secretName names the i-th env file's secret.
func secretName(i int) string { return "cinit-env-" + strconv.Itoa(i+1) }

// composeService is the Compose service of p.
func (j *job) composeService(p *proc, keys []string) mapping {
	s := mapping{}.set("image", j.opt.Image).set("entrypoint", strList([]string{j.opt.Cinit, "run", p.name}))
	if j.opt.Workdir != "" {
		s = s.set("working_dir", j.opt.Workdir)
	}
	s = s.set("environment", strMap(j.runEnv(p, keys)))
	if p.port > 0 && !p.pol.Oneshot {
		s = s.set("expose", []any{strconv.Itoa(p.port)})
		if p.name == "web" && p.count == 1 {
			s = s.set("ports", []any{fmt.Sprintf("%d:%d", p.port, p.port)})
		}
		if p.name == "web" && p.count > 1 {
			j.warn("compose.yaml", "no fixed host port for several web replicas")
		}
	}
	s = s.set("deploy", mapping{}.set("replicas", p.count))
	s = s.set("restart", composeRestart(p))
	if p.pol.Oneshot && j.in.ReadyTimeout > 0 {
		j.warn("compose.yaml", "--ready-timeout does not bound the oneshot "+p.name+": Compose has no deadline for a service to complete")
	}
	if deps := j.dependsOn(p); len(deps) > 0 {
		s = s.set("depends_on", deps)
	}
	if p.pol.Ready.Kind != "" && !p.pol.Oneshot {
		s = s.set("healthcheck", j.healthcheck(j.readyArgv(p)))
	}
	s = s.set("stop_grace_period", strconv.Itoa(j.graceSeconds())+"s")
	return j.withSecrets(s, keys)
}

// composeRestart maps the restart policy. Compose never gives up on
// always; on-failure stops after 5 tries, as cinit's 5 restarts in 60 s.
func composeRestart(p *proc) string {
	switch p.pol.Restart {
	case supervisor.RestartOnFailure:
		return "on-failure:5"
	case supervisor.RestartAlways:
		return "always"
	}
	return "no"
}

// dependsOn maps --after: a oneshot must finish with 0, a type with a
// readiness check must be healthy, any other must have started.
func (j *job) dependsOn(p *proc) mapping {
	m := mapping{}
	for _, d := range p.pol.After {
		dep := j.byName[d]
		cond := "service_started"
		switch {
		case dep.pol.Oneshot:
			cond = "service_completed_successfully"
		case dep.pol.Ready.Kind != "":
			cond = "service_healthy"
		}
		m = m.set(dep.norm, mapping{}.set("condition", cond))
	}
	return m
}

// healthcheck runs cinit ready; start_period is the ready timeout (24 h
// without one: cinit waits forever, Compose must not mark it unhealthy).
func (j *job) healthcheck(argv []string) mapping {
	period := "24h"
	if j.in.ReadyTimeout > 0 {
		period = j.in.ReadyTimeout.String()
	}
	test := append([]any{"CMD"}, strList(argv)...)
	return mapping{}.set("test", test).set("interval", "5s").set("timeout", "2s").set("retries", 3).
		set("start_period", period).set("start_interval", "1s")
}

// withSecrets mounts the env files where CINIT_ENV_FILES points.
func (j *job) withSecrets(s mapping, keys []string) mapping {
	if !j.envFromSecret() || len(keys) == 0 {
		return s
	}
	var list []any
	for i, k := range keys {
		list = append(list, mapping{}.set("source", secretName(i)).set("target", secretDir+"/"+k))
	}
	return s.set("secrets", list)
}

// singleService runs the whole Procfile with cinit start.
func (j *job) singleService(keys []string) mapping {
	s := mapping{}.set("image", j.opt.Image).set("entrypoint", strList([]string{j.opt.Cinit, "start"}))
	if j.opt.Workdir != "" {
		s = s.set("working_dir", j.opt.Workdir)
	}
	s = s.set("environment", strMap(j.startEnv(keys)))
	var expose []any
	for _, p := range j.procs {
		for n := range p.count {
			if p.port > 0 && !p.pol.Oneshot {
				expose = append(expose, strconv.Itoa(p.port+n))
			}
		}
	}
	if len(expose) > 0 {
		s = s.set("expose", expose)
	}
	s = s.set("restart", "no").set("stop_grace_period", strconv.Itoa(j.singleGrace())+"s")
	return j.withSecrets(s, keys)
}

// strList is a list of strings.
func strList(argv []string) []any {
	out := make([]any, len(argv))
	for i, a := range argv {
		out[i] = a
	}
	return out
}

// strMap is a mapping of strings, sorted by key.
func strMap(m map[string]string) mapping {
	out := mapping{}
	for _, k := range sortedKeys(m) {
		out = out.set(k, m[k])
	}
	return out
}
