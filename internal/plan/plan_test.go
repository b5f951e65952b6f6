package plan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

func choices(vals ...string) []bulk.Choice {
	var out []bulk.Choice
	for _, v := range vals {
		b, _ := json.Marshal(v)
		out = append(out, bulk.Choice{Value: b, Display: strings.ToUpper(v[:1]) + v[1:]})
	}
	return out
}

// state is a small server: a VirusTotal-like integration, a CrowdStrike-like one, two copies of
// one name and a stopped integration.
func state() []bulk.Integration {
	vt := bulk.Integration{ID: "virustotal_1", Name: "VirusTotal", Status: "running", Options: []bulk.Option{
		{Key: "apiKey", Kind: bulk.KindPassword, Value: json.RawMessage(`"old-secret-key"`), Readable: true, Permission: bulk.Permission{AdminOnly: true}},
		{Key: "showNoDetections", Kind: bulk.KindBoolean, Value: json.RawMessage(`false`), Readable: true},
		{Key: "blocklist", Kind: bulk.KindText, Value: json.RawMessage(`"a,b"`), Readable: true, Permission: bulk.Permission{UserCanEdit: true}},
	}}
	cs := bulk.Integration{ID: "crowdstrike_1", Name: "CrowdStrike", Status: "running", Options: []bulk.Option{
		{Key: "secret", Kind: bulk.KindPassword, Readable: false},
		{Key: "maxConcurrent", Kind: bulk.KindNumber, Value: json.RawMessage(`10`), Readable: true},
		{Key: "minimumSeverity", Kind: bulk.KindSelect, Choices: choices("low", "medium", "high"), Value: json.RawMessage(`{"value":"low","display":"Low"}`), Readable: true},
		{Key: "statuses", Kind: bulk.KindSelect, Multiple: true, Choices: choices("new", "in_progress", "score,desc"), Value: json.RawMessage(`[{"value":"new","display":"New"}]`), Readable: true},
	}}
	dupA := bulk.Integration{ID: "abuse_a", Name: "AbuseIPDB", Status: "running", Options: []bulk.Option{{Key: "maxAge", Kind: bulk.KindNumber, Value: json.RawMessage(`30`), Readable: true}}}
	dupB := dupA
	dupB.ID = "abuse_b"
	stopped := bulk.Integration{ID: "shodan_1", Name: "Shodan", Status: "stopped", Options: []bulk.Option{{Key: "url", Kind: bulk.KindText, Value: json.RawMessage(`"https://x"`), Readable: true}}}
	return []bulk.Integration{vt, cs, dupA, dupB, stopped}
}

func lit(s string) bulk.Value { return bulk.Value{Form: bulk.ValueLiteral, Text: s} }
func js(s string) bulk.Value  { return bulk.Value{Form: bulk.ValueJSON, Text: s} }

func set(b bool) bulk.Bool { return bulk.Bool{Set: true, Value: b} }

func TestBuildChanges(t *testing.T) {
	tests := []struct {
		name       string
		row        bulk.Row
		action     bulk.Action
		send       string // JSON sent, "" for none
		before     string
		after      string
		flags      bulk.Permission
		unreadable bool
	}{
		{"boolean word", bulk.Row{IntegrationID: "virustotal_1", Key: "showNoDetections", Value: lit("Yes")}, bulk.ActionUpdate, `true`, `false`, `true`, bulk.Permission{}, false},
		{"boolean same", bulk.Row{IntegrationID: "virustotal_1", Key: "showNoDetections", Value: lit("off")}, bulk.ActionUnchanged, `false`, `false`, `false`, bulk.Permission{}, false},
		{"text verbatim", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Value: lit(" a,b\nc ")}, bulk.ActionUpdate, `" a,b\nc "`, `"a,b"`, `" a,b\nc "`, bulk.Permission{UserCanEdit: true}, false},
		{"text same", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Value: lit("a,b")}, bulk.ActionUnchanged, `"a,b"`, `"a,b"`, `"a,b"`, bulk.Permission{UserCanEdit: true}, false},
		{"json empty string", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Value: js(`""`)}, bulk.ActionUpdate, `""`, `"a,b"`, `""`, bulk.Permission{UserCanEdit: true}, false},
		{"json null clears", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Value: js(`null`)}, bulk.ActionUpdate, `null`, `"a,b"`, `null`, bulk.Permission{UserCanEdit: true}, false},
		{"permission only sends current value", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Permission: bulk.PermissionEdit{AdminOnly: set(true), UserCanEdit: set(false)}}, bulk.ActionUpdate, `"a,b"`, `"a,b"`, `"a,b"`, bulk.Permission{AdminOnly: true}, false},
		{"permission already so", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Permission: bulk.PermissionEdit{AdminOnly: set(false), UserCanEdit: set(true)}}, bulk.ActionUnchanged, `"a,b"`, `"a,b"`, `"a,b"`, bulk.Permission{UserCanEdit: true}, false},
		{"password readable differs", bulk.Row{IntegrationID: "virustotal_1", Key: "apiKey", Value: lit("new-secret")}, bulk.ActionUpdate, `"new-secret"`, bulk.SensitiveText, bulk.SensitiveText, bulk.Permission{AdminOnly: true}, false},
		{"password readable same", bulk.Row{IntegrationID: "virustotal_1", Key: "apiKey", Value: lit("old-secret-key")}, bulk.ActionUnchanged, `"old-secret-key"`, bulk.SensitiveText, bulk.SensitiveText, bulk.Permission{AdminOnly: true}, false},
		{"password unreadable", bulk.Row{IntegrationID: "crowdstrike_1", Key: "secret", Value: lit("s3")}, bulk.ActionUpdate, `"s3"`, bulk.UnreadableText, bulk.SensitiveText, bulk.Permission{}, true},
		{"password unreadable permission only leaves value out", bulk.Row{IntegrationID: "crowdstrike_1", Key: "secret", Permission: bulk.PermissionEdit{AdminOnly: set(true)}}, bulk.ActionUpdate, ``, bulk.UnreadableText, bulk.UnreadableText, bulk.Permission{AdminOnly: true}, false},
		{"number", bulk.Row{IntegrationID: "crowdstrike_1", Key: "maxConcurrent", Value: lit("12")}, bulk.ActionUpdate, `12`, `10`, `12`, bulk.Permission{}, false},
		{"number same spelled differently", bulk.Row{IntegrationID: "crowdstrike_1", Key: "maxConcurrent", Value: lit("10.0")}, bulk.ActionUnchanged, `10.0`, `10`, `10.0`, bulk.Permission{}, false},
		{"select by display", bulk.Row{IntegrationID: "crowdstrike_1", Key: "minimumSeverity", Value: lit("HIGH")}, bulk.ActionUpdate, `{"value":"high","display":"High"}`, `"low"`, `"high"`, bulk.Permission{}, false},
		{"select same", bulk.Row{IntegrationID: "crowdstrike_1", Key: "minimumSeverity", Value: lit("low")}, bulk.ActionUnchanged, `{"value":"low","display":"Low"}`, `"low"`, `"low"`, bulk.Permission{}, false},
		{"multi with comma value", bulk.Row{IntegrationID: "crowdstrike_1", Key: "statuses", Value: lit("new; score,desc ;")}, bulk.ActionUpdate, `[{"value":"new","display":"New"},{"value":"score,desc","display":"Score,desc"}]`, `["new"]`, `["new","score,desc"]`, bulk.Permission{}, false},
		{"multi json strings", bulk.Row{IntegrationID: "crowdstrike_1", Key: "statuses", Value: js(`["new"]`)}, bulk.ActionUnchanged, `[{"value":"new","display":"New"}]`, `["new"]`, `["new"]`, bulk.Permission{}, false},
		{"multi json empty", bulk.Row{IntegrationID: "crowdstrike_1", Key: "statuses", Value: js(`[]`)}, bulk.ActionUpdate, `[]`, `["new"]`, `[]`, bulk.Permission{}, false},
		{"name resolves", bulk.Row{IntegrationName: "virustotal", Key: "showNoDetections", Value: lit("true")}, bulk.ActionUpdate, `true`, `false`, `true`, bulk.Permission{}, false},
		{"id and matching name", bulk.Row{IntegrationID: "abuse_b", IntegrationName: "abuseipdb", Key: "maxAge", Value: lit("90")}, bulk.ActionUpdate, `90`, `30`, `90`, bulk.Permission{}, false},
		{"env value is sensitive", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "x", Env: "BL"}}, bulk.ActionUpdate, `"x"`, bulk.SensitiveText, bulk.SensitiveText, bulk.Permission{UserCanEdit: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.row.Line = 2
			p, probs := Build("in.csv", []bulk.Row{tt.row}, state())
			if len(probs.Fatal()) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			if len(p.Targets) != 1 || len(p.Targets[0].Changes) != 1 {
				t.Fatalf("plan: %+v", p)
			}
			c := p.Targets[0].Changes[0]
			if c.Action != tt.action {
				t.Errorf("action %s, want %s", c.Action, tt.action)
			}
			if got := string(c.Send.Bytes()); got != tt.send {
				t.Errorf("send %s, want %s", got, tt.send)
			}
			if c.Before != tt.before || c.After != tt.after {
				t.Errorf("display %s → %s, want %s → %s", c.Before, c.After, tt.before, tt.after)
			}
			if c.AfterPermission != tt.flags {
				t.Errorf("flags %+v, want %+v", c.AfterPermission, tt.flags)
			}
			if c.Unreadable != tt.unreadable {
				t.Errorf("unreadable %t, want %t", c.Unreadable, tt.unreadable)
			}
			if (tt.before == bulk.SensitiveText || tt.after == bulk.SensitiveText) && !c.Sensitive {
				t.Errorf("sensitive %t", c.Sensitive)
			}
		})
	}
}

func TestBuildProblems(t *testing.T) {
	tests := []struct {
		name string
		row  bulk.Row
		want string // substring of the problem
	}{
		{"unknown id", bulk.Row{IntegrationID: "nope_1", Key: "x", Value: lit("1")}, "in.csv:2: integration_id: no integration nope_1 on the server"},
		{"unknown name", bulk.Row{IntegrationName: "Nope", Key: "x", Value: lit("1")}, `integration_name: no integration is named "Nope"`},
		{"ambiguous name lists ids", bulk.Row{IntegrationName: "abuseipdb", Key: "maxAge", Value: lit("1")}, "2 integrations are named \"abuseipdb\": abuse_a, abuse_b; use integration_id"},
		{"name mismatch", bulk.Row{IntegrationID: "virustotal_1", IntegrationName: "Shodan", Key: "blocklist", Value: lit("1")}, "is the file meant for another server?"},
		{"unknown key", bulk.Row{IntegrationID: "virustotal_1", Key: "nokey", Value: lit("1")}, `has no option "nokey": its options are apiKey, showNoDetections, blocklist`},
		{"key case", bulk.Row{IntegrationID: "virustotal_1", Key: "apikey", Value: lit("1")}, `did you mean "apiKey"?`},
		{"bad boolean", bulk.Row{IntegrationID: "virustotal_1", Key: "showNoDetections", Value: lit("maybe")}, `value: "maybe" is not a boolean`},
		{"bad number", bulk.Row{IntegrationID: "crowdstrike_1", Key: "maxConcurrent", Value: lit("0x10")}, `is not a number`},
		{"bad select lists choices", bulk.Row{IntegrationID: "crowdstrike_1", Key: "minimumSeverity", Value: lit("urgent")}, `use one of "low", "medium", "high"`},
		{"bad multi item", bulk.Row{IntegrationID: "crowdstrike_1", Key: "statuses", Value: lit("new;gone")}, `"gone" is not a choice`},
		{"json wrong type", bulk.Row{IntegrationID: "crowdstrike_1", Key: "maxConcurrent", Value: js(`"10"`)}, "expected a JSON number"},
		{"json select needs object", bulk.Row{IntegrationID: "crowdstrike_1", Key: "minimumSeverity", Value: js(`"low"`)}, "is a select"},
		{"invalid pair with server flag", bulk.Row{IntegrationID: "virustotal_1", Key: "blocklist", Permission: bulk.PermissionEdit{AdminOnly: set(true)}}, "admin_only: the result would be admin-only and user-can-edit both true"},
		{"sensitive value not quoted", bulk.Row{IntegrationID: "crowdstrike_1", Key: "maxConcurrent", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "topsecret", Env: "N"}}, "the sensitive value is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.row.Line = 2
			_, probs := Build("in.csv", []bulk.Row{tt.row}, state())
			if len(probs.Fatal()) != 1 {
				t.Fatalf("want one problem, got %v", probs)
			}
			if got := probs[0].Error(); !strings.Contains(got, tt.want) {
				t.Errorf("problem %q\nwant it to contain %q", got, tt.want)
			}
			if strings.Contains(probs.Error(), "topsecret") {
				t.Errorf("problem leaks the value: %s", probs)
			}
		})
	}
}

func TestBuildDuplicatesAcrossIDAndName(t *testing.T) {
	rows := []bulk.Row{
		{Line: 2, IntegrationID: "virustotal_1", Key: "blocklist", Value: lit("x")},
		{Line: 3, IntegrationName: "VirusTotal", Key: "blocklist", Value: lit("x")},
		{Line: 4, IntegrationID: "virustotal_1", Key: "showNoDetections", Value: lit("true")},
		{Line: 5, IntegrationName: "virustotal", Key: "showNoDetections", Value: lit("false")},
	}
	p, probs := Build("f.csv", rows, state())
	fatal := probs.Fatal()
	if len(fatal) != 1 || !strings.Contains(fatal[0].Error(), "f.csv:5: option_key: option showNoDetections of virustotal_1 is also set differently on line 4") {
		t.Fatalf("problems: %v", probs)
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Line != 3 {
		t.Fatalf("warnings: %v", p.Warnings)
	}
	if got := p.Targets[0].Changes[0].Merged; len(got) != 1 || got[0] != 3 {
		t.Fatalf("merged lines %v", got)
	}
}

func TestBuildOrderAndRunning(t *testing.T) {
	rows := []bulk.Row{
		{Line: 2, IntegrationID: "shodan_1", Key: "url", Value: lit("https://y")},
		{Line: 4, IntegrationID: "virustotal_1", Key: "blocklist", Value: lit("a,b")},
		{Line: 3, IntegrationID: "virustotal_1", Key: "showNoDetections", Value: lit("true")},
	}
	p, probs := Build("f.csv", rows, state())
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	if p.Targets[0].ID != "shodan_1" || p.Targets[0].Running || !p.Targets[1].Running {
		t.Fatalf("targets %+v", p.Targets)
	}
	if p.Targets[1].Changes[0].Line != 3 {
		t.Fatalf("changes not in line order: %+v", p.Targets[1].Changes)
	}
	got := p.Count()
	want := bulk.Counts{Integrations: 2, Changed: 2, NotRunning: 1, Options: 3, Updates: 2, Unchanged: 1}
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}

func TestFingerprint(t *testing.T) {
	s := state()
	vt := s[0]
	base := Fingerprint(vt, []string{"blocklist", "apiKey"})
	if base != Fingerprint(vt, []string{"apiKey", "blocklist", "apiKey"}) {
		t.Fatal("fingerprint depends on key order")
	}
	changed := func(f func(*bulk.Integration)) string {
		c := vt
		c.Options = append([]bulk.Option(nil), vt.Options...)
		f(&c)
		return Fingerprint(c, []string{"blocklist", "apiKey"})
	}
	for name, f := range map[string]func(*bulk.Integration){
		"value":  func(in *bulk.Integration) { in.Options[2].Value = json.RawMessage(`"z"`) },
		"flags":  func(in *bulk.Integration) { in.Options[2].Permission = bulk.Permission{} },
		"status": func(in *bulk.Integration) { in.Status = "stopped" },
		"masked": func(in *bulk.Integration) { in.Options[0].Readable = false },
	} {
		if changed(f) == base {
			t.Errorf("fingerprint ignores a change of %s", name)
		}
	}
	if changed(func(in *bulk.Integration) { in.Options[1].Value = json.RawMessage(`true`) }) != base {
		t.Error("fingerprint covers an option the plan does not touch")
	}
	if changed(func(in *bulk.Integration) { in.Options[0].Value = json.RawMessage(`"other"`) }) != base {
		t.Error("fingerprint digests a password value")
	}
}

func TestProblemsNeverQuotePasswords(t *testing.T) {
	// Every kind of conversion error for a password-kind value: none may quote the value.
	opt := bulk.Option{Key: "k", Kind: bulk.KindPassword}
	for _, v := range []bulk.Value{js(`123`), js(`{"a":"hunter2"}`), js(`hunter2`)} {
		_, err := Convert(opt, v, true)
		if err == nil {
			t.Fatalf("%s: no error", v.Text)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "123") {
			t.Errorf("error leaks: %v", err)
		}
	}
}

func FuzzConvert(f *testing.F) {
	for _, s := range []string{"true", "12", "1e3", "json:null", "low;high", `json:[{"value":"low"}]`, "json:{", "-0", "score,desc"} {
		f.Add(s, uint8(0))
	}
	kinds := []bulk.Option{
		{Key: "t", Kind: bulk.KindText},
		{Key: "b", Kind: bulk.KindBoolean},
		{Key: "n", Kind: bulk.KindNumber},
		{Key: "s", Kind: bulk.KindSelect, Choices: choices("low", "high", "score,desc")},
		{Key: "m", Kind: bulk.KindSelect, Multiple: true, Choices: choices("low", "high", "score,desc")},
	}
	f.Fuzz(func(t *testing.T, cell string, k uint8) {
		opt := kinds[int(k)%len(kinds)]
		v := lit(cell)
		if rest, ok := strings.CutPrefix(cell, "json:"); ok {
			v = js(rest)
		}
		raw, err := Convert(opt, v, false)
		if err != nil {
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("%s %q: invalid JSON %s", opt.Kind, cell, raw)
		}
		if !Equal(opt, raw, raw) {
			t.Fatalf("%s %q: value not equal to itself: %s", opt.Kind, cell, raw)
		}
		_ = fmt.Sprint(Display(opt, raw))
	})
}

// TestBuildFailsClosed: an option whose kind is missing or unknown is sensitive (its literal
// never shows), and so is one whose current value holds the tool's credential; the plan says
// why in a warning on the row's line. A ${NAME} value going into an option that is not a
// password gets a warning that users can see it.
func TestBuildFailsClosed(t *testing.T) {
	in := bulk.Integration{ID: "odd_1", Name: "Odd", Status: "running", Options: []bulk.Option{
		{Key: "noKind", Kind: "", Value: json.RawMessage(`"old-literal-1"`), Readable: true},
		{Key: "secretKind", Kind: "secret", Value: json.RawMessage(`"old-literal-2"`), Readable: true},
		{Key: "leaked", Kind: bulk.KindText, Value: json.RawMessage(`"the-tool-key"`), Readable: true, HoldsCredential: true},
		{Key: "note", Kind: bulk.KindText, Value: json.RawMessage(`"n"`), Readable: true},
		{Key: "pw", Kind: bulk.KindPassword, Readable: false},
	}}
	rows := []bulk.Row{
		{Line: 2, IntegrationID: "odd_1", Key: "noKind", Value: lit("new-literal-1")},
		{Line: 3, IntegrationID: "odd_1", Key: "secretKind", Value: lit("new-literal-2")},
		{Line: 4, IntegrationID: "odd_1", Key: "leaked", Value: lit("fresh")},
		{Line: 5, IntegrationID: "odd_1", Key: "note", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "from-env", Env: "NOTE"}},
		{Line: 6, IntegrationID: "odd_1", Key: "pw", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "from-env-pw", Env: "PW"}},
	}
	p, probs := Build("in.csv", rows, []bulk.Integration{in})
	if len(probs.Fatal()) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	for _, c := range p.Targets[0].Changes {
		if !c.Sensitive || c.Before != bulk.SensitiveText && c.Before != bulk.UnreadableText || c.After != bulk.SensitiveText {
			t.Errorf("line %d (%s): sensitive %v, shown %s → %s", c.Line, c.Key, c.Sensitive, c.Before, c.After)
		}
	}
	want := []string{
		"in.csv:2: warning: option_key: the server gives option noKind of odd_1 no kind: polarity-bulk treats its values as sensitive",
		`in.csv:3: warning: option_key: option secretKind of odd_1 has kind "secret", which polarity-bulk does not know: it treats its values as sensitive`,
		"in.csv:4: warning: option_key: the current value of option leaked of odd_1 holds a credential polarity-bulk authenticates with: it is shown as (sensitive); give the option a value of its own",
		"in.csv:5: warning: value: an environment value goes into text option note, visible to users: polarity-bulk masks ${NOTE}, Polarity shows it",
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBuildProblemCap: problems only the server can show are capped like offline ones: a file
// of 100,000 unknown ids gives the first 1,000 in line order and one that counts the rest,
// and the count of problems stays true.
func TestBuildProblemCap(t *testing.T) {
	const n = 100_000
	rows := make([]bulk.Row, n)
	for i := range rows {
		rows[i] = bulk.Row{Line: i + 2, IntegrationID: fmt.Sprintf("nope_%d", i), Key: "apiKey", Value: lit("x")}
	}
	_, probs := Build("in.csv", rows, state())
	if len(probs) != MaxProblems+1 {
		t.Fatalf("%d problems, want %d", len(probs), MaxProblems+1)
	}
	if p := probs[MaxProblems-1]; p.Line != MaxProblems+1 {
		t.Errorf("problem %d is on line %d: not the first ones in line order", MaxProblems, p.Line)
	}
	last := probs[MaxProblems]
	want := bulk.Problem{File: "in.csv", Msg: "... and 99000 more problems not shown", Omitted: n - MaxProblems}
	if last != want {
		t.Errorf("last problem %+v, want %+v", last, want)
	}
	if probs.Count() != n || len(probs.Fatal()) != MaxProblems+1 {
		t.Errorf("Count %d, want %d", probs.Count(), n)
	}
}
