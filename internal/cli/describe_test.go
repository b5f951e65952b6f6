package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// TestDescribeGolden: describe of the fixture's Slack (a select whose values hold commas),
// CrowdStrike (a multiple select) and VirusTotal (a password, two integrations of that name),
// as text and JSON, against a server that masks passwords and one that serves them in clear.
// The outputs match the golden files and hold no value of any option, secret or not.
func TestDescribeGolden(t *testing.T) {
	t.Parallel()
	for _, passwords := range []fake.PasswordMode{fake.PasswordsMasked, fake.PasswordsClear} {
		t.Run(string(passwords), func(t *testing.T) {
			t.Parallel()
			fix := loadFixture(t)
			srv, env := startFake(t, fix, fake.Config{Passwords: passwords})
			args := []string{"describe", "--integration-name", "Slack", "--integration-name", "CrowdStrike", "--integration-name", "virustotal"}
			text := run(t, env, nil, args...)
			wantCode(t, text, 0)
			asJSON := run(t, env, nil, append(args, "--json")...)
			wantCode(t, asJSON, 0)
			testkit.Golden(t, filepath.Join("testdata", "describe-"+string(passwords)+".txt.golden"), []byte(text.stdout))
			testkit.Golden(t, filepath.Join("testdata", "describe-"+string(passwords)+".json.golden"), []byte(asJSON.stdout))
			var doc struct {
				Integrations []struct {
					Name string `json:"name"`
				} `json:"integrations"`
			}
			if err := json.Unmarshal([]byte(asJSON.stdout), &doc); err != nil || len(doc.Integrations) != 4 {
				t.Fatalf("JSON of %d integrations (want 4): %v", len(doc.Integrations), err)
			}
			// No value of these integrations' options, secret or not, is in either output.
			var values []testkit.Secret
			for _, in := range fix.Integrations {
				if in.Name != "Slack" && in.Name != "CrowdStrike" && in.Name != "VirusTotal" {
					continue
				}
				for _, o := range in.Options {
					var s string
					if json.Unmarshal(o.Value, &s) == nil && len(s) >= 8 {
						values = append(values, testkit.Secret{Name: in.ID + " " + o.Key, Marker: s})
					}
				}
			}
			if len(values) < 10 {
				t.Fatalf("only %d values to look for", len(values))
			}
			for _, l := range testkit.Search([]testkit.Place{{Name: "text", Text: text.stdout}, {Name: "json", Text: asJSON.stdout}}, values) {
				t.Error(l)
			}
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("%d requests for two runs, want one list read each", n)
			}
		})
	}
}

// TestDescribeSelects: patterns and kinds narrow what describe shows; a misspelled name, kind
// or pattern is refused with the fix.
func TestDescribeSelects(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{})
	for _, tt := range []struct {
		args []string
		code int
		want []string
		not  []string
	}{
		{[]string{"--integration-name", "glob:Crowd*", "--option-kind", "multiselect"}, 0,
			[]string{"detectionStatuses  multiselect", "1 integration, 1 option"}, []string{"minimumSeverity"}},
		{[]string{"--integration-id", "re:virustotal_.*", "--option-kind", "PASSWORD"}, 0,
			[]string{"virustotal_node_18_1725278818 (VirusTotal)", "virustotal_node_18_1731000000 (VirusTotal)", "2 integrations, 2 options"}, []string{"blocklist"}},
		{[]string{"--integration-name", "Crowdstrke"}, 1, []string{`no integration with name "Crowdstrke" (did you mean "CrowdStrike"?)`}, nil},
		{[]string{"--integration-name", "Virus Total"}, 1, []string{`did you mean "VirusTotal"?`}, nil},
		{[]string{"--integration-name", "glob:Nothing*"}, 1, []string{`no integration with name matching "glob:Nothing*"`}, nil},
		{[]string{"--option-kind", "multiselct"}, 2, []string{`--option-kind "multiselct": unknown option kind: did you mean multiselect?`}, nil},
		{[]string{"--integration-name", "Wikipedia", "--option-kind", "password"}, 1, []string{"no option of kind password in the integrations selected"}, nil},
		{[]string{"--integration-id", "slack_3_2_5_node_18_0b6f4e2a91_172537000"}, 1, []string{`(did you mean "slack_3_2_5_node_18_0b6f4e2a91_1725370000"?)`}, nil},
		{[]string{"--integration-id", "glob:[a"}, 2, []string{`--integration-id "glob:[a"`, "(at character"}, nil},
		{[]string{"stray"}, 2, []string{"describe takes no FILE"}, nil},
	} {
		r := run(t, env, nil, append([]string{"describe"}, tt.args...)...)
		if r.code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, r.code, tt.code, r.stdout, r.stderr)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout+r.stderr, w) {
				t.Errorf("%v: no %q in\n%s%s", tt.args, w, r.stdout, r.stderr)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(r.stdout, w) {
				t.Errorf("%v: %q shown:\n%s", tt.args, w, r.stdout)
			}
		}
	}
}
