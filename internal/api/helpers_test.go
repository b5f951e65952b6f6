package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testKey is the API key of most tests.
const testKey = "key-0123456789abcdef"

// newTestServer starts an httptest server on 127.0.0.1 that is closed with the test.
func newTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// newKeyClient returns a client with an API key for the server at url, fast retries off unless
// asked, and a generous rate so only the tests about rate see the limiter.
func newKeyClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: url, APIKey: testKey, Rate: 1000, Burst: 100, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// handlerTransport serves requests in memory with an http.Handler: no sockets, so it works
// inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	in := req
	if in.Body == nil {
		// A server's request always has a body; a handler may read it.
		in = req.Clone(req.Context())
		in.Body = http.NoBody
	}
	t.h.ServeHTTP(rec, in)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}

// rtFunc is a RoundTripper from a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// memClient returns a client on an in-memory handler, for synctest bubbles.
func memClient(t *testing.T, h http.Handler, mod func(*Config)) *Client {
	t.Helper()
	return newKeyClient(t, "https://polarity.test", func(c *Config) {
		c.Transport = handlerTransport{h}
		if mod != nil {
			mod(c)
		}
	})
}

// writeJSON answers with a JSON:API document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// integrationDoc is a minimal single-integration document with no options.
func integrationDoc(id string) map[string]any {
	return map[string]any{"data": map[string]any{
		"id": id, "type": "integrations",
		"attributes": map[string]any{"name": "Name " + id, "status": "running"},
	}}
}

// okHandler answers GET /api/integrations/<id> with an empty integration.
func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/api/integrations/")
		writeJSON(w, http.StatusOK, integrationDoc(id))
	})
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ctxT returns a context bounded so that a hung test fails instead of waiting forever.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// formServer serves the integrations ids with options opts in one of the forms of
// renderIntegrations: the list at /api/integrations (with meta.page.total when total), and
// each one at /api/integrations/<id>.
func formServer(t *testing.T, form string, ids []string, opts []optSpec, total bool) *httptest.Server {
	t.Helper()
	return newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/integrations" {
			doc := renderIntegrations(form, ids, opts)
			if total {
				doc["meta"] = map[string]any{"page": map[string]any{"total": len(ids)}}
			}
			writeJSON(w, 200, doc)
			return
		}
		doc := renderIntegrations(form, []string{strings.TrimPrefix(r.URL.Path, "/api/integrations/")}, opts)
		doc["data"] = doc["data"].([]any)[0]
		writeJSON(w, 200, doc)
	}))
}
