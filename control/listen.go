package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listener is a bound control socket and the lock that makes it this
// process's. Create it with [Listen]; [Listener.Close] removes the socket.
type Listener struct {
	path string
	ln   *net.UnixListener
	lock *os.File    // holds flock(LOCK_EX) for the Listener's life
	file os.FileInfo // the socket file as bound, so that Close removes it and nothing else
}

// TakenError says that another live process holds the socket's lock.
type TakenError struct {
	Path string
	Pid  int // the owner's pid as it wrote it in the lock file; 0 if unknown
}

// Error names the socket and its owner.
func (e *TakenError) Error() string {
	if e.Pid == 0 {
		return fmt.Sprintf("control socket %s belongs to another running cinit", e.Path)
	}
	return fmt.Sprintf("control socket %s belongs to the cinit with pid %d", e.Path, e.Pid)
}

// Listen makes path this process's control socket.
//
// Ownership is decided by a lock, not by a guess: Listen takes
// flock(LOCK_EX|LOCK_NB) on path+".lock" (close-on-exec, so no child
// inherits it) and holds it until Close. The kernel drops the lock when
// the process dies, even by SIGKILL, so a socket file whose lock is free
// is stale by definition. When the lock is held, Listen returns a
// *[TakenError] and touches nothing. Otherwise it binds a temporary name
// in the same directory, makes it mode 0600 and renames it over path, so
// that a stale file is replaced atomically and the socket is never
// reachable with the mode the umask would give. The lock file stays
// behind after Close; it is empty but for the owner's pid.
//
// Only a socket is ever replaced, and only a lock file of cinit's (empty,
// or a pid) is ever written: a path that names anything else, such as a
// mistyped --socket Procfile, is refused and left as it is.
func Listen(path string) (*Listener, error) {
	if len(path) > maxPath {
		return nil, fmt.Errorf("control socket path %s is longer than %d bytes", path, maxPath)
	}
	if err := checkSocketPath(path); err != nil {
		return nil, err // before the lock: no PATH.lock is made beside it
	}
	lock, err := takeLock(path)
	if err != nil {
		return nil, err
	}
	if err := checkSocketPath(path); err != nil {
		lock.Close()
		return nil, err
	}
	ln, err := bindReplace(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	st, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		lock.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &Listener{path: path, ln: ln, lock: lock, file: st}, nil
}

// checkSocketPath refuses a path that names something other than a socket.
func checkSocketPath(path string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; give another path", path)
	}
	return nil
}

// takeLock opens and locks path+".lock" and writes the pid into it.
func takeLock(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control socket lock: %w", err)
	}
	if !isLockFile(f) {
		f.Close()
		return nil, fmt.Errorf("%s exists and is not a lock file of cinit's; give another socket path", name)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &TakenError{Path: path, Pid: lockOwner(name)}
		}
		return nil, fmt.Errorf("control socket lock %s: %w", name, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// isLockFile reports whether f is a lock file cinit may write: a regular
// file that is empty or holds a pid and a newline.
func isLockFile(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > 24 {
		return false
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && len(b) > 0 {
		return false
	}
	text := strings.TrimSuffix(string(b), "\n")
	_, err = strconv.Atoi(text)
	return text == "" || err == nil
}

// lockOwner reads the pid a lock's owner wrote.
func lockOwner(name string) int {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// bindReplace binds a temporary name beside path, makes it 0600 and
// renames it to path.
func bindReplace(path string) (*net.UnixListener, error) {
	tmp := filepath.Join(filepath.Dir(path), "."+strconv.Itoa(os.Getpid())+".tmp")
	os.Remove(tmp) // left by a process with our pid in another life
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The listener must not unlink the temporary name at Close: after the
	// rename it is path's, which Listener.Close removes itself.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		return nil, closeRemove(ln, tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, closeRemove(ln, tmp, err)
	}
	return ln, nil
}

// closeRemove undoes a half-made socket and returns err.
func closeRemove(ln *net.UnixListener, tmp string, err error) error {
	ln.Close()
	os.Remove(tmp)
	return fmt.Errorf("control socket: %w", err)
}

// Path is the socket's path.
func (l *Listener) Path() string { return l.path }

// Close stops listening, removes the socket file if it is still the one
// Listen bound, and releases the lock.
func (l *Listener) Close() error {
	err := l.ln.Close()
	if st, serr := os.Lstat(l.path); serr == nil && os.SameFile(st, l.file) {
		os.Remove(l.path)
	}
	l.lock.Close()
	return err
}
