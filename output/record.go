package output

import (
	"strconv"
	"time"
)

// Record is one line of the merged output as the logs ring keeps it (see
// [Writer.Tail] and [Writer.Follow]): a line of a child, a piece of a long
// line, or one of cinit's own events. A [Renderer] prints it exactly as
// the [Writer] printed it.
type Record struct {
	Time   time.Time // when the Writer formatted the line
	Name   string    // the process's display name, e.g. "web.1"; "cinit" for an event
	Stream string    // Stream.String() of a child's line ("stdout", "stderr"); "" for an event
	Event  string    // the Kind of one of cinit's events; "" for a child's line
	Line   []byte    // the line without its '\n' (an event's Text, which may hold '\n')
	Color  int       // the Label.Color of a child's line
	Raw    bool      // the line is printed as it is, without a prefix (Label.Raw)

	// The optional fields of an event, as in [Event].
	Process string
	Pid     int
	Code    *int
	Signal  string

	// Dropped is set in a "dropped" notice (see [DroppedRecord]): the
	// number of lines a follower lost.
	Dropped int
}

// DroppedRecord returns the notice that n lines were lost to a reader
// that was too slow: an event "dropped" at time t that prints as
// "cinit | logs: N lines dropped (reader too slow)" in text and carries
// "lines":N in JSON.
func DroppedRecord(n int, t time.Time) Record {
	text := "logs: " + strconv.Itoa(n) + " lines dropped (reader too slow)"
	if n == 1 {
		text = "logs: 1 line dropped (reader too slow)"
	}
	return Record{Time: t, Name: cinitName, Event: "dropped", Line: []byte(text), Dropped: n}
}

// event returns the Event that r records.
func (r *Record) event() Event {
	return Event{Kind: r.Event, Text: string(r.Line), Process: r.Process,
		Pid: r.Pid, Code: r.Code, Signal: r.Signal}
}

// Renderer prints Records in the format of a Writer with the same
// Options: [Renderer.Append] gives the bytes that the Writer printed for
// the record. Options.Now is not used: a record carries its time. A
// Renderer is not safe for concurrent use; it keeps the prefixes of the
// names it has seen.
type Renderer struct {
	o    Options
	fmts map[renderKey]*formatter
	last renderKey  // the key of the last record: runs of records share one
	lf   *formatter // its formatter
}

// renderKey tells the formatters of a Renderer apart.
type renderKey struct {
	name, stream string
	event        bool
	color        int
	raw          bool
}

// NewRenderer returns a Renderer for Options o. For "NAME | line" without
// color or time, o is Options{Width: w}; [Writer.Width] is the width the
// Writer pads names to.
func NewRenderer(o Options) *Renderer {
	return &Renderer{o: o, fmts: make(map[renderKey]*formatter)}
}

// Append appends r to dst as one output line ending in '\n' (several in
// text format for an event whose text has several lines).
func (rd *Renderer) Append(dst []byte, r *Record) []byte {
	f := rd.formatter(r)
	f.beginAt(r.Time)
	if r.Event == "" {
		return f.appendLine(dst, r.Line)
	}
	e := r.event()
	dst = f.appendEvent(dst, &e)
	if r.Dropped != 0 && f.json {
		dst = append(dst[:len(dst)-2], `,"lines":`...) // before "}\n"
		dst = strconv.AppendInt(dst, int64(r.Dropped), 10)
		dst = append(dst, "}\n"...)
	}
	return dst
}

// formatter returns the formatter for r's source, making it on first use.
func (rd *Renderer) formatter(r *Record) *formatter {
	k := renderKey{name: r.Name, stream: r.Stream, event: r.Event != "", color: r.Color, raw: r.Raw}
	if k.event {
		k = renderKey{event: true}
	}
	if rd.lf != nil && k == rd.last {
		return rd.lf
	}
	f := rd.fmts[k]
	if f != nil {
		rd.last, rd.lf = k, f
		return f
	}
	switch {
	case k.event:
		f = newEventFormatter(rd.o)
	default:
		f = newFormatter(rd.o, r.Name, paletteColor(r.Color), r.Raw, pipeFields(r.Stream))
	}
	rd.fmts[k] = f
	rd.last, rd.lf = k, f
	return f
}

// Width returns the width of the name column, [Options.Width].
func (w *Writer) Width() int {
	return w.opts.Width
}
