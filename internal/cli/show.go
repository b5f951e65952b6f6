package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const showExample = `Renders a saved report without contacting any server. With --html it (re)writes report.html
in the report directory that 'apply' wrote, from its results.json and timeline.json: the page
to open after a rollout or attach to a change ticket (self-contained, prints well).

Example:
  polarity-bulk show reports/rollout-1 --html`

func runShow(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "show", "show DIR --html", showExample)
	html := fs.Bool("html", false, "(re)write DIR/report.html from DIR/results.json and DIR/timeline.json")
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		if len(pos) == 0 {
			return usageError("give the report directory apply wrote: polarity-bulk show reports/rollout-1 --html", "show: missing DIR")
		}
		return usageError("give one report directory", "show: too many arguments: %v", pos)
	}
	dir := pos[0]
	if !*html {
		return usageError("'polarity-bulk show "+dir+" --html' (re)writes "+filepath.Join(dir, report.HTMLFile)+" from the report's results.json and timeline.json",
			"show %s: nothing to do without --html", dir)
	}
	return showHTML(stdio, dir)
}

// showHTML rewrites dir's report.html.
func showHTML(stdio Stdio, dir string) error {
	const hint = "give the report directory that 'polarity-bulk apply' wrote (it holds results.json)"
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return usageError(hint, "show: %v", err)
	case !fi.IsDir():
		return usageError(hint, "show --html: %s is a file, not a report directory", dir)
	}
	note, err := report.RewriteHTML(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usageError(hint, "show --html: %s has no %s", dir, report.ResultsJSONFile)
	case err != nil:
		return failure("report.html is drawn from the results.json apply wrote; that file must be left as apply wrote it", fmt.Errorf("show --html: %w", err))
	}
	if note != "" {
		fmt.Fprintf(stdio.Err, "polarity-bulk: warning: %s; report.html has no timeline\n", note)
	}
	fmt.Fprintf(stdio.Out, "wrote %s\n", filepath.Join(dir, report.HTMLFile))
	return nil
}
