package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// TestPlanSelectors: plan.json records what each selector row expanded to and, per option,
// the lines that lost it by precedence; the text and Markdown plans say which line won.
func TestPlanSelectors(t *testing.T) {
	p := bulk.Plan{
		Targets: []bulk.Target{{ID: "abuse_a", Name: "AbuseIPDB", Status: "running", Running: true, Fingerprint: "sha256:x",
			Changes: []bulk.Change{{Line: 3, Overrides: []int{2}, Key: "maxAge", Kind: bulk.KindNumber, Action: bulk.ActionUpdate,
				ValueChanges: true, Before: "30", After: "90"}},
		}, {ID: "abuse_b", Name: "AbuseIPDB", Status: "running", Running: true, Fingerprint: "sha256:y",
			Changes: []bulk.Change{{Line: 2, Key: "maxAge", Kind: bulk.KindNumber, Action: bulk.ActionUnchanged, Before: "60", After: "60"}},
		}},
		Selectors: []bulk.Expansion{{Line: 2, Selector: "integration_name glob:AbuseIPDB, option_key maxAge", Integrations: []string{"abuse_a", "abuse_b"}}},
	}
	var js bytes.Buffer
	if err := PlanJSON(&js, NewPlanFile(PlanMeta{SHA256: "abc"}, p)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"overrides_lines": [`, `"selectors": [`, `"selector": "integration_name glob:AbuseIPDB, option_key maxAge"`, `"integration_ids": [`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("plan.json lacks %s:\n%s", want, js.String())
		}
	}
	pf, err := ReadPlan(&js)
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.Selectors) != 1 || !slices.Equal(pf.Selectors[0].Integrations, []string{"abuse_a", "abuse_b"}) || pf.Selectors[0].Line != 2 ||
		!slices.Equal(pf.Integrations[0].Options[0].OverridesLines, []int{2}) {
		t.Errorf("read back: %+v", pf)
	}

	var text bytes.Buffer
	if err := PlanText(&text, NewPlanFile(PlanMeta{}, p), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "30 → 90  [line 3; over line 2]") {
		t.Errorf("the text plan does not say which line won:\n%s", text.String())
	}
	var md bytes.Buffer
	if err := PlanMarkdown(&md, NewPlanFile(PlanMeta{}, p), false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| 3; over line 2 |") {
		t.Errorf("plan.md does not say which line won:\n%s", md.String())
	}
}
