package supervisor

import "strings"

// shellKeywords start compound commands; a line that begins with one is
// not a single simple command.
var shellKeywords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true,
	"for": true, "while": true, "until": true, "do": true, "done": true,
	"case": true, "esac": true, "in": true, "function": true, "select": true,
	"{": true, "}": true, "!": true, "[[": true, "]]": true, "time": true,
}

// shellBuiltins have no program behind them (or change the shell itself):
// putting exec in front of them would fail or change their meaning.
var shellBuiltins = map[string]bool{
	".": true, ":": true, "alias": true, "bg": true, "break": true, "cd": true,
	"command": true, "continue": true, "eval": true, "exec": true, "exit": true,
	"export": true, "fg": true, "getopts": true, "hash": true, "jobs": true,
	"local": true, "read": true, "readonly": true, "return": true, "set": true,
	"shift": true, "source": true, "times": true, "trap": true, "type": true,
	"ulimit": true, "umask": true, "unalias": true, "unset": true, "wait": true,
}

// shellLine returns the text cinit hands to /bin/sh -c for command. A
// single simple command gets exec inserted before its program, after any
// leading NAME=value assignments, so that the program replaces the shell
// and is the instance itself (README, "Procfile": dash does not exec a lone
// command, and a forwarded HUP would kill the shell instead of reaching the
// program). Any other command is returned unchanged.
func shellLine(command string) string {
	at, ok := execPoint(command)
	if !ok {
		return command
	}
	return command[:at] + "exec " + command[at:]
}

// execPoint finds where exec goes in command: the start of the first word
// that is not an assignment. ok is false when command is not a single simple
// command.
func execPoint(command string) (at int, ok bool) {
	words, ok := splitWords(command)
	if !ok {
		return 0, false
	}
	for _, w := range words {
		if isAssignment(w.text) {
			continue
		}
		if w.plain && shellKeywords[w.text] || shellBuiltins[unquote(w.text)] || startsRedirect(w.text) {
			return 0, false
		}
		return w.start, true
	}
	return 0, false // only assignments, or nothing at all
}

// word is one blank-separated word of a command line.
type word struct {
	start int    // byte offset in the line
	text  string // the raw text, quotes included
	plain bool   // no quote, backslash or expansion in it: its text is what the shell sees
}

// splitWords splits line into words the way the shell's tokenizer would
// for the purpose of finding operators. ok is false when the line contains an
// unquoted operator (; & | ( ) newline), a backquote or an unterminated
// quote. $(...) and ${...} are skipped as parts of a word.
func splitWords(line string) (words []word, ok bool) {
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '#':
			return words, true // a comment runs to the end of the line
		default:
			end, plain, ok := scanWord(line, i)
			if !ok {
				return nil, false
			}
			words = append(words, word{start: i, text: line[i:end], plain: plain})
			i = end
		}
	}
	return words, true
}

// scanWord returns the end of the word starting at i.
func scanWord(line string, i int) (end int, plain, ok bool) {
	plain = true
	for i < len(line) {
		c := line[i]
		switch c {
		case ' ', '\t':
			return i, plain, true
		case ';', '|', '(', ')', '\n', '`':
			return 0, false, false
		case '&':
			// 2>&1 and <&3 are redirections, not the background operator.
			if i == 0 || (line[i-1] != '>' && line[i-1] != '<') {
				return 0, false, false
			}
			i++
		case '\\':
			plain = false
			i += 2
		case '\'':
			plain = false
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return 0, false, false
			}
			i += j + 2
		case '"':
			plain = false
			j, ok := skipDouble(line, i+1)
			if !ok {
				return 0, false, false
			}
			i = j
		case '$':
			plain = false
			j, ok := skipDollar(line, i)
			if !ok {
				return 0, false, false
			}
			i = j
		default:
			i++
		}
	}
	return min(i, len(line)), plain, true
}

// skipDouble returns the index after the closing quote of a double-quoted
// string whose body starts at i.
func skipDouble(line string, i int) (int, bool) {
	for i < len(line) {
		switch line[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1, true
		case '$':
			j, ok := skipDollar(line, i)
			if !ok {
				return 0, false
			}
			i = j
		case '`':
			return 0, false
		default:
			i++
		}
	}
	return 0, false
}

// skipDollar skips an expansion starting at line[i] == '$': $(...), $((...)),
// ${...} are skipped with their nesting; a plain $NAME is left to the caller.
func skipDollar(line string, i int) (int, bool) {
	if i+1 >= len(line) || (line[i+1] != '(' && line[i+1] != '{') {
		return i + 1, true
	}
	open, closing := line[i+1], byte(')')
	if open == '{' {
		closing = '}'
	}
	depth := 0
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case open:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return j + 1, true
			}
		case '\'', '"', '\\', '`':
			// Quoting inside a substitution is rare in a Procfile; leave
			// such a line to the shell as written.
			return 0, false
		}
	}
	return 0, false
}

// unquote drops quote characters and backslashes from w: "exit" and e\xit
// still name the builtin exit. (A strings.Replacer would build 6 KB of
// tables at each call: with 100 processes, 640 KB of cinit's idle heap.)
func unquote(w string) string {
	if !strings.ContainsAny(w, `"'\`) {
		return w
	}
	b := make([]byte, 0, len(w))
	for i := range len(w) {
		if c := w[i]; c != '"' && c != '\'' && c != '\\' {
			b = append(b, c)
		}
	}
	return string(b)
}

// isAssignment reports whether w is NAME=value with a valid shell name.
func isAssignment(w string) bool {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return false
	}
	for k := 0; k < eq; k++ {
		c := w[k]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (k == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// startsRedirect reports whether w begins with a redirection such as >out,
// 2>err or <in: the program word then comes later, and cinit leaves such a
// line as written.
func startsRedirect(w string) bool {
	w = strings.TrimLeft(w, "0123456789")
	return strings.HasPrefix(w, ">") || strings.HasPrefix(w, "<")
}
