package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReferencesResolve keeps every reference in the repository followable
// by a reader who has only the repository: a file that a comment or a
// document names must exist, and no text may point at notes kept outside
// the repository. It reads the comments of every .go file, and every
// Markdown file, Makefile, shell script and .ci/run.
//
// Where a rule comes from another project, cite it publicly: a repository
// and path ("runc's signals.go", "krallin/tini#123", "moby/moby PR#14012"),
// or a manual page (pid_namespaces(7)). Where it is our own rule, point at
// the README or ARCHITECTURE.md section, or the code, that states it.
func TestReferencesResolve(t *testing.T) {
	files, err := textFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		lines, err := referenceText(path)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, l := range lines {
			for _, p := range checkReferences(l.text, filepath.Dir(path), ".") {
				t.Errorf("%s:%d: %s", path, l.n, p)
			}
		}
	}
}

// outsideNotes are phrases that point at documents kept outside the
// repository.
var outsideNotes = regexp.MustCompile(`\bSPEC\b|\b[Rr]esearch\b`)

// fileRef is a word that names a file of the kinds the repository's
// documents and code point at: Markdown, Go and shell. Names of files that
// cinit reads or writes (compose.yaml, Procfile, .env) are not references.
var fileRef = regexp.MustCompile(`(?:^|[\s(\[\x60"'])((?:\.{0,2}/)?(?:[\w.-]+/)*[\w-][\w.-]*\.(?:md|go|sh))\b`)

// checkReferences returns the problems of one line of text in a file of
// dir, with the repository at root.
func checkReferences(text, dir, root string) []string {
	var out []string
	if m := outsideNotes.FindString(text); m != "" {
		out = append(out, fmt.Sprintf("%q points at notes outside the repository; "+
			"point at the README or ARCHITECTURE.md section or the code that holds the rule, "+
			"or cite a public source (owner/repo path, owner/repo#123)", m))
	}
	for _, m := range fileRef.FindAllStringSubmatchIndex(text, -1) {
		ref := text[m[2]:m[3]]
		if isPublicReference(text[:m[2]], text[m[3]:]) || resolves(ref, dir, root) {
			continue
		}
		out = append(out, fmt.Sprintf("%s names no file of the repository; "+
			"fix the path, or cite the other project (runc's signals.go, owner/repo path)", ref))
	}
	return out
}

// isPublicReference reports whether a file name between before and after
// names a file of another project: it follows a possessive ("runc's
// signals.go") or an owner/repo, or is part of a URL.
func isPublicReference(before, after string) bool {
	words := strings.Fields(before)
	if len(words) == 0 {
		return false
	}
	prev := strings.Trim(words[len(words)-1], "(`\"'[")
	if strings.Contains(prev, "://") || strings.HasSuffix(prev, "/") {
		return true // a URL
	}
	if strings.HasSuffix(prev, "'s") || strings.HasSuffix(prev, "’s") {
		return true
	}
	return regexp.MustCompile(`^[\w.-]+/[\w.-]+$`).MatchString(strings.TrimRight(prev, ",:"))
}

// resolves reports whether ref names an existing file or directory,
// relative to dir or to root, or, for a bare file name, anywhere in the
// repository.
func resolves(ref, dir, root string) bool {
	if exists(filepath.Join(dir, ref)) || exists(filepath.Join(root, ref)) {
		return true
	}
	if strings.Contains(ref, "/") {
		return false
	}
	found := false
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipAll
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		found = d.Name() == ref
		return nil
	})
	return found
}

// textLine is one line of text that may hold references.
type textLine struct {
	n    int
	text string
}

// referenceText returns the lines of path to check: the comments of a Go
// file, every line of other files.
func referenceText(path string) ([]textLine, error) {
	if !strings.HasSuffix(path, ".go") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var out []textLine
		for i, l := range strings.Split(string(b), "\n") {
			out = append(out, textLine{i + 1, l})
		}
		return out, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []textLine
	for _, g := range f.Comments {
		for _, c := range g.List {
			n := fset.Position(c.Slash).Line
			for i, l := range strings.Split(c.Text, "\n") {
				out = append(out, textLine{n + i, l})
			}
		}
	}
	return out, nil
}

// textFiles lists the files under root whose text is checked: .go, .md,
// .sh, Makefile and .ci/run, outside .git, bin and testdata.
func textFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == ".git" || name == "bin" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".go"), strings.HasSuffix(name, ".md"), strings.HasSuffix(name, ".sh"),
			name == "Makefile", filepath.ToSlash(path) == ".ci/run":
			out = append(out, path)
		}
		return nil
	})
	return out, err
}

// TestCheckReferences checks the rules on lines a reader would write.
func TestCheckReferences(t *testing.T) {
	spec, research := "SP"+"EC", "re"+"search"
	for _, tc := range []struct {
		text string
		bad  int
	}{
		{"see ARCHITECTURE.md and supervisor/direct.go", 0},
		{"as direct.go does", 0},
		{"as runc's signals.go does, and os/exec's exec_test.go", 0},
		{"(libcontainer/nsenter nsexec.c), moby/moby libnetwork/x.go", 0},
		{"https://example.com/a/b/notes.md", 0},
		{"krallin/tini#123 and pid_namespaces(7)", 0},
		{"the rule of the Procfile in [README.md](README.md)", 0},
		// The outside names are put together here so that this file
		// itself holds no reference to a document outside the repository.
		{spec + " section 7 says so", 1},
		{"see " + research + "/init-semantics.md R37", 2},
		{"R22 of init-semantics.md", 1},
		{"see docs/design.md", 1},
		{"as nowhere.go says", 1},
		{"renders compose.yaml and web.service", 0},
	} {
		if got := checkReferences(tc.text, ".", "."); len(got) != tc.bad {
			t.Errorf("%q: %d problems %q, want %d", tc.text, len(got), got, tc.bad)
		}
	}
}
