package output

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// The benchmarks send b.N lines through a real pipe into a Writer on
// io.Discard, or on /dev/null as a file (the ...File ones, where long lines
// go out with writev); compare their MB/s with the baselines
// BenchmarkPipeCopy and BenchmarkPipeCopyLarge, which move the same bytes
// through the same kind of pipe without looking at them, like a "| cat"
// hop.

// feed writes count lines of lineLen bytes (the last one '\n') to f in
// writes of about 64 KiB, then closes f.
func feed(f *os.File, lineLen, count int) {
	line := bytes.Repeat([]byte("x"), lineLen-1)
	line = append(line, '\n')
	per := max(64<<10/lineLen, 1)
	block := bytes.Repeat(line, per)
	for count > 0 {
		n := min(per, count)
		f.Write(block[:n*lineLen])
		count -= n
	}
	f.Close()
}

// benchPipe measures Run on b.N lines of lineLen bytes into io.Discard.
func benchPipe(b *testing.B, o Options, lineLen int) {
	benchPipeTo(b, io.Discard, o, lineLen)
}

// benchPipeFile measures Run on b.N lines of lineLen bytes into /dev/null.
func benchPipeFile(b *testing.B, o Options, lineLen int) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchPipeTo(b, f, o, lineLen)
}

func benchPipeTo(b *testing.B, out io.Writer, o Options, lineLen int) {
	benchRing(b, out, o, lineLen, func(*Writer) {})
}

// benchRing is benchPipeTo with setup called on the Writer first.
func benchRing(b *testing.B, out io.Writer, o Options, lineLen int, setup func(*Writer)) {
	o.Now = nil
	w := New(out, o)
	defer w.Close()
	setup(w)
	r, in, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	p := w.Pipe(Label{Name: "web.1", Color: 2}, Stdout, r)
	b.SetBytes(int64(lineLen))
	b.ReportAllocs()
	b.ResetTimer()
	go feed(in, lineLen, b.N)
	p.Run()
}

func BenchmarkText60(b *testing.B) {
	benchPipe(b, Options{Width: 5, Color: true, Timestamps: true}, 60)
}

func BenchmarkTextPlain60(b *testing.B) {
	benchPipe(b, Options{Width: 5}, 60)
}

// BenchmarkTextPlain60NoRing is BenchmarkTextPlain60 without the logs
// ring: what recording costs the output path.
func BenchmarkTextPlain60NoRing(b *testing.B) {
	benchRing(b, io.Discard, Options{Width: 5}, 60, func(w *Writer) { w.logs = nil })
}

// BenchmarkTextPlain60Followers is BenchmarkTextPlain60 with four
// followers, one of which never reads.
func BenchmarkTextPlain60Followers(b *testing.B) {
	benchRing(b, io.Discard, Options{Width: 5}, 60, func(w *Writer) {
		w.Follow(0) // stopped
		for range 3 {
			f := w.Follow(0)
			go func() {
				for {
					if _, _, ok := f.Next(); !ok {
						return
					}
				}
			}()
		}
	})
}

func BenchmarkJSON60(b *testing.B) {
	benchPipe(b, Options{Format: JSON}, 60)
}

func BenchmarkText1MiB(b *testing.B) {
	benchPipe(b, Options{Width: 5, Color: true, Timestamps: true}, maxLine)
}

// BenchmarkText1MiBNoRing is BenchmarkText1MiB without the logs ring.
func BenchmarkText1MiBNoRing(b *testing.B) {
	benchRing(b, io.Discard, Options{Width: 5, Color: true, Timestamps: true}, maxLine, func(w *Writer) { w.logs = nil })
}

func BenchmarkTextPlain60File(b *testing.B) {
	benchPipeFile(b, Options{Width: 5}, 60)
}

func BenchmarkText1MiBFile(b *testing.B) {
	benchPipeFile(b, Options{Width: 5, Color: true, Timestamps: true}, maxLine)
}

// BenchmarkPipeCopy is the baseline: the same bytes through the same kind
// of pipe, copied with a plain io.Copy to io.Discard (which reads 8 KiB at
// a time).
func BenchmarkPipeCopy(b *testing.B) {
	benchCopy(b, func(r *os.File) { io.Copy(io.Discard, r) })
}

// BenchmarkPipeCopyLarge is a stricter baseline: like BenchmarkPipeCopy,
// but with reads as large as those of a Pipe.
func BenchmarkPipeCopyLarge(b *testing.B) {
	buf := make([]byte, readSize)
	benchCopy(b, func(r *os.File) {
		io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{r}, buf)
	})
}

// Hide ReaderFrom and WriterTo so that io.CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// benchCopy measures copy on b.N lines of 60 bytes.
func benchCopy(b *testing.B, copy func(*os.File)) {
	r, in, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.SetBytes(60)
	b.ReportAllocs()
	b.ResetTimer()
	go feed(in, 60, b.N)
	copy(r)
}
