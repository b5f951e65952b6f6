package sheet

import (
	"strings"
	"testing"
)

// TestReadTeaches: a misspelled column, permission word or option kind gets "did you mean",
// a misspelled required column adds no second "no such column" problem, and a file saved with
// another separator gets one problem naming it and the flag that reads it.
func TestReadTeaches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		comma rune
		want  []p
		rows  int
	}{
		{
			name: "misspelled required columns: the suggestion, no knock-on problem",
			in:   "integraton_id,optoin_key,valeu\na,k,v\n",
			want: []p{
				{1, "", `unknown column "integraton_id": did you mean "integration_id"? (accepted columns are`, false},
				{1, "", `unknown column "optoin_key": did you mean "option_key"?`, false},
				{1, "", `unknown column "valeu": did you mean "value"?`, false},
			},
		},
		{
			name: "a typo of a column the header has already is not suggested",
			in:   "integration_id,option_key,value,vaule\na,k,v,w\n",
			want: []p{{1, "", `unknown column "vaule": accepted columns are`, false}},
		},
		{
			name: "a column far from every name: the list, and the missing column",
			in:   "integration_id,key,value\na,k,v\n",
			want: []p{
				{1, "", `unknown column "key": accepted columns are`, false},
				{1, "", "header has no option_key column", false},
			},
		},
		{
			name: "permission words and option kinds",
			in: "integration_id,option_key,permission,option_kind\n" +
				"a,k1,lock-hidden,passwrod\n" +
				"a,k2,User Provide,multiselct\n" +
				"a,k3,lock-everything,secret\n",
			want: []p{
				{2, "option_kind", `unknown option kind "passwrod": did you mean password? use text,`, false},
				{2, "permission", `unknown permission "lock-hidden": did you mean lock-hide? use lock-hide, lock-show or user-provides`, false},
				{3, "option_kind", `unknown option kind "multiselct": did you mean multiselect?`, false},
				{3, "permission", `unknown permission "User Provide": did you mean user-provides?`, false},
				{4, "option_kind", `unknown option kind "secret": use text,`, false},
				{4, "permission", `unknown permission "lock-everything": use lock-hide`, false},
			},
		},
		{
			name: "semicolons read as commas: one problem with the flag",
			in:   "integration_id;option_key;value\na;k;v\nb;k;\"x;y\"\n",
			want: []p{{1, "", "the header is one column holding 3 column names separated by semicolons: the file is semicolon-separated (Excel's default in many locales), not comma-separated; no rows were checked; hint: pass --delimiter ';'", false}},
		},
		{
			name: "tabs",
			in:   "integration_id\toption_key\tvalue\na\tk\tv\n",
			want: []p{{1, "", "separated by tabs: the file is tab-separated, not comma-separated; no rows were checked; hint: pass --delimiter tab", false}},
		},
		{
			name:  "commas read with --delimiter ';'",
			in:    "integration_id,option_key,value\na,k,v\n",
			comma: ';',
			want:  []p{{1, "", "not semicolon-separated; no rows were checked; hint: leave out --delimiter: commas are the default", false}},
		},
		{
			name: "a one-column header without column names is not a separator problem",
			in:   "a;b\nx\n",
			want: []p{
				{1, "", `unknown column "a;b"`, false},
				{1, "", "header has no option_key column", false},
				{1, "", "header has neither", false},
				{1, "", "header has none of", false},
			},
		},
		{
			name:  "semicolons read with --delimiter ';', a quoted cell holding one",
			in:    "integration_id;option_key;value\na;k;v\nb;k;\"x;y\"\n",
			comma: ';',
			rows:  2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, ps, err := ReadWith("in.csv", strings.NewReader(tt.in), nil, Options{Comma: tt.comma})
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, ps, tt.want)
			if len(rows) != tt.rows {
				t.Errorf("%d rows, want %d", len(rows), tt.rows)
			}
			if tt.rows == 2 && rows[1].Value.Text != "x;y" {
				t.Errorf("value %q, want x;y", rows[1].Value.Text)
			}
		})
	}
}
