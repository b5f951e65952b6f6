package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

var lockHide = bulk.PermissionEdit{AdminOnly: set(true), UserCanEdit: set(false)}

// planned is one change of a plan, as the selector tests look at it.
type planned struct {
	id, key   string
	line      int
	action    bulk.Action
	send      string
	merged    []int
	overrides []int
}

func flatten(p bulk.Plan) []planned {
	var out []planned
	for _, t := range p.Targets {
		for _, c := range t.Changes {
			out = append(out, planned{t.ID, c.Key, c.Line, c.Action, string(c.Send.Bytes()), c.Merged, c.Overrides})
		}
	}
	return out
}

func samePlanned(a, b []planned) bool {
	return slices.EqualFunc(a, b, func(x, y planned) bool {
		return x.id == y.id && x.key == y.key && x.line == y.line && x.action == y.action && x.send == y.send &&
			slices.Equal(x.merged, y.merged) && slices.Equal(x.overrides, y.overrides)
	})
}

// TestSelectors: selector rows expand against the state into one change per (integration,
// option) they match, in the server's order; precedence settles rows that reach the same
// option, and the plan says which line won (Line) over which (Overrides).
func TestSelectors(t *testing.T) {
	tests := []struct {
		name string
		rows []bulk.Row
		want []planned
		exps []bulk.Expansion
		warn []string // substrings of the warnings, in order
	}{
		{
			name: "every password option lock-hide",
			rows: []bulk.Row{{Line: 2, IntegrationID: "*", Key: "*", OptionKind: bulk.KindPassword, Permission: lockHide}},
			want: []planned{
				{"virustotal_1", "apiKey", 2, bulk.ActionUnchanged, `"old-secret-key"`, nil, nil},
				{"crowdstrike_1", "secret", 2, bulk.ActionUpdate, ``, nil, nil},
			},
			exps: []bulk.Expansion{{Line: 2, Selector: "integration_id *, option_key *, option_kind password", Integrations: []string{"crowdstrike_1", "virustotal_1"}}},
		},
		{
			name: "every integration of a name",
			rows: []bulk.Row{{Line: 2, IntegrationName: "glob:abuseipdb", Key: "maxAge", Value: lit("90")}},
			want: []planned{
				{"abuse_a", "maxAge", 2, bulk.ActionUpdate, `90`, nil, nil},
				{"abuse_b", "maxAge", 2, bulk.ActionUpdate, `90`, nil, nil},
			},
			exps: []bulk.Expansion{{Line: 2, Selector: "integration_name glob:abuseipdb, option_key maxAge", Integrations: []string{"abuse_a", "abuse_b"}}},
		},
		{
			name: "an exact row beats a selector on the same option",
			rows: []bulk.Row{
				{Line: 2, IntegrationID: "*", Key: "maxAge", Value: lit("60")},
				{Line: 3, IntegrationID: "abuse_b", Key: "maxAge", Value: lit("90")},
			},
			want: []planned{
				{"abuse_a", "maxAge", 2, bulk.ActionUpdate, `60`, nil, nil},
				{"abuse_b", "maxAge", 3, bulk.ActionUpdate, `90`, nil, []int{2}},
			},
			exps: []bulk.Expansion{{Line: 2, Selector: "integration_id *, option_key maxAge", Integrations: []string{"abuse_a", "abuse_b"}}},
		},
		{
			name: "an exact integration beats an exact key",
			rows: []bulk.Row{
				{Line: 2, IntegrationName: "glob:Abuse*", Key: "maxAge", Value: lit("60")},
				{Line: 3, IntegrationID: "abuse_a", Key: "glob:max*", Value: lit("70")},
			},
			want: []planned{
				{"abuse_a", "maxAge", 3, bulk.ActionUpdate, `70`, nil, []int{2}},
				{"abuse_b", "maxAge", 2, bulk.ActionUpdate, `60`, nil, nil},
			},
			exps: []bulk.Expansion{
				{Line: 2, Selector: "integration_name glob:Abuse*, option_key maxAge", Integrations: []string{"abuse_a", "abuse_b"}},
				{Line: 3, Selector: "integration_id abuse_a, option_key glob:max*", Integrations: []string{"abuse_a"}},
			},
		},
		{
			name: "an exact key beats a key pattern",
			rows: []bulk.Row{
				{Line: 2, IntegrationID: "glob:virustotal_*", Key: "glob:*", OptionKind: bulk.KindBoolean, Value: lit("true")},
				{Line: 3, IntegrationID: "*", Key: "showNoDetections", Value: lit("false")},
			},
			want: []planned{
				{"virustotal_1", "showNoDetections", 3, bulk.ActionUnchanged, `false`, nil, []int{2}},
			},
			exps: []bulk.Expansion{
				{Line: 2, Selector: "integration_id glob:virustotal_*, option_key glob:*, option_kind boolean", Integrations: []string{"virustotal_1"}},
				{Line: 3, Selector: "integration_id *, option_key showNoDetections", Integrations: []string{"virustotal_1"}},
			},
		},
		{
			name: "identical rows of one rank merge",
			rows: []bulk.Row{
				{Line: 2, IntegrationID: "*", Key: "maxAge", Value: lit("60")},
				{Line: 4, IntegrationID: "re:abuse_.", Key: "maxAge", Value: lit("60")},
			},
			want: []planned{
				{"abuse_a", "maxAge", 2, bulk.ActionUpdate, `60`, []int{4}, nil},
				{"abuse_b", "maxAge", 2, bulk.ActionUpdate, `60`, []int{4}, nil},
			},
			exps: []bulk.Expansion{
				{Line: 2, Selector: "integration_id *, option_key maxAge", Integrations: []string{"abuse_a", "abuse_b"}},
				{Line: 4, Selector: "integration_id re:abuse_., option_key maxAge", Integrations: []string{"abuse_a", "abuse_b"}},
			},
			warn: []string{"in.csv:4: warning: makes the same change as line 2 to 2 options it also reaches: merged"},
		},
		{
			name: "targets in the order of their first line",
			rows: []bulk.Row{
				{Line: 2, IntegrationName: "CrowdStrike", Key: "glob:max*", Value: lit("12")},
				{Line: 3, IntegrationID: "virustotal_1", Key: "blocklist", Value: lit("x")},
				{Line: 4, IntegrationID: "*", Key: "url", Value: lit("https://y")},
			},
			want: []planned{
				{"crowdstrike_1", "maxConcurrent", 2, bulk.ActionUpdate, `12`, nil, nil},
				{"virustotal_1", "blocklist", 3, bulk.ActionUpdate, `"x"`, nil, nil},
				{"shodan_1", "url", 4, bulk.ActionUpdate, `"https://y"`, nil, nil},
			},
			exps: []bulk.Expansion{
				{Line: 2, Selector: "integration_name CrowdStrike, option_key glob:max*", Integrations: []string{"crowdstrike_1"}},
				{Line: 4, Selector: "integration_id *, option_key url", Integrations: []string{"shodan_1"}},
			},
		},
		{
			name: "an exact id with a name pattern is an exact row",
			rows: []bulk.Row{{Line: 2, IntegrationID: "abuse_a", IntegrationName: "glob:Abuse*", Key: "maxAge", Value: lit("31")}},
			want: []planned{{"abuse_a", "maxAge", 2, bulk.ActionUpdate, `31`, nil, nil}},
		},
		{
			name: "an environment value into many text options warns a few times, then counts",
			rows: []bulk.Row{{Line: 2, IntegrationID: "*", Key: "glob:*", OptionKind: bulk.KindText, Value: bulk.Value{Form: bulk.ValueLiteral, Text: "v", Env: "X"}}},
			want: []planned{
				{"virustotal_1", "blocklist", 2, bulk.ActionUpdate, `"v"`, nil, nil},
				{"shodan_1", "url", 2, bulk.ActionUpdate, `"v"`, nil, nil},
			},
			exps: []bulk.Expansion{{Line: 2, Selector: "integration_id *, option_key glob:*, option_kind text", Integrations: []string{"shodan_1", "virustotal_1"}}},
			warn: []string{"text option blocklist", "text option url"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, probs := Build("in.csv", tt.rows, state())
			if len(probs.Fatal()) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			if got := flatten(p); !samePlanned(got, tt.want) {
				t.Errorf("changes:\n%+v\nwant:\n%+v", got, tt.want)
			}
			if !slices.EqualFunc(p.Selectors, tt.exps, func(a, b bulk.Expansion) bool {
				return a.Line == b.Line && a.Selector == b.Selector && slices.Equal(a.Integrations, b.Integrations)
			}) {
				t.Errorf("selectors:\n%+v\nwant:\n%+v", p.Selectors, tt.exps)
			}
			if len(p.Warnings) != len(tt.warn) {
				t.Fatalf("warnings %v, want %d", p.Warnings, len(tt.warn))
			}
			for i, w := range tt.warn {
				if !strings.Contains(p.Warnings[i].Error(), w) {
					t.Errorf("warning %q, want %q", p.Warnings[i].Error(), w)
				}
			}
			for _, c := range p.Targets {
				for _, ch := range c.Changes {
					if ch.Row.IntegrationID != c.ID || ch.Row.Key != ch.Key || bulk.IsPattern(ch.Row.IntegrationID) || bulk.IsPattern(ch.Row.Key) {
						t.Errorf("change %s/%s keeps the row %+v: reports would write the pattern", c.ID, ch.Key, ch.Row)
					}
				}
			}
		})
	}
}

// TestSelectorProblems: every way a selector row can go wrong is a problem on its line that
// names what to fix.
func TestSelectorProblems(t *testing.T) {
	tests := []struct {
		name string
		rows []bulk.Row
		want []string
	}{
		{"no integration matches", []bulk.Row{{Line: 2, IntegrationName: "glob:Nope*", Key: "apiKey", Value: lit("x")}},
			[]string{`in.csv:2: integration_name: no integration matches integration_name glob:Nope*, so the row matches no option on the server: check it against 'polarity-bulk export'`}},
		{"no option matches", []bulk.Row{{Line: 2, IntegrationName: "glob:AbuseIPDB", Key: "glob:api*", Value: lit("x")}},
			[]string{`in.csv:2: option_key: no option of the 2 integrations it selects matches option_key glob:api*, so the row matches no option on the server; their options include maxAge (number)`}},
		{"an exact key that is a typo", []bulk.Row{{Line: 2, IntegrationName: "glob:AbuseIPDB", Key: "maxage", Value: lit("30")}},
			[]string{`in.csv:2: option_key: no option of the 2 integrations it selects matches option_key maxage (did you mean "maxAge"?), so the row matches no option on the server; their options include maxAge (number)`}},
		{"no option of the kind", []bulk.Row{{Line: 2, IntegrationID: "virustotal_1", Key: "*", OptionKind: bulk.KindNumber, Value: lit("1")}},
			[]string{`in.csv:2: option_key: no option of kind number of integration virustotal_1 matches option_key *, so the row matches no option on the server; their options include apiKey (password), showNoDetections (boolean), blocklist (text)`}},
		{"a tie names both lines", []bulk.Row{
			{Line: 2, IntegrationID: "*", Key: "maxAge", Value: lit("60")},
			{Line: 5, IntegrationID: "glob:abuse_*", Key: "maxAge", Value: lit("70")},
		}, []string{`in.csv:5: lines 2 and 5 both reach option maxAge of abuse_a (and 1 more) with different values or permissions, and neither takes precedence (both match the integration by pattern and name the key exactly): name the integration or the key exactly in the one that should win, narrow one of them, or make them agree`}},
		{"a value that does not fit some options", []bulk.Row{{Line: 3, IntegrationID: "*", Key: "glob:*", Value: lit("abc")}},
			[]string{`in.csv:3: value: the value does not fit 6 of the 10 options the row reaches (showNoDetections of virustotal_1 (boolean), maxConcurrent of crowdstrike_1 (number), minimumSeverity of crowdstrike_1 (select) and 3 more): "abc" is not a boolean: option showNoDetections takes true/false, yes/no, 1/0 or on/off; narrow the row with option_kind (or an exact option_key) to the options it is meant for`}},
		{"a sensitive value is never quoted", []bulk.Row{{Line: 3, IntegrationID: "*", Key: "glob:*", Value: bulk.Value{Form: bulk.ValueLiteral, Text: "hunter2-secret", Env: "K"}, OptionKind: bulk.KindNumber}},
			[]string{`in.csv:3: value: the value does not fit 3 of the 3 options the row reaches (maxConcurrent of crowdstrike_1 (number), maxAge of abuse_a (number), maxAge of abuse_b (number)): the sensitive value is not a number: option maxConcurrent takes a number such as 30 or 0.5; narrow`}},
		{"an exact row asserts the kind", []bulk.Row{{Line: 2, IntegrationID: "virustotal_1", Key: "apiKey", OptionKind: bulk.KindText, Value: lit("x")}},
			[]string{`in.csv:2: option_kind: option apiKey of virustotal_1 is of kind password, not text: fix option_kind or option_key`}},
		{"multiselect is not select", []bulk.Row{{Line: 2, IntegrationID: "crowdstrike_1", Key: "statuses", OptionKind: bulk.KindSelect, Value: lit("new")}},
			[]string{`in.csv:2: option_kind: option statuses of crowdstrike_1 is of kind multiselect, not select: fix option_kind or option_key`}},
		{"an ambiguous exact name shows the glob form", []bulk.Row{{Line: 2, IntegrationName: "AbuseIPDB", Key: "maxAge", Value: lit("1")}},
			[]string{`in.csv:2: integration_name: 2 integrations are named "AbuseIPDB": abuse_a, abuse_b; use integration_id to pick one, or integration_name glob:AbuseIPDB to change all of them`}},
		{"an id with a name pattern that does not match it", []bulk.Row{{Line: 2, IntegrationID: "abuse_a", IntegrationName: "glob:Virus*", Key: "maxAge", Value: lit("1")}},
			[]string{`in.csv:2: integration_name: "glob:Virus*" does not match integration abuse_a, which is named "AbuseIPDB" on this server`}},
		{"the result flags of a selector", []bulk.Row{{Line: 2, IntegrationID: "*", Key: "blocklist", Permission: bulk.PermissionEdit{AdminOnly: set(true)}}},
			[]string{`in.csv:2: admin_only: the row cannot set 1 of the 1 options the row reaches (blocklist of virustotal_1 (text)): the result would be admin-only and user-can-edit both true`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Build("in.csv", tt.rows, state())
			fatal := probs.Fatal()
			if len(fatal) != len(tt.want) {
				t.Fatalf("problems:\n%v\nwant %d", probs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(fatal[i].Error(), w) {
					t.Errorf("problem:\n%s\nwant it to start:\n%s", fatal[i].Error(), w)
				}
			}
			if strings.Contains(probs.Error(), "hunter2") {
				t.Errorf("a sensitive value in a problem: %v", probs)
			}
		})
	}
}

// TestGlobQuote: the hint's glob matches the name it was made from, and only it.
func TestGlobQuote(t *testing.T) {
	for _, name := range []string{"VirusTotal", "urlscan.io", "a*b", "x?[y]", `back\slash`} {
		g := bulk.GlobPrefix + globQuote(name)
		p, err := bulk.ParsePattern(g, true)
		if err != nil {
			t.Fatalf("%q: %v", g, err)
		}
		if !p.Match(strings.ToUpper(name)) || p.Match(name+"x") || p.Match("x"+name) {
			t.Errorf("%q does not stand for %q alone", g, name)
		}
	}
}
