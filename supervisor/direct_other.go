//go:build !linux

package supervisor

// directExec is off: macOS's /bin/sh is bash 3.2, which passes variables
// with names that are not shell names on to the program and differs from
// dash in more ways, so every line goes through /bin/sh -c 'exec ...',
// which keeps "the same environment either way" true by construction.
const directExec = false

// kernelPath is not available; physicalPath resolves links itself.
func kernelPath(dir string) (string, bool) {
	return "", false
}
