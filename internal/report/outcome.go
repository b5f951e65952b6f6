package report

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// MaxFailuresShown is how many failed integrations Failures lists before "N more in
// results.csv": enough to see the pattern, few enough to stay on the screen.
const MaxFailuresShown = 20

// cause is why an integration failed, as far as what to do next goes.
type cause int

const (
	// causeTransient: no answer, a timeout, 429 or 5xx after every retry, a pause longer
	// than --max-wait; the same request may well pass later: --resume.
	causeTransient cause = iota
	// causePermanent: the server refused the request (400, 403, 404, 409, 422, an integration
	// that is not running, an answer carrying errors): it fails again until the row is fixed.
	causePermanent
	// causeReadBack: the PATCH was answered, but reading the option back shows something else.
	causeReadBack
)

// causeOf classifies a failed integration from what results.json records.
func causeOf(in *ResultIntegration) cause {
	for _, o := range in.Options {
		if o.Verified == bulk.VerifyMismatch {
			return causeReadBack
		}
	}
	switch s := in.HTTPStatus; {
	case s == 0, s == 408, s == 429, s >= 500:
		return causeTransient
	}
	return causePermanent // any other 4xx, or a 2xx that carried errors
}

// failureReason is what went wrong with an integration, in the server's words: the options
// that read back different, else its error without the "patch integration ID: " the line
// already says, else its options' errors.
func failureReason(in *ResultIntegration) string {
	var parts []string
	for _, o := range in.Options {
		if o.Verified == bulk.VerifyMismatch {
			parts = append(parts, o.Key+": "+o.Error)
		}
	}
	if len(parts) == 0 && in.Error != "" {
		return strings.TrimPrefix(in.Error, "patch integration "+in.ID+": ")
	}
	for _, o := range in.Options {
		if len(parts) == 0 && o.Error != "" {
			parts = append(parts, o.Key+": "+o.Error)
		}
	}
	return strings.Join(parts, "; ")
}

// failedLines are the lines of an integration's options that did not get through.
func failedLines(in *ResultIntegration) []int {
	var ls []int
	for _, o := range in.Options {
		if o.Status == bulk.StatusFailed || o.Status == bulk.StatusNotAttempted {
			ls = append(ls, o.lines()...)
		}
	}
	slices.Sort(ls)
	return slices.Compact(ls)
}

// Totals writes the line apply ends with on stdout: the integrations by status and where the
// report is.
func Totals(w io.Writer, v *Results, dir string) error {
	n := v.Totals.Integrations
	rolledBack := ""
	if n.RolledBack > 0 {
		rolledBack = fmt.Sprintf(", %d rolled back", n.RolledBack)
	}
	_, err := fmt.Fprintf(w, "\n%d applied, %d unchanged, %d failed, %d not attempted%s\nreport: %s\n",
		n.Applied, n.Unchanged, n.Failed, n.NotAttempted, rolledBack, dir)
	return err
}

// Failures writes what apply prints on stderr when a run ends with failures (and show prints
// of a report directory): each failed integration with its lines and the server's reason, up
// to MaxFailuresShown and then how many more results.csv lists; the integrations the run did
// not get to; and a hint for each cause: fix failed.csv for refusals a retry will not change,
// --resume for failures that may pass and for what was not attempted. It writes nothing when
// nothing failed. Error texts come scrubbed from the view, and are cut and escaped for the
// terminal. An interrupted run ends with how many were not attempted and the --resume to go
// on with, so that show of its report directory says it as apply did.
func Failures(w io.Writer, v *Results, dir string) error {
	failed, byCause, rolledBack := outcomeOf(v)
	var b strings.Builder
	n := len(failed)
	if n > 0 {
		fmt.Fprintf(&b, "polarity-bulk: %d %s failed:\n", n, bulk.Plural(n, "integration", "integrations"))
	}
	for _, in := range failed[:min(n, MaxFailuresShown)] {
		where := ""
		if ls := failedLines(in); len(ls) > 0 {
			where = ", " + lineRefs(ls)
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", targetName(in.ID, in.Name), where, printable(failureReason(in), 300))
	}
	if n > MaxFailuresShown {
		fmt.Fprintf(&b, "  … and %d more in %s\n", n-MaxFailuresShown, filepath.Join(dir, ResultsCSVFile))
	}
	skipped := 0
	if !v.Interrupted {
		skipped = v.Totals.Integrations.NotAttempted
	}
	if skipped > 0 {
		why := "the run stopped sending (--max-failures, or refused credentials)"
		if v.Stopped != "" {
			why = printable(v.Stopped, 200) // a staged run: which wave stopped it, and why
		}
		fmt.Fprintf(&b, "polarity-bulk: %d %s not attempted: %s\n",
			skipped, bulk.Plural(skipped, "integration was", "integrations were"), why)
	}
	if len(rolledBack) > 0 {
		writeRolledBack(&b, rolledBack, dir)
		_, err := io.WriteString(w, b.String())
		return err
	}
	resume := "'polarity-bulk apply --resume " + dir + " --yes'"
	if k := byCause[causePermanent]; k > 0 {
		fmt.Fprintf(&b, "hint: %s %s refused for a reason a retry does not change (a value, the integration's state, the rights): fix %s in %s, then apply that file\n",
			subject(k, n), bulk.Plural(k, "was", "were"), bulk.Plural(k, "its rows", "their rows"), filepath.Join(dir, FailedCSVFile))
	}
	if k := byCause[causeReadBack]; k > 0 {
		fmt.Fprintf(&b, "hint: %s read back different from what was sent: another writer may have changed %s since; check, then %s sends %s again\n",
			subject(k, n), bulk.Plural(k, "it", "them"), resume, bulk.Plural(k, "it", "them"))
	}
	switch k := byCause[causeTransient]; {
	case k > 0 && skipped > 0:
		fmt.Fprintf(&b, "hint: %s failed for a reason that may pass (no answer, a timeout, 429 or 5xx after every retry): %s sends %s and the integrations not attempted\n",
			subject(k, n), resume, bulk.Plural(k, "it", "them"))
	case k > 0:
		fmt.Fprintf(&b, "hint: %s failed for a reason that may pass (no answer, a timeout, 429 or 5xx after every retry): continue with %s\n", subject(k, n), resume)
	case skipped > 0:
		fmt.Fprintf(&b, "hint: continue with %s\n", resume)
	}
	if v.Interrupted {
		k := v.Totals.Integrations.NotAttempted
		fmt.Fprintf(&b, "polarity-bulk: interrupted: %d %s not attempted\nhint: continue with %s\n",
			k, bulk.Plural(k, "integration was", "integrations were"), resume)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// outcomeOf picks from a run what Failures tells: the failed integrations, how many failed
// for each cause, and the labels of the rolled-back ones (names, as the plan's groups list
// them, with the id only where the name is not enough).
func outcomeOf(v *Results) (failed []*ResultIntegration, byCause map[cause]int, rolledBack []string) {
	byCause = map[cause]int{}
	names := map[string]int{}
	for i := range v.Integrations {
		names[v.Integrations[i].Name]++
	}
	for i := range v.Integrations {
		switch in := &v.Integrations[i]; in.Status {
		case bulk.StatusFailed:
			failed = append(failed, in)
			byCause[causeOf(in)]++
		case bulk.StatusRolledBack:
			label := in.Name
			if label == "" || names[label] > 1 {
				label = targetName(in.ID, in.Name)
			}
			rolledBack = append(rolledBack, printable(label, 120))
		}
	}
	return failed, byCause, rolledBack
}

// writeRolledBack says which integrations --atomic rolled back, and the way on. A --resume
// would take them for done (the journal says applied): failed.csv, which holds every row not
// in place now, is the way on, so no --resume hint is given.
func writeRolledBack(b *strings.Builder, labels []string, dir string) {
	k := len(labels)
	head := "polarity-bulk: the run was rolled back (--atomic): " + itoa(k) + " " + bulk.Plural(k, "integration is", "integrations are") +
		" back to " + bulk.Plural(k, "its", "their") + " state before the run: "
	b.WriteString(strings.Join(wrapList(labels, head, "  ", 100, 4, "in "+filepath.Join(dir, ResultsCSVFile)), "\n") + "\n")
	fmt.Fprintf(b, "hint: fix the cause, then apply %s (it holds every row not in place now), or the file again as a new run; --resume would not send the rolled-back integrations again\n",
		filepath.Join(dir, FailedCSVFile))
}

// subject says "it", "all 3" or "2 of them" for k of n failures.
func subject(k, n int) string {
	switch {
	case n == 1:
		return "it"
	case k == n && n == 2:
		return "both"
	case k == n:
		return fmt.Sprintf("all %d", n)
	}
	return fmt.Sprintf("%d of them", k)
}
