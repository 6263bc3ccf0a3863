package procfile

import (
	"strings"
	"testing"
)

// A NUL byte can never reach execve or an environment: it is an error
// naming its line, not a process that fails to start.
func TestNULIsAnError(t *testing.T) {
	if _, _, err := Parse("Procfile", strings.NewReader("a: echo hi\nb: echo x\x00y\n")); err == nil || !strings.HasPrefix(err.Error(), "Procfile:2: ") {
		t.Errorf("Procfile: got %v, want an error on line 2", err)
	}
	if _, err := parseEnv(".env", []byte("A=1\r\nB=x\x00y\n")); err == nil || !strings.HasPrefix(err.Error(), ".env:2: ") {
		t.Errorf(".env: got %v, want an error on line 2", err)
	}
}
