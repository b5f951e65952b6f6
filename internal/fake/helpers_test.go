package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	tinyFixture = "../../testdata/fixtures/tiny.json"
	mainFixture = "../../testdata/fixtures/integrations.json"

	alpha  = "alpha_node_18_1700000001" // running, every kind
	beta   = "beta_node_18_1700000002"  // stopped
	alpha2 = "alpha_node_18_1700000003" // running, same name as alpha, has integration errors

	tinyKey = "tiny-key"
)

// clock is a settable time source for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTiny returns a server over the tiny fixture.
func newTiny(t *testing.T, cfg Config) *Server {
	t.Helper()
	fix, err := LoadFixture(tinyFixture)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(fix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	raw    []byte
	doc    map[string]any
}

// call runs one request through h in process. auth is a bearer credential ("" for none).
func call(t *testing.T, h http.Handler, method, target, auth, body string) reply {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", MediaType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return decode(t, rec.Code, rec.Header(), rec.Body.Bytes())
}

func decode(t *testing.T, status int, h http.Header, raw []byte) reply {
	t.Helper()
	r := reply{status: status, header: h, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &r.doc); err != nil {
			t.Fatalf("status %d: body is not a JSON object: %v\n%s", status, err, raw)
		}
	}
	return r
}

// send runs one request against a real server.
func send(t *testing.T, c *http.Client, method, url, auth, body string) (reply, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	req.Header.Set("Content-Type", MediaType)
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return decode(t, resp.StatusCode, resp.Header, raw), nil
}

// get walks a decoded document: keys for objects, ints for arrays.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %#v", k, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at [%d]: not an array that long: %#v", k, v)
			}
			v = a[k]
		}
	}
	return v
}

// errorsOf returns the status, title, detail and pointer of each JSON:API error.
func errorsOf(t *testing.T, r reply) [][4]string {
	t.Helper()
	list, ok := r.doc["errors"].([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("status %d: no errors array: %s", r.status, r.raw)
	}
	var out [][4]string
	for _, e := range list {
		m := e.(map[string]any)
		var ptr string
		if src, ok := m["source"].(map[string]any); ok {
			ptr, _ = src["pointer"].(string)
		}
		st, _ := m["status"].(string)
		title, _ := m["title"].(string)
		detail, _ := m["detail"].(string)
		out = append(out, [4]string{st, title, detail, ptr})
	}
	return out
}

// patchBody builds a PATCH document; attrs are raw JSON objects.
func patchBody(items ...[2]string) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, `{"id":"`+it[0]+`","type":"integration-option","attributes":`+it[1]+`}`)
	}
	return `{"data":[` + strings.Join(parts, ",") + `]}`
}

// optionValue returns the stored raw value of an option.
func optionValue(t *testing.T, srv *Server, id, key string) string {
	t.Helper()
	in, ok := srv.Integration(id)
	if !ok {
		t.Fatalf("no integration %s", id)
	}
	o := in.option(key)
	if o == nil {
		t.Fatalf("no option %s-%s", id, key)
	}
	return string(o.Value)
}

// waitFor polls cond for up to 10 seconds; the bound only guards against a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
