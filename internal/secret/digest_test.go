package secret_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

func TestDigests(t *testing.T) {
	key := secret.Credential{Secret: "api-key-0123456789"}
	values := map[int]string{3: "first-secret", 7: "second-secret", 9: "first-secret"}
	d, err := secret.NewDigests(key, values)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(d)
	for _, v := range []string{"first-secret", "second-secret", key.Secret} {
		if strings.Contains(string(doc), v) {
			t.Errorf("the record holds %q: %s", v, doc)
		}
	}
	if d.Values["3"] != d.Values["9"] || d.Values["3"] == d.Values["7"] {
		t.Errorf("digests: %v", d.Values)
	}
	for _, tc := range []struct {
		name    string
		cred    secret.Credential
		values  map[int]string
		sameKey bool
		differ  []int
	}{
		{"same", key, values, true, nil},
		{"one value changed", key, map[int]string{3: "first-secret", 7: "rotated", 9: "first-secret"}, true, []int{7}},
		{"a line less and a line more", key, map[int]string{3: "first-secret", 7: "second-secret", 10: "x"}, true, []int{9, 10}},
		{"another api key", secret.Credential{Secret: "api-key-other"}, values, false, nil},
		{"a password that is the same string", secret.Credential{Secret: key.Secret, Password: true}, values, false, nil},
	} {
		same, differ, err := d.Same(tc.cred, tc.values)
		if err != nil || same != tc.sameKey || !slices.Equal(differ, tc.differ) {
			t.Errorf("%s: Same = %v, %v, %v; want %v, %v", tc.name, same, differ, err, tc.sameKey, tc.differ)
		}
	}
	// A second record of the same values has another salt, hence other digests.
	d2, _ := secret.NewDigests(key, values)
	if d2.Salt == d.Salt || d2.Values["3"] == d.Values["3"] {
		t.Error("two records share a salt")
	}
	if r, _ := d.Rekey(key, values); r.Salt != d.Salt {
		t.Error("Rekey with the same key and values made a new record")
	}
	if r, _ := d.Rekey(secret.Credential{Secret: "api-key-other"}, values); r.Salt == d.Salt {
		t.Error("Rekey with another key kept the record")
	}
}

func TestDigestsPassword(t *testing.T) {
	pw := secret.Credential{Secret: "hunter2", Password: true}
	d, err := secret.NewDigests(pw, map[int]string{2: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != "pbkdf2-sha256" || d.Iterations < 600000 {
		t.Errorf("a password key is not stretched: %+v", d)
	}
	if same, differ, err := d.Same(pw, map[int]string{2: "v"}); !same || differ != nil || err != nil {
		t.Errorf("Same = %v %v %v", same, differ, err)
	}
	// A record cannot choose its own cost (a huge count would hang the run) or method.
	for _, bad := range []secret.Digests{
		{Method: d.Method, Iterations: 1 << 40, Salt: d.Salt, KeyCheck: d.KeyCheck},
		{Method: "md5", Salt: d.Salt},
		{Method: "hkdf-sha256", Salt: "not base64!"},
	} {
		if _, _, err := bad.Same(secret.Credential{Secret: "hunter2", Password: bad.Method == d.Method}, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
