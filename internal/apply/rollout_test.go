package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// healthServer is patcher with a state to read back: after a PATCH an integration holds what
// was sent, unless broken says it reports errors or stops.
type healthServer struct {
	patcher
	mu       sync.Mutex
	stopped  map[string]bool
	errs     map[string]bool
	broken   func(id string) (errs, stop bool)
	unknown  bool            // the server does not say which integrations report errors
	drifted  map[string]bool // read back with another value of url than was sent
	dropped  map[string]bool // not listed when read back
	readErr  error           // what ReadIDs answers instead of the state
	reads    int
	errReads int
}

func (h *healthServer) Patch(ctx context.Context, id string, items []api.PatchItem) (api.Outcome, error) {
	h.mu.Lock()
	stopped := h.stopped[id]
	h.mu.Unlock()
	if stopped {
		h.patcher.mu.Lock()
		if h.calls == nil {
			h.calls, h.items = map[string]int{}, map[string][]api.PatchItem{}
		}
		h.calls[id]++
		h.patcher.mu.Unlock()
		return api.Outcome{HTTPStatus: 400, Attempts: 1}, &api.Error{Op: "patch integration " + id, HTTPStatus: 400,
			Items: []api.ErrorItem{{Title: "Failed to update integration options", Detail: "Integration is not running"}}}
	}
	out, err := h.patcher.Patch(ctx, id, items)
	if err == nil && h.broken != nil {
		e, s := h.broken(id)
		h.mu.Lock()
		if h.errs == nil {
			h.errs = map[string]bool{}
		}
		if h.stopped == nil {
			h.stopped = map[string]bool{}
		}
		h.errs[id] = h.errs[id] || e
		h.stopped[id] = h.stopped[id] || s
		h.mu.Unlock()
	}
	return out, err
}

// ReadIDs answers what each integration was last sent, so that every value landed.
func (h *healthServer) ReadIDs(_ context.Context, ids []string) ([]bulk.Integration, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads++
	if h.readErr != nil {
		return nil, h.readErr
	}
	var out []bulk.Integration
	for _, id := range ids {
		if h.dropped[id] {
			continue
		}
		in := bulk.Integration{ID: id, Status: "running"}
		if h.stopped[id] {
			in.Status = "stopped"
		}
		h.patcher.mu.Lock()
		for _, it := range h.items[id] {
			o := bulk.Option{Key: it.Key, Kind: bulk.KindText, Readable: true, Value: it.Value.Bytes()}
			if h.drifted[id] && it.Key == "url" {
				o.Value = []byte(`"changed by another writer"`)
			}
			if it.Permission != nil {
				o.Permission = *it.Permission
			}
			in.Options = append(in.Options, o)
		}
		h.patcher.mu.Unlock()
		out = append(out, in)
	}
	return out, nil
}

func (h *healthServer) WithErrors(context.Context) (map[string]bool, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errReads++
	if h.unknown {
		return nil, false, nil
	}
	out := map[string]bool{}
	for id, e := range h.errs {
		out[id] = e
	}
	return out, true, nil
}

// staged is a plan of n targets, each updating one text option (readable: restorable) and
// one password (not restorable), and Options staging it in waves of the given sizes.
func staged(n int, sizes ...int) (bulk.Plan, [][]string) {
	var p bulk.Plan
	for i := range n {
		id := fmt.Sprintf("int_%02d", i)
		p.Targets = append(p.Targets, bulk.Target{ID: id, Name: "Name " + id, Status: "running", Running: true, Changes: []bulk.Change{
			{Line: 2 + 2*i, Key: "url", Kind: bulk.KindText, Action: bulk.ActionUpdate, ValueChanges: true,
				Before: `"old"`, After: `"new"`, Send: bulk.NewPayload(json.RawMessage(`"new"`)), Current: bulk.NewPayload(json.RawMessage(`"old"`))},
			{Line: 3 + 2*i, Key: "apiKey", Kind: bulk.KindPassword, Sensitive: true, Action: bulk.ActionUpdate, ValueChanges: true, PermissionChanges: true,
				Unreadable: true, BeforePermission: bulk.Permission{UserCanEdit: true}, AfterPermission: bulk.Permission{AdminOnly: true}, Send: bulk.NewPayload(json.RawMessage(`"k"`))},
		}})
	}
	var waves [][]string
	at := 0
	for _, s := range sizes {
		var w []string
		for _, t := range p.Targets[at : at+s] {
			w = append(w, t.ID)
		}
		waves, at = append(waves, w), at+s
	}
	return p, waves
}

func statuses(res []bulk.Result) []bulk.Status {
	var out []bulk.Status
	for _, r := range res {
		out = append(out, r.Status)
	}
	return out
}

func waveStatuses(ws []bulk.WaveOutcome) []bulk.WaveStatus {
	var out []bulk.WaveStatus
	for _, w := range ws {
		out = append(out, w.Status)
	}
	return out
}

// TestRolloutWaves: waves go out in order, each checked; an unhealthy integration fails its
// wave and no later wave starts; the errors reported before the first wave do not count
// against it.
func TestRolloutWaves(t *testing.T) {
	p, waves := staged(6, 1, 2, 3)
	srv := &healthServer{broken: func(id string) (bool, bool) { return id == "int_02", false }}
	srv.errs = map[string]bool{"int_01": true} // reported errors before the run: not new
	out, err := Rollout(t.Context(), srv, p, Options{Concurrency: 2, Staging: &Staging{Waves: waves, Health: srv}})
	if err != nil {
		t.Fatal(err)
	}
	want := []bulk.Status{"applied", "applied", "failed", "not-attempted", "not-attempted", "not-attempted"}
	if got := statuses(out.Results); !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if got := waveStatuses(out.Waves); !slices.Equal(got, []bulk.WaveStatus{"passed", "failed", "not-started"}) {
		t.Errorf("waves %v", got)
	}
	if out.Results[2].Error != "health check: it reports integration errors it did not report before the wave" || out.Waves[1].Failed != 1 {
		t.Errorf("int_02: %q; wave 2 %+v", out.Results[2].Error, out.Waves[1])
	}
	if out.Results[3].Error != "not attempted: "+out.Stopped || out.Stopped == "" {
		t.Errorf("int_03: %q (stopped %q)", out.Results[3].Error, out.Stopped)
	}
	// One errors read before wave 1, one after each checked wave; one read-back per wave.
	if srv.errReads != 3 || srv.reads != 2 || len(srv.calls) != 3 {
		t.Errorf("%d errors reads, %d read-backs, %d PATCHes", srv.errReads, srv.reads, len(srv.calls))
	}
}

// TestRolloutMaxFailPercent: more than P percent fails a wave; exactly P does not.
func TestRolloutMaxFailPercent(t *testing.T) {
	for _, tc := range []struct {
		bad  []string
		want bulk.WaveStatus
	}{
		{[]string{"int_01"}, bulk.WavePassed}, // 1 of 5: 20%
		{[]string{"int_01", "int_03"}, bulk.WaveFailed},
	} {
		p, waves := staged(10, 5, 5)
		srv := &healthServer{broken: func(id string) (bool, bool) { return false, slices.Contains(tc.bad, id) }}
		out, _ := Rollout(t.Context(), srv, p, Options{Concurrency: 3, Staging: &Staging{Waves: waves, Health: srv, MaxFailPercent: 20}})
		if out.Waves[0].Status != tc.want || out.Waves[0].Failed != len(tc.bad) {
			t.Errorf("%v: wave 1 %s with %d failed, want %s", tc.bad, out.Waves[0].Status, out.Waves[0].Failed, tc.want)
		}
		if sent := len(srv.calls); (tc.want == bulk.WavePassed) != (sent == 10) {
			t.Errorf("%v: %d integrations sent", tc.bad, sent)
		}
	}
}

// TestRolloutPauseAndNext: the pause comes after a wave is sent and before its check, not
// after the last wave unless the run is atomic; Next is asked between waves, and stops.
func TestRolloutPauseAndNext(t *testing.T) {
	for _, atomic := range []bool{false, true} {
		p, waves := staged(3, 1, 1, 1)
		srv := &healthServer{}
		var events []string
		st := &Staging{Waves: waves, Health: srv, Atomic: atomic,
			Pause: func(_ context.Context, w bulk.WaveOutcome) error {
				events = append(events, fmt.Sprintf("pause %d after %d read-backs", w.Number, srv.reads))
				return nil
			},
		}
		out, err := Rollout(t.Context(), srv, p, Options{Concurrency: 1, Staging: st})
		want := []string{"pause 1 after 0 read-backs", "pause 2 after 1 read-backs"}
		if atomic {
			want = append(want, "pause 3 after 2 read-backs")
		}
		if err != nil || !slices.Equal(events, want) || out.Stopped != "" {
			t.Errorf("atomic %v: %v %v %q, want %v", atomic, events, err, out.Stopped, want)
		}
	}
	p, waves := staged(3, 1, 1, 1)
	srv := &healthServer{}
	asked := 0
	st := &Staging{Waves: waves, Health: srv, Next: func(_ context.Context, done, next bulk.WaveOutcome) error {
		asked++
		if next.Number == 3 {
			return ErrStopped
		}
		return nil
	}}
	out, err := Rollout(t.Context(), srv, p, Options{Concurrency: 1, Staging: st})
	if err != nil || asked != 2 || out.Stopped != "stopped at your answer after wave 2" || out.Results[2].Status != bulk.StatusNotAttempted {
		t.Errorf("asked %d, stopped %q, err %v, %v", asked, out.Stopped, err, statuses(out.Results))
	}
}

// TestRolloutInterruptInPause: an interrupt during a pause ends the run at once: the wave is
// interrupted, the rest not started, nothing rolled back, ErrInterrupted.
func TestRolloutInterruptInPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, waves := staged(4, 2, 2)
		srv := &healthServer{}
		ctx, cancel := context.WithCancel(t.Context())
		st := &Staging{Waves: waves, Health: srv, Atomic: true, Pause: func(ctx context.Context, _ bulk.WaveOutcome) error {
			go func() { time.Sleep(time.Minute); cancel() }()
			<-ctx.Done()
			return ctx.Err()
		}}
		out, err := Rollout(ctx, srv, p, Options{Concurrency: 2, Staging: st})
		if !errors.Is(err, ErrInterrupted) || out.RolledBack {
			t.Fatalf("err %v, rolled back %v", err, out.RolledBack)
		}
		if got := waveStatuses(out.Waves); !slices.Equal(got, []bulk.WaveStatus{"interrupted", "not-started"}) {
			t.Errorf("waves %v", got)
		}
		if got := statuses(out.Results); !slices.Equal(got, []bulk.Status{"applied", "applied", "not-attempted", "not-attempted"}) {
			t.Errorf("statuses %v", got)
		}
		if srv.reads != 0 || len(srv.calls) != 2 {
			t.Errorf("%d read-backs, %d PATCHes", srv.reads, len(srv.calls))
		}
	})
}

// TestRolloutAtomic: a failed wave rolls back every integration whose PATCH landed, the
// unhealthy one included, with the values read before the run; the password, whose old value
// was never readable, is named as not restorable and only its permission goes back; an
// integration whose rollback is refused says so.
func TestRolloutAtomic(t *testing.T) {
	p, waves := staged(4, 2, 2)
	srv := &healthServer{broken: func(id string) (bool, bool) { return false, id == "int_03" }}
	var rollbacks int
	out, err := Rollout(t.Context(), srv, p, Options{Concurrency: 2, Staging: &Staging{Waves: waves, Health: srv, Atomic: true,
		OnRollback: func(n int) { rollbacks = n }}})
	if err != nil || !out.RolledBack || rollbacks != 4 {
		t.Fatalf("err %v, rolled back %v, %d rollback PATCHes", err, out.RolledBack, rollbacks)
	}
	if got := statuses(out.Results); !slices.Equal(got, []bulk.Status{"rolled-back", "rolled-back", "rolled-back", "failed"}) {
		t.Errorf("statuses %v", got)
	}
	for _, id := range []string{"int_00", "int_01", "int_02"} {
		items := srv.items[id] // the last PATCH: the rollback
		if srv.calls[id] != 2 || len(items) != 2 || string(items[0].Value.Bytes()) != `"old"` ||
			items[1].Value.Present() || items[1].Permission == nil || *items[1].Permission != (bulk.Permission{UserCanEdit: true}) {
			t.Errorf("%s: %d PATCHes, rollback items %+v", id, srv.calls[id], items)
		}
	}
	r := out.Results[0]
	if r.Options[0].Status != bulk.StatusRolledBack || r.Options[1].Status != bulk.StatusApplied ||
		r.Options[1].Rollback != bulk.RollbackUnrestorable+" (its permission was restored)" {
		t.Errorf("int_00 options %+v", r.Options)
	}
	f := out.Results[3]
	if f.Error != "rollback failed: patch integration int_03: 400 bad request: Failed to update integration options: Integration is not running; health check: it stopped running after the change (status now \"stopped\")" ||
		f.Options[0].Rollback == "" {
		t.Errorf("int_03: %q, options %+v", f.Error, f.Options)
	}
}

// TestRestoreTarget: what a rollback sends for each kind of change.
func TestRestoreTarget(t *testing.T) {
	old := bulk.NewPayload(json.RawMessage(`30`))
	res := bulk.Result{ID: "a", Options: []bulk.OptionResult{
		{Change: bulk.Change{Key: "value", Action: bulk.ActionUpdate, ValueChanges: true, Current: old}, Status: bulk.StatusApplied},
		{Change: bulk.Change{Key: "perm", Action: bulk.ActionUpdate, PermissionChanges: true, Current: old, BeforePermission: bulk.Permission{}, AfterPermission: bulk.Permission{AdminOnly: true}}, Status: bulk.StatusApplied},
		{Change: bulk.Change{Key: "hiddenPerm", Action: bulk.ActionUpdate, PermissionChanges: true, BeforePermission: bulk.Permission{UserCanEdit: true}}, Status: bulk.StatusApplied},
		{Change: bulk.Change{Key: "secret", Action: bulk.ActionUpdate, ValueChanges: true, Sensitive: true}, Status: bulk.StatusApplied},
		{Change: bulk.Change{Key: "same", Action: bulk.ActionUnchanged, Current: old}, Status: bulk.StatusUnchanged},
		{Change: bulk.Change{Key: "mismatch", Action: bulk.ActionUpdate, ValueChanges: true, Current: old}, Status: bulk.StatusFailed},
	}}
	tg, lost, ok := restoreTarget(res)
	if !ok || !slices.Equal(lost, []string{"secret"}) {
		t.Fatalf("ok %v, lost %v", ok, lost)
	}
	var keys []string
	for _, c := range tg.Changes {
		keys = append(keys, c.Key)
	}
	if !slices.Equal(keys, []string{"value", "perm", "hiddenPerm", "mismatch"}) {
		t.Fatalf("restores %v", keys)
	}
	if c := tg.Changes[1]; !c.PermissionChanges || c.AfterPermission != (bulk.Permission{}) || string(c.Send.Bytes()) != "30" {
		t.Errorf("a permission change goes back with the value sent back: %+v", c)
	}
	if c := tg.Changes[2]; c.Send.Present() || c.AfterPermission != (bulk.Permission{UserCanEdit: true}) {
		t.Errorf("a permission change of a hidden value goes back alone: %+v", c)
	}
	if _, lost, ok := restoreTarget(bulk.Result{Options: res.Options[3:4]}); ok || len(lost) != 1 {
		t.Errorf("only an unreadable secret: nothing to send (ok %v), lost %v", ok, lost)
	}
}

// TestRolloutResumedWaves: a resume skips the waves that passed and sends nothing done; a
// wave whose integrations were all sent before is only checked.
func TestRolloutResumedWaves(t *testing.T) {
	p, waves := staged(4, 2, 2)
	srv := &healthServer{}
	done := map[string]bulk.Result{}
	for _, id := range []string{"int_00", "int_01", "int_02"} {
		r := bulk.Settle(p.Targets[slices.IndexFunc(p.Targets, func(t bulk.Target) bool { return t.ID == id })], bulk.StatusApplied, "")
		for j := range r.Options {
			r.Options[j].Send = bulk.Payload{} // a journal keeps no value sent: the plan gives it back
		}
		done[id] = r
	}
	// What the resumed run sent int_02, as the server holds it.
	srv.calls = map[string]int{}
	srv.items = map[string][]api.PatchItem{"int_02": {{Key: "url", Value: bulk.NewPayload(json.RawMessage(`"new"`))}, {Key: "apiKey", Value: bulk.NewPayload(json.RawMessage(`"k"`)), Permission: &bulk.Permission{AdminOnly: true}}}}
	out, err := Rollout(t.Context(), srv, p, Options{Concurrency: 2, Done: done, Staging: &Staging{Waves: waves, Health: srv, Passed: map[int]bool{1: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.calls) != 1 || srv.calls["int_03"] != 1 {
		t.Errorf("PATCHes %v, want only int_03", srv.calls)
	}
	if !out.Waves[0].Resumed || out.Waves[1].Status != bulk.WavePassed || len(out.Waves[1].Health) != 2 || !out.Waves[1].Health[0].OK() ||
		out.Results[2].Options[0].Verified != bulk.VerifyOK {
		t.Errorf("waves %+v", out.Waves)
	}
}

// TestRolloutResumeAfterRollback: a wave that passed in the run resumed but whose integrations
// are no longer done (an --atomic rollback restored them after a later wave failed) runs
// again; passing it over would leave them never applied.
func TestRolloutResumeAfterRollback(t *testing.T) {
	p, waves := staged(3, 1, 1, 1)
	srv := &healthServer{}
	out, err := Rollout(t.Context(), srv, p, Options{Concurrency: 2, Staging: &Staging{Waves: waves, Health: srv, Passed: map[int]bool{1: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(out.Results); !slices.Equal(got, []bulk.Status{"applied", "applied", "applied"}) {
		t.Errorf("statuses %v", got)
	}
	if len(srv.calls) != 3 || srv.calls["int_00"] != 1 {
		t.Errorf("PATCHes %v, want one to each of the 3 integrations", srv.calls)
	}
	if w := out.Waves[0]; w.Resumed || w.Status != bulk.WavePassed || len(w.Health) != 1 {
		t.Errorf("wave 1 %+v: want run again, passed, checked", w)
	}
}

// TestRolloutHealthCheckFindings: each thing the health check after a wave finds fails the
// wave with its own problem: a value that did not land, an integration the server no longer
// lists, a read-back that failed; and a server that does not say which integrations report
// errors passes a healthy wave, saying so (ErrorsKnown false).
func TestRolloutHealthCheckFindings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		srv     *healthServer
		problem string // "" for a wave that passes
	}{
		{"did not land", &healthServer{drifted: map[string]bool{"int_00": true}}, "option url did not land: the server holds another value or permission"},
		{"no longer listed", &healthServer{dropped: map[string]bool{"int_00": true}}, "the server no longer lists it"},
		{"not read back", &healthServer{readErr: errors.New("connection refused")}, "could not be read back: connection refused"},
		{"errors unknown", &healthServer{unknown: true, broken: func(string) (bool, bool) { return true, false }}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, waves := staged(2, 1, 1)
			out, err := Rollout(t.Context(), tc.srv, p, Options{Concurrency: 1, Staging: &Staging{Waves: waves, Health: tc.srv}})
			if err != nil {
				t.Fatal(err)
			}
			w := out.Waves[0]
			if tc.problem == "" {
				if w.Status != bulk.WavePassed || w.ErrorsKnown || out.Waves[1].Status != bulk.WavePassed {
					t.Errorf("waves %+v: want both passed, errors not known", out.Waves)
				}
				return
			}
			if w.Status != bulk.WaveFailed || len(w.Health) != 1 || !slices.Contains(w.Health[0].Problems, tc.problem) {
				t.Errorf("wave 1 %+v: want failed with %q", w, tc.problem)
			}
			if out.Waves[1].Status != bulk.WaveNotStarted || tc.srv.calls["int_01"] != 0 {
				t.Errorf("wave 2 %s, %d PATCHes to int_01: want not started", out.Waves[1].Status, tc.srv.calls["int_01"])
			}
		})
	}
}
