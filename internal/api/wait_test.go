package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// always answers every request with one status and header, counting them.
type always struct {
	status int
	header map[string]string
	n      atomic.Int64
}

func (a *always) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.n.Add(1)
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	writeJSON(w, a.status, map[string]any{"errors": []any{map[string]any{"title": http.StatusText(a.status)}}})
}

// TestMaxWait: a Retry-After longer than MaxWait is not waited for: the request fails at
// once, saying what the server asked, and so does a request that would have to wait for that
// pause, without being sent. A pause of exactly MaxWait is waited for.
func TestMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &always{status: 429, header: map[string]string{"Retry-After": "86400"}}
		c := memClient(t, srv, nil)
		start := time.Now()
		_, err := c.Patch(t.Context(), "vt_1", []PatchItem{{Key: "k", Permission: &lockHide}})
		if !errors.Is(err, ErrWaitTooLong) || time.Since(start) != 0 {
			t.Fatalf("err = %v after %s, want ErrWaitTooLong at once", err, time.Since(start))
		}
		const want = "patch integration vt_1: 429 too many requests: server asked to wait 24h0m0s, more than --max-wait 10m0s: Too Many Requests"
		if err.Error() != want {
			t.Errorf("error %q\nwant  %q", err, want)
		}
		if srv.n.Load() != 1 {
			t.Errorf("%d requests, want 1", srv.n.Load())
		}

		// Another worker's request: the pause is still on, and longer than MaxWait.
		time.Sleep(time.Hour)
		out, err := c.Patch(t.Context(), "vt_2", []PatchItem{{Key: "k", Permission: &lockHide}})
		if !errors.Is(err, ErrWaitTooLong) || out.Attempts != 0 || srv.n.Load() != 1 {
			t.Fatalf("second call: err = %v, %d attempts, %d requests", err, out.Attempts, srv.n.Load())
		}
		if !strings.Contains(err.Error(), "server asked to wait 23h0m0s, more than --max-wait 10m0s") {
			t.Errorf("second call: %q does not say what is left of the pause", err)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		// --max-wait 1m: a 61 s pause fails, a 60 s one is waited for.
		s := &script{statuses: []int{503, 503}, headers: []map[string]string{{"Retry-After": "60"}, {"Retry-After": "61"}}}
		c := memClient(t, s, func(c *Config) { c.MaxWait = time.Minute })
		_, err := c.Integration(t.Context(), "vt_1")
		if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "server asked to wait 1m1s, more than --max-wait 1m0s") {
			t.Fatalf("err = %v", err)
		}
		if g := s.gaps(); len(g) != 1 || g[0] != time.Minute {
			t.Errorf("gaps %v, want one of 1m", g)
		}
	})
}

// TestRetryBudget: a server that refuses everything drains the retry budget shared by every
// call: once it is spent, calls fail at their first refusal instead of retrying, so the
// number of requests stays near the budget's hundred retries, not calls × retries. Successes
// fill it again.
func TestRetryBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &always{status: 503}
		c := memClient(t, srv, func(c *Config) { c.MaxAttempts = 1 + 10 })
		var budgetErrs atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 50 {
					_, err := c.Integration(t.Context(), "vt_1")
					if err == nil {
						t.Error("a refused call succeeded")
						return
					}
					if errors.Is(err, ErrRetryBudget) {
						budgetErrs.Add(1)
					}
				}
			})
		}
		wg.Wait()
		// 200 calls; 500 tokens at 5 a retry: 100 retries in all.
		if n := srv.n.Load(); n != 200+DefaultRetryBudget/retryCost {
			t.Errorf("%d requests for 200 calls, want %d", n, 200+DefaultRetryBudget/retryCost)
		}
		if budgetErrs.Load() == 0 {
			t.Error("no call failed with ErrRetryBudget")
		}
		_, err := c.Integration(t.Context(), "vt_1")
		if !strings.Contains(err.Error(), "not retried: retry budget spent: the server refused too many requests of this run") {
			t.Errorf("error %q does not say the budget is spent", err)
		}

		// Successes refill it: 5 answers at the first attempt pay for one retry.
		ok := &script{}
		c2 := memClient(t, ok, nil)
		c2.budget = c.budget
		for range 5 {
			if _, err := c2.Integration(t.Context(), "vt_1"); err != nil {
				t.Fatal(err)
			}
		}
		before := srv.n.Load()
		if _, err := c.Integration(t.Context(), "vt_1"); err == nil || srv.n.Load()-before != 2 {
			t.Errorf("after 5 successes: %d requests, want one retry (2)", srv.n.Load()-before)
		}
	})
}

// TestRetryBudgetPays for waiting: a server that answers every request "retry in 10 minutes"
// gets one such pause, then the run's calls fail instead of waiting another 10 minutes each.
func TestRetryBudgetPaysForWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &always{status: 429, header: map[string]string{"Retry-After": "600"}}
		c := memClient(t, srv, nil)
		start := time.Now()
		var wg sync.WaitGroup
		var errs [4]error
		for i := range errs {
			wg.Go(func() { _, errs[i] = c.Integration(t.Context(), "vt_1") })
		}
		wg.Wait()
		for _, err := range errs {
			if !errors.Is(err, ErrRetryBudget) {
				t.Errorf("err = %v, want ErrRetryBudget", err)
			}
		}
		if d := time.Since(start); d > 11*time.Minute {
			t.Errorf("4 calls took %s: more than one pause", d)
		}
		t.Logf("4 calls against a server asking for 10 minutes each time: %d requests in %s", srv.n.Load(), time.Since(start))
	})
}

// TestKeepInFlight: under KeepInFlight, ending the parent context cuts the waits at once (the
// pause of a Retry-After, the backoff, the rate limiter) but never a request on the wire.
func TestKeepInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A request in flight when the context ends is answered and its answer used.
		release := make(chan struct{})
		arrived := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-release
			w.WriteHeader(204)
		})
		c := memClient(t, h, nil)
		parent, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := c.Patch(KeepInFlight(parent), "vt_1", []PatchItem{{Key: "k", Permission: &lockHide}})
			done <- err
		}()
		<-arrived
		cancel()
		synctest.Wait()
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("the request in flight was cut off: %v", err)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		// Paused by a Retry-After: the end of the parent ends the pause at once; the call
		// fails after its one attempt, saying it was interrupted.
		srv := &always{status: 429, header: map[string]string{"Retry-After": "300"}}
		c := memClient(t, srv, nil)
		parent, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		var out Outcome
		go func() {
			var err error
			out, err = c.Patch(KeepInFlight(parent), "vt_1", []PatchItem{{Key: "k", Permission: &lockHide}})
			done <- err
		}()
		synctest.Wait() // answered 429, sleeping through the pause
		start := time.Now()
		cancel()
		err := <-done
		if time.Since(start) != 0 || !errors.Is(err, context.Canceled) || out.Attempts != 1 || out.HTTPStatus != 429 {
			t.Fatalf("after %s: err = %v, outcome %+v", time.Since(start), err, out)
		}
		if !strings.Contains(err.Error(), "429 too many requests: interrupted while waiting to retry") {
			t.Errorf("error %q", err)
		}
		// A call that had not sent anything yet fails at once with no attempt.
		out, err = c.Patch(KeepInFlight(parent), "vt_2", []PatchItem{{Key: "k", Permission: &lockHide}})
		if !errors.Is(err, context.Canceled) || out.Attempts != 0 || srv.n.Load() != 1 {
			t.Fatalf("call after the end: err = %v, outcome %+v, %d requests", err, out, srv.n.Load())
		}
	})

	synctest.Test(t, func(t *testing.T) {
		// The backoff after a 503 ends at once too.
		srv := &always{status: 503}
		c := memClient(t, srv, func(c *Config) { c.MaxAttempts = 1 + 20 })
		parent, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := c.Integration(KeepInFlight(parent), "vt_1")
			done <- err
		}()
		time.Sleep(2 * time.Minute) // deep in the backoff
		synctest.Wait()
		start := time.Now()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) || time.Since(start) != 0 {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
	})
}
