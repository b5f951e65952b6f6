package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const describeExample = `Shows what a CSV row needs to know before it is written: per integration its status, and
per option its key, kind (as the option_kind column writes it), current permission, whether
the server shows its value, and a select's choices (value and display). It never shows a
value; 'export' writes the values. Reads only.

--integration-id and --integration-name take exact text or a pattern, as selector rows do:
*, glob:<shell glob> or re:<regular expression> (names match in any case).

Examples:
  polarity-bulk describe --integration-name VirusTotal
  polarity-bulk describe --integration-name 'glob:Crowd*' --option-kind multiselect
  polarity-bulk describe --integration-id slack_3_2_5_node_18_0b6f4e2a91_1725370000 --json`

func runDescribe(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "describe", "describe [flags]", describeExample)
	conn, lf := addConnFlags(fs), addLogFlags(fs)
	var sf selection
	fs.Var(&sf.ids, "integration-id", "describe the integrations with this `ID`, or matching this pattern (repeatable)")
	fs.Var(&sf.names, "integration-name", "describe the integrations with this `NAME` (any case), or matching this pattern (repeatable)")
	fs.Var(&sf.kinds, "option-kind", "show only the options of this `KIND`: text, password, boolean, number, select, multiselect (repeatable)")
	asJSON := fs.Bool("json", false, "write one JSON document instead of text")
	if err := noFile(fs, args, stdio, "describe takes no FILE: choose integrations with --integration-id or --integration-name"); err != nil {
		return err
	}
	sel, s, out, err := readSelected(ctx, stdio, conn, lf, sf, false)
	if err != nil {
		return err
	}
	defer s.close()
	log := s.log
	switch missingIns, missingKinds := sel.missing(); {
	case len(missingIns) > 0:
		return failure("run 'polarity-bulk describe' without filters to see every integration",
			fmt.Errorf("no integration with %s on the server", strings.Join(missingIns, ", ")))
	case len(missingKinds) > 0:
		return failure("run 'polarity-bulk describe' without --option-kind to see every option's kind",
			fmt.Errorf("no option of %s in the integrations selected", strings.Join(missingKinds, ", ")))
	}
	options := 0
	for _, in := range out {
		options += len(in.Options)
	}
	log.Info("describe", "integrations", len(out), "options", options)
	if *asJSON {
		return report.DescribeJSON(stdio.Out, out)
	}
	return report.DescribeText(stdio.Out, out)
}
