package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const exportExample = `Writes the server's current options as a CSV file in the input format: integration_id,
integration_name, option_key, value, permission (and option_kind with --with-kinds). Password
values are left empty (= keep) unless --include-secrets. Planning the exported file against
the same server changes nothing, so it is a starting point for edits and a snapshot to roll
back to. Ids, names and keys may be patterns as in selector rows: *, glob:GLOB, re:REGEXP.

Examples:
  polarity-bulk export --out current.csv
  polarity-bulk export --integration-name VirusTotal --running-only
  polarity-bulk export --option-kind password --with-kinds       # every password option
  polarity-bulk export --integration-name 'glob:Virus*' --option-key 'glob:*Key'`

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

func runExport(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "export", "export [flags]", exportExample)
	conn, lf := addConnFlags(fs), addLogFlags(fs)
	var sf selection
	fs.Var(&sf.ids, "integration-id", "export only this integration `ID` or pattern (repeatable)")
	fs.Var(&sf.names, "integration-name", "export only integrations with this `NAME` or pattern, any case (repeatable)")
	fs.Var(&sf.keys, "option-key", "export only options with this `KEY` or pattern, e.g. apiKey or glob:*Key (repeatable)")
	fs.Var(&sf.kinds, "option-kind", "export only options of this `KIND`: text, password, boolean, number, select, multiselect (repeatable)")
	withKinds := fs.Bool("with-kinds", false, "add the option_kind column (planning the file then also checks each option's kind)")
	runningOnly := fs.Bool("running-only", false, "export only running integrations")
	out := fs.String("out", "", "write to `FILE` instead of standard output")
	secrets := fs.Bool("include-secrets", false, "include password values (the file is then mode 0600)")
	delim := addDelimiterFlag(fs, "written")
	if err := noFile(fs, args, stdio, "export takes no FILE: use --out FILE"); err != nil {
		return err
	}
	sel, s, ins, err := readSelected(ctx, stdio, conn, lf, sf, *runningOnly)
	if err != nil {
		return err
	}
	defer s.close()
	log := s.log
	log.Info("export", "integrations", len(ins), "include secrets", *secrets)
	switch missingIns, missingOpts := sel.missing(); {
	case len(missingIns) > 0:
		hint := "run 'polarity-bulk export' without filters to see every integration"
		if *runningOnly {
			hint = "drop --running-only if the integration is stopped"
		}
		return failure(hint, fmt.Errorf("export: no integration with %s on the server", strings.Join(missingIns, ", ")))
	case len(missingOpts) > 0:
		return failure("option keys are case-sensitive; 'polarity-bulk export --with-kinds' lists every option with its kind",
			fmt.Errorf("export: no option with %s in the integrations selected", strings.Join(missingOpts, ", ")))
	}
	write := func(w io.Writer) error {
		return report.ExportCSV(w, ins, report.ExportOptions{Secrets: *secrets, Kinds: *withKinds, Comma: delim.comma()})
	}
	if *out == "" {
		return write(stdio.Out)
	}
	mode := 0o644
	if *secrets {
		mode = 0o600
	}
	if err := report.WriteFile(*out, os.FileMode(mode), write); err != nil {
		return failure("", fmt.Errorf("export: %w", err))
	}
	fmt.Fprintf(stdio.Err, "exported %d %s to %s\n", len(ins), bulk.Plural(len(ins), "integration", "integrations"), *out)
	return nil
}
