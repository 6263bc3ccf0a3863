package output

import (
	"bytes"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
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

// BenchmarkLogsRatios measures, in the same run, what the logs ring and
// its followers cost the output path, as ratios of throughput (time
// without / time with; 1 is free). Each iteration sends the same lines
// through a real pipe into each of these Writers, one after the other,
// each Writer living for the whole benchmark as cinit's does:
//
//   - short lines (60 B) into a Writer without the ring (the output path
//     before it existed), one with the ring, and one with the ring and
//     four followers: one never reads (a stopped client), three render
//     every line they get as text and discard it (cinit logs -f, minus
//     the socket). The streams count the lines that reach them: none may
//     be lost.
//   - 1 MiB lines into /dev/null (written with writev, as on cinit's
//     stdout), without and with the ring.
//
// It reports the medians of the per-iteration ratios. The Writers take
// turns, in reverse order every other iteration.
func BenchmarkLogsRatios(b *testing.B) {
	const shortLines, longLines = 1 << 20, 64
	plain, withRing := newLogsBench(b, 60, noRing), newLogsBench(b, 60, nil)
	withFollowers := newLogsBench(b, 60, followers)
	longPlain, longRing := newLogsBench(b, maxLine, noRing), newLogsBench(b, maxLine, nil)
	var ring, follow, long []float64
	for i := range b.N {
		t := runAll(b, i%2 == 1, []*logsBench{plain, withRing, withFollowers}, shortLines)
		ring = append(ring, t[0]/t[1])
		follow = append(follow, t[1]/t[2])
		t = runAll(b, i%2 == 1, []*logsBench{longPlain, longRing}, longLines)
		long = append(long, t[0]/t[1])
	}
	for _, l := range []*logsBench{plain, withRing, withFollowers, longPlain, longRing} {
		l.close(b)
	}
	b.ReportMetric(median(ring), "ring/plain")
	b.ReportMetric(median(follow), "followers/ring")
	b.ReportMetric(median(long), "ring/plain-1MiB")
}

// runAll runs each of ls with count lines, in reverse order if reverse
// is set (so that a drift of the machine does not favor one), and
// returns their times in the order of ls.
func runAll(b *testing.B, reverse bool, ls []*logsBench, count int) []float64 {
	t := make([]float64, len(ls))
	for j := range ls {
		if reverse {
			j = len(ls) - 1 - j
		}
		t[j] = ls[j].run(b, count)
	}
	return t
}

// logsBench is a Writer of BenchmarkLogsRatios.
type logsBench struct {
	w       *Writer
	lineLen int
	out     *lineCounter // short lines: the stream; nil for long lines
	sent    int          // lines sent
	end     func()       // from the setup
}

// newLogsBench returns a Writer for lines of lineLen bytes, prepared by
// setup (nil: none). Short lines go to a stream that counts them, long
// lines to /dev/null.
func newLogsBench(b *testing.B, lineLen int, setup func(*Writer) func()) *logsBench {
	l := &logsBench{lineLen: lineLen, end: func() {}}
	if lineLen < vecSize {
		l.out = &lineCounter{}
		l.w = New(l.out, Options{Width: 5})
	} else {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		l.w = New(f, Options{Width: 5})
	}
	if setup != nil {
		l.end = setup(l.w)
	}
	return l
}

// run sends count lines through a new pipe and returns the seconds until
// the Pipe's Run returned.
func (l *logsBench) run(b *testing.B, count int) float64 {
	r, in, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	p := l.w.Pipe(Label{Name: "web.1"}, Stdout, r)
	l.sent += count
	start := time.Now()
	go feed(in, l.lineLen, count)
	p.Run()
	return time.Since(start).Seconds()
}

// close closes the Writer and fails b if a line was lost.
func (l *logsBench) close(b *testing.B) {
	l.w.Close()
	l.end()
	if l.out != nil && l.out.lines != l.sent {
		b.Fatalf("%d lines of %d reached the stream", l.out.lines, l.sent)
	}
}

// noRing is a setup for newLogsBench: the Writer without the logs ring.
func noRing(w *Writer) func() {
	w.logs = nil
	return func() {}
}

// followers is a setup for newLogsBench: four followers, one stopped;
// the function it returns waits for the others to end.
func followers(w *Writer) func() {
	stopped := w.Follow(0)
	var wg sync.WaitGroup
	for range 3 {
		f := w.Follow(0)
		wg.Go(func() {
			rd := NewRenderer(Options{Width: 5})
			var buf []byte
			for {
				recs, _, ok := f.Next()
				if !ok {
					return
				}
				buf = buf[:0]
				for i := range recs {
					buf = rd.Append(buf, &recs[i])
				}
			}
		})
	}
	return func() {
		wg.Wait()
		stopped.Close()
	}
}

// lineCounter is a stream that counts the lines written to it.
type lineCounter struct{ lines int }

func (c *lineCounter) Write(b []byte) (int, error) {
	c.lines += bytes.Count(b, []byte{'\n'})
	return len(b), nil
}

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
