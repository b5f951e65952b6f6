package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/probe"
)

// ProbeText writes probe's findings for people: one line per check with its verdict and what
// was found, the hint below it, and the outcome last.
func ProbeText(w io.Writer, r probe.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "probe of %s (polarity-bulk %s)\n\n", r.Server, r.Tool)
	width := 0
	for _, f := range r.Findings {
		width = max(width, len(f.Check))
	}
	indent := strings.Repeat(" ", 2+8+1+width+2)
	unknown := 0
	for _, f := range r.Findings {
		if f.Status == probe.Unknown {
			unknown++
		}
		fmt.Fprintf(&b, "  %-8s %-*s  %s\n", f.Status, width, f.Check, printable(f.Summary, 0))
		if f.Hint != "" {
			fmt.Fprintf(&b, "%shint: %s\n", indent, printable(f.Hint, 0))
		}
	}
	b.WriteString("\n")
	probs := r.Problems()
	if len(probs) == 0 {
		fmt.Fprintf(&b, "Result: plan and apply can work (no problem; %d unknown).\n", unknown)
	} else {
		names := make([]string, len(probs))
		for i, f := range probs {
			names[i] = f.Check
		}
		them := bulk.Plural(len(probs), "it", "them")
		fmt.Fprintf(&b, "Result: %s (%s): fix %s before plan or apply.\n", itoa(len(probs))+" "+bulk.Plural(len(probs), "problem", "problems"), strings.Join(names, ", "), them)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ProbeJSON writes a probe report as indented JSON: the full report for --json, or its
// Public form for probe.json.
func ProbeJSON(w io.Writer, r probe.Report) error { return writeJSON(w, r) }
