package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// script answers requests in order from a list of statuses (then 200), recording when each
// came, on fake time inside a bubble.
type script struct {
	mu       sync.Mutex
	statuses []int
	headers  []map[string]string
	times    []time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.times)
	s.times = append(s.times, time.Now())
	status, hdr := 200, map[string]string(nil)
	if n < len(s.statuses) {
		status = s.statuses[n]
	}
	if n < len(s.headers) {
		hdr = s.headers[n]
	}
	s.mu.Unlock()
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if status == 200 {
		writeJSON(w, 200, integrationDoc("vt_1"))
		return
	}
	writeJSON(w, status, map[string]any{"errors": []any{map[string]any{"status": fmt.Sprint(status), "title": http.StatusText(status)}}})
}

func (s *script) gaps() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(s.times); i++ {
		g = append(g, s.times[i].Sub(s.times[i-1]))
	}
	return g
}

func repeat(status, n int) []int { return slices.Repeat([]int{status}, n) }

// TestRetries: 429, 502, 503 and 504 are retried with a growing, jittered backoff; other
// failures are not; the retry budget is respected.
func TestRetries(t *testing.T) {
	cases := []struct {
		name        string
		statuses    []int
		maxAttempts int // 0: the default
		attempts    int
		fails       bool
	}{
		{"503 twice then ok", repeat(503, 2), 0, 3, false},
		{"502 then ok", []int{502}, 0, 2, false},
		{"504 then ok", []int{504}, 0, 2, false},
		{"429 without retry-after then ok", []int{429}, 0, 2, false},
		{"503 forever, default budget", repeat(503, 100), 0, 1 + DefaultRetries, true},
		{"503 forever, 2 retries", repeat(503, 100), 3, 3, true},
		{"503, retries off", repeat(503, 100), 1, 1, true},
		{"400 not retried", []int{400}, 0, 1, true},
		{"403 not retried", []int{403}, 0, 1, true},
		{"404 not retried", []int{404}, 0, 1, true},
		{"409 not retried", []int{409}, 0, 1, true},
		{"422 not retried", []int{422}, 0, 1, true},
		{"500 not retried", []int{500}, 0, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{statuses: tc.statuses}
				c := memClient(t, s, func(c *Config) { c.MaxAttempts = tc.maxAttempts })
				_, err := c.Integration(t.Context(), "vt_1")
				if (err != nil) != tc.fails {
					t.Fatalf("err = %v", err)
				}
				if got := len(s.times); got != tc.attempts || c.Requests() != int64(got) {
					t.Errorf("attempts = %d (client %d), want %d", got, c.Requests(), tc.attempts)
				}
				var e *Error
				if err != nil {
					if !errors.As(err, &e) || e.HTTPStatus != tc.statuses[0] || e.Attempts != tc.attempts {
						t.Errorf("error %#v", err)
					}
					if tc.attempts > 1 && !strings.HasSuffix(err.Error(), fmt.Sprintf("(after %d attempts)", tc.attempts)) {
						t.Errorf("error %q does not count attempts", err)
					}
				}
				for i, g := range s.gaps() {
					if bound := min(backoffBase<<i, backoffCap); g <= 0 || g > bound {
						t.Errorf("wait before retry %d = %s, want in (0, %s]", i+1, g, bound)
					}
				}
			})
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	for n := 1; n < 40; n++ {
		bound := backoffCap
		if n < 20 {
			bound = min(backoffBase<<(n-1), backoffCap)
		}
		for range 100 {
			if d := backoff(n); d <= 0 || d > bound {
				t.Fatalf("backoff(%d) = %s, bound %s", n, d, bound)
			}
		}
	}
}

// TestRetryAfter honours the header in seconds and as an HTTP date, up to the longest wait
// allowed included, and ignores it when unreadable.
func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header func(now time.Time) string
		want   time.Duration // exact gap; 0 = a backoff gap
	}{
		{"429 seconds", 429, func(time.Time) string { return "7" }, 7 * time.Second},
		{"503 seconds", 503, func(time.Time) string { return "2" }, 2 * time.Second},
		{"429 http date", 429, func(now time.Time) string { return now.Add(10 * time.Second).UTC().Format(http.TimeFormat) }, 10 * time.Second},
		{"max wait", 429, func(time.Time) string { return "600" }, DefaultMaxWait},
		{"date at max wait", 503, func(now time.Time) string { return now.Add(DefaultMaxWait).UTC().Format(http.TimeFormat) }, DefaultMaxWait},
		{"past date", 429, func(now time.Time) string { return now.Add(-time.Hour).UTC().Format(http.TimeFormat) }, 0},
		{"garbage", 429, func(time.Time) string { return "soon" }, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{statuses: []int{tc.status}, headers: []map[string]string{{"Retry-After": tc.header(time.Now())}}}
				c := memClient(t, s, nil)
				if _, err := c.Integration(t.Context(), "vt_1"); err != nil {
					t.Fatal(err)
				}
				g := s.gaps()
				if len(g) != 1 {
					t.Fatalf("gaps %v", g)
				}
				if tc.want != 0 && g[0] != tc.want {
					t.Errorf("waited %s, want %s", g[0], tc.want)
				}
				if tc.want == 0 && (g[0] <= 0 || g[0] > backoffBase) {
					t.Errorf("waited %s, want a first backoff", g[0])
				}
			})
		})
	}
}

// TestRetryAfterPausesEveryone: a Retry-After answered to one worker holds back the requests
// other workers start afterwards, not only the retry.
func TestRetryAfterPausesEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var first time.Time
		var times []time.Time
		served := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if first.IsZero() {
				first = time.Now()
				close(served)
				w.Header().Set("Retry-After", "10")
				writeJSON(w, 429, map[string]any{"errors": []any{map[string]any{"title": "slow down"}}})
				return
			}
			times = append(times, time.Now())
			okHandler().ServeHTTP(w, r)
		})
		c := memClient(t, h, nil)
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := c.Integration(t.Context(), "a"); err != nil {
				t.Error(err)
			}
		})
		<-served
		synctest.Wait() // the first worker has read the 429 and sleeps through the pause
		for i := range 5 {
			wg.Go(func() {
				if _, err := c.Integration(t.Context(), fmt.Sprint("b", i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(times) != 6 {
			t.Fatalf("%d later requests, want 6", len(times))
		}
		for _, tm := range times {
			if d := tm.Sub(first); d < 10*time.Second {
				t.Errorf("a request went %s after the 429, inside the 10s pause", d)
			}
		}
	})
}

// TestRateNeverExceeded: over any window, requests never exceed burst + rate × window, with
// many workers, GETs and PATCHes alike, and retries counted.
func TestRateNeverExceeded(t *testing.T) {
	cases := []struct {
		rate  float64
		burst int
	}{{5, 1}, {10, 3}, {0.5, 1}}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("rate %g burst %d", tc.rate, tc.burst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var times []time.Time
				n := 0
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					times = append(times, time.Now())
					n++
					fail := n%7 == 0
					mu.Unlock()
					if fail {
						writeJSON(w, 503, map[string]any{})
						return
					}
					if r.Method == http.MethodPatch {
						w.WriteHeader(204)
						return
					}
					okHandler().ServeHTTP(w, r)
				})
				c := memClient(t, h, func(c *Config) { c.Rate, c.Burst = tc.rate, tc.burst })
				var wg sync.WaitGroup
				for w := range 8 {
					wg.Go(func() {
						for i := range 5 {
							var err error
							if i%2 == 0 {
								_, err = c.Integration(t.Context(), "x")
							} else {
								_, err = c.Patch(t.Context(), fmt.Sprint("x", w), []PatchItem{{Key: "k", Permission: &lockHide}})
							}
							if err != nil {
								t.Error(err)
							}
						}
					})
				}
				wg.Wait()
				if len(times) < 40 {
					t.Fatalf("only %d requests", len(times))
				}
				slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
				for i := range times {
					for j := i; j < len(times); j++ {
						// A microsecond of slack: x/time/rate truncates each delay to the
						// nanosecond, so 40 tokens at 5/s may come a few nanoseconds short of 8s.
						window := (times[j].Sub(times[i]) + time.Microsecond).Seconds()
						if allowed := float64(tc.burst) + tc.rate*window; float64(j-i+1) > allowed {
							t.Fatalf("%d requests within %.3fs: more than %.3f allowed", j-i+1, window, allowed)
						}
					}
				}
			})
		})
	}
}

// TestTimeouts: an attempt that outlives the timeout is retried; the wait for the limiter does
// not count against the timeout; a cancelled parent context is not retried.
func TestTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			if calls == 1 {
				<-r.Context().Done() // hang until the attempt's timeout
				return nil, r.Context().Err()
			}
			return handlerTransport{okHandler()}.RoundTrip(r)
		})
		c := newKeyClient(t, "https://polarity.test", func(c *Config) { c.Transport = rt; c.Timeout = 2 * time.Second })
		start := time.Now()
		if _, err := c.Integration(t.Context(), "vt_1"); err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("%d calls, want 2", calls)
		}
		if d := time.Since(start); d < 2*time.Second || d > 2*time.Second+backoffBase {
			t.Errorf("took %s", d)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		c := newKeyClient(t, "https://polarity.test", func(c *Config) { c.Transport = rt; c.Timeout = time.Second; c.MaxAttempts = 1 + 2 })
		_, err := c.Integration(t.Context(), "vt_1")
		if !errors.Is(err, ErrConnection) || !strings.Contains(err.Error(), "timed out after 1s") || c.Requests() != 3 {
			t.Errorf("err = %v after %d requests", err, c.Requests())
		}
	})

	synctest.Test(t, func(t *testing.T) {
		// One token per 10s, a 1s timeout, a server taking 500ms: the second request waits 10s
		// for its token and must still have its whole second.
		slow := rtFunc(func(r *http.Request) (*http.Response, error) {
			select {
			case <-time.After(500 * time.Millisecond):
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
			return handlerTransport{okHandler()}.RoundTrip(r)
		})
		c := newKeyClient(t, "https://polarity.test", func(c *Config) {
			c.Transport, c.Timeout, c.Rate, c.Burst = slow, time.Second, 0.1, 1
		})
		for range 2 {
			if _, err := c.Integration(t.Context(), "vt_1"); err != nil {
				t.Fatal(err)
			}
		}
		if c.Requests() != 2 {
			t.Errorf("%d requests, want 2 (no timeout)", c.Requests())
		}
	})

	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			cancel()
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		c := newKeyClient(t, "https://polarity.test", func(c *Config) { c.Transport = rt })
		_, err := c.Integration(ctx, "vt_1")
		if !errors.Is(err, context.Canceled) || c.Requests() != 1 {
			t.Errorf("err = %v after %d requests", err, c.Requests())
		}
	})

	synctest.Test(t, func(t *testing.T) {
		// Cancelled while paused by a Retry-After: returns at once with the context's error.
		s := &script{statuses: []int{429}, headers: []map[string]string{{"Retry-After": "100"}}}
		c := memClient(t, s, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Integration(ctx, "vt_1")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("err = %v after %s", err, time.Since(start))
		}
	})
}

// TestNetworkErrors: a refused connection is retried, then reported as ErrConnection.
func TestNetworkErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			return nil, errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
		})
		c := newKeyClient(t, "https://polarity.test", func(c *Config) { c.Transport = rt; c.MaxAttempts = 1 + 3 })
		_, err := c.Integration(t.Context(), "vt_1")
		if !errors.Is(err, ErrConnection) || c.Requests() != 4 {
			t.Errorf("err = %v after %d requests", err, c.Requests())
		}
	})

	// A real closed port, without retries.
	ts := newTestServer(t, okHandler())
	url := ts.URL
	ts.Close()
	c := newKeyClient(t, url, func(c *Config) { c.MaxAttempts = 1 })
	_, err := c.Integration(ctxT(t), "vt_1")
	if !errors.Is(err, ErrConnection) || c.Requests() != 1 {
		t.Errorf("err = %v after %d requests", err, c.Requests())
	}
}
