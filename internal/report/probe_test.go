package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/probe"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// probeReport is a fixed report: a server over TLS whose certificate expires soon, that
// caps pages at 100, masks passwords, sends rate-limit headers and declares another resource
// type for PATCH.
func probeReport(t *testing.T) probe.Report {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var all []bulk.Integration
	for i := range 250 {
		in := bulk.Integration{ID: fmt.Sprintf("vt_%d", 1725278818+i), Name: "VirusTotal", Status: "running"}
		if i == 7 {
			in.Status = "stopped"
		}
		in.Options = []bulk.Option{{Key: "apiKey", Kind: bulk.KindPassword}, {Key: "blocklist", Kind: bulk.KindText, Readable: true, Value: json.RawMessage(`"8.8.8.8"`)}}
		all = append(all, in)
	}
	shape, err := bulk.ShapeOf([]byte(`{"data":[{"id":"vt_1","type":"integrations","attributes":{"name":"VirusTotal","status":"running"}}],
		"included":[{"id":"vt_1-apiKey","type":"integration-option","attributes":{"key":"apiKey","option-type":"password","value":"********"}}],
		"meta":{"page":{"total":250}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tlsState := &api.TLSState{Version: "TLS 1.3", Chain: 2, NotAfter: now.Add(10 * 24 * time.Hour), Verified: true}
	xs := []api.Exchange{
		{Endpoint: "GET /api/integrations", Attempt: 1, Status: 200, Duration: 40 * time.Millisecond, TLS: tlsState, Shape: shape,
			RateLimit: map[string]string{"Ratelimit-Limit": "100", "Ratelimit-Remaining": "99"}},
		{Endpoint: "GET /api/integrations", Attempt: 1, Status: 200, Duration: 30 * time.Millisecond},
		{Endpoint: "GET /api/integrations", Attempt: 1, Status: 200, Duration: 35 * time.Millisecond},
		{Endpoint: "GET /api/integrations/{id}", Attempt: 1, Status: 200, Duration: 12 * time.Millisecond},
		{Endpoint: "GET /api/openapi", Attempt: 1, Status: 200, Duration: 5 * time.Millisecond},
	}
	return probe.Evaluate(probe.Observations{
		Tool: "1.0.0", Server: "https://polarity.example.com", Scheme: "https", Now: now, Timeout: 30 * time.Second, Rate: 5,
		Auth:      api.AuthInfo{Method: "api-key"},
		Exchanges: xs, FirstSize: 1000, FirstPage: api.Page{Integrations: all[:100], Total: 250}, All: all,
		SmallPages: []api.Page{{Integrations: all[:2]}, {Integrations: all[2:4]}},
		Single:     []bulk.Integration{all[0]},
		OpenAPI: api.OpenAPIInfo{Version: "5.5.2", Patch: &api.PatchDeclaration{
			Types: []string{"integration-options"}, Attributes: []string{"admin-only", "user-can-edit", "value"}}},
		Shapes: bulk.ServerShapes{OptionsIn: []string{"included"}, OptionTypes: []string{"integration-option"},
			KindAttrs: []string{"option-type"}, Sensitive: bulk.Visibility{Masked: 250}},
	})
}

func TestProbeTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := ProbeText(&b, probeReport(t)); err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, filepath.Join("testdata", "probe.txt.golden"), b.Bytes())
}

func TestProbeJSONGolden(t *testing.T) {
	r := probeReport(t)
	var full, public bytes.Buffer
	if err := ProbeJSON(&full, r); err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, filepath.Join("testdata", "probe-full.json.golden"), full.Bytes())
	if err := ProbeJSON(&public, r.Public()); err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, filepath.Join("testdata", "probe-public.json.golden"), public.Bytes())
	for _, banned := range []string{"polarity.example.com", "VirusTotal", "vt_1", "apiKey", "8.8.8.8", "********", `"summary"`, `"hint"`} {
		if bytes.Contains(public.Bytes(), []byte(banned)) {
			t.Errorf("probe.json holds %q", banned)
		}
	}
}

// TestProbeTextKeepsLines: server text with line breaks or terminal escapes cannot break the
// layout or reach the terminal raw.
func TestProbeTextKeepsLines(t *testing.T) {
	r := probe.Report{Server: "https://x", Tool: "t", Findings: []probe.Finding{
		{Check: "auth", Status: probe.Problem, Summary: "refused: line one\nResult: plan and apply can work\x1b[2J", Hint: "fix\rit"},
	}}
	var b bytes.Buffer
	if err := ProbeText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\r") {
		t.Errorf("raw control characters reach the terminal:\n%q", out)
	}
	var results []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Result:") {
			results = append(results, l)
		}
	}
	if len(results) != 1 || results[0] != "Result: 1 problem (auth): fix it before plan or apply." {
		t.Errorf("a server's text forged an outcome line:\n%s", out)
	}
}
