package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Credential is what polarity-bulk authenticates with, the key of its value digests: only
// someone who holds it can compute or check them, which readers of plan.json and of the report
// do not.
type Credential struct {
	Secret string
	// Password says the secret is a login password, which may be weak: its key is stretched
	// (PBKDF2), so that a digest cannot be used to guess the password quickly. An API key is
	// a long random token and needs no stretching.
	Password bool
}

// The key derivations. A digest record names its own, so that a record is always checked
// the way it was made; these are the only ones accepted.
const (
	methodHKDF   = "hkdf-sha256"   // API keys
	methodPBKDF2 = "pbkdf2-sha256" // passwords
	// pbkdf2Iterations follows OWASP's figure for PBKDF2-HMAC-SHA256 (2023).
	pbkdf2Iterations = 600_000
	saltLen          = 16
	keyCheckMsg      = "polarity-bulk value digests: key check"
)

// Digests records keyed digests of the values of a run's ${NAME} cells, by the CSV line of
// the row: never the values, never an unkeyed hash of them (a reader could try every likely
// value against one). plan.json and the journal carry it.
type Digests struct {
	Method     string `json:"method"`
	Iterations int    `json:"iterations,omitempty"`
	Salt       string `json:"salt"`
	// KeyCheck tells a different credential apart from different values.
	KeyCheck string            `json:"key_check"`
	Values   map[string]string `json:"values"`
}

// NewDigests digests values (by CSV line) under a key derived from cred and a new salt.
func NewDigests(cred Credential, values map[int]string) (Digests, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return Digests{}, fmt.Errorf("value digests: %w", err)
	}
	d := Digests{Method: methodHKDF, Salt: base64.StdEncoding.EncodeToString(salt)}
	if cred.Password {
		d.Method, d.Iterations = methodPBKDF2, pbkdf2Iterations
	}
	k, err := d.key(cred)
	if err != nil {
		return Digests{}, err
	}
	d.KeyCheck = mac(k, keyCheckMsg)
	d.Values = k.digestAll(values)
	return d, nil
}

// Same reports whether d, made earlier, holds the digests values have under cred now. With
// another credential (or another kind of credential) the values cannot be compared: sameKey
// is false and nothing else is said. Otherwise differ lists, in order, the lines whose value
// differs or that only one side has.
func (d Digests) Same(cred Credential, values map[int]string) (sameKey bool, differ []int, err error) {
	if (d.Method == methodPBKDF2) != cred.Password {
		return false, nil, nil
	}
	k, err := d.key(cred)
	if err != nil {
		return false, nil, err
	}
	if !hmac.Equal([]byte(mac(k, keyCheckMsg)), []byte(d.KeyCheck)) {
		return false, nil, nil
	}
	now := k.digestAll(values)
	lines := map[int]bool{}
	for l, v := range now {
		if !hmac.Equal([]byte(v), []byte(d.Values[l])) {
			lines[atoi(l)] = true
		}
	}
	for l := range d.Values {
		if _, ok := now[l]; !ok {
			lines[atoi(l)] = true
		}
	}
	for l := range lines {
		differ = append(differ, l)
	}
	slices.Sort(differ)
	return true, differ, nil
}

// Rekey returns digests of values under cred with d's salt and method when cred still
// derives d's key (so a run started from a saved plan records what the plan did), and new
// ones otherwise.
func (d Digests) Rekey(cred Credential, values map[int]string) (Digests, error) {
	if same, differ, err := d.Same(cred, values); err == nil && same && len(differ) == 0 {
		return d, nil
	}
	return NewDigests(cred, values)
}

type digestKey []byte

func (d Digests) key(cred Credential) (digestKey, error) {
	salt, err := base64.StdEncoding.DecodeString(d.Salt)
	if err != nil || len(salt) != saltLen {
		return nil, errors.New("value digests: bad salt")
	}
	switch {
	case d.Method == methodHKDF && d.Iterations == 0:
		k, err := hkdf.Key(sha256.New, []byte(cred.Secret), salt, "polarity-bulk value digests", 32)
		return k, err
	case d.Method == methodPBKDF2 && d.Iterations == pbkdf2Iterations:
		// A record cannot ask for another count: a huge one would hang the run.
		k, err := pbkdf2.Key(sha256.New, cred.Secret, salt, d.Iterations, 32)
		return k, err
	}
	return nil, fmt.Errorf("value digests: unknown method %q with %d iterations", d.Method, d.Iterations)
}

func (k digestKey) digestAll(values map[int]string) map[string]string {
	out := make(map[string]string, len(values))
	for line, v := range values {
		out[strconv.Itoa(line)] = mac(k, "value\x00"+v)
	}
	return out
}

func mac(k []byte, msg string) string {
	h := hmac.New(sha256.New, k)
	h.Write([]byte(msg))
	return hex.EncodeToString(h.Sum(nil))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
