package cli

import (
	"context"
	"fmt"

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
	file, _, err := fileCommand(fs, args, stdio, lf)
	if err != nil {
		return err
	}
	in, err := readInput(file, stdio, nil)
	if err != nil {
		return err
	}
	if probs := sheet.CheckCredentials(in.Name, in.Rows, envCredentials(stdio)); len(probs) > 0 {
		return probs
	}
	n := in.integrations()
	fmt.Fprintf(stdio.Out, "%s: valid: %d %s, %d %s, %d %s (offline checks; 'plan' checks them against the server)\n",
		in.Name, in.Lines, plural(in.Lines, "row", "rows"),
		n, plural(n, "integration", "integrations"),
		len(in.Rows), plural(len(in.Rows), "option", "options"))
	return nil
}
