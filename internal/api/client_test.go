package api

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // error substring; empty = accepted
	}{
		{"https", Config{URL: "https://polarity.example.com", APIKey: "k"}, ""},
		{"https with prefix", Config{URL: "https://example.com/polarity/", APIKey: "k"}, ""},
		{"http loopback v4", Config{URL: "http://127.0.0.1:8080", APIKey: "k"}, ""},
		{"http loopback 127/8", Config{URL: "http://127.1.2.3", APIKey: "k"}, ""},
		{"http loopback v6", Config{URL: "http://[::1]:8080", APIKey: "k"}, ""},
		{"http localhost", Config{URL: "http://LOCALHOST:8080", Username: "u", Password: "p"}, ""},
		{"http remote key", Config{URL: "http://polarity.example.com", APIKey: "k"}, "refusing to send credentials over plain http to polarity.example.com\nhint: use https://polarity.example.com"},
		{"http remote password", Config{URL: "http://10.0.0.5", Username: "u", Password: "p"}, "plain http"},
		{"http lookalike", Config{URL: "http://localhost.example.com", APIKey: "k"}, "plain http"},
		{"no url", Config{APIKey: "k"}, "no server url"},
		{"bad scheme", Config{URL: "ftp://x", APIKey: "k"}, "scheme must be https or http"},
		{"no scheme", Config{URL: "polarity.example.com", APIKey: "k"}, "scheme must be https or http"},
		{"user info", Config{URL: "https://u:hunter2@x", APIKey: "k"}, "server url holds credentials"},
		{"query", Config{URL: "https://x/?a=b", APIKey: "k"}, "query"},
		{"no credentials", Config{URL: "https://x"}, "no credentials"},
		{"both", Config{URL: "https://x", APIKey: "k", Username: "u", Password: "p"}, "both"},
		{"user without password", Config{URL: "https://x", Username: "u"}, "needs a password"},
		{"negative rate", Config{URL: "https://x", APIKey: "k", Rate: -1}, "rate"},
		{"burst below 1", Config{URL: "https://x", APIKey: "k", Burst: -1}, "burst"},
		{"negative timeout", Config{URL: "https://x", APIKey: "k", Timeout: -time.Second}, "timeout"},
		{"missing ca file", Config{URL: "https://x", APIKey: "k", CACertFile: "/nonexistent/ca.pem"}, "ca certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the url's password: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Config{URL: "https://x", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.retries != DefaultRetries || float64(c.pacer.limiter.Limit()) != DefaultRate || c.pacer.limiter.Burst() != DefaultBurst {
		t.Errorf("defaults: %s %d %v %d", c.timeout, c.retries, c.pacer.limiter.Limit(), c.pacer.limiter.Burst())
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok || tr.Proxy == nil || tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("transport %#v", c.hc.Transport)
	}
	c, _ = New(Config{URL: "https://x", APIKey: "k", MaxAttempts: 1})
	if c.retries != 0 {
		t.Errorf("retries -1 → %d", c.retries)
	}
}

// TestTLS: an unknown CA is refused (and not retried); the CA file or skipping verification
// lets the request through.
func TestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(okHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	c := newKeyClient(t, ts.URL, nil)
	_, err := c.Integration(ctxT(t), "vt_1")
	if !errors.Is(err, ErrConnection) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unknown CA: %v", err)
	}
	if c.Requests() != 1 {
		t.Errorf("certificate failure retried: %d requests", c.Requests())
	}

	c = newKeyClient(t, ts.URL, func(c *Config) { c.CACertFile = caFile })
	if _, err := c.Integration(ctxT(t), "vt_1"); err != nil {
		t.Errorf("with CA file: %v", err)
	}

	c = newKeyClient(t, ts.URL, func(c *Config) { c.InsecureSkipVerify = true })
	if _, err := c.Integration(ctxT(t), "vt_1"); err != nil {
		t.Errorf("insecure: %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := New(Config{URL: ts.URL, APIKey: "k", CACertFile: bad}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
}

// TestBadResponses: a 2xx that is not usable JSON gives a clear ErrBadResponse, never a
// panic, quoting at most 200 bytes of a non-JSON body.
func TestBadResponses(t *testing.T) {
	html := "<!DOCTYPE html><html><head><title>Sign in</title></head><body>" + strings.Repeat("x", 1000) + "</body></html>"
	cases := []struct {
		name, ct, body string
		want           []string
	}{
		{"html", "text/html; charset=utf-8", html, []string{`content type "text/html; charset=utf-8" is not JSON`, `body starts "<!DOCTYPE html><html><head><title>Sign in`}},
		{"html as json", "application/json", html, []string{"malformed JSON", `body starts "<!DOCTYPE`}},
		{"malformed", "application/vnd.api+json", `{"data": [{"id": "a",`, []string{"malformed JSON", "unexpected end of JSON input"}},
		{"wrong shape", "application/json", `{"data": "what", "included": 5}`, []string{"bad response"}},
		{"empty", "application/json", ``, []string{"empty body"}},
		{"plain text", "text/plain", `upstream connect error`, []string{`content type "text/plain" is not JSON`, "upstream connect error"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ct)
				io.WriteString(w, tc.body)
			}))
			c := newKeyClient(t, ts.URL, nil)
			_, err := c.Integrations(ctxT(t), false)
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(err.Error()) > 400 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if c.Requests() != 1 {
				t.Errorf("retried: %d", c.Requests())
			}
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":[`+strings.Repeat(`{"id":"x","type":"integrations"},`, 1000)+`{}]}`)
	}))
	c := newKeyClient(t, ts.URL, nil)
	c.maxBody = 4096
	_, err := c.Integrations(ctxT(t), false)
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "response too large") || c.Requests() != 1 {
		t.Errorf("err = %v after %d requests", err, c.Requests())
	}
}

func TestErrorText(t *testing.T) {
	cases := []struct {
		e    *Error
		want string
	}{
		{&Error{Op: "patch integration x", HTTPStatus: 429, Attempts: 6}, "patch integration x: 429 too many requests (after 6 attempts)"},
		{&Error{Op: "patch integration x", HTTPStatus: 422, Items: []ErrorItem{{Title: "T", Detail: "T"}}}, "patch integration x: 422 unprocessable entity: T"},
		{&Error{Op: "list integrations", Err: fmt.Errorf("%w: boom", ErrConnection)}, "list integrations: connection failed: boom"},
		{&Error{Op: "get integration x", HTTPStatus: 599}, "get integration x: 599"},
		{&Error{Op: "o", HTTPStatus: 422, Items: []ErrorItem{{Detail: "line1\nline2\x00"}}}, "o: 422 unprocessable entity: line1 line2"},
	}
	for _, tc := range cases {
		if tc.e.Items != nil {
			for i := range tc.e.Items {
				tc.e.Items[i].Detail = clip(tc.e.Items[i].Detail, 100)
			}
		}
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if got := clip(strings.Repeat("é", 10), 5); got != "éé…" {
		t.Errorf("clip = %q", got)
	}
	for p, want := range map[string]int{"/data/0/attributes/value": 0, "/data/12": 12, "/data/x": -1, "/included/1": -1, "": -1, "/data/-1": -1} {
		n, ok := pointerIndex(p)
		if (want < 0 && ok) || (want >= 0 && (!ok || n != want)) {
			t.Errorf("pointerIndex(%q) = %d, %v", p, n, ok)
		}
	}
}

// TestRedirectStaysOnOrigin: the bearer token goes only to the origin (scheme, host and port)
// the user gave. Go keeps the Authorization header on a redirect to another port of the same
// host, and from https to http; the client refuses both, for reads and for the session's
// refresh GET, and still follows a redirect within the origin.
func TestRedirectStaysOnOrigin(t *testing.T) {
	var mu sync.Mutex
	var stolen []string
	thief := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen = append(stolen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		writeJSON(w, 200, integrationDoc("vt_1"))
	}))
	redirecting := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/integrations/moved":
			http.Redirect(w, r, "/api/integrations/moved/", http.StatusFound)
		case "/api/integrations/moved/":
			writeJSON(w, 200, integrationDoc("moved"))
		case "/api/integrations/vt_1":
			writeJSON(w, 200, integrationDoc("vt_1"))
		case "/api/users/login":
			writeJSON(w, 200, map[string]any{"data": map[string]any{"token": "tok-origin-0123456789", "expiration_time": time.Now().Add(40 * time.Second).Unix()}})
		default: // every other read, and the refresh, is sent to the thief
			http.Redirect(w, r, thief.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}
	}
	plain := newTestServer(t, http.HandlerFunc(redirecting))
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(redirecting))
	t.Cleanup(tlsSrv.Close)

	for _, tc := range []struct {
		name string
		url  string
		rt   http.RoundTripper
	}{
		{"another port of the same host", plain.URL, nil},
		{"https down to http", tlsSrv.URL, tlsSrv.Client().Transport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKeyClient(t, tc.url, func(cfg *Config) { cfg.Transport = tc.rt; cfg.MaxAttempts = 1 })
			if _, err := c.Integration(ctxT(t), "moved"); err != nil {
				t.Errorf("a redirect within the origin: %v", err)
			}
			_, err := c.Integration(ctxT(t), "elsewhere")
			if err == nil || !strings.Contains(err.Error(), "refusing redirect to another origin") {
				t.Errorf("redirect to the thief: %v", err)
			}
			// A password session whose token is due for a refresh: the refresh GET is
			// redirected too.
			lc, err := New(Config{URL: tc.url, Username: "u", Password: "pw-0123456789", Transport: tc.rt, MaxAttempts: 1, Rate: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lc.Integration(ctxT(t), "vt_1"); err != nil {
				t.Fatal(err)
			}
			lc.tokMu.Lock()
			lc.expiry = time.Now() // due: the next request refreshes first
			lc.tokMu.Unlock()
			_, _ = lc.Integration(ctxT(t), "vt_1")
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stolen) > 0 {
		t.Errorf("the other origin got requests: %q", stolen)
	}
}
