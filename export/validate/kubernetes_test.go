package validate

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifest is the decoded output of cinit export kubernetes.
type manifest struct {
	deployments map[string]*appsv1.Deployment
	jobs        map[string]*batchv1.Job
	services    map[string]*corev1.Service
}

// decodeKubernetes splits the stream as kubectl does and decodes every
// document strictly (unknown fields and duplicate keys fail) into its
// k8s.io/api type; any other kind fails.
func decodeKubernetes(t *testing.T, stream string) *manifest {
	t.Helper()
	m := &manifest{map[string]*appsv1.Deployment{}, map[string]*batchv1.Job{}, map[string]*corev1.Service{}}
	r := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			strict(t, doc, d)
			m.deployments[d.Name] = d
		case "batch/v1 Job":
			j := &batchv1.Job{}
			strict(t, doc, j)
			m.jobs[j.Name] = j
		case "v1 Service":
			s := &corev1.Service{}
			strict(t, doc, s)
			m.services[s.Name] = s
		default:
			t.Fatalf("unexpected kind %q:\n%s", head.APIVersion+" "+head.Kind, doc)
		}
	}
	return m
}

func strict(t *testing.T, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("strict decoding: %v\n%s", err, doc)
	}
}

// check applies the rules the API server enforces and the decoder does
// not, and cinit's own: no liveness probe, exactly one probe handler,
// selectors that match the pod, unique container names.
func (m *manifest) check(t *testing.T) {
	t.Helper()
	for name, d := range m.deployments {
		label(t, "Deployment", name)
		meta(t, name, d.Labels, d.Annotations)
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("%s: selector %s=%s not in the pod's labels", name, k, v)
			}
		}
		if p := d.Spec.Template.Spec.RestartPolicy; p != "" && p != corev1.RestartPolicyAlways {
			t.Errorf("%s: restartPolicy %s in a Deployment", name, p)
		}
		pod(t, name, d.Spec.Template.Spec)
	}
	for name, j := range m.jobs {
		label(t, "Job", name)
		meta(t, name, j.Labels, j.Annotations)
		if p := j.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
			t.Errorf("%s: restartPolicy %q in a Job", name, p)
		}
		pod(t, name, j.Spec.Template.Spec)
	}
	for name, s := range m.services {
		if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
			t.Errorf("Service %q: %v", name, errs)
		}
		meta(t, name, s.Labels, s.Annotations)
		if d := m.deployments[name]; d == nil || !subset(s.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service %s selects no Deployment's pods", name)
		}
		for _, p := range s.Spec.Ports {
			if errs := validation.IsValidPortNum(int(p.Port)); len(errs) > 0 {
				t.Errorf("Service %s: %v", name, errs)
			}
		}
	}
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

func label(t *testing.T, kind, name string) {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		t.Errorf("%s %q: %v", kind, name, errs)
	}
}

func meta(t *testing.T, name string, labels, annotations map[string]string) {
	for k, v := range labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Errorf("%s: label %s=%s: %v", name, k, v, errs)
		}
	}
	for k := range annotations {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.Errorf("%s: annotation %s: %v", name, k, errs)
		}
	}
}

func pod(t *testing.T, name string, spec corev1.PodSpec) {
	seen := map[string]bool{}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		label(t, "container of "+name, c.Name)
		if seen[c.Name] {
			t.Errorf("%s: two containers named %s", name, c.Name)
		}
		seen[c.Name] = true
		if c.LivenessProbe != nil {
			t.Errorf("%s/%s: a liveness probe", name, c.Name)
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.StartupProbe} {
			if p != nil && (p.Exec == nil || p.HTTPGet != nil || p.TCPSocket != nil || p.GRPC != nil) {
				t.Errorf("%s/%s: a probe without exactly one exec handler", name, c.Name)
			}
		}
		for _, e := range c.Env {
			if errs := validation.IsEnvVarName(e.Name); len(errs) > 0 {
				t.Errorf("%s/%s: env %s: %v", name, c.Name, e.Name, errs)
			}
		}
		for _, p := range c.Ports {
			if errs := validation.IsValidPortNum(int(p.ContainerPort)); len(errs) > 0 {
				t.Errorf("%s/%s: %v", name, c.Name, errs)
			}
		}
	}
}

// container returns the main container of a Deployment.
func (m *manifest) container(t *testing.T, name string) corev1.Container {
	t.Helper()
	d := m.deployments[name]
	if d == nil || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("no Deployment %s with one container", name)
	}
	return d.Spec.Template.Spec.Containers[0]
}

// envOf returns a container's env as the kubelet would pass it.
func envOf(c corev1.Container) []string {
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name+"="+unexpand(e.Value))
	}
	return env
}

func TestKubernetesHostileWorkloads(t *testing.T) {
	p := newProject(t, hostileProcfile(), map[string]string{})
	out := p.export(t, "kubernetes", "-", "--image", "registry.example/shop:1.4", "--cinit", cinitBin,
		"--ready", "a="+hostileCheck, "-c", "all")
	m := decodeKubernetes(t, out)
	m.check(t)
	for i, want := range hostileOutputs {
		typ := string(rune('a' + i))
		c := m.container(t, "shop-"+typ)
		argv := make([]string, len(c.Command))
		for j, a := range c.Command {
			argv[j] = unexpand(a)
		}
		if !slices.Equal(argv, []string{cinitBin, "run", typ}) {
			t.Errorf("%s: command %q", typ, argv)
		}
		// The workload runs the Procfile's command exactly, in the image's
		// directory holding the same Procfile.
		if got := runWorkload(t, p.dir, argv, envOf(c)); got != want+"\n" {
			t.Errorf("%s printed %q, want %q", typ, got, want)
		}
	}
	probe := m.container(t, "shop-a").ReadinessProbe.Exec.Command
	if want := []string{cinitBin, "ready", "--for", "a", hostileCheck}; !slices.Equal(probe, want) {
		t.Errorf("probe %q, want %q", probe, want)
	}
}

func TestKubernetesMapping(t *testing.T) {
	p := newProject(t, "db: a\nmigrate: b\nweb: c\nsmoke: curl http://127.0.0.1:5200/h\nworker: d\n",
		map[string]string{".env": "SECRET=hunter2\n", "prod.env": "TOKEN=x\n"})
	out := p.export(t, "kubernetes", "-", "--image", "r/shop:1", "-a", "shop", "-m", "web=2,smoke=0",
		"--oneshot", "migrate", "--after", "migrate=db,web=migrate,smoke=web", "--ready", "db=tcp:5432",
		"--ready", "web=http:http://127.0.0.1:5200/health", "--ready-timeout", "60s", "-t", "1.5",
		"--stop-signal", "web=QUIT", "-e", ".env", "-e", "prod.env", "--namespace", "prod")
	m := decodeKubernetes(t, out)
	m.check(t)
	if strings.Contains(out, "hunter2") {
		t.Fatal("an env value in the output")
	}
	web := m.deployments["shop-web"]
	spec := web.Spec.Template.Spec
	if *web.Spec.Replicas != 2 || *m.deployments["shop-smoke"].Spec.Replicas != 0 || web.Namespace != "prod" {
		t.Errorf("replicas or namespace wrong")
	}
	if *spec.TerminationGracePeriodSeconds != 7 {
		t.Errorf("grace %d, want 7", *spec.TerminationGracePeriodSeconds)
	}
	var inits []string
	for _, c := range spec.InitContainers {
		inits = append(inits, strings.Join(c.Command, " "))
	}
	want := []string{"cinit ready --wait --timeout=1m0s tcp:shop-db:5432", "cinit run migrate"}
	if !slices.Equal(inits, want) {
		t.Errorf("init containers %q, want %q", inits, want)
	}
	c := m.container(t, "shop-web")
	env := strings.Join(envOf(c), " ")
	for _, kv := range []string{"CINIT_PORT=5000", "CINIT_TIMEOUT=1.5s", "CINIT_STOP_SIGNAL=web=QUIT",
		"CINIT_ENV_FILES=/run/secrets/cinit-env/.env,/run/secrets/cinit-env/prod.env"} {
		if !strings.Contains(env, kv) {
			t.Errorf("no %s in %s", kv, env)
		}
	}
	if c.Ports[0].ContainerPort != 5200 || c.StartupProbe.FailureThreshold != 60 || c.StartupProbe.PeriodSeconds != 1 {
		t.Errorf("port or startup probe wrong: %+v %+v", c.Ports, c.StartupProbe)
	}
	if v := spec.Volumes[0].Secret; v == nil || v.SecretName != "shop-env" || c.VolumeMounts[0].MountPath != "/run/secrets/cinit-env" {
		t.Errorf("secret volume wrong: %+v", spec.Volumes)
	}
	if s := m.services["shop-db"]; s == nil || s.Spec.Ports[0].Port != 5432 {
		t.Errorf("no Service shop-db on 5432")
	}
	if _, ok := m.deployments["shop-migrate"]; ok {
		t.Errorf("migrate, an init container, has its own Deployment")
	}
}

func TestKubernetesJobAndSingle(t *testing.T) {
	p := newProject(t, "web: a\nseed: b\napi: c\n", map[string]string{})
	m := decodeKubernetes(t, p.export(t, "kubernetes", "-", "--image", "r/shop:1", "--oneshot", "seed", "-r", "seed=on-failure", "-m", "seed=3"))
	m.check(t)
	j := m.jobs["shop-seed"]
	if j == nil || *j.Spec.BackoffLimit != 5 || *j.Spec.Completions != 3 || *j.Spec.Parallelism != 3 {
		t.Fatalf("Job wrong: %+v", j)
	}
	ready := "web=exec:test \"$X\" = '100%',api=file:/tmp/a b"
	m = decodeKubernetes(t, p.export(t, "kubernetes", "-", "--image", "r/shop:1", "--layout", "single", "--oneshot", "seed",
		"--ready", ready, "--after", "seed=web", "-c", "seed"))
	m.check(t)
	d := m.deployments["shop"]
	if d == nil || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Fatalf("no Recreate Deployment shop")
	}
	// Ready means cinit probe says so: the running cinit start answers.
	c := d.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.Exec == nil || !slices.Equal(c.ReadinessProbe.Exec.Command, []string{"cinit", "probe"}) {
		t.Errorf("single Deployment readiness probe %+v, want exec cinit probe", c.ReadinessProbe)
	}
	// The CINIT_* values give cinit start the same policies.
	env := envOf(c)
	got, _, _ := p.runWith(t, env, "check")
	want, _, _ := p.run(t, "check", "--oneshot", "seed", "--ready", ready, "--after", "seed=web", "-c", "seed")
	if got != want {
		t.Errorf("cinit check with the Deployment's env:\n%s\nwith the flags:\n%s", got, want)
	}
}

// runWith runs cinit in the project with env added.
func (p *project) runWith(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := append([]string{"env"}, env...)
	cmd = append(cmd, cinitBin)
	out := runWorkload(t, p.dir, append(cmd, args...), nil)
	return out, "", 0
}
