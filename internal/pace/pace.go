// Package pace is the arithmetic of `--rate auto`: from the answers a server gives (status,
// Retry-After, RateLimit headers, latency) it decides the request rate and the number of
// requests in flight to use next. It is pure, as vegeta's pacer is: no clock, no goroutines,
// no I/O; every input carries its own time, so the same answers always give the same pace and
// tests drive it with tables. internal/api feeds it and applies its decisions.
//
// The controller, in the order it listens:
//
//   - RateLimit-Policy (a quota per window) is the server's own word: the rate goes straight
//     to it (a hair below), and it is never probed past. RateLimit with no quota left pauses
//     until its window ends; a window with little left is a ceiling. (Retry-After pauses are
//     applied by the client, which shares them between every request.)
//   - Without headers it starts at the limit learned for the server by an earlier run, and
//     holds just below it; else it starts at ColdRate (or at the rate an earlier run saw
//     accepted) and multiplies the rate every round (a quarter second and at least four
//     answers) while the requests were held back by the rate itself and nothing pushed back.
//   - Pushback (429, 503, a Retry-After, or latency well above the run's own baseline) ends
//     the ramp. The rate then holds just below the rate the server accepted, estimated from
//     the 2xx answers (see fit), not from what was sent: a token bucket that still had its
//     burst lets far more through for a moment than it sustains, and a client that takes the
//     send rate at the first 429 for the limit keeps running into it.
//   - While holding, after a quiet spell, it probes upward, gently at first (a percent of
//     the estimate per second), then faster the longer nothing pushes back; the next pushback
//     re-estimates from the answers since the previous one. Each pushback that finds the
//     limit where the last one did doubles the quiet spell: a long run refuses rarely.
//   - The latency guard: when the latency of answers rises well above the run's baseline, the
//     concurrency comes down (a server that queues is about to refuse), and goes back up one
//     at a time once the latency is back near the baseline.
package pace

import (
	"math"
	"slices"
	"time"
)

// ColdRate is the first rate for a server the tool has never learned: the fixed --rate
// default, which Polarity servers are known to take.
const ColdRate = 5.0

// DefaultMax is the default --max-rate.
const DefaultMax = 50.0

// The controller's constants. Each trades speed for refusals; the figures in README
// "Performance" were measured with these.
const (
	// roundMin and roundAnswers bound a slow-start round, and growth is the rate's step
	// per round: from ColdRate, the rounds end after 0.8 s, then every quarter second, so
	// that a limit of 5/s gets at most 8 requests in the first second and one of 60/s is
	// reached in about 1.2 s. From a learned floor the step is floorGrowth: that rate is
	// known to be near what the server takes.
	roundMin     = 250 * time.Millisecond
	roundAnswers = 4
	growth       = 4.0
	floorGrowth  = 2.0
	// margin is how far below the estimated limit the rate holds. Small: holding low costs
	// throughput for the whole run, while an estimate a little high costs only a refusal now
	// and then (the pause it brings is about what the bucket's burst, refilled meanwhile,
	// gave before it: a wash).
	margin = 0.02
	// learnedMargin is the margin below a limit an earlier run learned: that run measured it
	// over many refusals' worth of answers.
	learnedMargin = 0.01
	// policyMargin is how far below a RateLimit-Policy the rate holds: the server said it.
	policyMargin = 0.01
	// probeAfter is the quiet spell after a cut before probing upward. The probe then adds
	// probeLinear of the held rate per second, plus probeCubic per second cubed: gentle near
	// the estimate, where a bucket with a burst turns every probe that finds the limit into a
	// pause, and faster the longer nothing pushes back, which is how an estimate that came
	// out low (a burst smaller than assumed) recovers. CUBIC's shape, beyond its W_max.
	probeAfter  = 2 * time.Second
	probeLinear = 0.01
	probeCubic  = 0.0001
	// confirmTolerance is how near a new estimate must be to the last to confirm it; each
	// confirmation doubles probeAfter, up to maxConfirmed times (64 s). A limit learned by
	// an earlier run starts as confirmed learnedConfirmed times.
	confirmTolerance = 0.05
	maxConfirmed     = 5
	learnedConfirmed = 2
	// assumedBurst is the burst the estimate assumes a gateway's token bucket holds: one
	// second's worth, the usual default (and polarity-fake's). A smaller burst makes the
	// estimate low (the probe then climbs), a larger one high (the next refusal corrects it).
	assumedBurst = time.Second
	// minRate is the lowest rate the controller uses.
	minRate = 0.2
	// keepAccepted bounds the accepted requests kept for the estimate.
	keepAccepted = 20000
	// maxChanges bounds the pace log kept for the report.
	maxChanges = 500
)

// The latency guard's constants. The latency compared is the median of the last latWindow
// answers of a method, so that one slow answer (a pause of the client's own garbage
// collector, a busy machine) is no signal, while a server that queues, slowing every answer,
// is; the baseline is the lowest that median has been in the run. "Well above" the baseline
// is twice it plus 20 ms (the absolute part keeps loopback-fast servers, whose latency
// doubles on any hiccup, from tripping it), "back near" is 1.5 times plus 10 ms.
const (
	latWindow     = 9
	latHighFactor = 2.0
	latHighAdd    = 20 * time.Millisecond
	latOKFactor   = 1.5
	latOKAdd      = 10 * time.Millisecond
	latCooldown   = time.Second
	concCut       = 0.7
)

// Config is the start of a controller.
type Config struct {
	// Max is the highest rate ever used (--max-rate); 0 means DefaultMax.
	Max float64
	// Start is the rate learned for this server by an earlier run; 0 starts cold.
	Start float64
	// StartIsLimit says the server enforced Start (it pushed back): the controller holds
	// just below it from the first request. Otherwise Start is only a rate the server took,
	// and the ramp goes on from it.
	StartIsLimit bool
	// Concurrency is the most requests in flight (--concurrency); the latency guard lowers
	// the limit below it. 0 means 1.
	Concurrency int
}

// Outcome is one attempt as the client saw it.
type Outcome struct {
	// Method is the request's HTTP method: latency baselines are kept per method, since a
	// list read and a write need not take the same time.
	Method string
	// Sent is when the attempt left, after its turn at the rate limiter; Done when its answer
	// (or failure) came back.
	Sent, Done time.Time
	// Status is the HTTP status; 0 when there was no answer.
	Status int
	// TimedOut says the attempt ran out of time: latency beyond any baseline.
	TimedOut bool
	// Queued says the attempt waited for its turn at the rate limiter: the rate, not the
	// workers, was holding requests back.
	Queued bool
	// RetryAfter is the wait the answer asked for; 0 when it asked none.
	RetryAfter time.Duration
	// Quota is what the answer's RateLimit header fields said.
	Quota Quota
}

func (o Outcome) ok() bool { return o.Status >= 200 && o.Status <= 299 }

// pushback reports whether the answer is the server refusing for load.
func (o Outcome) pushback() bool {
	return o.Status == 429 || o.Status == 503 || (o.Status >= 400 && o.RetryAfter > 0)
}

// Decision is what the client should do after an outcome.
type Decision struct {
	// Rate is the requests per second to send at.
	Rate float64
	// Concurrency is the most requests to have in flight.
	Concurrency int
	// Pause is how long no request should start: the server said its quota is used up until
	// then. 0: no pause.
	Pause time.Duration
}

// Change is one entry of the pace log: a new rate or concurrency, and why.
type Change struct {
	At          time.Time
	Rate        float64
	Concurrency int
	Reason      string
}

// Reasons of a Change.
const (
	ReasonStart    = "start"
	ReasonLearned  = "learned"
	ReasonRamp     = "ramp"
	ReasonPushback = "pushback"
	ReasonRefit    = "refit"
	ReasonLatency  = "latency"
	ReasonPolicy   = "policy"
	ReasonQuota    = "quota"
	ReasonProbe    = "probe"
	ReasonRecover  = "recover"
)

// Learned is what a run found out about a server's pace, kept for its next run.
type Learned struct {
	// Rate is requests per second: the limit the server enforced when Limit, else the highest
	// rate it accepted.
	Rate float64
	// Limit says the server pushed back (or said its policy), so Rate is its limit.
	Limit bool
}

type phase int

const (
	ramping phase = iota
	holding
)

// Controller is the pace of one run. It is not safe for concurrent use: the client holds it
// under a lock.
type Controller struct {
	max    float64
	phase  phase
	rate   float64
	reason string
	limit  float64 // the estimated limit (requests/s), 0 while unknown
	policy float64 // the tightest RateLimit-Policy rate seen, 0 while none
	growth float64 // the slow-start step

	// The slow-start round.
	roundStart          time.Time
	roundN, roundQueued int

	// The estimate: send times of accepted requests (sorted), and the window since the last
	// counted refusal. prev* is the window before, refitted while its late answers arrive.
	accepted  []time.Time
	started   bool
	winStart  time.Time
	winFull   bool // the window began with the server's bucket full (the run's start)
	prevStart time.Time
	prevFull  bool
	prevEnd   time.Time // the refusal that closed the previous window; zero: none
	prevRate  float64   // the rate when that refusal was sent
	cutAt     time.Time // refusals of requests sent before this belong to the last cut
	// confirmed counts the refusals in a row that found the same limit; *Before are the
	// values before the last refusal, for its refit.
	confirmed, confirmedBefore int
	limitBefore                float64
	pushbacks                  int
	holdBase                   float64 // the rate held before probing
	ceiling                    float64 // a RateLimit window's ceiling, until ceilingEnd
	ceilingEnd                 time.Time

	// The latency guard.
	lat        map[string]*latency
	conc       int
	concMax    int
	concPolicy int
	concAt     time.Time

	// The highest accepted rate over a second, for Learned when no limit was met.
	floor     float64
	secStart  time.Time
	secCount  int
	changes   []Change
	truncated int
}

// latency is the recent latencies of one method, in seconds.
type latency struct {
	last [latWindow]float64 // a ring
	n    int                // answers seen
	base float64            // the lowest median so far; 0 until latWindow answers
}

func (l *latency) add(s float64) {
	l.last[l.n%latWindow] = s
	l.n++
}

func (l *latency) median() float64 {
	v := l.last
	slices.Sort(v[:])
	return v[latWindow/2]
}

// New returns a controller; now is the start of the run.
func New(cfg Config, now time.Time) *Controller {
	c := &Controller{max: cfg.Max, concMax: max(1, cfg.Concurrency), lat: map[string]*latency{}}
	if c.max <= 0 || math.IsNaN(c.max) {
		c.max = DefaultMax
	}
	c.conc = c.concMax
	c.roundStart = now
	c.growth = growth
	switch {
	case cfg.Start > 0 && cfg.StartIsLimit:
		c.phase, c.limit = holding, min(cfg.Start, c.max)
		c.confirmed = learnedConfirmed
		c.setHold(now, c.limit*(1-learnedMargin), ReasonLearned)
	case cfg.Start > 0:
		c.rate = clamp(cfg.Start, minRate, c.max)
		c.growth = floorGrowth
		c.log(now, ReasonLearned)
	default:
		c.rate = min(ColdRate, c.max)
		c.log(now, ReasonStart)
	}
	return c
}

// Rate is the requests per second to send at now.
func (c *Controller) Rate() float64 { return c.rate }

// Concurrency is the most requests to have in flight now.
func (c *Controller) Concurrency() int { return c.concurrency() }

func (c *Controller) concurrency() int {
	n := c.conc
	if c.concPolicy > 0 {
		n = min(n, c.concPolicy)
	}
	return max(1, n)
}

// Pushbacks counts the refusals for load seen so far (429, 503, Retry-After).
func (c *Controller) Pushbacks() int { return c.pushbacks }

// Limit is the estimated limit of the server in requests per second; 0 while unknown.
func (c *Controller) Limit() float64 { return c.limit }

// Learned is what the run found out, for the next run against the same server.
func (c *Controller) Learned() Learned {
	if c.limit > 0 {
		// Found in this run, or learned before and not contradicted.
		return Learned{Rate: c.limit, Limit: true}
	}
	return Learned{Rate: c.floor}
}

// Changes is the pace log: every change of rate or concurrency worth showing, in order.
// Dropped counts the entries left out once the log was full.
func (c *Controller) Changes() (log []Change, dropped int) {
	return slices.Clone(c.changes), c.truncated
}

// Observe takes one outcome and returns the pace to use from now on.
func (c *Controller) Observe(o Outcome) Decision {
	now := o.Done
	if !c.started {
		c.started, c.winStart, c.winFull = true, o.Sent, true
		c.secStart = o.Sent
	}
	var pause time.Duration

	if o.ok() {
		c.accept(o.Sent)
		c.second(o.Sent)
	}
	c.quota(o, now, &pause)

	switch {
	case o.pushback():
		c.pushbacks++
		c.refused(o, now)
	case o.ok() && c.late(o.Sent):
		c.refit(now)
	}

	c.guard(o, now)
	if c.phase == ramping && !o.pushback() {
		c.round(o, now)
	}
	if c.phase == holding {
		c.probe(now)
	}
	return Decision{Rate: c.effective(now), Concurrency: c.concurrency(), Pause: pause}
}

// effective is the rate with a RateLimit window's ceiling applied.
func (c *Controller) effective(now time.Time) float64 {
	r := c.rate
	if c.ceiling > 0 && now.Before(c.ceilingEnd) {
		r = min(r, c.ceiling)
	}
	return clamp(r, minRate, c.max)
}

// quota applies the RateLimit fields: a policy sets the rate, no quota left pauses, a
// window's quota is a ceiling until the window ends.
func (c *Controller) quota(o Outcome, now time.Time, pause *time.Duration) {
	q := o.Quota
	if q.PolicyConcurrency > 0 && q.PolicyConcurrency != c.concPolicy {
		c.concPolicy = q.PolicyConcurrency
		c.log(now, ReasonPolicy)
	}
	if q.PolicyRate > 0 && (c.policy == 0 || math.Abs(q.PolicyRate-c.policy) > 1e-9) {
		c.policy = q.PolicyRate
		// The server's word beats any estimate, up or down, unless a refusal showed the
		// server does not keep it (then the policy only caps the estimate).
		if c.pushbacks == 0 || c.limit == 0 || c.policy < c.limit {
			c.limit = c.policy
		}
		c.phase = holding
		c.setHold(now, c.limit*(1-policyMargin), ReasonPolicy)
	}
	switch {
	case q.Remaining == 0 && q.Window > 0:
		*pause = q.Window
		c.log(now, ReasonQuota)
	case q.Remaining > 0 && q.Window > 0:
		c.ceiling, c.ceilingEnd = float64(q.Remaining)/q.Window.Seconds(), now.Add(q.Window)
	}
}

// accept records an accepted request's send time, keeping the slice sorted: answers come
// back in the order they finish, not the order they left.
func (c *Controller) accept(sent time.Time) {
	i := len(c.accepted)
	for i > 0 && c.accepted[i-1].After(sent) {
		i--
	}
	c.accepted = slices.Insert(c.accepted, i, sent)
	if len(c.accepted) > keepAccepted {
		// The oldest go; a window that started before them is taken to start with the
		// bucket full, which a long spell without refusals makes true.
		drop := len(c.accepted) - keepAccepted/2
		c.accepted = slices.Delete(c.accepted, 0, drop)
		if c.winStart.Before(c.accepted[0]) {
			c.winStart, c.winFull = c.accepted[0], true
		}
	}
}

// second tracks the accepted requests per second, for Learned.
func (c *Controller) second(sent time.Time) {
	if d := sent.Sub(c.secStart); d >= time.Second {
		c.floor = max(c.floor, float64(c.secCount)/d.Seconds())
		c.secStart, c.secCount = sent, 0
	}
	c.secCount++
}

// refused handles a refusal for load: unless it belongs to the last cut (sent before the cut
// took effect), the limit is estimated from what the server accepted, and the rate holds
// just below it.
func (c *Controller) refused(o Outcome, now time.Time) {
	if o.Sent.Before(c.cutAt) {
		return
	}
	est := c.estimate(c.winStart, c.winFull, o.Sent, c.rate)
	if c.policy > 0 {
		est = min(est, c.policy)
	}
	hold := est * (1 - margin)
	c.limitBefore, c.confirmedBefore = c.limit, c.confirmed
	c.confirm(est)
	c.prevStart, c.prevFull, c.prevEnd, c.prevRate = c.winStart, c.winFull, o.Sent, c.rate
	c.winStart, c.winFull = o.Sent, false
	c.cutAt = now
	c.limit = est
	c.phase = holding
	c.setHold(now, hold, ReasonPushback)
}

// late reports whether an accepted request was sent before the refusal that closed the
// previous window, so that the estimate made then missed it.
func (c *Controller) late(sent time.Time) bool {
	return !c.prevEnd.IsZero() && sent.Before(c.prevEnd) && !sent.Before(c.prevStart)
}

// refit estimates the previous window again with a late answer in it.
func (c *Controller) refit(now time.Time) {
	est := c.estimate(c.prevStart, c.prevFull, c.prevEnd, c.prevRate)
	if c.policy > 0 {
		est = min(est, c.policy)
	}
	if math.Abs(est-c.limit) < 1e-9 {
		return
	}
	c.confirm(est)
	c.limit = est
	c.setHold(now, est*(1-margin), ReasonRefit)
}

// confirm counts the refusals in a row that found the limit where the one before did
// (within confirmTolerance): each doubles the quiet spell before the next probe, since a
// limit found again and again is the server's, and every probe that finds it costs a
// refusal and a pause.
func (c *Controller) confirm(est float64) {
	if c.limitBefore > 0 && math.Abs(est-c.limitBefore) <= confirmTolerance*c.limitBefore {
		c.confirmed = c.confirmedBefore + 1
	} else {
		c.confirmed = 0
	}
}

// estimate is the limit the server enforced in the window from start to the refusal at end:
// the rate fit finds, and never less than the accepted requests per second when the window
// began with the bucket empty (then that is a hard lower bound). It is at most the rate that
// was being sent (the server refused it) and at least minRate. A window with fewer than two
// accepted requests says nothing of a rate: then it is half the rate sent.
func (c *Controller) estimate(start time.Time, full bool, end time.Time, sending float64) float64 {
	lo := firstFrom(c.accepted, start)
	hi := firstFrom(c.accepted, end)
	acc := c.accepted[lo:hi]
	if len(acc) < 2 {
		return clamp(sending/2, minRate, c.max)
	}
	est := fit(acc, start, full, end, max(sending, c.max))
	if span := end.Sub(start).Seconds(); !full && span >= 1 {
		est = max(est, float64(len(acc))/span)
	}
	return clamp(est, minRate, max(sending, minRate))
}

// firstFrom returns the index of the first time in ts not before t.
func firstFrom(ts []time.Time, t time.Time) int {
	i, _ := slices.BinarySearchFunc(ts, t, func(a, b time.Time) int { return a.Compare(b) })
	return i
}

// fit estimates the rate L of a token bucket of capacity max(1, L·assumedBurst) — full at
// start when full, else empty — from the requests it admitted (send times, sorted, all after
// start) and the one it refused. The bucket's tokens grow with L, so two bisections find the
// range of rates that fit: from the lowest that admits every accepted request to the highest
// that has less than one token left at refused. Fit returns the middle of that range (with
// few answers it is wide, and its top is a guess that costs refusals), or, when no rate fits
// both (the bucket's burst is not what is assumed), the middle of the two bounds all the same.
func fit(accepted []time.Time, start time.Time, full bool, refused time.Time, hi float64) float64 {
	// run plays the requests through a bucket of rate l: whether it admits all of the
	// accepted ones, and the tokens left at refused. An accepted request the bucket could
	// not admit leaves it at zero rather than below: the server did admit it, so the model's
	// bucket was not emptier than that.
	run := func(l float64) (admitsAll bool, left float64) {
		capacity := max(1, l*assumedBurst.Seconds())
		tok, last := 0.0, start
		if full {
			tok = capacity
		}
		admitsAll = true
		for _, a := range accepted {
			tok = min(capacity, tok+a.Sub(last).Seconds()*l)
			last = a
			if tok < 1-1e-9 {
				admitsAll = false
			}
			tok = max(0, tok-1)
		}
		return admitsAll, min(capacity, tok+refused.Sub(last).Seconds()*l)
	}
	bisect := func(ok func(float64) bool) float64 { // the highest l in [0, hi] with ok(l)
		lo, up := 0.0, hi
		if ok(up) {
			return up
		}
		for range 50 {
			mid := (lo + up) / 2
			if ok(mid) {
				lo = mid
			} else {
				up = mid
			}
		}
		return lo
	}
	top := bisect(func(l float64) bool { _, left := run(l); return left < 1 })
	bottom := bisect(func(l float64) bool { all, _ := run(l); return !all })
	return (top + bottom) / 2
}

// round is slow start: at the end of each round, the rate grows if most requests waited
// for their turn at the rate limiter (the rate held them back, not the workers) and nothing
// pushed back.
func (c *Controller) round(o Outcome, now time.Time) {
	if !o.Sent.Before(c.roundStart) {
		c.roundN++
		if o.Queued {
			c.roundQueued++
		}
	}
	length := max(roundMin, time.Duration(float64(roundAnswers)/c.rate*float64(time.Second)))
	if now.Sub(c.roundStart) < length || c.roundN < roundAnswers {
		return
	}
	if 2*c.roundQueued >= c.roundN && c.rate < c.max {
		c.rate = min(c.max, c.rate*c.growth)
		c.log(now, ReasonRamp)
	}
	c.roundStart, c.roundN, c.roundQueued = now, 0, 0
}

// setHold holds at rate from now, then probes from it.
func (c *Controller) setHold(now time.Time, rate float64, reason string) {
	c.holdBase = clamp(rate, minRate, c.max)
	c.rate = c.holdBase
	c.cutAt = maxTime(c.cutAt, now)
	c.log(now, reason)
}

// probe raises the rate after a quiet spell, never past a RateLimit-Policy.
func (c *Controller) probe(now time.Time) {
	quiet := now.Sub(c.cutAt) - probeAfter<<min(c.confirmed, maxConfirmed)
	if quiet <= 0 {
		return
	}
	q := quiet.Seconds()
	r := c.holdBase * (1 + probeLinear*q + probeCubic*q*q*q)
	if c.policy > 0 {
		r = min(r, c.policy*(1-policyMargin))
	}
	r = clamp(r, minRate, c.max)
	if r <= c.rate {
		return
	}
	c.rate = r
	c.log(now, ReasonProbe)
}

// guard is the latency guard: per method, the median latency of the last answers against
// the lowest it has been in this run.
func (c *Controller) guard(o Outcome, now time.Time) {
	var d time.Duration
	switch {
	case o.ok():
		d = o.Done.Sub(o.Sent)
	case o.TimedOut:
		d = o.Done.Sub(o.Sent)
	default:
		return // refusals come back fast and say nothing of the server's load
	}
	l := c.lat[o.Method]
	if l == nil {
		l = &latency{}
		c.lat[o.Method] = l
	}
	l.add(d.Seconds())
	if l.n < latWindow {
		return
	}
	med := l.median()
	if l.base == 0 || med < l.base {
		l.base = med
	}
	high := med > latHighFactor*l.base+latHighAdd.Seconds()
	fine := med < latOKFactor*l.base+latOKAdd.Seconds()
	if now.Sub(c.concAt) < latCooldown {
		return
	}
	switch {
	case high:
		if c.phase == ramping {
			// Latency is pushback too: stop ramping, hold at what was accepted lately.
			c.limit = c.recentAccepted(now)
			c.phase = holding
			c.setHold(now, c.limit, ReasonLatency)
		}
		if n := int(float64(c.conc) * concCut); n < c.conc && c.conc > 1 {
			c.conc = max(1, n)
			c.concAt = now
			c.log(now, ReasonLatency)
		}
	case fine && c.conc < c.concMax:
		c.conc++
		c.concAt = now
		c.log(now, ReasonRecover)
	}
}

// recentAccepted is the accepted requests per second over the last second.
func (c *Controller) recentAccepted(now time.Time) float64 {
	from := now.Add(-time.Second)
	n := len(c.accepted) - firstFrom(c.accepted, from)
	return max(minRate, float64(n))
}

func (c *Controller) log(now time.Time, reason string) {
	ch := Change{At: now, Rate: c.effective(now), Concurrency: c.concurrency(), Reason: reason}
	if k := len(c.changes); k > 0 {
		last := c.changes[k-1]
		if reason == ReasonProbe && last.Concurrency == ch.Concurrency && ch.Rate < last.Rate*1.05 {
			return // probe steps are logged every 5%
		}
		if reason == ReasonRefit && (last.Reason == ReasonPushback || last.Reason == ReasonRefit) &&
			last.Concurrency == ch.Concurrency && ch.At.Sub(last.At) < time.Second {
			// Late answers refine the cut they follow: one entry, with the final rate.
			c.changes[k-1].Rate = ch.Rate
			return
		}
	}
	if len(c.changes) >= maxChanges {
		c.truncated++
		return
	}
	c.changes = append(c.changes, ch)
}

func clamp(v, lo, hi float64) float64 { return max(lo, min(hi, v)) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
