package apply

import (
	"context"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// restoreTarget is the PATCH that puts back what res's PATCH changed, as the plan read it
// before the run: each changed value whose old value was readable, and each changed
// permission. It returns the keys of the changed options whose value cannot be put back (a
// secret the server never showed), and false when there is nothing to send at all.
func restoreTarget(res bulk.Result) (bulk.Target, []string, bool) {
	t := bulk.Target{ID: res.ID, Name: res.Name, Running: true}
	var lost []string
	for _, o := range res.Options {
		if o.Action != bulk.ActionUpdate || o.Status != bulk.StatusApplied && o.Status != bulk.StatusFailed {
			continue
		}
		c := bulk.Change{
			Line: o.Line, Merged: o.Merged, Key: o.Key, Kind: o.Kind, Sensitive: o.Sensitive, Row: o.Row,
			Action: bulk.ActionUpdate, Before: o.After, After: o.Before, BeforePermission: o.AfterPermission, AfterPermission: o.AfterPermission,
		}
		switch {
		case o.Current.Present():
			// The old value, or for a permission-only change the value sent back with it.
			c.Send, c.ValueChanges = o.Current, o.ValueChanges
		case o.ValueChanges:
			lost = append(lost, o.Key)
		}
		if o.PermissionChanges {
			c.PermissionChanges, c.AfterPermission = true, o.BeforePermission
		}
		if c.Send.Present() || c.PermissionChanges {
			t.Changes = append(t.Changes, c)
		}
	}
	return t, lost, len(t.Changes) > 0
}

// rollback restores every integration whose PATCH reached the server in this run (or in the
// run it resumes), one PATCH each, through the same fan-out, limiter, retries and journal as
// the run itself. Each restored integration and option becomes rolled-back; an option that
// cannot be restored, and a rollback that failed, are said on the option (Rollback) and the
// integration (Error), never hidden. It reports whether it ran.
func (st *stager) rollback(ctx context.Context) bool {
	var targets []bulk.Target
	at := map[string]int{} // target id -> index in the run's results
	for i, res := range st.results {
		if !st.landed[i] {
			continue
		}
		t, lost, ok := restoreTarget(res)
		for j := range st.results[i].Options {
			if o := &st.results[i].Options[j]; slices.Contains(lost, o.Key) {
				o.Rollback = bulk.RollbackUnrestorable
			}
		}
		if ok {
			at[t.ID] = i
			targets = append(targets, t)
		}
	}
	if st.s.OnRollback != nil {
		st.s.OnRollback(len(targets))
	}
	opt := st.opt
	opt.MaxFailures, opt.Done, opt.Verify, opt.Staging = 0, nil, nil, nil
	opt.Journal = sendingOnly{st.opt.Journal} // the outcomes are recorded on the run's results
	opt.OnResult = func(r bulk.Result) {
		i := at[r.ID]
		restored(&st.results[i], r)
		st.mu.Lock()
		st.record(st.results[i])
		st.mu.Unlock()
	}
	rb := newRunner(st.srv, bulk.Plan{Targets: targets}, opt)
	todo := make([]int, len(targets))
	for j, t := range targets {
		rb.results[j] = bulk.Settle(t, bulk.StatusNotAttempted, "")
		todo[j] = j
	}
	rb.dispatch(ctx, todo)
	for j, r := range rb.results {
		if r.Status == bulk.StatusNotAttempted {
			notRestored(&st.results[at[targets[j].ID]], "not rolled back: the run was interrupted before its rollback was sent")
		}
	}
	return true
}

// restored puts the outcome of a rollback PATCH on the run's result it restores.
func restored(res *bulk.Result, rb bulk.Result) {
	if rb.Status != bulk.StatusApplied {
		notRestored(res, "rollback failed: "+rb.Error)
		return
	}
	prev := res.Error
	res.Status, res.Error = bulk.StatusRolledBack, "rolled back (--atomic)"
	if prev != "" {
		res.Error += " after: " + prev
	}
	sent := map[string]bool{}
	for _, o := range rb.Options {
		sent[o.Key] = true
	}
	for j := range res.Options {
		o := &res.Options[j]
		switch {
		case o.Rollback == bulk.RollbackUnrestorable && o.PermissionChanges:
			o.Rollback += " (its permission was restored)"
		case o.Rollback == "" && sent[o.Key]:
			o.Status = bulk.StatusRolledBack
		}
	}
}

// notRestored says on res and the options it changed why they are still changed.
func notRestored(res *bulk.Result, why string) {
	if res.Error == "" || !strings.HasPrefix(res.Error, why) {
		res.Error = strings.TrimSuffix(why+"; "+res.Error, "; ")
	}
	for j := range res.Options {
		o := &res.Options[j]
		if o.Action == bulk.ActionUpdate && (o.Status == bulk.StatusApplied || o.Status == bulk.StatusFailed) && o.Rollback == "" {
			o.Rollback = why
		}
	}
}

// sendingOnly passes the journal entries written before each PATCH through, and drops the
// outcomes: a rollback's outcome is recorded on the result of the integration it restores.
type sendingOnly struct{ j Recorder }

func (s sendingOnly) Sending(t bulk.Target) error {
	if s.j == nil {
		return nil
	}
	return s.j.Sending(t)
}

func (sendingOnly) Record(bulk.Result) error { return nil }
