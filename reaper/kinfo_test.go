package reaper

import (
	"encoding/binary"
	"reflect"
	"testing"
)

// field is one member of a C struct on LP64: its size and alignment.
type field struct {
	name        string
	size, align int
}

// layout returns the offset of every field and the struct's size, with
// C's natural alignment.
func layout(fields []field) (map[string]int, int) {
	off, maxAlign := map[string]int{}, 1
	n := 0
	for _, f := range fields {
		n = (n + f.align - 1) / f.align * f.align
		off[f.name] = n
		n += f.size
		maxAlign = max(maxAlign, f.align)
	}
	return off, (n + maxAlign - 1) / maxAlign * maxAlign
}

// externProc and eproc are struct extern_proc (<sys/proc.h>) and struct
// eproc (<sys/sysctl.h>) of macOS, member by member; struct kinfo_proc is
// the one followed by the other.
var (
	externProc = []field{
		{"p_un", 16, 8}, // union { struct { p_forw, p_back }; struct timeval p_starttime }
		{"p_vmspace", 8, 8}, {"p_sigacts", 8, 8}, {"p_flag", 4, 4}, {"p_stat", 1, 1},
		{"p_pid", 4, 4}, {"p_oppid", 4, 4}, {"p_dupfd", 4, 4}, {"user_stack", 8, 8},
		{"exit_thread", 8, 8}, {"p_debugger", 4, 4}, {"sigwait", 4, 4}, {"p_estcpu", 4, 4},
		{"p_cpticks", 4, 4}, {"p_pctcpu", 4, 4}, {"p_wchan", 8, 8}, {"p_wmesg", 8, 8},
		{"p_swtime", 4, 4}, {"p_slptime", 4, 4}, {"p_realtimer", 32, 8}, {"p_rtime", 16, 8},
		{"p_uticks", 8, 8}, {"p_sticks", 8, 8}, {"p_iticks", 8, 8}, {"p_traceflag", 4, 4},
		{"p_tracep", 8, 8}, {"p_siglist", 4, 4}, {"p_textvp", 8, 8}, {"p_holdcnt", 4, 4},
		{"p_sigmask", 4, 4}, {"p_sigignore", 4, 4}, {"p_sigcatch", 4, 4}, {"p_priority", 1, 1},
		{"p_usrpri", 1, 1}, {"p_nice", 1, 1}, {"p_comm", 17, 1}, {"p_pgrp", 8, 8},
		{"p_addr", 8, 8}, {"p_xstat", 2, 2}, {"p_acflag", 2, 2}, {"p_ru", 8, 8},
	}
	eproc = []field{
		{"e_paddr", 8, 8}, {"e_sess", 8, 8},
		{"e_pcred", 104, 8}, // struct _pcred: char[72], a pointer, five 32-bit ids, padding
		{"e_ucred", 76, 4},  // struct _ucred: cr_ref, cr_uid, cr_ngroups, cr_groups[16]
		{"e_vm", 64, 8},     // struct vmspace: an int, a pointer, five ints, three pointers
		{"e_ppid", 4, 4}, {"e_pgid", 4, 4}, {"e_jobc", 2, 2}, {"e_tdev", 4, 4},
		{"e_tpgid", 4, 4}, {"e_tsess", 8, 8}, {"e_wmesg", 8, 1}, {"e_xsize", 4, 4},
		{"e_xrssize", 2, 2}, {"e_xccount", 2, 2}, {"e_xswrss", 2, 2}, {"e_flag", 4, 4},
		{"e_login", 12, 1}, {"e_spare", 16, 4},
	}
)

// TestKinfoLayout checks the offsets parseKinfoProcs reads against the
// layout computed from the C declarations.
func TestKinfoLayout(t *testing.T) {
	p, pSize := layout(externProc)
	e, eSize := layout(eproc)
	got := []int{kinfoSize, kinfoStat, kinfoPid, kinfoEproc, kinfoPpid, kinfoPgid}
	want := []int{pSize + eSize, p["p_stat"], p["p_pid"], pSize, pSize + e["e_ppid"], pSize + e["e_pgid"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("size, p_stat, p_pid, kp_eproc, e_ppid, e_pgid: %v, want %v", got, want)
	}
}

// kinfoRecord builds one struct kinfo_proc the way macOS fills it.
func kinfoRecord(pid, ppid, pgid int, stat byte, sec uint64, usec uint32) []byte {
	rec := make([]byte, kinfoSize)
	for i := range rec {
		rec[i] = 0xa5 // what the parser must not read
	}
	le := binary.LittleEndian
	le.PutUint64(rec[kinfoStartSec:], sec)
	le.PutUint32(rec[kinfoStartUsec:], usec)
	le.PutUint32(rec[kinfoStartUsec+4:], 0) // tv_usec's padding
	rec[kinfoStat] = stat
	le.PutUint32(rec[kinfoPid:], uint32(pid))
	le.PutUint32(rec[kinfoPpid:], uint32(ppid))
	le.PutUint32(rec[kinfoPgid:], uint32(pgid))
	return rec
}

// TestParseKinfoProcs reads a table as kern.proc.all returns it: launchd,
// cinit, a unit with a zombie child and a daemon that called setsid, and
// a process of someone else.
func TestParseKinfoProcs(t *testing.T) {
	var table []byte
	for _, r := range [][]byte{
		kinfoRecord(1, 0, 1, 3, 1_700_000_000, 5),
		kinfoRecord(500, 1, 500, 3, 1_700_000_100, 0),
		kinfoRecord(501, 500, 501, 2, 1_700_000_101, 999_999),
		kinfoRecord(502, 501, 501, 5, 1_700_000_102, 1),
		kinfoRecord(503, 501, 503, 3, 1_700_000_103, 2),
		kinfoRecord(900, 1, 900, 4, 1_600_000_000, 3),
	} {
		table = append(table, r...)
	}
	procs, err := parseKinfoProcs(table)
	if err != nil {
		t.Fatal(err)
	}
	want := []proc{
		{pid: 1, ppid: 0, pgid: 1, state: 'S', start: 1_700_000_000_000_005},
		{pid: 500, ppid: 1, pgid: 500, state: 'S', start: 1_700_000_100_000_000},
		{pid: 501, ppid: 500, pgid: 501, state: 'R', start: 1_700_000_101_999_999},
		{pid: 502, ppid: 501, pgid: 501, state: 'Z', start: 1_700_000_102_000_001},
		{pid: 503, ppid: 501, pgid: 503, state: 'S', start: 1_700_000_103_000_002},
		{pid: 900, ppid: 1, pgid: 900, state: 'T', start: 1_600_000_000_000_003},
	}
	if !reflect.DeepEqual(procs, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", procs, want)
	}
	if got := descendantsOf(500, procs); !reflect.DeepEqual(got, []int{501, 503}) {
		t.Errorf("descendants of cinit: %v, want [501 503] (the zombie left out)", got)
	}
	if _, err := parseKinfoProcs(table[:kinfoSize+1]); err == nil {
		t.Error("a table that is not a whole number of records parsed")
	}
	if procs, err := parseKinfoProcs(nil); err != nil || len(procs) != 0 {
		t.Errorf("an empty table: %v, %v", procs, err)
	}
}
