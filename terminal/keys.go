package terminal

import (
	"fmt"
	"strings"
	"time"
)

// DefaultDetachKeys is the default detach sequence of cinit attach:
// ctrl-\, the key dtach and abduco use. Docker's ctrl-p,ctrl-q is not the
// default, since ctrl-p is the "previous line" of every shell and
// debugger prompt and a held ctrl-p delays it.
const DefaultDetachKeys = `ctrl-\`

// ctrlNames are the key names of Docker's --detach-keys syntax after
// "ctrl-", in the order of the codes they stand for (0 to 31).
const ctrlNames = "@abcdefghijklmnopqrstuvwxyz[\\]^_"

// ParseKeys reads a key sequence in Docker's --detach-keys syntax: keys
// separated by commas, each a single character or "ctrl-" followed by a
// letter or one of @ [ \ ] ^ _ (case does not matter). The empty string is
// the empty sequence, which disables detaching. The second key must differ
// from the first.
func ParseKeys(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		b, err := parseKey(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, b)
	}
	if len(keys) > 1 && keys[1] == keys[0] {
		// The first key twice sends it once (Detacher), so such a
		// sequence could never detach.
		return nil, fmt.Errorf("%q: the second key must differ from the first, which typed twice is sent once", s)
	}
	return keys, nil
}

func parseKey(k string) (byte, error) {
	if len(k) == 1 {
		return k[0], nil
	}
	if name, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-"); ok && len(name) == 1 {
		if i := strings.IndexByte(ctrlNames, name[0]); i >= 0 {
			return byte(i), nil
		}
	}
	return 0, fmt.Errorf("bad key %q: want one character or ctrl- and one of a-z @ [ \\ ] ^ _", k)
}

// DoubleTapWindow is how long a detach sequence of one key waits for the
// same key again: within it, the second press sends the key itself (so a
// literal ctrl-\ is two presses); after it, or after any other key, the
// client detaches.
const DoubleTapWindow = 150 * time.Millisecond

// Detacher watches the keys typed into cinit attach for the detach
// sequence. Keys that may start the sequence are held back until the
// next key tells: the sequence completed (detach), the first key typed
// twice (sent once), or any other key (the held keys are sent as typed).
// A sequence of one key is complete at once, but waits for
// [DoubleTapWindow] in case it is pressed twice; the caller calls
// [Detacher.Expire] when that time has passed. A zero Detacher (or one
// with no keys) never detaches.
type Detacher struct {
	keys []byte
	held int  // keys[:held] were typed and held back
	tap  bool // a one-key sequence was typed: detach unless it comes again
}

// NewDetacher returns a Detacher for keys (from [ParseKeys]).
func NewDetacher(keys []byte) *Detacher {
	return &Detacher{keys: keys}
}

// Feed takes typed bytes and returns those to send on, and whether the
// sequence was completed (the rest of in is then dropped). waiting is true
// when a one-key sequence was just typed and [Detacher.Expire] is due
// after [DoubleTapWindow].
func (d *Detacher) Feed(in []byte) (out []byte, detach, waiting bool) {
	if len(d.keys) == 0 {
		return in, false, false
	}
	for _, b := range in {
		var done bool
		out, done = d.key(out, b)
		if done {
			return out, true, false
		}
	}
	return out, false, d.tap
}

// key handles one typed byte.
func (d *Detacher) key(out []byte, b byte) ([]byte, bool) {
	switch {
	case d.tap:
		d.tap = false
		if b == d.keys[0] {
			return append(out, b), false // pressed twice: sent once
		}
		return out, true
	case d.held == 1 && b == d.keys[0] && len(d.keys) > 1:
		d.held = 0
		return append(out, b), false // the first key twice: sent once
	case b == d.keys[d.held]:
		d.held++
		if d.held < len(d.keys) {
			return out, false
		}
		d.held = 0
		if len(d.keys) == 1 {
			d.tap = true
			return out, false
		}
		return out, true
	}
	out = append(out, d.keys[:d.held]...) // not the sequence: as typed
	d.held = 0
	if b == d.keys[0] {
		return d.key(out, b)
	}
	return append(out, b), false
}

// Expire tells a Detacher that was waiting that [DoubleTapWindow] has
// passed; it returns true when that means detach.
func (d *Detacher) Expire() bool {
	if d.tap {
		d.tap = false
		return true
	}
	return false
}
