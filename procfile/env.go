package procfile

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/joho/godotenv"
)

// ReadEnv reads env files in order and returns their variables merged, a
// variable in a later file replacing the same one from an earlier file.
//
// Each file is parsed by github.com/joho/godotenv, whose version is pinned in
// go.mod; the tests hold a table of inputs so that an upgrade changes a test,
// not a user's environment. Nothing is written to the process environment.
// Two additions to godotenv: a leading UTF-8 byte order mark is skipped, as
// in a Procfile, and a variable with an empty name (which godotenv makes of
// "=value" or of a last line without "=") is an error.
//
// Errors name the file, and the line when it can be determined, e.g.
// ".env:3: unterminated quoted value". A file that cannot be opened gives an
// error wrapping the one from [os.ReadFile], so that errors.Is(err,
// fs.ErrNotExist) tells a missing file apart; whether that matters is the
// caller's policy.
func ReadEnv(paths ...string) (map[string]string, error) {
	merged := map[string]string{}
	for _, path := range paths {
		vars, err := readEnvFile(path)
		if err != nil {
			return nil, err
		}
		for k, v := range vars {
			merged[k] = v
		}
	}
	return merged, nil
}

// Where returns where the value of key that ReadEnv(paths...) gives comes
// from, as "file:line": its last definition in the last file that defines
// it. It returns "" when no file does or one cannot be read, and the file
// alone when the line cannot be told (a quoted value spanning lines).
func Where(key string, paths ...string) string {
	for i := len(paths) - 1; i >= 0; i-- {
		data, err := os.ReadFile(paths[i])
		if err != nil {
			return ""
		}
		vars, err := godotenv.UnmarshalBytes(bytes.TrimPrefix(data, []byte(bom)))
		if _, ok := vars[key]; !ok || err != nil {
			continue
		}
		if n := definedAt(data, key); n > 0 {
			return fmt.Sprintf("%s:%d", paths[i], n)
		}
		return paths[i]
	}
	return ""
}

// definedAt returns the number of the last line of data that assigns key
// ("KEY=", "export KEY =", "KEY:"), or 0. Lines inside a quoted value
// that spans lines are the value's, not assignments.
func definedAt(data []byte, key string) int {
	found := 0
	var open byte // the quote of a value still open at the line's end
	for i, line := range strings.Split(string(data), "\n") {
		if open != 0 {
			if closesQuote(line, open) {
				open = 0
			}
			continue
		}
		line = strings.TrimLeftFunc(line, isEnvSpaceRune)
		if strings.HasPrefix(line, "#") {
			continue // a comment, whatever quotes it holds
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && isEnvSpace(rest[0]) {
			line = strings.TrimLeftFunc(rest, isEnvSpaceRune)
		}
		eq := strings.IndexAny(line, "=:")
		if eq < 0 {
			continue
		}
		name, value := line[:eq], line[eq+1:]
		if strings.TrimRightFunc(name, isEnvSpaceRune) == key {
			found = i + 1
		}
		if v := strings.TrimLeftFunc(value, isEnvSpaceRune); v != "" && (v[0] == '"' || v[0] == '\'') && !closesQuote(v[1:], v[0]) {
			open = v[0]
		}
	}
	return found
}

// closesQuote reports whether s holds the quote q that ends a value: one
// not right after a backslash, in either kind of quotes, as godotenv
// reads them (joho/godotenv parser.go, extractVarValue).
func closesQuote(s string, q byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == q && (i == 0 || s[i-1] != '\\') {
			return true
		}
	}
	return false
}

// isEnvSpaceRune is isEnvSpace for strings.TrimLeftFunc.
func isEnvSpaceRune(r rune) bool { return r < utf8.RuneSelf && isEnvSpace(byte(r)) }

// readEnvFile reads and parses one env file.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return parseEnv(path, data)
}

// parseEnv parses the contents of the env file named file.
func parseEnv(file string, data []byte) (map[string]string, error) {
	data = bytes.TrimPrefix(data, []byte(bom))
	if i := bytes.IndexByte(data, 0); i >= 0 {
		// An environment is made of C strings: a NUL could never reach
		// a process.
		return nil, fmt.Errorf("%s:%d: NUL byte", file, 1+bytes.Count(data[:i], []byte("\n")))
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, envError(file, data, err)
	}
	if _, ok := vars[""]; ok {
		return nil, placed(file, emptyNameLine(data), "variable with an empty name")
	}
	return vars, nil
}

// placed formats an env file error as "file:line: text", or "file: text"
// when line is 0 (unknown).
func placed(file string, line int, text string) error {
	if line == 0 {
		return fmt.Errorf("%s: %s", file, text)
	}
	return fmt.Errorf("%s:%d: %s", file, line, text)
}

// The error messages of godotenv v1.5.1 that envError understands. None of
// them carries a line number, but each says enough to find the statement that
// failed: godotenv stops at the first error, and it normalises "\r\n" to
// "\n" before parsing, which does not change line numbers.
const (
	msgBadKey     = "unexpected character "
	msgNear       = " in variable name near "
	msgUnquoted   = "unterminated quoted value "
	msgZeroLength = "zero length string"
)

// envError turns an error of godotenv into one that names the file and,
// where the message allows it, the line. An unknown message is kept whole.
func envError(file string, data []byte, err error) error {
	src := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, msgBadKey):
		if line, text, ok := badKey(src, msg); ok {
			return placed(file, line, text)
		}
	case strings.HasPrefix(msg, msgUnquoted):
		snippet := []byte(strings.TrimPrefix(msg, msgUnquoted))
		return placed(file, unquotedLine(src, snippet), "unterminated quoted value")
	case msg == msgZeroLength:
		// Only reached when a file ends in "export" and blanks.
		return placed(file, lineAt(src, len(src)), `"export" without a variable`)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// badKey locates an "unexpected character ... near ..." error. The text
// after "near" is the rest of the file from the start of the bad name, so its
// length gives the offset. The bad character is found again in that text
// rather than taken from the message, because godotenv prints a single byte
// of a multi-byte character.
func badKey(src []byte, msg string) (line int, text string, ok bool) {
	i := strings.Index(msg, msgNear)
	if i < 0 {
		return 0, "", false
	}
	near, err := strconv.Unquote(msg[i+len(msgNear):])
	if err != nil || !bytes.HasSuffix(src, []byte(near)) {
		return 0, "", false
	}
	start := len(src) - len(near)
	bad := firstBadKeyByte(near)
	if bad < 0 {
		return lineAt(src, start), "bad variable name", true
	}
	if near[bad] != '\n' {
		char := runeAround(near, bad)
		return lineAt(src, start+bad), fmt.Sprintf("unexpected character %q in variable name", char), true
	}
	name := strings.TrimRight(near[:bad], "\t\v\f\r ")
	if name == "" {
		// Only "export" and blanks come before the newline.
		return lineAt(src, start), `"export" without a variable`, true
	}
	return lineAt(src, start), fmt.Sprintf(`expected "=" after %q`, name), true
}

// runeAround returns the UTF-8 character of s that holds byte i, or that
// byte alone if it is not part of a valid character.
func runeAround(s string, i int) string {
	for start := i; start >= 0 && start > i-utf8.UTFMax; start-- {
		r, size := utf8.DecodeRuneInString(s[start:])
		if r != utf8.RuneError && start+size > i {
			return s[start : start+size]
		}
	}
	return s[i : i+1]
}

// firstBadKeyByte returns the index of the first byte of s that godotenv
// v1.5.1 does not accept in a variable name, or -1. It applies godotenv's own
// test, which looks at single bytes.
func firstBadKeyByte(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=' || c == ':':
			return -1
		case c == '_' || c == '.' || isEnvSpace(c):
		case unicode.IsLetter(rune(c)) || unicode.IsNumber(rune(c)):
		default:
			return i
		}
	}
	return -1
}

// isEnvSpace reports whether godotenv treats the byte as a blank inside a
// line.
func isEnvSpace(c byte) bool {
	switch c {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// unquotedLine finds the line of an unterminated quoted value. The message
// quotes the value from its opening quote to the end of that line. godotenv
// looked for a closing quote up to the end of the file and found none, so
// every quote of the same kind after the opening one is escaped with a
// backslash, while the opening one follows "=", ":" or a blank. The last
// occurrence of the snippet not preceded by a backslash is therefore the
// place. It returns 0 if there is none.
func unquotedLine(src, snippet []byte) int {
	end := len(src)
	for len(snippet) > 0 {
		i := bytes.LastIndex(src[:end], snippet)
		if i < 0 {
			return 0
		}
		if i == 0 || src[i-1] != '\\' {
			return lineAt(src, i)
		}
		end = i + len(snippet) - 1
	}
	return 0
}

// emptyNameLine finds the first line by whose end godotenv has produced a
// variable with an empty name (from "=value", or from a last line that has no
// "=" and no newline). Parsing stops at the same statements whether or not
// the file goes on after a line, so the first such prefix of whole lines
// marks the statement. It returns 0 if there is none.
func emptyNameLine(src []byte) int {
	for end := 0; end < len(src); {
		next := bytes.IndexByte(src[end:], '\n')
		if next < 0 {
			end = len(src)
		} else {
			end += next + 1
		}
		vars, err := godotenv.UnmarshalBytes(src[:end])
		if _, ok := vars[""]; ok && err == nil {
			return lineAt(src, end-1)
		}
	}
	return 0
}

// lineAt returns the 1-based number of the line holding byte offset off.
func lineAt(src []byte, off int) int {
	off = min(off, len(src))
	return bytes.Count(src[:off], []byte("\n")) + 1
}
