package supervisor

import "testing"

func TestShellLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{`nginx -g "daemon off;"`, `exec nginx -g "daemon off;"`},
		{`redis-server --port $PORT`, `exec redis-server --port $PORT`},
		{`echo '$PORT' "$PORT"`, `exec echo '$PORT' "$PORT"`},
		{`echo $(date +%s)`, `exec echo $(date +%s)`},
		{`echo "$(hostname)-x"`, `exec echo "$(hostname)-x"`},
		{`echo ${PORT:-5000}`, `exec echo ${PORT:-5000}`},
		{`A=1 B=2 printenv A`, `A=1 B=2 exec printenv A`},
		{`server >log 2>&1`, `exec server >log 2>&1`},
		{`server 2>&1`, `exec server 2>&1`},
		{`cmd # note`, `exec cmd # note`},
		{`  ./bin/web --port=5000  `, `  exec ./bin/web --port=5000  `},
		{`python -c 'print(1)'`, `exec python -c 'print(1)'`},
		{`echo a\;b`, `exec echo a\;b`},
		// Not a single simple command: run as written.
		{`echo one && echo two`, `echo one && echo two`},
		{`echo one; echo two`, `echo one; echo two`},
		{`sleep 1 &`, `sleep 1 &`},
		{`yes | head`, `yes | head`},
		{`(cd sub && run)`, `(cd sub && run)`},
		{`exit 3`, `exit 3`},
		{`cd /tmp`, `cd /tmp`},
		{`exec nginx`, `exec nginx`},
		{`export A=1`, `export A=1`},
		{`trap 'exit 0' TERM`, `trap 'exit 0' TERM`},
		{`wait`, `wait`},
		{`. ./env.sh`, `. ./env.sh`},
		{`: nothing`, `: nothing`},
		{`if true; then x; fi`, `if true; then x; fi`},
		{`while true`, `while true`},
		{`for i in 1 2`, `for i in 1 2`},
		{`case x in`, `case x in`},
		{`{ echo a; }`, `{ echo a; }`},
		{`! false`, `! false`},
		{`A=1`, `A=1`},
		{`>out echo hi`, `>out echo hi`},
		{"echo `date`", "echo `date`"},
		{`echo "unterminated`, `echo "unterminated`},
		{`echo 'unterminated`, `echo 'unterminated`},
		{"a\nb", "a\nb"},
		{`"/opt/my app/bin" arg`, `exec "/opt/my app/bin" arg`},
		{`$CMD arg`, `exec $CMD arg`},
		{`"exit" 3`, `"exit" 3`},
		{`e\xit 3`, `e\xit 3`},
		{`'ex'"it" 3`, `'ex'"it" 3`},
		{`"ex\it"`, `"ex\it"`},
		{``, ``},
		{`   `, `   `},
	}
	for _, tt := range tests {
		if have := shellLine(tt.in); have != tt.want {
			t.Errorf("shellLine(%q) = %q, want %q", tt.in, have, tt.want)
		}
	}
}
