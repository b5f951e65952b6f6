package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// kindTimeline is timeline.json's kind.
const kindTimeline = "polarity-bulk timeline"

// maxRuns bounds how many runs of one report directory timeline.json keeps (and report.html
// draws): each --resume adds one, and the oldest go first.
const maxRuns = 5

// timelineFile is timeline.json: the timelines report.html draws, one per run into the report
// directory (the first run, then each --resume), oldest first. It holds counts and times only:
// no id, name, value or server text.
type timelineFile struct {
	Format  int           `json:"format"`
	Kind    string        `json:"kind"`
	Dropped int           `json:"dropped_runs,omitempty"` // older runs no longer kept
	Runs    []timelineRun `json:"runs"`
}

type timelineRun struct {
	Start    time.Time        `json:"start"`
	End      time.Time        `json:"end"`
	BucketMS float64          `json:"bucket_ms"`
	Rate     float64          `json:"rate,omitempty"`
	Buckets  []timelineBucket `json:"buckets"`
	Pauses   []timelineSpan   `json:"retry_after_pauses,omitempty"`
	Waves    []timelineWave   `json:"waves,omitempty"`
	Pace     []timelinePace   `json:"pace,omitempty"`
}

type timelineBucket struct {
	AtMS        float64 `json:"t_ms"`
	OK          int     `json:"ok,omitempty"`
	ClientError int     `json:"client_error,omitempty"`
	Throttled   int     `json:"throttled,omitempty"`
	ServerError int     `json:"server_error,omitempty"`
	NoAnswer    int     `json:"no_answer,omitempty"`
	Retries     int     `json:"retries,omitempty"`
	MinMS       float64 `json:"latency_min_ms"`
	MaxMS       float64 `json:"latency_max_ms"`
	SumMS       float64 `json:"latency_sum_ms"`
}

type timelineSpan struct {
	FromMS float64 `json:"from_ms"`
	ToMS   float64 `json:"to_ms"`
}

type timelineWave struct {
	Index        int     `json:"wave"`
	Last         int     `json:"last_wave,omitempty"` // omitted when equal to wave
	FromMS       float64 `json:"from_ms"`
	ToMS         float64 `json:"to_ms"`
	Integrations int     `json:"integrations"`
	Failed       int     `json:"failed"`
	Halted       bool    `json:"halted,omitempty"`
}

type timelinePace struct {
	AtMS float64 `json:"t_ms"`
	Rate float64 `json:"rate"`
}

// fromMillis is millis' inverse, to the microsecond.
func fromMillis(ms float64) time.Duration {
	return time.Duration(math.Round(ms*1000)) * time.Microsecond
}

// TimelineJSON writes timeline.json: the runs' timelines, oldest first, at most the last five;
// dropped counts the older runs no longer kept (older ones still are dropped). Times are in
// UTC, offsets and latencies in milliseconds from each run's start.
func TimelineJSON(w io.Writer, runs []bulk.Timeline, dropped int) error {
	return writeJSON(w, newTimelineFile(runs, dropped))
}

func newTimelineFile(runs []bulk.Timeline, dropped int) timelineFile {
	f := timelineFile{Format: Format, Kind: kindTimeline, Dropped: dropped, Runs: []timelineRun{}}
	if len(runs) > maxRuns {
		f.Dropped += len(runs) - maxRuns
		runs = runs[len(runs)-maxRuns:]
	}
	for _, tl := range runs {
		r := timelineRun{
			Start: utc(tl.Start), End: utc(tl.End), BucketMS: millis(tl.Width), Rate: tl.Rate,
			Buckets: make([]timelineBucket, len(tl.Buckets)),
		}
		for i, b := range tl.Buckets {
			r.Buckets[i] = timelineBucket{
				AtMS: millis(b.At), OK: b.OK, ClientError: b.ClientError, Throttled: b.Throttled,
				ServerError: b.ServerError, NoAnswer: b.NoAnswer, Retries: b.Retries,
				MinMS: millis(b.LatencyMin), MaxMS: millis(b.LatencyMax), SumMS: millis(b.LatencySum),
			}
		}
		for _, p := range tl.Pauses {
			r.Pauses = append(r.Pauses, timelineSpan{millis(p.From), millis(p.To)})
		}
		for _, wv := range tl.Waves {
			tw := timelineWave{Index: wv.Index, FromMS: millis(wv.From), ToMS: millis(wv.To),
				Integrations: wv.Integrations, Failed: wv.Failed, Halted: wv.Halted}
			if wv.Last != wv.Index {
				tw.Last = wv.Last
			}
			r.Waves = append(r.Waves, tw)
		}
		for _, p := range tl.Pace {
			r.Pace = append(r.Pace, timelinePace{millis(p.At), p.Rate})
		}
		f.Runs = append(f.Runs, r)
	}
	return f
}

// ReadTimeline reads timeline.json back: the runs' timelines, oldest first, and how many older
// runs it no longer keeps. It refuses a file of another kind or format.
func ReadTimeline(r io.Reader) ([]bulk.Timeline, int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("read timeline: %w", err)
	}
	if err := checkKind(data, kindTimeline, "timeline"); err != nil {
		return nil, 0, err
	}
	var f timelineFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, 0, fmt.Errorf("read timeline: %w", err)
	}
	for i, r := range f.Runs {
		if err := r.check(); err != nil {
			return nil, 0, fmt.Errorf("read timeline: run %d: %w", i+1, err)
		}
	}
	if f.Dropped < 0 {
		return nil, 0, errors.New("read timeline: dropped_runs is negative")
	}
	return f.timelines(), f.Dropped, nil
}

// maxOffsetMS bounds every offset and latency a timeline.json may hold (a year): a file
// edited by hand must not make the chart allocate without end or index before its start.
const maxOffsetMS = 366 * 24 * 3600 * 1000.0

// check refuses a run whose numbers no apply.Timeline writes.
func (r timelineRun) check() error {
	ok := func(ms float64) bool { return ms >= 0 && ms <= maxOffsetMS && !math.IsNaN(ms) }
	switch {
	case r.Start.IsZero() || r.End.Before(r.Start):
		return errors.New("it has no start, or ends before it starts")
	case r.End.Sub(r.Start) > fromMillis(maxOffsetMS):
		return errors.New("it lasts over a year")
	case !(r.BucketMS > 0) || !ok(r.BucketMS):
		return fmt.Errorf("bucket width %g ms", r.BucketMS)
	case !ok(r.Rate):
		return fmt.Errorf("rate %g", r.Rate)
	}
	for _, b := range r.Buckets {
		if !ok(b.AtMS) || !ok(b.MinMS) || !ok(b.MaxMS) || !ok(b.SumMS) ||
			b.OK < 0 || b.ClientError < 0 || b.Throttled < 0 || b.ServerError < 0 || b.NoAnswer < 0 || b.Retries < 0 {
			return fmt.Errorf("bucket at %g ms holds a negative or out-of-range number", b.AtMS)
		}
	}
	for _, p := range r.Pauses {
		if !ok(p.FromMS) || !ok(p.ToMS) || p.ToMS < p.FromMS {
			return fmt.Errorf("pause %g–%g ms", p.FromMS, p.ToMS)
		}
	}
	for _, w := range r.Waves {
		if !ok(w.FromMS) || !ok(w.ToMS) || w.ToMS < w.FromMS || w.Integrations < 0 || w.Failed < 0 || w.Index < 1 || w.Last != 0 && w.Last < w.Index {
			return fmt.Errorf("wave %d", w.Index)
		}
	}
	for _, p := range r.Pace {
		if !ok(p.AtMS) || !ok(p.Rate) {
			return fmt.Errorf("pace sample at %g ms", p.AtMS)
		}
	}
	return nil
}

func (f timelineFile) timelines() []bulk.Timeline {
	out := make([]bulk.Timeline, 0, len(f.Runs))
	for _, r := range f.Runs {
		tl := bulk.Timeline{Start: r.Start, End: r.End, Width: fromMillis(r.BucketMS), Rate: r.Rate}
		for _, b := range r.Buckets {
			tl.Buckets = append(tl.Buckets, bulk.Bucket{
				At: fromMillis(b.AtMS), OK: b.OK, ClientError: b.ClientError, Throttled: b.Throttled,
				ServerError: b.ServerError, NoAnswer: b.NoAnswer, Retries: b.Retries,
				LatencyMin: fromMillis(b.MinMS), LatencyMax: fromMillis(b.MaxMS), LatencySum: fromMillis(b.SumMS),
			})
		}
		for _, p := range r.Pauses {
			tl.Pauses = append(tl.Pauses, bulk.Span{From: fromMillis(p.FromMS), To: fromMillis(p.ToMS)})
		}
		for _, w := range r.Waves {
			wv := bulk.Wave{Index: w.Index, Last: w.Last, From: fromMillis(w.FromMS), To: fromMillis(w.ToMS),
				Integrations: w.Integrations, Failed: w.Failed, Halted: w.Halted}
			if wv.Last == 0 {
				wv.Last = wv.Index
			}
			tl.Waves = append(tl.Waves, wv)
		}
		for _, p := range r.Pace {
			tl.Pace = append(tl.Pace, bulk.PaceSample{At: fromMillis(p.AtMS), Rate: p.Rate})
		}
		out = append(out, tl)
	}
	return out
}
