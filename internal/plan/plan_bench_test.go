package plan_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/plan"
)

// benchState is a server of n integrations with ten options each, every kind represented:
// text, password (readable and masked), boolean, number, select and multi-select.
func benchState(n int) []bulk.Integration {
	choice := func(v string) bulk.Choice {
		b, _ := json.Marshal(v)
		return bulk.Choice{Value: b, Display: "The " + v}
	}
	severities := []bulk.Choice{choice("low"), choice("medium"), choice("high"), choice("critical")}
	categories := []bulk.Choice{choice("malware"), choice("phishing"), choice("c2"), choice("scanner")}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	state := make([]bulk.Integration, n)
	for i := range state {
		state[i] = bulk.Integration{
			ID:     fmt.Sprintf("bench_%05d_node_18_%d", i, 1725000000+i),
			Name:   fmt.Sprintf("Bench %05d", i),
			Status: "running",
			Options: []bulk.Option{
				{Key: "url", Kind: bulk.KindText, Value: raw(fmt.Sprintf(`"https://bench-%d.example.invalid"`, i)), Readable: true, Permission: bulk.Permission{AdminOnly: true}},
				{Key: "blocklist", Kind: bulk.KindText, Value: raw(`"a.com;b.com"`), Readable: true, Permission: bulk.Permission{UserCanEdit: true}},
				{Key: "apiKey", Kind: bulk.KindPassword, Value: raw(`"old-secret-key"`), Readable: true, Permission: bulk.Permission{AdminOnly: true}},
				{Key: "secret", Kind: bulk.KindPassword, Permission: bulk.Permission{AdminOnly: true}},
				{Key: "enabled", Kind: bulk.KindBoolean, Value: raw(`false`), Readable: true},
				{Key: "verbose", Kind: bulk.KindBoolean, Value: raw(`true`), Readable: true},
				{Key: "maxResults", Kind: bulk.KindNumber, Value: raw(`100`), Readable: true, Permission: bulk.Permission{AdminOnly: true}},
				{Key: "timeout", Kind: bulk.KindNumber, Value: raw(`30`), Readable: true},
				{Key: "minimumSeverity", Kind: bulk.KindSelect, Choices: severities, Value: raw(`{"value":"low","display":"The low"}`), Readable: true, Permission: bulk.Permission{UserCanEdit: true}},
				{Key: "categories", Kind: bulk.KindSelect, Multiple: true, Choices: categories, Value: raw(`[{"value":"malware","display":"The malware"}]`), Readable: true},
			},
		}
	}
	return state
}

// benchRows asks for one change per option of every integration, by id or by name: new values
// of every kind, a permission-only change, and a few rows already as the server has them.
func benchRows(state []bulk.Integration, byName bool) []bulk.Row {
	lit := func(s string) bulk.Value { return bulk.Value{Form: bulk.ValueLiteral, Text: s} }
	lockHide := bulk.PermissionEdit{AdminOnly: bulk.Bool{Set: true, Value: true}, UserCanEdit: bulk.Bool{Set: true}}
	rows := make([]bulk.Row, 0, len(state)*10)
	line := 1
	for i, in := range state {
		add := func(key string, v bulk.Value, perm bulk.PermissionEdit) {
			line++
			r := bulk.Row{Line: line, Key: key, Value: v, Permission: perm}
			if byName {
				r.IntegrationName = in.Name
			} else {
				r.IntegrationID = in.ID
			}
			rows = append(rows, r)
		}
		add("url", lit(fmt.Sprintf("https://bench-%d.example.invalid/v2", i)), bulk.PermissionEdit{})
		add("blocklist", lit("a.com;b.com"), lockHide) // same value, new permission
		add("apiKey", bulk.Value{Form: bulk.ValueLiteral, Text: "new-secret-key", Env: "VT_KEY"}, lockHide)
		add("secret", lit("rotated"), bulk.PermissionEdit{})
		add("enabled", lit("yes"), bulk.PermissionEdit{})
		add("verbose", lit("true"), bulk.PermissionEdit{}) // unchanged
		add("maxResults", lit("250"), bulk.PermissionEdit{})
		add("timeout", bulk.Value{Form: bulk.ValueJSON, Text: "45"}, bulk.PermissionEdit{})
		add("minimumSeverity", lit("The High"), bulk.PermissionEdit{})
		add("categories", lit("malware; c2"), bulk.PermissionEdit{})
	}
	return rows
}

// BenchmarkBuild plans 1,000 integrations × 10 options, the size of a large rollout.
func BenchmarkBuild(b *testing.B) {
	for _, byName := range []bool{false, true} {
		name := "by-id"
		if byName {
			name = "by-name"
		}
		b.Run(name, func(b *testing.B) {
			state := benchState(1000)
			rows := benchRows(state, byName)
			b.ReportAllocs()
			for b.Loop() {
				p, probs := plan.Build("bench.csv", rows, state)
				if len(probs) != 0 || len(p.Targets) != len(state) {
					b.Fatalf("%d targets, problems: %v", len(p.Targets), probs)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
		})
	}
}

// BenchmarkExpand plans one selector row over 2,000 integrations × 20 options (the size the
// issue names): "*" for every option (40,000 changes), every password option (8,000), and the
// options of the integrations whose name a glob picks. ns/option is per option the server has.
func BenchmarkExpand(b *testing.B) {
	state := benchState(2000)
	for i := range state {
		opts := state[i].Options
		for _, o := range opts[:len(opts):len(opts)] {
			o.Key += "2"
			state[i].Options = append(state[i].Options, o)
		}
	}
	lockHide := bulk.PermissionEdit{AdminOnly: bulk.Bool{Set: true, Value: true}, UserCanEdit: bulk.Bool{Set: true}}
	for _, bc := range []struct {
		name    string
		row     bulk.Row
		changes int
	}{
		{"star-all-options", bulk.Row{Line: 2, IntegrationID: "*", Key: "*", Permission: lockHide}, 40000},
		{"star-passwords", bulk.Row{Line: 2, IntegrationID: "*", Key: "*", OptionKind: bulk.KindPassword, Permission: lockHide}, 8000},
		{"name-glob-one-key", bulk.Row{Line: 2, IntegrationName: "glob:bench 001*", Key: "apiKey", Permission: lockHide}, 100},
		{"exact-rows-same-as-star", bulk.Row{}, 40000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rows := []bulk.Row{bc.row}
			if bc.row.Line == 0 {
				// The baseline: the 40,000 changes of star-all-options written one row each.
				rows = rows[:0]
				for _, in := range state {
					for _, o := range in.Options {
						rows = append(rows, bulk.Row{Line: len(rows) + 2, IntegrationID: in.ID, Key: o.Key, Permission: lockHide})
					}
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				p, probs := plan.Build("bench.csv", rows, state)
				if len(probs.Fatal()) != 0 || p.Count().Options != bc.changes {
					b.Fatalf("%d options, problems: %v", p.Count().Options, probs)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2000*20), "ns/option")
		})
	}
}
