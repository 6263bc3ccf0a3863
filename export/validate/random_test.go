package validate

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// randomCheck is an exec check made of the characters that need escaping
// somewhere: quotes, backslashes, $, %, #, YAML indicators, blanks, C0
// controls, DEL, C1 controls, U+2028, U+FEFF and other unicode. It holds
// no comma (a comma before NAME= starts a new --ready item) and no NUL
// (an argument cannot hold one).
func randomCheck(r *rand.Rand) string {
	pieces := []string{`"`, `'`, `\`, "$", "$$", "$(", "%", "%n", "#", ": ", "- ", "*", "&", "!", "{", "}", "[", "]",
		"|", ">", "~", "no", "0755", " ", "\t", "\n", "\r", "\x01", "\x1b", "\x7f", "\u0085", "\u2028", "\ufeff",
		"é", "☃", "𝄞", "x", "`", ";"}
	var b strings.Builder
	b.WriteString("exec:x")
	for range 1 + r.IntN(30) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	// cinit trims blanks around a --ready item, as around every policy
	// item: a last x keeps the trailing pieces.
	b.WriteString("x")
	return b.String()
}

// TestRandomChecksRoundTrip exports many random checks at once and reads
// each back from the parsed Kubernetes, Compose and systemd objects.
func TestRandomChecksRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 60
	var procfile strings.Builder
	var flags []string
	checks := make([]string, n)
	for i := range n {
		fmt.Fprintf(&procfile, "t%d: true\n", i)
		checks[i] = randomCheck(r)
		flags = append(flags, "--ready", fmt.Sprintf("t%d=%s", i, checks[i]))
	}
	p := newProject(t, procfile.String(), map[string]string{})
	flags = append(flags, "-c", "all")

	m := decodeKubernetes(t, p.export(t, append([]string{"kubernetes", "-", "--image", "r/a:1"}, flags...)...))
	m.check(t)
	out := filepath.Join(p.dir, "deploy")
	p.export(t, append([]string{"compose", out, "--image", "r/a:1"}, flags...)...)
	proj := loadCompose(t, out)
	for i, want := range checks {
		typ := fmt.Sprintf("t%d", i)
		if got := m.container(t, "shop-"+typ).ReadinessProbe.Exec.Command; !slices.Equal(got, []string{"cinit", "ready", "--for", typ, want}) {
			t.Errorf("kubernetes %s: %q, want %q", typ, got, want)
		}
		if got := proj.Services[typ].HealthCheck.Test; !slices.Equal(got, []string{"CMD", "cinit", "ready", "--for", typ, want}) {
			t.Errorf("compose %s: %q, want %q", typ, got, want)
		}
	}
	if testing.Short() {
		return
	}
	needSystemd(t)
	root := newSystemdRoot(t)
	p.export(t, append([]string{"systemd", root.units, "--user", "app"}, flags...)...)
	units := []string{"shop.target"}
	for i := range n {
		units = append(units, fmt.Sprintf("shop-t%d@1.service", i))
	}
	root.verify(t, units...)
	dump := root.dump(t, "shop.target")
	for i, want := range checks {
		lines := commandLines(unitSection(dump, fmt.Sprintf("shop-t%d@1.service", i)))
		if len(lines) < 2 || lines[1][len(lines[1])-1] != want {
			t.Errorf("systemd t%d: %q, want %q", i, lines, want)
		}
	}
	os.RemoveAll(out)
}
