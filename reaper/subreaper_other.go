//go:build !linux

package reaper

import "errors"

// setSubreaper reports that this system has no child subreaper: macOS has
// none, and FreeBSD's procctl(PROC_REAP_ACQUIRE) is not used, since cinit
// is not run there.
func setSubreaper() error {
	return errors.ErrUnsupported
}
