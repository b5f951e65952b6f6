package report

import (
	"io"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The benchmarks render a 1,000-integration × 10-option plan and its results, the size of a
// large rollout.

func BenchmarkPlanText(b *testing.B) {
	p := bigPlan(1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if err := PlanText(io.Discard, NewPlanFile(PlanMeta{}, p), TextOptions{Color: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanJSON(b *testing.B) {
	p, m := bigPlan(1000, 10), planMeta()
	b.ReportAllocs()
	for b.Loop() {
		if err := PlanJSON(io.Discard, NewPlanFile(m, p)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanMarkdown(b *testing.B) {
	p, m := bigPlan(1000, 10), planMeta()
	b.ReportAllocs()
	for b.Loop() {
		if err := PlanMarkdown(io.Discard, NewPlanFile(m, p), false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResultsJSON(b *testing.B) {
	r := bigRun(bigPlan(1000, 10))
	b.ReportAllocs()
	for b.Loop() {
		if err := ResultsJSON(io.Discard, NewResults(r)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResultsCSV(b *testing.B) {
	r := bigRun(bigPlan(1000, 10))
	b.ReportAllocs()
	for b.Loop() {
		if err := ResultsCSV(io.Discard, NewResults(r)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteDir(b *testing.B) {
	r := bigRun(bigPlan(1000, 10))
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteDir(dir, NewResults(r), false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTML renders report.html for 1,000 integrations of 10 options and a timeline.
func BenchmarkHTML(b *testing.B) {
	r := bigRun(bigPlan(1000, 10))
	r.Timelines = []bulk.Timeline{syntheticTimeline(r.Started, false)}
	b.ReportAllocs()
	for b.Loop() {
		if err := HTML(io.Discard, NewResults(r)); err != nil {
			b.Fatal(err)
		}
	}
}
