package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestOrigin(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://Polarity.Example.com", "https://polarity.example.com"},
		{"https://polarity.example.com:443/prefix/", "https://polarity.example.com"},
		{"https://polarity.example.com:8443", "https://polarity.example.com:8443"},
		{"http://127.0.0.1:8080/api", "http://127.0.0.1:8080"},
		{"http://localhost:80", "http://localhost"},
		{"https://admin:s3cret@polarity.example.com/x?token=abc", "https://polarity.example.com"},
		{"http://[::1]:9000", "http://[::1]:9000"},
	}
	for _, tc := range cases {
		if got, err := origin(tc.in); err != nil || got != tc.want {
			t.Errorf("origin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "polarity.example.com", "ftp://x", "https://"} {
		if _, err := origin(bad); err == nil {
			t.Errorf("origin(%q): no error", bad)
		}
	}
}

func TestUserCacheDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the XDG rules are Linux's")
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cases := []struct {
		env  func(string) string
		want string
	}{
		{env("XDG_CACHE_HOME", "/c", "HOME", "/h"), "/c/polarity-bulk"},
		{env("XDG_CACHE_HOME", "relative", "HOME", "/h"), "/h/.cache/polarity-bulk"},
		{env("HOME", "/h"), "/h/.cache/polarity-bulk"},
		{env(), ""},
	}
	for _, tc := range cases {
		got, err := userCacheDir(tc.env)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("got %q, %v; want %q", got, err, tc.want)
		}
	}
}

// TestRateCache: what one run saves the next loads, per origin; the file holds the origin
// and the rate, nothing of the URL beyond the origin; a broken or foreign file is ignored,
// never fatal; the file keeps at most rateCacheMax servers.
func TestRateCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "polarity-bulk")
	if _, ok := loadLearned(dir, "https://p.example.com"); ok {
		t.Fatal("learned from nothing")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := saveLearned(dir, "https://p.example.com/prefix?x=1", learnedRate{Rate: 19.5, Limit: true, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := saveLearned(dir, "http://127.0.0.1:8080", learnedRate{Rate: 40, Updated: now}); err != nil {
		t.Fatal(err)
	}
	l, ok := loadLearned(dir, "https://P.example.com:443/other")
	if !ok || l.Rate != 19.5 || !l.Limit {
		t.Errorf("loaded %+v, %t", l, ok)
	}
	if _, ok := loadLearned(dir, "https://p.example.com:8443"); ok {
		t.Error("another port is another server")
	}
	b, err := os.ReadFile(filepath.Join(dir, rateCacheName))
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"prefix", "x=1", "other"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("cache holds %q:\n%s", leak, b)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, rateCacheName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}

	for _, junk := range []string{"not json", `{"format":99,"servers":{"https://p.example.com":{"rate":5}}}`,
		`{"format":1,"servers":{"https://p.example.com":{"rate":-5}}}`} {
		os.WriteFile(filepath.Join(dir, rateCacheName), []byte(junk), 0o600)
		if l, ok := loadLearned(dir, "https://p.example.com"); ok {
			t.Errorf("loaded %+v from %q", l, junk)
		}
	}
	if err := saveLearned(dir, "https://p.example.com", learnedRate{Rate: 7, Updated: now}); err != nil {
		t.Errorf("a broken cache is replaced, not fatal: %v", err)
	}

	for i := range rateCacheMax + 5 {
		u := fmt.Sprintf("https://s%d.example.com", i)
		if err := saveLearned(dir, u, learnedRate{Rate: 1, Updated: now.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	f := readRateCache(dir)
	if len(f.Servers) != rateCacheMax {
		t.Errorf("%d servers kept", len(f.Servers))
	}
	if _, ok := f.Servers["https://s0.example.com"]; ok {
		t.Error("the oldest was kept")
	}
	if _, ok := f.Servers[fmt.Sprintf("https://s%d.example.com", rateCacheMax+4)]; !ok {
		t.Error("the newest was dropped")
	}

	// An unwritable cache is an error the caller logs, never a crash.
	ro := filepath.Join(t.TempDir(), "ro")
	os.WriteFile(ro, nil, 0o400)
	if err := saveLearned(filepath.Join(ro, "polarity-bulk"), "https://p.example.com", learnedRate{Rate: 1}); err == nil {
		t.Error("no error under a file")
	}
}
