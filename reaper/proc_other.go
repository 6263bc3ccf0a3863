//go:build !linux && !darwin

package reaper

import (
	"fmt"
	"runtime"
)

// errNoTable reports that cinit cannot read the process table here
// (FreeBSD, which is built but not run: its kinfo_proc is not in
// golang.org/x/sys). Walks then find nothing, and only process groups
// are followed.
var errNoTable = fmt.Errorf("reaper: no process table on %s", runtime.GOOS)

// walkChildren is not available.
func walkChildren(root int) (found []proc, ok bool) {
	return nil, false
}

// scan fails: there is no table to read.
func scan() ([]proc, error) {
	return nil, errNoTable
}

// readProc fails: there is no table to read.
func readProc(pid int) (p proc, ok bool, err error) {
	return proc{}, false, errNoTable
}
