package supervisor

import (
	"bytes"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Running a command directly.
//
// For a single simple command cinit hands /bin/sh -c the line with exec in
// front of the program (see shellLine), so the shell only splits the line
// into words, finds the program in PATH, exports PWD, drops variables
// whose names it could not set, and replaces itself.
// When the line is nothing but plain words, cinit can do those steps
// itself and skip the shell: one exec of a dynamically linked /bin/sh less
// per start (about 0.5 ms of the start-up figure on the machine of
// BENCHMARKS.md). tini and dumb-init exec their command the same way.
//
// The rule is "never differ from the shell": whenever the outcome is not
// certain (a quote, an expansion, a glob, an assignment, a relative PATH
// entry, a program the shell would run as a script, no program found at
// all), the line goes to the shell as before, and the shell reports errors
// with its usual 127 and 126.

// defaultPath is dash's search path when PATH is not set (dash's
// var.c, defpathvar); dash does not export it.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// launcher decides which lines run without the shell, for one directory,
// and remembers what it found: the PWD, and where each program is (or that
// the shell must decide), as a shell's own table of commands does. A
// program removed since is no harm: exec fails and the shell takes the
// line. The environments it is given must agree on PWD (instances share
// theirs but for PORT and PS). It belongs to the goroutine that starts
// processes.
type launcher struct {
	dir    string
	pwd    string            // the PWD dash would export, once known
	found  map[string]string // PATH, NUL, name → program; "" when the shell decides
	envBuf []string          // command's buffer for the environment it returns
}

// newLauncher returns a launcher for children that run in dir.
func newLauncher(dir string) *launcher {
	return &launcher{dir: dir, found: map[string]string{}}
}

// command returns the program and argv that `/bin/sh -c 'exec COMMAND'`
// would execute for command, and the environment it would pass, when
// cinit can tell them for certain; ok is false otherwise. The environment
// it returns is a copy of env with PWD set and without the variables whose
// names are not shell names, as dash passes it on. That copy is built in a
// buffer the next call reuses: it is for one fork.
func (l *launcher) command(command string, env []string) (path string, argv, env2 []string, ok bool) {
	if !directExec {
		return "", nil, nil, false
	}
	if argv, ok = plainArgv(command); !ok {
		return "", nil, nil, false
	}
	if path = l.program(argv[0], env); path == "" {
		return "", nil, nil, false
	}
	if l.pwd == "" {
		if l.pwd, ok = shellPWD(env, l.dir); !ok {
			return "", nil, nil, false
		}
	}
	env2 = l.envBuf[:0]
	for _, kv := range env {
		// dash passes on only variables with a name it could set: one
		// named spring.profiles.active or A-B is dropped.
		if isAssignment(kv) && !hasKey(kv, "PWD") {
			env2 = append(env2, kv)
		}
	}
	env2 = append(env2, "PWD="+l.pwd)
	l.envBuf = env2[:0]
	return path, argv, env2, true
}

// program finds name for env's PATH once (see findRunnable), "" when the
// shell must decide.
func (l *launcher) program(name string, env []string) string {
	pathVar, set := lookupEnv(env, "PATH")
	if !set {
		pathVar = defaultPath
	}
	key := pathVar + "\x00" + name
	path, seen := l.found[key]
	if !seen {
		path, _ = findRunnable(name, env, l.dir)
		l.found[key] = path
	}
	return path
}

// plainArgv returns the words of command when the shell would pass them on
// as they are: a single simple command with no assignment in front, and
// every word made only of characters no shell treats specially.
func plainArgv(command string) ([]string, bool) {
	words, ok := splitWords(command)
	if !ok || len(words) == 0 {
		return nil, false
	}
	if at, ok := execPoint(command); !ok || at != words[0].start {
		return nil, false
	}
	argv := make([]string, len(words))
	for i, w := range words {
		if !w.plain || !plainWord(w.text) {
			return nil, false
		}
		argv[i] = w.text
	}
	return argv, true
}

// plainWord reports whether w has only letters, digits and -_./:,+@%=,
// none of which the shell expands, quotes, globs or redirects.
func plainWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_./:,+@%=", c) >= 0:
		default:
			return false
		}
	}
	return w != ""
}

// findRunnable finds name as the shell's exec would: a name with a slash is
// a path (relative to dir, where the child runs), any other is looked up in
// the PATH of env. ok is false when the shell might decide otherwise or
// fail: nothing found, a relative PATH entry to search first, or a file
// the shell would run as a script or report as an error.
func findRunnable(name string, env []string, dir string) (string, bool) {
	if strings.Contains(name, "/") {
		return name, probeProgram(inDir(dir, name)) == runnable
	}
	path, set := lookupEnv(env, "PATH")
	if !set {
		path = defaultPath
	}
	for _, d := range strings.Split(path, ":") {
		if !filepath.IsAbs(d) {
			return "", false
		}
		p := strings.TrimSuffix(d, "/") + "/" + name
		switch probeProgram(p) {
		case runnable:
			return p, true
		case undecided:
			return "", false
		}
	}
	return "", false
}

// program is what a path holds, as far as exec is concerned.
type program int

const (
	absent    program = iota // nothing the shell's exec would run: it searches on
	runnable                 // an executable file exec will take as it is
	undecided                // anything else: the shell must look at it
)

// probeProgram classifies path: a regular file that cinit may execute and
// that starts with "#!" or the ELF magic is runnable. A missing file, a
// directory or a file without execute permission is absent (the shell's
// exec skips those and searches on); an executable file without either
// magic is one the shell would run as a shell script.
func probeProgram(path string) program {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return absent
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return undecided
	}
	if unix.Access(path, unix.X_OK) != nil {
		return absent
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return undecided
	}
	defer unix.Close(fd)
	var head [4]byte
	if n, _ := unix.Read(fd, head[:]); n > 0 && (bytes.HasPrefix(head[:n], []byte("#!")) || bytes.Equal(head[:n], []byte("\x7fELF"))) {
		return runnable
	}
	return undecided
}

// shellPWD is the PWD that dash exports when it starts in dir: the
// inherited PWD if it is absolute and names that directory, else the
// directory's physical path (dash's cd.c, getpwd).
func shellPWD(env []string, dir string) (string, bool) {
	here := inDir(dir, ".")
	if pwd, ok := lookupEnv(env, "PWD"); ok && filepath.IsAbs(pwd) && sameFile(pwd, here) {
		return pwd, true
	}
	return physicalPath(here)
}

// physicalPath is the absolute path of directory dir without symbolic
// links, what getcwd(3) returns in it: the kernel's name of an open
// descriptor, or failing that (no /proc), the path resolved link by link.
func physicalPath(dir string) (string, bool) {
	if real, ok := kernelPath(dir); ok {
		return real, true
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	real, err := filepath.EvalSymlinks(abs)
	return real, err == nil
}

// sameFile reports whether a and b name the same file.
func sameFile(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// inDir resolves a relative path against dir, where the child runs.
func inDir(dir, path string) string {
	if dir == "" || filepath.IsAbs(path) {
		return path
	}
	return dir + "/" + path
}

// lookupEnv returns the last value of key in env, the one the shell keeps.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if hasKey(env[i], key) {
			return env[i][len(key)+1:], true
		}
	}
	return "", false
}
