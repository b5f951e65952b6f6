package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const showExample = `Renders a saved plan or report without contacting any server; nothing is sent.

A plan.json (plan --out) prints exactly as 'plan' printed it, or with --markdown as the
pull-request summary (plan.md). A report directory (or its results.json) prints the run's
outcome and its failures as 'apply' printed them. With --html, show (re)writes the report
directory's report.html from its results.json and timeline.json: the page to open after a
rollout or attach to a change ticket (self-contained, prints well).

Examples:
  polarity-bulk show plan.json
  polarity-bulk show plan.json --markdown >> "$GITHUB_STEP_SUMMARY"
  polarity-bulk show reports/rollout-1
  polarity-bulk show reports/rollout-1 --html`

// maxShown caps what show reads of a file: a plan or results file of 100,000 integrations is
// far below it.
const maxShown = 256 << 20

func runShow(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "show", "show [flags] plan.json | DIR", showExample)
	view, lf := addViewFlags(fs), addLogFlags(fs)
	markdown := fs.Bool("markdown", false, "print a plan as the Markdown summary plan.md holds (for a pull request or a step summary)")
	html := fs.Bool("html", false, "(re)write DIR/report.html from DIR/results.json and DIR/timeline.json")
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	log, err := lf.logger(stdio)
	if err != nil {
		return err
	}
	if *html {
		switch len(pos) {
		case 0:
			return usageError("give the report directory apply wrote: polarity-bulk show reports/rollout-1 --html", "show: missing DIR")
		case 1:
			return showHTML(stdio, pos[0])
		}
		return usageError("give one report directory", "show: too many arguments: %v", pos)
	}
	if len(pos) != 1 {
		return usageError("give one plan.json or one report directory: polarity-bulk show plan.json", "show: want one FILE or DIR, got %d", len(pos))
	}
	path := pos[0]
	data, err := readShown(path)
	if err != nil {
		return err
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if !json.Valid(data) {
		return invalidInput("show prints a saved plan or an apply's outcome; a CSV file is planned with 'polarity-bulk plan "+path+"'",
			"show %s: not a plan.json or results.json (not JSON)", path)
	}
	_ = json.Unmarshal(data, &head) // a JSON file of another kind is refused by ReadPlan below
	log.Info("read", "file", path, "bytes", len(data), "kind", head.Kind)
	switch {
	case head.Kind == report.KindResults:
		if *markdown {
			return usageError("--markdown renders a plan; a report directory has its summary.md", "show %s: --markdown is for plan.json", path)
		}
		v, err := report.ReadResults(bytes.NewReader(data))
		if err != nil {
			return invalidInput("give the report directory apply wrote, or its results.json", "show %s: %v", path, err)
		}
		dir := path
		if filepath.Base(path) == report.ResultsJSONFile {
			dir = filepath.Dir(path)
		}
		if err := report.Totals(stdio.Out, v, dir); err != nil {
			return err
		}
		// What apply said on both streams, here on stdout: it is what was asked for.
		both := stdio
		both.Err = stdio.Out
		paceSummary(both, v)
		return report.Failures(stdio.Out, v, dir)
	}
	pf, err := report.ReadPlan(bytes.NewReader(data))
	if err != nil {
		return invalidInput("give the plan.json written by 'polarity-bulk plan --out', or a report directory", "show %s: %v", path, err)
	}
	if *markdown {
		return report.PlanMarkdown(stdio.Out, pf, view.expand)
	}
	return report.PlanText(stdio.Out, pf, view.options(stdio, stdio.Out))
}

// readShown reads a plan or results file, or a report directory's results.json. A path that
// is not a regular file (a pipe that would block, a device) is refused.
func readShown(path string) ([]byte, error) {
	const hint = "give a plan.json written by 'polarity-bulk plan --out', or a report directory written by apply"
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, report.ResultsJSONFile)
	}
	f, err := report.OpenInput(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, invalidInput(hint, "show: %s does not exist", path)
	case err != nil:
		return nil, invalidInput(hint, "show: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxShown+1))
	if err != nil {
		return nil, invalidInput(hint, "show: read %s: %v", path, err)
	}
	if len(data) > maxShown {
		return nil, invalidInput(hint, "show: %s is over %d MiB: not a plan or results file", path, maxShown>>20)
	}
	return data, nil
}

// showHTML rewrites dir's report.html.
func showHTML(stdio Stdio, dir string) error {
	const hint = "give the report directory that 'polarity-bulk apply' wrote (it holds results.json)"
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return invalidInput(hint, "show: %v", err)
	case !fi.IsDir():
		return invalidInput(hint, "show --html: %s is a file, not a report directory", dir)
	}
	note, err := report.RewriteHTML(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return invalidInput(hint, "show --html: %s has no %s", dir, report.ResultsJSONFile)
	case err != nil:
		return failure("report.html is drawn from the results.json apply wrote; that file must be left as apply wrote it", fmt.Errorf("show --html: %w", err))
	}
	if note != "" {
		fmt.Fprintf(stdio.Err, "polarity-bulk: warning: %s; report.html has no timeline\n", note)
	}
	fmt.Fprintf(stdio.Out, "wrote %s\n", filepath.Join(dir, report.HTMLFile))
	return nil
}
