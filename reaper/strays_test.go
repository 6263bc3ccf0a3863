package reaper

import (
	"errors"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeTable is a process table for Strays: which groups kill(-pgid, 0)
// finds, which of them have a member that is not a zombie, and which
// processes run with which start time.
type fakeTable struct {
	groups map[int]error // kill(-pgid, 0)'s answer; missing: ESRCH
	living map[int]bool
	procs  map[int]uint64 // pid → start time of the process running now
	kills  []int          // every kill(2) target, in order
}

func (f *fakeTable) strays() *Strays {
	return newStrays(f.kill, f.same, func(pgid int) bool { return f.living[pgid] })
}

func (f *fakeTable) kill(pid int, sig syscall.Signal) error {
	f.kills = append(f.kills, pid)
	if sig != 0 || pid >= 0 {
		return errors.New("unexpected kill")
	}
	if err, ok := f.groups[-pid]; ok {
		return err
	}
	return unix.ESRCH
}

func (f *fakeTable) same(p Process) bool {
	start, ok := f.procs[p.Pid]
	return ok && start == p.Start
}

// TestStraysGroups: a group is kept while kill(-pgid, 0) finds it, and
// polled only while recorded.
func TestStraysGroups(t *testing.T) {
	f := &fakeTable{groups: map[int]error{10: nil, 20: nil, 30: unix.EPERM}}
	s := f.strays()
	s.AddGroup(10)
	s.AddGroup(20)
	s.AddGroup(30) // not ours to signal: nothing to wait for
	s.AddGroup(40) // already empty
	s.AddGroup(1)  // never a group to wait for
	if got := s.Targets(); !slices.Equal(got, []int{-20, -10}) {
		t.Fatalf("targets %v, want [-20 -10]", got)
	}
	delete(f.groups, 10)
	s.Poll(false)
	if got := s.Targets(); !slices.Equal(got, []int{-20}) {
		t.Fatalf("after group 10 emptied: targets %v, want [-20]", got)
	}
	// Only zombies are left in 20, which a deep poll looks up.
	s.Poll(false)
	if s.Empty() {
		t.Fatal("a shallow poll dropped a group that kill(-pgid, 0) finds")
	}
	s.Poll(true)
	if !s.Empty() {
		t.Fatalf("a group of zombies is still recorded: %v", s.Targets())
	}
	f.kills = nil
	s.Poll(true)
	if len(f.kills) != 0 {
		t.Errorf("polled %v with nothing recorded", f.kills)
	}
}

// TestStraysRemembered: a remembered process is a target while it runs
// with the start time it was found with; a reused pid is not.
func TestStraysRemembered(t *testing.T) {
	f := &fakeTable{procs: map[int]uint64{100: 7, 200: 9}}
	s := f.strays()
	s.Remember([]Process{{Pid: 100, Pgid: 100, Start: 7}, {Pid: 200, Pgid: 200, Start: 9}, {Pid: 1, Start: 1}})
	s.Remember([]Process{{Pid: 100, Pgid: 100, Start: 8}}) // the first record wins
	if got := s.Targets(); !slices.Equal(got, []int{100, 200}) {
		t.Fatalf("targets %v, want [100 200]", got)
	}
	f.procs[200] = 12 // 200 ended and a new process took its pid
	if got := s.Targets(); !slices.Equal(got, []int{100}) {
		t.Fatalf("targets %v after pid 200 was reused, want [100]", got)
	}
	delete(f.procs, 100)
	s.Poll(false)
	if !s.Empty() {
		t.Fatalf("ended processes still recorded: %v", s.Targets())
	}
}

// TestClaim: PID 1 needs no subreaper; a refusal with EINVAL, and a system
// without subreapers, are not errors; anything else is.
func TestClaim(t *testing.T) {
	fail := func(err error) func() error { return func() error { return err } }
	cases := []struct {
		name        string
		want, init  bool
		set         func() error
		sub         bool
		refused, ok bool
	}{
		{"pid1", true, true, fail(unix.EPERM), true, false, true},
		{"granted", true, false, fail(nil), true, false, true},
		{"not wanted", false, false, fail(unix.EPERM), false, false, true},
		{"einval", true, false, fail(unix.EINVAL), false, true, true},
		{"unsupported", true, false, fail(errors.ErrUnsupported), false, false, true},
		{"other", true, false, fail(unix.EPERM), false, false, false},
	}
	for _, tc := range cases {
		sub, refused, err := claim(tc.want, tc.init, tc.set)
		if sub != tc.sub || (refused != nil) != tc.refused || (err == nil) != tc.ok {
			t.Errorf("%s: claim = %v, %v, %v", tc.name, sub, refused, err)
		}
	}
}

// TestSameProcess: this process is itself, and not with another start
// time.
func TestSameProcess(t *testing.T) {
	me, ok, err := readProc(unix.Getpid())
	if err != nil || !ok {
		t.Fatalf("read own stat: %v", err)
	}
	p := me.process()
	if !sameProcess(p) {
		t.Errorf("sameProcess(%+v) = false for this process", p)
	}
	p.Start++
	if sameProcess(p) {
		t.Errorf("sameProcess(%+v) = true with another start time", p)
	}
	if !groupLiving(me.pgid) {
		t.Errorf("groupLiving(%d) = false for this process's group", me.pgid)
	}
}
