package main

// The fault suite: polarity-bulk as a real child process against an in-process polarity-fake
// on 127.0.0.1 that misbehaves on purpose. Every test ends by comparing the server's final
// state with what the CSV asked for (or with the fixture, for rows that must not change) and
// by checking that every input row is in results.csv with a definite status: no row is ever
// lost. Nothing asserts a wall-clock duration; the tests wait for counts and states.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// runLimit bounds one run of the tool: a run that takes longer is a hang, and fails the test.
const runLimit = 90 * time.Second

// fakeEnv is a polarity-fake serving on 127.0.0.1 for one test.
type fakeEnv struct {
	srv *fake.Server
	url string
	fix *fake.Fixture // the fixture the server started from
}

// startFake serves fix with cfg on a loopback port. wrap, when not nil, sits in front of the
// fake, to answer some requests the way a hostile server or a proxy would.
func startFake(t *testing.T, fix *fake.Fixture, cfg fake.Config, wrap func(http.Handler) http.Handler) *fakeEnv {
	t.Helper()
	srv, err := fake.New(fix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := testkit.StartFake(t, srv, wrap)
	return &fakeEnv{srv: srv, url: hs.URL, fix: fix}
}

// loadFixture reads the shipped fixture.
func loadFixture(t *testing.T) *fake.Fixture {
	t.Helper()
	fix, err := fake.LoadFixture(filepath.Join("..", "..", "testdata", "fixtures", "integrations.json"))
	if err != nil {
		t.Fatal(err)
	}
	return fix
}

// toolPath is the polarity-bulk that testscript.Main put in PATH: this test binary under that
// name, which runs main when started as polarity-bulk.
func toolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("polarity-bulk")
	if err != nil {
		t.Fatalf("polarity-bulk is not in PATH (testscript.Main installs it): %v", err)
	}
	return p
}

// proc is a running polarity-bulk.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *testkit.Buffer
	done           chan struct{}
	ctx            context.Context
	cancel         context.CancelFunc
	args           []string
}

// outcome is a finished run.
type outcome struct {
	code           int // -1 when killed by a signal
	stdout, stderr string
}

// env is the child's whole environment: nothing is inherited but PATH and the race
// detector's settings, so no POLARITY_* of the developer's shell leaks in.
func (e *fakeEnv) env(dir string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"NO_COLOR=1",
	}
	if e != nil {
		env = append(env, "POLARITY_URL="+e.url)
	}
	// Under -race each child would sleep a second at exit (atexit_sleep_ms) for nothing.
	gorace := "atexit_sleep_ms=0"
	if v, ok := os.LookupEnv("GORACE"); ok {
		gorace = v
	}
	env = append(env, "GORACE="+gorace)
	return append(env, extra...)
}

// apiKeyEnv is the credential of most tests: the fake's default API key.
var apiKeyEnv = []string{"POLARITY_API_KEY=" + fake.DefaultAPIKey}

// start starts polarity-bulk with args in dir.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startCmd(t, dir, env, toolPath(t), args...)
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the end of the run; a run that outlives runLimit fails the test.
func (p *proc) wait(t *testing.T) outcome {
	t.Helper()
	<-p.done
	defer p.cancel()
	out := outcome{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
	if errors.Is(p.ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("polarity-bulk %s did not finish within %s: hang\nstderr:\n%s", strings.Join(p.args, " "), runLimit, tail(out.stderr))
	}
	if strings.Contains(out.stderr, "panic:") || strings.Contains(out.stderr, "DATA RACE") || strings.Contains(out.stderr, "goroutine ") && strings.Contains(out.stderr, "[running]") {
		t.Fatalf("polarity-bulk %s crashed:\n%s", strings.Join(p.args, " "), tail(out.stderr))
	}
	return out
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// run runs polarity-bulk to its end.
func run(t *testing.T, dir string, env []string, args ...string) outcome {
	t.Helper()
	return start(t, dir, env, args...).wait(t)
}

// mustCode fails unless the run exited with want.
func mustCode(t *testing.T, o outcome, want int, what string) {
	t.Helper()
	if o.code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, o.code, want, tail(o.stdout), tail(o.stderr))
	}
}

// tail keeps the end of long output for failure messages.
func tail(s string) string {
	const n = 4000
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// waitFor polls cond until it holds; it fails the test when p ends first or after runLimit.
func waitFor(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(runLimit)
	for !cond() {
		if p != nil && p.exited() {
			o := p.wait(t)
			t.Fatalf("waiting for %s: polarity-bulk ended first with exit %d\nstdout:\n%s\nstderr:\n%s", what, o.code, tail(o.stdout), tail(o.stderr))
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after %s", what, runLimit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// intent is one CSV row and what it asks the server to hold afterwards.
type intent struct {
	id, key string
	cell    string          // the value cell as written; "" keeps the value
	perm    string          // the permission cell; "" keeps the permission
	want    json.RawMessage // the value the server must then hold; nil: unchanged
	same    bool            // the row restates the current state: nothing to send
}

// line is the row's line in the CSV writeCSV writes (one header line, no multi-line cells).
func line(i int) int { return i + 2 }

// writeCSV writes the rows as a CSV file in the input format.
func writeCSV(t *testing.T, path string, rows []intent) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"integration_id", "option_key", "value", "permission"})
	for _, r := range rows {
		_ = w.Write([]string{r.id, r.key, r.cell, r.perm})
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expect is the state the server must hold: fix with the rows applied for which ok is true.
func expect(t *testing.T, fix *fake.Fixture, rows []intent, ok func(intent) bool) []fake.Integration {
	t.Helper()
	var out []fake.Integration
	b, err := json.Marshal(fix.Integrations)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, in := range out {
		idx[in.ID] = i
	}
	for _, r := range rows {
		if ok != nil && !ok(r) {
			continue
		}
		in := &out[idx[r.id]]
		for j := range in.Options {
			o := &in.Options[j]
			if o.Key != r.key {
				continue
			}
			if r.want != nil {
				o.Value = r.want
			}
			switch r.perm {
			case "lock-hide":
				o.AdminOnly, o.UserCanEdit = true, false
			case "lock-show":
				o.AdminOnly, o.UserCanEdit = false, false
			case "user-provides":
				o.AdminOnly, o.UserCanEdit = false, true
			}
		}
	}
	return out
}

// checkState fails unless the server holds exactly want: every option of every integration,
// value and permission.
func checkState(t *testing.T, srv *fake.Server, want []fake.Integration) {
	t.Helper()
	got := map[string]fake.Integration{}
	for _, in := range srv.State() {
		got[in.ID] = in
	}
	var diffs []string
	for _, w := range want {
		g, ok := got[w.ID]
		if !ok {
			diffs = append(diffs, w.ID+": missing")
			continue
		}
		for i, wo := range w.Options {
			goo := g.Options[i]
			if goo.Key != wo.Key {
				diffs = append(diffs, fmt.Sprintf("%s: option %d is %s, want %s", w.ID, i, goo.Key, wo.Key))
				continue
			}
			if !testkit.SameJSON(goo.Value, wo.Value) {
				diffs = append(diffs, fmt.Sprintf("%s %s: value %s, want %s", w.ID, wo.Key, goo.Value, wo.Value))
			}
			if goo.AdminOnly != wo.AdminOnly || goo.UserCanEdit != wo.UserCanEdit {
				diffs = append(diffs, fmt.Sprintf("%s %s: admin-only/user-can-edit %v/%v, want %v/%v", w.ID, wo.Key, goo.AdminOnly, goo.UserCanEdit, wo.AdminOnly, wo.UserCanEdit))
			}
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 30 {
			diffs = append(diffs[:30], fmt.Sprintf("... and %d more", len(diffs)-30))
		}
		t.Fatalf("server state differs from the CSV's intent:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// readCSVFile reads a whole CSV file; it fails the test when the file does not parse.
func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s does not parse as CSV: %v", path, err)
	}
	return recs
}

// definite are the statuses a row may end in.
var definite = map[string]bool{"applied": true, "unchanged": true, "failed": true, "not-attempted": true, "rolled-back": true}

// rowStatuses reads results.csv and checks that it holds exactly one row with a definite
// status for each of the n input rows (lines 2..n+1); it returns the status by line.
func rowStatuses(t *testing.T, dir string, n int) map[int]string {
	t.Helper()
	recs := readCSVFile(t, filepath.Join(dir, "results.csv"))
	if len(recs) == 0 || strings.Join(recs[0], ",") != "line,integration_id,option_key,status,error" {
		t.Fatalf("results.csv: header %q", recs)
	}
	got := map[int]string{}
	for _, rec := range recs[1:] {
		l, err := strconv.Atoi(rec[0])
		if err != nil || len(rec) != 5 {
			t.Fatalf("results.csv: bad row %q", rec)
		}
		if _, dup := got[l]; dup {
			t.Fatalf("results.csv: line %d twice", l)
		}
		if !definite[rec[3]] {
			t.Fatalf("results.csv: line %d has status %q", l, rec[3])
		}
		got[l] = rec[3]
	}
	var lost []int
	for i := range n {
		if _, ok := got[line(i)]; !ok {
			lost = append(lost, line(i))
		}
	}
	if len(lost) > 0 || len(got) != n {
		t.Fatalf("results.csv: %d rows for %d input rows; lines missing: %v", len(got), n, lost)
	}
	t.Logf("results.csv: %d of %d rows, each with a definite status", len(got), n)
	return got
}

// checkStatuses compares results.csv's statuses with want (by row index).
func checkStatuses(t *testing.T, dir string, rows []intent, want func(i int, r intent) string) map[string]int {
	t.Helper()
	got := rowStatuses(t, dir, len(rows))
	counts := map[string]int{}
	var bad []string
	for i, r := range rows {
		st := got[line(i)]
		counts[st]++
		if w := want(i, r); st != w {
			bad = append(bad, fmt.Sprintf("line %d (%s %s): %s, want %s", line(i), r.id, r.key, st, w))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("results.csv statuses:\n  %s", strings.Join(bad, "\n  "))
	}
	return counts
}

// synthetic plans changes for the integrations of a Synthetic fixture: each gets a new url,
// a new API key locked for admins only (a password: the fake masks it, so a plan can never
// call it unchanged) and a new maxResults; every unchangedEvery-th one only restates its url
// and so needs no request.
func synthetic(t *testing.T, fix *fake.Fixture, unchangedEvery int) []intent {
	t.Helper()
	var rows []intent
	for i, in := range fix.Integrations {
		cur := map[string]json.RawMessage{}
		for _, o := range in.Options {
			cur[o.Key] = o.Value
		}
		if unchangedEvery > 0 && i%unchangedEvery == unchangedEvery-1 {
			var url string
			if err := json.Unmarshal(cur["url"], &url); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, intent{id: in.ID, key: "url", cell: url, want: cur["url"], same: true})
			continue
		}
		var n int
		if err := json.Unmarshal(cur["maxResults"], &n); err != nil {
			t.Fatal(err)
		}
		n = n%1000 + 1
		url := fmt.Sprintf("https://rolled-out-%d.example.invalid/v2", i)
		key := fmt.Sprintf("rotated-key-%05d-%s", i, strings.Repeat("k", 8))
		rows = append(rows,
			intent{id: in.ID, key: "url", cell: url, want: mustRaw(url)},
			intent{id: in.ID, key: "apiKey", cell: key, perm: "lock-hide", want: mustRaw(key)},
			intent{id: in.ID, key: "maxResults", cell: strconv.Itoa(n), want: mustRaw(n)},
		)
	}
	return rows
}

// rollout sets up a test's synthetic rollout: n integrations generated from seed, served by
// a fake of its own with cfg (behind wrap when not nil), and dir/changes.csv changing every
// integration (see synthetic for unchangedEvery).
func rollout(t *testing.T, n int, seed uint64, unchangedEvery int, cfg fake.Config, wrap func(http.Handler) http.Handler) (*fake.Fixture, *fakeEnv, string, []intent) {
	t.Helper()
	fix := fake.Synthetic(n, seed)
	fe := startFake(t, fix, cfg, wrap)
	dir := t.TempDir()
	rows := synthetic(t, fix, unchangedEvery)
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	return fix, fe, dir, rows
}

// appliedOnce checks that every integration with changes was applied exactly once, by
// counting the PATCHes the server applied.
func appliedOnce(t *testing.T, srv *fake.Server, changed map[string]bool) {
	t.Helper()
	_, applied := patchesByID(srv)
	for id := range changed {
		if applied[id] != 1 {
			t.Errorf("%s applied %d times, want once", id, applied[id])
		}
	}
}

// resumeDone runs apply --resume rep in dir with the extra flags, and checks that it ends
// the run: exit 0, every row done, the server holding what the CSV asks for.
func resumeDone(t *testing.T, fe *fakeEnv, dir string, env []string, rows []intent, what string, extra ...string) {
	t.Helper()
	o := run(t, dir, env, append([]string{"apply", "--resume", "rep", "--yes"}, extra...)...)
	mustCode(t, o, 0, what)
	checkStatuses(t, filepath.Join(dir, "rep"), rows, allDone(changedIDs(rows)))
	checkState(t, fe.srv, expect(t, fe.fix, rows, nil))
}

// reportWritten checks that every file of the report directory rep is there.
func reportWritten(t *testing.T, rep, what string) {
	t.Helper()
	for _, f := range []string{"results.json", "results.csv", "failed.csv", "backup.csv", "summary.md", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(rep, f)); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}

func mustRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// changedIDs lists the integrations that need a request: those with a row that changes
// something.
func changedIDs(rows []intent) map[string]bool {
	ids := map[string]bool{}
	for _, r := range rows {
		if !r.same {
			ids[r.id] = true
		}
	}
	return ids
}

// allDone is the status of every row after a complete, successful run.
func allDone(changed map[string]bool) func(int, intent) string {
	return func(_ int, r intent) string {
		if changed[r.id] {
			return "applied"
		}
		return "unchanged"
	}
}

// patchesByID counts the PATCHes the fake received per integration, and how many of them it
// answered 2xx (applied).
func patchesByID(srv *fake.Server) (received, applied map[string]int) {
	received, applied = map[string]int{}, map[string]int{}
	for _, r := range srv.Requests() {
		if r.Method != http.MethodPatch {
			continue
		}
		var doc struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		id := "(unparsable)"
		if json.Unmarshal(r.Body, &doc) == nil && len(doc.Data) > 0 {
			id, _, _ = strings.Cut(doc.Data[0].ID, "-")
		}
		received[id]++
		if r.Status >= 200 && r.Status <= 299 {
			applied[id]++
		}
	}
	return received, applied
}

// faultCounts tallies the faults the fake injected, by kind, plus the statuses it answered.
func faultCounts(srv *fake.Server) map[string]int {
	c := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Fault != "" {
			c[r.Fault]++
		}
		if r.Status == http.StatusUnauthorized {
			c["401"]++
		}
	}
	return c
}

// logFaults records what a test injected, for the suite's figures.
func logFaults(t *testing.T, srv *fake.Server) map[string]int {
	t.Helper()
	c := faultCounts(srv)
	keys := slices.Sorted(maps.Keys(c))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c[k])
	}
	t.Logf("faults injected: %s (requests %d)", strings.Join(parts, " "), len(srv.Requests()))
	return c
}

// --- the faults ---------------------------------------------------------------------------

// faultRun applies a synthetic rollout against a fake with faults, and checks that the run
// succeeded in full: exit 0, every row applied or unchanged, the server holding the CSV's
// intent, and every integration applied exactly once.
func faultRun(t *testing.T, n int, cfg fake.Config, env []string, args ...string) map[string]int {
	t.Helper()
	fix, fe, dir, rows := rollout(t, n, 7, 5, cfg, nil)
	args = append([]string{"apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--burst", "10"}, args...)
	o := run(t, dir, fe.env(dir, env...), args...)
	mustCode(t, o, 0, "apply under faults")
	changed := changedIDs(rows)
	checkStatuses(t, filepath.Join(dir, "rep"), rows, allDone(changed))
	checkState(t, fe.srv, expect(t, fix, rows, nil))
	appliedOnce(t, fe.srv, changed)
	_, applied := patchesByID(fe.srv)
	for id, k := range applied {
		if !changed[id] {
			t.Errorf("%s needs no change but got %d PATCHes", id, k)
		}
	}
	return logFaults(t, fe.srv)
}

// TestFaults applies a synthetic rollout under each kind of fault the fake injects, and
// checks with faultRun that the run succeeded in full. Each case also checks that its fault
// was injected often enough for the test to test something.
func TestFaults(t *testing.T) {
	t.Parallel()
	type faults = fake.Faults
	for _, tc := range []struct {
		name   string
		n      int // integrations
		faults fake.Faults
		args   string
		// At least min faults of the kinds counted must have been injected, or the case did
		// not test anything.
		counted []string
		min     int
	}{
		// A server that admits 4 requests a second and answers the rest 429 with Retry-After
		// in seconds. The tool is allowed 10 times that, so it meets a storm of 429s; it must
		// pause everyone as told and still apply everything.
		{"RateLimitSeconds", 10, faults{Seed: 1, RateLimit: 4, RateBurst: 2}, "--concurrency 4 --rate 40 --burst 4 --retries 30", []string{fake.FaultRateLimit}, 1},
		// The same storm with Retry-After as an HTTP-date.
		{"RateLimitDate", 10, faults{Seed: 2, RateLimit: 4, RateBurst: 2, RetryAfterDate: true}, "--concurrency 4 --rate 40 --burst 4 --retries 30", []string{fake.FaultRateLimit}, 1},
		// 30% of all requests, reads included, answer 503.
		{"503", 30, faults{Seed: 3, FailRate: 0.3}, "--concurrency 6 --retries 12", []string{fake.FaultFail}, 5},
		// 30% of all requests have their connection closed without an answer.
		{"DroppedConnections", 30, faults{Seed: 4, DropRate: 0.3}, "--concurrency 6 --retries 12", []string{fake.FaultDrop}, 5},
		// 25% of all requests never get an answer; --timeout 300ms gives up on them and the
		// retry goes through.
		{"HangingRequests", 20, faults{Seed: 5, HangRate: 0.25}, "--concurrency 6 --retries 12 --timeout 300ms", []string{fake.FaultHang}, 3},
		// Every fault at once, on PATCHes only, with a 502 instead of a 503.
		{"Mixed", 30, faults{Seed: 6, On: fake.FaultsOnPatch, FailRate: 0.2, FailStatus: 502, DropRate: 0.1, HangRate: 0.1}, "--concurrency 6 --retries 15 --timeout 300ms",
			[]string{fake.FaultFail, fake.FaultDrop, fake.FaultHang}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := faultRun(t, tc.n, fake.Config{Faults: tc.faults}, apiKeyEnv, strings.Fields(tc.args)...)
			got := 0
			for _, f := range tc.counted {
				got += c[f]
			}
			if got < tc.min {
				t.Fatalf("only %d faults of %v injected, want at least %d: the test did not test anything (%v)", got, tc.counted, tc.min, c)
			}
		})
	}
}

// TestFaultTokenExpiry: a password login whose token lives two seconds, over a run of several
// seconds (latency on every request, 15% of them 503, logins and refreshes included), and on
// top of that every token revoked mid-run, as a server restart does. The tool must refresh or log in again as needed, lose nothing, and log
// out at the end.
func TestFaultTokenExpiry(t *testing.T) {
	t.Parallel()
	fix, fe, dir, rows := rollout(t, 42, 8, 6, fake.Config{TokenLifetime: 2 * time.Second, Faults: fake.Faults{Seed: 8, Latency: 250 * time.Millisecond, FailRate: 0.15}}, nil)
	env := fe.env(dir, "POLARITY_USERNAME="+fake.DefaultUsername, "POLARITY_PASSWORD="+fake.DefaultPassword)
	p := start(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--concurrency", "2", "--rate", "100", "--retries", "10")

	// Revoke every token once a third of the PATCHes are answered.
	waitFor(t, p, "10 PATCHes answered", func() bool {
		_, applied := patchesByID(fe.srv)
		n := 0
		for _, k := range applied {
			n += k
		}
		return n >= 10
	})
	fe.srv.ExpireTokens()
	o := p.wait(t)
	mustCode(t, o, 0, "apply with short-lived tokens")
	changed := changedIDs(rows)
	checkStatuses(t, filepath.Join(dir, "rep"), rows, allDone(changed))
	checkState(t, fe.srv, expect(t, fix, rows, nil))

	var logins, refreshes, logouts, refused int
	var first, last time.Time
	for _, r := range fe.srv.Requests() {
		if first.IsZero() {
			first = r.Time
		}
		last = r.Time
		switch r.Path {
		case "/api/users/login":
			logins++
		case "/api/users/refresh":
			if r.Status == 200 {
				refreshes++
			}
		case "/api/users/logout":
			// Counted whatever the answer: the report is written (and synced) between the
			// last request and the log-out, and on a loaded machine that can outlast the 2s
			// token, which the server then answers 401 (the client takes that as logged out).
			logouts++
		}
		if r.Status == http.StatusUnauthorized {
			refused++
		}
	}
	t.Logf("run spanned %d token lifetimes: %d logins, %d refreshes, %d requests refused 401 (then logged in again)",
		int(last.Sub(first)/(2*time.Second)), logins, refreshes, refused)
	if logins < 2 {
		t.Errorf("%d logins: the revoked tokens should have forced a second one", logins)
	}
	if logins+refreshes < 3 {
		t.Errorf("%d logins and %d refreshes: the run should have outlived several tokens", logins, refreshes)
	}
	if logouts != 1 {
		t.Errorf("%d log-outs sent, want 1", logouts)
	}
	appliedOnce(t, fe.srv, changed)
	logFaults(t, fe.srv)
}

// TestFaultRefusedOptions: a server that refuses some changes (a stopped integration; a value
// that only the server knows is out of bounds, AbuseIPDB maxAge above 365) while the rest go
// through. Exit 1; the refused rows are failed, and failed.csv holds exactly them; the
// server holds the rest of the intent, and the refused integrations are untouched (a PATCH is
// all or nothing, so AbuseIPDB's valid minScore row fails with its invalid sibling).
func TestFaultRefusedOptions(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	fe := startFake(t, fix, fake.Config{}, nil)
	dir := t.TempDir()
	const (
		vt     = "virustotal_node_18_1725278818"
		abuse  = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
		cs     = "crowdstrike_4_2_0_node_18_a3c9e1f042_1725350000"
		sn     = "servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000"
		misp   = "misp_3_2_0_node_18_4a5b6c7d8e_1725420000"
		splunk = "splunk_3_8_2_node_18_1d2c3b4a5f_1725440000"
	)
	rows := []intent{
		{id: vt, key: "blocklist", cell: "9.9.9.9", want: mustRaw("9.9.9.9")},
		{id: abuse, key: "maxAge", cell: "366", want: mustRaw(366)},
		{id: abuse, key: "minScore", cell: "50", want: mustRaw(50)},
		{id: cs, key: "minimumSeverity", cell: "High", want: mustRaw(map[string]string{"value": "High", "display": "High"})},
		{id: sn, key: "url", cell: "https://new.service-now.com", want: mustRaw("https://new.service-now.com")},
		{id: misp, key: "allowSubmission", cell: "yes", perm: "lock-hide", want: mustRaw(true)},
		{id: splunk, key: "searchString", cell: "index=security", want: mustRaw("index=security")},
	}
	refused := map[string]bool{abuse: true, sn: true}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "100")
	mustCode(t, o, 1, "apply with refused options")
	if !strings.Contains(o.stderr, "2 integrations failed") {
		t.Errorf("stderr does not say 2 integrations failed:\n%s", o.stderr)
	}
	rep := filepath.Join(dir, "rep")
	checkStatuses(t, rep, rows, func(_ int, r intent) string {
		if refused[r.id] {
			return "failed"
		}
		return "applied"
	})
	checkState(t, fe.srv, expect(t, fix, rows, func(r intent) bool { return !refused[r.id] }))

	// failed.csv: exactly the refused rows, in the input format, each naming its line.
	recs := readCSVFile(t, filepath.Join(rep, "failed.csv"))
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var got []string
	for _, rec := range recs[1:] {
		got = append(got, rec[col["integration_id"]]+" "+rec[col["option_key"]]+" "+rec[col["value"]])
	}
	want := []string{abuse + " maxAge 366", abuse + " minScore 50", sn + " url https://new.service-now.com"}
	if !slices.Equal(got, want) {
		t.Fatalf("failed.csv rows:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	results := readFile(t, filepath.Join(rep, "results.csv"))
	for _, msg := range []string{"Integration is not running", "value must be between 1 and 365"} {
		if !strings.Contains(results, msg) {
			t.Errorf("results.csv does not carry the server's reason %q:\n%s", msg, results)
		}
	}

	// The failed rows, fixed, go through; nothing else is sent.
	fe.srv.ResetRequests()
	if err := fe.srv.SetStatus(sn, "running"); err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(readFile(t, filepath.Join(rep, "failed.csv")), ",366,", ",300,", 1)
	if err := os.WriteFile(filepath.Join(dir, "fixed.csv"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	o = run(t, dir, fe.env(dir, apiKeyEnv...), "apply", "fixed.csv", "--yes", "--report-dir", "rep2", "--rate", "100")
	mustCode(t, o, 0, "apply of the fixed failed.csv")
	rows[1].want = mustRaw(300)
	checkState(t, fe.srv, expect(t, fix, rows, nil))
	received, _ := patchesByID(fe.srv)
	if len(received) != 2 || received[abuse] != 1 || received[sn] != 1 {
		t.Fatalf("the fixed failed.csv sent PATCHes %v, want one each to %s and %s", received, abuse, sn)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// journalApplied reads a report directory's journal.jsonl the way a person would: the ids
// whose last complete entry says applied.
func journalApplied(t *testing.T, dir string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n")[1:] {
		var e struct {
			Result struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"result"`
		}
		if json.Unmarshal([]byte(l), &e) != nil || e.Result.ID == "" {
			continue
		}
		out[e.Result.ID] = e.Result.Status == "applied"
	}
	for id, ok := range out {
		if !ok {
			delete(out, id)
		}
	}
	return out
}

// TestFaultInterruptResume: Ctrl-C (or SIGTERM, or a hang-up) while two PATCHes are in flight. The run lets
// them finish, sends nothing more, writes the full report and exits 130; every row has a
// definite status. --resume then sends only what was not applied (exit 0), and a second
// --resume sends nothing: no integration is ever patched twice, although the fake masks the
// API keys, so that a plan alone would send them again.
func TestFaultInterruptResume(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			interruptResume(t, sig)
		})
	}
}

func interruptResume(t *testing.T, sig syscall.Signal) {
	fix, fe, dir, rows := rollout(t, 15, 9, 5, fake.Config{}, nil)
	changed := changedIDs(rows)
	env := fe.env(dir, apiKeyEnv...)

	release := fe.srv.HoldPatches()
	defer release()
	// --rate 5 (the default): even if the interrupt were slow to land, the run could not
	// finish before it.
	p := start(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--concurrency", "2", "--rate", "5")
	waitFor(t, p, "2 PATCHes in flight", func() bool { return fe.srv.InFlight() == 2 })
	p.signal(t, sig)
	// Give the signal a moment to land before the held PATCHes are answered; the
	// assertions below hold whatever the moment.
	time.Sleep(100 * time.Millisecond)
	release()
	o := p.wait(t)
	mustCode(t, o, 130, "apply interrupted")
	if !strings.Contains(o.stderr, "--resume rep") {
		t.Errorf("the interrupted run does not say how to resume:\n%s", o.stderr)
	}
	rep := filepath.Join(dir, "rep")
	applied := journalApplied(t, rep)
	if len(applied) < 2 || len(applied) >= len(changed) {
		t.Fatalf("%d integrations applied before the interrupt; want at least the 2 in flight and fewer than all %d", len(applied), len(changed))
	}
	statuses := checkStatuses(t, rep, rows, func(_ int, r intent) string {
		switch {
		case applied[r.id]:
			return "applied"
		case changed[r.id]:
			return "not-attempted"
		}
		return "unchanged"
	})
	t.Logf("after the interrupt: %v", statuses)
	checkState(t, fe.srv, expect(t, fix, rows, func(r intent) bool { return applied[r.id] }))
	reportWritten(t, rep, "interrupted run's report")

	resumeDone(t, fe, dir, env, rows, "apply --resume", "--rate", "100")
	received, _ := patchesByID(fe.srv)
	for id := range changed {
		if received[id] != 1 {
			t.Errorf("%s got %d PATCHes over the run and its resume, want 1", id, received[id])
		}
	}

	o = run(t, dir, env, "apply", "--resume", "rep", "--yes", "--rate", "100")
	mustCode(t, o, 0, "second apply --resume")
	if again, _ := patchesByID(fe.srv); !maps.Equal(again, received) {
		t.Errorf("a second --resume of a finished run sent PATCHes: before %v, after %v", received, again)
	}
	rollBack(t, fe, dir, rows)
}

// rollBack applies the report's backup.csv and checks that the server is back where it was
// before the first run, interrupted or not: every value and permission, except the secrets,
// which backup.csv leaves out (they keep their new value).
func rollBack(t *testing.T, fe *fakeEnv, dir string, rows []intent) {
	t.Helper()
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "apply", filepath.Join("rep", "backup.csv"), "--yes", "--report-dir", "rollback", "--rate", "100")
	mustCode(t, o, 0, "apply backup.csv")
	var secretsKept []intent
	for _, r := range rows {
		if r.key == "apiKey" {
			secretsKept = append(secretsKept, intent{id: r.id, key: r.key, want: r.want})
		}
	}
	checkState(t, fe.srv, expect(t, fe.fix, secretsKept, nil))
}

// TestFaultLostResponses: the server applies a PATCH but the answer never arrives (the
// connection drops after the change, as a proxy timing out does). The tool retries; the PATCH
// carries whole values, so applying it twice leaves the state the CSV asks for, and every row
// ends applied.
func TestFaultLostResponses(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	lose := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPatch {
				h.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			n++
			drop := n%3 == 1 // the first PATCH, and every third after it
			mu.Unlock()
			if !drop {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(httptest.NewRecorder(), r) // applied, answer thrown away
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		})
	}
	fix, fe, dir, rows := rollout(t, 12, 14, 4, fake.Config{}, lose)
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "100", "--concurrency", "3", "--retries", "6")
	mustCode(t, o, 0, "apply with lost answers")
	changed := changedIDs(rows)
	checkStatuses(t, filepath.Join(dir, "rep"), rows, allDone(changed))
	checkState(t, fe.srv, expect(t, fix, rows, nil))
	_, applied := patchesByID(fe.srv)
	twice := 0
	for id := range changed {
		if applied[id] < 1 {
			t.Errorf("%s never applied", id)
		}
		if applied[id] > 1 {
			twice++
		}
	}
	if twice == 0 {
		t.Fatal("no answer was lost: the test did not test anything")
	}
	t.Logf("%d of %d integrations had their answer lost and were applied again, to the same state", twice, len(changed))
}

// TestFaultInterruptWhilePlanning: Ctrl-C while the server state is being read. Nothing has
// been sent; the run stops at once with exit 130 and says so.
func TestFaultInterruptWhilePlanning(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 10)
	stall := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				arrived <- struct{}{}
				<-r.Context().Done() // a read that never ends
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	fix, fe, dir, _ := rollout(t, 6, 15, 0, fake.Config{}, stall)
	p := start(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep")
	select {
	case <-arrived:
	case <-p.done:
		t.Fatalf("apply ended before reading the state: %s", p.stderr.String())
	}
	p.signal(t, syscall.SIGINT)
	o := p.wait(t)
	mustCode(t, o, 130, "Ctrl-C while planning")
	if !strings.Contains(o.stderr, "polarity-bulk: interrupted while reading the server's state: nothing was sent") {
		t.Errorf("stderr does not say the run was interrupted before sending anything:\n%s", o.stderr)
	}
	if received, _ := patchesByID(fe.srv); len(received) != 0 {
		t.Fatalf("PATCHes sent: %v", received)
	}
	checkState(t, fe.srv, expect(t, fix, nil, nil))
	t.Logf("stderr: %s", firstLine(o.stderr))
}

// TestFaultFailFastResume: 30% 503s with no retries and --max-failures 1. The run stops
// dispatching after the first failure (exit 1): the failed rows and those not attempted are
// all in the report and in failed.csv. --resume with retries then finishes the job, sending
// nothing twice that was applied.
func TestFaultFailFastResume(t *testing.T) {
	t.Parallel()
	fix, fe, dir, rows := rollout(t, 20, 16, 5, fake.Config{Faults: fake.Faults{Seed: 19, On: fake.FaultsOnPatch, FailRate: 0.3}}, nil)
	changed := changedIDs(rows)
	env := fe.env(dir, apiKeyEnv...)
	o := run(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "100", "--concurrency", "1", "--retries", "0", "--max-failures", "1")
	mustCode(t, o, 1, "fail-fast apply")
	rep := filepath.Join(dir, "rep")
	_, applied := patchesByID(fe.srv)
	counts := checkStatuses(t, rep, rows, func(_ int, r intent) string {
		switch {
		case !changed[r.id]:
			return "unchanged"
		case applied[r.id] == 1:
			return "applied"
		}
		received, _ := patchesByID(fe.srv)
		if received[r.id] > 0 {
			return "failed"
		}
		return "not-attempted"
	})
	if counts["failed"] != 3 || counts["not-attempted"] == 0 {
		t.Fatalf("statuses %v: want one failed integration (3 rows) and some not attempted", counts)
	}
	recs := readCSVFile(t, filepath.Join(rep, "failed.csv"))
	if len(recs)-1 != counts["failed"]+counts["not-attempted"] {
		t.Fatalf("failed.csv holds %d rows, want %d", len(recs)-1, counts["failed"]+counts["not-attempted"])
	}
	checkState(t, fe.srv, expect(t, fix, rows, func(r intent) bool { return applied[r.id] == 1 }))
	t.Logf("fail fast: %v", counts)

	resumeDone(t, fe, dir, env, rows, "apply --resume after failures", "--rate", "100", "--retries", "12")
	appliedOnce(t, fe.srv, changed)
	logFaults(t, fe.srv)
}
