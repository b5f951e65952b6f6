// Package apply sends a plan to the server: one PATCH per integration that has changes, fanned
// out over a fixed number of workers, one Result per integration whatever happens. It is the
// only place that starts goroutines for the fan-out; pacing and retries live in the API
// client, which every worker shares.
package apply

import (
	"context"
	"errors"
	"fmt"
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

// Options tune a run.
type Options struct {
	// Concurrency is the number of PATCHes in flight at once; it must be at least 1.
	Concurrency int
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
	// OnResult is called once per finished integration, one call at a time, in completion
	// order, after the journal recorded it. It is where progress is shown.
	OnResult func(bulk.Result)
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

// Run applies the plan and returns one Result per target, in the plan's order. Integrations
// without updates are "unchanged" and get no request. Once ctx is cancelled no new PATCH is
// dispatched, PATCHes already on the wire finish, waits for a retry end at once (see
// api.KeepInFlight), and the rest are "not-attempted"; Run then returns the results with
// ErrInterrupted. A failed integration is a Result, never an error.
func Run(ctx context.Context, srv Patcher, p bulk.Plan, opt Options) ([]bulk.Result, error) {
	if opt.Concurrency < 1 {
		return nil, fmt.Errorf("concurrency must be at least 1, not %d", opt.Concurrency)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	results := make([]bulk.Result, len(p.Targets))
	var abort atomic.Pointer[error] // the first run-ending cause
	stop := func(err error) { abort.CompareAndSwap(nil, &err) }
	var mu sync.Mutex // serializes the journal's Record and OnResult
	report := func(r bulk.Result) {
		mu.Lock()
		defer mu.Unlock()
		if opt.Journal != nil {
			if err := opt.Journal.Record(r); err != nil {
				stop(fmt.Errorf("%w: %w", ErrJournal, err))
			}
		}
		if opt.OnResult != nil {
			opt.OnResult(r)
		}
	}

	var todo []int
	for i, t := range p.Targets {
		switch done, ok := opt.Done[t.ID]; {
		case ok:
			results[i] = done
			report(done)
		case !t.Updates():
			results[i] = settle(t, bulk.StatusUnchanged, "")
			report(results[i])
		default:
			results[i] = settle(t, bulk.StatusNotAttempted, "")
			todo = append(todo, i)
		}
	}

	// In-flight requests must finish even after an interrupt, so workers get a context whose
	// requests are never cancelled; the per-request timeout bounds them, and the waits between
	// attempts still end with ctx.
	work := api.KeepInFlight(ctx)
	var g errgroup.Group
	sem := make(chan struct{}, opt.Concurrency)
	var failed atomic.Int64
	interrupted := false
dispatch:
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			interrupted = true
			break dispatch
		}
		// A slot may free up at the same moment as the interrupt: check again.
		if ctx.Err() != nil {
			interrupted = true
			<-sem
			break
		}
		if opt.MaxFailures > 0 && failed.Load() >= int64(opt.MaxFailures) || abort.Load() != nil {
			<-sem
			break
		}
		t := p.Targets[i]
		if opt.Journal != nil {
			mu.Lock()
			err := abortErr(&abort)
			if err == nil {
				if err = opt.Journal.Sending(t); err != nil {
					stop(fmt.Errorf("%w: %w", ErrJournal, err))
				}
			}
			mu.Unlock()
			if err != nil {
				<-sem
				break
			}
		}
		g.Go(func() error {
			r, err := send(work, srv, t, now)
			if r.Status == bulk.StatusFailed {
				failed.Add(1)
			}
			if runEnding(err) {
				stop(err)
			}
			// The PATCH is answered: its slot goes to the next one before the result is
			// reported, so that reporting (the journal's disk sync, one at a time) never holds
			// PATCHes back. The failure above is counted first, for --max-failures.
			<-sem
			results[i] = r
			report(r)
			return nil
		})
	}
	_ = g.Wait() // tasks never return errors: a failure is a Result
	if interrupted || ctx.Err() != nil {
		return results, ErrInterrupted
	}
	if cause := abort.Load(); cause != nil {
		return results, fmt.Errorf("%w: %w", ErrAborted, *cause)
	}
	return results, nil
}

// abortErr is the run-ending cause recorded so far, or nil.
func abortErr(p *atomic.Pointer[error]) error {
	if e := p.Load(); e != nil {
		return *e
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
		if c.FlagsChange {
			f := c.AfterFlags
			it.Flags = &f
		}
		items = append(items, it)
	}
	start := now()
	out, err := srv.Patch(ctx, t.ID, items)
	var r bulk.Result
	switch {
	case err == nil:
		r = settle(t, bulk.StatusApplied, "")
	case out.Attempts == 0 && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || runEnding(err)):
		// Stopped while it waited for its first attempt: nothing reached the server.
		r = settle(t, bulk.StatusNotAttempted, err.Error())
	default:
		r = settle(t, bulk.StatusFailed, err.Error())
		attribute(&r, err)
	}
	r.HTTPStatus, r.Attempts, r.Duration = out.HTTPStatus, out.Attempts, now().Sub(start)
	return r, err
}

// settle gives a target and its options a status: options that need no update are always
// "unchanged"; the others take the target's status.
func settle(t bulk.Target, status bulk.Status, errText string) bulk.Result {
	r := bulk.Result{ID: t.ID, Name: t.Name, Status: status, Error: errText}
	if status == bulk.StatusApplied && !t.Updates() {
		r.Status = bulk.StatusUnchanged
	}
	for _, c := range t.Changes {
		or := bulk.OptionResult{Change: c, Status: status, Error: errText}
		if c.Action != bulk.ActionUpdate {
			or.Status, or.Error = bulk.StatusUnchanged, ""
		}
		r.Options = append(r.Options, or)
	}
	return r
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
