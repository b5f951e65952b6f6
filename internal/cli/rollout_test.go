package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/cli"
	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// The staged rollouts of SPEC section 3 against polarity-fake, with its request log as the
// evidence of what was sent.

// waveRun is a synthetic server of n integrations and a CSV that sets maxResults on each, in
// the server's order: value(i) gives the cell of the i-th (0-based).
func waveRun(t *testing.T, n int, cfg fake.Config, value func(i int) string) (*fake.Server, map[string]string, []string) {
	t.Helper()
	fix := fake.Synthetic(n, 3)
	srv, env := startFake(t, fix, cfg)
	dir := t.TempDir()
	t.Chdir(dir)
	var b strings.Builder
	b.WriteString("integration_id,option_key,value\n")
	ids := make([]string, n)
	for i, in := range fix.Integrations {
		ids[i] = in.ID
		fmt.Fprintf(&b, "%s,maxResults,%s\n", in.ID, value(i))
	}
	writeFile(t, dir, "w.csv", []byte(b.String()))
	return srv, env, ids
}

// validValue is a maxResults the fake accepts (1..1000), different from every synthetic one.
func validValue(i int) string { return fmt.Sprint(1001 - 1 - i) }

// refused makes the integrations at the given indexes refuse their change (maxResults above
// 1000 fails the integration's own validation: 422).
func refused(at ...int) func(int) string {
	return func(i int) string {
		if slices.Contains(at, i) {
			return "5000"
		}
		return validValue(i)
	}
}

// readResults reads rep/results.json.
func readResults(t *testing.T) testkit.Results {
	t.Helper()
	return testkit.ReadResults(t, filepath.Join("rep", "results.json"))
}

// TestWavesStopAtARefusal: --waves 1,5 on 12 integrations with a refusal in wave 2 sends
// exactly 6 PATCHes: wave 1 (1) and wave 2 (5), none of wave 3 or 4, whose integrations are
// not attempted; exit 1.
func TestWavesStopAtARefusal(t *testing.T) {
	srv, env, ids := waveRun(t, 12, fake.Config{}, refused(3))
	r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "1,5", "--report-dir", "rep", "--rate", "1000")
	wantCode(t, r, cli.ExitFailure)
	sent := patchCounts(t, srv)
	if len(sent) != 6 {
		t.Errorf("%d PATCHes (%v), want exactly 6", len(sent), sent)
	}
	for i, id := range ids {
		if want := 0; i < 6 {
			want = 1
			if sent[id] != want {
				t.Errorf("integration %d (wave %d): %d PATCHes, want 1", i, map[bool]int{true: 1, false: 2}[i == 0], sent[id])
			}
		} else if sent[id] != 0 {
			t.Errorf("integration %d of wave 3 or 4 got %d PATCHes", i, sent[id])
		}
	}
	d := readResults(t)
	if got := d.WaveStatuses(); !slices.Equal(got, []string{"passed", "failed", "not-started", "not-started"}) {
		t.Errorf("waves %v", got)
	}
	if len(d.Waves) == 4 && (len(d.Waves[1].Integrations) != 5 || d.Waves[1].Failed != 1 || len(d.Waves[2].Integrations) != 5 || len(d.Waves[3].Integrations) != 1) {
		t.Errorf("waves %+v", d.Waves)
	}
	for i := 6; i < 12; i++ {
		if st := d.StatusOf(ids[i]); st != "not-attempted" {
			t.Errorf("integration %d: %s, want not-attempted", i, st)
		}
	}
	if !strings.Contains(r.stderr, "wave 2 failed: 1 of its 5 integrations failed, more than --max-fail-percent 0 allows") ||
		!strings.Contains(r.stdout, "staged: 4 waves of 1, 5, 5, 1 integrations") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	// report.html's timeline draws the waves that ran: the second one stopped the run.
	var tl struct {
		Runs []struct {
			Waves []struct {
				Wave, Integrations, Failed int
				Halted                     bool
			} `json:"waves"`
		} `json:"runs"`
	}
	if b, err := os.ReadFile(filepath.Join("rep", "timeline.json")); err != nil || json.Unmarshal(b, &tl) != nil || len(tl.Runs) != 1 {
		t.Fatalf("timeline.json: %v", err)
	}
	if w := tl.Runs[0].Waves; len(w) != 2 || w[0].Integrations != 1 || w[0].Halted || w[1].Integrations != 5 || w[1].Failed != 1 || !w[1].Halted {
		t.Errorf("timeline waves %+v", w)
	}
	res, _ := os.ReadFile(filepath.Join("rep", "results.csv"))
	if !strings.Contains(string(res), `not-attempted,"not attempted: wave 2 failed: 1 of its 5 integrations failed`) {
		t.Errorf("results.csv does not say why the rest was not attempted:\n%s", res)
	}
}

// TestWavesHealthCheck: the first integration turns unhealthy after its change (it reports
// integration errors; in the second case it stops): the rollout stops after it, with 1 PATCH.
func TestWavesHealthCheck(t *testing.T) {
	for _, effect := range []fake.Effect{fake.EffectErrors, fake.EffectStop} {
		t.Run(string(effect), func(t *testing.T) {
			srv, env, ids := waveRun(t, 6, fake.Config{}, validValue)
			srv.SetUnhealthy(fake.Unhealthy{Key: "maxResults", Value: validValue(0), Effect: effect})
			r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "1,100%", "--report-dir", "rep", "--rate", "1000")
			wantCode(t, r, cli.ExitFailure)
			if sent := patchCounts(t, srv); len(sent) != 1 || sent[ids[0]] != 1 {
				t.Errorf("PATCHes %v, want only the first integration's", sent)
			}
			d := readResults(t)
			if got := d.WaveStatuses(); !slices.Equal(got, []string{"failed", "not-started"}) {
				t.Errorf("waves %v", got)
			}
			want := map[fake.Effect]string{fake.EffectErrors: "it reports integration errors it did not report before the wave",
				fake.EffectStop: `it stopped running after the change (status now "stopped")`}[effect]
			if len(d.Waves) == 0 || len(d.Waves[0].Health) != 1 || d.Waves[0].Health[0].Healthy || !slices.Contains(d.Waves[0].Health[0].Problems, want) {
				t.Errorf("health %+v, want %q", d.Waves, want)
			}
			if d.StatusOf(ids[0]) != "failed" || !strings.Contains(r.stderr, want) {
				t.Errorf("status %s; stderr:\n%s", d.StatusOf(ids[0]), r.stderr)
			}
		})
	}
}

// TestWavesMaxFailPercent: with --max-fail-percent 20, a wave of 5 with 1 failure (20%, not
// more) passes and the next wave is sent; one with 2 failures (40%) stops the rollout.
func TestWavesMaxFailPercent(t *testing.T) {
	srv, env, ids := waveRun(t, 15, fake.Config{}, refused(2, 6, 8))
	r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "5", "--max-fail-percent", "20", "--report-dir", "rep", "--rate", "1000")
	wantCode(t, r, cli.ExitFailure)
	sent := patchCounts(t, srv)
	if len(sent) != 10 || sent[ids[9]] != 1 || sent[ids[10]] != 0 {
		t.Errorf("%d PATCHes (%v), want the 10 of waves 1 and 2", len(sent), sent)
	}
	if got := readResults(t).WaveStatuses(); !slices.Equal(got, []string{"passed", "failed", "not-started"}) {
		t.Errorf("waves %v", got)
	}
}

// TestWavesErrorsNotReported: a server that refuses or ignores the errors filter does not
// stop the rollout: the check goes by values and status, and says so.
func TestWavesErrorsNotReported(t *testing.T) {
	for _, mode := range []fake.ErrorsFilterMode{fake.ErrorsFilterRefuse, fake.ErrorsFilterIgnore} {
		t.Run(string(mode), func(t *testing.T) {
			srv, env, _ := waveRun(t, 4, fake.Config{ErrorsFilter: mode}, validValue)
			r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "1,3", "--report-dir", "rep", "--rate", "1000")
			wantCode(t, r, cli.ExitOK)
			if n := len(patchCounts(t, srv)); n != 4 {
				t.Errorf("%d integrations patched, want 4", n)
			}
			d := readResults(t)
			if got := d.WaveStatuses(); !slices.Equal(got, []string{"passed", "passed"}) || d.Waves[0].ErrorsKnown {
				t.Errorf("waves %+v", d.Waves)
			}
			if !strings.Contains(r.stderr, "the server does not say which integrations report errors: checked values and status only") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		})
	}
}

// TestAtomicRollsBack: when a wave fails, --atomic restores every integration the run applied,
// through PATCHes of the values and permissions read before the run: the server's non-secret
// state ends as it began; a secret whose old value the server never showed (masked) is named
// as not restorable, in the console, results.json and summary.md.
func TestAtomicRollsBack(t *testing.T) {
	fix := fake.Synthetic(6, 4)
	srv, env := startFake(t, fix, fake.Config{})
	dir := t.TempDir()
	t.Chdir(dir)
	var b strings.Builder
	b.WriteString("integration_id,option_key,value,permission\n")
	for i, in := range fix.Integrations {
		v := validValue(i)
		if i == 4 {
			v = "5000" // refused: wave 3 fails
		}
		fmt.Fprintf(&b, "%s,maxResults,%s,lock-show\n%s,url,https://new-%d.example.invalid,\n%s,apiKey,${NEW_KEY},lock-hide\n", in.ID, v, in.ID, i, in.ID)
	}
	writeFile(t, dir, "a.csv", []byte(b.String()))
	env["NEW_KEY"] = "rotated-key-0123456789"
	before := srv.State()

	r := run(t, env, nil, "apply", "a.csv", "--yes", "--waves", "2", "--atomic", "--report-dir", "rep", "--rate", "1000")
	wantCode(t, r, cli.ExitFailure)
	after := srv.State()
	for i := range before {
		for j, o := range before[i].Options {
			a := after[i].Options[j]
			if o.Type == fake.KindPassword {
				continue
			}
			if string(a.Value) != string(o.Value) || a.AdminOnly != o.AdminOnly || a.UserCanEdit != o.UserCanEdit {
				t.Errorf("%s %s: %s %v/%v after the rollback, was %s %v/%v", before[i].ID, o.Key, a.Value, a.AdminOnly, a.UserCanEdit, o.Value, o.AdminOnly, o.UserCanEdit)
			}
		}
	}
	// Waves of 2, 2, 2: the fifth integration (wave 3) is refused, so wave 3 fails; each of the
	// five applied gets its PATCH and then its rollback PATCH.
	sent := patchCounts(t, srv)
	for i, in := range fix.Integrations {
		if want := map[bool]int{true: 1, false: 2}[i == 4]; sent[in.ID] != want {
			t.Errorf("integration %d: %d PATCHes, want %d", i, sent[in.ID], want)
		}
	}
	d := readResults(t)
	if !d.RolledBack || !slices.Equal(d.WaveStatuses(), []string{"passed", "passed", "failed"}) {
		t.Errorf("rolled back %v, waves %v", d.RolledBack, d.WaveStatuses())
	}
	for i, in := range d.Integrations {
		want := map[int]string{4: "failed"}[i]
		if want == "" {
			want = "rolled-back"
		}
		if in.Status != want {
			t.Errorf("%s: %s, want %s", in.ID, in.Status, want)
		}
		for _, o := range in.Options {
			if want == "rolled-back" && o.Key == "apiKey" && !strings.HasPrefix(o.Rollback, "not restorable: the server never showed its old value") {
				t.Errorf("%s apiKey: rollback %q", in.ID, o.Rollback)
			}
			if want == "rolled-back" && o.Key != "apiKey" && o.Status != "rolled-back" {
				t.Errorf("%s %s: %s", in.ID, o.Key, o.Status)
			}
		}
	}
	if !strings.Contains(r.stderr, "rollback: "+fix.Integrations[0].ID+" option apiKey: not restorable: the server never showed its old value (its permission was restored)") ||
		!strings.Contains(r.stderr, "polarity-bulk: rolled back 5 integrations (--atomic)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	// The outcome on stderr (issue 16): the failure that stopped the run with its reason, the
	// rolled-back integrations, and a hint that does not offer --resume (it would take them
	// for done).
	for _, want := range []string{
		"polarity-bulk: 1 integration failed:\n  " + fix.Integrations[4].ID,
		"polarity-bulk: the run was rolled back (--atomic): 5 integrations are back to their state before the run: ",
		"hint: fix the cause, then apply rep/failed.csv (it holds every row not in place now), or the file again as a new run; --resume would not send the rolled-back integrations again",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "apply --resume") {
		t.Errorf("stderr offers --resume after a rollback:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "0 applied, 0 unchanged, 1 failed, 0 not attempted, 5 rolled back\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	summary, _ := os.ReadFile(filepath.Join("rep", "summary.md"))
	if !strings.Contains(string(summary), "`--atomic` rolled the run back. Still as the run set them:") || !strings.Contains(string(summary), "`apiKey`: not restorable") {
		t.Errorf("summary.md:\n%s", summary)
	}
	// summary.md: the waves, and the rolled-back integrations one row each, with the columns
	// their heading names.
	for _, want := range []string{"#### Waves\n", "| 3 | 2 | 1 | failed |", "#### Rolled back (5)\n\n| integration | rows | HTTP | attempts | error |\n"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
	if !strings.Contains(string(summary), "| rolled back (--atomic) |") {
		t.Errorf("summary.md's rolled-back rows lack their error column:\n%s", summary)
	}
	if strings.Contains(r.stdout+r.stderr+string(summary), env["NEW_KEY"]) {
		t.Error("the new key is on the console or in summary.md")
	}
}

// TestAtomicRollbackFails: an integration the change stopped refuses its rollback PATCH
// ("Integration is not running"): the failed rollback is said for it, per integration, and the
// others are still rolled back.
func TestAtomicRollbackFails(t *testing.T) {
	srv, env, ids := waveRun(t, 3, fake.Config{}, validValue)
	srv.SetUnhealthy(fake.Unhealthy{Integration: ids[1], Key: "maxResults", Value: validValue(1), Effect: fake.EffectStop})
	r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "100%", "--atomic", "--report-dir", "rep", "--rate", "1000")
	wantCode(t, r, cli.ExitFailure)
	d := readResults(t)
	got := []string{d.StatusOf(ids[0]), d.StatusOf(ids[1]), d.StatusOf(ids[2])}
	if !slices.Equal(got, []string{"rolled-back", "failed", "rolled-back"}) {
		t.Errorf("statuses %v", got)
	}
	for _, in := range d.Integrations {
		if in.ID == ids[1] && (!strings.HasPrefix(in.Error, "rollback failed: ") || !strings.HasPrefix(in.Options[0].Rollback, "rollback failed: ")) {
			t.Errorf("%s: error %q, option %+v", in.ID, in.Error, in.Options)
		}
	}
	if !strings.Contains(r.stderr, "rollback: "+ids[1]+" option maxResults: rollback failed:") || !strings.Contains(r.stderr, "the rollback of 1 failed") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestWaveFlagsRefused: what cannot work is a usage error before anything is sent.
func TestWaveFlagsRefused(t *testing.T) {
	srv, env, _ := waveRun(t, 2, fake.Config{}, validValue)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--waves", "0"}, "a wave holds at least 1 integration"},
		{[]string{"--waves", "1,x"}, "not a count or a percentage"},
		{[]string{"--waves", "150%"}, "from 1% to 100%"},
		{[]string{"--waves", "1", "--wave-pause", "ask"}, "--wave-pause ask: no terminal to ask on: nothing was sent"},
		{[]string{"--waves", "1", "--wave-pause", "soon"}, "neither a duration nor 'ask'"},
		{[]string{"--waves", "1", "--no-verify"}, "--no-verify with --waves or --atomic"},
		{[]string{"--max-fail-percent", "10"}, "--max-fail-percent without --waves or --atomic"},
		{[]string{"--waves", "1", "--max-fail-percent", "101"}, "is not a percentage"},
		{[]string{"--wave-pause", "10s"}, "--wave-pause without --waves or --atomic"},
	} {
		args := append([]string{"apply", "w.csv", "--report-dir", "rep"}, tc.args...)
		if !slices.Contains(tc.args, "ask") {
			args = append(args, "--yes")
		}
		r := run(t, env, nil, args...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for refused flags", n)
	}
	// With --yes and no terminal, 'ask' is answered yes.
	r := run(t, env, nil, "apply", "w.csv", "--report-dir", "rep", "--waves", "1", "--wave-pause", "ask", "--yes")
	wantCode(t, r, cli.ExitOK)
	if !strings.Contains(r.stderr, "--wave-pause ask: no terminal, --yes answers: starting wave 2/2") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestWavesResume: a resume of a rollout stopped by a failed wave continues with that wave:
// the passed wave and the applied integrations of the failed one are not sent again, the
// failed one is, and the waves after it follow.
func TestWavesResume(t *testing.T) {
	srv, env, ids := waveRun(t, 7, fake.Config{}, validValue)
	if err := srv.SetStatus(ids[2], fake.StatusStopped); err != nil { // it refuses its change
		t.Fatal(err)
	}
	r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "1,3", "--report-dir", "rep", "--rate", "1000")
	wantCode(t, r, cli.ExitFailure)
	if len(patchCounts(t, srv)) != 4 {
		t.Fatalf("first run: %v", patchCounts(t, srv))
	}
	// The cause is fixed: the integration is started again.
	srv.ResetRequests()
	if err := srv.SetStatus(ids[2], fake.StatusRunning); err != nil {
		t.Fatal(err)
	}
	r = run(t, env, nil, "apply", "--resume", "rep", "--yes", "--rate", "1000")
	wantCode(t, r, cli.ExitOK)
	sent := patchCounts(t, srv)
	want := map[string]int{ids[2]: 1, ids[4]: 1, ids[5]: 1, ids[6]: 1}
	if len(sent) != len(want) || sent[ids[2]] != 1 || sent[ids[4]] != 1 || sent[ids[5]] != 1 || sent[ids[6]] != 1 {
		t.Errorf("resume PATCHes %v, want %v", sent, want)
	}
	d := readResults(t)
	if got := d.WaveStatuses(); !slices.Equal(got, []string{"passed", "passed", "passed"}) {
		t.Errorf("waves after the resume %v", got)
	}
	if !strings.Contains(r.stdout, "staged: 3 waves of 1 (passed), 3, 3 integrations") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	r = run(t, env, nil, "apply", "--resume", "rep", "--yes", "--waves", "2")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "was staged --waves 1,3, not 2") {
		t.Errorf("a resume with other waves: exit %d\n%s", r.code, r.stderr)
	}
}

// TestWavePauseAsk: on a terminal, --wave-pause ask asks before each next wave: "yes" starts
// it, "rollback" (with --atomic) restores what the run applied, anything else stops there with
// the rest not attempted.
func TestWavePauseAsk(t *testing.T) {
	onTerminal := func(env map[string]string, answers string, args ...string) result {
		var out, errOut strings.Builder
		stdio := cli.Stdio{
			In: strings.NewReader(answers), Out: &out, Err: &errOut,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Terminal:  func(any) bool { return true },
		}
		code := cli.Main(t.Context(), append([]string{"apply", "w.csv", "--yes", "--no-color", "--report-dir", "rep", "--rate", "1000", "--waves", "1", "--wave-pause", "ask"}, args...), stdio)
		return result{code, out.String(), errOut.String()}
	}
	for _, tc := range []struct {
		answers string
		atomic  bool
		code    int
		patches int
		waves   []string
	}{
		{"yes\nyes\n", false, cli.ExitOK, 3, []string{"passed", "passed", "passed"}},
		{"yes\nno\n", false, cli.ExitFailure, 2, []string{"passed", "passed", "not-started"}},
		{"rollback\n", true, cli.ExitFailure, 1, []string{"passed", "not-started", "not-started"}},
	} {
		t.Run(strings.ReplaceAll(tc.answers, "\n", " "), func(t *testing.T) {
			srv, env, ids := waveRun(t, 3, fake.Config{}, validValue)
			var args []string
			if tc.atomic {
				args = append(args, "--atomic")
			}
			r := onTerminal(env, tc.answers, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if n := len(patchCounts(t, srv)); n != tc.patches {
				t.Errorf("%d integrations patched, want %d", n, tc.patches)
			}
			d := readResults(t)
			if got := d.WaveStatuses(); !slices.Equal(got, tc.waves) {
				t.Errorf("waves %v, want %v", got, tc.waves)
			}
			if !strings.Contains(r.stderr, "Start wave 2/3 (1 integration)?") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
			switch {
			case tc.atomic:
				if d.StatusOf(ids[0]) != "rolled-back" || !strings.Contains(r.stderr, "rolled back at your answer after wave 1") {
					t.Errorf("status %s\n%s", d.StatusOf(ids[0]), r.stderr)
				}
			case tc.code != cli.ExitOK:
				if d.StatusOf(ids[2]) != "not-attempted" || !strings.Contains(r.stderr, "stopped at your answer after wave 2") {
					t.Errorf("status %s\n%s", d.StatusOf(ids[2]), r.stderr)
				}
			}
		})
	}
}

// TestAtomicNothingLanded: a first wave refused whole leaves --atomic nothing to restore, and
// the console says so instead of "rolled back 0 integrations".
func TestAtomicNothingLanded(t *testing.T) {
	srv, env, _ := waveRun(t, 4, fake.Config{}, refused(0))
	r := run(t, env, nil, "apply", "w.csv", "--yes", "--waves", "1", "--atomic", "--report-dir", "rep", "--rate", "1000")
	wantCode(t, r, cli.ExitFailure)
	if sent := patchCounts(t, srv); len(sent) != 1 {
		t.Errorf("PATCHes %v, want only the refused one", sent)
	}
	if !strings.Contains(r.stderr, "polarity-bulk: --atomic: nothing to roll back: no change of this run had reached the server") ||
		strings.Contains(r.stderr, "rolled back 0") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}
