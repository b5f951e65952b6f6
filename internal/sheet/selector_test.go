package sheet

import (
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// TestReadSelectors: pattern cells pass the offline checks that exact ids and keys must pass
// (a * or a glob: is no integration id), option_kind is read, and selector rows are not
// merged or refused as duplicates offline: which options they reach is the server's to say.
func TestReadSelectors(t *testing.T) {
	t.Parallel()
	in := "integration_id,integration_name,option_key,value,permission,option_kind\n" +
		"*,,*,,lock-hide,password\n" +
		",glob:VirusTotal,apiKey,${VT_KEY},,\n" +
		"re:virustotal_node_18_[0-9]+,,glob:*Key,,lock-hide,\n" +
		"*,,*,,lock-hide,password\n" +
		"virustotal_node_18_1725278818,,apiKey,,user-provides, Password \n" +
		",VirusTotal,glob:show*,yes,,BOOLEAN\n" +
		",,,,,\n"
	rows, ps := read(t, in)
	checkProblems(t, ps, nil)
	want := []struct {
		line     int
		id, name string
		key      string
		kind     bulk.Kind
		selector bool
	}{
		{2, "*", "", "*", bulk.KindPassword, true},
		{3, "", "glob:VirusTotal", "apiKey", "", true},
		{4, "re:virustotal_node_18_[0-9]+", "", "glob:*Key", "", true},
		{5, "*", "", "*", bulk.KindPassword, true},
		{6, "virustotal_node_18_1725278818", "", "apiKey", bulk.KindPassword, false},
		{7, "", "VirusTotal", "glob:show*", bulk.KindBoolean, true},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line || r.IntegrationID != w.id || r.IntegrationName != w.name || r.Key != w.key ||
			r.OptionKind != w.kind || r.Selector() != w.selector || len(r.Merged) != 0 {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
	}
	if rows[1].Value.Env != "VT_KEY" || rows[1].Value.Text != "vt-secret-123" {
		t.Errorf("row 3 value %+v", rows[1].Value)
	}
}

// TestReadSelectorProblems: a broken pattern is a problem on its line and column that says
// where in the cell it is; so is an unknown option kind. An empty cell is never a pattern.
func TestReadSelectorProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []p
	}{
		{"glob never closed", "integration_name,option_key,value\nglob:Virus[,apiKey,x\n",
			[]p{{2, "integration_name", `"glob:Virus[": invalid glob: [ is never closed: close the class with ], or write \[ for a literal [ (at character 11)`, false}}},
		{"bad regex in key", "integration_id,option_key,value\n*,re:api(Key,x\n",
			[]p{{2, "option_key", `"re:api(Key": invalid regular expression (RE2 syntax): missing closing ): ` + "`api(Key`" + ` (at character 4)`, false}}},
		{"bad range in id", "integration_id,option_key,value\nglob:[z-a]*,apiKey,x\n",
			[]p{{2, "integration_id", `"glob:[z-a]*": invalid glob: the range z-a runs backwards: write a-z (at character 6)`, false}}},
		{"empty glob", "integration_id,option_key,value\nglob:,apiKey,x\n",
			[]p{{2, "integration_id", `"glob:": empty glob: write glob:* (or *) for every one, or a glob such as glob:Virus* (at character 5)`, false}}},
		{"space after an id pattern", "integration_id,option_key,value\n\"glob:virus* \",apiKey,x\n",
			[]p{{2, "integration_id", `"glob:virus* " has leading or trailing spaces: remove them`, false}}},
		{"unknown kind", "integration_id,option_key,value,option_kind\n*,apiKey,x,secret\n",
			[]p{{2, "option_kind", `unknown option kind "secret": use text, password, boolean, number, select or multiselect (a select of several choices), or leave it empty for any kind`, false}}},
		{"problem on the line of a multi-line row", "integration_name,value,option_key\nVirusTotal,\"a\nb\",re:(\n",
			[]p{{3, "option_key", `"re:(": invalid regular expression (RE2 syntax): missing closing ): ` + "`(`" + ` (at character 4)`, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ps := read(t, tt.in)
			checkProblems(t, ps, tt.want)
		})
	}
}
