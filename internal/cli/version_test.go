package cli

import (
	"strings"
	"testing"
)

// TestVersionMismatch: which plan.json builds apply --plan accepts without
// --allow-version-mismatch.
func TestVersionMismatch(t *testing.T) {
	const a = "0123456789abcdef0123456789abcdef01234567"
	const b = "fedcba9876543210fedcba9876543210fedcba98"
	tests := []struct {
		name                         string
		planTool, planRev, tool, rev string
		want                         string // "" = accepted; else a part of the reason
	}{
		{"same version and revision", "v1.2.0", a, "v1.2.0", a, ""},
		{"same version, plan's revision unknown", "v1.2.0", "", "v1.2.0", a, ""},
		{"same version, this revision unknown (go install)", "v1.2.0", a, "v1.2.0", "", ""},
		{"dev builds, no revisions", "(devel)", "", "(devel)", "", ""},
		{"another version", "v1.2.0", a, "v1.3.0", a, "the plan was made by polarity-bulk v1.2.0; this is v1.3.0"},
		{"another version, no revisions", "v1.2.0", "", "v1.2.1", "", "made by polarity-bulk v1.2.0; this is v1.2.1"},
		{"same version, another commit", "(devel)", a, "(devel)", b, "built from 0123456789ab; this (devel) was built from fedcba987654"},
		{"same commit, one dirty", "v1.2.0", a, "v1.2.0", a + "+dirty", "this v1.2.0 was built from 0123456789ab+dirty"},
		{"no version recorded", "", "", "v1.2.0", a, "records no polarity-bulk version; this is v1.2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := versionMismatch(tt.planTool, tt.planRev, tt.tool, tt.rev)
			if tt.want == "" {
				if got != "" {
					t.Fatalf("refused: %s", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("reason %q, want it to contain %q", got, tt.want)
			}
		})
	}
}
