package bulk

import "time"

// Timeline is what one run of apply sent to the server over time, as report.html draws it:
// every HTTP attempt counted by outcome in time buckets with its latency, the Retry-After
// pauses, and, where the run has them, its waves and the pace of --rate auto. Offsets are
// from Start. Its size is bounded whatever the run's length: the recorder merges neighbouring
// buckets as the run goes (apply.Timeline), so Buckets holds at most a few thousand entries.
type Timeline struct {
	// Start and End bound the run: from the first request it could send to the report.
	Start, End time.Time
	// Width is the time one bucket covers; every Bucket.At is a multiple of it.
	Width time.Duration
	// Buckets lists the buckets that saw an attempt, in time order.
	Buckets []Bucket
	// Pauses are the times every request waited because the server sent Retry-After (or, past
	// --max-wait, failed instead), merged where they overlap, in time order, cut at End.
	Pauses []Span
	// Waves are the run's waves in order (--waves); empty for a run without them.
	Waves []Wave
	// Pace is the request rate the run allowed itself from each sample on (--rate auto), in
	// time order; empty for a fixed --rate.
	Pace []PaceSample
	// Rate is the fixed --rate the run was limited to (requests per second); 0 when unknown
	// or adaptive.
	Rate float64
}

// Bucket counts the attempts that started within [At, At+Timeline.Width).
type Bucket struct {
	At time.Duration
	// Attempts by outcome: 2xx; 4xx other than 429; 429; 5xx; no answer (timeout, network).
	OK, ClientError, Throttled, ServerError, NoAnswer int
	// Retries counts the attempts that repeated an earlier one of the same request.
	Retries int
	// LatencyMin, LatencyMax and LatencySum over the bucket's attempts.
	LatencyMin, LatencyMax, LatencySum time.Duration
}

// AttemptBucket is the bucket of one HTTP attempt: its outcome by status (0: no answer, a
// timeout or a network error), its latency, and whether it was a retry (attempt counts from 1).
func AttemptBucket(status int, latency time.Duration, attempt int) Bucket {
	b := Bucket{LatencyMin: latency, LatencyMax: latency, LatencySum: latency}
	switch s := status; {
	case s == 0:
		b.NoAnswer = 1
	case s >= 200 && s <= 299:
		b.OK = 1
	case s == 429:
		b.Throttled = 1
	case s >= 500:
		b.ServerError = 1
	default:
		b.ClientError = 1
	}
	if attempt > 1 {
		b.Retries = 1
	}
	return b
}

// Attempts is the number of attempts in the bucket.
func (b Bucket) Attempts() int {
	return b.OK + b.ClientError + b.Throttled + b.ServerError + b.NoAnswer
}

// Add merges o's counts into b (b keeps its At).
func (b *Bucket) Add(o Bucket) {
	if o.Attempts() == 0 {
		return
	}
	if b.Attempts() == 0 || o.LatencyMin < b.LatencyMin {
		b.LatencyMin = o.LatencyMin
	}
	b.LatencyMax = max(b.LatencyMax, o.LatencyMax)
	b.LatencySum += o.LatencySum
	b.OK += o.OK
	b.ClientError += o.ClientError
	b.Throttled += o.Throttled
	b.ServerError += o.ServerError
	b.NoAnswer += o.NoAnswer
	b.Retries += o.Retries
}

// Span is a stretch of a timeline, as offsets from its Start.
type Span struct {
	From, To time.Duration
}

// Wave is one wave of a staged rollout on a timeline.
type Wave struct {
	// Index counts waves from 1. Last is the index of the last wave the entry covers: Index,
	// unless a run of thousands of waves had neighbours merged to stay bounded.
	Index, Last int
	// From and To bound the wave, its health check included.
	From, To time.Duration
	// Integrations is the wave's size; Failed how many of them failed (PATCH or health check).
	Integrations, Failed int
	// Halted reports that the wave failed and no further wave started.
	Halted bool
}

// PaceSample is the rate --rate auto allowed from At on, in requests per second.
type PaceSample struct {
	At   time.Duration
	Rate float64
}
