package control

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The protocol's JSON is read and written here, by hand: encoding/json
// (with the reflection and sorting it brings) would add about a tenth to
// a binary that ships in every image and must stay under 4 MiB. Writing
// is a few append functions; reading parses any JSON text into plain Go
// values (map[string]any, []any, string, number, bool, nil), which the
// decoders of the protocol's types then pick their fields from.

// maxDepth bounds the nesting of a JSON text, so that a hostile request
// cannot make the parser recurse without end.
const maxDepth = 256

// number is a JSON number as written; it is converted where it is used.
type number string

// parser reads one JSON text.
type parser struct {
	s     []byte
	i     int
	depth int
	spans map[string][2]int // the top object's values: where each starts and ends in s
}

// parseJSON parses b, which must hold exactly one JSON value, surrounded
// by white space at most.
func parseJSON(b []byte) (any, error) {
	p := &parser{s: b}
	return p.whole()
}

// whole parses the one value of p.s.
func (p *parser) whole() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.i < len(p.s) {
		return nil, p.errorf("unexpected %q after the value", p.s[p.i])
	}
	return v, nil
}

// errorf returns a syntax error at the current offset.
func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", p.i, fmt.Sprintf(format, a...))
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value parses the value at p.i.
func (p *parser) value() (any, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	for _, lit := range []struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(p.s)-p.i >= len(lit.text) && string(p.s[p.i:p.i+len(lit.text)]) == lit.text {
			p.i += len(lit.text)
			return lit.v, nil
		}
	}
	return nil, p.errorf("unexpected %q", p.s[p.i])
}

// enter counts one level of nesting.
func (p *parser) enter() error {
	if p.depth++; p.depth > maxDepth {
		return p.errorf("nested deeper than %d", maxDepth)
	}
	return nil
}

// object parses {...}; a repeated key keeps its last value. At the top
// level it records where each value lies when p.spans is set.
func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	top := p.depth == 1
	p.i++ // '{'
	m := map[string]any{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.depth--
		return m, nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errorf("want a key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if p.skipSpace(); p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("want ':'")
		}
		p.i++
		p.skipSpace()
		start := p.i
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if top && p.spans != nil {
			p.spans[k] = [2]int{start, p.i}
		}
		m[k] = v
		if done, err := p.next('}'); done || err != nil {
			p.depth--
			return m, err
		}
	}
}

// next reads ',' (false) or the closing byte (true).
func (p *parser) next(closing byte) (bool, error) {
	p.skipSpace()
	switch {
	case p.i >= len(p.s):
		return false, p.errorf("unexpected end")
	case p.s[p.i] == ',':
		p.i++
		return false, nil
	case p.s[p.i] == closing:
		p.i++
		return true, nil
	}
	return false, p.errorf("want ',' or %q", closing)
}

// array parses [...].
func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // '['
	a := []any{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if done, err := p.next(']'); done || err != nil {
			p.depth--
			return a, err
		}
	}
}

// number parses a number by the JSON grammar and returns its text.
func (p *parser) number() (any, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.digits()
	default:
		return nil, p.errorf("bad number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if !p.digits() {
			return nil, p.errorf("bad number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return nil, p.errorf("bad number")
		}
	}
	return number(p.s[start:p.i]), nil
}

// digits skips digits and reports whether there was one.
func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// str parses a string. Bytes that are not UTF-8 become U+FFFD, as do
// lone surrogates, as encoding/json does.
func (p *parser) str() (string, error) {
	p.i++ // '"'
	var b []byte
	for {
		if p.i >= len(p.s) {
			return "", p.errorf("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c == '\\':
			var err error
			if b, err = p.escape(b); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, n := utf8.DecodeRune(p.s[p.i:])
			b = utf8.AppendRune(b, r) // RuneError for a bad byte
			p.i += n
		}
	}
}

// escape appends the character of the escape at p.i.
func (p *parser) escape(b []byte) ([]byte, error) {
	if p.i+1 >= len(p.s) {
		return nil, p.errorf("unterminated string")
	}
	c := p.s[p.i+1]
	p.i += 2
	if i := indexByte(`"\/bfnrt`, c); i >= 0 {
		return append(b, "\"\\/\b\f\n\r\t"[i]), nil
	}
	if c != 'u' {
		return nil, p.errorf("bad escape \\%c", c)
	}
	r, ok := p.hex4()
	if !ok {
		return nil, p.errorf("bad \\u escape")
	}
	if utf16.IsSurrogate(r) {
		r2 := rune(utf8.RuneError)
		if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
			save := p.i
			p.i += 2
			if lo, ok := p.hex4(); ok && utf16.DecodeRune(r, lo) != utf8.RuneError {
				r2 = utf16.DecodeRune(r, lo)
			} else {
				p.i = save
			}
		}
		r = r2
	}
	return utf8.AppendRune(b, r), nil
}

// hex4 reads four hex digits.
func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.s[p.i:p.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Reading fields: a field that is absent or null leaves the zero value; a
// field of the wrong type is an error that names it.

// fieldError is a field of the wrong type.
func fieldError(key, want string) error {
	return fmt.Errorf("field %q: want %s", key, want)
}

// getString reads a string field.
func getString(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", fieldError(key, "a string")
}

// getBool reads a boolean field.
func getBool(m map[string]any, key string) (bool, error) {
	switch v := m[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	}
	return false, fieldError(key, "true or false")
}

// getInt reads an integer field; present reports whether it was there.
func getInt(m map[string]any, key string) (n int64, present bool, err error) {
	switch v := m[key].(type) {
	case nil:
		return 0, false, nil
	case number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, true, fieldError(key, "an integer")
		}
		return n, true, nil
	}
	return 0, true, fieldError(key, "an integer")
}

// getFloat reads a number field.
func getFloat(m map[string]any, key string) (float64, error) {
	switch v := m[key].(type) {
	case nil:
		return 0, nil
	case number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fieldError(key, "a number")
		}
		return f, nil
	}
	return 0, fieldError(key, "a number")
}

// getStrings reads an array of strings.
func getStrings(m map[string]any, key string) ([]string, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fieldError(key, "an array of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fieldError(key, "an array of strings")
}

// getObject reads an object field.
func getObject(m map[string]any, key string) (map[string]any, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	}
	return nil, fieldError(key, "an object")
}

// getTime reads an RFC 3339 time.
func getTime(m map[string]any, key string) (time.Time, error) {
	s, err := getString(m, key)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fieldError(key, "an RFC 3339 time")
	}
	return t, nil
}

// fields reads several fields of m, stopping at the first error.
type fields struct {
	m   map[string]any
	err error
}

func (f *fields) str(key string, dst *string) {
	if f.err == nil {
		*dst, f.err = getString(f.m, key)
	}
}

func (f *fields) boolean(key string, dst *bool) {
	if f.err == nil {
		*dst, f.err = getBool(f.m, key)
	}
}

func (f *fields) integer(key string, dst *int) {
	if f.err == nil {
		var n int64
		n, _, f.err = getInt(f.m, key)
		*dst = int(n)
	}
}

func (f *fields) int64(key string, dst *int64) {
	if f.err == nil {
		*dst, _, f.err = getInt(f.m, key)
	}
}

func (f *fields) float(key string, dst *float64) {
	if f.err == nil {
		*dst, f.err = getFloat(f.m, key)
	}
}

func (f *fields) strings(key string, dst *[]string) {
	if f.err == nil {
		*dst, f.err = getStrings(f.m, key)
	}
}

func (f *fields) time(key string, dst *time.Time) {
	if f.err == nil {
		*dst, f.err = getTime(f.m, key)
	}
}

func (f *fields) object(key string) map[string]any {
	if f.err != nil {
		return nil
	}
	var o map[string]any
	o, f.err = getObject(f.m, key)
	return o
}

// Writing.

// enc appends a JSON text: objects and their fields, in order.
type enc struct {
	b     []byte
	comma bool // a value was written at this level: the next needs ','
}

// open starts an object, as a field value after key (or as a value when
// key is "").
func (e *enc) open(key string) {
	e.key(key)
	e.b = append(e.b, '{')
	e.comma = false
}

// close ends an object.
func (e *enc) close() {
	e.b = append(e.b, '}')
	e.comma = true
}

// openArray starts an array field.
func (e *enc) openArray(key string) {
	e.key(key)
	e.b = append(e.b, '[')
	e.comma = false
}

// closeArray ends an array.
func (e *enc) closeArray() {
	e.b = append(e.b, ']')
	e.comma = true
}

// key writes the comma and the key of the next field; "" writes only the
// comma (an array element).
func (e *enc) key(k string) {
	if e.comma {
		e.b = append(e.b, ',')
	}
	if k != "" {
		e.b = appendString(e.b, k)
		e.b = append(e.b, ':')
	}
	e.comma = false
}

func (e *enc) str(k, v string) {
	e.key(k)
	e.b = appendString(e.b, v)
	e.comma = true
}

func (e *enc) int(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
	e.comma = true
}

func (e *enc) float(k string, v float64) {
	e.key(k)
	e.b = strconv.AppendFloat(e.b, v, 'f', -1, 64)
	e.comma = true
}

func (e *enc) boolean(k string, v bool) {
	e.key(k)
	e.b = strconv.AppendBool(e.b, v)
	e.comma = true
}

func (e *enc) time(k string, t time.Time) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
	e.comma = true
}

func (e *enc) null(k string) {
	e.key(k)
	e.b = append(e.b, "null"...)
	e.comma = true
}

func (e *enc) strings(k string, v []string) {
	e.openArray(k)
	for _, s := range v {
		e.str("", s)
	}
	e.closeArray()
}

// raw writes a value that is already JSON.
func (e *enc) raw(k string, v []byte) {
	e.key(k)
	e.b = append(e.b, v...)
	e.comma = true
}

// appendString appends s as a JSON string: '"', '\\' and control
// characters escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return append(b, '"')
}
