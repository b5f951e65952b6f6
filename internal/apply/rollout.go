package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Staging stages a run (apply --waves, --atomic): the integrations go out wave by wave, each
// wave is health-checked before the next starts, and a wave in which more than
// MaxFailPercent of the integrations failed stops the run, which --atomic then rolls back.
type Staging struct {
	// Waves holds the integration ids of each wave, in order (see Split). Targets with updates
	// that are in no wave go out in one more wave at the end.
	Waves [][]string
	// Passed marks, by number, the waves that passed in the run a resume continues: nothing
	// of them is sent or checked again.
	Passed map[int]bool
	// MaxFailPercent: a wave fails when more than this share of its integrations failed, by
	// their PATCH or by the health check (0: any failure).
	MaxFailPercent int
	// Health reads a wave's integrations back and says which integrations report errors.
	Health HealthReader
	// Pause, when not nil, is called once a wave is sent and before it is health-checked, when
	// another wave follows or the run is atomic (so that a late failure of the last wave can
	// still roll it back): it waits (--wave-pause), and returns ctx's error when interrupted.
	Pause func(ctx context.Context, w bulk.WaveOutcome) error
	// Next, when not nil, is called when a wave passed and another follows: nil goes on,
	// ErrStopped stops the run there, ErrRollBack rolls it back (with Atomic), ctx's error is
	// an interrupt.
	Next func(ctx context.Context, done, next bulk.WaveOutcome) error
	// Atomic restores every integration the run applied, when the run stops because of
	// failures; an interrupt never rolls back.
	Atomic bool
	// OnWave is called as each wave starts and as it ends, one call at a time.
	OnWave func(bulk.WaveOutcome)
	// OnRollback is called before the rollback's PATCHes are sent, with how many there are.
	OnRollback func(n int)
}

// HealthReader is what the health check reads; *api.Client is one.
type HealthReader interface {
	Reader
	// WithErrors lists the integrations that report integration errors; known is false when
	// the server does not say.
	WithErrors(ctx context.Context) (ids map[string]bool, known bool, err error)
}

// WaveRecorder is a Recorder that also keeps the waves (the journal does).
type WaveRecorder interface {
	RecordWave(bulk.WaveOutcome) error
}

// ErrStopped is Staging.Next's "do not start the next wave".
var ErrStopped = errors.New("stopped before the next wave")

// ErrRollBack is Staging.Next's "roll the run back" (with Atomic).
var ErrRollBack = errors.New("roll back")

// Outcome is what a run did: a result per target, in plan order, and the waves of a staged
// run.
type Outcome struct {
	Results []bulk.Result
	Waves   []bulk.WaveOutcome
	// Stopped says why a staged run stopped before its last wave ("" when it did not).
	Stopped string
	// RolledBack: --atomic rolled the run back (see the results for how each integration
	// fared).
	RolledBack bool
}

// Rollout applies the plan as Run does and, with Options.Staging, in waves: each wave is
// sent (Concurrency and the shared limiter within it), paused after (Staging.Pause), checked
// (values landed, still running, no new integration errors), recorded, and judged against
// MaxFailPercent; a failed wave starts no further wave, leaving the rest not attempted, and
// with Atomic every integration the run applied is restored. Failures are in the Outcome,
// never the error, which is ErrInterrupted, or ErrAborted for a run-ending cause.
func Rollout(ctx context.Context, srv Patcher, p bulk.Plan, opt Options) (Outcome, error) {
	if opt.Concurrency < 1 {
		return Outcome{}, fmt.Errorf("concurrency must be at least 1, not %d", opt.Concurrency)
	}
	r := newRunner(srv, p, opt)
	todo := r.settle()
	if opt.Staging == nil {
		// An interrupt that came while the last PATCHes were answered still counts.
		interrupted := r.dispatch(ctx, todo) || ctx.Err() != nil
		if !interrupted && opt.Verify != nil {
			r.verify(ctx, todo)
		}
		return Outcome{Results: r.results}, r.end(interrupted)
	}
	st := &stager{runner: r, s: opt.Staging, landed: make([]bool, len(p.Targets))}
	for i, t := range p.Targets {
		_, st.landed[i] = opt.Done[t.ID] // applied by the run a resume continues
	}
	return st.run(ctx, todo)
}

// stager runs the waves of a staged run.
type stager struct {
	*runner
	s      *Staging
	waves  []wave
	landed []bool // by target: a PATCH of this run (or the resumed one) reached the server
	// errs is the last answer about which integrations report errors; known says whether the
	// server said.
	errs  map[string]bool
	known bool
}

// wave is one wave as it runs: its record and the targets in it.
type wave struct {
	bulk.WaveOutcome
	idx []int // indexes of its targets
}

func (st *stager) run(ctx context.Context, todo []int) (Outcome, error) {
	st.split(todo)
	out := Outcome{}
	interrupted, failed := false, false
	if slices.ContainsFunc(st.waves, func(w wave) bool { return !st.finished(w) }) {
		st.errs, st.known = st.withErrors(ctx) // the errors reported before the first wave
	}
	for k := range st.waves {
		w := &st.waves[k]
		if st.finished(*w) {
			w.Status, w.Resumed = bulk.WavePassed, true
			continue
		}
		if interrupted || failed || out.Stopped != "" {
			continue // not started
		}
		interrupted, failed = st.runWave(ctx, w, k == len(st.waves)-1)
		switch {
		case interrupted:
		case failed:
			out.Stopped = st.failure(w)
		case k+1 < len(st.waves) && st.s.Next != nil:
			if err := st.s.Next(ctx, w.WaveOutcome, st.waves[k+1].WaveOutcome); err != nil {
				out.Stopped, interrupted, failed = st.answer(ctx, err, w)
			}
		}
	}
	if out.Stopped != "" {
		st.unsent(out.Stopped)
	}
	if failed && st.s.Atomic && st.abortErr() == nil {
		out.RolledBack = st.rollback(ctx)
		interrupted = interrupted || ctx.Err() != nil
	}
	for _, w := range st.waves {
		out.Waves = append(out.Waves, w.WaveOutcome)
	}
	out.Results = st.results
	return out, st.end(interrupted)
}

// split lays the targets at todo (and those a resume found done) out in the waves of
// Staging.Waves, in plan order within each; updates in no wave go in a last one.
func (st *stager) split(todo []int) {
	at := map[string]int{}
	for i, t := range st.plan.Targets {
		at[t.ID] = i
	}
	placed := map[int]bool{}
	for n, ids := range st.s.Waves {
		w := wave{WaveOutcome: bulk.WaveOutcome{Number: n + 1, Status: bulk.WaveNotStarted}}
		for _, id := range ids {
			if i, ok := at[id]; ok && st.plan.Targets[i].Updates() && !placed[i] {
				placed[i] = true
				w.idx = append(w.idx, i)
			}
		}
		slices.Sort(w.idx)
		st.waves = append(st.waves, w)
	}
	var rest []int
	for _, i := range todo {
		if !placed[i] {
			rest = append(rest, i)
		}
	}
	if len(rest) > 0 || len(st.waves) == 0 {
		st.waves = append(st.waves, wave{WaveOutcome: bulk.WaveOutcome{Number: len(st.waves) + 1, Status: bulk.WaveNotStarted}, idx: rest})
	}
	for k := range st.waves {
		for _, i := range st.waves[k].idx {
			st.waves[k].IDs = append(st.waves[k].IDs, st.plan.Targets[i].ID)
		}
	}
}

// finished reports whether a resume can pass w over: it passed in the run resumed and every
// integration in it is done. An --atomic rollback after a later wave failed restores a passed
// wave's integrations (the journal then no longer counts them done), and a failure that
// --max-fail-percent let pass is not done either: such a wave runs again for those.
func (st *stager) finished(w wave) bool {
	return st.s.Passed[w.Number] && !slices.ContainsFunc(w.idx, func(i int) bool { return st.results[i].Status == bulk.StatusNotAttempted })
}

// runWave sends w, pauses, checks it and judges it; it reports whether the run was
// interrupted, and whether the run must stop because of failures.
func (st *stager) runWave(ctx context.Context, w *wave, last bool) (interrupted, failed bool) {
	w.Started = st.now()
	st.announce(w.WaveOutcome)
	var send []int
	for _, i := range w.idx {
		if st.results[i].Status == bulk.StatusNotAttempted {
			send = append(send, i)
		}
	}
	interrupted = st.dispatch(ctx, send) || ctx.Err() != nil
	for _, i := range send {
		st.landed[i] = st.landed[i] || st.results[i].Status == bulk.StatusApplied
	}
	limit := st.opt.MaxFailures > 0 && st.failed.Load() >= int64(st.opt.MaxFailures)
	switch {
	case interrupted:
		w.Status = bulk.WaveInterrupted
	case st.abortErr() != nil:
		w.Status, failed = bulk.WaveStopped, true
	default:
		if st.s.Pause != nil && (!last || st.s.Atomic) {
			if err := st.s.Pause(ctx, w.WaveOutcome); err != nil {
				w.Status, interrupted = bulk.WaveInterrupted, true
				break
			}
		}
		st.check(ctx, w)
		w.Status = bulk.WavePassed
		if w.Failed*100 > st.s.MaxFailPercent*len(w.idx) {
			w.Status, failed = bulk.WaveFailed, true
		} else if limit {
			w.Status, failed = bulk.WaveStopped, true
		}
	}
	w.Finished = st.now()
	st.announce(w.WaveOutcome)
	return interrupted, failed
}

// unsent says on every integration the stop left unsent why it was not attempted.
func (st *stager) unsent(why string) {
	for i := range st.results {
		if res := &st.results[i]; res.Status == bulk.StatusNotAttempted && res.Error == "" {
			res.Error = "not attempted: " + why
		}
	}
}

// announce tells the world and the journal about a wave.
func (st *stager) announce(w bulk.WaveOutcome) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if wr, ok := st.opt.Journal.(WaveRecorder); ok && !w.Finished.IsZero() {
		if err := wr.RecordWave(w); err != nil {
			st.stop(fmt.Errorf("%w: %w", ErrJournal, err))
		}
	}
	if st.s.OnWave != nil {
		st.s.OnWave(w)
	}
}

// failure says why a failed wave stopped the run.
func (st *stager) failure(w *wave) string {
	switch {
	case w.Status == bulk.WaveFailed:
		return fmt.Sprintf("wave %d failed: %d of its %d %s failed, more than --max-fail-percent %d allows",
			w.Number, w.Failed, len(w.idx), bulk.Plural(len(w.idx), "integration", "integrations"), st.s.MaxFailPercent)
	case st.abortErr() != nil:
		return fmt.Sprintf("wave %d stopped: %v", w.Number, st.abortErr())
	}
	return fmt.Sprintf("wave %d stopped: --max-failures %d reached", w.Number, st.opt.MaxFailures)
}

// answer turns Staging.Next's error into how the run goes on.
func (st *stager) answer(ctx context.Context, err error, w *wave) (stopped string, interrupted, failed bool) {
	switch {
	case errors.Is(err, ErrRollBack) && st.s.Atomic:
		return fmt.Sprintf("rolled back at your answer after wave %d", w.Number), false, true
	case errors.Is(err, ErrStopped), errors.Is(err, ErrRollBack):
		return fmt.Sprintf("stopped at your answer after wave %d", w.Number), false, false
	case ctx.Err() != nil:
		return "", true, false
	}
	return fmt.Sprintf("stopped after wave %d: %v", w.Number, err), false, false
}

// withErrors asks which integrations report errors; a failure to ask counts as not knowing.
func (st *stager) withErrors(ctx context.Context) (map[string]bool, bool) {
	ids, known, err := st.s.Health.WithErrors(ctx)
	if err != nil {
		st.log.Warn("health check: could not read which integrations report errors; values and status still count", "err", err)
		return nil, false
	}
	return ids, known
}

// check is a wave's health check: it reads the wave's applied integrations back, and fails
// each one whose values did not land, that stopped running, or that reports integration
// errors it did not report before the wave. A failed integration is recorded again, so that
// a resume sends it again.
func (st *stager) check(ctx context.Context, w *wave) {
	var ids []string
	for _, i := range w.idx {
		if st.results[i].Status == bulk.StatusApplied {
			ids = append(ids, st.results[i].ID)
		}
	}
	before, knewBefore := st.errs, st.known
	if len(ids) == 0 {
		w.ErrorsKnown = knewBefore
		st.countFailed(w)
		return
	}
	state, readErr := st.s.Health.ReadIDs(ctx, ids)
	st.errs, st.known = st.withErrors(ctx)
	w.ErrorsKnown = knewBefore && st.known
	byID := make(map[string]bulk.Integration, len(state))
	for _, in := range state {
		byID[in.ID] = in
	}
	for _, i := range w.idx {
		res := &st.results[i]
		if res.Status != bulk.StatusApplied {
			continue
		}
		h := bulk.Health{ID: res.ID}
		in, ok := byID[res.ID]
		switch {
		case readErr != nil:
			h.Problems = append(h.Problems, "could not be read back: "+readErr.Error())
		case !ok:
			h.Problems = append(h.Problems, "the server no longer lists it")
		default:
			h.Problems = st.judge(i, in, before, w.ErrorsKnown)
		}
		if !h.OK() {
			unhealthy(res, h.Problems)
			st.mu.Lock()
			st.record(*res)
			st.mu.Unlock()
		}
		w.Health = append(w.Health, h)
	}
	st.countFailed(w)
}

// judge lists what is wrong with target i, read back as in, given the integrations that
// reported errors before the wave.
func (st *stager) judge(i int, in bulk.Integration, before map[string]bool, errorsKnown bool) []string {
	var problems []string
	one := st.results[i : i+1]
	Verify(one, map[string]bulk.Integration{in.ID: in})
	for _, o := range one[0].Options {
		if o.Verified == bulk.VerifyMismatch {
			problems = append(problems, "option "+o.Key+" did not land: the server holds another value or permission")
		}
	}
	if st.plan.Targets[i].Running && !in.Running() {
		problems = append(problems, fmt.Sprintf("it stopped running after the change (status now %q)", in.Status))
	}
	if errorsKnown && st.errs[in.ID] && !before[in.ID] {
		problems = append(problems, "it reports integration errors it did not report before the wave")
	}
	return problems
}

// unhealthy fails an applied integration that failed its health check, and the options it
// changed, with the reasons.
func unhealthy(res *bulk.Result, problems []string) {
	msg := "health check: " + strings.Join(problems, "; ")
	res.Status, res.Error = bulk.StatusFailed, msg
	for j := range res.Options {
		o := &res.Options[j]
		if o.Status == bulk.StatusApplied {
			o.Status, o.Error = bulk.StatusFailed, msg
		} else if o.Status == bulk.StatusFailed && !strings.HasPrefix(o.Error, "health check: ") {
			o.Error = msg + "; " + o.Error
		}
	}
}

// countFailed counts the wave's failed integrations.
func (st *stager) countFailed(w *wave) {
	w.Failed = 0
	for _, i := range w.idx {
		if st.results[i].Status == bulk.StatusFailed {
			w.Failed++
		}
	}
}
