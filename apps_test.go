package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRealApplications runs nginx, redis-server and Python's HTTP server
// from Debian's packages under cinit, requests each, and stops them with
// SIGTERM: all three served, all stopped within the grace period with
// exit 0, redis saved its data on the way down, and nginx's access log
// reached cinit's output under its name.
func TestRealApplications(t *testing.T) {
	nginx := requireTool(t, "nginx")
	redis := requireTool(t, "redis-server")
	python := requireTool(t, "python3")
	dir := t.TempDir()
	ports := map[string]int{"nginx": freePort(t), "redis": freePort(t), "web": freePort(t)}
	writeNginxConf(t, dir, ports["nginx"])
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("python ok\n"), 0o644)
	procfile := fmt.Sprintf(`nginx: %s -p %s -c nginx.conf -e stderr
redis: %s --port %d --bind 127.0.0.1 --dir %s --save "3600 1" --appendonly no
web: %s -m http.server %d --bind 127.0.0.1 --directory %s
`, nginx, dir, redis, ports["redis"], dir, python, ports["web"], dir)
	os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o644)

	r := startCinit(t, dir, nil, "-N", "-t", "10s", "--stop-signal", "nginx=QUIT",
		"--ready", fmt.Sprintf("nginx=tcp:%d,redis=tcp:%d,web=tcp:%d", ports["nginx"], ports["redis"], ports["web"]))
	r.waitAll("cinit", "nginx is ready", "redis is ready", "web is ready")
	if body := httpGet(t, ports["nginx"]); body != "nginx ok\n" {
		t.Errorf("nginx answered %q", body)
	}
	if body := httpGet(t, ports["web"]); body != "python ok\n" {
		t.Errorf("python answered %q", body)
	}
	if reply := redisCommand(t, ports["redis"], "SET", "cinit", "kept"); reply != "+OK" {
		t.Errorf("redis answered %q", reply)
	}
	r.waitLine("nginx", `"GET / HTTP/1.1" 200`)
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 {
		t.Fatalf("exit %d, want 0; output:\n%s", code, tail(lines))
	}
	if strings.Contains(strings.Join(lines, "\n"), "sending SIGKILL") {
		t.Errorf("something needed SIGKILL:\n%s", tail(lines))
	}
	if st, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil || st.Size() == 0 {
		t.Errorf("redis did not save its data on the way down: %v", err)
	}
}

// writeNginxConf writes a foreground nginx configuration that serves a
// fixed answer on port and logs requests to stdout.
func writeNginxConf(t *testing.T, dir string, port int) {
	t.Helper()
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
	access_log /dev/stdout;
	client_body_temp_path %[1]s/client;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen 127.0.0.1:%[2]d;
		location / { return 200 "nginx ok\n"; }
	}
}
`, dir, port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// httpGet fetches / on a loopback port.
func httpGet(t *testing.T, port int) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// redisCommand sends one command in RESP and returns the first reply line.
func redisCommand(t *testing.T, port int, args ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c, "$%d\r\n%s\r\n", len(a), a)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(line, "\r\n")
}
