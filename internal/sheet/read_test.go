package sheet

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// env is a fixed environment for the tests.
var env = map[string]string{
	"VT_KEY":  "vt-secret-123",
	"EMPTY":   "",
	"MULTI_1": "line1\nline2",
}

func lookup(name string) (string, bool) {
	v, ok := env[name]
	return v, ok
}

func read(t *testing.T, in string) ([]bulk.Row, bulk.Problems) {
	t.Helper()
	rows, ps, err := Read("in.csv", strings.NewReader(in), lookup)
	if err != nil {
		t.Fatalf("Read: unexpected error %v", err)
	}
	for _, p := range ps {
		if p.File != "in.csv" {
			t.Errorf("problem %q: file %q, want in.csv", p.Error(), p.File)
		}
	}
	return rows, ps
}

func set(v bool) bulk.Bool { return bulk.Bool{Set: true, Value: v} }

var (
	lockHide     = bulk.PermissionEdit{AdminOnly: set(true), UserCanEdit: set(false)}
	lockShow     = bulk.PermissionEdit{AdminOnly: set(false), UserCanEdit: set(false)}
	userProvides = bulk.PermissionEdit{AdminOnly: set(false), UserCanEdit: set(true)}
	keep         = bulk.Value{Form: bulk.ValueKeep}
)

func lit(s string) bulk.Value { return bulk.Value{Form: bulk.ValueLiteral, Text: s} }

// showRow prints a row with its value in the clear, for test failures only.
func showRow(r bulk.Row) string {
	return fmt.Sprintf("{line %d id %q name %q key %q value %d/%q/env %q perm %+v cell %q permcell %q merged %v}",
		r.Line, r.IntegrationID, r.IntegrationName, r.Key, r.Value.Form, r.Value.Text, r.Value.Env,
		r.Permission, r.Cell, r.PermissionCell, r.Merged)
}

func TestReadValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []bulk.Row
	}{
		{
			name: "bom and crlf",
			in:   "\ufeffintegration_id,option_key,value,permission\r\nvt_1,apiKey,abc,lock-hide\r\nvt_2,apiKey,,lock-show\r\n",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "vt_1", Key: "apiKey", Value: lit("abc"), Permission: lockHide, Cell: "abc", PermissionCell: "lock-hide"},
				{Line: 3, IntegrationID: "vt_2", Key: "apiKey", Value: keep, Permission: lockShow, PermissionCell: "lock-show"},
			},
		},
		{
			name: "header spellings",
			in:   " Integration ID ,OPTION-KEY,Value,Admin Only,user-can-edit,Comment\nvt_1,url,https://x,no,YES,note\n",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "vt_1", Key: "url", Value: lit("https://x"), Permission: userProvides, Cell: "https://x"},
			},
		},
		{
			name: "quoted commas quotes and newlines, value verbatim",
			in: "integration_id,option_key,value\n" +
				"vt_1,list,\"a, b\"\n" +
				"vt_1,say,\"he said \"\"hi\"\"\"\n" +
				"vt_1,pem,\"-----BEGIN-----\nabc\n-----END-----\"\n" +
				"vt_1,spaced,\"  padded  \"\n" +
				"vt_1,after,x\n",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "vt_1", Key: "list", Value: lit("a, b"), Cell: "a, b"},
				{Line: 3, IntegrationID: "vt_1", Key: "say", Value: lit(`he said "hi"`), Cell: `he said "hi"`},
				{Line: 4, IntegrationID: "vt_1", Key: "pem", Value: lit("-----BEGIN-----\nabc\n-----END-----"), Cell: "-----BEGIN-----\nabc\n-----END-----"},
				{Line: 7, IntegrationID: "vt_1", Key: "spaced", Value: lit("  padded  "), Cell: "  padded  "},
				{Line: 8, IntegrationID: "vt_1", Key: "after", Value: lit("x"), Cell: "x"},
			},
		},
		{
			name: "permission words and ui phrases in any case",
			in: "integration_id,option_key,permission\n" +
				"a,k1,LOCK-HIDE\n" +
				"a,k2, lock-show \n" +
				"a,k3,User-Provides\n" +
				"a,k4,Lock and hide option for all users\n" +
				"a,k5,lock and show option for all users\n" +
				"a,k6,USER PROVIDES OPTION VALUE\n",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "a", Key: "k1", Value: keep, Permission: lockHide, PermissionCell: "LOCK-HIDE"},
				{Line: 3, IntegrationID: "a", Key: "k2", Value: keep, Permission: lockShow, PermissionCell: " lock-show "},
				{Line: 4, IntegrationID: "a", Key: "k3", Value: keep, Permission: userProvides, PermissionCell: "User-Provides"},
				{Line: 5, IntegrationID: "a", Key: "k4", Value: keep, Permission: lockHide, PermissionCell: "Lock and hide option for all users"},
				{Line: 6, IntegrationID: "a", Key: "k5", Value: keep, Permission: lockShow, PermissionCell: "lock and show option for all users"},
				{Line: 7, IntegrationID: "a", Key: "k6", Value: keep, Permission: userProvides, PermissionCell: "USER PROVIDES OPTION VALUE"},
			},
		},
		{
			name: "flag booleans, empty keeps",
			in: "integration_id,option_key,admin_only,user_can_edit\n" +
				"a,k1,true,\n" +
				"a,k2,,FALSE\n" +
				"a,k3,On,off\n" +
				"a,k4,0,1\n" +
				"a,k5,Yes,No\n",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "a", Key: "k1", Value: keep, Permission: bulk.PermissionEdit{AdminOnly: set(true)}},
				{Line: 3, IntegrationID: "a", Key: "k2", Value: keep, Permission: bulk.PermissionEdit{UserCanEdit: set(false)}},
				{Line: 4, IntegrationID: "a", Key: "k3", Value: keep, Permission: lockHide},
				{Line: 5, IntegrationID: "a", Key: "k4", Value: keep, Permission: userProvides},
				{Line: 6, IntegrationID: "a", Key: "k5", Value: keep, Permission: lockHide},
			},
		},
		{
			name: "env references and json",
			in: "integration_id,option_key,value\n" +
				"a,apiKey,${VT_KEY}\n" +
				"a,pem,${MULTI_1}\n" +
				"a,empty,\"json:\"\"\"\"\"\n" +
				"a,clear,json:null\n" +
				"a,list,\"json:[\"\"a\"\",\"\"b\"\"]\"\n" +
				"a,num,json: 10 \n",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "a", Key: "apiKey", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "vt-secret-123", Env: "VT_KEY"}, Cell: "${VT_KEY}"},
				{Line: 3, IntegrationID: "a", Key: "pem", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "line1\nline2", Env: "MULTI_1"}, Cell: "${MULTI_1}"},
				{Line: 4, IntegrationID: "a", Key: "empty", Value: bulk.Value{Form: bulk.ValueJSON, Text: `""`}, Cell: `json:""`},
				{Line: 5, IntegrationID: "a", Key: "clear", Value: bulk.Value{Form: bulk.ValueJSON, Text: "null"}, Cell: "json:null"},
				{Line: 6, IntegrationID: "a", Key: "list", Value: bulk.Value{Form: bulk.ValueJSON, Text: `["a","b"]`}, Cell: `json:["a","b"]`},
				{Line: 7, IntegrationID: "a", Key: "num", Value: bulk.Value{Form: bulk.ValueJSON, Text: " 10 "}, Cell: "json: 10 "},
			},
		},
		{
			name: "name based rows, id and name together",
			in: "integration_name,integration_id,option_key,value\n" +
				"VirusTotal,,apiKey,k\n" +
				"AbuseIPDB,abuseipdb_3,apiKey,k\n" +
				"  ,abuseipdb_4,apiKey,k\n",
			want: []bulk.Row{
				{Line: 2, IntegrationName: "VirusTotal", Key: "apiKey", Value: lit("k"), Cell: "k"},
				{Line: 3, IntegrationID: "abuseipdb_3", IntegrationName: "AbuseIPDB", Key: "apiKey", Value: lit("k"), Cell: "k"},
				{Line: 4, IntegrationID: "abuseipdb_4", Key: "apiKey", Value: lit("k"), Cell: "k"},
			},
		},
		{
			name: "blank lines and empty spreadsheet rows are skipped",
			in:   "integration_id,option_key,value\n\na,k,v\n,,\n\r\n,\n,,,\n",
			want: []bulk.Row{
				{Line: 3, IntegrationID: "a", Key: "k", Value: lit("v"), Cell: "v"},
			},
		},
		{
			name: "no final newline, crlf inside quotes becomes lf",
			in:   "integration_id,option_key,value\r\na,k,\"x\r\ny\"",
			want: []bulk.Row{
				{Line: 2, IntegrationID: "a", Key: "k", Value: lit("x\ny"), Cell: "x\ny"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, ps := read(t, tt.in)
			if len(ps) != 0 {
				t.Fatalf("unexpected problems:\n%v", ps)
			}
			if len(rows) != len(tt.want) {
				t.Fatalf("got %d rows, want %d", len(rows), len(tt.want))
			}
			for i := range rows {
				if !rowsEqual(rows[i], tt.want[i]) {
					t.Errorf("row %d:\n got %s\nwant %s", i, showRow(rows[i]), showRow(tt.want[i]))
				}
			}
		})
	}
}

func rowsEqual(a, b bulk.Row) bool {
	return a.Line == b.Line && a.IntegrationID == b.IntegrationID && a.IntegrationName == b.IntegrationName &&
		a.Key == b.Key && a.Value == b.Value && a.Permission == b.Permission && a.Cell == b.Cell &&
		a.PermissionCell == b.PermissionCell && slices.Equal(a.Merged, b.Merged)
}

// p describes an expected problem: its line, column, and a part of its message.
type p struct {
	line    int
	column  string
	msg     string
	warning bool
}

// readChecked reads in and checks its problems against want and its count of rows.
func readChecked(t *testing.T, in string, want []p, rows int) []bulk.Row {
	t.Helper()
	got, ps := read(t, in)
	checkProblems(t, ps, want)
	if len(got) != rows {
		t.Errorf("got %d rows, want %d", len(got), rows)
	}
	return got
}

func checkProblems(t *testing.T, got bulk.Problems, want []p) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		w := want[i]
		ok = got[i].Line == w.line && got[i].Column == w.column && got[i].Warning == w.warning &&
			strings.Contains(got[i].Msg, w.msg)
	}
	if !ok {
		var ws []string
		for _, w := range want {
			ws = append(ws, fmt.Sprintf("line %d column %q warning %v: ...%s...", w.line, w.column, w.warning, w.msg))
		}
		t.Errorf("problems:\n%v\nwant:\n%s", got, strings.Join(ws, "\n"))
	}
	for _, g := range got {
		if g.Msg == "" || strings.ToLower(g.Msg[:1]) != g.Msg[:1] {
			t.Errorf("problem %q: message must start lowercase", g.Error())
		}
	}
}

// TestReadProblems has a case per rule of SPEC.md section 2. Each case's file holds several
// problems, all reported at once, in line order.
func TestReadProblems(t *testing.T) {
	t.Parallel()
	const accepted = "accepted columns are integration_id, integration_name, option_key, value, " +
		"permission, admin_only, user_can_edit, option_kind, comment"
	tests := []struct {
		name string
		in   string
		want []p
		rows int // valid rows still returned
	}{
		{
			name: "empty file",
			in:   "",
			want: []p{{0, "", "file is empty: expected a header row such as integration_id,option_key,value,permission", false}},
		},
		{
			name: "only a bom and blank lines",
			in:   "\ufeff\r\n\n",
			want: []p{{0, "", "file is empty", false}},
		},
		{
			name: "header only",
			in:   "integration_id,option_key,value\n",
			want: []p{{0, "", "file has a header but no rows: add one row per option to change", false}},
		},
		{
			name: "unknown and repeated columns",
			in:   "integration_id,option_key,vaule,Option Key,,value\na,k,x,k,,v\n",
			want: []p{
				{1, "", `unknown column "vaule": ` + accepted, false},
				{1, "option_key", "column appears twice in the header (columns 2 and 4): delete one", false},
				{1, "", "header column 5 has no name: name it or delete the column (" + accepted + ")", false},
			},
		},
		{
			name: "missing option_key and id/name columns",
			in:   "value,permission\nx,lock-hide\n",
			want: []p{
				{1, "", "header has no option_key column: add it (every row names the option it changes)", false},
				{1, "", "header has neither an integration_id nor an integration_name column: add one of them", false},
			},
		},
		{
			name: "nothing to change in the header",
			in:   "integration_id,option_key,comment\na,k,c\n",
			want: []p{{1, "", "header has none of value, permission, admin_only, user_can_edit: the file would change nothing", false}},
		},
		{
			name: "cell checks still run under a bad header, row checks do not",
			in:   "integration_id,option_key,value,extra\nbad-id,,json:{,\n",
			want: []p{
				{1, "", `unknown column "extra"`, false},
				{2, "integration_id", `"bad-id" contains a dash`, false},
				{2, "value", `not valid JSON after "json:"`, false},
			},
		},
		{
			name: "neither id nor name",
			in:   "integration_id,integration_name,option_key,value\n,,k,v\n, \t,k,v\n",
			want: []p{
				{2, "", "row has neither integration_id nor integration_name: fill in one of them", false},
				{3, "", "row has neither integration_id nor integration_name", false},
			},
		},
		{
			name: "id syntax",
			in: "integration_id,option_key,value\n" +
				"vt_1-apiKey,k,v\n" +
				" vt_1,k,v\n" +
				"vt 1,k,v\n" +
				"vt.1,k,v\n" +
				"vt_1,k,v\n",
			want: []p{
				{2, "integration_id", `"vt_1-apiKey" contains a dash, which integration ids never do: was an option id (integration id, dash, key) or a name pasted here? give the id alone, or use the integration_name column`, false},
				{3, "integration_id", `" vt_1" has leading or trailing spaces: remove them`, false},
				{4, "integration_id", `"vt 1" is not an integration id`, false},
				{5, "integration_id", `"vt.1" is not an integration id: ids hold only letters, digits and underscores (display names go in the integration_name column)`, false},
			},
			rows: 1,
		},
		{
			name: "option key",
			in: "integration_id,option_key,value\n" +
				"a,,v\n" +
				"a, apiKey,v\n" +
				"a,\"api\nKey\",v\n" +
				"a,apiKey,v\n" +
				"a,APIKEY,v\n",
			want: []p{
				{2, "option_key", "missing: every row names the option it changes, e.g. apiKey", false},
				{3, "option_key", `" apiKey" has leading or trailing spaces: remove them (keys are matched exactly, case-sensitively)`, false},
				{4, "option_key", `"api\nKey" contains a line break or control character`, false},
			},
			rows: 2, // keys are case-sensitive: apiKey and APIKEY differ
		},
		{
			name: "permission words",
			in: "integration_id,option_key,permission\n" +
				"a,k1,lockhide\n" +
				"a,k2,admin only\n" +
				"a,k3,lock-hide\n",
			want: []p{
				{2, "permission", `unknown permission "lockhide": did you mean lock-hide? use lock-hide, lock-show or user-provides`, false},
				{3, "permission", `unknown permission "admin only"`, false},
			},
			rows: 1,
		},
		{
			name: "flags: booleans, the invalid pair, both styles",
			in: "integration_id,option_key,permission,admin_only,user_can_edit\n" +
				"a,k1,,maybe,\n" +
				"a,k2,,true,TRUE\n" +
				"a,k3,lock-hide,true,\n" +
				"a,k4,,,2\n" +
				"a,k5,,yes,\n",
			want: []p{
				{2, "admin_only", `"maybe" is not a boolean: use true or false (yes/no, 1/0 and on/off work too), or leave it empty to keep the current setting`, false},
				{3, "admin_only", "admin_only and user_can_edit are both true, which the server refuses: set user_can_edit to false to lock and hide the option (lock-hide), or admin_only to false to let users provide it (user-provides)", false},
				{4, "permission", "row uses both permission and admin_only/user_can_edit: use one or the other", false},
				{5, "user_can_edit", `"2" is not a boolean`, false},
			},
			rows: 1,
		},
		{
			name: "row changes nothing",
			in: "integration_id,option_key,value,permission,comment\n" +
				"a,k1,,,just a note\n" +
				"a,k2,, ,\n",
			want: []p{
				{2, "", "row changes nothing: fill in value or permission, or delete the row", false},
				{3, "", "row changes nothing", false},
			},
		},
		{
			name: "comment-only row, whitespace value",
			in: "integration_id,option_key,value,comment\n" +
				"a,k1,v,\n" +
				",,,rotate the VT key\n" +
				"a,k2,\"  \",\n",
			want: []p{
				{3, "", "row has only a comment: fill in the change it describes, or delete the row", false},
				{4, "value", "the value is only whitespace and is sent as is: clear the cell to keep the current value", true},
			},
			rows: 2,
		},
		{
			name: "env references",
			in: "integration_id,option_key,value\n" +
				"a,k1,${UNSET_VAR}\n" +
				"a,k2,${EMPTY}\n" +
				"a,k3,${BAD-NAME}\n" +
				"a,k4,${1ABC}\n" +
				"a,k5,${}\n" +
				"a,k6,Bearer ${VT_KEY}\n" +
				"a,k7,${VT_KEY}\n",
			want: []p{
				{2, "value", "environment variable UNSET_VAR is not set: set it before running (export UNSET_VAR=...), or in CI add it to the job's environment", false},
				{3, "value", `environment variable EMPTY is set but empty: set it to the value, or write json:"" in the cell to set an empty value on purpose`, false},
				{4, "value", "the ${...} reference does not name a valid environment variable: names hold only letters, digits and underscores and do not start with a digit", false},
				{5, "value", "does not name a valid environment variable", false},
				{6, "value", "does not name a valid environment variable", false},
				{7, "value", `the cell contains a ${NAME} reference but also other text, so it is sent as written, without substitution: put the reference alone in the cell, or write the value as json:"..." to silence this warning`, true},
			},
			rows: 2,
		},
		{
			name: "malformed json",
			in: "integration_id,option_key,value\n" +
				"a,k1,json:{\n" +
				"a,k2,json:tru\n" +
				"a,k3,\"json:\"\"a\"\" x\"\n" +
				"a,k4,json:\n",
			want: []p{
				{2, "value", `not valid JSON after "json:" (syntax error near byte 1 of the JSON): check quotes, commas and brackets; a JSON string needs double quotes, e.g. json:"text"`, false},
				{3, "value", "syntax error near byte", false},
				{4, "value", "syntax error near byte 5 of the JSON", false},
				{5, "value", `not valid JSON after "json:"`, false},
			},
		},
		{
			name: "duplicates: identical merged with a warning, different rejected",
			in: "integration_id,integration_name,option_key,value,permission\n" +
				"vt_1,,apiKey,k,lock-hide\n" +
				",VirusTotal,url,u,\n" +
				"vt_1,,apiKey,k,Lock and hide option for all users\n" +
				",virustotal,url,u,\n" +
				"vt_1,,apiKey,other,lock-hide\n" +
				"vt_1,,apiKey,k,lock-hide\n",
			want: []p{
				{4, "", `lines 2 and 4 make the same change to option "apiKey" of integration "vt_1": merged into one row (delete one to silence this warning)`, true},
				{5, "", `lines 3 and 5 make the same change to option "url" of integration "VirusTotal"`, true},
				{6, "", `lines 2 and 6 both set option "apiKey" of integration "vt_1", differently: keep one of them`, false},
				{7, "", "lines 2 and 7 make the same change", true},
			},
			rows: 2,
		},
		{
			name: "duplicates: a row with the id alone agrees with one adding the name; two names do not",
			in: "integration_id,integration_name,option_key,value\n" +
				"vt_1,,apiKey,k\n" +
				"vt_1, VirusTotal ,apiKey,k\n" +
				"vt_1,VirusTotal,url,u\n" +
				"vt_1,AbuseIPDB,url,u\n",
			want: []p{
				{3, "", `lines 2 and 3 make the same change to option "apiKey" of integration "vt_1"`, true},
				{5, "", `lines 4 and 5 both set option "url" of integration "vt_1", differently`, false},
			},
			rows: 2,
		},
		{
			name: "wrong number of cells, and rows after it still checked",
			in: "integration_id,option_key,value\n" +
				"a,k1\n" +
				"a,k2,v,extra\n" +
				"a,k3,lockhide,\n" +
				"bad-id,k4,v\n",
			want: []p{
				{2, "", "row has 2 cells but the header has 3: look for a missing or extra comma (a cell that contains a comma must be quoted)", false},
				{3, "", "row has 4 cells but the header has 3", false},
				{4, "", "row has 4 cells but the header has 3", false},
				{5, "integration_id", `"bad-id" contains a dash`, false},
			},
		},
		{
			name: "bare quote, then rows still checked",
			in: "integration_id,option_key,value\n" +
				"a,k1,say \"hi\"\n" +
				"a-b,k2,v\n",
			want: []p{
				{2, "value", `a quote (") inside an unquoted cell, at byte 10: quote the whole cell and double each quote inside it, e.g. "say ""hi"""`, false},
				{3, "integration_id", `"a-b" contains a dash`, false},
			},
		},
		{
			name: "text after a closing quote",
			in: "integration_id,option_key,value\n" +
				"a,k1,\"abc\"def\n" +
				"a,k2,v\n",
			want: []p{
				{2, "value", `a quoted cell (opened on line 2) is not closed properly, at byte 10`, false},
			},
			rows: 1,
		},
		{
			name: "quote never closed",
			in: "\ufeffintegration_id,option_key,value\r\n" +
				"a,k1,v\r\n" +
				"a,k2,\"unclosed\r\n" +
				"a,k3,v\r\n" +
				"a,k4,v\r\n",
			want: []p{
				{3, "value", `a quote (") opened on this line is never closed, so the rest of the file (to line 5) was read as one cell: close the quote, and double each quote inside a quoted cell`, false},
			},
			rows: 1,
		},
		{
			name: "quote never closed in the header",
			in:   "integration_id,\"option_key,value\na,k,v\n",
			want: []p{
				{1, "", `header row: a quote (") opened on this line is never closed, so the rest of the file (to line 2) was read as one cell`, false},
			},
		},
		{
			name: "invalid utf-8, with the line inside a multi-line cell",
			in: "integration_id,option_key,value,comment\n" +
				"a,k1,\"ok\nstill ok\nbad \xff here\",\n" +
				"a,k2,v,caf\xe9\n" +
				"a,k3,v,\n",
			want: []p{
				{4, "value", `cell is not valid UTF-8: save the file as UTF-8 (in Excel: Save As "CSV UTF-8")`, false},
				{5, "comment", "cell is not valid UTF-8", false},
			},
			rows: 1,
		},
		{
			name: "nul bytes",
			in:   "integration_id,option_key,value\na,k1,x\x00y\na,k2,v\n",
			want: []p{
				{2, "value", "cell contains a NUL byte: is this a binary or UTF-16 file? save it as UTF-8 CSV", false},
			},
			rows: 1,
		},
		{
			name: "utf-16",
			in:   "\xff\xfei\x00n\x00t\x00",
			want: []p{{0, "", `file is UTF-16 encoded: save it as UTF-8 (in Excel: Save As "CSV UTF-8")`, false}},
		},
		{
			name: "old mac line ends",
			in:   "integration_id,option_key,value\ra,k,v\r",
			want: []p{
				{0, "", "file has a header but no rows", false},
				{1, "", "the header contains a carriage return: the file seems to use old Mac line ends (CR only); save it with LF or CRLF line ends", false},
				{1, "", `unknown column "k"`, false},
				{1, "", `unknown column "v"`, false},
				{1, "", "header has none of value, permission, admin_only, user_can_edit", false},
			},
		},
		{
			name: "all problems at once, in line order, across multi-line rows",
			in: "integration_id,option_key,value,permission\n" +
				"a-1,,\"multi\nline\",bogus\n" +
				"b,k,json:[,\n" +
				"c,k,,\n",
			want: []p{
				{2, "integration_id", "contains a dash", false},
				{2, "option_key", "missing", false},
				{3, "permission", `unknown permission "bogus"`, false},
				{4, "value", "not valid JSON", false},
				{5, "", "row changes nothing", false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, r := range readChecked(t, tt.in, tt.want, tt.rows) {
				if !validRow(r) {
					t.Errorf("invalid row returned: %s", showRow(r))
				}
			}
		})
	}
}

// validRow reports whether a returned row obeys the rules.
func validRow(r bulk.Row) bool {
	if r.Line < 2 || r.Key == "" || r.IntegrationID == "" && r.IntegrationName == "" {
		return false
	}
	if r.Value.Form == bulk.ValueKeep && r.Permission.Empty() {
		return false
	}
	if r.Permission.AdminOnly.Set && r.Permission.UserCanEdit.Set && !r.Permission.Apply(bulk.Permission{}).Valid() {
		return false
	}
	return idProblem(r.IntegrationID) == "" && keyProblem(r.Key) == ""
}

func TestReadMerged(t *testing.T) {
	t.Parallel()
	rows, ps := read(t, "integration_id,option_key,value\r\na,k,\"x\r\ny\"\r\nb,k,v\r\na,k,\"x\ny\"\r\na,k,\"x\r\ny\"\r\n")
	// Lines: 1 header, 2-3 a, 4 b, 5-6 a (LF inside), 7-8 a (CRLF inside): one value.
	checkProblems(t, ps, []p{
		{5, "", "lines 2 and 5 make the same change", true},
		{7, "", "lines 2 and 7 make the same change", true},
	})
	if len(rows) != 2 || rows[0].Line != 2 || !slices.Equal(rows[0].Merged, []int{5, 7}) || rows[1].Line != 4 {
		t.Errorf("rows: %v", rows)
	}
}

func TestReadLineNumbers(t *testing.T) {
	t.Parallel()
	// Lines: 1 header; 2-4 a row whose value spans three lines; 5 blank; 6 a row whose
	// permission cell starts on line 8 after a two-line value; 9 a bad row.
	in := "\ufeffintegration_id,option_key,value,permission\r\n" +
		"a,k1,\"one\r\ntwo\r\nthree\",lock-hide\r\n" +
		"\r\n" +
		"a,k2,\"x\r\ny\r\n\",nope\r\n" +
		"a-b,k3,v,\r\n"
	rows, ps := read(t, in)
	checkProblems(t, ps, []p{
		{8, "permission", `unknown permission "nope"`, false},
		{9, "integration_id", `"a-b" contains a dash`, false},
	})
	if len(rows) != 1 || rows[0].Line != 2 {
		t.Errorf("rows: %v", rows)
	}
}

func TestReadIOError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("integration_id,option_key,value\na,k,v\n"), errReader{boom})
	rows, ps, err := Read("in.csv", r, lookup)
	if !errors.Is(err, boom) || rows != nil || ps != nil {
		t.Fatalf("got %v, %v, %v; want the I/O error alone", rows, ps, err)
	}
	if want := "read in.csv: disk on fire"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestReadNilLookup(t *testing.T) {
	t.Parallel()
	_, ps, err := Read("in.csv", strings.NewReader("integration_id,option_key,value\na,k,${HOME}\n"), nil)
	if err != nil || len(ps) != 1 || !strings.Contains(ps[0].Msg, "HOME is not set") {
		t.Errorf("got %v, %v", ps, err)
	}
}

func TestColumns(t *testing.T) {
	t.Parallel()
	want := []string{"integration_id", "integration_name", "option_key", "value", "permission",
		"admin_only", "user_can_edit", "option_kind", "comment"}
	if !slices.Equal(Columns, want) {
		t.Fatalf("Columns = %v", Columns)
	}
	// Every column is accepted; permission and the flags are not both used in one row.
	in := strings.Join(Columns, ",") + "\nid,name,k,v,,yes,no,text,c\n"
	rows, ps := read(t, in)
	if len(ps) != 0 || len(rows) != 1 {
		t.Errorf("rows %v, problems %v", rows, ps)
	}
}

func TestReadTrimsIntegrationNames(t *testing.T) {
	rows, probs, err := Read("n.csv", strings.NewReader("integration_name,option_key,value\n  AbuseIPDB\t,maxAge,90\n"), nil)
	if err != nil || len(probs) != 0 || len(rows) != 1 {
		t.Fatalf("rows %v, problems %v, err %v", rows, probs, err)
	}
	if rows[0].IntegrationName != "AbuseIPDB" {
		t.Errorf("name %q: a spreadsheet's surrounding spaces must not stop it from matching", rows[0].IntegrationName)
	}
}

// TestCheckCredentials: a ${NAME} cell may not carry the tool's own credential into an
// option, by the variable's name or by its value; the problem never quotes the value.
func TestCheckCredentials(t *testing.T) {
	env := func(name, v string) bulk.Value { return bulk.Value{Form: bulk.ValueLiteral, Text: v, Env: name} }
	rows := []bulk.Row{
		{Line: 2, Key: "apiKey", Value: env("POLARITY_API_KEY", "tool-key-0123456789")},
		{Line: 3, Key: "apiKey", Value: env("POLARITY_PASSWORD", "tool-password")},
		{Line: 4, Key: "note", Value: env("COPY_OF_KEY", "tool-key-from-file-42")},
		{Line: 5, Key: "apiKey", Value: env("ABUSE_KEY", "an-integration-key")},
		{Line: 6, Key: "apiKey", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "tool-key-from-file-42"}},
	}
	probs := CheckCredentials("in.csv", rows, []Credential{{Source: "--api-key-file key.txt", Value: "tool-key-from-file-42"}})
	want := []string{
		"in.csv:2: value: ${POLARITY_API_KEY} is the API key polarity-bulk authenticates with: refusing",
		"in.csv:3: value: ${POLARITY_PASSWORD} is the password polarity-bulk authenticates with: refusing",
		"in.csv:4: value: ${COPY_OF_KEY} holds the same value as --api-key-file key.txt, the credential polarity-bulk authenticates with: refusing",
	}
	if len(probs) != len(want) {
		t.Fatalf("problems:\n%v", probs)
	}
	for i, p := range probs {
		if !strings.HasPrefix(p.Error(), want[i]) || p.Warning {
			t.Errorf("problem %d:\n%s\nwant it to start with\n%s", i, p.Error(), want[i])
		}
		if strings.Contains(p.Error(), "tool-key") || strings.Contains(p.Error(), "tool-password") {
			t.Errorf("the problem quotes the credential: %s", p.Error())
		}
	}
}
