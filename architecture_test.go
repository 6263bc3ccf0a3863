package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestArchitectureCodeMap keeps the code map of ARCHITECTURE.md true: every
// package directory of this module has an entry, and every entry is a
// package directory. Nested modules (a directory with its own go.mod) and
// testdata are not packages of this module.
func TestArchitectureCodeMap(t *testing.T) {
	doc, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	mapped, err := codeMapEntries(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := packageDirs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if !slices.Contains(mapped, p) {
			t.Errorf("ARCHITECTURE.md: package directory %s has no entry in the code map.\n"+
				"Add under \"## Code map\" a heading and a paragraph:\n\n"+
				"### `%s`\n\n"+
				"What it owns (its state and files), its invariants, and what it must\n"+
				"never do (for example: never signal a process, never call wait4).\n", p, p)
		}
	}
	for _, m := range mapped {
		if !slices.Contains(pkgs, m) {
			t.Errorf("ARCHITECTURE.md: the code map has an entry \"### `%s`\", but %s is not a package "+
				"directory of this module (no .go file there, or a nested module);\n"+
				"remove the entry, or fix its path (written from the repository root, ending in /)", m, m)
		}
	}
}

// codeMapHeading is an entry of the code map: ### `dir/`.
var codeMapHeading = regexp.MustCompile("^### `([^`]+)`\\s*$")

// codeMapEntries returns the directories named by the "### `dir/`" headings
// of the "## Code map" section of doc.
func codeMapEntries(doc string) ([]string, error) {
	var out []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line) == "## Code map"
			continue
		}
		if !in || !strings.HasPrefix(line, "### ") {
			continue
		}
		m := codeMapHeading.FindStringSubmatch(line)
		if m == nil {
			return nil, &codeMapError{line}
		}
		out = append(out, m[1])
	}
	if len(out) == 0 {
		return nil, &codeMapError{""}
	}
	return out, nil
}

// codeMapError is a code map that the test cannot read.
type codeMapError struct{ line string }

func (e *codeMapError) Error() string {
	if e.line == "" {
		return "ARCHITECTURE.md: no \"## Code map\" section with \"### `dir/`\" entries"
	}
	return "ARCHITECTURE.md: code map heading " + strconv.Quote(e.line) +
		" is not of the form ### `dir/` (a package directory from the repository root, ./ for the root)"
}

// packageDirs lists the directories under root that hold a .go file, as
// "dir/" ("./" for root), skipping hidden directories, testdata, bin and
// nested modules.
func packageDirs(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "bin" || name == "vendor" || isFile(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		entry := "./"
		if dir != "." {
			entry = dir + "/"
		}
		if !slices.Contains(out, entry) {
			out = append(out, entry)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// isFile reports whether path names an existing regular file.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// TestPackageDirs checks the walk on a small tree: a nested module, testdata
// and hidden directories are not packages; the root and a nested package are.
func TestPackageDirs(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"main.go", "a/a.go", "a/b/b_test.go", "a/testdata/x.go",
		"m/go.mod", "m/m.go", "m/n/n.go", ".git/x.go", "docs/README.md"} {
		path := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := packageDirs(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"./", "a/", "a/b/"}; !slices.Equal(got, want) {
		t.Errorf("packageDirs = %q, want %q", got, want)
	}
}

// TestArchitectureInvariants checks the ownership rules of the code map that
// a call or an import can break, in every package the cinit binary is built
// from: only main calls os.Exit, only package reaper waits for children,
// and no test-only package is part of the binary.
func TestArchitectureInvariants(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a dependency outside the module
		}
		for _, only := range testOnlyDirs {
			if rel := filepath.ToSlash(rel); rel == only || strings.HasPrefix(rel, only+"/") {
				t.Errorf("the cinit binary imports %s/, which is test-only or a separate program "+
					"(ARCHITECTURE.md, code map %s/)", rel, only)
			}
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			name, _ := filepath.Rel(root, file)
			for _, p := range ownershipProblems(t, name) {
				t.Error(p)
			}
		}
	}
}

// testOnlyDirs are the package directories of tests and separate
// programs, which the cinit binary must never import.
var testOnlyDirs = []string{"internal/proctest", "stress", "bench", "container"}

// ownershipProblems returns the calls of file that break an ownership rule.
func ownershipProblems(t *testing.T, file string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.ToSlash(filepath.Dir(file))
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		at := fset.Position(call.Pos())
		switch name := pkg.Name + "." + sel.Sel.Name; {
		case name == "os.Exit" && file != "main.go":
			out = append(out, fmt.Sprintf("%s:%d: calls os.Exit; only main exits "+
				"(ARCHITECTURE.md, code map ./): return an exit status to run instead", file, at.Line))
		case (pkg.Name == "unix" || pkg.Name == "syscall") && strings.HasPrefix(sel.Sel.Name, "Wait") && dir != "reaper":
			out = append(out, fmt.Sprintf("%s:%d: calls %s; only package reaper waits for children "+
				"(ARCHITECTURE.md, code map reaper/): receive exits from reaper.Reaper.Exits instead", file, at.Line, name))
		}
		return true
	})
	return out
}
