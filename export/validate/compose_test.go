package validate

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads compose.yaml of dir with compose-go's loader: schema
// validation, interpolation in an empty environment (an undoubled $X
// would become "" and fail the comparisons), consistency checks.
func loadCompose(t *testing.T, dir string) *types.Project {
	t.Helper()
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml")}},
		Environment: types.Mapping{},
	}
	p, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("shop", true)
	})
	if err != nil {
		data, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
		t.Fatalf("compose-go: %v\n%s", err, data)
	}
	return p
}

func TestComposeHostileWorkloads(t *testing.T) {
	p := newProject(t, hostileProcfile(), map[string]string{})
	out := filepath.Join(p.dir, "deploy")
	p.export(t, "compose", out, "--image", "registry.example/shop:1.4", "--cinit", cinitBin,
		"--ready", "a="+hostileCheck, "-c", "all", "--env-from", "image")
	proj := loadCompose(t, out)
	for i, want := range hostileOutputs {
		typ := string(rune('a' + i))
		s, ok := proj.Services[typ]
		if !ok {
			t.Fatalf("no service %s", typ)
		}
		argv := []string(s.Entrypoint)
		if !slices.Equal(argv, []string{cinitBin, "run", typ}) {
			t.Errorf("%s: entrypoint %q", typ, argv)
		}
		var env []string
		for k, v := range s.Environment {
			env = append(env, k+"="+*v)
		}
		if got := runWorkload(t, p.dir, argv, env); got != want+"\n" {
			t.Errorf("%s printed %q, want %q", typ, got, want)
		}
	}
	test := []string(proj.Services["a"].HealthCheck.Test)
	if want := []string{"CMD", cinitBin, "ready", "--for", "a", hostileCheck}; !slices.Equal(test, want) {
		t.Errorf("healthcheck %q, want %q", test, want)
	}
}

func TestComposeMapping(t *testing.T) {
	p := newProject(t, "db: a\nmigrate: b\nweb: c\nsmoke: d\n",
		map[string]string{".env": "SECRET=hunter2\n", "prod.env": "TOKEN=x\n"})
	out := filepath.Join(p.dir, "deploy")
	p.export(t, "compose", out, "--image", "r/shop:1", "--oneshot", "migrate", "--after", "migrate=db,web=migrate,smoke=web",
		"--ready", "db=tcp:5432", "--ready", "web=http:http://127.0.0.1:5200/health", "--ready-timeout", "60s",
		"-t", "1.5", "--stop-signal", "web=QUIT", "-r", "db=always,smoke=on-failure", "-e", ".env", "-e", "prod.env", "-m", "smoke=0")
	proj := loadCompose(t, out)
	s := proj.Services
	dep := func(svc, on string) string { return s[svc].DependsOn[on].Condition }
	if dep("migrate", "db") != "service_healthy" || dep("web", "migrate") != "service_completed_successfully" || dep("smoke", "web") != "service_healthy" {
		t.Errorf("depends_on wrong: %+v %+v %+v", s["migrate"].DependsOn, s["web"].DependsOn, s["smoke"].DependsOn)
	}
	for svc, want := range map[string]string{"db": "always", "migrate": "no", "web": "no", "smoke": "on-failure:5"} {
		if s[svc].Restart != want {
			t.Errorf("%s restart %q, want %q", svc, s[svc].Restart, want)
		}
	}
	web := s["web"]
	if time.Duration(*web.StopGracePeriod) != 7*time.Second || *web.Deploy.Replicas != 1 || *s["smoke"].Deploy.Replicas != 0 {
		t.Errorf("grace or replicas wrong")
	}
	if time.Duration(*web.HealthCheck.StartPeriod) != time.Minute {
		t.Errorf("start_period %v", *web.HealthCheck.StartPeriod)
	}
	if v := web.Environment["CINIT_STOP_SIGNAL"]; v == nil || *v != "web=QUIT" {
		t.Errorf("CINIT_STOP_SIGNAL %v", v)
	}
	if v := web.Environment["CINIT_ENV_FILES"]; v == nil || *v != "/run/secrets/cinit-env/.env,/run/secrets/cinit-env/prod.env" {
		t.Errorf("CINIT_ENV_FILES %v", v)
	}
	var targets []string
	for _, sec := range web.Secrets {
		f := proj.Secrets[sec.Source].File
		if data, err := os.ReadFile(f); err != nil || len(data) == 0 {
			t.Errorf("secret %s: file %s: %v", sec.Source, f, err)
		}
		targets = append(targets, sec.Target)
	}
	if !slices.Equal(targets, []string{"/run/secrets/cinit-env/.env", "/run/secrets/cinit-env/prod.env"}) {
		t.Errorf("secret targets %q", targets)
	}
	data, _ := os.ReadFile(filepath.Join(out, "compose.yaml"))
	if strings.Contains(string(data), "hunter2") || strings.Contains(string(data), "TOKEN") {
		t.Errorf("an env value in compose.yaml")
	}
}

func TestComposeYAMLTraps(t *testing.T) {
	// Values YAML 1.1 would read as a boolean, a number or a null.
	p := newProject(t, "web: a\non: b\n", map[string]string{})
	out := filepath.Join(p.dir, "deploy")
	p.export(t, "compose", out, "--image", "r/shop:1", "-a", "no", "-p", "22", "--ready", "web=exec:0755,on=exec:~", "-c", "all")
	proj := loadCompose(t, out)
	if proj.Services["web"].HealthCheck.Test[5] != "exec:0755" || proj.Services["on"].HealthCheck.Test[5] != "exec:~" {
		t.Errorf("healthchecks %q %q", proj.Services["web"].HealthCheck.Test, proj.Services["on"].HealthCheck.Test)
	}
	if v := proj.Services["web"].Environment["CINIT_PORT"]; *v != "22" || proj.Services["web"].Ports[0].Published != "22" {
		t.Errorf("port %v %+v", *v, proj.Services["web"].Ports)
	}
	// Keys too: services named like a boolean, a null, a number or a
	// YAML 1.1 timestamp (compose-go refused the file: "non-string key"),
	// a dependency on one, and the app of the single layout.
	p = newProject(t, "web: a\ntrue: b\nnull: c\n123: d\n1e3: e\n2024-01-01: f\n", map[string]string{})
	out = filepath.Join(p.dir, "deploy")
	p.export(t, "compose", out, "--image", "r/shop:1", "-a", "shop", "--after", "web=123+null", "-c", "all")
	proj = loadCompose(t, out)
	for _, name := range []string{"web", "true", "null", "123", "1e3", "2024-01-01"} {
		if _, ok := proj.Services[name]; !ok {
			t.Errorf("no service %q: %v", name, slices.Collect(maps.Keys(proj.Services)))
		}
	}
	if d := proj.Services["web"].DependsOn; len(d) != 2 || d["123"].Condition == "" || d["null"].Condition == "" {
		t.Errorf("depends_on %+v", d)
	}
	p.export(t, "compose", filepath.Join(p.dir, "single"), "--image", "r/shop:1", "-a", "true", "--layout", "single")
	if proj = loadCompose(t, filepath.Join(p.dir, "single")); proj.Services["true"].Name != "true" {
		t.Errorf("single layout: services %v", slices.Collect(maps.Keys(proj.Services)))
	}
}
