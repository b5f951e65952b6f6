package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// patcher is an in-memory server: each PATCH takes latency, and fail decides refusals.
type patcher struct {
	latency time.Duration
	fail    func(id string) error

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	calls       map[string]int
	items       map[string][]api.PatchItem
}

func (p *patcher) Patch(ctx context.Context, id string, items []api.PatchItem) (api.Outcome, error) {
	p.mu.Lock()
	p.inFlight++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	if p.calls == nil {
		p.calls, p.items = map[string]int{}, map[string][]api.PatchItem{}
	}
	p.calls[id]++
	p.items[id] = items
	p.mu.Unlock()
	time.Sleep(p.latency)
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	if p.fail != nil {
		if err := p.fail(id); err != nil {
			return api.Outcome{HTTPStatus: 422, Attempts: 1}, err
		}
	}
	return api.Outcome{HTTPStatus: 200, Attempts: 1}, nil
}

func target(id string, update bool) bulk.Target {
	t := bulk.Target{ID: id, Name: "Name " + id, Running: true}
	act := bulk.ActionUnchanged
	if update {
		act = bulk.ActionUpdate
	}
	t.Changes = []bulk.Change{
		{Line: 2, Key: "apiKey", Action: act, ValueChanges: update, Send: bulk.NewPayload(json.RawMessage(`"k"`)), Current: bulk.NewPayload(json.RawMessage(`"old"`))},
		{Line: 3, Key: "maxAge", Action: bulk.ActionUnchanged, Send: bulk.NewPayload(json.RawMessage(`30`))},
		{Line: 4, Key: "url", Action: act, PermissionChanges: update, AfterPermission: bulk.Permission{AdminOnly: true}, Send: bulk.NewPayload(json.RawMessage(`"u"`))},
	}
	return t
}

func planOf(n int, everyUnchanged int) bulk.Plan {
	var p bulk.Plan
	for i := range n {
		p.Targets = append(p.Targets, target(fmt.Sprintf("int_%03d", i), everyUnchanged == 0 || i%everyUnchanged != 0))
	}
	return p
}

func TestRunSendsOnePatchPerChangedIntegration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &patcher{latency: 50 * time.Millisecond}
		p := planOf(20, 4) // 5 unchanged, 15 changed
		var seen []string
		res, err := Run(t.Context(), srv, p, Options{Concurrency: 3, OnResult: func(r bulk.Result) { seen = append(seen, r.ID) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 20 || len(seen) != 20 {
			t.Fatalf("results %d, callbacks %d", len(res), len(seen))
		}
		for i, r := range res {
			want := bulk.StatusApplied
			if i%4 == 0 {
				want = bulk.StatusUnchanged
			}
			if r.ID != p.Targets[i].ID || r.Status != want {
				t.Errorf("result %d: %s %s, want %s", i, r.ID, r.Status, want)
			}
			if got := srv.calls[r.ID]; (want == bulk.StatusApplied) != (got == 1) || got > 1 {
				t.Errorf("%s: %d PATCHes", r.ID, got)
			}
			if r.Options[1].Status != bulk.StatusUnchanged {
				t.Errorf("%s: unchanged option got %s", r.ID, r.Options[1].Status)
			}
		}
		if srv.maxInFlight != 3 {
			t.Errorf("max in flight %d, want 3", srv.maxInFlight)
		}
		items := srv.items["int_001"]
		if len(items) != 2 || items[0].Key != "apiKey" || items[0].Permission != nil || items[1].Permission == nil || !items[1].Permission.AdminOnly {
			t.Errorf("items sent: %+v", items)
		}
	})
}

func TestRunConcurrencyNeverExceeded(t *testing.T) {
	for _, c := range []int{1, 2, 7} {
		synctest.Test(t, func(t *testing.T) {
			srv := &patcher{latency: 10 * time.Millisecond}
			if _, err := Run(t.Context(), srv, planOf(40, 0), Options{Concurrency: c}); err != nil {
				t.Fatal(err)
			}
			if srv.maxInFlight != c {
				t.Errorf("concurrency %d: max in flight %d", c, srv.maxInFlight)
			}
		})
	}
}

// TestRunConcurrencyLimit: a Limit below Concurrency (the latency guard's advice) holds the
// PATCHes in flight to it, and when it moves, the next dispatches follow.
func TestRunConcurrencyLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &patcher{latency: 10 * time.Millisecond}
		var limit atomic.Int64
		limit.Store(2)
		var seen []int // in flight seen by each PATCH, after the limit moved
		done := 0
		opt := Options{Concurrency: 8, Limit: func() int { return int(limit.Load()) }, OnResult: func(bulk.Result) {
			done++
			if done == 20 {
				limit.Store(5) // raised: more in flight from now on
			}
			srv.mu.Lock()
			seen = append(seen, srv.inFlight)
			srv.mu.Unlock()
		}}
		res, err := Run(t.Context(), srv, planOf(60, 0), opt)
		if err != nil || len(res) != 60 {
			t.Fatal(err, len(res))
		}
		if srv.maxInFlight != 5 {
			t.Errorf("max in flight %d, want 5 (the raised limit)", srv.maxInFlight)
		}
		for i, n := range seen[:19] {
			if n > 2 {
				t.Fatalf("result %d: %d in flight under a limit of 2", i, n)
			}
		}
	})
}

func TestRunMaxFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &patcher{latency: time.Millisecond, fail: func(string) error { return errors.New("boom") }}
		res, err := Run(t.Context(), srv, planOf(10, 0), Options{Concurrency: 1, MaxFailures: 2})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[bulk.Status]int{}
		for _, r := range res {
			counts[r.Status]++
		}
		if counts[bulk.StatusFailed] != 2 || counts[bulk.StatusNotAttempted] != 8 {
			t.Fatalf("statuses %v", counts)
		}
		if len(srv.calls) != 2 {
			t.Fatalf("%d integrations were sent", len(srv.calls))
		}
	})
}

func TestRunInterruptLetsInFlightFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		srv := &patcher{latency: time.Second}
		go func() {
			time.Sleep(1500 * time.Millisecond) // two waves of 2 started, the second in flight
			cancel()
		}()
		res, err := Run(ctx, srv, planOf(10, 0), Options{Concurrency: 2})
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err %v", err)
		}
		counts := map[bulk.Status]int{}
		for _, r := range res {
			counts[r.Status]++
			if r.Status == bulk.StatusNotAttempted && srv.calls[r.ID] != 0 {
				t.Errorf("%s reported not-attempted but was sent", r.ID)
			}
			for _, o := range r.Options {
				if o.Status == "" {
					t.Errorf("%s %s has no status", r.ID, o.Key)
				}
			}
		}
		if counts[bulk.StatusApplied] != 4 || counts[bulk.StatusNotAttempted] != 6 {
			t.Fatalf("statuses %v (in-flight PATCHes must finish)", counts)
		}
	})
}

func TestRunAttributesServerErrorsToOptions(t *testing.T) {
	srv := &patcher{fail: func(id string) error {
		return &api.Error{Op: "patch integration " + id, HTTPStatus: 422, Items: []api.ErrorItem{{Title: "Invalid value", Detail: "must be a URL", Pointer: "/data/1/attributes/value", Key: "url"}}}
	}}
	res, err := Run(t.Context(), srv, planOf(1, 0), Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Status != bulk.StatusFailed || r.HTTPStatus != 422 {
		t.Fatalf("result %+v", r)
	}
	if !strings.Contains(r.Options[2].Error, "refused by the server (HTTP 422): Invalid value: must be a URL") {
		t.Errorf("url error %q", r.Options[2].Error)
	}
	if !strings.Contains(r.Options[0].Error, "because of option url") {
		t.Errorf("apiKey error %q", r.Options[0].Error)
	}
	if r.Options[1].Status != bulk.StatusUnchanged {
		t.Errorf("unchanged option: %s", r.Options[1].Status)
	}
}

func TestRunResumeSkipsDone(t *testing.T) {
	srv := &patcher{}
	p := planOf(3, 0)
	done := map[string]bulk.Result{"int_001": {ID: "int_001", Status: bulk.StatusApplied}}
	res, err := Run(t.Context(), srv, p, Options{Concurrency: 2, Done: done})
	if err != nil {
		t.Fatal(err)
	}
	if srv.calls["int_001"] != 0 || srv.calls["int_000"] != 1 || res[1].Status != bulk.StatusApplied {
		t.Fatalf("calls %v, results %+v", srv.calls, res)
	}
}

func TestRunRejectsZeroConcurrency(t *testing.T) {
	if _, err := Run(t.Context(), &patcher{}, planOf(1, 0), Options{}); err == nil {
		t.Fatal("concurrency 0 accepted: errgroup would block forever")
	}
}

func TestVerify(t *testing.T) {
	res := []bulk.Result{bulk.Settle(target("a", true), bulk.StatusApplied, "")}
	state := map[string]bulk.Integration{"a": {ID: "a", Options: []bulk.Option{
		{Key: "apiKey", Kind: bulk.KindPassword, Readable: false},
		{Key: "maxAge", Kind: bulk.KindNumber, Value: json.RawMessage(`30`), Readable: true},
		{Key: "url", Kind: bulk.KindText, Value: json.RawMessage(`"u"`), Readable: true, Permission: bulk.Permission{AdminOnly: true}},
	}}}
	Verify(res, state)
	// apiKey: a masked password, whose new value the server may have ignored: unknown, not
	// verified; its integration stays applied.
	if res[0].Status != bulk.StatusApplied || res[0].Options[0].Verified != bulk.VerifyUnknown || res[0].Options[2].Verified != bulk.VerifyOK {
		t.Fatalf("verified %+v", res[0])
	}
	if res[0].Options[1].Verified != bulk.VerifyNone {
		t.Fatal("unchanged option verified")
	}
	state["a"].Options[2].Value = json.RawMessage(`"other"`)
	res = []bulk.Result{bulk.Settle(target("a", true), bulk.StatusApplied, "")}
	Verify(res, state)
	if res[0].Status != bulk.StatusFailed || res[0].Options[2].Verified != bulk.VerifyMismatch || res[0].Options[2].Status != bulk.StatusFailed {
		t.Fatalf("mismatch not caught: %+v", res[0])
	}
	// A permission change alone is checked in full, masked value or not.
	perm := target("p", true)
	perm.Changes[0].Send = bulk.Payload{}
	perm.Changes[0].PermissionChanges, perm.Changes[0].ValueChanges = true, false
	res = []bulk.Result{bulk.Settle(perm, bulk.StatusApplied, "")}
	Verify(res, map[string]bulk.Integration{"p": {ID: "p", Options: state["a"].Options}})
	if res[0].Options[0].Verified != bulk.VerifyOK {
		t.Errorf("permission-only change of a masked password: %q, want verified", res[0].Options[0].Verified)
	}
	// In results JSON: true, false, or the text.
	for v, want := range map[bulk.Verification]string{bulk.VerifyOK: "true", bulk.VerifyMismatch: "false", bulk.VerifyUnknown: `"unknown (value unreadable)"`} {
		b, _ := json.Marshal(v)
		var back bulk.Verification
		if string(b) != want || json.Unmarshal(b, &back) != nil || back != v {
			t.Errorf("%q marshals as %s (back %q), want %s", v, b, back, want)
		}
	}
}

func TestJournalRoundTrip(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, JournalHeader{Input: "in.csv", SHA256: "abc", Server: "http://127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	applied := bulk.Settle(target("a", true), bulk.StatusApplied, "")
	applied.Options[0].Sensitive = true
	failed := bulk.Settle(target("b", true), bulk.StatusFailed, "boom")
	failed.Options[0].Sensitive = true
	for _, r := range []bulk.Result{applied, failed} {
		if err := j.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	// A torn line from a killed process.
	f, _ := os.OpenFile(filepath.Join(dir, JournalName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"result":{"id":"c","status":"appl`)
	f.Close()

	h, done, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h.SHA256 != "abc" || len(done) != 1 {
		t.Fatalf("header %+v, done %v", h, done)
	}
	a := done["a"]
	if a.Options[0].Current.Present() {
		t.Error("journal kept a sensitive previous value without --backup-secrets")
	}
	b, _ := os.ReadFile(filepath.Join(dir, JournalName))
	if strings.Contains(string(b), `"k"`) || strings.Contains(string(b), `"old"`) {
		t.Errorf("journal holds a value it must not: %s", b)
	}
	if got := string(a.Options[2].Current.Bytes()); got != "" {
		t.Errorf("previous value %q of an option whose current was not read", got)
	}
}

func TestRunStopsWhenCredentialsAreRefused(t *testing.T) {
	srv := &patcher{fail: func(id string) error {
		return &api.Error{Op: "patch integration " + id, HTTPStatus: 401, Err: api.ErrAuth}
	}}
	res, err := Run(t.Context(), srv, planOf(10, 0), Options{Concurrency: 1})
	if !errors.Is(err, ErrAborted) || !errors.Is(err, api.ErrAuth) {
		t.Fatalf("err %v, want ErrAborted wrapping ErrAuth", err)
	}
	counts := map[bulk.Status]int{}
	for _, r := range res {
		counts[r.Status]++
	}
	if counts[bulk.StatusFailed] != 1 || counts[bulk.StatusNotAttempted] != 9 || len(srv.calls) != 1 {
		t.Fatalf("statuses %v after %d PATCHes: one refusal of the credentials must stop the run", counts, len(srv.calls))
	}
}

// TestVerifyMismatchSays: a read-back mismatch names what differs, what was sent and what the
// server holds ("(sensitive)" for a secret, whatever it is), and that another writer may have
// changed it (issue 16).
func TestVerifyMismatchSays(t *testing.T) {
	const secret = "sekret-9f8e7d6c5b4a"
	lockHide, userProvides := bulk.Permission{AdminOnly: true}, bulk.Permission{UserCanEdit: true}
	for _, tc := range []struct {
		name string
		c    bulk.Change
		held *bulk.Option // nil: the option is gone
		want string
	}{
		{"a value",
			bulk.Change{Key: "url", Kind: bulk.KindText, ValueChanges: true, AfterPermission: lockHide, Send: bulk.NewPayload(json.RawMessage(`"https://new.example"`))},
			&bulk.Option{Key: "url", Kind: bulk.KindText, Value: json.RawMessage(`"https://other.example"`), Readable: true, Permission: lockHide},
			`value sent "https://new.example", the server holds "https://other.example"`},
		{"a permission",
			bulk.Change{Key: "url", Kind: bulk.KindText, PermissionChanges: true, AfterPermission: lockHide, Send: bulk.NewPayload(json.RawMessage(`"u"`))},
			&bulk.Option{Key: "url", Kind: bulk.KindText, Value: json.RawMessage(`"u"`), Readable: true, Permission: userProvides},
			"permission sent lock-hide, the server holds user-provides"},
		{"a secret",
			bulk.Change{Key: "apiKey", Kind: bulk.KindPassword, Sensitive: true, ValueChanges: true, AfterPermission: lockHide, Send: bulk.NewPayload(json.RawMessage(`"` + secret + `"`))},
			&bulk.Option{Key: "apiKey", Kind: bulk.KindPassword, Value: json.RawMessage(`"old-` + secret + `"`), Readable: true, Permission: lockHide},
			"value sent (sensitive), the server holds (sensitive)"},
		{"an option gone", bulk.Change{Key: "url", Kind: bulk.KindText, ValueChanges: true, Send: bulk.NewPayload(json.RawMessage(`"u"`))}, nil,
			"the integration no longer has option url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Line, tc.c.Action = 2, bulk.ActionUpdate
			in := bulk.Integration{ID: "a"}
			if tc.held != nil {
				in.Options = []bulk.Option{*tc.held}
			}
			res := []bulk.Result{bulk.Settle(bulk.Target{ID: "a", Running: true, Changes: []bulk.Change{tc.c}}, bulk.StatusApplied, "")}
			Verify(res, map[string]bulk.Integration{"a": in})
			o := res[0].Options[0]
			want := "read back different after the PATCH: " + tc.want + "; another writer may have changed it since"
			if o.Verified != bulk.VerifyMismatch || o.Error != want {
				t.Errorf("%s: %q\nwant %q", o.Verified, o.Error, want)
			}
			if strings.Contains(o.Error, secret) {
				t.Error("the secret is in the error")
			}
		})
	}
}
