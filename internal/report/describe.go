package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// DescribeText writes what a CSV row needs to know of each integration: its id, name and
// status, then per option its key, kind (as the option_kind column writes it), current
// permission, whether the server shows its value, and its label; a select's choices follow
// it, one per line, as value and display. No value is ever written, not even a readable one
// that is not secret: describe is the schema, export is the values.
func DescribeText(w io.Writer, ins []bulk.Integration) error {
	var b strings.Builder
	ew := builderPrinter{&b}
	options := 0
	for i, in := range ins {
		if i > 0 {
			ew.printf("\n")
		}
		status := printable(in.Status, 40)
		if status == "" {
			status = "(no status)"
		}
		if !in.Running() {
			status += ": the server refuses option changes until it runs"
		}
		ew.printf("%s (%s): %s, %s\n", printable(in.ID, 0), printable(in.Name, 80), status, nOf(len(in.Options), "option", "options"))
		rows := [][5]string{{"KEY", "KIND", "PERMISSION", "VALUE", "NAME"}}
		for _, o := range in.Options {
			rows = append(rows, [5]string{printable(o.Key, 0), kindText(o), o.Permission.String(), readability(o), printable(o.Name, 80)})
		}
		var width [4]int
		for _, r := range rows {
			for c := range width {
				width[c] = max(width[c], len([]rune(r[c])))
			}
		}
		for j, r := range rows {
			var b strings.Builder
			b.WriteString("  ")
			for c := range width {
				b.WriteString(r[c] + strings.Repeat(" ", width[c]-len([]rune(r[c]))+2))
			}
			b.WriteString(r[4])
			ew.printf("%s\n", strings.TrimRight(b.String(), " "))
			if j == 0 {
				continue
			}
			for _, ch := range in.Options[j-1].Choices {
				ew.printf("      choice %s = %s\n", strconv.Quote(printable(ch.ValueText(), 200)), strconv.Quote(printable(ch.Display, 200)))
			}
		}
		options += len(in.Options)
	}
	if len(ins) > 0 {
		ew.printf("\n")
	}
	ew.printf("%s, %s\n", nOf(len(ins), "integration", "integrations"), nOf(options, "option", "options"))
	_, err := io.WriteString(w, b.String())
	return err
}

// builderPrinter is fmt.Fprintf on a strings.Builder, which cannot fail.
type builderPrinter struct{ b *strings.Builder }

func (p builderPrinter) printf(format string, a ...any) { fmt.Fprintf(p.b, format, a...) }

// kindText is the option's kind as the option_kind column writes it; an unknown or missing
// kind is named, with the note that polarity-bulk treats it as a secret.
func kindText(o bulk.Option) string {
	k := string(o.ColumnKind())
	if !bulk.KnownKind(o.Kind) {
		if k == "" {
			k = "(none)"
		}
		k = printable(k, 40) + " (unknown: treated as a password)"
	}
	return k
}

// readability says whether the server shows the option's value.
func readability(o bulk.Option) string {
	switch {
	case !o.Readable:
		return "not readable"
	case o.Sensitive():
		return "readable (secret)"
	}
	return "readable"
}

// describeJSON is DescribeJSON's document.
type describeJSON struct {
	Integrations []describeIntegration `json:"integrations"`
}

type describeIntegration struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	Acronym string           `json:"acronym,omitempty"`
	Status  string           `json:"status"`
	Running bool             `json:"running"`
	Options []describeOption `json:"options"`
}

type describeOption struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
	// Kind is the server's kind; OptionKind the option_kind column's word for it
	// (multiselect for a select with multiple true); Known false means polarity-bulk treats
	// the option as a password.
	Kind        string           `json:"kind"`
	OptionKind  string           `json:"option_kind"`
	Known       bool             `json:"known_kind"`
	Multiple    bool             `json:"multiple"`
	Permission  string           `json:"permission"`
	AdminOnly   bool             `json:"admin_only"`
	UserCanEdit bool             `json:"user_can_edit"`
	Readable    bool             `json:"value_readable"`
	Sensitive   bool             `json:"sensitive"`
	Choices     []describeChoice `json:"choices,omitempty"`
}

type describeChoice struct {
	Value   json.RawMessage `json:"value"`
	Display string          `json:"display"`
}

// DescribeJSON writes what DescribeText shows as one JSON document, for machines. Like the
// text, it holds no value.
func DescribeJSON(w io.Writer, ins []bulk.Integration) error {
	doc := describeJSON{Integrations: []describeIntegration{}}
	for _, in := range ins {
		di := describeIntegration{ID: in.ID, Name: in.Name, Acronym: in.Acronym, Status: in.Status, Running: in.Running(), Options: []describeOption{}}
		for _, o := range in.Options {
			ok := string(o.ColumnKind())
			do := describeOption{
				Key: o.Key, Name: o.Name, Kind: string(o.Kind), OptionKind: ok, Known: bulk.KnownKind(o.Kind), Multiple: o.Multiple,
				Permission: o.Permission.String(), AdminOnly: o.Permission.AdminOnly, UserCanEdit: o.Permission.UserCanEdit,
				Readable: o.Readable, Sensitive: o.Sensitive(),
			}
			for _, c := range o.Choices {
				do.Choices = append(do.Choices, describeChoice{Value: c.Value, Display: c.Display})
			}
			di.Options = append(di.Options, do)
		}
		doc.Integrations = append(doc.Integrations, di)
	}
	return writeJSON(w, doc)
}
