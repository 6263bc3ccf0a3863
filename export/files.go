package export

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Report is what [Write] did.
type Report struct {
	Written   []string // files created or changed
	Unchanged []string // files that already held the same bytes
	Removed   []string // stale files of this format and app
}

// Write puts r's files into dir, which is created if missing. A file is
// replaced only when it is absent or its first line is r's marker (the
// same format and app), unless force; every other file is left alone and
// makes Write fail before anything changed. A file that already holds the
// same bytes is not rewritten. Every file is first written in full to a
// temporary file in dir, and only once all are (a full disk fails here,
// with nothing changed) are they renamed over the old ones, so a reader
// never sees half a file, nor half an export. Afterwards every regular
// file directly in dir whose first line is r's marker and that this
// export did not produce is removed: nothing else is ever deleted,
// whatever its name.
func Write(dir string, r *Result, force bool) (Report, error) {
	var rep Report
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		return rep, errorf("export: %s is not a directory", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, errorf("export: %v", err)
	}
	created := err != nil
	stale, err := plan(dir, r, force)
	if err != nil {
		return rep, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, errorf("export: %v", err)
	}
	temps, err := stage(dir, r, &rep)
	if err != nil {
		if created {
			os.Remove(dir) // empty again
		}
		return rep, err
	}
	for i, t := range temps {
		if err := os.Rename(t.tmp, t.path); err != nil {
			removeTemps(temps[i:])
			return rep, errorf("export: %v", err)
		}
		rep.Written = append(rep.Written, t.path)
	}
	for _, path := range stale {
		if err := os.Remove(path); err != nil {
			return rep, errorf("export: %v", err)
		}
		rep.Removed = append(rep.Removed, path)
	}
	return rep, nil
}

// temp is a file written in full beside path, waiting to be renamed.
type temp struct{ tmp, path string }

// stage writes every file of r that changes to a temporary file in dir,
// and notes the others in rep as unchanged. On failure it removes what it
// wrote.
func stage(dir string, r *Result, rep *Report) ([]temp, error) {
	var temps []temp
	for _, f := range r.Files {
		path := filepath.Join(dir, f.Name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.Data) {
			rep.Unchanged = append(rep.Unchanged, path)
			continue
		}
		tmp, err := writeTemp(path, f.Data)
		if err != nil {
			removeTemps(temps)
			return nil, err
		}
		temps = append(temps, temp{tmp, path})
	}
	return temps, nil
}

// removeTemps removes temporary files that will not be renamed.
func removeTemps(temps []temp) {
	for _, t := range temps {
		os.Remove(t.tmp)
	}
}

// plan checks every file Write would replace and returns the stale ones.
func plan(dir string, r *Result, force bool) ([]string, error) {
	var names []string
	for _, f := range r.Files {
		names = append(names, f.Name)
		path := filepath.Join(dir, f.Name)
		st, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, errorf("export: %v", err)
		case st.IsDir():
			return nil, errorf("export: %s is a directory", path)
		case force:
			continue
		}
		if line, _ := firstLine(path); line != r.Marker {
			return nil, errorf("export: %s was not written by cinit export for this format and app; refusing to overwrite it (--force does)", path)
		}
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, errorf("export: %v", err)
	}
	var stale []string
	for _, e := range entries {
		if !e.Type().IsRegular() || slices.Contains(names, e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if line, _ := firstLine(path); line == r.Marker {
			stale = append(stale, path)
		}
	}
	return stale, nil
}

// firstLine reads the first line of a file, without its newline.
func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// writeTemp writes data to a temporary file beside path and returns its
// name.
func writeTemp(path string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", errorf("export: %v", err)
	}
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return "", errorf("export: %s: %v", path, err)
	}
	return tmp.Name(), nil
}

// Stdout returns r's files as one stream: Kubernetes documents separated
// by "---", units each under a "# ==> NAME <==" line, the Compose file
// as it is.
func Stdout(format string, r *Result) []byte {
	var b bytes.Buffer
	for i, f := range r.Files {
		switch {
		case format == "systemd":
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString("# ==> " + f.Name + " <==\n")
		case i > 0:
			b.WriteString("---\n")
		}
		b.Write(f.Data)
	}
	return b.Bytes()
}
