package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example images pull nothing but FROM scratch, so only that one can
// be built here (TestMain builds it with podman). The Debian one needs a
// network; this checks the syntax of every example Dockerfile instead,
// with the rules of the Dockerfile reference that a typo breaks silently:
// exec forms that are not valid JSON fall back to shell form, and a shell
// form ENTRYPOINT makes /bin/sh PID 1, which passes no signal on.

// TestExampleDockerfiles checks each examples/docker/*/Dockerfile, that
// each runs cinit as its entry point and asks cinit probe for its health.
func TestExampleDockerfiles(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "docker", "*", "Dockerfile"))
	if err != nil || len(paths) < 2 {
		t.Fatalf("want the scratch and debian Dockerfiles, found %v (%v)", paths, err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		df, err := checkDockerfile(string(data))
		if err != nil {
			t.Errorf("%s:%v", path, err)
			continue
		}
		if len(df.entrypoint) == 0 || filepath.Base(df.entrypoint[0]) != "cinit" {
			t.Errorf("%s: ENTRYPOINT %q does not run cinit", path, df.entrypoint)
		}
		if strings.Join(df.health, " ") != "cinit probe" {
			t.Errorf("%s: HEALTHCHECK CMD %q, want [\"cinit\", \"probe\"]", path, df.health)
		}
	}
}

// TestDockerfileCheckerCatches: the checker rejects each mistake it is
// meant to find, naming the line.
func TestDockerfileCheckerCatches(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"RUN true\n", "1: RUN before FROM"},
		{"FROM scratch\nFORM x\n", "2: unknown instruction FORM"},
		{"FROM scratch\nENTRYPOINT cinit\n", "2: ENTRYPOINT in shell form"},
		{"FROM scratch\nCMD [\"a\", b]\n", "2: CMD: exec form is not a JSON list of strings"},
		{"FROM scratch\nHEALTHCHECK --interval=10 CMD [\"cinit\"]\n", "2: HEALTHCHECK --interval=10"},
		{"FROM scratch\nHEALTHCHECK --retries=x CMD [\"cinit\"]\n", "2: HEALTHCHECK --retries=x"},
		{"FROM scratch\nHEALTHCHECK CMD cinit probe\n", "2: HEALTHCHECK CMD in shell form"},
		{"FROM scratch\nCOPY --from=build /a /b\n", "2: COPY --from=build: no earlier stage"},
		{"FROM scratch\nCOPY --form=x /a /b\n", "2: COPY: unknown flag --form"},
		{"FROM scratch\nEXPOSE http\n", "2: EXPOSE http"},
		{"FROM scratch\nENV A\n", "2: ENV A"},
		{"FROM scratch\nRUN a \\\n", "2: line continues past the end"},
		{"FROM scratch\nWORKDIR\n", "2: WORKDIR needs arguments"},
	} {
		_, err := checkDockerfile(tc.text)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("checkDockerfile(%q) = %v, want %q...", tc.text, err, tc.want)
		}
	}
}

// dockerfile is what the checks found in a Dockerfile.
type dockerfile struct {
	stages     map[string]bool // stage names (FROM ... AS name)
	froms      int
	entrypoint []string // the last stage's exec-form ENTRYPOINT
	health     []string // the last stage's HEALTHCHECK command
}

// instruction is one logical line: its first line number, keyword, rest.
type instruction struct {
	line int
	op   string
	args string
}

// checkDockerfile returns the first syntax error, "LINE: message".
func checkDockerfile(text string) (*dockerfile, error) {
	ins, err := instructions(text)
	if err != nil {
		return nil, err
	}
	df := &dockerfile{stages: map[string]bool{}}
	for _, in := range ins {
		if err := df.check(in); err != nil {
			return nil, fmt.Errorf("%d: %v", in.line, err)
		}
	}
	return df, nil
}

// instructions joins continued lines and drops comments and blank lines.
func instructions(text string) ([]instruction, error) {
	var out []instruction
	var cur *instruction
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		body, more := strings.CutSuffix(trimmed, "\\")
		if cur == nil {
			op, args, _ := strings.Cut(body, " ")
			cur = &instruction{line: i + 1, op: strings.ToUpper(op), args: args}
		} else {
			cur.args += " " + body
		}
		if !more {
			cur.args = strings.TrimSpace(cur.args)
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%d: line continues past the end of the file", cur.line)
	}
	return out, nil
}

// check applies the rules of one instruction.
func (df *dockerfile) check(in instruction) error {
	if df.froms == 0 && in.op != "FROM" && in.op != "ARG" {
		return fmt.Errorf("%s before FROM", in.op)
	}
	if in.args == "" {
		return fmt.Errorf("%s needs arguments", in.op)
	}
	switch in.op {
	case "FROM":
		return df.from(in.args)
	case "COPY", "ADD":
		return df.copy(in.op, in.args)
	case "ENTRYPOINT":
		list, err := execForm(in.op, in.args)
		df.entrypoint = list
		return err
	case "CMD", "RUN", "SHELL", "VOLUME":
		if strings.HasPrefix(in.args, "[") {
			_, err := execForm(in.op, in.args)
			return err
		}
		return nil
	case "HEALTHCHECK":
		list, err := healthcheck(in.args)
		df.health = list
		return err
	case "ENV", "LABEL":
		return keyValues(in.op, in.args)
	case "EXPOSE":
		return expose(in.args)
	case "ARG", "WORKDIR", "USER", "STOPSIGNAL", "ONBUILD", "MAINTAINER":
		return nil
	}
	return fmt.Errorf("unknown instruction %s", in.op)
}

// from records a stage: FROM [--platform=P] IMAGE [AS NAME].
func (df *dockerfile) from(args string) error {
	f := strings.Fields(args)
	if len(f) > 0 && strings.HasPrefix(f[0], "--platform=") {
		f = f[1:]
	}
	switch {
	case len(f) == 1:
	case len(f) == 3 && strings.EqualFold(f[1], "AS"):
		df.stages[strings.ToLower(f[2])] = true
	default:
		return fmt.Errorf("FROM %s: want IMAGE [AS NAME]", args)
	}
	df.froms++
	df.entrypoint, df.health = nil, nil
	return nil
}

// copy checks the flags of COPY and ADD and that --from names an earlier
// stage (or an image: a name with a tag, digest or registry).
func (df *dockerfile) copy(op, args string) error {
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		name, value, _ := strings.Cut(f[0], "=")
		switch name {
		case "--from":
			if !df.stages[strings.ToLower(value)] && !strings.ContainsAny(value, ":/@") {
				return fmt.Errorf("%s --from=%s: no earlier stage has that name", op, value)
			}
		case "--chown", "--chmod", "--link", "--parents", "--exclude", "--checksum", "--keep-git-dir":
		default:
			return fmt.Errorf("%s: unknown flag %s", op, name)
		}
		f = f[1:]
	}
	if len(f) < 2 {
		return fmt.Errorf("%s needs a source and a destination", op)
	}
	return nil
}

// execForm parses a JSON list of strings; any other form is an error.
func execForm(op, args string) ([]string, error) {
	if !strings.HasPrefix(args, "[") {
		return nil, fmt.Errorf("%s in shell form: use a JSON list, [\"cinit\", ...]", op)
	}
	var list []string
	if err := json.Unmarshal([]byte(args), &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("%s: exec form is not a JSON list of strings: %s", op, args)
	}
	return list, nil
}

// healthcheck checks HEALTHCHECK [OPTIONS] CMD [...] or HEALTHCHECK NONE
// and returns the command.
func healthcheck(args string) ([]string, error) {
	if strings.EqualFold(args, "NONE") {
		return nil, nil
	}
	rest := args
	for strings.HasPrefix(rest, "--") {
		var opt string
		opt, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimSpace(rest)
		if err := healthOption(opt); err != nil {
			return nil, err
		}
	}
	cmd, list, _ := strings.Cut(rest, " ")
	if !strings.EqualFold(cmd, "CMD") {
		return nil, fmt.Errorf("HEALTHCHECK %s: want CMD or NONE", args)
	}
	return execForm("HEALTHCHECK CMD", strings.TrimSpace(list))
}

// healthOption checks one --name=value of HEALTHCHECK.
func healthOption(opt string) error {
	name, value, _ := strings.Cut(opt, "=")
	switch name {
	case "--interval", "--timeout", "--start-period", "--start-interval":
		if _, err := time.ParseDuration(value); err != nil {
			return fmt.Errorf("HEALTHCHECK %s: want a duration such as 10s", opt)
		}
	case "--retries":
		if _, err := strconv.Atoi(value); err != nil {
			return fmt.Errorf("HEALTHCHECK %s: want a number", opt)
		}
	default:
		return fmt.Errorf("HEALTHCHECK: unknown option %s", opt)
	}
	return nil
}

// keyValues checks the KEY=VALUE form of ENV and LABEL (the legacy
// "ENV KEY VALUE" form is accepted too).
func keyValues(op, args string) error {
	if !strings.Contains(args, "=") && len(strings.Fields(args)) < 2 {
		return fmt.Errorf("%s %s: want KEY=VALUE", op, args)
	}
	return nil
}

// expose checks that each EXPOSE item is PORT[/tcp|/udp] (or a variable).
func expose(args string) error {
	for _, item := range strings.Fields(args) {
		port, proto, _ := strings.Cut(item, "/")
		_, err := strconv.Atoi(port)
		if (err != nil && !strings.HasPrefix(port, "$")) || (proto != "" && proto != "tcp" && proto != "udp") {
			return fmt.Errorf("EXPOSE %s: want PORT[/tcp|/udp]", item)
		}
	}
	return nil
}
