package control

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hangLimit only stops a hung test; it never decides a pass.
const hangLimit = 30 * time.Second

func TestDecodeRequest(t *testing.T) {
	cases := []struct {
		line string
		code string // "" for a valid request
	}{
		{`{"v":1,"cmd":"status"}`, ""},
		{`{"v":1,"cmd":"status","names":["web"],"extra":{"x":[1,2]}}`, ""},
		{`  {"v":1,"cmd":"status"}  `, ""},
		{`not json`, BadRequest},
		{``, BadRequest},
		{`[1]`, BadRequest},
		{`null`, BadRequest},
		{`{"cmd":"status"}`, BadRequest},
		{`{"v":1}`, BadRequest},
		{`{"v":"1","cmd":"status"}`, BadRequest},
		{`{"v":1,"cmd":"status","names":"web"}`, BadRequest},
		{`{"v":1,"cmd":"status"} {"v":1}`, BadRequest},
		{`{"v":99,"cmd":"status"}`, UnsupportedVersion},
		{`{"v":0,"cmd":"status"}`, UnsupportedVersion},
		{`{"v":1,"cmd":"status","pad":"` + strings.Repeat("x", MaxRequest) + `"}`, TooLarge},
	}
	for _, c := range cases {
		req, err := DecodeRequest([]byte(c.line))
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%.40q: %v", c.line, err)
		case c.code != "" && err == nil:
			t.Errorf("%.40q: accepted as %+v", c.line, req)
		case c.code != "" && err.Code != c.code:
			t.Errorf("%.40q: code %s, want %s", c.line, err.Code, c.code)
		}
	}
	_, err := DecodeRequest([]byte(`{"v":2,"cmd":"x"}`))
	if len(err.Versions) != 1 || err.Versions[0] != 1 {
		t.Errorf("unsupported_version lists %v, want [1]", err.Versions)
	}
}

func TestSum256(t *testing.T) {
	for _, s := range []string{"", "a", "/srv/app", strings.Repeat("x", 55), strings.Repeat("y", 56), strings.Repeat("z", 64), strings.Repeat("w", 1000)} {
		if got, want := sum256([]byte(s)), sha256.Sum256([]byte(s)); got != want {
			t.Errorf("sum256(%d bytes) = %x, want %x", len(s), got, want)
		}
	}
}

func TestSocketName(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("n", 40))
	os.Mkdir(long, 0o755)
	link := filepath.Join(dir, "link")
	os.Symlink(long, link)
	a, _ := SocketName(long)
	b, _ := SocketName(link)
	if a != b {
		t.Errorf("through a symbolic link: %s, directly: %s", b, a)
	}
	if !strings.HasPrefix(a, strings.Repeat("n", 24)+"-") || len(a) != 24+1+8+len(".sock") {
		t.Errorf("name %q: want 24 bytes of the base, a dash, 8 hex digits, .sock", a)
	}
	other := filepath.Join(dir, "x", strings.Repeat("n", 40))
	os.MkdirAll(other, 0o755)
	if c, _ := SocketName(other); c == a {
		t.Errorf("two roots with the same base share %s", c)
	}
}

// testEnv is an Env whose three candidate directories are under a fresh
// directory.
func testEnv(t *testing.T) (Env, string) {
	base := t.TempDir()
	os.Mkdir(filepath.Join(base, "xdg"), 0o700)
	os.Mkdir(filepath.Join(base, "run"), 0o755)
	os.Mkdir(filepath.Join(base, "tmp"), 0o777)
	env := Env{Euid: os.Geteuid(), TempDir: filepath.Join(base, "tmp"), Run: filepath.Join(base, "run"),
		Getenv: func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return filepath.Join(base, "xdg")
			}
			return ""
		}}
	return env, base
}

func TestServerPathSkipsUnsafeDirectories(t *testing.T) {
	env, base := testEnv(t)
	root := t.TempDir()
	xdg := filepath.Join(base, "xdg", "cinit")
	run := filepath.Join(base, "run", "cinit")
	elsewhere := t.TempDir()
	os.Symlink(elsewhere, xdg) // a symbolic link
	os.Mkdir(run, 0o770)       // group access
	os.Chmod(run, 0o770)       // whatever the umask
	var warnings []string
	p := env.ServerPath(root, func(m string) { warnings = append(warnings, m) })
	tmp := filepath.Join(env.TempDir, "cinit-"+itoa(os.Geteuid()))
	if filepath.Dir(p) != tmp {
		t.Fatalf("path %s, want one in %s", p, tmp)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "symbolic link") || !strings.Contains(warnings[1], "mode 0770") {
		t.Errorf("warnings %q: want one for the link, one for the mode", warnings)
	}
	if st, err := os.Stat(tmp); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("made %s: %v %v, want mode 0700", tmp, st.Mode(), err)
	}
}

func TestServerPathNoDirectory(t *testing.T) {
	env, base := testEnv(t)
	env.Getenv = func(string) string { return "" }
	env.Run = filepath.Join(base, "missing", "run")
	env.TempDir = filepath.Join(base, "missing", "tmp")
	var warnings []string
	if p := env.ServerPath(t.TempDir(), func(m string) { warnings = append(warnings, m) }); p != "" {
		t.Fatalf("path %s without any directory", p)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "running without it") {
		t.Errorf("warnings %q: want exactly one", warnings)
	}
}

func TestClientPathFallsBackToTheOnlySocket(t *testing.T) {
	env, _ := testEnv(t)
	root := t.TempDir()
	p := env.ServerPath(root, func(m string) { t.Error(m) })
	if _, err := env.ClientPath(root); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("no socket: %v", err)
	}
	l, err := Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, err := env.ClientPath(root); got != p || err != nil {
		t.Errorf("same root: %s %v, want %s", got, err, p)
	}
	if got, err := env.ClientPath(t.TempDir()); got != p || err != nil {
		t.Errorf("another directory: %s %v, want the only socket %s", got, err, p)
	}
	l2, err := Listen(env.ServerPath(t.TempDir(), func(m string) { t.Error(m) }))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, err := env.ClientPath(t.TempDir()); err == nil || !strings.Contains(err.Error(), "several") {
		t.Errorf("two sockets: %v, want an error listing them", err)
	}
	if got, err := env.ClientPath(root); got != p || err != nil {
		t.Errorf("two sockets, own root: %s %v, want %s", got, err, p)
	}
}

// Root finds the socket of a cinit run by another user (its own
// directories differ); anyone else does not look there.
func TestClientPathOfAnotherUser(t *testing.T) {
	env, base := testEnv(t)
	root := t.TempDir()
	name, err := SocketName(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(base, "tmp", "cinit-1000"), filepath.Join(base, "run", "user", "1001", "cinit")} {
		os.MkdirAll(dir, 0o700)
		l, err := Listen(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		env.Euid = 0
		if got, err := env.ClientPath(root); got != filepath.Join(dir, name) || err != nil {
			t.Errorf("root: %s %v, want %s", got, err, filepath.Join(dir, name))
		}
		env.Euid = 1002
		if got, err := env.ClientPath(root); err == nil {
			t.Errorf("uid 1002 found %s", got)
		}
		l.Close()
	}
}

func TestListenLockAndStaleSocket(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.sock")
	// A stale socket: bound, then abandoned without removal, as by a
	// process that was killed.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := Dial(p, time.Now().Add(hangLimit)); err == nil || !strings.Contains(err.Error(), "stale socket") {
		t.Fatalf("dialing a stale socket: %v", err)
	}
	l, err := Listen(p)
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v, want a socket with mode 0600", st.Mode(), err)
	}
	_, err = Listen(p)
	var taken *TakenError
	if !errors.As(err, &taken) || taken.Pid != os.Getpid() {
		t.Fatalf("second Listen: %v, want a TakenError naming pid %d", err, os.Getpid())
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the refused Listen removed the socket: %v", err)
	}
	l.Close()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close the socket is still there: %v", err)
	}
	l, err = Listen(p)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	l.Close()
}

// A path longer than sun_path holds is refused by name, before bind
// fails with a bare "invalid argument".
func TestListenPathTooLong(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, strings.Repeat("s", maxPath-len(dir)))
	if _, err := Listen(p); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("Listen of a %d-byte path: %v, want a refusal naming the limit", len(p), err)
	}
	p = p[:maxPath]
	l, err := Listen(p)
	if err != nil {
		t.Fatalf("Listen of a %d-byte path: %v", len(p), err)
	}
	l.Close()
}

// Only a socket is replaced and only cinit's lock file written: a path
// that names a file of the user's is refused, and the file is kept.
func TestListenKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	procfile := filepath.Join(dir, "Procfile")
	os.WriteFile(procfile, []byte("web: sleep 1\n"), 0o644)
	if _, err := Listen(procfile); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen over a regular file: %v, want a refusal", err)
	}
	if b, err := os.ReadFile(procfile); err != nil || string(b) != "web: sleep 1\n" {
		t.Errorf("the Procfile became %q, %v", b, err)
	}
	if _, err := os.Lstat(procfile + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused path left Procfile.lock beside the Procfile: %v", err)
	}
	gem := filepath.Join(dir, "Gemfile")
	os.WriteFile(gem+".lock", []byte("GEM\n  remote: x\n"), 0o644)
	if _, err := Listen(gem); err == nil || !strings.Contains(err.Error(), "not a lock file") {
		t.Errorf("Listen with a foreign .lock file: %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(gem + ".lock"); string(b) != "GEM\n  remote: x\n" {
		t.Errorf("Gemfile.lock became %q", b)
	}
	if _, err := os.Lstat(gem); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a socket was bound beside a foreign lock file: %v", err)
	}
	// A file moved over the socket while cinit runs is not cinit's to
	// remove at exit.
	p := filepath.Join(dir, "s.sock")
	l, err := Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p+".new", []byte("data"), 0o644)
	os.Rename(p+".new", p)
	l.Close()
	if b, err := os.ReadFile(p); err != nil || string(b) != "data" {
		t.Errorf("Close removed a file that is not its socket: %q, %v", b, err)
	}
}

// serveEcho starts a server with a status command that answers {"n":1},
// a hold command answered once block is closed (each of its calls is sent
// on calls first, unless calls is nil), and a stream command that echoes
// its input.
func serveEcho(t *testing.T, block chan struct{}, calls chan<- *Call) *Server {
	l, err := Listen(filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(l)
	s.Serve(map[string]Handler{
		"status": func(c *Call) { c.Reply(Probe{OK: true}) },
		"hold": func(c *Call) {
			if calls != nil {
				calls <- c
			}
			go func() { <-block; c.Reply(nil) }()
		},
		"echo": func(c *Call) {
			c.Stream(nil, func(conn *Conn) {
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					conn.Write(append(sc.Bytes(), '\n'))
				}
			})
		},
	})
	t.Cleanup(s.Close)
	return s
}

// rawExchange writes b to the socket and returns everything the server
// sends until it closes the connection.
func rawExchange(t *testing.T, path string, b []byte) string {
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hangLimit))
	go func() {
		c.Write(b)
		if !strings.HasSuffix(string(b), "\n") {
			c.(*net.UnixConn).CloseWrite() // end of file ends the request
		}
	}()
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}

// replyCode decodes one reply line and returns its error code ("" for ok).
func replyCode(t *testing.T, line string) string {
	var r struct {
		OK    bool `json:"ok"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &r); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	if r.OK {
		return ""
	}
	return r.Error.Code
}

func TestServerBadInput(t *testing.T) {
	s := serveEcho(t, nil, nil)
	cases := []struct{ in, code string }{
		{"not json\n", BadRequest},
		{`{"cmd":"status"}` + "\n", BadRequest},
		{`{"v":99,"cmd":"status"}` + "\n", UnsupportedVersion},
		{`{"v":1,"cmd":"frob"}` + "\n", UnknownCommand},
		{`{"v":1,"cmd":"status"}`, ""}, // at end of file without '\n', as socat sends it
		{`{"v":1,"cmd":"status"}` + "\n", ""},
	}
	for _, c := range cases {
		out := rawExchange(t, s.Path(), []byte(c.in))
		if strings.Count(out, "\n") != 1 {
			t.Errorf("%q: got %q, want exactly one reply line", c.in, out)
			continue
		}
		if got := replyCode(t, out); got != c.code {
			t.Errorf("%q: code %q, want %q", c.in, got, c.code)
		}
	}
}

func TestServerTooLarge(t *testing.T) {
	s := serveEcho(t, nil, nil)
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hangLimit))
	go c.Write([]byte(strings.Repeat("x", 1<<20))) // never a newline
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got := replyCode(t, line); got != TooLarge {
		t.Errorf("1 MiB without newline: %q, want too_large", got)
	}
}

func TestServerRequestDeadline(t *testing.T) {
	t.Parallel()
	s := serveEcho(t, nil, nil)
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"v":1,`)) // and nothing more
	c.SetDeadline(time.Now().Add(hangLimit))
	start := time.Now()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got := replyCode(t, line); got != Timeout {
		t.Errorf("unfinished request: %q, want timeout", got)
	}
	if d := time.Since(start); d < RequestDeadline-time.Second {
		t.Errorf("closed after %v, before the deadline of %v", d, RequestDeadline)
	}
	// Meanwhile the server served others: see TestServerBusy's last step.
}

func TestServerBusy(t *testing.T) {
	block := make(chan struct{})
	s := serveEcho(t, block, nil)
	var held []*Client
	for range MaxConns {
		c, err := Dial(s.Path(), time.Now().Add(hangLimit))
		if err != nil {
			t.Fatal(err)
		}
		c.conn.Write([]byte(`{"v":1,"cmd":"hold"}` + "\n"))
		held = append(held, c)
	}
	// The 33rd connection is refused, whatever it sends.
	c, err := Dial(s.Path(), time.Now().Add(hangLimit))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(&Request{Cmd: "status"})
	var un *UnreachableError
	if !errors.As(err, &un) || !strings.Contains(err.Error(), "busy") {
		t.Errorf("33rd connection: %v, want busy", err)
	}
	c.Close()
	close(block)
	for _, h := range held {
		if _, err := h.reply(); err != nil {
			t.Errorf("held connection: %v", err)
		}
		h.Close()
	}
	// Once they are gone, the next is served.
	waitServed(t, s)
}

// Clients that hang up while their calls wait (killed cinit restart
// clients) give their slots back at once, and their calls are marked
// gone; one that only shuts down its writing, as socat does after the
// request line, still gets its answer.
func TestServerClientHangsUp(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	calls := make(chan *Call, MaxConns+1)
	s := serveEcho(t, block, calls)
	half, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	half.Write([]byte(`{"v":1,"cmd":"hold"}` + "\n"))
	half.(*net.UnixConn).CloseWrite()
	halfCall := <-calls
	for range MaxConns - 1 {
		c, err := Dial(s.Path(), time.Now().Add(hangLimit))
		if err != nil {
			t.Fatal(err)
		}
		c.conn.Write([]byte(`{"v":1,"cmd":"hold"}` + "\n"))
		<-calls
		c.Close()
	}
	waitServed(t, s) // every slot was taken: only the hang-ups can free one
	if halfCall.Gone() {
		t.Errorf("a client that shut down its writing counts as gone")
	}
	halfCall.Reply(Probe{OK: true})
	half.SetReadDeadline(time.Now().Add(hangLimit))
	if line, err := bufio.NewReader(half).ReadString('\n'); err != nil || !strings.Contains(line, `"ok":true`) {
		t.Errorf("the half-closed client's answer: %q, %v", line, err)
	}
}

// waitServed retries status until a connection slot is free again: the
// server counts a connection out only once its goroutine has finished.
func waitServed(t *testing.T, s *Server) {
	deadline := time.Now().Add(hangLimit)
	for {
		c, err := Dial(s.Path(), deadline)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(&Request{Cmd: "status"})
		c.Close()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "busy") || time.Now().After(deadline) {
			t.Fatalf("status: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // a free slot has no event to wait for
	}
}

func TestServerStream(t *testing.T) {
	s := serveEcho(t, nil, nil)
	c, err := Dial(s.Path(), time.Now().Add(hangLimit))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Do(&Request{Cmd: "echo"}); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"one", "two"} {
		c.Conn().Write([]byte(msg + "\n"))
		line, err := c.ReadLine()
		if err != nil || string(line) != msg {
			t.Fatalf("echo of %q: %q %v", msg, line, err)
		}
	}
}

func TestServerCloseEndsEverything(t *testing.T) {
	block := make(chan struct{})
	s := serveEcho(t, block, nil)
	var wg sync.WaitGroup
	// A connection that never sends its request is closed by Close.
	idle, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		idle.SetDeadline(time.Now().Add(hangLimit))
		idle.Read(make([]byte, 1))
	}()
	waitServed(t, s) // the idle one is being served by now
	s.Close()
	wg.Wait()
	if _, err := os.Stat(s.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
