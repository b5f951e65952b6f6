package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

const validateExample = `Checks everything that can be checked without a server: columns, ids, permissions, booleans,
value syntax, ${NAME} references, duplicates. Every problem is printed as FILE:LINE: column:
message, all at once; the exit code is 3 when there is any.

Example:
  polarity-bulk validate changes.csv
  cat changes.csv | polarity-bulk validate -`

func runValidate(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "validate", "validate [flags] FILE", validateExample)
	lf := addLogFlags(fs)
	delim := addDelimiterFlag(fs, "read")
	file, log, err := fileCommand(fs, args, stdio, lf)
	if err != nil {
		return err
	}
	in, err := readInput(source{path: file, comma: *delim}, stdio)
	if err != nil {
		return err
	}
	in.logRead(log)
	if probs := sheet.CheckCredentials(in.Name, in.Rows, envCredentials(stdio)); len(probs) > 0 {
		return probs
	}
	log.Info("checked offline: no problems", "file", in.Name, "credentials compared", len(envCredentials(stdio)))
	n, selectors := in.integrations(), 0
	for _, r := range in.Rows {
		if r.Selector() {
			selectors++
		}
	}
	var parts []string
	if exact := len(in.Rows) - selectors; exact > 0 || selectors == 0 {
		parts = append(parts, fmt.Sprintf("%d %s, %d %s", n, bulk.Plural(n, "integration", "integrations"), exact, bulk.Plural(exact, "option", "options")))
	}
	check := "'plan' checks them against the server"
	if selectors > 0 {
		// Which options a selector reaches only the server can say.
		parts = append(parts, fmt.Sprintf("%d %s", selectors, bulk.Plural(selectors, "selector row", "selector rows")))
		check += " and expands the selectors"
	}
	what := strings.Join(parts, ", ")
	fmt.Fprintf(stdio.Out, "%s: valid: %d %s, %s (offline checks; %s)\n",
		in.Name, in.Lines, bulk.Plural(in.Lines, "row", "rows"), what, check)
	return nil
}
