package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// TestTyposTeach: typos of every kind a user writes, each through the command that meets it
// (commands and flags on the command line; columns, permission words and option kinds in
// validate; option keys, integration names and ids in plan, against the fixture), each with
// the suggestion expected in its problem. The issue's own examples are among them.
func TestTyposTeach(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{})
	dir := t.TempDir()
	const vt = "virustotal_node_18_1725278818"
	for i, tt := range []struct {
		what string
		args []string // FILE is the CSV below
		csv  string
		want string
	}{
		{"command", []string{"versoin"}, "", `unknown command "versoin": did you mean version?`},
		{"command", []string{"valdiate"}, "", `did you mean validate?`},
		{"command", []string{"descibe"}, "", `did you mean describe?`},
		{"flag", []string{"plan", "--detailed-exitcodes", "FILE"}, "", `did you mean --detailed-exitcode?`},
		{"flag", []string{"validate", "--delimeter", ";", "FILE"}, "", `did you mean --delimiter?`},
		{"flag", []string{"export", "--with-kind"}, "", `did you mean --with-kinds?`},
		{"column", []string{"validate", "FILE"}, "integration_id,optoin_key,value\na,k,v\n",
			`unknown column "optoin_key": did you mean "option_key"?`},
		{"column", []string{"validate", "FILE"}, "integration_id,option_key,value,permision\na,k,v,lock-hide\n",
			`unknown column "permision": did you mean "permission"?`},
		{"column", []string{"validate", "FILE"}, "integration_nmae,option_key,value\nVirusTotal,k,v\n",
			`unknown column "integration_nmae": did you mean "integration_name"?`},
		{"column", []string{"validate", "FILE"}, "integration_id,option_key,vlaue\na,k,v\n",
			`unknown column "vlaue": did you mean "value"?`},
		{"permission", []string{"validate", "FILE"}, "integration_id,option_key,permission\na,k,lock-hidden\n",
			`unknown permission "lock-hidden": did you mean lock-hide?`},
		{"permission", []string{"validate", "FILE"}, "integration_id,option_key,permission\na,k,lockshow\n",
			`did you mean lock-show?`},
		{"permission", []string{"validate", "FILE"}, "integration_id,option_key,permission\na,k,user-provide\n",
			`did you mean user-provides?`},
		{"option kind", []string{"validate", "FILE"}, "integration_id,option_key,value,option_kind\na,k,v,passwrod\n",
			`unknown option kind "passwrod": did you mean password?`},
		{"option kind", []string{"validate", "FILE"}, "integration_id,option_key,value,option_kind\na,k,v,multi-select\n",
			`did you mean multiselect?`},
		{"option kind", []string{"validate", "FILE"}, "integration_id,option_key,value,option_kind\na,k,v,bolean\n",
			`did you mean boolean?`},
		{"option key", []string{"plan", "FILE"}, "integration_id,option_key,value\n" + vt + ",apiKye,x\n",
			`has no option "apiKye": did you mean "apiKey"?`},
		{"option key", []string{"plan", "FILE"}, "integration_id,option_key,value\n" + vt + ",showNoDetection,true\n",
			`did you mean "showNoDetections"?`},
		{"option key", []string{"plan", "FILE"}, "integration_id,option_key,value\n" + vt + ",apikey,x\n",
			`did you mean "apiKey"? (keys are case-sensitive)`},
		{"integration name", []string{"plan", "FILE"}, "integration_name,option_key,value\nCrowdstrke,url,https://x\n",
			`no integration is named "Crowdstrke" on the server: did you mean "CrowdStrike"?`},
		{"integration name", []string{"plan", "FILE"}, "integration_name,option_key,value\nVirus Total,blocklist,x\n",
			`did you mean "VirusTotal"?`},
		{"integration name", []string{"plan", "FILE"}, "integration_name,option_key,value\nService Now,url,https://x\n",
			`did you mean "ServiceNow"?`},
		{"integration id", []string{"plan", "FILE"}, "integration_id,option_key,value\nvirustotal_node_18_1725278819,blocklist,x\n",
			`no integration virustotal_node_18_1725278819 on the server: did you mean "virustotal_node_18_1725278818"?`},
		{"integration id", []string{"plan", "FILE"}, "integration_id,option_key,value\nshodan_3_3_2_node_18_9a8b7c6d5e_172539000,apiKey,x\n",
			`did you mean "shodan_3_3_2_node_18_9a8b7c6d5e_1725390000"?`},
	} {
		file := ""
		if tt.csv != "" {
			file = writeFile(t, dir, strings.ReplaceAll(tt.what, " ", "-")+string(rune('a'+i))+".csv", []byte(tt.csv))
		} else {
			file = filepath.Join(dir, "none.csv")
		}
		args := make([]string, len(tt.args))
		for j, a := range tt.args {
			args[j] = strings.ReplaceAll(a, "FILE", file)
		}
		r := run(t, env, nil, args...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: %s: exit %d, stderr:\n%s\nwant in it: %s", tt.what, strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}
}
