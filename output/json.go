package output

import (
	"encoding/binary"
	"unicode/utf8"
)

// jsonPlain[c] is true for the ASCII bytes that a JSON string holds as they
// are: everything from ' ' up except '"' and '\\'. Bytes from 0x80 up are
// UTF-8 and are checked separately.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s to dst as a quoted JSON string.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendJSONChars(dst, s)
	return append(dst, '"')
}

// appendJSONChars appends s to dst escaped for the inside of a JSON string:
// '"', '\\' and control characters are escaped, valid UTF-8 is copied, and
// every byte that is not part of valid UTF-8 becomes U+FFFD, as
// encoding/json does. Runs of plain bytes are copied in one append; plain
// ASCII is skipped eight bytes at a time.
func appendJSONChars(dst, s []byte) []byte {
	start := 0 // s[start:i] is plain and not yet copied
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			dst = appendJSONEscape(append(dst, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// Constants for looking at the eight bytes of a uint64 at once.
const (
	ones = 0x0101010101010101 // 0x01 in every byte
	high = 0x8080808080808080 // the top bit of every byte
)

// plainWord reports whether all eight bytes of x are plain ASCII (see
// jsonPlain): none is below ' ', none is '"' or '\\', none is 0x80 or more.
// (x - ones*n) &^ x & high is non-zero exactly when some byte of x is below
// n, for n <= 0x80; a byte equal to c is a byte of x^(ones*c) below 1.
func plainWord(x uint64) bool {
	quote := x ^ (ones * '"')
	slash := x ^ (ones * '\\')
	bad := (x - ones*' ') &^ x
	bad |= (quote - ones) &^ quote
	bad |= (slash - ones) &^ slash
	return (bad|x)&high == 0
}

// appendJSONEscape appends the escape sequence of the ASCII byte c, which is
// '"', '\\' or a control character.
func appendJSONEscape(dst []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}
