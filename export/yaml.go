package export

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is cinit's YAML emitter: just enough YAML for manifests, in
// block style with a two-space indent. Every string is double-quoted and
// escaped, so that no value can turn into a boolean, a number, a null or
// a YAML 1.1 sexagesimal (no, on, 0755, ~, 22:22) whatever the reader,
// and a comment or anchor character inside a value stays text.

// mapping is a YAML mapping whose keys keep the order they were added in.
type mapping []field

// field is one key of a mapping. Its value is a string (quoted), an int,
// a bool, a mapping, or a list of those ([]any).
type field struct {
	key   string
	value any
}

// set appends key to m and returns m.
func (m mapping) set(key string, value any) mapping { return append(m, field{key, value}) }

// emitter writes YAML. dollars doubles every "$" of every string, for
// formats whose reader interpolates them (Compose).
type emitter struct {
	b       strings.Builder
	dollars bool
}

// document writes m as a whole document at the top level.
func (e *emitter) document(m mapping) { e.mapping(m, 0) }

func (e *emitter) mapping(m mapping, indent int) {
	for i, f := range m {
		e.field(f, indent, i == 0, false)
	}
}

// field writes one key and its value; first and item say whether it
// follows a "- " list marker on the same line.
func (e *emitter) field(f field, indent int, first, item bool) {
	if !(first && item) {
		e.b.WriteString(strings.Repeat(" ", indent))
	}
	e.b.WriteString(yamlKey(f.key) + ":")
	switch v := f.value.(type) {
	case mapping:
		if len(v) == 0 {
			e.b.WriteString(" {}\n")
			return
		}
		e.b.WriteString("\n")
		e.mapping(v, indent+2)
	case []any:
		if len(v) == 0 {
			e.b.WriteString(" []\n")
			return
		}
		e.b.WriteString("\n")
		e.list(v, indent+2)
	default:
		e.b.WriteString(" " + e.scalar(v) + "\n")
	}
}

// yamlKey writes a key plain when every reader takes it for that string:
// it starts with a letter or '_' and is not a YAML 1.1 boolean or a null.
// A key made of a Procfile or app name may be neither: services named
// "true", "no", "123" or "2024-01-01" (a YAML 1.1 timestamp) are quoted
// like any value, or compose-go refused the file ("non-string key").
func yamlKey(k string) string {
	plain := k != "" && (k[0] == '_' || 'a' <= k[0]|0x20 && k[0]|0x20 <= 'z') && !strings.ContainsFunc(k, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r == '/' || '0' <= r && r <= '9' || 'a' <= r|0x20 && r|0x20 <= 'z')
	})
	switch strings.ToLower(k) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		plain = false
	}
	if plain {
		return k
	}
	return quote(k)
}

// list writes the items of a block sequence.
func (e *emitter) list(items []any, indent int) {
	for _, it := range items {
		e.b.WriteString(strings.Repeat(" ", indent) + "- ")
		m, ok := it.(mapping)
		if !ok {
			e.b.WriteString(e.scalar(it) + "\n")
			continue
		}
		for i, f := range m {
			e.field(f, indent+2, i == 0, true)
		}
	}
}

// scalar formats a string, int or bool.
func (e *emitter) scalar(v any) string {
	switch v := v.(type) {
	case string:
		if e.dollars {
			v = strings.ReplaceAll(v, "$", "$$")
		}
		return quote(v)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	}
	panic(fmt.Sprintf("export: no YAML form for %T", v))
}

// quote returns s as a YAML double-quoted scalar: backslash, quote and the
// usual control characters escaped C-style; any other C0 or C1 control,
// DEL, U+2028, U+2029, U+FEFF and the noncharacters U+FFFE and U+FFFF
// (outside YAML's printable set: parsers refuse them raw) as \uXXXX (a
// reader may drop or normalise them otherwise); everything else as
// UTF-8. s must be valid
// UTF-8 (see [checkText]).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unprintable(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// unprintable reports whether r must be escaped in YAML text: the C0 and
// C1 controls, DEL, the line and paragraph separators (line breaks to some
// parsers), the byte order mark, and U+FFFE and U+FFFF.
func unprintable(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff
}

// checkText rejects what no output format can carry: invalid UTF-8.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8: %q", what, s)
	}
	return nil
}
