package pace

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// answer is a 200 to a PATCH sent at sent, answered lat later, that waited for the limiter.
func answer(sent, lat time.Duration) Outcome {
	return Outcome{Method: "PATCH", Sent: at(sent), Done: at(sent + lat), Status: 200, Queued: true, Quota: NoQuota}
}

func refusal(sent time.Duration, retry time.Duration) Outcome {
	return Outcome{Method: "PATCH", Sent: at(sent), Done: at(sent + ms(1)), Status: 429, RetryAfter: retry, Quota: NoQuota}
}

// feed sends answers at the controller's own rate from `from` for d, each answered after lat
// (refused by refuse when it says so), and returns the time after the last send.
func feed(c *Controller, from, d, lat time.Duration, refuse func(sent time.Duration) bool) time.Duration {
	t := from
	for t < from+d {
		o := answer(t, lat)
		if refuse != nil && refuse(t) {
			o = refusal(t, time.Second)
		}
		c.Observe(o)
		t += time.Duration(float64(time.Second) / c.Rate())
	}
	return t
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Abs(b) }

// TestFit: the estimate recovers the rate of a token bucket (capacity one second's worth)
// from the requests it accepted and the one it refused, whatever the client sent.
func TestFit(t *testing.T) {
	cases := []struct {
		name  string
		limit float64
		full  bool
		send  func(i int) time.Duration // i-th send time
	}{
		{"60/s bucket, full, sent at 150/s", 60, true, func(i int) time.Duration { return time.Duration(i) * time.Second / 150 }},
		{"20/s bucket, full, sent at 30/s", 20, true, func(i int) time.Duration { return time.Duration(i) * time.Second / 30 }},
		{"5/s bucket, full, ramp 5 then 20/s", 5, true, func(i int) time.Duration {
			if i < 4 {
				return time.Duration(i) * 200 * time.Millisecond
			}
			return 800*time.Millisecond + time.Duration(i-4)*50*time.Millisecond
		}},
		{"20/s bucket, empty after a 1 s pause, then 25/s", 20, false, func(i int) time.Duration {
			return time.Second + time.Duration(i)*40*time.Millisecond
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &simServer{rate: tc.limit, burst: tc.limit}
			if !tc.full {
				b.tokens, b.last, b.primed = 0, t0, true
			}
			var accepted []time.Time
			var refused time.Time
			for i := 0; refused.IsZero(); i++ {
				s := at(tc.send(i))
				if ok, _ := b.take(s); ok {
					accepted = append(accepted, s)
				} else {
					refused = s
				}
			}
			got := fit(accepted, t0, tc.full, refused, 1000)
			if !near(got, tc.limit, 0.03) {
				t.Errorf("fit = %.3f, want %g within 3%% (%d accepted)", got, tc.limit, len(accepted))
			}
		})
	}
	c := New(Config{Max: 50, Concurrency: 4}, t0)
	c.Observe(refusal(0, time.Second))
	if c.Limit() != ColdRate/2 {
		t.Errorf("the first request refused: limit %g, want half the rate sent", c.Limit())
	}
}

// TestRamp: a cold start is ColdRate, the rate grows fourfold per round only when requests
// waited for the limiter, and never passes Max.
func TestRamp(t *testing.T) {
	cases := []struct {
		name   string
		max    float64
		queued bool
		want   []float64 // the rate after each 250 ms round of answers
	}{
		{"rate-bound, grows to max", 100, true, []float64{5, 20, 80, 100, 100}},
		{"max below the cold rate", 2, true, []float64{2, 2, 2}},
		{"max 50", 50, true, []float64{5, 20, 50, 50}},
		{"workers-bound, no growth", 100, false, []float64{5, 5, 5, 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{Max: tc.max, Concurrency: 4}, t0)
			var got []float64
			sent := time.Duration(0)
			for round := range tc.want {
				got = append(got, c.Rate())
				// One round: enough answers, spread over the round's length.
				n := max(roundAnswers, int(c.Rate()/4)+1)
				length := max(roundMin, time.Duration(float64(roundAnswers)/c.Rate()*float64(time.Second)))
				for i := range n {
					o := answer(sent+length*time.Duration(i+1)/time.Duration(n)-ms(20), ms(20))
					o.Queued = tc.queued
					c.Observe(o)
				}
				sent += length
				_ = round
			}
			for i := range got {
				if !near(got[i], tc.want[i], 1e-9) {
					t.Fatalf("rates %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestPushback: a refusal ends the ramp at the estimated limit less the margin; refusals of
// requests sent before the cut do not cut again; answers that come late raise the estimate.
func TestPushback(t *testing.T) {
	c := New(Config{Max: 200, Concurrency: 8}, t0)
	b := &simServer{rate: 30, burst: 30}
	var lastOK time.Duration
	tm := time.Duration(0)
	inflight := []Outcome{}
	for c.Pushbacks() == 0 && tm < 10*time.Second {
		if ok, _ := b.take(at(tm)); ok {
			o := answer(tm, ms(50))
			inflight = append(inflight, o)
			lastOK = tm
		} else {
			// Answers sent before the refusal but still in flight come after it.
			var late []Outcome
			for _, o := range inflight {
				if o.Done.After(at(tm)) {
					late = append(late, o)
				} else {
					c.Observe(o)
				}
			}
			c.Observe(refusal(tm, time.Second))
			afterCut := c.Rate()
			// Another refusal, sent before the cut, is the same episode.
			c.Observe(refusal(tm+ms(1)/2, time.Second))
			if c.Rate() != afterCut || c.Pushbacks() != 2 {
				t.Errorf("second refusal of the episode moved the rate %g → %g", afterCut, c.Rate())
			}
			for _, o := range late {
				c.Observe(o)
			}
			if c.Rate() < afterCut {
				t.Errorf("late answers lowered the rate %g → %g", afterCut, c.Rate())
			}
			break
		}
		// Flush answers that are done by now.
		var keep []Outcome
		for _, o := range inflight {
			if !o.Done.After(at(tm)) {
				c.Observe(o)
			} else {
				keep = append(keep, o)
			}
		}
		inflight = keep
		tm += time.Duration(float64(time.Second) / c.Rate())
	}
	_ = lastOK
	if c.Pushbacks() == 0 {
		t.Fatal("the ramp never met the limit")
	}
	if !near(c.Limit(), 30, 0.05) || !near(c.Rate(), c.Limit()*(1-margin), 1e-9) {
		t.Errorf("after the refusal: limit %.2f, rate %.2f; want the limit 30 within 5%%, rate %.0f%% below it", c.Limit(), c.Rate(), 100*margin)
	}
	if l := c.Learned(); !l.Limit || l.Rate != c.Limit() {
		t.Errorf("Learned = %+v", l)
	}
}

// TestProbeAndMax: while holding, the rate rises after a quiet spell, slowly at first, and
// never past Max.
func TestProbeAndMax(t *testing.T) {
	c := New(Config{Max: 12, Start: 10, StartIsLimit: true, Concurrency: 4}, t0)
	if c.Rate() != 10*(1-learnedMargin) {
		t.Fatalf("learned start: rate %g, want %g", c.Rate(), 10*(1-learnedMargin))
	}
	// A learned limit counts as confirmed twice: the quiet spell is 4 × probeAfter.
	c.Observe(answer(ms(7900), ms(50)))
	if c.Rate() != 10*(1-learnedMargin) {
		t.Errorf("probing before the quiet spell: %g", c.Rate())
	}
	c.Observe(answer(ms(8950), ms(50))) // 9 s of quiet: 8 s, then 1 s of probing
	if want := 10 * (1 - learnedMargin) * (1 + probeLinear + probeCubic); !near(c.Rate(), want, 1e-6) {
		t.Errorf("after 1 s of probing: %g, want %g", c.Rate(), want)
	}
	for s := 5; s < 120; s++ {
		c.Observe(answer(time.Duration(s)*time.Second, ms(50)))
		if c.Rate() > 12 {
			t.Fatalf("rate %g passed --max-rate 12 at %ds", c.Rate(), s)
		}
	}
	if c.Rate() != 12 {
		t.Errorf("after two minutes of quiet: %g, want max 12", c.Rate())
	}
}

// TestHeaders: RateLimit-Policy is taken at its word, without probing past it; RateLimit with
// no quota left pauses for its window; a window's quota is a ceiling while it lasts.
func TestHeaders(t *testing.T) {
	t.Run("policy", func(t *testing.T) {
		c := New(Config{Max: 50, Concurrency: 4}, t0)
		o := answer(0, ms(50))
		o.Quota = Quota{PolicyRate: 20, Remaining: -1}
		d := c.Observe(o)
		if !near(d.Rate, 20*(1-policyMargin), 1e-9) {
			t.Errorf("policy 20/s: rate %g", d.Rate)
		}
		for s := 1; s < 60; s++ {
			d = c.Observe(answer(time.Duration(s)*time.Second, ms(50)))
		}
		if !near(d.Rate, 20*(1-policyMargin), 1e-9) {
			t.Errorf("probed past the policy: %g", d.Rate)
		}
		if l := c.Learned(); !l.Limit || l.Rate != 20 {
			t.Errorf("Learned = %+v", l)
		}
		o = answer(time.Minute, ms(50))
		o.Quota = Quota{PolicyRate: 200, Remaining: -1}
		if d = c.Observe(o); d.Rate != 50 {
			t.Errorf("policy above --max-rate: rate %g, want 50", d.Rate)
		}
	})
	t.Run("no quota left", func(t *testing.T) {
		c := New(Config{Max: 50, Concurrency: 4}, t0)
		o := answer(0, ms(50))
		o.Quota = Quota{Remaining: 0, Window: 3 * time.Second}
		if d := c.Observe(o); d.Pause != 3*time.Second {
			t.Errorf("pause %s, want 3s", d.Pause)
		}
		if c.Pushbacks() != 0 || c.Limit() != 0 {
			t.Errorf("an exhausted window is no refusal: pushbacks %d, limit %g", c.Pushbacks(), c.Limit())
		}
	})
	t.Run("ceiling", func(t *testing.T) {
		c := New(Config{Max: 50, Start: 40, StartIsLimit: true, Concurrency: 4}, t0)
		o := answer(0, ms(50))
		o.Quota = Quota{Remaining: 10, Window: time.Second}
		if d := c.Observe(o); d.Rate != 10 {
			t.Errorf("10 left in 1 s: rate %g, want 10", d.Rate)
		}
		if d := c.Observe(answer(ms(1100), ms(50))); d.Rate != 40*(1-learnedMargin) {
			t.Errorf("after the window: rate %g, want %g", d.Rate, 40*(1-learnedMargin))
		}
	})
	t.Run("concurrency policy", func(t *testing.T) {
		c := New(Config{Max: 50, Concurrency: 8}, t0)
		o := answer(0, ms(50))
		o.Quota = Quota{PolicyConcurrency: 3, Remaining: -1}
		if d := c.Observe(o); d.Concurrency != 3 {
			t.Errorf("concurrency %d, want 3", d.Concurrency)
		}
	})
}

// TestLatencyGuard: latency well above the run's baseline brings the concurrency down (and
// ends the ramp), at most once a second; back near the baseline it climbs one at a time.
func TestLatencyGuard(t *testing.T) {
	c := New(Config{Max: 100, Concurrency: 10}, t0)
	tm := time.Duration(0)
	step := func(lat time.Duration, n int) Decision {
		var d Decision
		for range n {
			o := answer(tm, lat)
			o.Queued = false // workers-bound: no ramp
			d = c.Observe(o)
			tm += ms(100)
		}
		return d
	}
	if d := step(ms(50), 10); d.Concurrency != 10 {
		t.Fatalf("steady latency: concurrency %d", d.Concurrency)
	}
	// 140 ms is above 2 × 50 + 20: cut to 7, then (a second later) to 4.
	if d := step(ms(140), 5); d.Concurrency != 7 {
		t.Errorf("latency up: concurrency %d, want 7", d.Concurrency)
	}
	if c.phase != holding {
		t.Error("latency did not end the ramp")
	}
	if d := step(ms(140), 10); d.Concurrency != 4 {
		t.Errorf("latency still up a second later: concurrency %d, want 4", d.Concurrency)
	}
	// Somewhat up (100 ms: between "fine", 85 ms, and "high", 120 ms) changes nothing.
	if d := step(ms(100), 30); d.Concurrency != 4 {
		t.Errorf("latency in the dead band: concurrency %d, want 4", d.Concurrency)
	}
	// Back to baseline: one more per second, up to --concurrency.
	if d := step(ms(50), 8); d.Concurrency != 5 {
		t.Errorf("latency back: concurrency %d, want 5 after the first second", d.Concurrency)
	}
	if d := step(ms(50), 100); d.Concurrency != 10 {
		t.Errorf("latency back for long: concurrency %d, want 10", d.Concurrency)
	}
	// One slow answer is no signal: the median of the last nine is compared.
	if d := step(5*time.Second, 1); d.Concurrency != 10 {
		t.Errorf("after one slow answer: concurrency %d, want 10", d.Concurrency)
	}
	// A timeout is latency beyond any baseline (other failures say nothing): a run of them
	// cuts.
	var d Decision
	for range 5 {
		d = c.Observe(Outcome{Method: "PATCH", Sent: at(tm), Done: at(tm + 30*time.Second), TimedOut: true, Quota: NoQuota})
		d = c.Observe(Outcome{Method: "PATCH", Sent: at(tm), Done: at(tm + 30*time.Second), Status: 500, Quota: NoQuota})
		tm += ms(100)
	}
	if d.Concurrency != 7 {
		t.Errorf("after five timeouts: concurrency %d, want 7", d.Concurrency)
	}
	// Latency is per method: slow GETs after fast PATCHes are no signal.
	c2 := New(Config{Max: 100, Concurrency: 10}, t0)
	for i := range 10 {
		c2.Observe(answer(time.Duration(i)*ms(100), ms(20)))
	}
	for i := 10; i < 30; i++ {
		o := answer(time.Duration(i)*ms(100), ms(400))
		o.Method = "GET"
		if d := c2.Observe(o); d.Concurrency != 10 {
			t.Fatalf("slow GETs cut the PATCH concurrency to %d", d.Concurrency)
		}
	}
}

// TestLearnedFloor: a run that never met pushback learns the highest rate accepted over a
// second, not a limit, and the next run ramps on from it, doubling.
func TestLearnedFloor(t *testing.T) {
	c := New(Config{Max: 100, Concurrency: 2}, t0)
	for i := range 100 {
		o := answer(time.Duration(i)*ms(50), ms(100)) // 20/s, bound by the workers
		o.Queued = false
		c.Observe(o)
	}
	l := c.Learned()
	if l.Limit || !near(l.Rate, 20, 0.1) {
		t.Fatalf("Learned = %+v, want about 20/s, not a limit", l)
	}
	next := New(Config{Max: 100, Start: l.Rate, Concurrency: 2}, t0)
	if next.Rate() != l.Rate || next.growth != floorGrowth {
		t.Errorf("start from a floor: rate %g, growth %g", next.Rate(), next.growth)
	}
}

// TestChangesBounded: the pace log keeps at most maxChanges entries and counts the rest.
func TestChangesBounded(t *testing.T) {
	c := New(Config{Max: 100, Concurrency: 100}, t0)
	for i := range 2 * maxChanges {
		o := answer(time.Duration(i)*ms(100), ms(20))
		o.Quota = Quota{PolicyRate: float64(10 + i%2), Remaining: -1}
		c.Observe(o)
	}
	log, dropped := c.Changes()
	if len(log) != maxChanges || dropped == 0 {
		t.Errorf("log %d entries, %d dropped", len(log), dropped)
	}
}

// TestFeedHelper keeps the feed helper honest: at a learned limit, nothing refused, the
// rate holds and then probes.
func TestFeedHelper(t *testing.T) {
	c := New(Config{Max: 100, Start: 20, StartIsLimit: true, Concurrency: 4}, t0)
	feed(c, 0, 10*time.Second, ms(50), nil)
	if c.Rate() <= 20*(1-learnedMargin) || c.Rate() > 25 {
		t.Errorf("rate after 10 s quiet: %g", c.Rate())
	}
}
