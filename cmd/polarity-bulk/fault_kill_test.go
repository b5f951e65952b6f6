package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

// TestKillResume kills apply with SIGKILL in the middle of a run (no chance to clean up, write
// the report or log out), at several points, then resumes it. What the journal reports
// applied is exactly what the server applied, and none of it is sent again; the rest is
// applied once; every row ends applied or unchanged. With "torn", the journal's last line is
// left half-written, as a crash in the middle of a write leaves it, and a second resume must
// still send nothing.
func TestKillResume(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		after     int // PATCHes answered before the kill
		torn      bool
		unchanged int // every n-th integration needs no change; 0: none
	}{
		{"before-any-answer", 0, false, 5},
		{"after-3", 3, false, 5},
		{"after-6-torn-journal", 6, true, 5},
		{"before-any-answer-torn-journal", 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			killResume(t, tc.after, tc.torn, tc.unchanged)
		})
	}
}

func killResume(t *testing.T, after int, torn bool, unchanged int) {
	const conc = 3
	g := newGate()
	fix, fe, dir, rows := rollout(t, 15, 10, unchanged, fake.Config{}, g.wrap)
	changed := changedIDs(rows)
	env := fe.env(dir, apiKeyEnv...)

	p := start(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--concurrency", fmt.Sprint(conc), "--rate", "100")
	// Let the PATCHes through conc at a time. A worker takes its next integration only after
	// the journal holds the last one's result, so when conc PATCHes wait at the gate, every
	// PATCH that passed it has been answered and journaled.
	for done := 0; ; done += conc {
		waitFor(t, p, fmt.Sprintf("%d PATCHes waiting after %d", conc, done), func() bool {
			arrived, waiting := g.counts()
			return arrived == done+conc && waiting == conc
		})
		if done == after {
			break
		}
		g.open(conc)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if o := p.wait(t); o.code != -1 {
		t.Fatalf("killed run exited %d", o.code)
	}
	// The waiting PATCHes lost their client and never reach the fake.
	waitFor(t, nil, "the waiting PATCHes to be abandoned", func() bool { _, waiting := g.counts(); return waiting == 0 })
	g.lift()

	rep := filepath.Join(dir, "rep")
	journaled := journalApplied(t, rep)
	_, appliedAtServer := patchesByID(fe.srv)
	if len(journaled) != after || !slices.Equal(sortedIDs(journaled), sortedIDs(appliedAtServer)) {
		t.Fatalf("journal says applied %v; the server applied %v; want the same %d", sortedIDs(journaled), sortedIDs(appliedAtServer), after)
	}
	checkState(t, fe.srv, expect(t, fix, rows, func(r intent) bool { return journaled[r.id] }))
	if torn {
		f, err := os.OpenFile(filepath.Join(rep, "journal.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(`{"result":{"id":"synthetic_000`)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	before, _ := patchesByID(fe.srv)

	o := run(t, dir, env, "apply", "--resume", "rep", "--yes", "--rate", "100")
	mustCode(t, o, 0, "apply --resume after SIGKILL")
	checkStatuses(t, rep, rows, allDone(changed))
	checkState(t, fe.srv, expect(t, fix, rows, nil))
	total, applied := patchesByID(fe.srv)
	for id := range journaled {
		if total[id] != 1 {
			t.Errorf("%s was reported applied in the journal, yet got %d PATCHes in all", id, total[id])
		}
	}
	for id := range changed {
		if applied[id] != 1 {
			t.Errorf("%s applied %d times, want once", id, applied[id])
		}
	}
	t.Logf("killed after %d answers: PATCHes before the resume %d, after %d", after, sum(before), sum(total))

	o = run(t, dir, env, "apply", "--resume", "rep", "--yes", "--rate", "100")
	mustCode(t, o, 0, "second apply --resume")
	if again, _ := patchesByID(fe.srv); sum(again) != sum(total) {
		t.Errorf("a second --resume of a finished run sent %d PATCHes", sum(again)-sum(total))
	}
	rollBack(t, fe, dir, rows)
}

func sum(m map[string]int) int {
	n := 0
	for _, k := range m {
		n += k
	}
	return n
}

func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// gate sits in front of the fake and lets PATCHes through only as tickets are given, so a
// test decides exactly how many reach the server. A PATCH whose client goes away while it
// waits never reaches the server.
type gate struct {
	mu               sync.Mutex
	arrived, waiting int
	free             bool // let everything through
	tickets          chan struct{}
}

func newGate() *gate { return &gate{tickets: make(chan struct{}, 1000)} }

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch {
			h.ServeHTTP(w, r)
			return
		}
		// Read the body first: only then does net/http watch the connection and cancel the
		// request's context when the client goes away.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		g.mu.Lock()
		if g.free {
			g.mu.Unlock()
			h.ServeHTTP(w, r)
			return
		}
		g.arrived++
		g.waiting++
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.waiting--
			g.mu.Unlock()
		}()
		select {
		case <-g.tickets:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	})
}

// lift lets every later PATCH through at once.
func (g *gate) lift() {
	g.mu.Lock()
	g.free = true
	g.mu.Unlock()
}

// counts returns the PATCHes that arrived at the gate and those still waiting at it.
func (g *gate) counts() (arrived, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.arrived, g.waiting
}

// open lets n more PATCHes through.
func (g *gate) open(n int) {
	for range n {
		g.tickets <- struct{}{}
	}
}

// killWhen starts polarity-bulk and kills it with SIGKILL as soon as cond holds for the
// entries of dir (checked in a tight loop), or lets it finish. It reports whether the kill
// landed before the end.
func killWhen(t *testing.T, dir, watch string, env []string, cond func(names []string) bool, args ...string) bool {
	t.Helper()
	p := start(t, dir, env, args...)
	for !p.exited() {
		ents, _ := os.ReadDir(watch)
		names := make([]string, len(ents))
		for i, e := range ents {
			names[i] = e.Name()
		}
		if cond(names) {
			_ = p.cmd.Process.Kill()
			break
		}
	}
	o := p.wait(t)
	return o.code == -1
}

func hasPrefix(names []string, prefix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
}

// whole checks a report file: absent, or complete. JSON, CSV and XML must parse and hold
// every integration or row; Markdown must have the reference's first and last lines and
// length in lines.
func whole(t *testing.T, path string, check func(data []byte) error) (present bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := check(data); err != nil {
		t.Errorf("%s is half-written: %v (%d bytes)", filepath.Base(path), err, len(data))
	}
	return true
}

func csvRows(n int) func([]byte) error {
	return func(data []byte) error {
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			return err
		}
		if len(recs) != n+1 {
			return fmt.Errorf("%d records, want %d and a header", len(recs)-1, n)
		}
		return nil
	}
}

func sameShape(ref []byte) func([]byte) error {
	refLines := strings.Split(string(ref), "\n")
	return func(data []byte) error {
		lines := strings.Split(string(data), "\n")
		if len(lines) != len(refLines) || lines[0] != refLines[0] || lines[len(lines)-1] != refLines[len(refLines)-1] ||
			lines[len(lines)-2] != refLines[len(refLines)-2] {
			return fmt.Errorf("%d lines ending %q, want %d ending %q", len(lines), lines[len(lines)-2], len(refLines), refLines[len(refLines)-2])
		}
		return nil
	}
}

// TestKillReportWrites kills plan and apply with SIGKILL while they write their files, at
// each file's temporary name appearing and at its final name appearing: every report file is
// then either absent or whole, never half-written.
func TestKillReportWrites(t *testing.T) {
	t.Parallel()
	const n = 120
	fix := fake.Synthetic(n, 11)
	// Every option of every integration: a plan and a report of 720 rows. One integration in
	// ten changes its url; the rest restate it.
	var rows []intent
	for i, in := range fix.Integrations {
		for _, o := range in.Options {
			r := intent{id: in.ID, key: o.Key, same: true}
			switch o.Type {
			case fake.KindPassword:
				r.cell, r.same = "", true
				r.perm = "user-provides"
			case fake.KindSelect:
				r.cell = "json:" + string(o.Value)
			default:
				var v any
				_ = json.Unmarshal(o.Value, &v)
				r.cell = fmt.Sprint(v)
			}
			if o.Key == "url" && i%10 == 0 {
				r.cell, r.same = fmt.Sprintf("https://changed-%d.example.invalid", i), false
			}
			rows = append(rows, r)
		}
	}
	changedRows := 0
	for _, r := range rows {
		if !r.same {
			changedRows++
		}
	}

	t.Run("plan", func(t *testing.T) {
		t.Parallel()
		fe := startFake(t, fix, fake.Config{}, nil)
		ref := t.TempDir()
		writeCSV(t, filepath.Join(ref, "changes.csv"), rows)
		env := func(dir string) []string { return fe.env(dir, apiKeyEnv...) }
		args := []string{"plan", "changes.csv", "--out", "plan.json", "--markdown", "plan.md"}
		mustCode(t, run(t, ref, env(ref), args...), 0, "reference plan")
		refMD := []byte(readFile(t, filepath.Join(ref, "plan.md")))
		points := map[string]func([]string) bool{
			"plan.json being written": func(ns []string) bool { return hasPrefix(ns, ".plan.json.tmp") },
			"plan.json written":       func(ns []string) bool { return slices.Contains(ns, "plan.json") },
			"plan.md being written":   func(ns []string) bool { return hasPrefix(ns, ".plan.md.tmp") },
			"plan.md written":         func(ns []string) bool { return slices.Contains(ns, "plan.md") },
		}
		for _, name := range slices.Sorted(maps.Keys(points)) {
			dir := t.TempDir()
			writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
			killed := killWhen(t, dir, dir, env(dir), points[name], args...)
			jsonOK := whole(t, filepath.Join(dir, "plan.json"), func(b []byte) error {
				pf, err := report.ReadPlan(strings.NewReader(string(b)))
				if err == nil && len(pf.Integrations) != n {
					err = fmt.Errorf("%d integrations, want %d", len(pf.Integrations), n)
				}
				return err
			})
			mdOK := whole(t, filepath.Join(dir, "plan.md"), sameShape(refMD))
			tmp := leftovers(t, dir)
			t.Logf("kill at %q: landed %v; plan.json present %v, plan.md present %v; temporary files left: %v", name, killed, jsonOK, mdOK, tmp)
		}
	})

	t.Run("apply", func(t *testing.T) {
		t.Parallel()
		files := []string{"results.json", "results.csv", "failed.csv", "backup.csv", "summary.md", "junit.xml", "timeline.json", "report.html"}
		args := []string{"apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "500", "--burst", "20", "--concurrency", "8"}
		// The reference run, for the Markdown's shape.
		fe := startFake(t, fix, fake.Config{}, nil)
		ref := t.TempDir()
		writeCSV(t, filepath.Join(ref, "changes.csv"), rows)
		mustCode(t, run(t, ref, fe.env(ref, apiKeyEnv...), args...), 0, "reference apply")
		refSummary := []byte(readFile(t, filepath.Join(ref, "rep", "summary.md")))

		checks := map[string]func([]byte) error{
			"results.json": func(b []byte) error {
				var f struct {
					Totals struct {
						Rows struct{ Total int } `json:"rows"`
					} `json:"totals"`
					Integrations []json.RawMessage `json:"integrations"`
				}
				if err := json.Unmarshal(b, &f); err != nil {
					return err
				}
				if f.Totals.Rows.Total != len(rows) || len(f.Integrations) != n {
					return fmt.Errorf("%d rows and %d integrations, want %d and %d", f.Totals.Rows.Total, len(f.Integrations), len(rows), n)
				}
				return nil
			},
			"results.csv": csvRows(len(rows)),
			"failed.csv":  csvRows(0),
			"backup.csv":  csvRows(changedRows),
			"summary.md":  sameShape(refSummary),
			"timeline.json": func(b []byte) error {
				runs, _, err := report.ReadTimeline(strings.NewReader(string(b)))
				if err == nil && len(runs) != 1 {
					err = fmt.Errorf("%d runs, want 1", len(runs))
				}
				return err
			},
			"report.html": func(b []byte) error {
				if !strings.HasSuffix(string(b), "</html>\n") || !strings.Contains(string(b), fmt.Sprintf(`data-count="total">%d<`, n)) {
					return fmt.Errorf("not a whole page of %d integrations", n)
				}
				return nil
			},
			"junit.xml": func(b []byte) error {
				var suites struct {
					Cases []struct{} `xml:"testsuite>testcase"`
				}
				if err := xml.Unmarshal(b, &suites); err != nil {
					return err
				}
				if len(suites.Cases) != n {
					return fmt.Errorf("%d test cases, want %d", len(suites.Cases), n)
				}
				return nil
			},
		}
		type point struct {
			name string
			cond func([]string) bool
		}
		var points []point
		for _, f := range files {
			points = append(points,
				point{f + " being written", func(ns []string) bool { return hasPrefix(ns, "."+f+".tmp") }},
				point{f + " written", func(ns []string) bool { return slices.Contains(ns, f) }})
		}
		for _, pt := range points {
			fe := startFake(t, fix, fake.Config{}, nil)
			dir := t.TempDir()
			writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
			rep := filepath.Join(dir, "rep")
			killed := killWhen(t, dir, rep, fe.env(dir, apiKeyEnv...), pt.cond, args...)
			var present []string
			for _, f := range files {
				if whole(t, filepath.Join(rep, f), checks[f]) {
					present = append(present, f)
				}
			}
			tmp := leftovers(t, rep)
			t.Logf("kill at %q: landed %v; whole: %v; temporary files left: %v", pt.name, killed, present, tmp)
		}
	})
}

// leftovers lists the temporary files a killed writer left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestFaultSecondInterrupt: a second Ctrl-C exits at once, in-flight PATCHes or not. The
// abandoned PATCHes never reach the server, the journal holds nothing applied, and a
// --resume applies everything exactly once.
func TestFaultSecondInterrupt(t *testing.T) {
	t.Parallel()
	g := newGate()
	fix, fe, dir, rows := rollout(t, 8, 13, 0, fake.Config{}, g.wrap)
	env := fe.env(dir, apiKeyEnv...)
	p := start(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep", "--concurrency", "2", "--rate", "100")
	waitFor(t, p, "2 PATCHes waiting", func() bool { _, waiting := g.counts(); return waiting == 2 })
	p.signal(t, syscall.SIGINT)
	// The first Ctrl-C restores the default handler a moment later; repeat until one of the
	// following ones ends the process.
	for !p.exited() {
		time.Sleep(20 * time.Millisecond)
		_ = p.cmd.Process.Signal(syscall.SIGINT)
	}
	o := p.wait(t)
	if o.code != -1 || !strings.Contains(p.cmd.ProcessState.String(), "interrupt") {
		t.Fatalf("second Ctrl-C: %s, want death by SIGINT\nstderr:\n%s", p.cmd.ProcessState, o.stderr)
	}
	waitFor(t, nil, "the waiting PATCHes to be abandoned", func() bool { _, waiting := g.counts(); return waiting == 0 })
	g.lift()
	if n := len(journalApplied(t, filepath.Join(dir, "rep"))); n != 0 {
		t.Fatalf("journal says %d applied; nothing was", n)
	}
	checkState(t, fe.srv, expect(t, fix, nil, nil))

	o = run(t, dir, env, "apply", "--resume", "rep", "--yes", "--rate", "100")
	mustCode(t, o, 0, "apply --resume after a second Ctrl-C")
	checkStatuses(t, filepath.Join(dir, "rep"), rows, allDone(changedIDs(rows)))
	checkState(t, fe.srv, expect(t, fix, rows, nil))
	if _, applied := patchesByID(fe.srv); len(applied) != len(fix.Integrations) || sum(applied) != len(fix.Integrations) {
		t.Fatalf("applied %v, want each of %d integrations once", applied, len(fix.Integrations))
	}
}
