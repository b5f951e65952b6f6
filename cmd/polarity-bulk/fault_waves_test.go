package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// Staged rollouts as a real process: an interrupt in a wave pause, a kill between waves.

// waveStatuses reads the statuses of the waves in dir's results.json.
func waveStatuses(t *testing.T, dir string) []string {
	t.Helper()
	var doc struct {
		Waves []struct {
			Status string `json:"status"`
		} `json:"waves"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "results.json"))), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, w := range doc.Waves {
		out = append(out, w.Status)
	}
	return out
}

// TestFaultWavesInterruptInPause: Ctrl-C (or SIGTERM) while a staged, atomic run waits in its
// --wave-pause ends the pause at once: exit 130, the whole report with every row in a
// definite status (wave 1 applied, the rest not attempted), and no rollback: an interrupt
// never rolls back, and the console says how to.
func TestFaultWavesInterruptInPause(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			fix := fake.Synthetic(8, 31)
			fe := startFake(t, fix, fake.Config{}, nil)
			dir := t.TempDir()
			rows := synthetic(t, fix, 0)
			writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
			p := start(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep",
				"--rate", "200", "--waves", "2", "--wave-pause", "1h", "--atomic")
			waitFor(t, p, "wave 1 to wait in its pause", func() bool {
				return strings.Contains(p.stderr.String(), "wave 1/4 sent: waiting 1h0m0s before its health check")
			})
			p.signal(t, sig)
			o := p.wait(t)
			mustCode(t, o, 130, "interrupted in a one-hour wave pause")
			rep := filepath.Join(dir, "rep")
			wave1 := map[string]bool{fix.Integrations[0].ID: true, fix.Integrations[1].ID: true}
			got := rowStatuses(t, rep, len(rows))
			for i, r := range rows {
				want := "not-attempted"
				if wave1[r.id] {
					want = "applied"
				}
				if got[line(i)] != want {
					t.Errorf("line %d (%s): %s, want %s", line(i), r.id, got[line(i)], want)
				}
			}
			if ws := waveStatuses(t, rep); !slices.Equal(ws, []string{"interrupted", "not-started", "not-started", "not-started"}) {
				t.Errorf("waves %v", ws)
			}
			for _, f := range []string{"results.json", "results.csv", "failed.csv", "backup.csv", "summary.md", "junit.xml"} {
				if _, err := os.Stat(filepath.Join(rep, f)); err != nil {
					t.Errorf("report: %v", err)
				}
			}
			if !strings.Contains(o.stderr, "--atomic does not roll back an interrupted run") {
				t.Errorf("stderr:\n%s", tail(o.stderr))
			}
			checkState(t, fe.srv, expect(t, fix, rows, func(r intent) bool { return wave1[r.id] }))
		})
	}
}

// TestFaultWavesKillResume: a staged run killed with SIGKILL between waves, then resumed,
// sends nothing twice: every integration gets exactly one PATCH in all, the resume continues
// with the first unfinished wave, and the server ends as the file asks. Killed in the pause
// before wave 1's health check ("in-pause": the resume checks wave 1 without sending it), and
// after wave 1 passed with wave 2's PATCHes held back before they reach the server
// ("after-wave-1").
func TestFaultWavesKillResume(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"in-pause", "after-wave-1"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			fix := fake.Synthetic(9, 32)
			g := newGate()
			fe := startFake(t, fix, fake.Config{}, g.wrap)
			dir := t.TempDir()
			rows := synthetic(t, fix, 0)
			writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
			env := fe.env(dir, apiKeyEnv...)
			args := []string{"apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "200", "--concurrency", "3", "--waves", "3"}
			g.open(3) // wave 1
			var p *proc
			if tc == "in-pause" {
				p = start(t, dir, env, append(args, "--wave-pause", "1h")...)
				waitFor(t, p, "wave 1 to wait in its pause", func() bool {
					return strings.Contains(p.stderr.String(), "wave 1/3 sent: waiting 1h0m0s")
				})
			} else {
				p = start(t, dir, env, args...)
				waitFor(t, p, "wave 2's PATCHes held at the gate", func() bool {
					arrived, waiting := g.counts()
					return arrived == 6 && waiting == 3
				})
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if o := p.wait(t); o.code != -1 {
				t.Fatalf("killed run exited %d", o.code)
			}
			waitFor(t, nil, "the held PATCHes to be abandoned", func() bool { _, waiting := g.counts(); return waiting == 0 })
			g.lift()
			before, _ := patchesByID(fe.srv)
			if sum(before) != 3 {
				t.Fatalf("%d PATCHes reached the server before the kill, want wave 1's 3", sum(before))
			}

			o := run(t, dir, env, "apply", "--resume", "rep", "--yes", "--rate", "200")
			mustCode(t, o, 0, "apply --resume of a staged run killed between waves")
			received, _ := patchesByID(fe.srv)
			for id := range changedIDs(rows) {
				if received[id] != 1 {
					t.Errorf("%s got %d PATCHes in all, want 1", id, received[id])
				}
			}
			rep := filepath.Join(dir, "rep")
			if ws := waveStatuses(t, rep); !slices.Equal(ws, []string{"passed", "passed", "passed"}) {
				t.Errorf("waves after the resume %v", ws)
			}
			want := "staged: 3 waves of 3, 3, 3 integrations"
			if tc == "after-wave-1" {
				want = "staged: 3 waves of 3 (passed), 3, 3 integrations"
			}
			if !strings.Contains(o.stdout, want) {
				t.Errorf("resume stdout lacks %q:\n%s", want, tail(o.stdout))
			}
			checkStatuses(t, rep, rows, allDone(changedIDs(rows)))
			checkState(t, fe.srv, expect(t, fix, rows, nil))
			t.Logf("%s: PATCHes before the kill %d, in all %d", tc, sum(before), sum(received))
		})
	}
}
