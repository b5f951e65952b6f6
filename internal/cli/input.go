package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// input is a CSV file read and checked offline.
type input struct {
	Path   string // as given; "-" for standard input
	Name   string // as problems name it
	SHA256 string
	Rows   []bulk.Row
	// Lines counts the data rows, merged duplicates included.
	Lines    int
	Warnings bulk.Problems
}

// readInput reads and validates FILE (or standard input for "-"), hashing it as it goes. All
// problems come back at once as bulk.Problems; warnings are printed to stderr.
func readInput(path string, stdio Stdio) (*input, error) {
	in := &input{Path: path, Name: path}
	var r io.Reader
	if path == "-" {
		in.Name = "<stdin>"
		r = stdio.In
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("read input: %w", err), hint: "check the path of the CSV file"}
		}
		defer f.Close()
		r = f
	}
	h := sha256.New()
	rows, probs, err := sheet.Read(in.Name, io.TeeReader(r, h), stdio.LookupEnv)
	if err != nil {
		return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("read %s: %w", in.Name, err)}
	}
	if fatal := probs.Fatal(); len(fatal) > 0 {
		return nil, probs
	}
	for _, p := range probs {
		fmt.Fprintln(stdio.Err, p.Error())
		in.Warnings = append(in.Warnings, p)
	}
	in.SHA256 = hex.EncodeToString(h.Sum(nil))
	in.Rows = rows
	for _, r := range rows {
		in.Lines += 1 + len(r.Merged)
	}
	return in, nil
}

// integrations counts the distinct integrations the rows name (by id, else by name).
func (in *input) integrations() int {
	seen := map[string]bool{}
	for _, r := range in.Rows {
		k := r.IntegrationID
		if k == "" {
			k = "name:" + strings.ToLower(r.IntegrationName)
		}
		seen[k] = true
	}
	return len(seen)
}
