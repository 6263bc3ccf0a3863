package reaper

import (
	"encoding/binary"
	"fmt"
)

// The process table of macOS: sysctl kern.proc.all (and kern.proc.pid.N
// for one process) returns an array of struct kinfo_proc, declared in
// <sys/sysctl.h> as a struct extern_proc (<sys/proc.h>) followed by a
// struct eproc. cinit reads five fields of it by offset, for the 64-bit
// layout of darwin/amd64 and darwin/arm64, which are both little-endian.
// The parser has no build tag, so that it runs under test on Linux with
// records built from that layout (kinfo_test.go); proc_darwin.go checks
// at compile time that golang.org/x/sys's cgo-generated unix.KinfoProc
// agrees with these offsets.
const (
	kinfoSize      = 648       // sizeof(struct kinfo_proc)
	kinfoStartSec  = 0         // kp_proc.p_starttime.tv_sec, int64 (the p_un union)
	kinfoStartUsec = 8         // kp_proc.p_starttime.tv_usec, int32
	kinfoStat      = 36        // kp_proc.p_stat, char
	kinfoPid       = 40        // kp_proc.p_pid, int32
	kinfoEproc     = 296       // kp_eproc
	kinfoPpid      = 296 + 264 // kp_eproc.e_ppid, int32
	kinfoPgid      = 296 + 268 // kp_eproc.e_pgid, int32
)

// kinfoStates maps p_stat (SIDL 1, SRUN 2, SSLEEP 3, SSTOP 4, SZOMB 5) to
// the letters of Linux's /proc/<pid>/stat that proc.state holds.
var kinfoStates = [...]byte{1: 'I', 2: 'R', 3: 'S', 4: 'T', 5: 'Z'}

// parseKinfoProcs decodes an array of struct kinfo_proc. The start time
// is in microseconds since the epoch; threads is not known (0).
func parseKinfoProcs(data []byte) ([]proc, error) {
	if len(data)%kinfoSize != 0 {
		return nil, fmt.Errorf("reaper: kern.proc: %d bytes is not a whole number of %d-byte records", len(data), kinfoSize)
	}
	le := binary.LittleEndian
	procs := make([]proc, 0, len(data)/kinfoSize)
	for rec := data; len(rec) > 0; rec = rec[kinfoSize:] {
		p := proc{
			pid:   int(int32(le.Uint32(rec[kinfoPid:]))),
			ppid:  int(int32(le.Uint32(rec[kinfoPpid:]))),
			pgid:  int(int32(le.Uint32(rec[kinfoPgid:]))),
			state: '?',
			start: le.Uint64(rec[kinfoStartSec:])*1e6 + uint64(le.Uint32(rec[kinfoStartUsec:])),
		}
		if st := int(rec[kinfoStat]); st < len(kinfoStates) && kinfoStates[st] != 0 {
			p.state = kinfoStates[st]
		}
		procs = append(procs, p)
	}
	return procs, nil
}
