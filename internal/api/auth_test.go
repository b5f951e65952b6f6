package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testUser = "admin"
	testPass = "pass-word-5678"
)

// authServer is a Polarity login session server in miniature.
type authServer struct {
	mu        sync.Mutex
	life      time.Duration
	tokens    map[string]time.Time // valid token → expiry
	n         int
	logins    int
	refreshes int
	logouts   int
	reject    bool // answer 401 to every data request
	loginCode int  // answer this to logins when not 0
	log       []string
}

func newAuthServer(life time.Duration) *authServer {
	return &authServer{life: life, tokens: map[string]time.Time{}}
}

func (s *authServer) issue(w http.ResponseWriter) {
	s.n++
	tok := fmt.Sprintf("tok-%d-9f8e7d6c5b4a", s.n)
	exp := time.Now().Add(s.life)
	s.tokens[tok] = exp
	writeJSON(w, 200, map[string]any{"data": map[string]any{"token": tok, "expiration_time": exp.Unix(), "users": map[string]any{}}})
}

func (s *authServer) valid(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	exp, ok := s.tokens[tok]
	return tok, ok && time.Now().Before(exp)
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Content-Type") != "application/vnd.api+json" || r.Header.Get("Accept") != "application/vnd.api+json" {
		writeJSON(w, 415, map[string]any{"errors": []any{map[string]any{"title": "media type"}}})
		return
	}
	unauthorized := func() {
		writeJSON(w, 401, map[string]any{"errors": []any{map[string]any{"status": "401", "title": "Unauthorized"}}})
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /api/users/login":
		s.log = append(s.log, "login")
		s.logins++
		if s.loginCode != 0 {
			writeJSON(w, s.loginCode, map[string]any{"errors": []any{map[string]any{"status": fmt.Sprint(s.loginCode), "title": "Login refused"}}})
			return
		}
		var body map[string]string
		if json.NewDecoder(r.Body).Decode(&body) != nil || body["identification"] != testUser || body["password"] != testPass {
			unauthorized()
			return
		}
		s.issue(w)
	case "GET /api/users/refresh":
		s.log = append(s.log, "refresh")
		s.refreshes++
		if _, ok := s.valid(r); !ok {
			unauthorized()
			return
		}
		s.issue(w)
	case "POST /api/users/logout":
		tok, ok := s.valid(r)
		s.log = append(s.log, "logout "+tok)
		s.logouts++
		if !ok {
			unauthorized()
			return
		}
		delete(s.tokens, tok)
		writeJSON(w, 200, map[string]any{})
	default:
		tok, ok := s.valid(r)
		s.log = append(s.log, "get "+tok)
		if !ok || s.reject {
			unauthorized()
			return
		}
		writeJSON(w, 200, integrationDoc(strings.TrimPrefix(r.URL.Path, "/api/integrations/")))
	}
}

func (s *authServer) takeLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := strings.Join(s.log, ", ")
	s.log = nil
	return l
}

func passwordClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	c, err := New(Config{URL: "https://polarity.test", Username: testUser, Password: testPass,
		Rate: 1000, Burst: 100, Transport: handlerTransport{h}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSessionLifecycle walks a password session through login, use, refresh before expiry,
// one re-login on a 401 (not two), re-login after expiry, and logout.
func TestSessionLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newAuthServer(100 * time.Second)
		c := passwordClient(t, srv)
		ctx := t.Context()
		step := func(name, want string) {
			t.Helper()
			if _, err := c.Integration(ctx, "vt_1"); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := srv.takeLog(); got != want {
				t.Errorf("%s: server saw %q, want %q", name, got, want)
			}
		}
		step("first request logs in", "login, get tok-1-9f8e7d6c5b4a")
		step("token reused", "get tok-1-9f8e7d6c5b4a")

		time.Sleep(50 * time.Second) // 50s of 100s left: more than the 30s margin
		step("no refresh yet", "get tok-1-9f8e7d6c5b4a")

		time.Sleep(25 * time.Second) // 25s left
		step("refresh before expiry", "refresh, get tok-2-9f8e7d6c5b4a")

		srv.mu.Lock()
		delete(srv.tokens, "tok-2-9f8e7d6c5b4a") // revoked on the server
		srv.mu.Unlock()
		step("re-login on 401", "get tok-2-9f8e7d6c5b4a, login, get tok-3-9f8e7d6c5b4a")

		time.Sleep(200 * time.Second) // expired unseen: the refresh fails, a login follows
		step("after expiry", "refresh, login, get tok-4-9f8e7d6c5b4a")

		srv.mu.Lock()
		srv.reject = true
		srv.mu.Unlock()
		_, err := c.Integration(ctx, "vt_1")
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("err = %v, want ErrAuth", err)
		}
		if got, want := err.Error(), "get integration vt_1: 401 unauthorized: authentication refused: Unauthorized (after 2 attempts)"; got != want {
			t.Errorf("error %q, want %q", got, want)
		}
		if got := srv.takeLog(); got != "get tok-4-9f8e7d6c5b4a, login, get tok-5-9f8e7d6c5b4a" {
			t.Errorf("a second 401 must not log in again: %q", got)
		}

		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got := srv.takeLog(); got != "logout tok-5-9f8e7d6c5b4a" {
			t.Errorf("close: server saw %q", got)
		}
		if srv.logins != 4 || srv.refreshes != 2 || srv.logouts != 1 {
			t.Errorf("logins %d refreshes %d logouts %d", srv.logins, srv.refreshes, srv.logouts)
		}
	})
}

// TestLoginOnce has many workers start at once: one login serves them all.
func TestLoginOnce(t *testing.T) {
	srv := newAuthServer(time.Hour)
	ts := newTestServer(t, srv)
	c, err := New(Config{URL: ts.URL, Username: testUser, Password: testPass, Rate: 1000, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := c.Integration(ctxT(t), fmt.Sprintf("i_%d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if srv.logins != 1 {
		t.Errorf("%d logins, want 1", srv.logins)
	}
	if err := c.Close(ctxT(t)); err != nil || srv.logouts != 1 {
		t.Errorf("close: %v, %d logouts", err, srv.logouts)
	}
}

func TestLoginRefused(t *testing.T) {
	for _, code := range []int{401, 403, 400} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := newAuthServer(time.Hour)
			srv.loginCode = code
			c := passwordClient(t, srv)
			_, err := c.Integration(ctxT(t), "vt_1")
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrAuth) != (code != 400) {
				t.Errorf("errors.Is(ErrAuth) = %v for %d: %v", !(code != 400), code, err)
			}
			want := fmt.Sprintf("get integration vt_1: log in: %s", statusText(code))
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want prefix %q", err, want)
			}
			if srv.logins != 1 || c.Requests() != 1 {
				t.Errorf("login retried: %d logins, %d requests", srv.logins, c.Requests())
			}
		})
	}
}

// TestAPIKey sends the key as a bearer token with the JSON:API headers, never logs in, and
// takes a 401 as final.
func TestAPIKey(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s auth=%q ct=%q accept=%q ua=%q", r.Method, r.URL.Path,
			r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("User-Agent")))
		mu.Unlock()
		if r.URL.Path == "/prefix/api/integrations/gone" {
			writeJSON(w, 401, map[string]any{"errors": []any{map[string]any{"title": "Unauthorized"}}})
			return
		}
		writeJSON(w, 200, integrationDoc("vt_1"))
	}))
	c := newKeyClient(t, ts.URL+"/prefix/", func(c *Config) { c.UserAgent = "polarity-bulk/test" })
	if _, err := c.Integration(ctxT(t), "vt_1"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Integration(ctxT(t), "gone")
	if !errors.Is(err, ErrAuth) {
		t.Errorf("err = %v, want ErrAuth", err)
	}
	if err := c.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`GET /prefix/api/integrations/vt_1 auth="Bearer ` + testKey + `" ct="application/vnd.api+json" accept="application/vnd.api+json" ua="polarity-bulk/test"`,
		`GET /prefix/api/integrations/gone auth="Bearer ` + testKey + `" ct="application/vnd.api+json" accept="application/vnd.api+json" ua="polarity-bulk/test"`,
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("server saw:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestTokenExpiryForms(t *testing.T) {
	cases := map[string]bool{`1725278818`: true, `"1725278818"`: true, `1725278818000`: true, `null`: false, `"soon"`: false, ``: false}
	for in, ok := range cases {
		tm, got := unixTime(json.RawMessage(in))
		if got != ok || (ok && tm.Unix() != 1725278818) {
			t.Errorf("unixTime(%s) = %v, %v", in, tm, got)
		}
	}
	if m := refreshMargin(time.Hour); m != 12*time.Minute {
		t.Errorf("margin(1h) = %s", m)
	}
	if m := refreshMargin(20 * time.Second); m != 10*time.Second {
		t.Errorf("margin(20s) = %s", m)
	}
}
