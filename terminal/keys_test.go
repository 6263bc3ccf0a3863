package terminal

import (
	"bytes"
	"testing"
)

func TestParseKeys(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
		ok   bool
	}{
		{`ctrl-\`, []byte{0x1c}, true},
		{"ctrl-a,d", []byte{1, 'd'}, true},
		{"ctrl-p,ctrl-q", []byte{0x10, 0x11}, true},
		{"CTRL-A,ctrl-@,ctrl-_,ctrl-[,ctrl-],ctrl-^", []byte{1, 0, 0x1f, 0x1b, 0x1d, 0x1e}, true},
		{"", nil, true},
		{"x", []byte{'x'}, true},
		{"ctrl-", nil, false},
		{"ctrl-1", nil, false},
		{"ab", nil, false},
		{"a,,b", nil, false},
		{"alt-a", nil, false},
		{"ctrl-a,ctrl-a", nil, false}, // the first key twice is the key itself: it could never detach
		{"a,a,d", nil, false},
		{"a,b,a", []byte{'a', 'b', 'a'}, true},
	} {
		got, err := ParseKeys(c.in)
		if (err == nil) != c.ok || !bytes.Equal(got, c.want) {
			t.Errorf("ParseKeys(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

// feedAll feeds each chunk in turn and reports what was sent on, whether
// the sequence detached and whether it ended waiting for a second tap.
func feedAll(d *Detacher, chunks ...string) (string, bool, bool) {
	var sent []byte
	var waiting bool
	for _, c := range chunks {
		out, detach, w := d.Feed([]byte(c))
		sent = append(sent, out...)
		if detach {
			return string(sent), true, false
		}
		waiting = w
	}
	return string(sent), false, waiting
}

func TestDetacherOneKey(t *testing.T) {
	const k = "\x1c"
	for _, c := range []struct {
		name    string
		chunks  []string
		sent    string
		detach  bool
		waiting bool
	}{
		{"plain keys", []string{"p 6*7\r"}, "p 6*7\r", false, false},
		{"alone, waiting", []string{"ab" + k}, "ab", false, true},
		{"twice in one read", []string{k + k}, k, false, false},
		{"twice in two reads", []string{k, k}, k, false, false},
		{"twice twice", []string{k + k + k + k}, k + k, false, false},
		{"then another key", []string{k, "x"}, "", true, false},
		{"in the middle", []string{"a" + k + "b"}, "a", true, false},
	} {
		d := NewDetacher([]byte(k))
		sent, detach, waiting := feedAll(d, c.chunks...)
		if sent != c.sent || detach != c.detach || waiting != c.waiting {
			t.Errorf("%s: sent %q detach %v waiting %v; want %q %v %v", c.name, sent, detach, waiting, c.sent, c.detach, c.waiting)
		}
	}
	d := NewDetacher([]byte(k))
	if _, _, waiting := d.Feed([]byte(k)); !waiting || !d.Expire() {
		t.Error("a lone key did not detach when the window passed")
	}
	if d.Expire() {
		t.Error("Expire detached twice")
	}
}

func TestDetacherSequence(t *testing.T) {
	keys, _ := ParseKeys("ctrl-a,d")
	for _, c := range []struct {
		name   string
		chunks []string
		sent   string
		detach bool
	}{
		{"the sequence", []string{"\x01d"}, "", true},
		{"split over reads", []string{"ls\x01", "d"}, "ls", true},
		{"first key twice", []string{"\x01\x01"}, "\x01", false},
		{"first key twice, then the sequence", []string{"\x01\x01\x01d"}, "\x01", true},
		{"not continued", []string{"\x01x"}, "\x01x", false},
		{"second key alone", []string{"d"}, "d", false},
		{"held at the end", []string{"ab\x01"}, "ab", false},
	} {
		d := NewDetacher(keys)
		sent, detach, waiting := feedAll(d, c.chunks...)
		if sent != c.sent || detach != c.detach || waiting {
			t.Errorf("%s: sent %q detach %v waiting %v; want %q %v", c.name, sent, detach, waiting, c.sent, c.detach)
		}
	}
	d := NewDetacher(nil)
	if sent, detach, _ := feedAll(d, "\x1c\x1c", "\x01d"); sent != "\x1c\x1c\x01d" || detach {
		t.Errorf("no keys: sent %q detach %v", sent, detach)
	}
}
