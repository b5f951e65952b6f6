package api

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/polarity-bulk/polarity-bulk/internal/pace"
)

// AutoPace turns on --rate auto: the shared limiter's rate (and the number of requests in
// flight the client advises, see ConcurrencyLimit) follow a pace.Controller fed with every
// answer, instead of a fixed Rate.
type AutoPace struct {
	// Max is the highest rate (--max-rate); 0 means pace.DefaultMax.
	Max float64
	// Start and StartIsLimit are what an earlier run learned about the server (see
	// pace.Config); zero starts cold.
	Start        float64
	StartIsLimit bool
	// Concurrency is the most requests in flight the caller runs (--concurrency).
	Concurrency int
}

// PaceReport is how the client paced its requests so far.
type PaceReport struct {
	// Auto says the pace was --rate auto; otherwise Rate is the fixed rate.
	Auto bool
	Rate float64
	// MaxRate, Start ("cold", "learned limit", "learned rate") and StartRate say how auto
	// began; Learned is what it found out, for the next run.
	MaxRate   float64
	Start     string
	StartRate float64
	Learned   pace.Learned
	// Pushbacks counts the answers that refused for load (429, 503, any with Retry-After);
	// Pauses the waits every request had to honour (Retry-After, RateLimit with no quota).
	Pushbacks, Pauses int
	// Attempts counts the requests sent, Queued those that first waited for their turn at
	// the rate limiter: when most did and nothing pushed back, the rate was the bottleneck.
	Attempts, Queued int
	// Changes is auto's log (see pace.Controller.Changes).
	Changes []pace.Change
	Dropped int
}

// RateBound reports whether a fixed rate, not the server or the workers, held the requests
// back: most of them waited for the rate limiter, the server never pushed back, and there
// were enough of them (two seconds' worth, and at least 20) to say so.
func (p PaceReport) RateBound() bool {
	return !p.Auto && p.Pushbacks == 0 && p.Pauses == 0 && p.Attempts >= 20 &&
		float64(p.Attempts) >= 2*p.Rate && 2*p.Queued >= p.Attempts
}

// pacer is the client's pace: the limiter every request waits on, with the controller of
// --rate auto behind it, and the counts of PaceReport.
//
// A fixed rate uses x/time/rate's limiter. --rate auto uses a limiter of its own: the rate
// changes with every answer, and x/time/rate keeps the times it already promised to requests
// waiting when the rate changes, so that after a rise the old, slow promises and the new,
// fast ones add up to more than the new rate for a while. Here only the first of the waiting
// requests waits for the next slot, and it looks again when the rate changes. The slots are
// one interval apart, so no second holds more than rate+1 of them; a request sent late for
// its slot (see catchUp) lets the ones behind it catch up.
type pacer struct {
	limiter *rate.Limiter // a fixed rate; nil with auto

	mu     sync.Mutex
	ctl    *pace.Controller // nil: a fixed rate
	rate   float64          // auto's current rate
	last   time.Time        // auto: when the last request was let go
	moved  chan struct{}    // auto: closed (and replaced) when the rate changes
	queue  []chan struct{}  // auto: the requests waiting, in order; each told when it is first
	conc   int              // the controller's advice; 0 when fixed
	report PaceReport
}

func newPacer(r float64, burst int, auto *AutoPace) *pacer {
	p := &pacer{}
	if auto == nil {
		p.limiter = rate.NewLimiter(rate.Limit(r), burst)
		p.report = PaceReport{Rate: r}
		return p
	}
	cfg := pace.Config{Max: auto.Max, Start: auto.Start, StartIsLimit: auto.StartIsLimit, Concurrency: auto.Concurrency}
	p.ctl = pace.New(cfg, time.Now())
	p.conc = p.ctl.Concurrency()
	p.rate, p.moved = p.ctl.Rate(), make(chan struct{})
	start := "cold"
	switch {
	case auto.Start > 0 && auto.StartIsLimit:
		start = "learned limit"
	case auto.Start > 0:
		start = "learned rate"
	}
	p.report = PaceReport{Auto: true, MaxRate: cfg.Max, Start: start, StartRate: p.ctl.Rate()}
	if p.report.MaxRate <= 0 {
		p.report.MaxRate = pace.DefaultMax
	}
	return p
}

// attempted is one attempt's answer (resp nil: none) or failure, for the pace. It returns the
// pause the pace asks of every request (RateLimit with no quota left), 0 for none.
func (p *pacer) attempted(method string, sent, done time.Time, queued bool, resp *response, err error) time.Duration {
	o := pace.Outcome{Method: method, Sent: sent, Done: done, Queued: queued, Quota: pace.NoQuota}
	if resp != nil {
		o.Status = resp.status
		if o.Status >= 400 {
			o.RetryAfter, _ = retryAfter(resp.header.Get("Retry-After"), done)
		}
		o.Quota = pace.ParseQuota(resp.header.Values, done)
	}
	o.TimedOut = errors.Is(err, errTimedOut)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.report.Attempts++
	if queued {
		p.report.Queued++
	}
	if o.Status == 429 || o.Status == 503 || (o.Status >= 400 && o.RetryAfter > 0) {
		p.report.Pushbacks++
	}
	if p.ctl == nil {
		return 0
	}
	d := p.ctl.Observe(o)
	if d.Rate != p.rate {
		p.rate = d.Rate
		close(p.moved)
		p.moved = make(chan struct{})
	}
	p.conc = d.Concurrency
	return d.Pause
}

// take waits for the request's turn at the rate, and reports whether it had to wait.
func (p *pacer) take(ctx context.Context) (queued bool, err error) {
	if p.limiter != nil {
		// Reserve and sleep rather than Limiter.Wait: Wait fails at once, with an error that
		// is not context.DeadlineExceeded, when the deadline is nearer than the token.
		now := time.Now()
		r := p.limiter.ReserveN(now, 1)
		if !r.OK() {
			return false, errors.New("rate limiter refuses every request")
		}
		delay := r.DelayFrom(now)
		if err := sleep(ctx, delay); err != nil {
			r.Cancel()
			return delay > 0, err
		}
		return delay > 0, nil
	}
	return p.takeAuto(ctx)
}

// catchUp is how late for its slot a request may be and still count as on schedule, the
// requests behind it catching up: about what a busy machine delays a timer by. An idle
// spell is longer.
const catchUp = 100 * time.Millisecond

// takeAuto is take with --rate auto. Requests wait in order: only the first waits for the
// slot (and for a change of rate), the others for their turn to be first, so that each
// request costs one wake-up, not one per waiting request.
func (p *pacer) takeAuto(ctx context.Context) (queued bool, err error) {
	me := make(chan struct{}, 1)
	p.mu.Lock()
	p.queue = append(p.queue, me)
	for {
		if p.queue[0] != me {
			p.mu.Unlock()
			queued = true
			err := await(ctx, me)
			p.mu.Lock()
			if err != nil {
				p.leave(me)
				p.mu.Unlock()
				return queued, err
			}
			continue
		}
		now := time.Now()
		interval := time.Duration(float64(time.Second) / p.rate)
		next := p.last.Add(interval)
		if !now.Before(next) {
			// A request late for its slot (a busy machine fires timers late, by tens of
			// milliseconds under load) keeps to the schedule: the next slot is one interval
			// after this one, so lateness does not add up and lower the rate, and the
			// requests behind catch up. Later than catchUp (or a slot, if longer), the rate
			// was idle: a new schedule from now, with no credit saved (burst 1).
			if late := now.Sub(next); late < max(interval, catchUp) {
				p.last = next
			} else {
				p.last = now
			}
			p.leave(me)
			p.mu.Unlock()
			return queued, nil
		}
		moved := p.moved
		p.mu.Unlock()
		queued = true
		err := sleepOr(ctx, next.Sub(now), moved)
		p.mu.Lock()
		if err != nil {
			p.leave(me)
			p.mu.Unlock()
			return queued, err
		}
	}
}

// leave takes a request out of the queue, and tells the next one when it becomes first.
// The caller holds mu.
func (p *pacer) leave(me chan struct{}) {
	i := slices.Index(p.queue, me)
	if i < 0 {
		return
	}
	p.queue = slices.Delete(p.queue, i, i+1)
	if i == 0 && len(p.queue) > 0 {
		select {
		case p.queue[0] <- struct{}{}:
		default:
		}
	}
}

// paused counts a pause every request honours.
func (p *pacer) paused() {
	p.mu.Lock()
	p.report.Pauses++
	p.mu.Unlock()
}

// concurrency is the controller's advice on requests in flight; 0 when the rate is fixed.
func (p *pacer) concurrency() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conc
}

func (p *pacer) snapshot() PaceReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.report
	if p.ctl != nil {
		r.Rate = p.ctl.Rate()
		r.Learned = p.ctl.Learned()
		r.Changes, r.Dropped = p.ctl.Changes()
	}
	return r
}

// Pace returns how the client paced its requests so far.
func (c *Client) Pace() PaceReport { return c.pacer.snapshot() }

// ConcurrencyLimit is how many requests the client advises to have in flight now: with
// --rate auto the latency guard lowers it while the server slows down (a server that queues
// is about to refuse). 0 means no advice: the rate is fixed.
func (c *Client) ConcurrencyLimit() int { return c.pacer.concurrency() }
