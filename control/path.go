package control

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// maxPath is the longest socket path a sockaddr_un holds, its terminating
// NUL left out: sun_path is 108 bytes on Linux and 104 on macOS and the
// BSDs (their <sys/un.h>), where Go's bind refuses a 104-byte name.
var maxPath = map[bool]int{true: 107, false: 103}[runtime.GOOS == "linux"]

// Env is what the path rules read from the environment; tests pass their
// own.
type Env struct {
	Getenv  func(string) string
	Euid    int
	TempDir string
	Run     string // the /run directory; "" means /run
}

// HostEnv is the environment of this process.
func HostEnv() Env {
	return Env{Getenv: os.Getenv, Euid: os.Geteuid(), TempDir: os.TempDir(), Run: "/run"}
}

// Dirs returns the candidate socket directories, in order of preference:
// $XDG_RUNTIME_DIR/cinit (when the variable is set), /run/cinit and
// cinit-UID in the temporary directory.
func (e Env) Dirs() []string {
	var dirs []string
	if x := e.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) {
		dirs = append(dirs, filepath.Join(x, "cinit"))
	}
	run := e.Run
	if run == "" {
		run = "/run"
	}
	return append(dirs, filepath.Join(run, "cinit"), filepath.Join(e.TempDir, "cinit-"+strconv.Itoa(e.Euid)))
}

// SocketName is the file name of the socket of the Procfile root dir:
// the last element of its physical path (cut to 24 bytes), a dash, the
// first 8 hex digits of the SHA-256 of the whole physical path, ".sock".
// Two roots with the same last element get different names; a server and
// a client that reach the root through different symbolic links get the
// same name.
func SocketName(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if phys, err := filepath.EvalSymlinks(abs); err == nil {
		abs = phys
	}
	base := filepath.Base(abs)
	if base == "/" || base == "." {
		base = "root"
	}
	if len(base) > 24 {
		base = base[:24]
	}
	sum := sum256([]byte(abs))
	return base + "-" + hex.EncodeToString(sum[:4]) + ".sock", nil
}

// UsableDir makes dir if it is missing (mode 0700; its parent must exist)
// and checks that it is safe for a socket: a real directory, not a
// symbolic link, owned by euid, with no group or other permission bits
// (abduco's rule: martanne/abduco abduco.c). The error says what is
// wrong. created reports whether the directory did not exist before.
func UsableDir(dir string, euid int) (created bool, err error) {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return false, err
		}
		created = true
		st, err = os.Lstat(dir)
	}
	if err != nil {
		return created, err
	}
	return created, checkDir(dir, st, euid)
}

// checkDir checks the Lstat result of a socket directory.
func checkDir(dir string, st fs.FileInfo, euid int) error {
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link", dir)
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case int(fileUID(st)) != euid:
		return fmt.Errorf("%s belongs to uid %d, not %d", dir, fileUID(st), euid)
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s has mode %04o; it must have no group or other permissions", dir, st.Mode().Perm())
	}
	return nil
}

// ServerPath picks where a server puts the socket of root: the first
// usable directory of [Env.Dirs]. A directory that exists but is unsafe is
// skipped with a warning; one that cannot be made is skipped silently
// (a non-root cinit cannot write /run). It returns "" when no directory
// is usable, with one warning saying so.
func (e Env) ServerPath(root string, warn func(string)) string {
	name, err := SocketName(root)
	if err != nil {
		warn(fmt.Sprintf("no control socket: %v", err))
		return ""
	}
	var tried []string
	for _, dir := range e.Dirs() {
		tried = append(tried, dir)
		_, err := UsableDir(dir, e.Euid)
		if err != nil && !cannotMake(err) {
			warn(fmt.Sprintf("not using %s for the control socket: %v", dir, err))
		}
		if err != nil {
			continue
		}
		p := filepath.Join(dir, name)
		if len(p) > maxPath {
			warn(fmt.Sprintf("no control socket: the path %s is longer than %d bytes", p, maxPath))
			return ""
		}
		return p
	}
	warn("no usable directory for the control socket (tried " + strings.Join(tried, ", ") + "); running without it")
	return ""
}

// cannotMake reports whether err says a directory could not be made
// (missing parent, no permission, read-only file system): such a
// candidate is skipped without a warning.
func cannotMake(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// fileUID is the owner of a file.
func fileUID(st fs.FileInfo) uint32 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Uid
	}
	return ^uint32(0)
}

// ClientPath finds the socket a client talks to: the file of root in the
// first candidate directory that has it; otherwise the only socket found
// in the candidate directories (so that docker exec from another working
// directory finds the container's cinit). Several sockets, or none, is an
// error that lists what was found.
func (e Env) ClientPath(root string) (string, error) {
	name, err := SocketName(root)
	if err != nil {
		return "", err
	}
	var found []string
	for _, dir := range e.Dirs() {
		p := filepath.Join(dir, name)
		if isSocket(p) {
			return p, nil
		}
		socks, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
		for _, s := range socks {
			if st, err := os.Lstat(s); err == nil && st.Mode()&fs.ModeSocket != 0 {
				found = append(found, s)
			}
		}
	}
	if p := e.othersPath(name); p != "" {
		return p, nil
	}
	sort.Strings(found)
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("not running (no control socket %s in %s)", name, strings.Join(e.Dirs(), ", "))
	}
	return "", fmt.Errorf("several cinits are running (%s); choose one with --socket or from its Procfile's directory", strings.Join(found, ", "))
}

// othersPath finds, for root, the socket name of another user's cinit:
// root may connect to any cinit, but computes its own directories (docker
// exec -u root into a container whose cinit runs as a user). It looks in
// the other users' directories of the temporary directory and of
// /run/user, and returns the only match.
func (e Env) othersPath(name string) string {
	if e.Euid != 0 {
		return ""
	}
	run := e.Run
	if run == "" {
		run = "/run"
	}
	var found []string
	for _, pattern := range []string{filepath.Join(e.TempDir, "cinit-*", name), filepath.Join(run, "user", "*", "cinit", name)} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if isSocket(m) {
				found = append(found, m)
			}
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return ""
}

// isSocket reports whether p is a socket (not a link to one).
func isSocket(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode()&fs.ModeSocket != 0
}
