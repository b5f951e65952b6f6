package cli_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/cli"
	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// TestApplyRateBoundNotice: a fixed --rate that held every PATCH back while the server took
// them all says so once, at the end, on stderr; --rate auto and a server that pushed back do
// not.
func TestApplyRateBoundNotice(t *testing.T) {
	t.Parallel()
	fix := fake.Synthetic(30, 1)
	var csv strings.Builder
	csv.WriteString("integration_id,option_key,value\n")
	for i, in := range fix.Integrations {
		fmt.Fprintf(&csv, "%s,url,https://new-%d.example.invalid\n", in.ID, i)
	}
	const notice = "polarity-bulk: rate-bound: 15/s; the server accepted everything — try --rate auto\n"
	cases := []struct {
		name   string
		faults fake.Faults
		args   []string
		want   bool
	}{
		{"rate-bound", fake.Faults{}, []string{"--rate", "15"}, true},
		{"server pushed back", fake.Faults{FailRate: 0.2, FailStatus: 503, On: fake.FaultsOnPatch}, []string{"--rate", "15"}, false},
		{"auto", fake.Faults{}, []string{"--rate", "auto"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, env := startFake(t, fix, fake.Config{Faults: tc.faults})
			args := append([]string{"apply", "-", "--yes", "--no-verify", "--concurrency", "4", "--report-dir", t.TempDir() + "/rep"}, tc.args...)
			r := run(t, env, []byte(csv.String()), args...)
			wantCode(t, r, cli.ExitOK)
			if got := strings.Count(r.stderr, notice); got != map[bool]int{true: 1, false: 0}[tc.want] {
				t.Errorf("notice %d times in stderr:\n%s", got, r.stderr)
			}
			if tc.name == "auto" && !strings.Contains(r.stdout, "pace: --rate auto") {
				t.Errorf("auto says nothing of its pace:\n%s", r.stdout)
			}
		})
	}
}
