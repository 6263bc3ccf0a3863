package procfile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Formation is the number of instances per process type, parsed from a list
// such as "web=2,all=1,clock=0".
type Formation struct {
	Default int            // instances of a type not in Counts; 1 unless "all=N" is given
	Counts  map[string]int // instances per named type; never holds "all"
}

// allName is the formation name that sets [Formation.Default].
const allName = "all"

// maxCount is the largest count a formation accepts for one type: a bound
// that keeps a typo from forking a million processes. Ports step by 100 from
// one type to the next, so above 100 instances the ports of one type run
// into those of the next, as in foreman; that only matters to processes that
// listen on $PORT.
const maxCount = 10000

// ParseFormation parses a formation list: comma-separated NAME=N items,
// where "all=N" sets the default for types not listed and 0 disables a type.
// The empty string runs every type once. An empty item, a missing name or
// count, a count that is not a number, negative or above 10000, and a
// name given twice are errors naming the item.
func ParseFormation(s string) (Formation, error) {
	f := Formation{Default: 1, Counts: map[string]int{}}
	if s == "" {
		return f, nil
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		name, n, err := parseFormationItem(item)
		if err == nil && seen[name] {
			err = fmt.Errorf("%q is given twice", name)
		}
		if err != nil {
			return Formation{}, fmt.Errorf("bad formation item %q: %w", item, err)
		}
		seen[name] = true
		f.set(name, n)
	}
	return f, nil
}

// parseFormationItem parses one NAME=N item.
func parseFormationItem(item string) (string, int, error) {
	name, count, ok := strings.Cut(item, "=")
	name, count = strings.TrimSpace(name), strings.TrimSpace(count)
	switch {
	case !ok:
		return "", 0, errors.New(`want NAME=N`)
	case name == "":
		return "", 0, errors.New("missing process name")
	case count == "":
		return "", 0, errors.New("missing count")
	}
	n, err := strconv.Atoi(count)
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("count %q is not a number", count)
	case n < 0:
		return "", 0, errors.New("count is negative")
	case n > maxCount:
		return "", 0, fmt.Errorf("count is above %d", maxCount)
	}
	return name, n, nil
}

// set records the count for name, "all" being the default.
func (f *Formation) set(name string, n int) {
	if name == allName {
		f.Default = n
		return
	}
	f.Counts[name] = n
}

// Count returns the number of instances of the process type name.
func (f Formation) Count(name string) int {
	if n, ok := f.Counts[name]; ok {
		return n
	}
	return f.Default
}

// Check returns an error if the formation names a process type that is not
// among entries. It reports the first such name in sorted order.
func (f Formation) Check(entries []Entry) error {
	for _, name := range slices.Sorted(maps.Keys(f.Counts)) {
		if !hasEntry(entries, name) {
			return fmt.Errorf("unknown process %q in formation", name)
		}
	}
	return nil
}

// hasEntry reports whether entries define the process type name.
func hasEntry(entries []Entry, name string) bool {
	return slices.ContainsFunc(entries, func(e Entry) bool { return e.Name == name })
}

// Instance is one process to run.
type Instance struct {
	Entry        // the type it runs
	Index int    // the type's index in the Procfile (0-based, counting types not started)
	Num   int    // instance number, 1-based
	Name  string // display name: "web" when the type runs one instance, "web.1", "web.2" when more
	PS    string // always "web.N"
	Port  int    // base + 100*Index + Num-1
}

// Instances expands entries by the formation f, in Procfile order and, within
// a type, in instance order. Ports start at base. A type with count 0 is
// skipped but still counts for [Instance.Index], so the ports of the other
// types do not move.
//
// If only is non-empty, only the named types run, each at its formation
// count. An unknown name in only, or a formation that fails [Formation.Check],
// is an error. The result may be empty (every count 0); what that means is the
// caller's decision.
func Instances(entries []Entry, f Formation, base int, only []string) ([]Instance, error) {
	if err := f.Check(entries); err != nil {
		return nil, err
	}
	for _, name := range only {
		if !hasEntry(entries, name) {
			return nil, fmt.Errorf("unknown process %q", name)
		}
	}
	var out []Instance
	for i, e := range entries {
		if len(only) > 0 && !slices.Contains(only, e.Name) {
			continue
		}
		out = append(out, expand(e, i, f.Count(e.Name), base)...)
	}
	return out, nil
}

// expand returns the n instances of entry e, the index-th type of its
// Procfile.
func expand(e Entry, index, n, base int) []Instance {
	out := make([]Instance, 0, n)
	for num := 1; num <= n; num++ {
		ps := fmt.Sprintf("%s.%d", e.Name, num)
		name := ps
		if n == 1 {
			name = e.Name
		}
		out = append(out, Instance{
			Entry: e, Index: index, Num: num, Name: name, PS: ps,
			Port: base + 100*index + num - 1,
		})
	}
	return out
}
