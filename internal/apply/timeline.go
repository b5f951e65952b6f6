package apply

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The bounds of a Timeline. vegeta plot keeps every point and downsamples past a threshold
// (4,000 points) when it draws; a rollout may run for hours, so the Timeline downsamples as
// it goes instead: fixed-width time buckets that start at bucketWidth and double in width
// (neighbours merged) whenever the run outgrows maxBuckets. Counts stay exact and each
// bucket keeps its latency minimum and maximum, so merging never hides a spike. The width is
// a 64th of a second so that doubling reaches whole seconds (a chart's "per second" bars add
// up whole buckets) and every width is a whole number of microseconds (timeline.json's unit).
const (
	bucketWidth = time.Second / 64
	maxBuckets  = 4096
	maxPauses   = 1024
	maxWaves    = 4096
	maxPace     = 4096
)

// Timeline records a run's timeline for report.html as the run goes: pass Observe as the API
// client's Config.OnAttempt. Its memory is bounded whatever the run's length (see maxBuckets).
// It is safe for concurrent use.
type Timeline struct {
	mu      sync.Mutex
	start   time.Time
	rate    float64
	width   time.Duration
	buckets []bulk.Bucket // dense: buckets[i] covers [i*width, (i+1)*width)
	pauses  []bulk.Span
	waves   []bulk.Wave
	pace    []bulk.PaceSample
}

// NewTimeline starts a timeline at start; rate is the run's fixed --rate (0 for --rate
// auto, whose pace is recorded with Pace).
func NewTimeline(start time.Time, rate float64) *Timeline {
	return &Timeline{start: start, rate: rate, width: bucketWidth}
}

// Restart forgets what was recorded and starts the timeline again at start: apply does so
// when someone answered its confirmation prompt, whose wait is not part of the rollout.
func (r *Timeline) Restart(start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start, r.width = start, bucketWidth
	r.buckets, r.pauses, r.waves, r.pace = nil, nil, nil, nil
}

// offset is t's place on the timeline; times before its start count as its start.
func (r *Timeline) offset(t time.Time) time.Duration { return max(0, t.Sub(r.start)) }

// Observe records one HTTP attempt: it has api.Config.OnAttempt's signature.
func (r *Timeline) Observe(a api.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(r.offset(a.Start))
	r.buckets[i].Add(bulk.AttemptBucket(a.Status, a.Latency, a.N))
	if a.RetryAfter > 0 {
		from := r.offset(a.Start.Add(a.Latency))
		r.addPause(bulk.Span{From: from, To: from + a.RetryAfter})
	}
}

// index returns the bucket of offset off, widening the buckets first when off lies past the
// last one allowed, and growing the slice to hold it.
func (r *Timeline) index(off time.Duration) int {
	for int(off/r.width) >= maxBuckets {
		r.merge()
	}
	i := int(off / r.width)
	if i >= len(r.buckets) {
		r.buckets = append(r.buckets, make([]bulk.Bucket, i+1-len(r.buckets))...)
	}
	return i
}

// merge doubles the bucket width: buckets 2j and 2j+1 become bucket j.
func (r *Timeline) merge() {
	n := (len(r.buckets) + 1) / 2
	for j := range n {
		b := r.buckets[2*j]
		if 2*j+1 < len(r.buckets) {
			b.Add(r.buckets[2*j+1])
		}
		r.buckets[j] = b
	}
	clear(r.buckets[n:])
	r.buckets = r.buckets[:n]
	r.width *= 2
}

// addPause adds a Retry-After pause, merged with the pauses it overlaps. Past maxPauses the
// pauses closest together are joined (down to three quarters of the bound, so that joining
// is rare), so a server that pauses the run thousands of times still gives a bounded list,
// drawn as the stretches of the run that were mostly paused.
func (r *Timeline) addPause(p bulk.Span) {
	if n := len(r.pauses); n > 0 && p.From >= r.pauses[n-1].From {
		// The usual case: pauses come in time order.
		if last := &r.pauses[n-1]; p.From <= last.To {
			last.To = max(last.To, p.To)
			return
		}
		r.pauses = append(r.pauses, p)
	} else {
		i, _ := slices.BinarySearchFunc(r.pauses, p.From, func(s bulk.Span, t time.Duration) int { return cmp.Compare(s.From, t) })
		r.pauses = slices.Insert(r.pauses, i, p)
		out := r.pauses[:0]
		for _, s := range r.pauses {
			if k := len(out); k > 0 && s.From <= out[k-1].To {
				out[k-1].To = max(out[k-1].To, s.To)
				continue
			}
			out = append(out, s)
		}
		r.pauses = out
	}
	if len(r.pauses) > maxPauses {
		r.pauses = joinClosest(r.pauses, maxPauses*3/4)
	}
}

// joinClosest joins the spans separated by the smallest gaps until keep are left.
func joinClosest(ps []bulk.Span, keep int) []bulk.Span {
	gaps := make([]int, len(ps)-1) // gaps[k] is the gap before ps[k+1]
	for k := range gaps {
		gaps[k] = k
	}
	slices.SortStableFunc(gaps, func(a, b int) int { return cmp.Compare(ps[a+1].From-ps[a].To, ps[b+1].From-ps[b].To) })
	join := make([]bool, len(ps))
	for _, k := range gaps[:len(ps)-keep] {
		join[k+1] = true
	}
	out := ps[:0]
	for k, s := range ps {
		if join[k] {
			out[len(out)-1].To = max(out[len(out)-1].To, s.To)
			continue
		}
		out = append(out, s)
	}
	return out
}

// StartWave records that wave index (from 1) of n integrations started at t.
func (r *Timeline) StartWave(t time.Time, index, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	off := r.offset(t)
	if len(r.waves) == maxWaves {
		// Bounded like the rest: a run of thousands of one-integration waves keeps every
		// other boundary, each entry then covering two waves.
		r.waves = mergeWaves(r.waves)
	}
	r.waves = append(r.waves, bulk.Wave{Index: index, Last: index, From: off, To: off, Integrations: n})
}

// EndWave records that wave index ended at t, its health check done, with failed of its
// integrations failed; halted says the wave failed and no further wave starts.
func (r *Timeline) EndWave(t time.Time, index, failed int, halted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.waves) - 1; i >= 0; i-- {
		w := &r.waves[i]
		if index < w.Index || index > w.Last {
			continue
		}
		w.To = max(w.From, r.offset(t))
		w.Failed += failed
		w.Halted = w.Halted || halted
		return
	}
}

// mergeWaves joins neighbouring waves pairwise.
func mergeWaves(ws []bulk.Wave) []bulk.Wave {
	out := ws[:0]
	for i := 0; i < len(ws); i += 2 {
		w := ws[i]
		if i+1 < len(ws) {
			n := ws[i+1]
			w.Last, w.To = n.Last, n.To
			w.Integrations += n.Integrations
			w.Failed += n.Failed
			w.Halted = w.Halted || n.Halted
		}
		out = append(out, w)
	}
	return out
}

// Pace records that from t on the run allowed itself rate requests per second (--rate
// auto). A rate equal to the last one recorded adds nothing.
func (r *Timeline) Pace(t time.Time, rate float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.pace); n > 0 && r.pace[n-1].Rate == rate {
		return
	}
	if len(r.pace) == maxPace {
		// Keep every other sample, the first and the last included.
		out := r.pace[:0]
		for i, p := range r.pace {
			if i%2 == 0 || i == len(r.pace)-1 {
				out = append(out, p)
			}
		}
		r.pace = out
	}
	r.pace = append(r.pace, bulk.PaceSample{At: r.offset(t), Rate: rate})
}

// Snapshot returns what was recorded, the run ending at end.
func (r *Timeline) Snapshot(end time.Time) bulk.Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	tl := bulk.Timeline{
		Start: r.start, End: end, Width: r.width, Rate: r.rate,
		Waves: slices.Clone(r.waves), Pace: slices.Clone(r.pace),
	}
	if end.Before(r.start) {
		tl.End = r.start
	}
	// A pause is drawn as far as the run went: a server may ask for a day (and the run then
	// fails what would wait for it, past --max-wait), which is no part of this run's story.
	last := tl.End.Sub(r.start)
	for _, p := range r.pauses {
		if p.From >= last {
			break
		}
		p.To = min(p.To, last)
		tl.Pauses = append(tl.Pauses, p)
	}
	for i, b := range r.buckets {
		if b.Attempts() == 0 {
			continue
		}
		b.At = time.Duration(i) * r.width
		tl.Buckets = append(tl.Buckets, b)
	}
	return tl
}
