package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

func planMeta() PlanMeta {
	return PlanMeta{
		Tool:    "polarity-bulk 1.0.0",
		File:    "rollout.csv",
		SHA256:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Server:  "https://polarity.example.com",
		Created: time.Date(2025, 3, 1, 9, 58, 0, 0, time.FixedZone("CET", 3600)),
	}
}

// renderers lists every renderer over the fixture, by golden file name.
func renderers() []struct {
	file   string
	render func(io.Writer) error
} {
	p, r, m := fixturePlan(), fixtureRun(), planMeta()
	return []struct {
		file   string
		render func(io.Writer) error
	}{
		{"plan.txt", func(w io.Writer) error {
			return PlanText(w, NewPlanFile(PlanMeta{}, p), TextOptions{Expand: true, ShowUnchanged: true})
		}},
		{"plan-color.txt", func(w io.Writer) error {
			return PlanText(w, NewPlanFile(PlanMeta{}, p), TextOptions{Color: true, Expand: true, ShowUnchanged: true})
		}},
		{"plan.json", func(w io.Writer) error { return PlanJSON(w, NewPlanFile(m, p)) }},
		{"plan.md", func(w io.Writer) error { return PlanMarkdown(w, NewPlanFile(m, p), false) }},
		{"results.json", func(w io.Writer) error { return ResultsJSON(w, NewResults(r)) }},
		{"results.csv", func(w io.Writer) error { return ResultsCSV(w, NewResults(r)) }},
		{"failed.csv", func(w io.Writer) error { return FailedCSV(w, NewResults(r)) }},
		{"backup.csv", func(w io.Writer) error { return BackupCSV(w, NewResults(r), false) }},
		{"summary.md", func(w io.Writer) error { return SummaryMarkdown(w, NewResults(r)) }},
		{"junit.xml", func(w io.Writer) error { return JUnit(w, NewResults(r)) }},
		{"outcome.txt", func(w io.Writer) error {
			v := NewResults(r)
			if err := Totals(w, v, "reports/run1"); err != nil {
				return err
			}
			return Failures(w, v, "reports/run1")
		}},
	}
}

func TestGolden(t *testing.T) {
	all := append(renderers(), struct {
		file   string
		render func(io.Writer) error
	}{"backup-secrets.csv", func(w io.Writer) error { return BackupCSV(w, NewResults(fixtureRun()), true) }})
	for _, tt := range all {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			testkit.Golden(t, filepath.Join("testdata", tt.file), b.Bytes())
			// Rendering twice gives the same bytes: nothing depends on map order.
			var again bytes.Buffer
			if err := tt.render(&again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), again.Bytes()) {
				t.Fatal("two renderings differ")
			}
		})
	}
}

// TestFailuresInterrupted: an interrupted run's outcome says how many were not attempted and
// how to go on, so that show of its report directory prints it as apply did.
func TestFailuresInterrupted(t *testing.T) {
	r := fixtureRun()
	r.Interrupted = true
	v := NewResults(r)
	var b bytes.Buffer
	if err := Failures(&b, v, "reports/run1"); err != nil {
		t.Fatal(err)
	}
	n := v.Totals.Integrations.NotAttempted
	want := fmt.Sprintf("polarity-bulk: interrupted: %d %s not attempted\nhint: continue with 'polarity-bulk apply --resume reports/run1 --yes'\n",
		n, bulk.Plural(n, "integration was", "integrations were"))
	if n == 0 || !strings.HasSuffix(b.String(), want) {
		t.Errorf("outcome of an interrupted run (%d not attempted):\n%s\nwant it to end with:\n%s", n, b.String(), want)
	}
}
