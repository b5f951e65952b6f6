package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const exportExample = `Writes the server's current options as a CSV file in the input format: integration_id,
integration_name, option_key, value, permission. Password values are left empty (= keep)
unless --include-secrets. Planning the exported file against the same server changes nothing,
so it is a starting point for edits and a snapshot to roll back to.

Examples:
  polarity-bulk export --out current.csv
  polarity-bulk export --integration-name VirusTotal --running-only`

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

func runExport(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "export", "export [flags]", exportExample)
	conn, lf := addConnFlags(fs), addLogFlags(fs)
	var ids, names repeated
	fs.Var(&ids, "integration-id", "export only this integration `ID` (repeatable)")
	fs.Var(&names, "integration-name", "export only integrations with this `NAME`, any case (repeatable)")
	runningOnly := fs.Bool("running-only", false, "export only running integrations")
	out := fs.String("out", "", "write to `FILE` instead of standard output")
	secrets := fs.Bool("include-secrets", false, "include password values (the file is then mode 0600)")
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("export takes no FILE: use --out FILE", "export: unexpected argument %q", pos[0])
	}
	log, err := lf.logger(stdio)
	if err != nil {
		return err
	}
	cl, err := conn.client(stdio, log)
	if err != nil {
		return err
	}
	s := &session{client: cl, log: log}
	defer s.close()
	all, err := cl.Integrations(ctx, *runningOnly)
	if err != nil {
		return serverError(err)
	}
	var sel []bulk.Integration
	matched := map[string]bool{}
	for _, in := range all {
		keep := len(ids) == 0 && len(names) == 0
		if slices.Contains(ids, in.ID) {
			keep, matched["id:"+in.ID] = true, true
		}
		for _, n := range names {
			if strings.EqualFold(n, in.Name) {
				keep, matched["name:"+strings.ToLower(n)] = true, true
			}
		}
		if keep {
			sel = append(sel, in)
		}
	}
	var missing []string
	for _, id := range ids {
		if !matched["id:"+id] {
			missing = append(missing, "id "+id)
		}
	}
	for _, n := range names {
		if !matched["name:"+strings.ToLower(n)] {
			missing = append(missing, fmt.Sprintf("name %q", n))
		}
	}
	if len(missing) > 0 {
		hint := "run 'polarity-bulk export' without filters to see every integration"
		if *runningOnly {
			hint = "drop --running-only if the integration is stopped"
		}
		return failure(hint, fmt.Errorf("export: no integration with %s on the server", strings.Join(missing, ", ")))
	}
	write := func(w io.Writer) error { return report.ExportCSV(w, sel, *secrets) }
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
	fmt.Fprintf(stdio.Err, "exported %d %s to %s\n", len(sel), plural(len(sel), "integration", "integrations"), *out)
	return nil
}
