package report

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/plan"
)

// readValue classifies a value cell the way the input reader does (SPEC.md section 2): empty
// keeps, exactly ${NAME} is a reference, json: is JSON, anything else a literal.
func readValue(cell string) bulk.Value {
	switch {
	case cell == "":
		return bulk.Value{Form: bulk.ValueKeep}
	case strings.HasPrefix(cell, "${") && strings.HasSuffix(cell, "}") && strings.IndexByte(cell, '}') == len(cell)-1:
		return bulk.Value{Form: bulk.ValueLiteral, Env: cell[2 : len(cell)-1]}
	case strings.HasPrefix(cell, "json:"):
		return bulk.Value{Form: bulk.ValueJSON, Text: cell[len("json:"):]}
	}
	return bulk.Value{Form: bulk.ValueLiteral, Text: cell}
}

// TestBackupRoundTrip writes every previous value through backup.csv, reads the CSV back,
// converts each cell with the planner's own rules and checks it is the value the server had:
// applying backup.csv restores exactly what was there.
func TestBackupRoundTrip(t *testing.T) {
	choices := func(vals ...string) []bulk.Choice {
		var cs []bulk.Choice
		for _, v := range vals {
			cs = append(cs, bulk.Choice{Value: jsonOf(v), Display: strings.ToUpper(v)})
		}
		return cs
	}
	text := bulk.Option{Kind: bulk.KindText}
	sel := bulk.Option{Kind: bulk.KindSelect, Choices: append(choices("low", "HIGH", "-neg", "a b", "score,desc"),
		bulk.Choice{Value: json.RawMessage(`5`), Display: "Five"}, bulk.Choice{Value: jsonOf("high"), Display: "low"})}
	multi := sel
	multi.Multiple = true
	tests := []struct {
		opt bulk.Option
		raw string
	}{
		{text, `"a.com"`},
		{text, `""`},
		{text, `" padded "`},
		{text, `"=SUM(A1)"`},
		{text, `"+1"`},
		{text, `"-1"`},
		{text, `"@x"`},
		{text, `"\tx"`},
		{text, `"\rx"`},
		{text, `"a\r\nb"`},
		{text, `"two\nlines"`},
		{text, `"${HOME}"`},
		{text, `"x ${HOME} y"`},
		{text, `"json:1"`},
		{text, `"comma, \"quote\""`},
		{text, `"ünïcödé ✓"`},
		{text, `"nul\u0000byte"`},
		{text, `null`},
		{bulk.Option{Kind: bulk.KindPassword}, `"pw with spaces inside"`},
		{bulk.Option{Kind: bulk.KindBoolean}, `true`},
		{bulk.Option{Kind: bulk.KindBoolean}, `false`},
		{bulk.Option{Kind: bulk.KindNumber}, `30`},
		{bulk.Option{Kind: bulk.KindNumber}, `-1`},
		{bulk.Option{Kind: bulk.KindNumber}, `0.25`},
		{bulk.Option{Kind: bulk.KindNumber}, `1e-7`},
		{sel, `{"value":"low","display":"Low"}`},
		{sel, `{"value":"-neg","display":"Neg"}`},
		{sel, `{"value":"a b","display":"A B"}`},
		{sel, `{"value":5,"display":"Five"}`},
		{sel, `{"value":"high","display":"low"}`}, // its display is another choice's value
		{multi, `[{"value":"low","display":"Low"},{"value":"score,desc","display":"Score"}]`},
		{multi, `[{"value":"-neg","display":"Neg"}]`},
		{multi, `[]`},
		{multi, `null`},
	}
	var r Run
	res := bulk.Result{ID: "x_1", Name: "X", Status: bulk.StatusApplied}
	for i, tt := range tests {
		c := bulk.Change{
			Line: i + 2, Key: "k" + itoa(i), Kind: tt.opt.Kind, Action: bulk.ActionUpdate, ValueChanges: true,
			Sensitive: tt.opt.Sensitive(), Current: bulk.NewPayload(json.RawMessage(tt.raw)),
		}
		res.Options = append(res.Options, bulk.OptionResult{Change: c, Status: bulk.StatusApplied})
	}
	r.Results = []bulk.Result{res}
	recs := readCSV(t, render(t, func(w io.Writer) error { return BackupCSV(w, NewResults(r), true) }))
	if len(recs)-1 != len(tests) {
		t.Fatalf("%d rows for %d values", len(recs)-1, len(tests))
	}
	for i, tt := range tests {
		cell := recs[i+1][3]
		if formulaStart(cell) {
			t.Errorf("%s: cell %q starts like a formula", tt.raw, cell)
		}
		v := readValue(cell)
		if v.Form == bulk.ValueKeep || v.Env != "" {
			t.Errorf("%s: cell %q does not set a value", tt.raw, cell)
			continue
		}
		opt := tt.opt
		opt.Key = "k" + itoa(i)
		got, err := plan.Convert(opt, v, false)
		if err != nil {
			t.Errorf("%s: cell %q is refused: %v", tt.raw, cell, err)
			continue
		}
		if !plan.Equal(opt, got, json.RawMessage(tt.raw)) {
			t.Errorf("%s: cell %q reads back as %s", tt.raw, cell, got)
		}
	}
}
