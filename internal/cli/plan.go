package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/report"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

const planExample = `The dry run: validates FILE against the live server (names, option keys, values by the
option's type, permissions), then prints what apply would change. Reads only.

Example:
  export POLARITY_URL=https://polarity.example.com POLARITY_API_KEY=...
  polarity-bulk plan changes.csv
  polarity-bulk plan changes.csv --out plan.json --markdown plan.md --detailed-exitcode`

type planFlags struct {
	out      string
	markdown string
	detailed bool
	view     *viewFlags
	conn     *connFlags
	log      *logFlags
}

func runPlan(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "plan", "plan [flags] FILE", planExample)
	f := planFlags{conn: addConnFlags(fs), log: addLogFlags(fs), view: addViewFlags(fs)}
	fs.StringVar(&f.out, "out", "", "write the machine-readable plan to `plan.json` (for apply --plan)")
	fs.StringVar(&f.markdown, "markdown", "", "write a Markdown summary to `plan.md`, sized for a pull-request comment")
	fs.BoolVar(&f.detailed, "detailed-exitcode", false, "exit 0 when there is nothing to change, 2 when there are changes")
	delim := addDelimiterFlag(fs, "read")
	file, log, err := fileCommand(fs, args, stdio, f.log)
	if err != nil {
		return err
	}
	s, err := prepare(ctx, source{path: file, comma: *delim}, f.conn, log, stdio, nil)
	if err != nil {
		return err
	}
	defer s.close()

	meta := report.PlanMeta{Tool: toolVersion(), Rev: toolRevision(), File: s.in.Path, SHA256: s.in.SHA256, Delimiter: delim.record(), Server: s.server, Created: time.Now(), Shapes: s.client.Shapes()}
	if values := envValues(s.in.Rows); f.out != "" && len(values) > 0 {
		// apply --plan refuses ${NAME} values that differ from these (keyed digests).
		d, err := secret.NewDigests(s.cred, values)
		if err != nil {
			return failure("", err)
		}
		meta.ValueDigests = &d
	}
	view := report.NewPlanFile(meta, s.plan) // what every output below renders
	if err := report.PlanText(stdio.Out, view, f.view.options(stdio, stdio.Out)); err != nil {
		return err
	}
	if f.out != "" {
		if err := report.WriteFile(f.out, 0o644, func(w io.Writer) error { return report.PlanJSON(w, view) }); err != nil {
			return failure("", fmt.Errorf("write plan: %w", err))
		}
		log.Info("wrote plan", "file", f.out)
		fmt.Fprintf(stdio.Err, "plan written to %s: apply it with 'polarity-bulk apply --plan %s'\n", f.out, f.out)
	}
	if f.markdown != "" {
		if err := report.WriteFile(f.markdown, 0o644, func(w io.Writer) error { return report.PlanMarkdown(w, view, f.view.expand) }); err != nil {
			return failure("", fmt.Errorf("write markdown plan: %w", err))
		}
		log.Info("wrote markdown plan", "file", f.markdown)
	}
	if err := appendStepSummary(stdio, func(w io.Writer) error { return report.PlanMarkdown(w, view, f.view.expand) }); err != nil {
		return err
	}
	if f.detailed && s.plan.Count().Changed > 0 {
		return errChanges
	}
	return nil
}

// color reports whether w gets ANSI colour: a terminal, unless NO_COLOR is set to a non-empty
// value (no-color.org: an empty NO_COLOR does not count) or --no-color.
func color(stdio Stdio, w io.Writer, off bool) bool {
	if off {
		return false
	}
	if stdio.getenv("NO_COLOR") != "" {
		return false
	}
	return stdio.Terminal(w)
}

// appendStepSummary appends Markdown to $GITHUB_STEP_SUMMARY when it is set (GitHub Actions).
func appendStepSummary(stdio Stdio, write func(io.Writer) error) error {
	path := stdio.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return failure("GITHUB_STEP_SUMMARY names a file that cannot be written", fmt.Errorf("step summary: %w", err))
	}
	defer f.Close()
	if err := write(f); err != nil {
		return failure("", fmt.Errorf("step summary: %w", err))
	}
	return f.Close()
}
