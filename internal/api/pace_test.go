package api

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// autoRun is a polarity-fake in memory and a client pacing itself against it with --rate
// auto, inside a synctest bubble: the fake's latency, token bucket and Retry-After run on
// the bubble's clock, so whole minutes pass in an instant and the timing is exact.
type autoRun struct {
	srv *fake.Server
	c   *Client
	ids []string
}

func newAutoRun(t *testing.T, faults fake.Faults, auto AutoPace) *autoRun {
	t.Helper()
	fix := fake.Synthetic(40, 1)
	srv, err := fake.New(fix, fake.Config{APIKeys: []fake.APIKey{{Key: testKey}}, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c := memClient(t, srv, func(c *Config) { c.Auto = &auto })
	r := &autoRun{srv: srv, c: c}
	for _, in := range fix.Integrations {
		r.ids = append(r.ids, in.ID)
	}
	return r
}

// work runs n workers reading integrations until d has passed, as apply's workers PATCH:
// each waits its turn at the shared limiter.
func (r *autoRun) work(t *testing.T, n int, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += n {
				_, _ = r.c.Integration(ctx, r.ids[i%len(r.ids)])
			}
		})
	}
	wg.Wait()
}

// arrivals are the times the server received requests, and which were refused (429).
func (r *autoRun) arrivals() (times []time.Time, refused []time.Time) {
	for _, q := range r.srv.Requests() {
		times = append(times, q.Time)
		if q.Status == 429 {
			refused = append(refused, q.Time)
		}
	}
	return times, refused
}

// inWindow counts the times in [from, to).
func inWindow(times []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range times {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// TestAutoNeverExceedsMaxRate: against a server that takes everything, --rate auto ramps up
// to --max-rate within seconds and never sends faster, in any second of the run; nor when the
// server's RateLimit-Policy allows far more.
func TestAutoNeverExceedsMaxRate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults fake.Faults
	}{
		{"no limit", fake.Faults{Latency: 20 * time.Millisecond}},
		{"policy above max", fake.Faults{Latency: 20 * time.Millisecond, RateLimit: 200, RateLimitHeaders: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newAutoRun(t, tc.faults, AutoPace{Max: 12, Concurrency: 8})
				start := time.Now()
				r.work(t, 8, 15*time.Second)
				times, refused := r.arrivals()
				if len(refused) > 0 {
					t.Errorf("%d refusals", len(refused))
				}
				// With burst 1, any window of one second holds at most rate+1 requests.
				for _, at := range times {
					if n := inWindow(times, at, at.Add(time.Second)); n > 13 {
						t.Fatalf("%d requests in the second from %s, --max-rate 12", n, at.Sub(start))
					}
				}
				last := inWindow(times, start.Add(10*time.Second), start.Add(15*time.Second))
				if last < 58 {
					t.Errorf("%d requests in the last 5 s, want 60 (--max-rate 12)", last)
				}
				// The last attempts were cut short by the end of the run: not counted.
				if p := r.c.Pace(); !p.Auto || p.Rate != 12 || p.Attempts > len(times) || p.Attempts < len(times)-8 {
					t.Errorf("pace %+v, %d received", p, len(times))
				}
			})
		})
	}
}

// TestAutoRetryAfterPauses: the first 429 of a token bucket the client was not told about
// pauses every request for its Retry-After, and the rate after the pause is the rate the
// server accepted, below what was being sent; the run then goes on with few refusals.
func TestAutoRetryAfterPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAutoRun(t, fake.Faults{Latency: 20 * time.Millisecond, RateLimit: 6}, AutoPace{Max: 100, Concurrency: 8})
		start := time.Now()
		r.work(t, 8, 25*time.Second)
		times, refused := r.arrivals()
		if len(refused) == 0 {
			t.Fatal("the server never refused: no limit was met")
		}
		first := refused[0]
		// The fake asks for a whole second; the refusals of that instant come with it.
		if n := inWindow(times, first.Add(time.Nanosecond), first.Add(time.Second)); n != 0 {
			t.Errorf("%d requests during the Retry-After pause after %s", n, first.Sub(start))
		}
		if len(refused) > len(times)*3/100 {
			t.Errorf("%d of %d requests refused, want at most 3%%", len(refused), len(times))
		}
		p := r.c.Pace()
		if p.Pushbacks != len(refused) || p.Pauses < 1 || !p.Learned.Limit {
			t.Errorf("pace %+v; %d refused", p, len(refused))
		}
		if p.Learned.Rate < 5.7 || p.Learned.Rate > 6.3 {
			t.Errorf("learned %.2f/s, want the limit 6/s", p.Learned.Rate)
		}
		// Held near what the server accepted: from 5 s on, at least 95% of the limit.
		from, to := start.Add(5*time.Second), start.Add(25*time.Second)
		if n := inWindow(times, from, to) - inWindow(refused, from, to); n < 114 {
			t.Errorf("%d requests accepted in the last 20 s, want at least 114 of the limit's 120", n)
		}
	})
}

// TestAutoRecovers: once the server stops pushing back, the rate climbs back up to --max-rate
// (probing, gently and then faster); and a learned limit starts the next run just below it,
// with at most 2% refused.
func TestAutoRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAutoRun(t, fake.Faults{Latency: 20 * time.Millisecond, RateLimit: 4}, AutoPace{Max: 12, Concurrency: 8})
		r.work(t, 8, 10*time.Second)
		if p := r.c.Pace(); p.Pushbacks == 0 || p.Learned.Rate > 4.4 {
			t.Fatalf("under the limit of 4/s: pace %+v", p)
		}
		r.srv.SetFaults(fake.Faults{Latency: 20 * time.Millisecond})
		lifted := time.Now()
		r.work(t, 8, 40*time.Second)
		times, _ := r.arrivals()
		end := lifted.Add(40 * time.Second)
		if n := inWindow(times, end.Add(-5*time.Second), end); n < 54 {
			t.Errorf("%d requests in the last 5 s, want at least 54 (--max-rate 12)", n)
		}
		if p := r.c.Pace(); p.Rate < 11.9 {
			t.Errorf("rate %g after 40 s without pushback, want --max-rate 12", p.Rate)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		r := newAutoRun(t, fake.Faults{Latency: 20 * time.Millisecond, RateLimit: 10}, AutoPace{Max: 30, Start: 10, StartIsLimit: true, Concurrency: 8})
		start := time.Now()
		r.work(t, 8, 20*time.Second)
		times, refused := r.arrivals()
		// The probe finds the limit again, later: a refusal or two.
		if len(refused) > len(times)*2/100 {
			t.Errorf("from the learned limit: %d of %d refused, want at most 2%%", len(refused), len(times))
		}
		if n := inWindow(times, start, start.Add(time.Second)); n > 11 {
			t.Errorf("%d requests in the first second from a learned 10/s", n)
		}
		if n := len(times); n < 190 {
			t.Errorf("%d requests in 20 s from a learned 10/s, want about 195", n)
		}
	})
}

// TestAutoRateLimitHeaders: a server that says its policy is taken at its word from the
// first answer: no refusal at all, and the rate just under the policy.
func TestAutoRateLimitHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAutoRun(t, fake.Faults{Latency: 20 * time.Millisecond, RateLimit: 15, RateLimitHeaders: true}, AutoPace{Max: 50, Concurrency: 8})
		start := time.Now()
		r.work(t, 8, 20*time.Second)
		times, refused := r.arrivals()
		if len(refused) != 0 {
			t.Errorf("%d refused although the server said its policy", len(refused))
		}
		if n := inWindow(times, start.Add(time.Second), start.Add(20*time.Second)); n < 270 {
			t.Errorf("%d requests in 19 s, want about 280 (the policy's 15/s)", n)
		}
		if p := r.c.Pace(); !p.Learned.Limit || p.Learned.Rate != 15 || p.Rate > 15 {
			t.Errorf("pace %+v", p)
		}
	})
}

// TestAutoConcurrencyAdvice: when the server's latency rises well above the run's baseline,
// the client advises fewer requests in flight, before any refusal; when it is back, the
// advice climbs back to --concurrency.
func TestAutoConcurrencyAdvice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newAutoRun(t, fake.Faults{Latency: 20 * time.Millisecond}, AutoPace{Max: 10, Concurrency: 8})
		r.work(t, 8, 5*time.Second)
		if n := r.c.ConcurrencyLimit(); n != 8 {
			t.Fatalf("steady latency: advice %d, want 8", n)
		}
		r.srv.SetFaults(fake.Faults{Latency: 400 * time.Millisecond})
		r.work(t, 8, 5*time.Second)
		slow := r.c.ConcurrencyLimit()
		if slow >= 8 {
			t.Errorf("latency 20× the baseline: advice %d, want fewer than 8", slow)
		}
		r.srv.SetFaults(fake.Faults{Latency: 20 * time.Millisecond})
		r.work(t, 8, 15*time.Second)
		if n := r.c.ConcurrencyLimit(); n != 8 {
			t.Errorf("latency back for 15 s: advice %d, want 8", n)
		}
		if p := r.c.Pace(); p.Pushbacks != 0 {
			t.Errorf("%d pushbacks", p.Pushbacks)
		}
	})
	// A fixed rate gives no advice.
	c := newKeyClient(t, "https://polarity.test", nil)
	if n := c.ConcurrencyLimit(); n != 0 {
		t.Errorf("fixed rate: advice %d", n)
	}
}

// TestRateBound: a fixed rate that held the requests back while the server took everything
// says so; not when the server pushed back, nor when the workers were the bound.
func TestRateBound(t *testing.T) {
	cases := []struct {
		name    string
		rate    float64
		workers int
		faults  fake.Faults
		want    bool
	}{
		{"rate-bound", 5, 4, fake.Faults{Latency: 20 * time.Millisecond}, true},
		{"workers-bound", 1000, 1, fake.Faults{Latency: 50 * time.Millisecond}, false},
		{"pushed back", 5, 4, fake.Faults{Latency: 20 * time.Millisecond, RateLimit: 3}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fix := fake.Synthetic(5, 1)
				srv, err := fake.New(fix, fake.Config{APIKeys: []fake.APIKey{{Key: testKey}}, Faults: tc.faults})
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				c := memClient(t, srv, func(c *Config) { c.Rate, c.Burst = tc.rate, 1 })
				r := &autoRun{srv: srv, c: c, ids: []string{fix.Integrations[0].ID}}
				r.work(t, tc.workers, 6*time.Second)
				p := c.Pace()
				if p.RateBound() != tc.want || p.Auto || p.Rate != tc.rate {
					t.Errorf("RateBound() = %t, want %t: %+v", p.RateBound(), tc.want, p)
				}
			})
		})
	}
	if (PaceReport{Rate: 5, Attempts: 9, Queued: 9}).RateBound() {
		t.Error("rate-bound after 9 requests")
	}
}

// TestAutoLimiterQueue: with --rate auto, waiting requests go one slot apart in the order
// they came; one whose context ends leaves the queue at once and the next takes its place;
// a change of rate applies to the request waiting first.
func TestAutoLimiterQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(0, 0, &AutoPace{Max: 50, Start: 10, StartIsLimit: true, Concurrency: 4})
		p.rate = 10 // exactly, for the arithmetic below
		start := time.Now()
		if q, err := p.take(t.Context()); q || err != nil {
			t.Fatalf("first request: queued %t, %v", q, err)
		}
		type got struct {
			i  int
			at time.Duration
		}
		out := make(chan got, 4)
		cctx, cancel := context.WithCancel(t.Context())
		for i := range 4 {
			ctx := t.Context()
			if i == 1 {
				ctx = cctx
			}
			go func() {
				q, err := p.take(ctx)
				if err != nil {
					out <- got{i, -1}
					return
				}
				if !q {
					t.Errorf("request %d not queued", i)
				}
				out <- got{i, time.Since(start)}
			}()
			synctest.Wait() // in this order
		}
		cancel()
		want := []got{{1, -1}, {0, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 300 * time.Millisecond}}
		for _, w := range want {
			if g := <-out; g != w {
				t.Errorf("got %+v, want %+v", g, w)
			}
		}
		// A rate change reaches the request waiting first.
		go func() {
			_, _ = p.take(t.Context())
			out <- got{9, time.Since(start)}
		}()
		synctest.Wait()
		p.mu.Lock()
		p.rate = 2
		close(p.moved)
		p.moved = make(chan struct{})
		p.mu.Unlock()
		if g := <-out; g.at != 800*time.Millisecond {
			t.Errorf("after the rate fell to 2/s: sent at %s, want 800ms (300ms + 500ms)", g.at)
		}
	})
}
