package bulk

import (
	"slices"
	"testing"
)

// TestSuggest: typos of every kind a problem names, each with the suggestion expected, and
// words too far from every candidate to be a typo, with none.
func TestSuggest(t *testing.T) {
	commands := []string{"validate", "plan", "apply", "export", "describe", "probe", "show", "version"}
	flags := []string{"out", "markdown", "detailed-exitcode", "no-color", "url", "api-key-file", "timeout", "rate", "log-format", "v"}
	columns := []string{"integration_id", "integration_name", "option_key", "value", "permission", "admin_only", "user_can_edit", "option_kind", "comment"}
	perms := []string{"lock-hide", "lock-show", "user-provides"}
	kinds := []string{"text", "password", "boolean", "number", "select", "multiselect"}
	keys := []string{"apiKey", "showNoDetections", "blocklist", "maxAge", "minimumSeverity", "detectionStatuses"}
	names := []string{"VirusTotal", "CrowdStrike", "AbuseIPDB", "Slack", "Mandiant", "ServiceNow"}
	for _, tt := range []struct {
		word       string
		candidates []string
		want       []string
	}{
		{"versoin", commands, []string{"version"}},
		{"valdiate", commands, []string{"validate"}},
		{"aply", commands, []string{"apply"}},
		{"describ", commands, []string{"describe"}},
		{"detailed-exitcodes", flags, []string{"detailed-exitcode"}},
		{"log_format", flags, []string{"log-format"}},
		{"no-colour", flags, []string{"no-color"}},
		{"vv", flags, nil}, // one or two letters: too short to guess
		{"x", flags, nil},
		{"V", flags, []string{"v"}},
		{"optoin_key", columns, []string{"option_key"}},
		{"Integration-Name", columns, []string{"integration_name"}},
		{"permision", columns, []string{"permission"}},
		{"valeu", columns, []string{"value"}},
		{"user_can_edti", columns, []string{"user_can_edit"}},
		{"lock-hidden", perms, []string{"lock-hide"}},
		{"lockshow", perms, []string{"lock-show"}},
		{"user-provide", perms, []string{"user-provides"}},
		{"passwrod", kinds, []string{"password"}},
		{"multiselct", kinds, []string{"multiselect"}},
		{"bool", kinds, nil}, // a third of "bool" is one edit; "boolean" is three away
		{"apiKye", keys, []string{"apiKey"}},
		{"apikey", keys, []string{"apiKey"}},
		{"maxage", keys, []string{"maxAge"}},
		{"minimumSeverty", keys, []string{"minimumSeverity"}},
		{"Crowdstrke", names, []string{"CrowdStrike"}},
		{"Virus Total", names, []string{"VirusTotal"}},
		{"virustotal", names, []string{"VirusTotal"}},
		{"Abuse IPDB", names, []string{"AbuseIPDB"}},
		{"Service-Now", names, []string{"ServiceNow"}},
		{"Shodan", names, nil},
		{"nokey", keys, nil},
		{"", keys, nil},
	} {
		if got := Suggest(tt.word, tt.candidates); !slices.Equal(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// TestDidYouMean: one, two or three candidates at the same distance, as a phrase.
func TestDidYouMean(t *testing.T) {
	q := func(s string) string { return `"` + s + `"` }
	for _, tt := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"apiKye", []string{"apiKey", "url"}, `did you mean "apiKey"?`},
		{"key1", []string{"key2", "key3"}, `did you mean "key2" or "key3"?`},
		{"abcd", []string{"abce", "abcf", "abcg", "abch"}, `did you mean "abce", "abcf" or "abcg"?`},
		{"zzzz", []string{"apiKey"}, ""},
	} {
		if got := DidYouMean(tt.word, tt.candidates, q); got != tt.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
