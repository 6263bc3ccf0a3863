package procfile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseFormation(t *testing.T) {
	tests := []struct {
		in    string
		def   int
		count map[string]int
	}{
		{"", 1, map[string]int{}},
		{"web=2", 1, map[string]int{"web": 2}},
		{"web=2,all=1,clock=0", 1, map[string]int{"web": 2, "clock": 0}},
		{"all=3", 3, map[string]int{}},
		{"all=0,worker=1", 0, map[string]int{"worker": 1}},
		{" web = 2 , worker=1", 1, map[string]int{"web": 2, "worker": 1}},
		{"web=100", 1, map[string]int{"web": 100}},
	}
	for _, tt := range tests {
		f, err := ParseFormation(tt.in)
		if err != nil {
			t.Errorf("ParseFormation(%q): %v", tt.in, err)
			continue
		}
		if f.Default != tt.def || !maps.Equal(f.Counts, tt.count) {
			t.Errorf("ParseFormation(%q) = %+v, want default %d, counts %v", tt.in, f, tt.def, tt.count)
		}
	}
}

func TestParseFormationErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web", `bad formation item "web": want NAME=N`},
		{"web=", `bad formation item "web=": missing count`},
		{"=2", `bad formation item "=2": missing process name`},
		{"web=-1", `bad formation item "web=-1": count is negative`},
		{"web=x", `bad formation item "web=x": count "x" is not a number`},
		{"web=1,web=2", `bad formation item "web=2": "web" is given twice`},
		{"all=1,all=2", `bad formation item "all=2": "all" is given twice`},
		{"web=1,", `bad formation item "": want NAME=N`},
		{"web=10001", `bad formation item "web=10001": count is above 10000`},
		{"web=99999999999999999999", `bad formation item "web=99999999999999999999": count "99999999999999999999" is not a number`},
	}
	for _, tt := range tests {
		_, err := ParseFormation(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseFormation(%q) error = %v, want %s", tt.in, err, tt.want)
		}
	}
}

// threeTypes is a Procfile of three process types.
var threeTypes = []Entry{{"web", "serve", 1}, {"worker", "work", 2}, {"clock", "tick", 4}}

func TestFormationCheck(t *testing.T) {
	good, _ := ParseFormation("web=2,all=0,clock=1")
	if err := good.Check(threeTypes); err != nil {
		t.Errorf("Check: %v", err)
	}
	bad, _ := ParseFormation("wbe=2,web=1,zzz=1")
	checkErr(t, bad.Check(threeTypes), `unknown process "wbe" in formation`)
}

func TestFormationCount(t *testing.T) {
	f, _ := ParseFormation("web=2,all=3,clock=0")
	for name, want := range map[string]int{"web": 2, "clock": 0, "worker": 3, "other": 3} {
		if got := f.Count(name); got != want {
			t.Errorf("Count(%q) = %d, want %d", name, got, want)
		}
	}
}

// describe prints instances one per line, to compare them in a test.
func describe(instances []Instance) string {
	var b strings.Builder
	for _, in := range instances {
		fmt.Fprintf(&b, "%s %s %s idx=%d num=%d port=%d cmd=%s\n",
			in.Name, in.PS, in.Entry.Name, in.Index, in.Num, in.Port, in.Command)
	}
	return b.String()
}

func TestInstances(t *testing.T) {
	tests := []struct {
		name      string
		formation string
		only      []string
		want      string
	}{
		{"every type once", "", nil, "" +
			"web web.1 web idx=0 num=1 port=5000 cmd=serve\n" +
			"worker worker.1 worker idx=1 num=1 port=5100 cmd=work\n" +
			"clock clock.1 clock idx=2 num=1 port=5200 cmd=tick\n"},
		{"counts per type", "web=2,worker=1", nil, "" +
			"web.1 web.1 web idx=0 num=1 port=5000 cmd=serve\n" +
			"web.2 web.2 web idx=0 num=2 port=5001 cmd=serve\n" +
			"worker worker.1 worker idx=1 num=1 port=5100 cmd=work\n" +
			"clock clock.1 clock idx=2 num=1 port=5200 cmd=tick\n"},
		{"count 0 keeps the index", "web=2,all=1,clock=0", nil, "" +
			"web.1 web.1 web idx=0 num=1 port=5000 cmd=serve\n" +
			"web.2 web.2 web idx=0 num=2 port=5001 cmd=serve\n" +
			"worker worker.1 worker idx=1 num=1 port=5100 cmd=work\n"},
		{"skipped first type", "web=0,clock=3", nil, "" +
			"worker worker.1 worker idx=1 num=1 port=5100 cmd=work\n" +
			"clock.1 clock.1 clock idx=2 num=1 port=5200 cmd=tick\n" +
			"clock.2 clock.2 clock idx=2 num=2 port=5201 cmd=tick\n" +
			"clock.3 clock.3 clock idx=2 num=3 port=5202 cmd=tick\n"},
		{"only, in Procfile order", "clock=2", []string{"clock", "web"}, "" +
			"web web.1 web idx=0 num=1 port=5000 cmd=serve\n" +
			"clock.1 clock.1 clock idx=2 num=1 port=5200 cmd=tick\n" +
			"clock.2 clock.2 clock idx=2 num=2 port=5201 cmd=tick\n"},
		{"only a disabled type", "all=0", []string{"worker"}, ""},
	}
	for _, tt := range tests {
		f, err := ParseFormation(tt.formation)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Instances(threeTypes, f, 5000, tt.only)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s := describe(got); s != tt.want {
			t.Errorf("%s: got\n%swant\n%s", tt.name, s, tt.want)
		}
	}
}

func TestInstancesErrors(t *testing.T) {
	f, _ := ParseFormation("web=2")
	_, err := Instances(threeTypes, f, 5000, []string{"web", "x"})
	checkErr(t, err, `unknown process "x"`)

	f, _ = ParseFormation("wbe=2")
	_, err = Instances(threeTypes, f, 5000, nil)
	checkErr(t, err, `unknown process "wbe" in formation`)
}

func TestInstancesKeepEntry(t *testing.T) {
	f, _ := ParseFormation("")
	got, err := Instances(threeTypes, f, 3000, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]Entry, len(got))
	for i, in := range got {
		entries[i] = in.Entry
	}
	if !slices.Equal(entries, threeTypes) {
		t.Errorf("entries = %+v, want %+v", entries, threeTypes)
	}
}

func FuzzParseFormation(f *testing.F) {
	for _, s := range []string{"", "web=2,all=1,clock=0", "web", "web=", "=2", "web=-1", "web=x",
		"web=1,web=2", "all=0", " a = 1 ,b=+2", "a=1,,b=2", "x=0x10", "a=٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormation(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bad formation item ") {
				t.Fatalf("ParseFormation(%q) error %q does not name the item", s, err)
			}
			return
		}
		if fm.Default < 0 || fm.Default > maxCount {
			t.Fatalf("ParseFormation(%q).Default = %d", s, fm.Default)
		}
		for name, n := range fm.Counts {
			if n < 0 || n > maxCount || name == "" || name == allName {
				t.Fatalf("ParseFormation(%q) counts %q=%d", s, name, n)
			}
		}
	})
}
