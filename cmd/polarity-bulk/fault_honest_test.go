package main

// Honest outcomes under lying servers, full disks and endless waits (issue 12): each test
// reproduces one failure of an earlier version on loopback and checks the run ends by itself,
// with every row accounted for, a report that tells the truth, and hints that are true.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// switchable answers PATCHes with answer while on, and passes them to the fake otherwise.
type switchable struct {
	on     atomic.Bool
	answer http.HandlerFunc
	n      atomic.Int64 // PATCHes answered by answer
}

func (s *switchable) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && s.on.Load() {
			s.n.Add(1)
			s.answer(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func tooManyRequests(retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", fake.MediaType)
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"errors":[{"status":"429","title":"Too Many Requests"}]}`)
	}
}

// readResults reads results.json in dir.
func readResults(t *testing.T, dir string) testkit.Results {
	t.Helper()
	return testkit.ReadResults(t, filepath.Join(dir, "results.json"))
}

// TestFaultWaitTooLong: every PATCH answered 429 with Retry-After: 86400. The first answers
// fail their integrations at once ("server asked to wait 24h0m0s, more than --max-wait
// 10m0s"), no other PATCH is sent, the run stops by itself (exit 1) with every row accounted
// for, and --resume, once the server is back, applies the rest exactly once.
func TestFaultWaitTooLong(t *testing.T) {
	t.Parallel()
	sw := &switchable{answer: tooManyRequests("86400")}
	sw.on.Store(true)
	fix, fe, dir, rows := rollout(t, 30, 21, 5, fake.Config{}, sw.wrap)
	changed := changedIDs(rows)
	env := fe.env(dir, apiKeyEnv...)
	o := run(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "4")
	mustCode(t, o, 1, "apply against a server asking for a day")
	const asked = "server asked to wait 24h0m0s, more than --max-wait 10m0s"
	if !strings.Contains(o.stderr, asked) || !strings.Contains(o.stderr, "raise --max-wait") {
		t.Errorf("stderr does not say what the server asked and what to do:\n%s", o.stderr)
	}
	if n := sw.n.Load(); n < 1 || n > 4 {
		t.Errorf("%d PATCHes sent, want those in flight at the first answer (1 to 4)", n)
	}
	rep := filepath.Join(dir, "rep")
	statuses := rowStatuses(t, rep, len(rows))
	for i, r := range rows {
		if !changed[r.id] && statuses[line(i)] != "unchanged" {
			t.Errorf("line %d: %s, want unchanged", line(i), statuses[line(i)])
		}
	}
	doc := readResults(t, rep)
	failed := 0
	for _, in := range doc.Integrations {
		switch in.Status {
		case "failed":
			failed++
			if !strings.Contains(in.Error, asked) {
				t.Errorf("%s failed with %q, want %q", in.ID, in.Error, asked)
			}
		case "not-attempted", "unchanged":
		default:
			t.Errorf("%s is %s", in.ID, in.Status)
		}
	}
	if failed < 1 || int64(failed) > sw.n.Load() {
		t.Errorf("%d integrations failed for %d PATCHes", failed, sw.n.Load())
	}
	checkState(t, fe.srv, expect(t, fix, nil, nil))

	sw.on.Store(false)
	resumeDone(t, fe, dir, env, rows, "apply --resume once the server is back", "--rate", "200")
	appliedOnce(t, fe.srv, changed)
}

// TestFaultInterruptDuringPause: every PATCH answered 429 with Retry-After: 300, which is
// within --max-wait: the run pauses. One SIGTERM ends the pause at once (the pause is longer
// than the test allows a run), writes the full report and exits 130; nothing was applied.
func TestFaultInterruptDuringPause(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			sw := &switchable{answer: tooManyRequests("300")}
			sw.on.Store(true)
			fix, fe, dir, rows := rollout(t, 12, 22, 0, fake.Config{}, sw.wrap)
			p := start(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "3")
			waitFor(t, p, "a PATCH answered 429", func() bool { return sw.n.Load() > 0 })
			time.Sleep(200 * time.Millisecond) // into the pause
			p.signal(t, sig)
			o := p.wait(t)
			mustCode(t, o, 130, "interrupted during a 5-minute pause")
			rep := filepath.Join(dir, "rep")
			got := rowStatuses(t, rep, len(rows))
			for l, st := range got {
				if st != "failed" && st != "not-attempted" {
					t.Errorf("line %d: %s, want failed or not-attempted", l, st)
				}
			}
			for _, in := range readResults(t, rep).Integrations {
				if in.Status == "failed" && !strings.Contains(in.Error, "interrupted while waiting to retry") {
					t.Errorf("%s failed with %q", in.ID, in.Error)
				}
			}
			reportWritten(t, rep, "report")
			checkState(t, fe.srv, expect(t, fix, nil, nil))
		})
	}
}

// TestFaultRetryBudget: a server that refuses every PATCH with a short Retry-After, against a
// run allowed 1,000 retries per request. The retry budget shared by the run ends it (exit 1)
// after at most about a hundred retries in all, not 1,000 per integration. (--max-wait 1m
// makes each second of waiting cost what ten cost at the default, so the test is short: at
// the default the same run ends after about a minute.)
func TestFaultRetryBudget(t *testing.T) {
	t.Parallel()
	sw := &switchable{answer: tooManyRequests("1")}
	sw.on.Store(true)
	fix, fe, dir, rows := rollout(t, 40, 23, 0, fake.Config{}, sw.wrap)
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "8", "--retries", "1000", "--max-wait", "1m")
	mustCode(t, o, 1, "apply against a server refusing everything")
	if !strings.Contains(o.stderr, "retry budget spent") {
		t.Errorf("stderr does not say the retry budget is spent:\n%s", o.stderr)
	}
	if n := sw.n.Load(); n > 200 {
		t.Errorf("%d PATCHes sent: the budget should stop the run near 100 retries", n)
	}
	rowStatuses(t, filepath.Join(dir, "rep"), len(rows))
	checkState(t, fe.srv, expect(t, fix, nil, nil))
	t.Logf("%d PATCHes before the budget was spent", sw.n.Load())
}

// startCmd starts name with args in dir, like start.
func startCmd(t *testing.T, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader("")
	p := &proc{cmd: cmd, stdout: &testkit.Buffer{}, stderr: &testkit.Buffer{}, done: make(chan struct{}), ctx: ctx, cancel: cancel, args: args}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

// journalSending lists the integrations with a complete "sending" entry in the journal.
func journalSending(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range strings.Split(readFile(t, filepath.Join(dir, "journal.jsonl")), "\n") {
		var e struct {
			Sending bool `json:"sending"`
			Result  struct {
				ID string `json:"id"`
			} `json:"result"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Sending {
			out[e.Result.ID] = true
		}
	}
	return out
}

// TestFaultFullDisk: the journal's file stops growing mid-run (a file size limit, which fails
// writes as a full disk does). No PATCH is sent without its journal entry, with the state it
// replaces, in the file; dispatch stops at the first failed write (exit 1); the hint says what
// the directory really holds. A resume once there is room finishes the job, and backup.csv,
// applied, puts every value and permission back as it was before the first run.
func TestFaultFullDisk(t *testing.T) {
	t.Parallel()
	_, fe, dir, rows := rollout(t, 40, 24, 5, fake.Config{}, nil)
	changed := changedIDs(rows)
	env := fe.env(dir, apiKeyEnv...)
	// bash's ulimit -f counts 1024-byte blocks: files of at most 24 KiB.
	p := startCmd(t, dir, env, "bash", "-c", `ulimit -f 24 && exec "$0" "$@"`, toolPath(t),
		"apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "3")
	o := p.wait(t)
	mustCode(t, o, 1, "apply onto a full disk")
	if !strings.Contains(o.stderr, "write journal") || !strings.Contains(o.stderr, "file too large") {
		t.Errorf("stderr does not say the journal could not be written:\n%s", o.stderr)
	}
	if strings.Contains(o.stderr, "records every PATCH sent and its outcome") {
		t.Errorf("the hint claims the journal holds every outcome:\n%s", o.stderr)
	}
	if !strings.Contains(o.stderr, "has the state it replaced in the journal") {
		t.Errorf("stderr does not give the true hint:\n%s", o.stderr)
	}
	rep := filepath.Join(dir, "rep")
	received, _ := patchesByID(fe.srv)
	if len(received) == 0 || len(received) == len(changed) {
		t.Fatalf("%d of %d integrations got a PATCH: the disk did not fill mid-run", len(received), len(changed))
	}
	sending := journalSending(t, rep)
	for id := range received {
		if !sending[id] {
			t.Errorf("%s got a PATCH without a journal entry holding its previous state", id)
		}
	}
	t.Logf("the journal filled after %d of %d integrations; stderr:\n%s", len(received), len(changed), o.stderr)

	resumeDone(t, fe, dir, env, rows, "apply --resume with room on the disk", "--rate", "200")
	_, applied := patchesByID(fe.srv)
	for id := range changed {
		if applied[id] < 1 || applied[id] > 2 {
			t.Errorf("%s applied %d times", id, applied[id])
		}
	}
	// backup.csv is complete: applying it restores the state before the first run.
	rollBack(t, fe, dir, rows)
}

// TestFaultClosedOutput: `apply ... 2>&1 | head -1`: stdout and stderr go to a pipe whose
// reader leaves after the first line, while PATCHes are in flight; -v -v logs every request
// after that. The run must not die of SIGPIPE: it finishes, applies everything, writes the
// report and exits 0.
func TestFaultClosedOutput(t *testing.T) {
	t.Parallel()
	fix, fe, dir, rows := rollout(t, 12, 25, 4, fake.Config{}, nil)
	release := fe.srv.HoldPatches()
	defer release()

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, toolPath(t), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "2", "-v", "-v")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, fe.env(dir, apiKeyEnv...), strings.NewReader("")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	first, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	pr.Close() // head -1 exits
	exited := make(chan struct{})
	go func() { err = cmd.Wait(); close(exited) }()
	waitFor(t, nil, "2 PATCHes in flight", func() bool {
		select {
		case <-exited:
			return true
		default:
			return fe.srv.InFlight() == 2
		}
	})
	release()
	<-exited
	if ctx.Err() != nil {
		t.Fatal("apply did not finish: hang")
	}
	if err != nil {
		t.Fatalf("apply with its output closed: %v (%s), want exit 0", err, cmd.ProcessState)
	}
	changed := changedIDs(rows)
	checkStatuses(t, filepath.Join(dir, "rep"), rows, allDone(changed))
	checkState(t, fe.srv, expect(t, fix, rows, nil))
	t.Logf("the reader saw %q and left", strings.TrimSpace(first))
}

// TestFaultLockedReportDir: while a run holds its report directory, a --resume of it and a
// new run into it both exit 2 at once, naming the process that holds it, and send nothing.
// Once the first run is over, the resume goes through (and has nothing left to send).
func TestFaultLockedReportDir(t *testing.T) {
	t.Parallel()
	fix, fe, dir, rows := rollout(t, 8, 26, 0, fake.Config{}, nil)
	env := fe.env(dir, apiKeyEnv...)
	release := fe.srv.HoldPatches()
	defer release()
	first := start(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "2")
	waitFor(t, first, "2 PATCHes in flight", func() bool { return fe.srv.InFlight() == 2 })
	before := len(fe.srv.Requests())
	want := fmt.Sprintf("polarity-bulk: report directory rep is in use by another polarity-bulk run (process %d): nothing was sent", first.cmd.Process.Pid)
	for _, args := range [][]string{
		{"apply", "--resume", "rep", "--yes", "--rate", "200"},
		{"apply", "changes.csv", "--yes", "--report-dir", "rep"},
	} {
		o := run(t, dir, env, args...)
		mustCode(t, o, 2, strings.Join(args, " ")+" into a locked directory")
		if !strings.Contains(o.stderr, want) {
			t.Errorf("%s: stderr does not name the holder:\n%s\nwant %s", strings.Join(args, " "), o.stderr, want)
		}
	}
	if n := len(fe.srv.Requests()); n != before {
		t.Errorf("the refused runs sent %d requests", n-before)
	}
	release()
	mustCode(t, first.wait(t), 0, "the first run")
	_, applied := patchesByID(fe.srv)
	o := run(t, dir, env, "apply", "--resume", "rep", "--yes", "--rate", "200")
	mustCode(t, o, 0, "resume after the first run ended")
	if _, again := patchesByID(fe.srv); sum(again) != sum(applied) {
		t.Errorf("the resume of a finished run sent %d PATCHes", sum(again)-sum(applied))
	}
	checkState(t, fe.srv, expect(t, fix, rows, nil))
}

// TestFaultServerProblemsCapped: 100,000 rows naming integrations the server does not have:
// 1,000 problems in line order, one line counting the rest, and the true count of problems.
func TestFaultServerProblemsCapped(t *testing.T) {
	t.Parallel()
	fe := startFake(t, loadFixture(t), fake.Config{}, nil)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integration_id,option_key,value\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "unknown_%06d,apiKey,x\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "plan", "in.csv")
	mustCode(t, o, 3, "plan of 100,000 unknown ids")
	lines := strings.Split(strings.TrimSuffix(o.stderr, "\n"), "\n")
	if len(lines) != 1002 {
		t.Fatalf("%d lines on stderr, want 1,002", len(lines))
	}
	if !regexp.MustCompile(`^in\.csv:2: integration_id: no integration unknown_000000 on the server`).MatchString(lines[0]) ||
		lines[1000] != "in.csv: ... and 99000 more problems not shown" ||
		lines[1001] != "polarity-bulk: 100000 problems in the input; nothing was sent to the server" {
		t.Errorf("stderr:\n%s\n...\n%s", lines[0], strings.Join(lines[999:], "\n"))
	}
}

// TestFaultPasswordIgnored: a server that answers every PATCH 200 and changes nothing, with
// masked passwords. A new API key cannot be read back, so it is not "verified": results.json
// says "unknown (value unreadable)" for it, and the non-secret change sent with it, which can
// be read back, fails verification.
func TestFaultPasswordIgnored(t *testing.T) {
	t.Parallel()
	sw := &switchable{answer: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", fake.MediaType)
		_, _ = io.WriteString(w, `{"data":[]}`)
	}}
	sw.on.Store(true)
	fix := fake.Synthetic(2, 27)
	fe := startFake(t, fix, fake.Config{}, sw.wrap)
	dir := t.TempDir()
	rows := []intent{
		{id: fix.Integrations[0].ID, key: "apiKey", cell: "rotated-key-ignored-0001"},
		{id: fix.Integrations[1].ID, key: "apiKey", cell: "rotated-key-ignored-0002"},
		{id: fix.Integrations[1].ID, key: "url", cell: "https://ignored.example.invalid"},
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200")
	mustCode(t, o, 1, "apply against a server that ignores it")
	rep := filepath.Join(dir, "rep")
	got := map[string]string{}
	for _, in := range readResults(t, rep).Integrations {
		for _, op := range in.Options {
			got[in.ID+" "+op.Key] = op.Status + " " + string(op.Verified)
		}
	}
	want := map[string]string{
		rows[0].id + " apiKey": `applied "unknown (value unreadable)"`,
		rows[1].id + " apiKey": `applied "unknown (value unreadable)"`,
		rows[1].id + " url":    `failed false`,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	if junit := readFile(t, filepath.Join(rep, "junit.xml")); strings.Contains(junit, "apiKey [line 2]: applied: (sensitive) will be set (current value unreadable) (verified)") {
		t.Errorf("junit.xml calls the ignored key verified:\n%s", junit)
	}
	checkState(t, fe.srv, expect(t, fix, nil, nil))
}

// TestFaultEndlessPages: a server whose list never ends, each page full of new integrations.
// The read stops at 100,000 integrations with a clear error (exit 1), nothing is sent.
func TestFaultEndlessPages(t *testing.T) {
	t.Parallel()
	var pages atomic.Int64
	endless := func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
		w.Header().Set("Content-Type", fake.MediaType)
		bw := bufio.NewWriter(w)
		bw.WriteString(`{"data":[`)
		for i := range size {
			if i > 0 {
				bw.WriteString(",")
			}
			fmt.Fprintf(bw, `{"id":"endless_%d_%d","type":"integrations","attributes":{"name":"Endless","status":"running"}}`, n, i)
		}
		bw.WriteString(`]}`)
		bw.Flush()
	}
	fe := startFake(t, loadFixture(t), fake.Config{}, hostileServer(isList, endless))
	dir := t.TempDir()
	writeCSV(t, filepath.Join(dir, "in.csv"), []intent{{id: "virustotal_node_18_1725278818", key: "blocklist", cell: "9.9.9.9"}, {id: "x_1", key: "k", cell: "v"}})
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "plan", "in.csv")
	mustCode(t, o, 1, "plan against endless pages")
	if !strings.Contains(o.stderr, "the server listed more than 100000 integrations") {
		t.Errorf("stderr:\n%s", o.stderr)
	}
	if n := pages.Load(); n != 101 {
		t.Errorf("%d pages read, want 101", n)
	}
}
