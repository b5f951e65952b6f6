// Package apply sends a plan to the server: one PATCH per integration that has changes, fanned
// out over a fixed number of workers, one Result per integration whatever happens. It is the
// only place that starts goroutines for the fan-out; pacing and retries live in the API
// client, which every worker shares.
package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Patcher sends one integration's option changes; *api.Client is one.
type Patcher interface {
	Patch(ctx context.Context, integrationID string, items []api.PatchItem) (api.Outcome, error)
}

// Recorder keeps the journal of a run: what is about to be sent, and what each integration
// ended as. *Journal is one.
type Recorder interface {
	// Sending is called for each integration before its PATCH is sent, in dispatch order, one
	// call at a time: the entry it writes (with the options' state before the change) must be
	// kept before the server can change anything.
	Sending(bulk.Target) error
	// Record is called once per finished integration, one call at a time.
	Record(bulk.Result) error
}

// Reader reads integrations back after their PATCH; *api.Client is one.
type Reader interface {
	// ReadIDs reads at least the integrations with the given ids (it may return others), with
	// as few requests as the API allows; an id the server does not know is left out.
	ReadIDs(ctx context.Context, ids []string) ([]bulk.Integration, error)
}

// Options tune a run.
type Options struct {
	// Concurrency is the number of PATCHes in flight at once; it must be at least 1.
	Concurrency int
	// Limit, when set, is consulted before each PATCH is dispatched and may hold the number in
	// flight below Concurrency (--rate auto's latency guard: *api.Client.ConcurrencyLimit);
	// 0 or less means Concurrency.
	Limit func() int
	// MaxFailures stops dispatching once that many integrations failed; 0 means no limit.
	MaxFailures int
	// Done holds the results of integrations applied by an earlier, interrupted run of the same
	// file (--resume): they are not sent again.
	Done map[string]bulk.Result
	// Journal, when not nil, records the run. An error from it stops dispatching at once: a
	// PATCH is never sent unless the journal holds what it changes, so that neither a resume
	// nor backup.csv loses the state it replaced. The run then ends with ErrAborted wrapping
	// ErrJournal.
	Journal Recorder
	// Verify, when not nil, reads the applied integrations back once the PATCHes are done and
	// marks each option verified (see Verify); an integration whose read-back fails it is
	// recorded again, so that a resume sends it again. An interrupted run is not read back.
	Verify Reader
	// Staging, when not nil, stages the run in waves, health-checks each and may roll it back
	// (see Rollout); Verify is then not used: the health check reads the waves back.
	Staging *Staging
	// OnResult is called once per finished integration, one call at a time, in completion
	// order, after the journal recorded it. It is where progress is shown.
	OnResult func(bulk.Result)
	// Log receives the warnings of the run (a read-back that failed); nil discards them.
	Log *slog.Logger
	// Now is the clock for durations; nil means time.Now.
	Now func() time.Time
}

// ErrInterrupted means the run was stopped by its context: the results say what was and was
// not applied.
var ErrInterrupted = errors.New("interrupted")

// ErrAborted means the run stopped dispatching because of a condition that would fail every
// other integration too (the server refused the credentials, asked to wait longer than
// allowed or refused so much that the retry budget is spent; the journal cannot be written):
// the results say what was and was not applied, and the error wraps the cause.
var ErrAborted = errors.New("run stopped")

// ErrJournal marks a journal that could not be written.
var ErrJournal = errors.New("journal not written")

// runEnding reports whether a PATCH's error would be every other PATCH's too.
func runEnding(err error) bool {
	return errors.Is(err, api.ErrAuth) || errors.Is(err, api.ErrWaitTooLong) || errors.Is(err, api.ErrRetryBudget)
}

// Run applies the plan and returns one Result per target, in the plan's order: it sends,
// checks (Options.Verify) and records (Options.Journal). Integrations without updates are
// "unchanged" and get no request. Once ctx is cancelled no new PATCH is dispatched, PATCHes
// already on the wire finish, waits for a retry end at once (see api.KeepInFlight), and the
// rest are "not-attempted"; Run then returns the results with ErrInterrupted. A failed
// integration is a Result, never an error.
func Run(ctx context.Context, srv Patcher, p bulk.Plan, opt Options) ([]bulk.Result, error) {
	out, err := Rollout(ctx, srv, p, opt)
	return out.Results, err
}

// runner is one run of a plan: its results as they come in, and what stops it.
type runner struct {
	srv     Patcher
	plan    bulk.Plan
	opt     Options
	now     func() time.Time
	log     *slog.Logger
	results []bulk.Result
	mu      sync.Mutex            // serializes the journal and OnResult
	abort   atomic.Pointer[error] // the first run-ending cause
	failed  atomic.Int64          // integrations failed, for MaxFailures
}

func newRunner(srv Patcher, p bulk.Plan, opt Options) *runner {
	r := &runner{srv: srv, plan: p, opt: opt, now: opt.Now, log: opt.Log, results: make([]bulk.Result, len(p.Targets))}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// stop records the first run-ending cause.
func (r *runner) stop(err error) { r.abort.CompareAndSwap(nil, &err) }

// abortErr is the run-ending cause recorded so far, or nil.
func (r *runner) abortErr() error {
	if e := r.abort.Load(); e != nil {
		return *e
	}
	return nil
}

// report records a finished integration and shows it.
func (r *runner) report(res bulk.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(res)
	if r.opt.OnResult != nil {
		r.opt.OnResult(res)
	}
}

// record writes res to the journal; the caller holds mu.
func (r *runner) record(res bulk.Result) {
	if r.opt.Journal == nil {
		return
	}
	if err := r.opt.Journal.Record(res); err != nil {
		r.stop(fmt.Errorf("%w: %w", ErrJournal, err))
	}
}

// settle gives every target its starting result: done by an earlier run, unchanged, or not
// attempted yet; it returns the indexes of the targets to send.
func (r *runner) settle() []int {
	var todo []int
	for i, t := range r.plan.Targets {
		switch done, ok := r.opt.Done[t.ID]; {
		case ok:
			r.results[i] = withRows(done, t)
			r.report(done)
		case !t.Updates():
			r.results[i] = bulk.Settle(t, bulk.StatusUnchanged, "")
			r.report(r.results[i])
		default:
			r.results[i] = bulk.Settle(t, bulk.StatusNotAttempted, "")
			todo = append(todo, i)
		}
	}
	return todo
}

// withRows gives a result read back from a journal, which keeps neither the CSV rows nor the
// values sent, both from the plan (of the same file and values: a resume checks the file's
// hash and the values' digests): the rows for the reports in the input format, the values for
// a health check of the integration.
func withRows(res bulk.Result, t bulk.Target) bulk.Result {
	plan := map[string]bulk.Change{}
	for _, c := range t.Changes {
		plan[c.Key] = c
	}
	res.Options = slices.Clone(res.Options)
	for j := range res.Options {
		o := &res.Options[j]
		c, ok := plan[o.Key]
		if !ok {
			continue
		}
		if o.Row.Line == 0 {
			o.Row = c.Row
		}
		if !o.Send.Present() && o.Action == bulk.ActionUpdate {
			o.Send = c.Send
		}
	}
	return res
}

// dispatch sends the targets at the indexes todo, Concurrency at a time (fewer while Limit says
// so), and reports whether it stopped because ctx was cancelled.
func (r *runner) dispatch(ctx context.Context, todo []int) (interrupted bool) {
	// In-flight requests must finish even after an interrupt, so workers get a context whose
	// requests are never cancelled; the per-request timeout bounds them, and the waits between
	// attempts still end with ctx.
	work := api.KeepInFlight(ctx)
	var g errgroup.Group
	slots := newGate(r.opt.Concurrency, r.opt.Limit)
	defer func() { _ = g.Wait() }() // tasks never return errors: a failure is a Result
	for _, i := range todo {
		if !slots.acquire(ctx) {
			return true
		}
		// A slot may free up at the same moment as the interrupt: check again.
		if ctx.Err() != nil {
			slots.release()
			return true
		}
		if !r.mayStart(r.plan.Targets[i]) {
			slots.release()
			return false
		}
		g.Go(func() error {
			res, err := send(work, r.srv, r.plan.Targets[i], r.now)
			if res.Status == bulk.StatusFailed {
				r.failed.Add(1)
			}
			if runEnding(err) {
				r.stop(err)
			}
			// The PATCH is answered: its slot goes to the next one before the result is
			// reported, so that reporting (the journal's disk sync, one at a time) never holds
			// PATCHes back. The failure above is counted first, for --max-failures.
			slots.release()
			r.results[i] = res
			r.report(res)
			return nil
		})
	}
	return false
}

// mayStart reports whether t may be sent: no limit reached, nothing ending the run, and the
// journal holds the state t's PATCH replaces.
func (r *runner) mayStart(t bulk.Target) bool {
	if r.opt.MaxFailures > 0 && r.failed.Load() >= int64(r.opt.MaxFailures) || r.abort.Load() != nil {
		return false
	}
	if r.opt.Journal == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abort.Load() != nil {
		return false
	}
	if err := r.opt.Journal.Sending(t); err != nil {
		r.stop(fmt.Errorf("%w: %w", ErrJournal, err))
		return false
	}
	return true
}

// verify reads back the integrations at the indexes idx that were applied and checks what
// landed (see Verify); an integration whose status it changed is recorded again, since a
// failed verification must be sent again by a resume.
func (r *runner) verify(ctx context.Context, idx []int) {
	var ids []string
	for _, i := range idx {
		if r.results[i].Status == bulk.StatusApplied {
			ids = append(ids, r.results[i].ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	state, err := r.opt.Verify.ReadIDs(ctx, ids)
	if err != nil {
		r.log.Warn("read-back failed: the changes are applied but not verified", "err", err)
		return
	}
	byID := make(map[string]bulk.Integration, len(state))
	for _, in := range state {
		byID[in.ID] = in
	}
	for _, i := range idx {
		before := r.results[i].Status
		one := r.results[i : i+1]
		Verify(one, byID)
		if one[0].Status != before {
			r.mu.Lock()
			r.record(one[0])
			r.mu.Unlock()
		}
	}
}

// end is the error a run ends with: interrupted, stopped by a run-ending cause, or none.
func (r *runner) end(interrupted bool) error {
	if interrupted {
		return ErrInterrupted
	}
	if cause := r.abortErr(); cause != nil {
		return fmt.Errorf("%w: %w", ErrAborted, cause)
	}
	return nil
}

// send PATCHes one target and turns the answer into its Result; the error is the PATCH's, for
// telling run-ending failures apart.
func send(ctx context.Context, srv Patcher, t bulk.Target, now func() time.Time) (bulk.Result, error) {
	var items []api.PatchItem
	for _, c := range t.Changes {
		if c.Action != bulk.ActionUpdate {
			continue
		}
		it := api.PatchItem{Key: c.Key, Value: c.Send, Sensitive: c.Sensitive}
		if c.PermissionChanges {
			f := c.AfterPermission
			it.Permission = &f
		}
		items = append(items, it)
	}
	start := now()
	out, err := srv.Patch(ctx, t.ID, items)
	var r bulk.Result
	switch {
	case err == nil:
		r = bulk.Settle(t, bulk.StatusApplied, "")
	case out.Attempts == 0 && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || runEnding(err)):
		// Stopped while it waited for its first attempt: nothing reached the server.
		r = bulk.Settle(t, bulk.StatusNotAttempted, err.Error())
	default:
		r = bulk.Settle(t, bulk.StatusFailed, err.Error())
		attribute(&r, err)
	}
	r.HTTPStatus, r.Attempts, r.Duration = out.HTTPStatus, out.Attempts, now().Sub(start)
	return r, err
}

// attribute pins a refused PATCH's error items on the options they point at (JSON:API
// source.pointer → index of the item sent → option → CSV line). Options the server did not
// name are failed too, because the request as a whole was refused.
func attribute(r *bulk.Result, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return
	}
	named := map[string]string{}
	for _, it := range ae.Items {
		if it.Key == "" {
			continue
		}
		msg := it.Message()
		if prev := named[it.Key]; prev != "" {
			msg = prev + "; " + msg
		}
		named[it.Key] = msg
	}
	if len(named) == 0 {
		return
	}
	keys := slices.Sorted(maps.Keys(named))
	for i := range r.Options {
		o := &r.Options[i]
		if o.Status != bulk.StatusFailed {
			continue
		}
		if msg, ok := named[o.Key]; ok {
			o.Error = fmt.Sprintf("refused by the server (HTTP %d): %s", ae.HTTPStatus, msg)
		} else {
			o.Error = fmt.Sprintf("not applied: the server refused the request because of option %s", joinKeys(keys))
		}
	}
}

func joinKeys(keys []string) string { return strings.Join(keys, ", ") }
