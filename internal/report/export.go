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
//
// With opt.Kinds the file gets the option_kind column too, naming each option's kind (an
// option whose kind polarity-bulk does not know gets none): planning it then also checks that
// every option is still of that kind.
func ExportCSV(w io.Writer, ins []bulk.Integration, opt ExportOptions) error {
	var recs []sheet.Record
	for _, in := range ins {
		for _, o := range in.Options {
			rec := sheet.Record{IntegrationID: in.ID, IntegrationName: nameCell(in.Name), OptionKey: neutral(o.Key)}
			if opt.Kinds && bulk.KnownKind(o.Kind) {
				rec.OptionKind = string(o.ColumnKind())
			}
			if o.Readable && (opt.Secrets || !o.Sensitive()) {
				rec.Value = restoreCell(o.Kind, o.Value)
			}
			if o.Permission.Valid() {
				rec.Permission = o.Permission.String()
			}
			if rec.Value == "" && rec.Permission == "" {
				continue
			}
			recs = append(recs, rec)
		}
	}
	if opt.Kinds {
		return sheet.WriteExportKinds(w, recs, opt.Comma)
	}
	return sheet.WriteExport(w, recs, opt.Comma)
}

// ExportOptions are export's choices of what to write.
type ExportOptions struct {
	Secrets bool // write password values (else they are left empty: keep)
	Kinds   bool // add the option_kind column
	Comma   rune // the separator (--delimiter); ',' when zero
}
