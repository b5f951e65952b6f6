package report

import (
	"io"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// ExportCSV writes integrations' current options in the input format with export's five
// columns, so that planning the file against the same server changes nothing. Each value is
// written as a cell that reads back as exactly the server's value (the json: form where a plain
// cell would not). Values of password options are left empty (keep) unless secrets, and so are
// values the server did not reveal. A row that would be empty (no value, and a permission the
// server holds in the invalid true/true form) is left out, since it would be refused.
func ExportCSV(w io.Writer, ins []bulk.Integration, secrets bool) error {
	var recs []sheet.Record
	for _, in := range ins {
		for _, o := range in.Options {
			rec := sheet.Record{IntegrationID: in.ID, IntegrationName: nameCell(in.Name), OptionKey: neutral(o.Key)}
			if o.Readable && (secrets || !o.Sensitive()) {
				rec.Value = restoreCell(o.Kind, o.Value)
			}
			if o.Flags.Valid() {
				rec.Permission = o.Flags.Permission()
			}
			if rec.Value == "" && rec.Permission == "" {
				continue
			}
			recs = append(recs, rec)
		}
	}
	return sheet.WriteExport(w, recs)
}
