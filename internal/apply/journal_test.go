package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// events is a Recorder and a Patcher that log what happens, in order.
type events struct {
	mu       sync.Mutex
	log      []string
	failSend int // Sending fails from this call on (1 = the first); 0: never
	failRec  int // Record fails from this call on; 0: never
	sends    int
	recs     int
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
}

func (e *events) Sending(t bulk.Target) error {
	return e.note(&e.sends, e.failSend, "sending "+t.ID)
}

func (e *events) Record(r bulk.Result) error {
	return e.note(&e.recs, e.failRec, "record "+r.ID+" "+string(r.Status))
}

// note counts a call in *n and logs line, or fails as a full disk does from call failAt on
// (0: never).
func (e *events) note(n *int, failAt int, line string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	*n++
	if failAt > 0 && *n >= failAt {
		return fmt.Errorf("write journal: %w", syscall.ENOSPC)
	}
	e.log = append(e.log, line)
	return nil
}

func (e *events) Patch(ctx context.Context, id string, items []api.PatchItem) (api.Outcome, error) {
	e.add("patch " + id)
	return api.Outcome{HTTPStatus: 200, Attempts: 1}, nil
}

func (e *events) patched() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, l := range e.log {
		if id, ok := strings.CutPrefix(l, "patch "); ok {
			out = append(out, id)
		}
	}
	return out
}

// TestRunJournalsBeforeSending: every PATCH is preceded by its journal entry; when that entry
// cannot be written, nothing more is sent: the PATCH it was for included, and the run ends
// with ErrJournal, the rest not attempted.
func TestRunJournalsBeforeSending(t *testing.T) {
	e := &events{}
	res, err := Run(t.Context(), e, planOf(6, 0), Options{Concurrency: 3, Journal: e})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		i := slices.Index(e.log, "sending "+r.ID)
		j := slices.Index(e.log, "patch "+r.ID)
		if i < 0 || j < 0 || i > j {
			t.Fatalf("%s: journal entry at %d, PATCH at %d: %v", r.ID, i, j, e.log)
		}
	}

	for _, conc := range []int{1, 4} {
		e := &events{failSend: 4}
		res, err := Run(t.Context(), e, planOf(10, 0), Options{Concurrency: conc, Journal: e})
		if !errors.Is(err, ErrAborted) || !errors.Is(err, ErrJournal) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("concurrency %d: err %v, want ErrAborted wrapping ErrJournal", conc, err)
		}
		if got := e.patched(); len(got) != 3 {
			t.Fatalf("concurrency %d: PATCHes %v, want the 3 journaled ones", conc, got)
		}
		counts := map[bulk.Status]int{}
		for _, r := range res {
			counts[r.Status]++
		}
		if counts[bulk.StatusApplied] != 3 || counts[bulk.StatusNotAttempted] != 7 {
			t.Errorf("concurrency %d: statuses %v", conc, counts)
		}
	}
}

// TestRunStopsWhenResultsCannotBeJournaled: a failed Record (the disk filled up during the
// run) stops dispatching too.
func TestRunStopsWhenResultsCannotBeJournaled(t *testing.T) {
	e := &events{failRec: 3}
	_, err := Run(t.Context(), e, planOf(20, 0), Options{Concurrency: 1, Journal: e})
	if !errors.Is(err, ErrJournal) {
		t.Fatalf("err %v", err)
	}
	// The third result fails to be written while the fourth integration may already have
	// its entry (written before): that one may go out; nothing after it.
	got := e.patched()
	if len(got) < 3 || len(got) > 4 {
		t.Fatalf("PATCHes %v, want 3 (or 4): none after the result that could not be written", got)
	}
	for _, id := range got {
		if i, j := slices.Index(e.log, "sending "+id), slices.Index(e.log, "patch "+id); i < 0 || i > j {
			t.Errorf("%s sent without its journal entry first: %v", id, e.log)
		}
	}
}

// failingFile accepts limit bytes, then fails every write with ENOSPC, as a full disk does:
// the write that crosses the limit is cut.
type failingFile struct {
	mu    sync.Mutex
	limit int
	data  []byte
	syncs int
}

func (f *failingFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	room := f.limit - len(f.data)
	if room >= len(p) {
		f.data = append(f.data, p...)
		return len(p), nil
	}
	f.data = append(f.data, p[:max(room, 0)]...)
	return max(room, 0), &os.PathError{Op: "write", Path: "journal.jsonl", Err: syscall.ENOSPC}
}

func (f *failingFile) Sync() error  { f.syncs++; return nil }
func (f *failingFile) Close() error { return nil }

// TestJournalFullDisk: once a write fails, the journal fails every later call (a cut line is
// never followed by more), and a run on it sends no PATCH whose entry is not whole.
func TestJournalFullDisk(t *testing.T) {
	ff := &failingFile{limit: 5000}
	j := &Journal{f: ff}
	e := &events{}
	_, err := Run(t.Context(), e, planOf(30, 0), Options{Concurrency: 2, Journal: j})
	if !errors.Is(err, ErrJournal) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err %v", err)
	}
	// Every PATCH sent has its whole entry, with the state before, in what was written.
	lines := strings.Split(string(ff.data), "\n")
	entries := map[string]bool{}
	for _, l := range lines {
		var en journalEntry
		if json.Unmarshal([]byte(l), &en) == nil && en.Sending {
			entries[en.Result.ID] = true
			if en.Previous["apiKey"] == nil {
				t.Errorf("entry for %s lacks the previous value: %s", en.Result.ID, l)
			}
		}
	}
	patched := e.patched()
	if len(patched) == 0 || len(patched) == 30 {
		t.Fatalf("%d PATCHes: the test did not fill the disk mid-run", len(patched))
	}
	for _, id := range patched {
		if !entries[id] {
			t.Errorf("%s was sent without a whole journal entry", id)
		}
	}
	if err := j.Record(bulk.Result{ID: "x"}); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a write after the failure: %v, want the first failure again", err)
	}
	if err := j.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close: %v, want the first failure", err)
	}
	t.Logf("%d PATCHes sent before the disk filled; %d bytes journaled", len(patched), len(ff.data))
}

// TestResumeKeepsBefore: a run sent every PATCH but its journal lost the outcomes (only the
// entries written before sending remain), then a verification failed for another. The resume
// plans against a server that already holds the new values: KeepBefore gives back the state
// before the first run, keeps the changes updates (sent again, the same values), and leaves
// alone options the journal never meant to change.
func TestResumeKeepsBefore(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, JournalHeader{Input: "in.csv", SHA256: "abc", Server: "http://127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	first := target("a", true) // apiKey (secret "old" → "k"), url flags → lock-hide
	first.Changes[0].Sensitive = true
	first.Changes[2].Current = bulk.NewPayload(json.RawMessage(`"old-url"`))
	first.Changes[2].Before = `"old-url"`
	second := target("b", true)
	second.Changes[2].Current = bulk.NewPayload(json.RawMessage(`"b-url"`))
	for _, tg := range []bulk.Target{first, second} {
		if err := j.Sending(tg); err != nil {
			t.Fatal(err)
		}
	}
	applied := bulk.Settle(second, bulk.StatusApplied, "")
	if err := j.Record(applied); err != nil {
		t.Fatal(err)
	}
	failed := applied
	failed.Status = bulk.StatusFailed // the read-back differed
	if err := j.Record(failed); err != nil {
		t.Fatal(err)
	}
	j.Close()

	_, done, err := ReadJournal(dir)
	if err != nil || len(done) != 0 {
		t.Fatalf("done %v, err %v: nothing is applied for sure", done, err)
	}
	before, err := ReadBefore(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Planned again: the server holds the new url value and permission, so url is unchanged.
	now := target("a", true)
	now.Changes[2] = bulk.Change{Line: 4, Key: "url", Action: bulk.ActionUnchanged, Before: `"u"`, After: `"u"`,
		BeforePermission: bulk.Permission{AdminOnly: true}, AfterPermission: bulk.Permission{AdminOnly: true},
		Send: bulk.NewPayload(json.RawMessage(`"u"`)), Current: bulk.NewPayload(json.RawMessage(`"u"`))}
	nowB := target("b", true)
	nowB.Changes[2].Current = bulk.NewPayload(json.RawMessage(`"u"`))
	p := KeepBefore(bulk.Plan{Targets: []bulk.Target{now, nowB, target("c", true)}}, before)

	url := p.Targets[0].Changes[2]
	if url.Action != bulk.ActionUpdate || !url.PermissionChanges || url.BeforePermission != (bulk.Permission{}) ||
		string(url.Current.Bytes()) != `"old-url"` || url.Before != `"old-url"` || string(url.Send.Bytes()) != `"u"` {
		t.Errorf("url after KeepBefore: %+v (current %s)", url, url.Current.Bytes())
	}
	if key := p.Targets[0].Changes[0]; key.Current.Present() || key.Action != bulk.ActionUpdate {
		t.Errorf("apiKey: a secret the journal did not keep must not take the server's value: %s", key.Current.Bytes())
	}
	if maxAge := p.Targets[0].Changes[1]; maxAge.Action != bulk.ActionUnchanged {
		t.Errorf("maxAge, never meant to change, became %s", maxAge.Action)
	}
	if got := string(p.Targets[1].Changes[2].Current.Bytes()); got != `"b-url"` {
		t.Errorf("b url before = %s, want the first run's", got)
	}
	if got := string(p.Targets[2].Changes[0].Current.Bytes()); got != `"old"` {
		t.Errorf("c, never sent, lost its own state: %s", got)
	}
	if string(now.Changes[2].Current.Bytes()) != `"u"` {
		t.Error("KeepBefore changed the plan it was given")
	}
}

// TestLockDir: a second lock of a locked report directory fails at once, naming the process
// that holds it; after Unlock it can be taken again. A symbolic link planted as the lock file
// is refused.
func TestLockDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rep")
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.PID != os.Getpid() {
		t.Fatalf("second lock: %v", err)
	}
	if want := fmt.Sprintf("report directory %s is in use by another polarity-bulk run (process %d)", dir, os.Getpid()); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l2.Unlock()

	other := filepath.Join(t.TempDir(), "rep")
	os.MkdirAll(other, 0o755)
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), filepath.Join(other, LockName)); err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(other); err == nil {
		t.Error("a symbolic link as the lock file was followed")
	}
}

// TestRunInterruptedWhileWaiting: an integration whose PATCH was never sent because the run
// was interrupted (or the server asked to wait too long) while it waited for its first
// attempt is not attempted; one interrupted between attempts failed.
func TestRunInterruptedWhileWaiting(t *testing.T) {
	srv := &patcher{fail: func(id string) error { return nil }}
	outcomes := map[string]struct {
		out api.Outcome
		err error
	}{
		"int_000": {api.Outcome{}, &api.Error{Op: "patch integration int_000", Err: context.Canceled}},
		"int_001": {api.Outcome{HTTPStatus: 429, Attempts: 2}, &api.Error{Op: "patch integration int_001", HTTPStatus: 429, Err: fmt.Errorf("interrupted while waiting to retry: %w", context.Canceled)}},
		"int_002": {api.Outcome{}, &api.Error{Op: "patch integration int_002", Err: api.ErrWaitTooLong}},
	}
	p := scripted(func(id string) (api.Outcome, error) { o := outcomes[id]; return o.out, o.err })
	res, _ := Run(t.Context(), p, planOf(3, 0), Options{Concurrency: 1})
	want := []bulk.Status{bulk.StatusNotAttempted, bulk.StatusFailed, bulk.StatusNotAttempted}
	for i, r := range res {
		if r.Status != want[i] || r.Error == "" {
			t.Errorf("%s: %s (%q), want %s with the reason", r.ID, r.Status, r.Error, want[i])
		}
	}
	_ = srv
}

// scripted is a Patcher answering from a function.
type scripted func(id string) (api.Outcome, error)

func (s scripted) Patch(_ context.Context, id string, _ []api.PatchItem) (api.Outcome, error) {
	return s(id)
}
