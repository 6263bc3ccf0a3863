package supervisor

import (
	"time"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/output"
)

// ringLines is how many lines the logs ring keeps at most (output's
// Writer.Tail): asking for more returns them all.
const ringLines = 1000

// ctlLogs answers cinit logs: the last lines of the merged output, then,
// with follow, every new line until cinit's output ends or the client
// hangs up. The loop only resolves the names and takes a Follower from
// the Writer (neither waits); the connection's goroutine renders and
// writes the lines, and a slow client only makes its own Follower drop
// lines (see output.Follower).
func (s *supervisor) ctlLogs(c *control.Call, units []*unit) {
	n := 100
	if c.Req.Lines != nil {
		n = max(0, *c.Req.Lines)
	}
	keep := s.logFilter(c.Req.Names, units)
	take := n
	if keep != nil {
		take = ringLines // filter first, then keep the last n
	}
	o := output.Options{Width: s.cfg.Out.Width(), Color: c.Req.Color, Timestamps: c.Req.Timestamps}
	if c.Req.Format == "json" {
		o.Format = output.JSON
	}
	lg := &logStream{rd: output.NewRenderer(o), keep: keep, n: n}
	if c.Req.Follow {
		var sel func(*output.Record) bool
		if keep != nil {
			sel = lg.keeps
		}
		lg.f = s.cfg.Out.FollowSelected(take, sel)
	} else {
		lg.tail = s.cfg.Out.Tail(take)
	}
	c.Stream(nil, lg.run)
}

// logFilter returns which records a selection keeps: the lines of the
// selected instances and cinit's messages about them. nil keeps all.
func (s *supervisor) logFilter(names []string, units []*unit) map[string]bool {
	if len(names) == 0 || len(units) == len(s.units) {
		return nil
	}
	keep := make(map[string]bool, len(units))
	for _, u := range units {
		keep[u.inst.Name] = true
	}
	return keep
}

// logStream writes one client's logs. It runs in the connection's
// goroutine and touches no supervisor state.
type logStream struct {
	rd   *output.Renderer
	keep map[string]bool // nil: everything
	n    int             // how many of the past lines
	tail []output.Record // without follow: the lines to write
	f    *output.Follower
	buf  []byte
}

// run writes the lines to conn.
func (l *logStream) run(conn *control.Conn) {
	if l.f == nil {
		l.write(conn, l.last(l.filter(l.tail)), 0)
		return
	}
	defer l.f.Close()
	go func() {
		<-conn.Gone()
		l.f.Close() // a Next that waits returns
	}()
	first := true
	for {
		recs, dropped, ok := l.f.Next()
		if !ok {
			return
		}
		if first { // its tail: the last n of the selected lines
			recs, first = l.last(recs), false
		}
		if !l.write(conn, recs, dropped) {
			return
		}
	}
}

// write renders recs, after a notice of dropped lines if any, and writes
// them with one call; false means the client is gone.
func (l *logStream) write(conn *control.Conn, recs []output.Record, dropped int) bool {
	l.buf = l.buf[:0]
	if dropped > 0 {
		d := output.DroppedRecord(dropped, time.Now())
		l.buf = l.rd.Append(l.buf, &d)
	}
	for i := range recs {
		l.buf = l.rd.Append(l.buf, &recs[i])
	}
	if len(l.buf) == 0 {
		return true
	}
	_, err := conn.Write(l.buf)
	return err == nil
}

// filter keeps the selected records, in place.
func (l *logStream) filter(recs []output.Record) []output.Record {
	if l.keep == nil {
		return recs
	}
	return output.Select(recs, l.keeps)
}

// keeps reports whether r is selected: a line of a selected instance, or
// cinit's message about one.
func (l *logStream) keeps(r *output.Record) bool {
	return l.keep[r.Name] || r.Event != "" && l.keep[r.Process]
}

// last keeps the last n records.
func (l *logStream) last(recs []output.Record) []output.Record {
	if len(recs) > l.n {
		return recs[len(recs)-l.n:]
	}
	return recs
}
