package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holder is a Fake that holds every request until it is closed, as polarity-fake's hangs do.
type holder struct {
	release chan struct{}
	once    sync.Once
	held    atomic.Int32
}

func (h *holder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/hold" {
		h.held.Add(1)
		<-h.release
	}
	io.WriteString(w, "answered")
}

func (h *holder) Close() { h.once.Do(func() { close(h.release) }) }

// TestServeFakeStops: the fake is served on 127.0.0.1, and stop returns although a request
// is held, because the fake is closed first.
func TestServeFakeStops(t *testing.T) {
	h := &holder{release: make(chan struct{})}
	srv, stop, err := ServeFake(h, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Wrapped", "yes")
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s is not on 127.0.0.1", srv.URL)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Wrapped") != "yes" {
		t.Error("the wrapper was not in front of the fake")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(srv.URL + "/hold"); err == nil {
			resp.Body.Close()
		}
	}()
	for h.held.Load() == 0 {
		time.Sleep(time.Millisecond) // until the request is held
	}
	stop() // would wait for the held request forever if the fake were not closed first
	<-done
	if _, _, err := ServeFake(nil, nil); err == nil {
		t.Error("ServeFake(nil) served")
	}
}

// TestBufferConcurrent: writes from many goroutines all land, and reading while they write
// is no race (run under -race).
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

// TestFilesAndSearch: every file below a directory is a place named by its relative path,
// skip leaves some out, and Search finds each marker with its context.
func TestFilesAndSearch(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"a.txt": "clean", "sub/b.json": `{"k":"has mk123 inside"}`, "input.csv": "mk123"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	places, err := Files(dir, func(rel string) bool { return rel == "input.csv" })
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != 2 || places[0].Name != "a.txt" || places[1].Name != "sub/b.json" {
		t.Fatalf("places %+v", places)
	}
	one, err := Files(filepath.Join(dir, "input.csv"), nil)
	if err != nil || len(one) != 1 || one[0].Name != "input.csv" {
		t.Fatalf("a file as root: %+v %v", one, err)
	}
	leaks := Search(append(places, Place{Name: "stdout", Text: "nothing"}), []Secret{{Name: "m", Marker: "mk123"}, {Name: "empty"}})
	if len(leaks) != 1 || leaks[0].Place != "sub/b.json" || leaks[0].Secret != "m" || leaks[0].Context != `{"k":"has mk123 inside"}` {
		t.Fatalf("leaks %+v", leaks)
	}
	if got := leaks[0].String(); got != `sub/b.json holds secret m: …{"k":"has mk123 inside"}…` {
		t.Errorf("String() = %q", got)
	}
}

// TestJSStringify: JSON.stringify's form is valid JSON that decodes to the value, with <>&
// kept as they are; the ASCII form escapes everything above ASCII, surrogate pairs included.
func TestJSStringify(t *testing.T) {
	for _, s := range []string{`a"b\c`, "<&>", "line\nbreak\x01", "ü🔑"} {
		for _, ascii := range []bool{false, true} {
			enc := JSStringify(s, ascii)
			var back string
			if err := json.Unmarshal([]byte(enc), &back); err != nil || back != s {
				t.Errorf("JSStringify(%q, %v) = %s: decodes to %q, %v", s, ascii, enc, back, err)
			}
		}
	}
	if got := JSStringify("<ü🔑>", false); got != `"<ü🔑>"` {
		t.Errorf("plain form %s", got)
	}
	if got := JSStringify("ü🔑", true); got != `"\u00fc\ud83d\udd11"` {
		t.Errorf("ASCII form %s", got)
	}
}

// TestHostileMarkers: every hostile secret holds its marker, and the markers differ.
func TestHostileMarkers(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Hostile() {
		if !strings.Contains(s.Value, s.Marker) || seen[s.Marker] || len(s.Value) < 24 {
			t.Errorf("%s: marker %q in %d bytes", s.Name, s.Marker, len(s.Value))
		}
		seen[s.Marker] = true
	}
	if len(seen) < 40 {
		t.Errorf("%d hostile secrets, want at least 40", len(seen))
	}
}

// TestGolden: an equal file passes; the update command names the package and the test.
func TestGolden(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(p, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Golden(t, p, []byte("one\ntwo\n"))
	if got, want := updateCommand(t), "go test ./internal/testkit -run '^TestGolden$' -update"; got != want {
		t.Errorf("updateCommand = %q, want %q", got, want)
	}
}

// TestReadResults: results.json's waves, integrations and options come back as written.
func TestReadResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	doc := `{"stopped":"wave 2 failed","rolled_back":true,
		"waves":[{"number":1,"status":"passed","integrations":["a"]},{"number":2,"status":"failed","failed":1,"health":[{"id":"b","healthy":false,"problems":["stopped"]}]}],
		"integrations":[{"id":"a","status":"applied","options":[{"option_key":"k","status":"applied","verified":true}]},
			{"id":"b","status":"rolled-back","error":"health check: stopped","options":[{"option_key":"k","status":"failed","rollback":"restored"}]}]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ReadResults(t, path)
	if !r.RolledBack || r.Stopped != "wave 2 failed" || !slices.Equal(r.WaveStatuses(), []string{"passed", "failed"}) {
		t.Errorf("run: %+v", r)
	}
	if r.StatusOf("b") != "rolled-back" || r.StatusOf("nope") != "" {
		t.Errorf("statuses: b %q, nope %q", r.StatusOf("b"), r.StatusOf("nope"))
	}
	if h := r.Waves[1].Health; len(h) != 1 || h[0].ID != "b" || h[0].Healthy || h[0].Problems[0] != "stopped" {
		t.Errorf("health: %+v", h)
	}
	if o := r.Integrations[1].Options[0]; o.Rollback != "restored" || string(r.Integrations[0].Options[0].Verified) != "true" {
		t.Errorf("options: %+v, %s", o, r.Integrations[0].Options[0].Verified)
	}
}
