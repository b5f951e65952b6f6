package cli

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

// minLearnAttempts is the fewest requests a run without pushback must have sent for its
// highest accepted rate to be kept as what the server takes: a handful of requests says little.
const minLearnAttempts = 20

// keepPace turns how the client paced the run into the report's record, and keeps what
// --rate auto learned about the server for its next run. The cache never fails a run.
func keepPace(s *session, stdio Stdio, log *slog.Logger) *report.Pace {
	p := s.client.Pace()
	rec := &report.Pace{Mode: "fixed", Rate: p.Rate, Pushbacks: p.Pushbacks, Pauses: p.Pauses, RateBound: p.RateBound()}
	if !p.Auto {
		return rec
	}
	rec.Mode, rec.Rate, rec.MaxRate = "auto", 0, p.MaxRate
	rec.Start, rec.StartRate = p.Start, p.StartRate
	rec.LearnedRate, rec.LearnedIsLimit = p.Learned.Rate, p.Learned.Limit
	rec.ChangesDropped = p.Dropped
	for _, c := range p.Changes {
		rec.Changes = append(rec.Changes, report.PaceChange{At: c.At.Sub(p.Changes[0].At), Rate: c.Rate, Concurrency: c.Concurrency, Reason: c.Reason})
	}
	if p.Learned.Rate <= 0 || (!p.Learned.Limit && p.Attempts < minLearnAttempts) {
		return rec
	}
	dir, err := userCacheDir(stdio.getenv)
	if err == nil {
		err = saveLearned(dir, s.server, learnedRate{Rate: p.Learned.Rate, Limit: p.Learned.Limit, Updated: time.Now().UTC()})
	}
	if err != nil {
		log.Info("--rate auto: the learned rate is not kept for the next run", "err", err.Error())
	}
	return rec
}

// paceSummary says on the console how the run was paced when that is news: what --rate auto
// found, or that a fixed rate was the bottleneck (once, at the end).
func paceSummary(stdio Stdio, v *report.Results) {
	p := v.Pace
	if p == nil || v.Interrupted {
		return
	}
	switch {
	case p.Mode == "auto" && p.LearnedIsLimit:
		fmt.Fprintf(stdio.Out, "pace: --rate auto held the server's limit, about %.1f requests/s (%d %s); the next run starts there\n",
			p.LearnedRate, p.Pushbacks, bulk.Plural(p.Pushbacks, "refusal", "refusals"))
	case p.Mode == "auto" && p.LearnedRate >= p.MaxRate*0.95:
		fmt.Fprintf(stdio.Out, "pace: --rate auto reached --max-rate %g requests/s and the server accepted everything; a higher --max-rate may go faster\n", p.MaxRate)
	case p.Mode == "auto" && p.LearnedRate > 0:
		fmt.Fprintf(stdio.Out, "pace: --rate auto: up to %.1f requests/s and the server accepted everything (the workers were the bound: a higher --concurrency may go faster)\n", p.LearnedRate)
	case p.RateBound:
		fmt.Fprintf(stdio.Err, "polarity-bulk: rate-bound: %g/s; the server accepted everything — try --rate auto\n", p.Rate)
	}
}
