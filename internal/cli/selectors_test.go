package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/cli"
	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// TestSelectorReadsTheListPages: planning a * row over 2,000 integrations of 20 options each
// (every password option: 8,000 changes) takes the requests a file naming an integration by
// name takes today (TestPlanReadsStateWithOneListRequest): the list endpoint's pages of
// 1,000, here two, nothing per integration or per option.
// (The generous --timeout keeps a loaded machine from turning a slow page into a retry.)
func TestSelectorReadsTheListPages(t *testing.T) {
	t.Parallel()
	fix := fake.Synthetic(2000, 3)
	for i := range fix.Integrations {
		in := &fix.Integrations[i]
		opts := in.Options // 6: copied with new keys up to 20
		for j := 0; len(in.Options) < 20; j++ {
			o := opts[j%len(opts)]
			o.Key += strings.Repeat("X", j/len(opts)+1)
			o.Options = append([]fake.Choice(nil), o.Options...)
			in.Options = append(in.Options, o)
		}
	}
	for _, tc := range []struct {
		name, csv, want string
	}{
		{"every password option", "integration_id,option_key,permission,option_kind\n*,*,lock-hide,password\n", "Plan: 2000 integrations to update, 0 unchanged; 8000 options to update, 0 unchanged."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := startFake(t, fix, fake.Config{})
			r := run(t, env, []byte(tc.csv), "plan", "--rate", "1000", "--timeout", "10m", "--detailed-exitcode", "-")
			wantCode(t, r, cli.ExitChanges)
			if !strings.HasPrefix(r.stdout, tc.want) {
				t.Errorf("stdout starts %q, want %q", firstLine(r.stdout), tc.want)
			}
			reqs := srv.Requests()
			for _, q := range reqs {
				if q.Method != http.MethodGet || q.Path != "/api/integrations" {
					t.Errorf("request %s %s: only the list endpoint should be read", q.Method, q.Path)
				}
			}
			if len(reqs) != 2 {
				t.Errorf("%d requests, want the 2 list pages of 1,000", len(reqs))
			}
		})
	}
}
