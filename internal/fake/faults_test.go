package fake

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/pace"
)

func TestBucket(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var b bucket
	steps := []struct {
		at   time.Duration
		ok   bool
		wait time.Duration
	}{
		{0, true, 0}, {0, true, 0}, // burst 2
		{0, false, 500 * time.Millisecond},
		{250 * time.Millisecond, false, 250 * time.Millisecond},
		{500 * time.Millisecond, true, 0},
		{500 * time.Millisecond, false, 500 * time.Millisecond},
		{10 * time.Second, true, 0}, {10 * time.Second, true, 0}, // refilled, but only to the burst
		{10 * time.Second, false, 500 * time.Millisecond},
	}
	for i, s := range steps {
		ok, wait := b.take(t0.Add(s.at), 2, 2)
		if ok != s.ok || wait != s.wait {
			t.Errorf("step %d at %v: %v %v, want %v %v", i, s.at, ok, wait, s.ok, s.wait)
		}
	}
	for _, tt := range []struct {
		f    Faults
		want float64
	}{{Faults{RateLimit: 2}, 2}, {Faults{RateLimit: 2.5}, 3}, {Faults{RateLimit: 0.1}, 1}, {Faults{RateLimit: 5, RateBurst: 1}, 1}} {
		if got := tt.f.burst(); got != tt.want {
			t.Errorf("burst of %+v = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newTiny(t, Config{Faults: Faults{Latency: 50 * time.Millisecond}})
		start := time.Now()
		r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
		if elapsed := time.Since(start); r.status != 200 || elapsed != 50*time.Millisecond {
			t.Errorf("status %d after %v, want 200 after 50ms", r.status, elapsed)
		}
		start = time.Now()
		call(t, srv, "GET", "/_fake/state", "", "")
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("control endpoint delayed by %v", elapsed)
		}

		srv.SetFaults(Faults{Latency: 50 * time.Millisecond, On: FaultsOnPatch})
		start = time.Now()
		call(t, srv, "GET", "/api/integrations", tinyKey, "")
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("GET delayed by %v with faults on patch", elapsed)
		}
		start = time.Now()
		r = call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-url", `{"value":"x"}`}))
		if elapsed := time.Since(start); r.status != 200 || elapsed != 50*time.Millisecond {
			t.Errorf("PATCH: %d after %v", r.status, elapsed)
		}
	})
}

func TestRateLimit(t *testing.T) {
	clk := newClock()
	srv := newTiny(t, Config{Now: clk.Now, Faults: Faults{RateLimit: 2}})
	statuses := func(n int) (out []int, retry []string) {
		for range n {
			r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
			out = append(out, r.status)
			retry = append(retry, r.header.Get("Retry-After"))
		}
		return
	}
	got, retry := statuses(3)
	if !equalInts(got, 200, 200, 429) || retry[2] != "1" {
		t.Errorf("%v %q", got, retry)
	}
	clk.Advance(500 * time.Millisecond)
	if got, _ := statuses(2); !equalInts(got, 200, 429) {
		t.Errorf("after 500ms: %v", got)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Fault != FaultRateLimit || last.Status != 429 {
		t.Errorf("recorded %+v", last)
	}
	r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
	if e := errorsOf(t, r); e[0][0] != "429" {
		t.Errorf("429 body %v", e)
	}

	// Slow limits give longer waits, rounded up to whole seconds.
	srv.SetFaults(Faults{RateLimit: 0.1})
	statuses(1)
	if _, retry := statuses(1); retry[0] != "10" {
		t.Errorf("Retry-After %q, want 10", retry[0])
	}
	srv.SetFaults(Faults{RateLimit: 0.1, RetryAfterDate: true})
	statuses(1)
	if _, retry := statuses(1); retry[0] != clk.Now().Add(10*time.Second).Format(http.TimeFormat) {
		t.Errorf("Retry-After %q", retry[0])
	}

	// Faults on PATCH only: reads pass freely, PATCHes share the bucket.
	srv.SetFaults(Faults{RateLimit: 1, On: FaultsOnPatch})
	statuses(5)
	if got, _ := statuses(3); !equalInts(got, 200, 200, 200) {
		t.Errorf("GETs limited with faults on patch: %v", got)
	}
	body := patchBody([2]string{alpha + "-url", `{"value":"x"}`})
	a := call(t, srv, "PATCH", "/api/integration-options", tinyKey, body)
	b := call(t, srv, "PATCH", "/api/integration-options", tinyKey, body)
	if a.status != 200 || b.status != 429 {
		t.Errorf("PATCHes: %d %d", a.status, b.status)
	}
}

func equalInts(got []int, want ...int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// failPattern returns which of n GETs failed, and with what.
func failPattern(t *testing.T, f Faults, n int) string {
	srv := newTiny(t, Config{Faults: f})
	var b strings.Builder
	for range n {
		r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
		switch r.status {
		case 200:
			b.WriteByte('.')
		case f.FailStatus:
			b.WriteByte('x')
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	return b.String()
}

func TestFailRate(t *testing.T) {
	f := Faults{Seed: 7, FailRate: 0.3, FailStatus: 503}
	a, b := failPattern(t, f, 300), failPattern(t, f, 300)
	if a != b {
		t.Errorf("same seed, different failures:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "x"); n < 50 || n > 130 {
		t.Errorf("%d of 300 failed at rate 0.3", n)
	}
	f.Seed = 8
	if failPattern(t, f, 300) == a {
		t.Error("different seeds, same failures")
	}
	if p := failPattern(t, Faults{FailRate: 1, FailStatus: 502}, 5); p != "xxxxx" {
		t.Errorf("fail rate 1 with 502: %s", p)
	}
	if p := failPattern(t, Faults{FailRate: 0, FailStatus: 503}, 5); p != "....." {
		t.Errorf("fail rate 0: %s", p)
	}

	srv := newTiny(t, Config{Faults: Faults{FailRate: 1, On: FaultsOnPatch}})
	if r := call(t, srv, "GET", "/api/integrations", tinyKey, ""); r.status != 200 {
		t.Errorf("GET with faults on patch: %d", r.status)
	}
	r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-url", `{"value":"x"}`}))
	if e := errorsOf(t, r); r.status != 503 || e[0][0] != "503" {
		t.Errorf("PATCH: %d %v", r.status, e)
	}
	if optionValue(t, srv, alpha, "url") == `"x"` {
		t.Error("a failed PATCH changed the state")
	}
	srv.SetFaults(Faults{FailRate: 1})
	for _, target := range []string{"/_fake/state", "/_fake/requests", "/_fake/stats"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 200 {
			t.Errorf("GET %s with fail rate 1: %d", target, rec.Code)
		}
	}
}

func TestDrop(t *testing.T) {
	srv := newTiny(t, Config{Faults: Faults{DropRate: 1}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &http.Client{Timeout: 10 * time.Second}
	if r, err := send(t, c, "GET", ts.URL+"/api/integrations", tinyKey, ""); err == nil {
		t.Fatalf("dropped request answered %d", r.status)
	}
	// The client sees the dropped connection before the handler has finished recording it:
	// wait (bounded) for the record instead of racing it.
	var reqs []Request
	for range 500 {
		if reqs = srv.Requests(); len(reqs) > 0 && reqs[0].Done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(reqs) == 0 || reqs[0].Fault != FaultDrop || reqs[0].Status != 0 || !reqs[0].Done {
		t.Errorf("recorded %+v", reqs)
	}
	// Control endpoints still answer.
	if r, err := send(t, c, "GET", ts.URL+"/_fake/stats", "", ""); err != nil || r.status != 200 {
		t.Errorf("stats: %v", err)
	}

	// Without a hijackable connection the handler aborts instead.
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/integrations", nil))
	t.Error("no abort")
}

func TestHang(t *testing.T) {
	srv := newTiny(t, Config{Faults: Faults{HangRate: 1}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &http.Client{Timeout: 10 * time.Second}

	// The client gives up: the handler returns and the request is recorded unanswered.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/integrations", nil)
		req.Header.Set("Authorization", "Bearer "+tinyKey)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, "the request to arrive", func() bool { return len(srv.Requests()) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
	waitFor(t, "the handler to return", func() bool { return srv.Requests()[0].Done })
	if r := srv.Requests()[0]; r.Fault != FaultHang || r.Status != 0 {
		t.Errorf("recorded %+v", r)
	}

	// Close releases hanging requests with a 503.
	type result struct {
		r   reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := send(t, c, "GET", ts.URL+"/api/integrations", tinyKey, "")
		done <- result{r, err}
	}()
	waitFor(t, "the second request to arrive", func() bool { return len(srv.Requests()) == 2 })
	srv.Close()
	if res := <-done; res.err != nil || res.r.status != 503 {
		t.Errorf("after Close: %v %d", res.err, res.r.status)
	}
	// And later ones are not held at all.
	if r, err := send(t, c, "GET", ts.URL+"/api/integrations", tinyKey, ""); err != nil || r.status != 503 {
		t.Errorf("after Close: %v %d", err, r.status)
	}
}

func TestHoldPatchesAndInFlight(t *testing.T) {
	srv := newTiny(t, Config{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &http.Client{Timeout: 10 * time.Second}

	release := srv.HoldPatches()
	keys := []string{"url", "apiKey", "enabled"}
	var wg sync.WaitGroup
	statuses := make([]int, len(keys))
	for i, k := range keys {
		wg.Go(func() {
			value := `"v"`
			if k == "enabled" {
				value = "false"
			}
			r, err := send(t, c, "PATCH", ts.URL+"/api/integration-options", tinyKey, patchBody([2]string{alpha + "-" + k, `{"value":` + value + `}`}))
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.status
		})
	}
	waitFor(t, "three PATCHes in flight", func() bool { return srv.InFlight() == 3 })
	// Reads are not held and do not count.
	if r, err := send(t, c, "GET", ts.URL+"/api/integrations", tinyKey, ""); err != nil || r.status != 200 {
		t.Errorf("GET while held: %v", err)
	}
	if srv.MaxInFlight() != 3 || optionValue(t, srv, alpha, "enabled") != "true" {
		t.Errorf("max %d, enabled %s while held", srv.MaxInFlight(), optionValue(t, srv, alpha, "enabled"))
	}
	release()
	release() // harmless
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("PATCH %s: %d", keys[i], s)
		}
	}
	if srv.InFlight() != 0 || srv.MaxInFlight() != 3 || optionValue(t, srv, alpha, "enabled") != "false" {
		t.Errorf("in flight %d, max %d", srv.InFlight(), srv.MaxInFlight())
	}
	srv.ResetRequests()
	if srv.MaxInFlight() != 0 {
		t.Errorf("max after reset %d", srv.MaxInFlight())
	}
	// Released: PATCHes pass straight through.
	if r, err := send(t, c, "PATCH", ts.URL+"/api/integration-options", tinyKey, patchBody([2]string{alpha + "-url", `{"value":"w"}`})); err != nil || r.status != 200 {
		t.Errorf("after release: %v", err)
	}
}

func TestLog(t *testing.T) {
	var buf strings.Builder
	srv := newTiny(t, Config{Log: &buf})
	call(t, srv, "GET", "/api/integrations?page[size]=1", tinyKey, "")
	if got := buf.String(); !strings.Contains(got, "GET /api/integrations?page[size]=1 200 auth=api-key fault=-") {
		t.Errorf("log %q", got)
	}
}

// TestRateLimitHeaders: with the headers on, every metered answer states the bucket's rate
// as a RateLimit-Policy and the whole tokens left as RateLimit (with the wait when none is);
// the client's own parser reads the policy back as the rate. Off, nothing is sent.
func TestRateLimitHeaders(t *testing.T) {
	clk := newClock()
	srv := newTiny(t, Config{Now: clk.Now, Faults: Faults{RateLimit: 2, RateLimitHeaders: true}})
	var got [][2]string
	for range 3 {
		r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
		got = append(got, [2]string{r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit")})
	}
	want := [][2]string{
		{`"polarity-fake";q=2;w=1`, `"polarity-fake";r=1`},
		{`"polarity-fake";q=2;w=1`, `"polarity-fake";r=0;t=1`},
		{`"polarity-fake";q=2;w=1`, `"polarity-fake";r=0;t=1`}, // the 429
	}
	if !slices.Equal(got, want) {
		t.Errorf("headers %q, want %q", got, want)
	}
	q := pace.ParseQuota(http.Header{"Ratelimit-Policy": {got[0][0]}, "Ratelimit": {got[0][1]}}.Values, clk.Now())
	if q.PolicyRate != 2 || q.Remaining != 1 {
		t.Errorf("parsed back as %+v", q)
	}

	for _, tc := range []struct {
		rate   float64
		policy string
	}{{2.5, `"polarity-fake";q=5;w=2`}, {0.1, `"polarity-fake";q=1;w=10`}, {60, `"polarity-fake";q=60;w=1`}} {
		srv.SetFaults(Faults{RateLimit: tc.rate, RateLimitHeaders: true})
		r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
		if p := r.header.Get("RateLimit-Policy"); p != tc.policy {
			t.Errorf("rate %g: policy %q, want %q", tc.rate, p, tc.policy)
		}
	}

	srv.SetFaults(Faults{RateLimit: 2})
	r := call(t, srv, "GET", "/api/integrations", tinyKey, "")
	if r.header.Get("RateLimit") != "" || r.header.Get("RateLimit-Policy") != "" {
		t.Errorf("headers sent while off: %v", r.header)
	}
	srv.SetFaults(Faults{RateLimitHeaders: true})
	r = call(t, srv, "GET", "/api/integrations", tinyKey, "")
	if r.header.Get("RateLimit") != "" {
		t.Errorf("headers sent without a rate limit: %v", r.header)
	}
}
