package output

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// modelLines is the specification of line splitting, written as plainly
// as possible: split on '\n', keep a final line without '\n' if it is not
// empty, drop one '\r' at the end of each line, and cut lines longer than
// limit into pieces of limit bytes.
func modelLines(in []byte, limit int) [][]byte {
	lines := bytes.Split(in, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out [][]byte
	for _, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\r"))
		for len(l) > limit {
			out = append(out, l[:limit])
			l = l[limit:]
		}
		out = append(out, l)
	}
	return out
}

// chunks cuts data into pieces whose sizes come from sizes, cycling.
func chunks(data, sizes []byte) [][]byte {
	var out [][]byte
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(sizes) > 0 {
			n = min(int(sizes[i%len(sizes)])+1, n)
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// FuzzLines writes arbitrary bytes, cut into arbitrary chunks, through a
// real pipe, and checks the output against modelLines, in text and JSON.
// limit selects the line limit: 0 is the real 1 MiB, anything else a
// small one so that long lines are cheap to reach. With its top bit set,
// text also goes through a second time, to a file (a pipe) instead of an
// io.Writer that checks every write, and lines from a length that limit
// selects go out with writev.
func FuzzLines(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), []byte{2, 0, 5}, uint8(0), false)
	f.Add([]byte("a\r\nb\rc\r\r\n\n\nend\r"), []byte{0}, uint8(3), false)
	f.Add([]byte("abcd\r\nabcde\r\n\r"), []byte{3, 1}, uint8(4), true)
	f.Add([]byte("\xff\xfe\x00\x1b[31m\"\\\xe2\x82\n\xe2\x82\xac"), []byte{1}, uint8(2), true)
	f.Add([]byte("no newline at all"), []byte{}, uint8(5), false)
	f.Add([]byte(""), []byte{7}, uint8(1), false)
	f.Add([]byte("ab\ncdefgh\r\nijklmnopq\rrs\n\ntu"), []byte{4, 1}, uint8(0x85), false)
	f.Fuzz(func(t *testing.T, data, sizes []byte, limit uint8, asJSON bool) {
		lim := maxLine
		if limit > 0 {
			lim = int(limit%32) + 1
		}
		o := Options{Width: 3}
		if asJSON {
			o.Format = JSON
		}
		want := modelLines(data, lim)
		var c capture
		w := fuzzPipe(t, &c, o, lim, 0, data, sizes)
		c.checkWhole(t)
		checkFuzzOutput(t, c.String(), want, asJSON)
		if recs := checkTail(t, w, o, c.String(), len(want)); len(recs) != min(len(want), ringLines) {
			t.Fatalf("Tail(%d) returned %d lines", len(want), len(recs))
		}
		if !asJSON && limit&0x80 != 0 {
			fs := newFileStream(t)
			fuzzPipe(t, fs.w, o, lim, int(limit%7)+1, data, sizes)
			checkFuzzOutput(t, fs.output(t), want, false)
		}
	})
}

// fuzzPipe copies data, written in chunks cut by sizes, through a Pipe
// with line limit lim to a Writer on stream, and returns the closed
// Writer. A vecMin above 0 replaces the length from which lines go out
// with writev.
func fuzzPipe(t *testing.T, stream io.Writer, o Options, lim, vecMin int, data, sizes []byte) *Writer {
	w := New(stream, o)
	r, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := w.Pipe(Label{Name: "f"}, Stdout, r)
	p.limit = lim
	if vecMin > 0 {
		p.vecMin = vecMin
	}
	done := make(chan struct{})
	go func() { p.Run(); close(done) }()
	for _, ch := range chunks(data, sizes) {
		if _, err := in.Write(ch); err != nil {
			t.Fatal(err)
		}
	}
	in.Close()
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

// checkFuzzOutput compares out with the expected lines.
func checkFuzzOutput(t *testing.T, out string, want [][]byte, asJSON bool) {
	t.Helper()
	if !asJSON {
		var b bytes.Buffer
		for _, l := range want {
			b.WriteString("f   | ")
			b.Write(l)
			b.WriteByte('\n')
		}
		if out != b.String() {
			t.Fatalf("got  %q\nwant %q", out, b.String())
		}
		return
	}
	got := decodeJSONLines(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %q", len(got), len(want), out)
	}
	for i, l := range want {
		var ref string
		enc, _ := json.Marshal(string(l))
		json.Unmarshal(enc, &ref)
		if got[i].Line != ref {
			t.Fatalf("line %d: %q, want %q", i, got[i].Line, ref)
		}
	}
}
