package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// rekind serves the fake's reads with the kind of some options replaced (by "integration id
// option key"), as a server of another version, or a broken one, would send them.
func rekind(kinds map[string]any) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var doc map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &doc) == nil {
				inc, _ := doc["included"].([]any)
				for _, x := range inc {
					o, _ := x.(map[string]any)
					id, _ := o["id"].(string)
					attrs, _ := o["attributes"].(map[string]any)
					integ, key, _ := strings.Cut(id, "-")
					if k, ok := kinds[integ+" "+key]; ok && attrs != nil {
						if k == nil {
							delete(attrs, fake.KindAttrOption)
						} else {
							attrs[fake.KindAttrOption] = k
						}
					}
				}
			}
			b, _ := json.Marshal(doc)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(b)
		})
	}
}

// TestUnknownKindFailsClosed: an option whose kind is empty, missing or unknown is treated as
// sensitive, whatever it holds: plan, plan.json, plan.md, export and the report never show
// its old or new literal, and the plan says why (issue 11, item 3).
func TestUnknownKindFailsClosed(t *testing.T) {
	t.Parallel()
	const (
		vt    = "virustotal_node_18_1725278818"
		vt2   = "virustotal_node_18_1731000000"
		abuse = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
	)
	fix := loadFixture(t)
	old := map[string]string{}
	for i := range fix.Integrations {
		for j := range fix.Integrations[i].Options {
			o := &fix.Integrations[i].Options[j]
			if o.Type == fake.KindPassword {
				v := canary("old-" + o.Key)
				old[fix.Integrations[i].ID+" "+o.Key] = v
				o.Value = mustRaw(v)
			}
		}
	}
	fe := startFake(t, fix, fake.Config{Passwords: fake.PasswordsClear},
		rekind(map[string]any{vt + " apiKey": "secret", abuse + " apiKey": "", vt2 + " apiKey": nil}))
	dir := t.TempDir()
	newVT, newAbuse, newVT2 := canary("new-vt"), canary("new-abuse"), canary("new-vt2")
	rows := []intent{
		{id: vt, key: "apiKey", cell: newVT},
		{id: abuse, key: "apiKey", cell: newAbuse},
		{id: vt2, key: "apiKey", cell: newVT2},
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	env := fe.env(dir, apiKeyEnv...)
	plan := run(t, dir, env, "plan", "changes.csv", "--out", "plan.json", "--markdown", "plan.md")
	mustCode(t, plan, 0, "plan")
	for _, want := range []string{
		`changes.csv:2: warning: option_key: option apiKey of ` + vt + ` has kind "secret", which polarity-bulk does not know: it treats its values as sensitive`,
		`changes.csv:3: warning: option_key: the server gives option apiKey of ` + abuse + ` no kind: polarity-bulk treats its values as sensitive`,
		`changes.csv:4: warning: option_key: the server gives option apiKey of ` + vt2 + ` no kind`,
	} {
		if !strings.Contains(plan.stderr, want) {
			t.Errorf("plan's stderr lacks\n%s\n%s", want, plan.stderr)
		}
	}
	if strings.Count(plan.stdout, "(sensitive) will change") != 3 {
		t.Errorf("plan:\n%s", plan.stdout)
	}
	mustCode(t, run(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep"), 0, "apply")
	exp := run(t, dir, env, "export", "--integration-id", vt, "--integration-id", abuse)
	mustCode(t, exp, 0, "export")

	var all bytes.Buffer
	all.WriteString(plan.stdout + plan.stderr + exp.stdout + exp.stderr)
	for _, f := range []string{"plan.json", "plan.md", "rep/results.json", "rep/results.csv", "rep/summary.md", "rep/junit.xml", "rep/journal.jsonl", "rep/backup.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for name, s := range map[string]string{"new vt": newVT, "new abuse": newAbuse, "new vt2": newVT2,
		"old vt": old[vt+" apiKey"], "old abuse": old[abuse+" apiKey"], "old vt2": old[vt2+" apiKey"]} {
		if strings.Contains(all.String(), s) {
			t.Errorf("the %s literal is shown", name)
		}
	}
}
