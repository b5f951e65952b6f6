package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

func render(t testing.TB, f func(io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// leaky returns the fixture as a buggy planner might make it: the display values of secret
// changes hold the secrets themselves. The renderers must mask them anyway.
func leaky(p bulk.Plan) bulk.Plan {
	for i := range p.Targets {
		for j := range p.Targets[i].Changes {
			c := &p.Targets[i].Changes[j]
			if isSecret(*c) {
				c.Before, c.After = secretOld+" before", secretLiteral+" after"
			}
		}
	}
	return p
}

func TestNoSecretsInAnyOutput(t *testing.T) {
	for _, variant := range []struct {
		name string
		plan func(bulk.Plan) bulk.Plan
	}{{"planner masked", func(p bulk.Plan) bulk.Plan { return p }}, {"planner leaked", leaky}} {
		t.Run(variant.name, func(t *testing.T) {
			p := variant.plan(fixturePlan())
			r := fixtureRun()
			r.Plan = p
			for i := range r.Results {
				for _, tg := range p.Targets {
					if tg.ID != r.Results[i].ID {
						continue
					}
					for j := range r.Results[i].Options {
						r.Results[i].Options[j].Change = tg.Changes[j]
					}
				}
			}
			// Secrets in the flags, warnings and errors are scrubbed too.
			r.Flags["note"] = "token " + secretLiteral
			r.Plan.Warnings = append(r.Plan.Warnings, bulk.Problem{File: "rollout.csv", Line: 2, Msg: "echo " + secretOld, Warning: true})
			m := planMeta()
			outs := map[string]func(io.Writer) error{
				"PlanText":        func(w io.Writer) error { return PlanText(w, NewPlanFile(PlanMeta{}, r.Plan), TextOptions{}) },
				"PlanText color":  func(w io.Writer) error { return PlanText(w, NewPlanFile(PlanMeta{}, r.Plan), TextOptions{Color: true}) },
				"PlanJSON":        func(w io.Writer) error { return PlanJSON(w, NewPlanFile(m, r.Plan)) },
				"PlanMarkdown":    func(w io.Writer) error { return PlanMarkdown(w, NewPlanFile(m, r.Plan), false) },
				"ResultsJSON":     func(w io.Writer) error { return ResultsJSON(w, NewResults(r)) },
				"ResultsCSV":      func(w io.Writer) error { return ResultsCSV(w, NewResults(r)) },
				"FailedCSV":       func(w io.Writer) error { return FailedCSV(w, NewResults(r)) },
				"BackupCSV":       func(w io.Writer) error { return BackupCSV(w, NewResults(r), false) },
				"SummaryMarkdown": func(w io.Writer) error { return SummaryMarkdown(w, NewResults(r)) },
				"JUnit":           func(w io.Writer) error { return JUnit(w, NewResults(r)) },
				"HTML":            func(w io.Writer) error { return HTML(w, NewResults(r)) },
				// What apply --plan reads back holds no secret either.
				"ReadPlan": func(w io.Writer) error {
					var b bytes.Buffer
					if err := PlanJSON(&b, NewPlanFile(m, r.Plan)); err != nil {
						return err
					}
					f, err := ReadPlan(&b)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(w, "%#v", f)
					return err
				},
			}
			for name, f := range outs {
				if out := render(t, f); strings.Contains(out, secretMark) {
					i := strings.Index(out, secretMark)
					t.Errorf("%s leaks a secret: …%s…", name, out[max(0, i-60):min(len(out), i+40)])
				}
			}

			dir := t.TempDir()
			if err := WriteDir(dir, NewResults(r), false); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{ResultsJSONFile, ResultsCSVFile, FailedCSVFile, BackupCSVFile, SummaryFile, JUnitFile, HTMLFile, TimelineFile} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(secretMark)) {
					t.Errorf("%s leaks a secret", name)
				}
			}
		})
	}
}

func TestBackupSecrets(t *testing.T) {
	r := fixtureRun()
	dir := filepath.Join(t.TempDir(), "reports", "run1")
	// A report written without secrets, then again with: the backup turns 0600; and back.
	for _, secrets := range []bool{false, true, false} {
		if err := WriteDir(dir, NewResults(r), secrets); err != nil {
			t.Fatal(err)
		}
		backup, err := os.ReadFile(filepath.Join(dir, BackupCSVFile))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, BackupCSVFile))
		if err != nil {
			t.Fatal(err)
		}
		if secrets {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("backup.csv with secrets has mode %v, want 0600", fi.Mode().Perm())
			}
			// The previous values are there; new values never are (they are not a backup).
			for _, s := range []string{secretOld, secretOld2, secretOldText} {
				if !bytes.Contains(backup, []byte(s)) {
					t.Errorf("backup.csv with secrets lacks %s", s)
				}
			}
			for _, s := range []string{secretLiteral, secretEnv, secretEnvText, secretJSON} {
				if bytes.Contains(backup, []byte(s)) {
					t.Errorf("backup.csv holds the new value %s", s)
				}
			}
		} else {
			if bytes.Contains(backup, []byte(secretMark)) {
				t.Error("backup.csv without --backup-secrets holds a secret")
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("backup.csv has mode %v, want 0644", fi.Mode().Perm())
			}
		}
		// Only the secrets-bearing backup may hold secrets.
		for _, name := range []string{ResultsJSONFile, ResultsCSVFile, FailedCSVFile, SummaryFile, JUnitFile, HTMLFile, TimelineFile} {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			if bytes.Contains(b, []byte(secretMark)) {
				t.Errorf("%s leaks a secret", name)
			}
		}
	}
}

func TestWriteDir(t *testing.T) {
	r := fixtureRun()
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := WriteDir(dir, NewResults(r), false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		t.Fatalf("report directory not created: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{BackupCSVFile, FailedCSVFile, JUnitFile, HTMLFile, ResultsCSVFile, ResultsJSONFile, SummaryFile, TimelineFile}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("files %v, want exactly %v (no temporary files left)", names, want)
	}
	// Each file is exactly what its renderer writes.
	for name, f := range map[string]func(io.Writer) error{
		ResultsJSONFile: func(w io.Writer) error { return ResultsJSON(w, NewResults(r)) },
		JUnitFile:       func(w io.Writer) error { return JUnit(w, NewResults(r)) },
		FailedCSVFile:   func(w io.Writer) error { return FailedCSV(w, NewResults(r)) },
	} {
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if string(got) != render(t, f) {
			t.Errorf("%s differs from its renderer's output", name)
		}
	}

	// A directory that cannot be made is an error, not a panic or a partial write.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(filepath.Join(file, "sub"), NewResults(r), false); err == nil {
		t.Error("WriteDir under a file succeeded")
	}
}

// readCSV parses a CSV output (encoding/csv: tests may read, only the sheet package writes).
func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("not valid CSV: %v\n%s", err, s)
	}
	return recs
}

func TestCSVCellsNeverStartLikeFormulas(t *testing.T) {
	r := fixtureRun()
	// Make everything hostile: keys, errors and names that start like formulas.
	for i := range r.Results {
		r.Results[i].Error = "=cmd|' /C calc'!A0"
		r.Results[i].Name = "+" + r.Results[i].Name
		for j := range r.Results[i].Options {
			r.Results[i].Options[j].Error = "@SUM(1+1)"
			r.Results[i].Options[j].Key = "-" + r.Results[i].Options[j].Key
		}
	}
	r.Plan = bulk.Plan{} // the results alone
	for name, f := range map[string]func(io.Writer) error{
		"results.csv":        func(w io.Writer) error { return ResultsCSV(w, NewResults(r)) },
		"failed.csv":         func(w io.Writer) error { return FailedCSV(w, NewResults(r)) },
		"backup.csv":         func(w io.Writer) error { return BackupCSV(w, NewResults(r), false) },
		"backup.csv secrets": func(w io.Writer) error { return BackupCSV(w, NewResults(r), true) },
	} {
		recs := readCSV(t, render(t, f))
		if len(recs) < 2 {
			t.Fatalf("%s has no rows", name)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				if formulaStart(cell) {
					t.Errorf("%s: cell %q starts like a formula", name, cell)
				}
			}
		}
	}
}

func TestNeutral(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		"plain":     "plain",
		"=1+1":      "'=1+1",
		"+1":        "'+1",
		"-1":        "'-1",
		"@SUM(A1)":  "'@SUM(A1)",
		"\tx":       "'\tx",
		"\rx":       "'\rx",
		"a=b":       "a=b",
		" =leading": " =leading",
	} {
		if got := neutral(in); got != want {
			t.Errorf("neutral(%q) = %q, want %q", in, got, want)
		}
	}
}

// cellMeans says what a value cell of the input format means, the way the reader takes it:
// json:<JSON> is that JSON, anything else a literal string.
func cellMeans(t *testing.T, cell string) any {
	t.Helper()
	if rest, ok := strings.CutPrefix(cell, "json:"); ok {
		var v any
		if err := json.Unmarshal([]byte(rest), &v); err != nil {
			t.Fatalf("cell %q is not valid json: %v", cell, err)
		}
		return v
	}
	return cell
}

func TestFailedValue(t *testing.T) {
	lit := func(s string) bulk.Row { return bulk.Row{Cell: s, Value: bulk.Value{Form: bulk.ValueLiteral, Text: s}} }
	tests := []struct {
		name   string
		c      bulk.Change
		want   string
		left   bool
		sameAs any // what the written cell must mean, when it is not the cell itself
	}{
		{"plain literal", bulk.Change{Kind: bulk.KindText, Row: lit("hello")}, "hello", false, nil},
		{"keep", bulk.Change{Kind: bulk.KindText, Row: bulk.Row{}}, "", false, nil},
		{"json cell", bulk.Change{Kind: bulk.KindText, Row: bulk.Row{Cell: `json:"-x"`, Value: bulk.Value{Form: bulk.ValueJSON, Text: `"-x"`}}}, `json:"-x"`, false, nil},
		{"env reference", bulk.Change{Kind: bulk.KindText, Sensitive: true, Row: bulk.Row{Cell: "${K}", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "v", Env: "K"}}}, "${K}", false, nil},
		{"password literal", bulk.Change{Line: 7, Kind: bulk.KindPassword, Sensitive: true, Row: lit("hunter22")}, "${POLARITY_SECRET_LINE_7}", true, nil},
		{"password json", bulk.Change{Line: 8, Kind: bulk.KindPassword, Sensitive: true, Row: bulk.Row{Cell: `json:"hunter22"`, Value: bulk.Value{Form: bulk.ValueJSON, Text: `"hunter22"`}}}, "${POLARITY_SECRET_LINE_8}", true, nil},
		{"formula text with send", bulk.Change{Kind: bulk.KindText, Row: lit("=1+1"), Send: bulk.NewPayload(json.RawMessage(`"=1+1"`))}, `json:"=1+1"`, false, "=1+1"},
		{"formula text without send", bulk.Change{Kind: bulk.KindText, Row: lit("@x <b>")}, `json:"@x <b>"`, false, "@x <b>"},
		{"tab start", bulk.Change{Kind: bulk.KindText, Row: lit("\tx")}, `json:"\tx"`, false, "\tx"},
		{"negative number with send", bulk.Change{Kind: bulk.KindNumber, Row: lit("-5"), Send: bulk.NewPayload(json.RawMessage(`-5`))}, "json:-5", false, -5.0},
		{"negative number without send", bulk.Change{Kind: bulk.KindNumber, Row: lit("-2.5e3")}, "json:-2.5e3", false, -2500.0},
		{"select with send", bulk.Change{Kind: bulk.KindSelect, Row: lit("-high"), Send: bulk.NewPayload(json.RawMessage(`{"value": "-high", "display": "High"}`))}, `json:{"value":"-high","display":"High"}`, false,
			map[string]any{"value": "-high", "display": "High"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, left := failedValue(tt.c)
			if got != tt.want || left != tt.left {
				t.Errorf("failedValue = %q, %t; want %q, %t", got, left, tt.want, tt.left)
			}
			if formulaStart(got) {
				t.Errorf("%q starts like a formula", got)
			}
			if tt.sameAs != nil && !reflect.DeepEqual(cellMeans(t, got), tt.sameAs) {
				t.Errorf("%q means %#v, want %#v", got, cellMeans(t, got), tt.sameAs)
			}
		})
	}
}

func TestRestoreCell(t *testing.T) {
	tests := []struct {
		kind bulk.Kind
		raw  string
		want string
	}{
		{bulk.KindText, `"a.com"`, "a.com"},
		{bulk.KindText, `"two\nlines"`, "two\nlines"},
		{bulk.KindText, `""`, `json:""`},
		{bulk.KindText, `" padded "`, `json:" padded "`},
		{bulk.KindText, `"=HYPERLINK(1)"`, `json:"=HYPERLINK(1)"`},
		{bulk.KindText, `"-x"`, `json:"-x"`},
		{bulk.KindText, `"\tx"`, `json:"\tx"`},
		{bulk.KindText, `"a\r\nb"`, `json:"a\r\nb"`},
		{bulk.KindText, `"${HOME}"`, `json:"${HOME}"`},
		{bulk.KindText, `"JSON:1"`, `json:"JSON:1"`},
		{bulk.KindText, `null`, `json:null`},
		{bulk.KindText, `12`, `json:12`},
		{bulk.KindPassword, `"pw"`, "pw"},
		{bulk.KindBoolean, `true`, "true"},
		{bulk.KindBoolean, `false`, "false"},
		{bulk.KindBoolean, `"yes"`, `json:"yes"`},
		{bulk.KindNumber, `30`, "30"},
		{bulk.KindNumber, `0.5`, "0.5"},
		{bulk.KindNumber, `1e3`, "1e3"},
		{bulk.KindNumber, `-1`, "json:-1"},
		{bulk.KindNumber, `"7"`, `json:"7"`},
		{bulk.KindSelect, `{"value":"low","display":"Low"}`, "low"},
		{bulk.KindSelect, `{ "value" : "low" }`, "low"},
		{bulk.KindSelect, `{"value":"low","display":"Low","extra":1}`, `json:{"value":"low","display":"Low","extra":1}`},
		{bulk.KindSelect, `{"value":5,"display":"Five"}`, `json:{"value":5,"display":"Five"}`},
		{bulk.KindSelect, `{"value":"=x","display":"X"}`, `json:{"value":"=x","display":"X"}`},
		{bulk.KindSelect, `[{"value":"new","display":"New"},{"value":"score,desc","display":"Score"}]`, "new;score,desc"},
		{bulk.KindSelect, `[]`, "json:[]"},
		{bulk.KindSelect, `[{"value":"a;b","display":"AB"}]`, `json:[{"value":"a;b","display":"AB"}]`},
		{bulk.KindSelect, `[{"value":" a","display":"A"}]`, `json:[{"value":" a","display":"A"}]`},
		{bulk.KindSelect, `null`, "json:null"},
		{bulk.Kind("custom"), `"x"`, `json:"x"`},
	}
	for _, tt := range tests {
		got := restoreCell(tt.kind, json.RawMessage(tt.raw))
		if got != tt.want {
			t.Errorf("restoreCell(%s, %s) = %q, want %q", tt.kind, tt.raw, got, tt.want)
		}
		if formulaStart(got) {
			t.Errorf("restoreCell(%s, %s) = %q starts like a formula", tt.kind, tt.raw, got)
		}
	}
}

func TestBackupRows(t *testing.T) {
	recs := readCSV(t, render(t, func(w io.Writer) error { return BackupCSV(w, NewResults(fixtureRun()), false) }))
	if got := strings.Join(recs[0], ","); got != "integration_id,integration_name,option_key,value,permission,comment" {
		t.Fatalf("header %s", got)
	}
	byKey := map[string][]string{}
	for _, rec := range recs[1:] {
		byKey[rec[0]+"/"+rec[2]] = rec
	}
	// Only applied updates are backed up: not the failed, not-attempted or unchanged ones.
	for _, k := range []string{idAbuse + "/maxAge", idCS1 + "/minimumSeverity", idMand + "/proxyUrl", idSlack + "/sortBy", idVT + "/showNoDetections"} {
		if _, ok := byKey[k]; ok {
			t.Errorf("backup has %s", k)
		}
	}
	if len(recs)-1 != 16 {
		t.Errorf("backup has %d rows, want 16", len(recs)-1)
	}
	// Permission-only change: value kept, permission restored.
	if rec := byKey[idVT+"/maxResults"]; rec[3] != "" || rec[4] != "lock-show" {
		t.Errorf("maxResults backup %q", rec)
	}
	// A secret left out still restores the permission.
	if rec := byKey[idCS2+"/apiKey"]; rec[3] != "" || rec[4] != "lock-show" || !strings.Contains(rec[5], "sensitive") {
		t.Errorf("apiKey backup %q", rec)
	}
}

func TestFailedRows(t *testing.T) {
	r := fixtureRun()
	recs := readCSV(t, render(t, func(w io.Writer) error { return FailedCSV(w, NewResults(r)) }))
	var keys []string
	for _, rec := range recs[1:] {
		keys = append(keys, rec[0]+"/"+rec[2])
	}
	want := []string{idAbuse + "/apiKey", idAbuse + "/maxAge", idCS1 + "/minimumSeverity", idCS1 + "/clientSecret", idMand + "/vulnerabilityRatingSources", idMand + "/proxyUrl"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("failed rows %v, want %v", keys, want)
	}
	for _, rec := range recs[1:] {
		if rec[2] == "clientSecret" {
			if rec[3] != "${POLARITY_SECRET_LINE_10}" || !strings.Contains(rec[5], "set POLARITY_SECRET_LINE_10 or put the value back from rollout.csv line 10") {
				t.Errorf("sensitive failed row %q", rec)
			}
		}
	}

	// Permissions come out as words, whatever the row used.
	ch := func(perm string, p bulk.PermissionEdit, after bulk.Permission) bulk.Change {
		return bulk.Change{Row: bulk.Row{PermissionCell: perm, Permission: p}, AfterPermission: after}
	}
	set := func(b bool) bulk.Bool { return bulk.Bool{Set: true, Value: b} }
	for _, tt := range []struct {
		c    bulk.Change
		want string
	}{
		{ch("", bulk.PermissionEdit{}, lockShow), ""},
		{ch("Lock and hide option for all users", bulk.PermissionEdit{AdminOnly: set(true), UserCanEdit: set(false)}, lockHide), "lock-hide"},
		{ch("USER-PROVIDES", bulk.PermissionEdit{AdminOnly: set(false), UserCanEdit: set(true)}, userProvides), "user-provides"},
		{ch("", bulk.PermissionEdit{AdminOnly: set(false)}, lockShow), "lock-show"},
	} {
		if got := requestedPermission(tt.c); got != tt.want {
			t.Errorf("requestedPermission(%q) = %q, want %q", tt.c.Row.PermissionCell, got, tt.want)
		}
	}
}

func TestResultsCSVRows(t *testing.T) {
	recs := readCSV(t, render(t, func(w io.Writer) error { return ResultsCSV(w, NewResults(fixtureRun())) }))
	if got := strings.Join(recs[0], ","); got != "line,integration_id,option_key,status,error" {
		t.Fatalf("header %s", got)
	}
	// One row per input line, lines 2..27 with the merged line 12, in order.
	if len(recs)-1 != 26 {
		t.Fatalf("%d rows, want 26", len(recs)-1)
	}
	for i, rec := range recs[1:] {
		if rec[0] != itoa(i+2) {
			t.Errorf("row %d has line %s", i+1, rec[0])
		}
	}
	if rec := recs[12-1]; rec[2] != "maxAge" || rec[3] != "failed" {
		t.Errorf("merged line 12: %q", rec)
	}
}

func TestResultsOrderAndMissing(t *testing.T) {
	r := fixtureRun()
	var f struct {
		Totals       ResultTotals
		Integrations []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(render(t, func(w io.Writer) error { return ResultsJSON(w, NewResults(r)) })), &f); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range f.Integrations {
		ids = append(ids, in.ID+"="+in.Status)
	}
	want := []string{idVT + "=applied", idAbuse + "=failed", idCS1 + "=failed", idMand + "=not-attempted", idCS2 + "=applied", idSlack + "=unchanged"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("integrations %v, want %v (plan order, missing ones not attempted)", ids, want)
	}
	wantInts := bulk.Tally{Total: 6, Applied: 2, Unchanged: 1, Failed: 2, NotAttempted: 1}
	wantRows := bulk.Tally{Total: 26, Applied: 16, Unchanged: 3, Failed: 5, NotAttempted: 2}
	if f.Totals.Integrations != wantInts || f.Totals.Rows != wantRows {
		t.Errorf("totals %+v, want %+v %+v", f.Totals, wantInts, wantRows)
	}

	// Without a plan, the results are reported as they are.
	r.Plan = bulk.Plan{}
	if got := r.results(); len(got) != 5 || got[0].ID != idSlack {
		t.Errorf("results without a plan: %d, first %s", len(got), got[0].ID)
	}
}

func TestReadPlan(t *testing.T) {
	m, p := planMeta(), fixturePlan()
	m.Rev = "0123456789abcdef0123456789abcdef01234567"
	text := render(t, func(w io.Writer) error { return PlanJSON(w, NewPlanFile(m, p)) })
	f, err := ReadPlan(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if want := NewPlanFile(m, p); !reflect.DeepEqual(f, want) {
		t.Errorf("ReadPlan(PlanJSON) differs:\n got %+v\nwant %+v", f, want)
	}
	if got := f.Meta(); got.SHA256 != m.SHA256 || got.File != m.File || got.Server != m.Server || !got.Created.Equal(m.Created) || got.Tool != m.Tool || got.Rev != m.Rev {
		t.Errorf("Meta() = %+v, want %+v", got, m)
	}
	if len(f.Integrations) != 6 || f.Integrations[2].Running || f.Integrations[0].Options[1].PermissionAfter != "lock-hide" {
		t.Errorf("integrations read back wrong: %+v", f.Integrations)
	}

	results := render(t, func(w io.Writer) error { return ResultsJSON(w, NewResults(fixtureRun())) })
	edit := func(from, to string) string { return strings.Replace(text, from, to, 1) }
	for _, tt := range []struct{ name, in, err string }{
		{"results.json", results, "not a plan file"},
		{"format 2", edit(`"format": 1`, `"format": 2`), "format 2 is not supported"},
		{"no sha256", edit(m.SHA256, ""), "no sha256"},
		{"no fingerprint", edit(`"fingerprint": "sha256:000000000000000000000000000000000000000000000000000000000000001d"`, `"fingerprint": ""`), "integration " + idVT + " has no fingerprint"},
		{"duplicate", edit(`"id": "slack_1"`, `"id": "crowdstrike_2"`), "integration crowdstrike_2 is listed twice"},
		{"no id", edit(`"id": "slack_1"`, `"id": ""`), "integration 6 has no id"},
		{"trailing", text + "{}", "unexpected data after the plan"},
		{"not json", "plan", "read plan: invalid character"},
		{"empty", "", "read plan: EOF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPlan(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want it to contain %q", err, tt.err)
			}
		})
	}
}

func TestPlanText(t *testing.T) {
	upd := func(key, before, after string) bulk.Change {
		return bulk.Change{Line: 2, Key: key, Kind: bulk.KindText, Action: bulk.ActionUpdate, ValueChanges: true, Before: before, After: after}
	}
	same := bulk.Change{Line: 3, Key: "k", Action: bulk.ActionUnchanged}
	tests := []struct {
		name    string
		plan    bulk.Plan
		want    []string
		notWant []string
	}{
		{"empty", bulk.Plan{}, []string{"No changes: the plan is empty.\n"}, nil},
		{"all unchanged", bulk.Plan{Targets: []bulk.Target{{ID: "a_1", Name: "A", Running: true, Changes: []bulk.Change{same}}, {ID: "b_1", Name: "b_1", Changes: []bulk.Change{same, same}}}},
			[]string{"No changes: 2 integrations, 3 options already as asked.\n", "= a_1 (A): 1 option unchanged [line 3]\n", "= b_1: 2 options unchanged [line 3] (not running: nothing will be sent)\n"},
			[]string{"WARNING", "NOT RUNNING"}},
		{"control characters escaped", bulk.Plan{Targets: []bulk.Target{{ID: "a_1", Running: true, Changes: []bulk.Change{upd("k", "\x1b[2Jold\r", "new\u202eevil\x00")}}}},
			[]string{`\x1b[2Jold\r → new\u202eevil\x00`}, []string{"\x1b", "\u202e", "\x00"}},
		{"long value cut", bulk.Plan{Targets: []bulk.Target{{ID: "a_1", Running: true, Changes: []bulk.Change{upd("k", "short", strings.Repeat("x", 500))}}}},
			[]string{strings.Repeat("x", textValueLimit) + "… (380 more characters)"}, []string{strings.Repeat("x", textValueLimit+1)}},
		{"not running", bulk.Plan{Targets: []bulk.Target{{ID: "a_1", Status: "stopped", Changes: []bulk.Change{upd("k", "1", "2")}}, {ID: "b_1", Status: "", Changes: []bulk.Change{upd("k", "1", "2")}}}},
			[]string{"WARNING: 2 integrations with changes are not running", "~ a_1  NOT RUNNING (status stopped)", "~ b_1  NOT RUNNING (status unknown)"}, nil},
		{"neither value nor flags", bulk.Plan{Targets: []bulk.Target{{ID: "a_1", Running: true, Changes: []bulk.Change{{Line: 2, Key: "k", Action: bulk.ActionUpdate}}}}},
			[]string{"~ k  will be sent again  [line 2]"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, func(w io.Writer) error {
				return PlanText(w, NewPlanFile(PlanMeta{}, tt.plan), TextOptions{ShowUnchanged: true})
			})
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(out, s) {
					t.Errorf("output has %q:\n%s", s, out)
				}
			}
		})
	}
	if out := render(t, func(w io.Writer) error { return PlanText(w, NewPlanFile(PlanMeta{}, fixturePlan()), TextOptions{}) }); strings.Contains(out, "\x1b") {
		t.Error("colour codes without colour")
	}
}

func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		in    string
		limit int
		want  string
	}{
		{"plain text", 0, "plain text"},
		{"a\nb\tc\rd", 0, `a\nb\tc\rd`},
		{"\x1b[31mred", 0, `\x1b[31mred`},
		{"\x7f\u0085", 0, `\x7f\x85`},
		{"abc\u202edef\u2066", 0, `abc\u202edef\u2066`},
		{"héllo wörld", 5, "héllo… (6 more characters)"},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc… (1 more character)"},
	} {
		if got := printable(tt.in, tt.limit); got != tt.want {
			t.Errorf("printable(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "`plain`"},
		{"a|b", "`a\\|b`"},
		{"has `tick`", "`` has `tick` ``"},
		{"`edge`", "`` `edge` ``"},
		{"", "(empty)"},
		{"<script>@team</script>", "`<script>@team</script>`"},
	} {
		if got := mdCode(tt.in, true); got != tt.want {
			t.Errorf("mdCode(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := mdText("a_b *c* <d> [e](f) #1"); got != `a\_b \*c\* \<d\> \[e\](f) \#1` {
		t.Errorf("mdText = %s", got)
	}
}

// bigPlan is n integrations of m options: a third of them secrets, a third unchanged, values
// long enough that the Markdown does not fit a comment.
func bigPlan(n, m int) bulk.Plan {
	p := bulk.Plan{Targets: make([]bulk.Target, n)}
	for i := range p.Targets {
		t := bulk.Target{ID: "integration_" + itoa(i), Name: "Integration " + itoa(i), Status: "running", Running: i%50 != 7, Fingerprint: "sha256:x"}
		for j := 0; j < m; j++ {
			c := bulk.Change{
				Line: 2 + i*m + j, Key: "option" + itoa(j), Kind: bulk.KindText,
				Action: bulk.ActionUpdate, ValueChanges: true,
				Before: `"https://old.example.com/path/` + itoa(j) + `"`, After: `"https://new.example.com/path/` + itoa(j) + `"`,
				BeforePermission: lockShow, AfterPermission: lockHide, PermissionChanges: j%4 == 0,
				Send:    bulk.NewPayload(json.RawMessage(`"https://new.example.com/path/x"`)),
				Current: bulk.NewPayload(json.RawMessage(`"https://old.example.com/path/x"`)),
			}
			c.Row = bulk.Row{Line: c.Line, IntegrationID: t.ID, Key: c.Key, Cell: "https://new.example.com/path/x", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "https://new.example.com/path/x"}}
			switch j % 3 {
			case 1:
				c.Kind, c.Sensitive, c.Before, c.After = bulk.KindPassword, true, bulk.SensitiveText, bulk.SensitiveText
				c.Row.Cell = "S3CRET-big-" + itoa(i)
				c.Row.Value.Text = c.Row.Cell
			case 2:
				c.Action, c.ValueChanges, c.PermissionChanges = bulk.ActionUnchanged, false, false
			}
			t.Changes = append(t.Changes, c)
		}
		p.Targets[i] = t
	}
	return p
}

func bigRun(p bulk.Plan) Run {
	r := Run{Tool: "polarity-bulk 1.0.0", Server: "https://polarity.example.com", Input: "big.csv", SHA256: "00",
		Started: time.Unix(0, 0), Finished: time.Unix(100, 0), Flags: map[string]string{"rate": "5"}, Plan: p}
	for i, t := range p.Targets {
		st := bulk.StatusApplied
		switch i % 10 {
		case 3:
			st = bulk.StatusFailed
		case 4:
			st = bulk.StatusNotAttempted
		}
		res := bulk.Result{ID: t.ID, Name: t.Name, Status: st, HTTPStatus: 200, Attempts: 1, Duration: time.Millisecond}
		if st == bulk.StatusFailed {
			res.HTTPStatus, res.Error = 422, "patch integration "+t.ID+": 422 value of option0 is not valid"
		}
		for _, c := range t.Changes {
			o := bulk.OptionResult{Change: c, Status: st}
			if c.Action == bulk.ActionUnchanged {
				o.Status = bulk.StatusUnchanged
			}
			res.Options = append(res.Options, o)
		}
		r.Results = append(r.Results, res)
	}
	return r
}

func TestMarkdownFitsAComment(t *testing.T) {
	p := bigPlan(1000, 10)
	// Applied changes are grouped as in the plan (issue 16), so it takes more failures, each
	// a row of its own, to overflow the summary.
	r := bigRun(bigPlan(4000, 10))
	for name, f := range map[string]func(io.Writer) error{
		"plan.md":    func(w io.Writer) error { return PlanMarkdown(w, NewPlanFile(planMeta(), p), false) },
		"summary.md": func(w io.Writer) error { return SummaryMarkdown(w, NewResults(r)) },
	} {
		out := render(t, f)
		if len(out) > MarkdownLimit {
			t.Errorf("%s is %d bytes, over %d", name, len(out), MarkdownLimit)
		}
		if !strings.Contains(out, "This summary is cut to fit a comment") {
			t.Errorf("%s has no truncation note", name)
		}
		if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
			t.Errorf("%s leaves a <details> open", name)
		}
		if strings.Contains(out, secretMark) {
			t.Errorf("%s leaks a secret", name)
		}
		// Totals come first, whatever is cut.
		head := out[:min(len(out), 400)]
		if !strings.Contains(head, "1000") && !strings.Contains(head, "| integrations |") {
			t.Errorf("%s does not start with the totals:\n%s", name, head)
		}
	}
	// The small fixture is not cut.
	if out := render(t, func(w io.Writer) error { return PlanMarkdown(w, NewPlanFile(planMeta(), fixturePlan()), false) }); strings.Contains(out, "cut to fit") {
		t.Error("small plan.md is cut")
	}
}

func TestJUnitIsValidXML(t *testing.T) {
	r := fixtureRun()
	r.Results[2].Error = "bad \x00 byte \x1b and <tag> & \"quotes\" ]]>"
	out := render(t, func(w io.Writer) error { return JUnit(w, NewResults(r)) })
	var doc junitSuites
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, out)
	}
	s := doc.Suites[0]
	if s.Tests != 6 || s.Failures != 2 || s.Skipped != 1 || len(s.Cases) != 6 {
		t.Errorf("suite counts %d/%d/%d, %d cases", s.Tests, s.Failures, s.Skipped, len(s.Cases))
	}
	var failed, skipped []string
	for _, c := range s.Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
		}
		if c.Skipped != nil {
			skipped = append(skipped, c.Name)
		}
	}
	if want := []string{idAbuse + " (AbuseIPDB)", idCS1 + " (CrowdStrike)"}; !reflect.DeepEqual(failed, want) {
		t.Errorf("failures %v, want %v", failed, want)
	}
	if want := []string{idMand + " (@Mandiant)"}; !reflect.DeepEqual(skipped, want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	// Must parse with a strict reader too: no raw control characters at all.
	if strings.ContainsAny(out, "\x00\x1b") {
		t.Error("junit.xml holds control characters")
	}
}

func TestRedactor(t *testing.T) {
	p := bulk.Plan{Targets: []bulk.Target{{Changes: []bulk.Change{
		{Sensitive: true, Row: bulk.Row{Cell: "abc", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "abc"}}}, // too short to scrub
		{Sensitive: true, Row: bulk.Row{Cell: `pa"ss\word`, Value: bulk.Value{Form: bulk.ValueLiteral, Text: `pa"ss\word`}}},
		{Sensitive: true, Send: bulk.NewPayload(json.RawMessage(`"token-1234"`)), Current: bulk.NewPayload(json.RawMessage(`"token-12345678"`))},
		{Row: bulk.Row{Cell: "public-value", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "public-value"}}},
	}}}}
	x := newRedactor(p, nil)
	for in, want := range map[string]string{
		`refused pa"ss\word`:                 "refused (sensitive)",
		`refused "pa\"ss\\word"`:             `refused "(sensitive)"`,
		"old token-12345678, new token-1234": "old (sensitive), new (sensitive)",
		"abc public-value":                   "abc public-value",
	} {
		if got := x.text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (redactor{}).text("anything"); got != "anything" {
		t.Errorf("empty redactor changed text: %q", got)
	}
}

func TestWriteDirClearsTempFilesOfAKilledRun(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".results.json.tmp-123")
	if err := os.WriteFile(stale, []byte(`{"half":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, NewResults(fixtureRun()), false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file left behind: %v", err)
	}
}

// TestUnverifiableSecret: a new password the server does not show is "unknown (value
// unreadable)" in results.json, "not verified" in junit.xml, and summary.md says so; never
// verified.
func TestUnverifiableSecret(t *testing.T) {
	r := fixtureRun()
	var key *bulk.OptionResult
	for i := range r.Results {
		for j := range r.Results[i].Options {
			if o := &r.Results[i].Options[j]; o.Verified == bulk.VerifyOK && o.Sensitive && key == nil {
				key = o
			}
		}
	}
	if key == nil {
		t.Fatal("the fixture has no verified secret to turn unknown")
	}
	key.Verified = bulk.VerifyUnknown
	results := render(t, func(w io.Writer) error { return ResultsJSON(w, NewResults(r)) })
	if !strings.Contains(results, `"verified": "unknown (value unreadable)"`) {
		t.Errorf("results.json:\n%s", results)
	}
	junit := render(t, func(w io.Writer) error { return JUnit(w, NewResults(r)) })
	if !strings.Contains(junit, key.Key+" [line "+strconv.Itoa(key.Line)+"]: applied") || !strings.Contains(junit, "(not verified: the server does not show the value)") {
		t.Errorf("junit.xml:\n%s", junit)
	}
	summary := render(t, func(w io.Writer) error { return SummaryMarkdown(w, NewResults(r)) })
	if !strings.Contains(summary, "> 1 option could not be verified: the server does not show the value") {
		t.Errorf("summary.md:\n%s", summary)
	}
}
