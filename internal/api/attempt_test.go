package api

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// observed collects the Attempts a client reports.
type observed struct {
	mu sync.Mutex
	as []Attempt
}

func (o *observed) add(a Attempt) {
	o.mu.Lock()
	o.as = append(o.as, a)
	o.mu.Unlock()
}

func (o *observed) list() []Attempt {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Attempt(nil), o.as...)
}

// TestObserveAttempts: one callback per attempt, in order, each saying how it ended and what
// the client does next: a Retry-After pause, a backoff, success; and for a call that runs out
// of retries, a last attempt that is not retried.
func TestObserveAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{
			statuses: []int{503, 502},
			headers:  []map[string]string{{"Retry-After": "3"}},
		}
		var o observed
		c := memClient(t, s, func(c *Config) { c.OnAttempt = o.add })
		t0 := time.Now()
		if _, err := c.Integration(t.Context(), "vt_1"); err != nil {
			t.Fatal(err)
		}
		as := o.list()
		if len(as) != 3 {
			t.Fatalf("%d attempts observed, want 3: %+v", len(as), as)
		}
		want := []struct {
			n, status  int
			retry      bool
			retryAfter time.Duration
			backoff    bool
		}{
			{1, 503, true, 3 * time.Second, false},
			{2, 502, true, 0, true},
			{3, 200, false, 0, false},
		}
		for i, w := range want {
			a := as[i]
			if a.N != w.n || a.Status != w.status || a.Retry != w.retry || a.RetryAfter != w.retryAfter ||
				(a.Wait > 0) != w.backoff || a.Method != http.MethodGet || a.Path != "/api/integrations/vt_1" || a.Integration != "vt_1" || a.Failure != "" {
				t.Errorf("attempt %d = %+v, want %+v", i+1, a, w)
			}
			if a.Start.Before(t0) || (i > 0 && a.Start.Before(as[i-1].Start)) {
				t.Errorf("attempt %d started at %s, before the previous one", i+1, a.Start)
			}
		}
		// The retry after the Retry-After left no sooner than the server asked.
		if gap := as[1].Start.Sub(as[0].Start); gap < 3*time.Second {
			t.Errorf("second attempt %s after the first, want at least the 3s asked", gap)
		}
		if gap := as[2].Start.Sub(as[1].Start); gap < as[1].Wait {
			t.Errorf("third attempt %s after the second, want the backoff %s", gap, as[1].Wait)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		var o observed
		c := memClient(t, &script{statuses: repeat(429, 10)}, func(c *Config) { c.OnAttempt = o.add; c.MaxAttempts = 3 })
		if _, err := c.Integration(t.Context(), "vt_1"); err == nil {
			t.Fatal("no error after 429s")
		}
		as := o.list()
		if len(as) != 3 || !as[0].Retry || !as[1].Retry || as[2].Retry || as[2].Status != 429 {
			t.Errorf("attempts %+v: want two retried 429s and a last one not retried", as)
		}
	})
}

// TestObserveFailures: an attempt without an answer says why, as a class the report can
// count: a timeout, a network error, a cancelled run.
func TestObserveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			switch calls {
			case 1:
				<-r.Context().Done() // hang until the attempt's timeout
				return nil, r.Context().Err()
			case 2:
				return nil, errors.New("connection reset by peer")
			}
			return handlerTransport{okHandler()}.RoundTrip(r)
		})
		var o observed
		c := newKeyClient(t, "https://polarity.test", func(c *Config) { c.Transport = rt; c.Timeout = 2 * time.Second; c.OnAttempt = o.add })
		if _, err := c.Integration(t.Context(), "vt_1"); err != nil {
			t.Fatal(err)
		}
		as := o.list()
		if len(as) != 3 {
			t.Fatalf("%d attempts observed, want 3", len(as))
		}
		if a := as[0]; a.Status != 0 || a.Failure != FailureTimeout || !a.Retry || a.Latency != 2*time.Second {
			t.Errorf("timed out attempt = %+v", a)
		}
		if a := as[1]; a.Status != 0 || a.Failure != FailureNetwork || !a.Retry || a.Wait <= 0 {
			t.Errorf("reset attempt = %+v", a)
		}
		if a := as[2]; a.Status != 200 || a.Failure != "" || a.Retry {
			t.Errorf("last attempt = %+v", a)
		}
	})
}

// TestObserveRelogin: a 401 that makes a login client log in again is an attempt that is
// retried; the login itself is an attempt too.
func TestObserveRelogin(t *testing.T) {
	var mu sync.Mutex
	refused := false
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/api/users/login":
			writeJSON(w, 200, map[string]any{"data": map[string]any{"token": "tok-0123456789", "expiration_time": time.Now().Add(time.Hour).Unix(), "users": map[string]any{}}})
		case !refused:
			refused = true
			writeJSON(w, 401, map[string]any{"errors": []any{map[string]any{"title": "expired"}}})
		default:
			okHandler().ServeHTTP(w, r)
		}
	})
	var o observed
	cfg := Config{URL: "https://polarity.test", Username: "admin", Password: "pw-0123456789", Transport: handlerTransport{h}, OnAttempt: o.add, Rate: 1000, Burst: 100}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Integration(ctxT(t), "vt_1"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range o.list() {
		got = append(got, a.Method+" "+a.Path+" "+http.StatusText(a.Status)+map[bool]string{true: " retried"}[a.Retry])
	}
	want := []string{
		"POST /api/users/login OK",
		"GET /api/integrations/vt_1 Unauthorized retried",
		"POST /api/users/login OK",
		"GET /api/integrations/vt_1 OK",
	}
	if len(got) != len(want) {
		t.Fatalf("observed %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attempt %d = %q, want %q", i+1, got[i], want[i])
		}
	}
}

// TestAttemptNamesTheIntegration: a PATCH's attempts name the integration it changes (its
// path does not), so that apply's progress bar can say which one it retries; a list names
// none.
func TestAttemptNamesTheIntegration(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	var o observed
	c := memClient(t, h, func(c *Config) { c.OnAttempt = o.add })
	items := []PatchItem{{Key: "maxAge", Value: payload(`90`)}}
	if _, err := c.Patch(ctxT(t), "abuseipdb_1", items); err != nil {
		t.Fatal(err)
	}
	as := o.list()
	if len(as) != 1 || as[0].Method != http.MethodPatch || as[0].Integration != "abuseipdb_1" {
		t.Errorf("attempts %+v, want one PATCH naming abuseipdb_1", as)
	}
}
