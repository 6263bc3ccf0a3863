package output

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"
)

// Stream tells stdout from stderr, and both from a terminal. It is shown
// only in the JSON format, as the "stream" field; in text mode both
// streams usually share one pipe.
type Stream int

const (
	// Stdout is the child's standard output.
	Stdout Stream = iota
	// Stderr is the child's standard error.
	Stderr
	// TTY is the master side of the child's pseudo-terminal, where its
	// stdout and stderr arrive merged.
	TTY
)

// String returns "stdout", "stderr" or "tty".
func (s Stream) String() string {
	switch s {
	case Stderr:
		return "stderr"
	case TTY:
		return "tty"
	}
	return "stdout"
}

// Label is how the lines of one process are shown.
type Label struct {
	Name string // display name, e.g. "web.1"
	// Color is an index into the palette: cyan, yellow, green, magenta,
	// red, blue, then the bright variants of the same six. It wraps around.
	Color int
	// Raw prints lines as they are, without prefix, in both formats (for
	// children that log JSON). Lines are still whole and never interleaved.
	Raw bool
}

// palette holds the colors of [Label.Color], in order.
var palette = []color.Attribute{
	color.FgCyan, color.FgYellow, color.FgGreen,
	color.FgMagenta, color.FgRed, color.FgBlue,
	color.FgHiCyan, color.FgHiYellow, color.FgHiGreen,
	color.FgHiMagenta, color.FgHiRed, color.FgHiBlue,
}

// cinitName is the name of cinit's own lines; they are white when colored.
const cinitName = "cinit"

// paletteColor returns the color with index i, wrapping around in both
// directions.
func paletteColor(i int) color.Attribute {
	n := len(palette)
	return palette[(i%n+n)%n]
}

// formatter turns lines of one source (a pipe, or cinit's events) into
// formatted output lines: head, then the line (escaped in JSON), then the
// end ("\n", or "\"}\n" in JSON). Everything that does not change from line
// to line is computed once, in newFormatter; the time is read once per
// batch, in begin.
type formatter struct {
	// Immutable after newFormatter.
	json   bool
	raw    bool
	stamps bool // text format with timestamps
	now    func() time.Time
	// prefix is what follows the time: in text, the (colored) name column
	// and "| "; in JSON, everything from the end of the "time" value on.
	prefix []byte

	// State owned by the single goroutine that formats with this formatter.
	head []byte    // what goes before each line of the current batch
	sec  int64     // text format with timestamps: the second that head shows
	t    time.Time // the time of the current batch, which the logs ring keeps
}

// newFormatter returns the formatter for lines named name; attr is the
// color of the text prefix. In JSON, fields follows the name: the rest of
// the object's head.
func newFormatter(o Options, name string, attr color.Attribute, raw bool, fields string) *formatter {
	f := &formatter{
		json:   o.Format == JSON,
		raw:    raw,
		stamps: o.Format == Text && o.Timestamps,
		now:    o.Now,
	}
	switch {
	case raw:
	case f.json:
		f.prefix = appendJSONString([]byte(`","name":`), []byte(name))
		f.prefix = append(f.prefix, fields...)
	default:
		f.prefix = textPrefix(o, name, attr)
		if !f.stamps {
			f.head = f.prefix // for good; with stamps, begin builds its own
		}
	}
	return f
}

// pipeFields returns the JSON fields of a line of stream s after the
// name, up to the opening quote of the line.
func pipeFields(s string) string {
	return string(appendJSONString([]byte(`,"stream":`), []byte(s))) + `,"line":"`
}

// textPrefix returns the name column: "NAME<pad> | ", with "NAME<pad> |"
// colored when o.Color is set.
func textPrefix(o Options, name string, attr color.Attribute) []byte {
	pad := max(o.Width-utf8.RuneCountInString(name), 0)
	col := name + strings.Repeat(" ", pad) + " |"
	if o.Color {
		c := color.New(attr)
		c.EnableColor() // per color, never the package-wide NoColor
		col = c.Sprint(col)
	}
	return []byte(col + " ")
}

// begin starts a batch: it reads the clock, once for all the lines of the
// batch, and sets head. In text format the head is kept until the clock
// shows another second.
func (f *formatter) begin() {
	f.beginAt(f.now())
}

// beginAt is begin for lines of time t.
func (f *formatter) beginAt(t time.Time) {
	f.t = t
	switch {
	case f.raw:
	case f.json:
		f.head = append(f.head[:0], `{"time":"`...)
		f.head = t.AppendFormat(f.head, time.RFC3339Nano)
		f.head = append(f.head, f.prefix...)
	case f.stamps:
		f.textStamp(t)
	}
}

// textStamp sets head to "HH:MM:SS " for t and the prefix, unless it
// already shows that second.
func (f *formatter) textStamp(t time.Time) {
	if sec := t.Unix(); len(f.head) == 0 || sec != f.sec {
		f.head = t.AppendFormat(f.head[:0], "15:04:05 ")
		f.head = append(f.head, f.prefix...)
		f.sec = sec
	}
}

// appendLine appends line, formatted and ending in '\n', to dst. line must
// not contain '\n'. It does not allocate once dst has room.
func (f *formatter) appendLine(dst, line []byte) []byte {
	dst = append(dst, f.head...)
	if f.json && !f.raw {
		dst = appendJSONChars(dst, line)
		return append(dst, "\"}\n"...)
	}
	dst = append(dst, line...)
	return append(dst, '\n')
}
