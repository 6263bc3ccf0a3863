package reaper

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The process table of macOS: sysctl kern.proc (kinfo.go). There is no
// per-process list of children, so a walk reads the whole table, one
// system call for a few hundred processes.

// kinfo is only looked at by the compile-time checks below.
var kinfo unix.KinfoProc

// Each pair fails to compile unless golang.org/x/sys's layout of struct
// kinfo_proc has the field at the offset parseKinfoProcs reads.
var (
	_ [unsafe.Sizeof(kinfo) - kinfoSize]struct{}
	_ [kinfoSize - unsafe.Sizeof(kinfo)]struct{}
	_ [unsafe.Offsetof(kinfo.Proc.P_stat) - kinfoStat]struct{}
	_ [kinfoStat - unsafe.Offsetof(kinfo.Proc.P_stat)]struct{}
	_ [unsafe.Offsetof(kinfo.Proc.P_pid) - kinfoPid]struct{}
	_ [kinfoPid - unsafe.Offsetof(kinfo.Proc.P_pid)]struct{}
	_ [unsafe.Offsetof(kinfo.Proc.P_starttime) - kinfoStartSec]struct{}
	_ [kinfoStartSec - unsafe.Offsetof(kinfo.Proc.P_starttime)]struct{}
	_ [unsafe.Offsetof(kinfo.Eproc) - kinfoEproc]struct{}
	_ [kinfoEproc - unsafe.Offsetof(kinfo.Eproc)]struct{}
	_ [kinfoEproc + unsafe.Offsetof(kinfo.Eproc.Ppid) - kinfoPpid]struct{}
	_ [kinfoPpid - kinfoEproc - unsafe.Offsetof(kinfo.Eproc.Ppid)]struct{}
	_ [kinfoEproc + unsafe.Offsetof(kinfo.Eproc.Pgid) - kinfoPgid]struct{}
	_ [kinfoPgid - kinfoEproc - unsafe.Offsetof(kinfo.Eproc.Pgid)]struct{}
)

// walkChildren is not available: macOS lists no children per process.
func walkChildren(root int) (found []proc, ok bool) {
	return nil, false
}

// scan reads every process of the machine. The table may grow between
// the call that sizes the buffer and the one that fills it (ENOMEM): then
// it tries again.
func scan() ([]proc, error) {
	for range 5 {
		data, err := unix.SysctlRaw("kern.proc.all")
		if errors.Is(err, unix.ENOMEM) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reaper: sysctl kern.proc.all: %w", err)
		}
		return parseKinfoProcs(data)
	}
	return nil, fmt.Errorf("reaper: sysctl kern.proc.all: %w", unix.ENOMEM)
}

// readProc reads one process. ok is false when there is no such process
// (the sysctl then returns no record).
func readProc(pid int) (p proc, ok bool, err error) {
	data, err := unix.SysctlRaw("kern.proc.pid", pid)
	if err != nil {
		return proc{}, false, fmt.Errorf("reaper: sysctl kern.proc.pid.%d: %w", pid, err)
	}
	procs, err := parseKinfoProcs(data)
	if err != nil || len(procs) != 1 || procs[0].pid != pid {
		return proc{}, false, err
	}
	return procs[0], true, nil
}
