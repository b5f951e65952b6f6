package sheet

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/gocarina/gocsv"
)

// Record is one row of the input format as polarity-bulk writes it (export, failed.csv,
// backup.csv). Reading goes through Read, which accepts more spellings than this writes.
type Record struct {
	IntegrationID   string `csv:"integration_id"`
	IntegrationName string `csv:"integration_name"`
	OptionKey       string `csv:"option_key"`
	Value           string `csv:"value"`
	Permission      string `csv:"permission"`
	Comment         string `csv:"comment,omitempty"`
	// OptionKind is written by WriteExportKinds only.
	OptionKind string `csv:"-"`
}

// exportRecord is Record without the comment column: export writes exactly the columns
// SPEC.md section 3 names.
type exportRecord struct {
	IntegrationID   string `csv:"integration_id"`
	IntegrationName string `csv:"integration_name"`
	OptionKey       string `csv:"option_key"`
	Value           string `csv:"value"`
	Permission      string `csv:"permission"`
}

// Write writes records in the input format, header first, with a comment column.
func Write(w io.Writer, recs []Record) error {
	return marshal(w, recs)
}

// WriteExport writes records in the input format with export's five columns, cells
// separated by comma (',' when zero: --delimiter).
func WriteExport(w io.Writer, recs []Record, comma rune) error {
	out := make([]exportRecord, len(recs))
	for i, r := range recs {
		out[i] = exportRecord{r.IntegrationID, r.IntegrationName, r.OptionKey, r.Value, r.Permission}
	}
	return marshalComma(w, out, comma)
}

// exportKindRecord is exportRecord with the option_kind column (export --with-kinds).
type exportKindRecord struct {
	IntegrationID   string `csv:"integration_id"`
	IntegrationName string `csv:"integration_name"`
	OptionKey       string `csv:"option_key"`
	Value           string `csv:"value"`
	Permission      string `csv:"permission"`
	OptionKind      string `csv:"option_kind"`
}

// WriteExportKinds writes records with export's five columns and option_kind, separated by
// comma as WriteExport's.
func WriteExportKinds(w io.Writer, recs []Record, comma rune) error {
	out := make([]exportKindRecord, len(recs))
	for i, r := range recs {
		out[i] = exportKindRecord{r.IntegrationID, r.IntegrationName, r.OptionKey, r.Value, r.Permission, r.OptionKind}
	}
	return marshalComma(w, out, comma)
}

// WriteTable writes any slice of csv-tagged structs (report tables such as results.csv).
func WriteTable(w io.Writer, rows any) error { return marshal(w, rows) }

// marshal writes comma-separated: the report's files are read back by polarity-bulk and
// scripts whatever --delimiter the input had.
func marshal(w io.Writer, rows any) error { return marshalComma(w, rows, ',') }

func marshalComma(w io.Writer, rows any, comma rune) error {
	cw := csv.NewWriter(w)
	if comma != 0 {
		cw.Comma = comma
	}
	// gocsv's package-level writer setting is left alone: tests run in parallel.
	if err := gocsv.MarshalCSV(rows, gocsv.NewSafeCSVWriter(cw)); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw.Flush()
	return cw.Error()
}
