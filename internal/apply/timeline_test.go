package apply

import (
	"sync"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// TestTimelineBuckets: each attempt lands in the bucket of its start, counted by outcome,
// retries counted apart, latency kept as min, max and sum; Retry-After pauses become spans
// from the answer on, merged where they overlap.
func TestTimelineBuckets(t *testing.T) {
	r := NewTimeline(t0, 5)
	ms := time.Millisecond
	for _, a := range []api.Attempt{
		{Start: at(1 * ms), Latency: 40 * ms, Status: 200, N: 1},
		{Start: at(5 * ms), Latency: 60 * ms, Status: 503, N: 1, Retry: true, RetryAfter: 2 * time.Second},
		{Start: at(500 * ms), Latency: 30 * ms, Status: 429, N: 1, Retry: true, RetryAfter: 3 * time.Second},
		{Start: at(2100 * ms), Latency: 20 * ms, Status: 200, N: 2},
		{Start: at(2105 * ms), Latency: 2 * time.Second, Failure: api.FailureTimeout, N: 1, Retry: true},
		{Start: at(2107 * ms), Latency: 10 * ms, Status: 422, N: 3},
		{Start: at(10 * time.Second), Latency: 15 * ms, Status: 502, N: 1, Retry: true, RetryAfter: time.Second},
		{Start: t0.Add(-time.Second), Latency: ms, Status: 200, N: 1}, // before the start: counted at 0
	} {
		r.Observe(a)
	}
	tl := r.Snapshot(at(12 * time.Second))
	if tl.Width != bucketWidth || tl.Rate != 5 || !tl.Start.Equal(t0) || !tl.End.Equal(at(12*time.Second)) {
		t.Fatalf("timeline %+v", tl)
	}
	want := []bulk.Bucket{
		{At: 0, OK: 2, ServerError: 1, LatencyMin: ms, LatencyMax: 60 * ms, LatencySum: 101 * ms},
		{At: 500 * ms, Throttled: 1, LatencyMin: 30 * ms, LatencyMax: 30 * ms, LatencySum: 30 * ms},
		{At: 134 * bucketWidth, OK: 1, NoAnswer: 1, ClientError: 1, Retries: 2, LatencyMin: 10 * ms, LatencyMax: 2 * time.Second, LatencySum: 2030 * ms},
		{At: 10 * time.Second, ServerError: 1, LatencyMin: 15 * ms, LatencyMax: 15 * ms, LatencySum: 15 * ms},
	}
	if len(tl.Buckets) != len(want) {
		t.Fatalf("buckets %+v, want %+v", tl.Buckets, want)
	}
	for i := range want {
		if tl.Buckets[i] != want[i] {
			t.Errorf("bucket %d = %+v, want %+v", i, tl.Buckets[i], want[i])
		}
	}
	// 503 at 5ms+60ms for 2s, 429 at 530ms for 3s: one pause 65ms..3530ms; then 10.015s..11.015s.
	wantPauses := []bulk.Span{{From: 65 * ms, To: 3530 * ms}, {From: 10015 * ms, To: 11015 * ms}}
	if len(tl.Pauses) != 2 || tl.Pauses[0] != wantPauses[0] || tl.Pauses[1] != wantPauses[1] {
		t.Errorf("pauses %+v, want %+v", tl.Pauses, wantPauses)
	}
}

// TestTimelineBounded: a long, busy run keeps at most maxBuckets buckets and maxPauses
// pauses, its counts exact, and the slowest attempt still visible after every merge.
func TestTimelineBounded(t *testing.T) {
	r := NewTimeline(t0, 0)
	const n = 50_000
	span := 10 * time.Hour
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				lat := 20 * time.Millisecond
				if i == 12_345 {
					lat = 29 * time.Second // one spike
				}
				a := api.Attempt{Start: at(span * time.Duration(i) / n), Latency: lat, Status: 200, N: 1}
				if i%10 == 0 {
					a.Status, a.RetryAfter = 429, 50*time.Millisecond
				}
				r.Observe(a)
			}
		})
	}
	wg.Wait()
	tl := r.Snapshot(at(span))
	if len(tl.Buckets) > maxBuckets || len(tl.Pauses) > maxPauses {
		t.Fatalf("%d buckets and %d pauses: over the bounds %d and %d", len(tl.Buckets), len(tl.Pauses), maxBuckets, maxPauses)
	}
	if tl.Width*maxBuckets < span || tl.Width > 2*span/maxBuckets+bucketWidth {
		t.Errorf("bucket width %s for a %s run: want the narrowest that fits %d buckets", tl.Width, span, maxBuckets)
	}
	total, throttled, slowest := 0, 0, time.Duration(0)
	for _, b := range tl.Buckets {
		total += b.Attempts()
		throttled += b.Throttled
		slowest = max(slowest, b.LatencyMax)
		if b.At%tl.Width != 0 {
			t.Fatalf("bucket at %s is not on the %s grid", b.At, tl.Width)
		}
	}
	if total != n || throttled != n/10 || slowest != 29*time.Second {
		t.Errorf("counted %d attempts (%d throttled), slowest %s; want %d (%d), 29s", total, throttled, slowest, n, n/10)
	}
	var paused time.Duration
	for i, p := range tl.Pauses {
		if p.To <= p.From || i > 0 && p.From <= tl.Pauses[i-1].To {
			t.Fatalf("pause %d %+v overlaps or is empty", i, p)
		}
		paused += p.To - p.From
	}
	// 5,000 pauses of 50ms: joining them to stay bounded may only lengthen them.
	if paused < n/10*50*time.Millisecond {
		t.Errorf("pauses cover %s, want at least %s", paused, n/10*50*time.Millisecond)
	}
}

// TestTimelineWavesAndPace: the series issue 15 (waves) and issue 19 (--rate auto) fill.
func TestTimelineWavesAndPace(t *testing.T) {
	r := NewTimeline(t0, 0)
	r.StartWave(at(time.Second), 1, 1)
	r.EndWave(at(3*time.Second), 1, 0, false)
	r.StartWave(at(5*time.Second), 2, 10)
	r.EndWave(at(9*time.Second), 2, 3, true)
	r.Pace(at(0), 2)
	r.Pace(at(time.Second), 4)
	r.Pace(at(2*time.Second), 4) // no change: not a sample
	r.Pace(at(3*time.Second), 8)
	tl := r.Snapshot(at(10 * time.Second))
	wantWaves := []bulk.Wave{
		{Index: 1, Last: 1, From: time.Second, To: 3 * time.Second, Integrations: 1},
		{Index: 2, Last: 2, From: 5 * time.Second, To: 9 * time.Second, Integrations: 10, Failed: 3, Halted: true},
	}
	if len(tl.Waves) != 2 || tl.Waves[0] != wantWaves[0] || tl.Waves[1] != wantWaves[1] {
		t.Errorf("waves %+v, want %+v", tl.Waves, wantWaves)
	}
	wantPace := []bulk.PaceSample{{At: 0, Rate: 2}, {At: time.Second, Rate: 4}, {At: 3 * time.Second, Rate: 8}}
	if len(tl.Pace) != 3 || tl.Pace[0] != wantPace[0] || tl.Pace[1] != wantPace[1] || tl.Pace[2] != wantPace[2] {
		t.Errorf("pace %+v, want %+v", tl.Pace, wantPace)
	}

	// Thousands of waves and pace changes stay bounded, every wave still covered.
	r = NewTimeline(t0, 0)
	const waves = 10_000
	for i := 1; i <= waves; i++ {
		r.StartWave(at(time.Duration(i)*time.Second), i, 1)
		r.EndWave(at(time.Duration(i)*time.Second+500*time.Millisecond), i, i%2, false)
		r.Pace(at(time.Duration(i)*time.Second), float64(i%7+1))
	}
	tl = r.Snapshot(at(waves * time.Second))
	if len(tl.Waves) > maxWaves || len(tl.Pace) > maxPace {
		t.Fatalf("%d waves, %d pace samples: over the bounds", len(tl.Waves), len(tl.Pace))
	}
	covered, failed, next := 0, 0, 1
	for _, w := range tl.Waves {
		if w.Index != next || w.Last < w.Index {
			t.Fatalf("wave entry %+v does not follow wave %d", w, next-1)
		}
		next = w.Last + 1
		covered += w.Integrations
		failed += w.Failed
	}
	if covered != waves || failed != waves/2 || next != waves+1 {
		t.Errorf("waves cover %d integrations, %d failed, up to wave %d; want %d, %d, %d", covered, failed, next-1, waves, waves/2, waves)
	}
	if last := tl.Pace[len(tl.Pace)-1]; last.At != waves*time.Second {
		t.Errorf("last pace sample %+v, want the last one recorded", last)
	}
}

// TestTimelineRestart: what came before a restart is forgotten, offsets count from the new start.
func TestTimelineRestart(t *testing.T) {
	r := NewTimeline(t0, 5)
	for i := range 10_000 { // enough to widen the buckets
		r.Observe(api.Attempt{Start: at(time.Duration(i) * 10 * time.Millisecond), Status: 200, N: 1, RetryAfter: time.Millisecond})
	}
	r.StartWave(at(time.Second), 1, 1)
	r.Pace(at(time.Second), 3)
	r.Restart(at(time.Hour))
	r.Observe(api.Attempt{Start: at(time.Hour + time.Second), Latency: time.Millisecond, Status: 200, N: 1})
	tl := r.Snapshot(at(time.Hour + 2*time.Second))
	if !tl.Start.Equal(at(time.Hour)) || tl.Width != bucketWidth || tl.Rate != 5 || len(tl.Buckets) != 1 || tl.Buckets[0].At != time.Second ||
		len(tl.Pauses)+len(tl.Waves)+len(tl.Pace) != 0 {
		t.Errorf("after a restart: %+v", tl)
	}
}

// TestTimelinePauseClipped: a Retry-After longer than the run (a day, which --max-wait turns
// into failures) is drawn as far as the run went, not a day on.
func TestTimelinePauseClipped(t *testing.T) {
	r := NewTimeline(t0, 5)
	r.Observe(api.Attempt{Start: at(time.Second), Latency: 10 * time.Millisecond, Status: 429, N: 1, RetryAfter: 24 * time.Hour})
	r.Observe(api.Attempt{Start: at(2 * time.Second), Latency: 10 * time.Millisecond, Status: 429, N: 1, RetryAfter: 100 * 365 * 24 * time.Hour})
	r.Observe(api.Attempt{Start: at(6 * time.Second), Latency: 10 * time.Millisecond, Status: 429, N: 1, RetryAfter: time.Second})
	tl := r.Snapshot(at(5 * time.Second))
	if len(tl.Pauses) != 1 || tl.Pauses[0] != (bulk.Span{From: 1010 * time.Millisecond, To: 5 * time.Second}) {
		t.Errorf("pauses %+v, want one from 1.01s to the run's end at 5s", tl.Pauses)
	}
}
