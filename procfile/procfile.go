// Package procfile reads the files that describe what cinit runs: the
// Procfile, the env files, and the formation (how many instances of each
// process type to start). It turns them into a list of [Instance] values and
// starts nothing itself.
//
// The Procfile grammar is line based and works on bytes:
//
//   - a leading UTF-8 byte order mark is skipped;
//   - lines end at "\n", and one "\r" before it is dropped, so CRLF files
//     work; a lone "\r" is ordinary content;
//   - blank lines are ignored, and so is a line whose first non-blank
//     character is "#";
//   - an entry is [blanks] NAME ":" [blanks] COMMAND, where NAME is made of
//     ASCII letters, digits, "_" and "-", and COMMAND is the rest of the
//     line, unmodified, and not blank; the blanks are spaces and tabs, and
//     those before NAME are accepted because Heroku accepts them (foreman
//     does not, and an indented line is an easy mistake to make);
//   - there is no line continuation and no limit on the length of a line.
//
// Lines that are not entries are reported as warnings, never silently
// dropped. Problems that make the file unusable (a name defined twice, no
// entries at all) are errors. Every message starts with "file:line:" ("file:"
// when no line is at fault), so it points at the place to fix.
package procfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Entry is one process type of a Procfile.
type Entry struct {
	Name    string // the process type, e.g. "web"
	Command string // the rest of the line, unmodified
	Line    int    // 1-based line number in the file
}

// bom is the UTF-8 encoding of U+FEFF, which some editors put at the start of
// a text file.
const bom = "\xef\xbb\xbf"

// Parse reads a Procfile. file is the name used in messages (for example
// "Procfile" or "sub/Procfile").
//
// It returns the entries in file order and the warnings, each formatted as
// "<file>:<line>: <text>", for lines it ignored or found suspicious. The
// error is non-nil when a process type is defined twice or the file defines
// none; the entries are then nil, but the warnings are still returned so that
// a check can show every problem at once.
func Parse(file string, r io.Reader) ([]Entry, []string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	p := parser{file: file, first: map[string]int{}}
	for i, line := range splitLines(data) {
		p.line(i+1, line)
	}
	return p.result()
}

// parser holds the state of one [Parse] call.
type parser struct {
	file     string
	entries  []Entry
	warnings []string
	first    map[string]int // line where each name was first defined
	err      error          // the first duplicate, if any
}

// splitLines strips a leading byte order mark, splits data on "\n" and drops
// one trailing "\r" from each line.
func splitLines(data []byte) []string {
	text := strings.TrimPrefix(string(data), bom)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// line handles line number n of the file.
func (p *parser) line(n int, line string) {
	trimmed := strings.TrimLeft(line, blanks)
	if trimmed == "" || trimmed[0] == '#' {
		return
	}
	name, command, ok := splitEntry(strings.TrimLeft(line, " \t"))
	switch {
	case !ok:
		p.warn(n, `ignoring line that is not "name: command"`)
	case strings.Trim(command, blanks) == "":
		p.warn(n, fmt.Sprintf("ignoring process %q: its command is empty", name))
	default:
		p.add(Entry{Name: name, Command: command, Line: n})
	}
}

// add records an entry, warning about what is legal but likely a mistake.
func (p *parser) add(e Entry) {
	if strings.HasPrefix(e.Name, "-") {
		p.warn(e.Line, fmt.Sprintf("process name %q starts with \"-\" and may be taken for a flag", e.Name))
	}
	if strings.HasSuffix(e.Command, `\`) {
		p.warn(e.Line, `trailing "\" does not continue the line`)
	}
	switch e.Name {
	case "cinit":
		p.warn(e.Line, `process name "cinit" reads like cinit's own messages in the output`)
	case "all":
		p.warn(e.Line, `process name "all" cannot be named alone: "all" in the policy flags, -m and the control commands means every process`)
	}
	if strings.IndexByte(e.Command, 0) >= 0 && p.err == nil {
		// execve takes C strings: such a command could never run.
		p.err = fmt.Errorf("%s:%d: the command of %q contains a NUL byte", p.file, e.Line, e.Name)
	}
	if first, dup := p.first[e.Name]; dup {
		if p.err == nil {
			p.err = fmt.Errorf("%s:%d: duplicate process %q (first defined on line %d)", p.file, e.Line, e.Name, first)
		}
		return
	}
	p.first[e.Name] = e.Line
	p.entries = append(p.entries, e)
}

// warn records a warning about line n.
func (p *parser) warn(n int, text string) {
	p.warnings = append(p.warnings, fmt.Sprintf("%s:%d: %s", p.file, n, text))
}

// result returns what [Parse] returns once every line has been seen.
func (p *parser) result() ([]Entry, []string, error) {
	if p.err != nil {
		return nil, p.warnings, p.err
	}
	if len(p.entries) == 0 {
		return nil, p.warnings, fmt.Errorf("%s: no processes defined", p.file)
	}
	return p.entries, p.warnings, nil
}

// blanks are the characters that make a line or a command blank.
const blanks = " \t\r\v\f"

// splitEntry splits a line of the form NAME ":" [ \t]* COMMAND (the blanks
// before NAME already gone). The command is the rest of the line after the
// blanks following the colon, which may itself be empty or blank; the
// caller decides what to do with that.
func splitEntry(line string) (name, command string, ok bool) {
	end := 0
	for end < len(line) && isNameByte(line[end]) {
		end++
	}
	if end == 0 || end == len(line) || line[end] != ':' {
		return "", "", false
	}
	return line[:end], strings.TrimLeft(line[end+1:], " \t"), true
}

// isNameByte reports whether c may appear in a process name.
func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// Format prints entries as a Procfile, one "name: command" line each, so that
// [Parse] of the result gives the same names and commands back (and line
// numbers that follow the printed form).
//
// That holds for every entry Parse can produce. A command that ends in "\r"
// gets a second "\r" before the newline, because Parse drops one. Format does
// not validate: an entry Parse could not have produced (a name outside
// [A-Za-z0-9_-], a blank command, one that starts with a blank or contains a
// newline) is printed as it is and does not survive the round trip.
func Format(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.Name)
		b.WriteString(": ")
		b.WriteString(e.Command)
		if strings.HasSuffix(e.Command, "\r") {
			b.WriteByte('\r')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
