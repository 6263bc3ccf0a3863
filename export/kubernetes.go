package export

import (
	"fmt"
	"strings"
)

// kubernetes renders one file per process type (split: a Deployment, or a
// Job for a oneshot nothing waits for, then its Service) or one Deployment
// running cinit start (single).
func (j *job) kubernetes() ([]File, error) {
	keys, err := j.envKeys()
	if err != nil {
		return nil, err
	}
	j.secretNote(keys)
	if j.opt.Layout == "single" {
		j.splitWarnings(nil, false)
		name := j.app + ".yaml"
		return []File{{name, j.yamlFile(name, j.singleDeployment(keys))}}, nil
	}
	file := func(p *proc) string { return j.app + "-" + p.norm + ".yaml" }
	for _, p := range j.procs {
		waited := j.hasDependents(p) && (p.pol.Ready.Kind == "tcp" || p.pol.Ready.Kind == "http")
		if q := j.byNorm("wait-" + p.norm); q != nil && waited {
			return nil, errorf("Procfile:%d: process %q has the name of the container that waits for %q", q.line, q.name, p.name)
		}
	}
	j.splitWarnings(file, true)
	var docs [][]mapping
	for _, p := range j.procs {
		if p.pol.Oneshot && j.hasDependents(p) {
			docs = append(docs, nil) // an init container of each dependent's pod
			continue
		}
		docs = append(docs, j.workload(p, keys))
	}
	// The header of each file holds every finding, so files are joined
	// once all workloads are built.
	var files []File
	for i, p := range j.procs {
		if docs[i] != nil {
			files = append(files, File{file(p), j.yamlFile(file(p), docs[i]...)})
		}
	}
	return files, nil
}

// yamlFile joins documents under the file's header.
func (j *job) yamlFile(name string, docs ...mapping) []byte {
	var b strings.Builder
	b.WriteString(j.header(name))
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		e := &emitter{}
		e.document(d)
		b.WriteString(e.b.String())
	}
	return []byte(b.String())
}

// secretNote tells how the env files reach the cluster.
func (j *job) secretNote(keys []string) {
	if !j.envFromSecret() || len(keys) == 0 {
		return
	}
	if j.opt.Format != "kubernetes" {
		return
	}
	cmd := "kubectl create secret generic " + j.app + "-env"
	if j.opt.Namespace != "" {
		cmd += " --namespace " + j.opt.Namespace
	}
	for i, path := range j.in.EnvFiles {
		cmd += " " + shellQuote("--from-file="+keys[i]+"="+path)
	}
	j.notes = append(j.notes, "create the env files' secret before applying: "+cmd)
	j.note("", "the env files travel in the Secret "+j.app+"-env: "+cmd)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// byNorm finds the type whose object name is norm.
func (j *job) byNorm(norm string) *proc {
	for _, p := range j.procs {
		if p.norm == norm {
			return p
		}
	}
	return nil
}

// hasDependents reports whether another type starts after p.
func (j *job) hasDependents(p *proc) bool {
	for _, q := range j.procs {
		for _, d := range q.pol.After {
			if d == p.name {
				return true
			}
		}
	}
	return false
}

// labels are the labels of p's objects; the selector is the first two.
func (j *job) labels(p *proc, all bool) mapping {
	m := mapping{}
	if p != nil {
		m = m.set("app.kubernetes.io/component", p.norm)
	}
	if all {
		m = m.set("app.kubernetes.io/managed-by", "cinit")
	}
	return m.set("app.kubernetes.io/name", j.app)
}

// metadata is an object's name, namespace, labels and annotations.
func (j *job) metadata(name string, p *proc) mapping {
	m := mapping{}.set("name", name)
	if j.opt.Namespace != "" {
		m = m.set("namespace", j.opt.Namespace)
	}
	m = m.set("labels", j.labels(p, true))
	if p != nil {
		m = m.set("annotations", mapping{}.set("cinit/process-type", p.name))
	}
	return m
}

// workload is p's Deployment or Job, and its Service when something
// reaches it over the network.
func (j *job) workload(p *proc, keys []string) []mapping {
	name := j.app + "-" + p.norm
	file := name + ".yaml"
	pod := j.podSpec(p, keys, file)
	tmeta := mapping{}.set("labels", j.labels(p, true)).set("annotations", mapping{}.set("cinit/process-type", p.name))
	if p.pol.Oneshot {
		backoff := 0
		if p.pol.Restart != 0 {
			backoff = 5
		}
		j.note(file, "a Job cannot be changed once created: delete "+name+" before applying a new version")
		pod = append(mapping{}.set("restartPolicy", "Never"), pod...)
		spec := mapping{}.set("completions", p.count).set("parallelism", p.count).set("backoffLimit", backoff)
		if j.in.ReadyTimeout > 0 { // cinit fails a oneshot not done within it
			spec = spec.set("activeDeadlineSeconds", ceilSeconds(j.in.ReadyTimeout))
		}
		spec = spec.set("template", mapping{}.set("metadata", tmeta).set("spec", pod))
		return []mapping{j.object("batch/v1", "Job", name, p, spec)}
	}
	if p.pol.Restart != 0 {
		j.note(file, "Kubernetes restarts every exit, with its own back-off (10 s to 5 min), and never gives up")
	}
	spec := mapping{}.set("replicas", p.count).
		set("selector", mapping{}.set("matchLabels", j.labels(p, false))).
		set("template", mapping{}.set("metadata", tmeta).set("spec", pod))
	docs := []mapping{j.object("apps/v1", "Deployment", name, p, spec)}
	if port := j.servicePort(p); port > 0 {
		docs = append(docs, j.service(name, p, port))
	}
	return docs
}

// object is a top-level Kubernetes object.
func (j *job) object(apiVersion, kind, name string, p *proc, spec mapping) mapping {
	return mapping{}.set("apiVersion", apiVersion).set("kind", kind).set("metadata", j.metadata(name, p)).set("spec", spec)
}

// servicePort is the port of p's Service: the port a dependent's wait
// container probes, else web's own port; 0 for no Service.
func (j *job) servicePort(p *proc) int {
	if j.hasDependents(p) {
		if port := p.checkPort(); port > 0 && (p.pol.Ready.Kind == "tcp" || p.pol.Ready.Kind == "http") {
			return port
		}
	}
	if p.name == "web" {
		return p.port
	}
	return 0
}

// service is the ClusterIP Service in front of p.
func (j *job) service(name string, p *proc, port int) mapping {
	ports := []any{mapping{}.set("name", "tcp").set("port", port).set("targetPort", port)}
	spec := mapping{}.set("selector", j.labels(p, false)).set("ports", ports)
	return mapping{}.set("apiVersion", "v1").set("kind", "Service").set("metadata", j.metadata(name, p)).set("spec", spec)
}

// podSpec is the pod of p: its init containers (oneshots it starts after,
// waits for network checks), its container and the env files' volume.
func (j *job) podSpec(p *proc, keys []string, file string) mapping {
	pod := mapping{}.set("terminationGracePeriodSeconds", j.graceSeconds())
	var inits []any
	seen := map[string]bool{}
	j.initContainers(p, p, keys, file, &inits, seen)
	if len(inits) > 0 {
		pod = pod.set("initContainers", inits)
	}
	pod = pod.set("containers", []any{j.container(p, keys, true)})
	if j.envFromSecret() && len(keys) > 0 {
		vol := mapping{}.set("name", "cinit-env").set("secret", mapping{}.set("secretName", j.app+"-env"))
		pod = pod.set("volumes", []any{vol})
	}
	return pod
}

// initContainers adds, for each type q starts after, what makes p's pod
// wait for it: a oneshot runs as an init container (after what it waits
// for itself), a long-running type with a network check is waited for
// with cinit ready; anything else cannot be waited for (W3).
func (j *job) initContainers(p, q *proc, keys []string, file string, inits *[]any, seen map[string]bool) {
	for _, d := range q.pol.After {
		dep := j.byName[d]
		switch {
		case dep.pol.Oneshot:
			j.initContainers(p, dep, keys, file, inits, seen)
			if !seen[dep.norm] {
				seen[dep.norm] = true
				*inits = append(*inits, j.container(dep, keys, false))
				j.warn(file, fmt.Sprintf("%s runs in every %s-%s pod (%s: %d runs per rollout, concurrently)", dep.name, j.app, p.norm, plural(p.count, "replica"), p.count))
				if j.in.ReadyTimeout > 0 {
					j.warn(file, fmt.Sprintf("--ready-timeout does not bound %s as an init container: Kubernetes has no deadline for one", dep.name))
				}
				if dep.count > 1 {
					j.warn(file, fmt.Sprintf("%s runs once per pod as an init container, not %d times (its formation)", dep.name, dep.count))
				}
			}
		case dep.pol.Ready.Kind == "tcp" || dep.pol.Ready.Kind == "http":
			name := "wait-" + dep.norm
			if seen[name] {
				continue
			}
			if len(name) > 63 {
				j.warn(file, fmt.Sprintf("%s does not wait for %s on Kubernetes (%q is longer than a container name may be)", q.name, dep.name, name))
				continue
			}
			seen[name] = true
			argv := []string{j.opt.Cinit, "ready", "--wait"}
			if j.in.ReadyTimeout > 0 {
				argv = append(argv, "--timeout="+j.in.ReadyTimeout.String())
			}
			argv = append(argv, dep.remoteCheck(j.app+"-"+dep.norm))
			*inits = append(*inits, mapping{}.set("name", name).set("image", j.opt.Image).set("command", k8sList(argv)))
		default:
			j.warn(file, fmt.Sprintf("%s does not wait for %s on Kubernetes (no network check: give %s a tcp: or http: --ready check)", q.name, dep.name, dep.name))
		}
	}
}

// container runs `cinit run T`; main says whether it is p's main container
// (with its ports and probes) or an init container.
func (j *job) container(p *proc, keys []string, main bool) mapping {
	c := mapping{}.set("name", p.norm).set("image", j.opt.Image).
		set("command", k8sList([]string{j.opt.Cinit, "run", p.name}))
	if j.opt.Workdir != "" {
		c = c.set("workingDir", j.opt.Workdir)
	}
	env := j.runEnv(p, keys)
	var vars []any
	for _, k := range sortedKeys(env) {
		vars = append(vars, mapping{}.set("name", k).set("value", k8sValue(env[k])))
	}
	c = c.set("env", vars)
	if main && p.port > 0 && !p.pol.Oneshot {
		c = c.set("ports", []any{mapping{}.set("containerPort", p.port)})
	}
	if main && p.pol.Ready.Kind != "" && !p.pol.Oneshot {
		c = j.probes(c, p)
	}
	if j.envFromSecret() && len(keys) > 0 {
		c = c.set("volumeMounts", []any{mapping{}.set("name", "cinit-env").set("mountPath", secretDir).set("readOnly", true)})
	}
	return c
}

// probes adds p's readiness probe (never a liveness probe: a slow start
// must not be killed) and, with a ready timeout, a startup probe.
func (j *job) probes(c mapping, p *proc) mapping {
	var argv []any
	for _, a := range j.readyArgv(p) {
		argv = append(argv, a) // exec probes are not expanded: no $$
	}
	exec := mapping{}.set("command", argv)
	c = c.set("readinessProbe", mapping{}.set("exec", exec).set("periodSeconds", 5).set("timeoutSeconds", 2))
	if j.in.ReadyTimeout > 0 {
		c = c.set("startupProbe", mapping{}.set("exec", exec).set("periodSeconds", 1).set("timeoutSeconds", 2).
			set("failureThreshold", max(ceilSeconds(j.in.ReadyTimeout), 1)))
	}
	return c
}

// k8sValue doubles "$": the kubelet expands $(VAR) in command, args and
// env values, and turns $$ into $.
func k8sValue(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// k8sList is a command list with every "$" doubled.
func k8sList(argv []string) []any {
	out := make([]any, len(argv))
	for i, a := range argv {
		out[i] = k8sValue(a)
	}
	return out
}

// singleDeployment runs the whole Procfile in one pod with cinit start.
func (j *job) singleDeployment(keys []string) mapping {
	c := mapping{}.set("name", j.app).set("image", j.opt.Image).set("command", k8sList([]string{j.opt.Cinit, "start"}))
	if j.opt.Workdir != "" {
		c = c.set("workingDir", j.opt.Workdir)
	}
	env := j.startEnv(keys)
	var vars []any
	for _, k := range sortedKeys(env) {
		vars = append(vars, mapping{}.set("name", k).set("value", k8sValue(env[k])))
	}
	c = c.set("env", vars)
	var ports []any
	for _, p := range j.procs {
		for n := range p.count {
			if p.port > 0 && !p.pol.Oneshot {
				ports = append(ports, mapping{}.set("containerPort", p.port+n))
			}
		}
	}
	if len(ports) > 0 {
		c = c.set("ports", ports)
	}
	if j.envFromSecret() && len(keys) > 0 {
		c = c.set("volumeMounts", []any{mapping{}.set("name", "cinit-env").set("mountPath", secretDir).set("readOnly", true)})
	}
	// cinit probe answers from the running cinit start: ready once every
	// process it must wait for is ready (README "Control").
	probe := mapping{}.set("command", []any{j.opt.Cinit, "probe"})
	c = c.set("readinessProbe", mapping{}.set("exec", probe).set("periodSeconds", 5).set("timeoutSeconds", 2))
	pod := mapping{}.set("terminationGracePeriodSeconds", j.singleGrace()).set("containers", []any{c})
	if j.envFromSecret() && len(keys) > 0 {
		pod = pod.set("volumes", []any{mapping{}.set("name", "cinit-env").set("secret", mapping{}.set("secretName", j.app+"-env"))})
	}
	tmeta := mapping{}.set("labels", j.labels(nil, true))
	spec := mapping{}.set("replicas", 1).set("strategy", mapping{}.set("type", "Recreate")).
		set("selector", mapping{}.set("matchLabels", j.labels(nil, false))).
		set("template", mapping{}.set("metadata", tmeta).set("spec", pod))
	return j.object("apps/v1", "Deployment", j.app, nil, spec)
}

// startEnv is the environment of a cinit start workload: everything that
// gives it the same run as the export's flags.
func (j *job) startEnv(keys []string) map[string]string {
	env := map[string]string{}
	for k, v := range j.in.StartEnv {
		env[k] = v
	}
	for k, v := range j.runEnv(nil, keys) {
		env[k] = v
	}
	return env
}

// singleGrace covers the stop of the longest --after chain, each link
// stopping after its dependents, plus 5 s.
func (j *job) singleGrace() int {
	depth := map[string]int{}
	var chain func(p *proc) int
	chain = func(p *proc) int {
		if d, ok := depth[p.name]; ok {
			return d
		}
		d := 1
		for _, q := range j.procs {
			for _, a := range q.pol.After {
				if a == p.name {
					d = max(d, 1+chain(q))
				}
			}
		}
		depth[p.name] = d
		return d
	}
	longest := 1
	for _, p := range j.procs {
		longest = max(longest, chain(p))
	}
	return ceilSeconds(j.in.Grace)*longest + 5
}

// plural says "1 replica" or "N replicas".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
