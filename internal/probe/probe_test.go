package probe

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func integration(id string, running bool, keys ...string) bulk.Integration {
	in := bulk.Integration{ID: id, Name: "Name of " + id, Status: "running"}
	if !running {
		in.Status = "stopped"
	}
	for _, k := range keys {
		in.Options = append(in.Options, bulk.Option{Key: k, Name: "Option " + k, Kind: bulk.KindText, Readable: true, Value: json.RawMessage(`"v"`)})
	}
	return in
}

func ok200(endpoint string, d time.Duration) api.Exchange {
	return api.Exchange{Endpoint: endpoint, Attempt: 1, Status: 200, Duration: d}
}

// healthy is what a well-behaved server gives: every check ok but TLS (plain http) and the
// opt-in write check.
func healthy() Observations {
	all := []bulk.Integration{
		integration("a_1700000001", true, "apiKey", "url"),
		integration("b_1700000002", true, "apiKey"),
		integration("c_1700000003", false, "url"),
	}
	return Observations{
		Tool: "test", Server: "http://127.0.0.1:1", Scheme: "http", Now: now, Timeout: 30 * time.Second, Rate: 5,
		Auth:      api.AuthInfo{Method: "api-key"},
		FirstSize: 1000, FirstPage: api.Page{Integrations: all, Total: 3}, All: all,
		SmallPages: []api.Page{{Integrations: all[:2], Total: 3}, {Integrations: all[2:], Total: 3}},
		Single:     []bulk.Integration{all[0], all[0], all[0]},
		OpenAPI: api.OpenAPIInfo{Version: "5.5.0", Patch: &api.PatchDeclaration{
			Types: []string{"integration-option"}, Attributes: []string{"admin-only", "user-can-edit", "value"}}},
		Shapes: bulk.ServerShapes{OptionsIn: []string{"included"}, OptionTypes: []string{"integration-option"},
			KindAttrs: []string{"option-type"}, Sensitive: bulk.Visibility{Masked: 2}},
		Exchanges: []api.Exchange{
			ok200("GET /api/integrations", 4*time.Millisecond), ok200("GET /api/integrations", 2*time.Millisecond),
			ok200("GET /api/integrations", 2*time.Millisecond), ok200("GET /api/integrations/{id}", time.Millisecond),
			ok200("GET /api/integrations/{id}", time.Millisecond), ok200("GET /api/integrations/{id}", 3*time.Millisecond),
			ok200("GET /api/openapi", time.Millisecond),
		},
	}
}

func statuses(r Report) string {
	var parts []string
	for _, f := range r.Findings {
		parts = append(parts, f.Check+"="+string(f.Status))
	}
	return strings.Join(parts, " ")
}

func find(t *testing.T, r Report, check string) Finding {
	t.Helper()
	f, ok := r.Finding(check)
	if !ok {
		t.Fatalf("no %s finding: %s", check, statuses(r))
	}
	return f
}

func TestHealthy(t *testing.T) {
	r := Evaluate(healthy())
	want := "connection=ok tls=unknown auth=ok integrations=ok options=ok sensitive-values=ok paging=ok single-read=ok " +
		"api-version=ok openapi-patch=ok latency=ok rate-limits=ok server-errors=ok write-check=unknown"
	if got := statuses(r); got != want {
		t.Errorf("statuses\n got %s\nwant %s", got, want)
	}
	if r.Result != OK || len(r.Problems()) != 0 {
		t.Errorf("result %s, problems %v", r.Result, r.Problems())
	}
	if f := find(t, r, CheckLatency); f.Facts["median_ms"] != 2.0 || f.Facts["samples"] != 6 {
		t.Errorf("latency %+v", f)
	}
	if f := find(t, r, CheckIntegrations); f.Facts["running"] != 2 || f.Facts["not_running"] != 1 || !strings.Contains(f.Summary, "scoped") || f.Hint == "" {
		t.Errorf("integrations %+v", f)
	}
	if f := find(t, r, CheckPaging); f.Facts["honours_number"] != true || f.Facts["first_page"] != 3 {
		t.Errorf("paging %+v", f)
	}
	if f := find(t, r, CheckSensitive); f.Facts["masked"] != 2 || !strings.Contains(f.Hint, "will be set") {
		t.Errorf("sensitive %+v", f)
	}
}

// TestFirstContactFails: the first failing stage is the problem, with its hint; what could
// not be checked is unknown, not a second problem.
func TestFirstContactFails(t *testing.T) {
	tlsErr := &api.Error{Op: "list integrations", Err: fmt.Errorf("%w: %w", api.ErrConnection,
		&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})}
	cases := []struct {
		name     string
		err      error
		xs       []api.Exchange
		problems string
		hint     string
	}{
		{"no server", &api.Error{Op: "list integrations", Err: fmt.Errorf("%w: dial tcp: connection refused", api.ErrConnection)},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Err: "connection refused"}}, "connection", "check --url"},
		{"untrusted certificate", tlsErr, []api.Exchange{{Endpoint: "GET /api/integrations", Err: "x509"}}, "tls", "--ca-cert"},
		{"wrong key", &api.Error{Op: "list integrations", HTTPStatus: 401, Err: api.ErrAuth},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 401}}, "auth", "POLARITY_API_KEY"},
		{"no rights", &api.Error{Op: "list integrations", HTTPStatus: 403, Err: api.ErrForbidden},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 403}}, "auth", "lacks the rights"},
		{"server failing", &api.Error{Op: "list integrations", HTTPStatus: 503},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 503}, {Endpoint: "GET /api/integrations", Status: 503}},
			"integrations server-errors", "failing"},
		{"rate limited throughout", &api.Error{Op: "list integrations", HTTPStatus: 429},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 429, RateLimit: map[string]string{"Retry-After": "30"}}},
			"integrations rate-limits", "429"},
		{"not JSON:API", &api.Error{Op: "list integrations", HTTPStatus: 200, Err: api.ErrBadResponse},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 200}}, "integrations", "probe.json"},
		{"2xx with errors", &api.Error{Op: "list integrations", HTTPStatus: 200, Err: api.ErrRefused},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 200}}, "integrations", "errors member"},
		{"a pause longer than --max-wait", &api.Error{Op: "list integrations", HTTPStatus: 429, Err: api.ErrWaitTooLong},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 429, RateLimit: map[string]string{"Retry-After": "86400"}}},
			"integrations rate-limits", "--max-wait"},
		{"timeouts", &api.Error{Op: "list integrations", Err: fmt.Errorf("%w: timed out", api.ErrConnection)},
			[]api.Exchange{{Endpoint: "GET /api/integrations", Status: 200}, {Endpoint: "GET /api/integrations", Err: "timed out"}},
			"integrations server-errors", "--timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := Observations{Tool: "t", Scheme: "https", Now: now, Rate: 5, Auth: api.AuthInfo{Method: "api-key"},
				FirstSize: 1000, FirstErr: tc.err, Exchanges: tc.xs}
			r := Evaluate(o)
			var names []string
			for _, f := range r.Problems() {
				names = append(names, f.Check)
			}
			if got := strings.Join(names, " "); got != tc.problems {
				t.Fatalf("problems %q, want %q (%s)", got, tc.problems, statuses(r))
			}
			if p := r.Problems()[0]; !strings.Contains(p.Hint, tc.hint) {
				t.Errorf("hint %q lacks %q", p.Hint, tc.hint)
			}
			if r.Result != Problem {
				t.Errorf("result %s", r.Result)
			}
			for _, c := range []string{CheckOptions, CheckPaging, CheckLatency, CheckWriteCheck} {
				if f := find(t, r, c); f.Status != Unknown {
					t.Errorf("%s is %s after a failed first contact", c, f.Status)
				}
			}
		})
	}
}

func TestPaging(t *testing.T) {
	mk := func(prefix string, n int) []bulk.Integration {
		var out []bulk.Integration
		for i := range n {
			out = append(out, integration(fmt.Sprintf("%s_%d", prefix, i), true, "k"))
		}
		return out
	}
	all := mk("x", 250)
	cases := []struct {
		name   string
		mod    func(*Observations)
		status Status
		facts  map[string]any
		says   string
	}{
		{"capped at 100, number honoured", func(o *Observations) {
			o.FirstPage = api.Page{Integrations: all[:100], Total: 250}
		}, OK, map[string]any{"page_cap": 100, "honours_number": true}, "caps a page at 100"},
		{"capped and page[number] ignored", func(o *Observations) {
			o.FirstPage = api.Page{Integrations: all[:100], Total: 250}
			o.SmallPages = []api.Page{{Integrations: all[:2]}, {Integrations: all[:2]}}
		}, Problem, map[string]any{"honours_number": false}, "ignores page[number]"},
		{"page[number] ignored but one page holds all", func(o *Observations) {
			o.SmallPages = []api.Page{{Integrations: all[:2]}, {Integrations: all[:2]}}
		}, OK, map[string]any{"honours_number": false}, "ignores page[number]"},
		{"size ignored", func(o *Observations) {
			o.FirstSize = 100
			o.SmallPages = []api.Page{{Integrations: all}, {Integrations: all}}
		}, OK, map[string]any{"honours_size": false, "honours_small_size": false}, "ignoring the size"},
		{"a refused size", func(o *Observations) {
			o.RefusedSizes, o.FirstSize = []int{1000}, 300
		}, OK, map[string]any{"refused_sizes": []int{1000}}, "page[size]=1000 refused"},
		{"small page fails", func(o *Observations) {
			o.SmallPages, o.SmallPagesErr = nil, &api.Error{Op: "list", HTTPStatus: 500}
		}, Problem, nil, "size 2 failed"},
		{"too few to tell", func(o *Observations) {
			o.SmallPages = nil
		}, OK, nil, "too few integrations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := healthy()
			o.All, o.FirstPage, o.FirstSize = all, api.Page{Integrations: all, Total: 250}, 1000
			o.SmallPages = []api.Page{{Integrations: all[:2]}, {Integrations: all[2:4]}}
			tc.mod(&o)
			f := find(t, Evaluate(o), CheckPaging)
			if f.Status != tc.status || !strings.Contains(f.Summary, tc.says) {
				t.Errorf("%s %q, want %s with %q", f.Status, f.Summary, tc.status, tc.says)
			}
			for k, v := range tc.facts {
				if fmt.Sprint(f.Facts[k]) != fmt.Sprint(v) {
					t.Errorf("fact %s = %v, want %v", k, f.Facts[k], v)
				}
			}
		})
	}
}

func TestFindings(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*Observations)
		check  string
		status Status
		says   string
	}{
		{"server counts more than plan reads", func(o *Observations) { o.FirstPage.Total = 9 }, CheckIntegrations, Problem, "server counts 9"},
		{"no integration", func(o *Observations) {
			o.All, o.FirstPage = nil, api.Page{Total: 0}
			o.SmallPages, o.Single = nil, nil
		}, CheckIntegrations, Problem, "0 integrations"},
		{"no option found", func(o *Observations) {
			for i := range o.All {
				o.All[i].Options = nil
			}
		}, CheckOptions, Problem, "no option found"},
		{"options without kind", func(o *Observations) { o.All[0].Options[0].Kind = "" }, CheckOptions, Problem, "1 option without a kind"},
		{"attributes form", func(o *Observations) {
			o.Shapes.OptionsIn, o.Shapes.OptionTypes, o.Shapes.KindAttrs = []string{"attributes"}, nil, []string{"type"}
		}, CheckOptions, OK, `as an array in the integrations' attributes; the kind in attribute "type"`},
		{"no password", func(o *Observations) { o.Shapes.Sensitive = bulk.Visibility{} }, CheckSensitive, Unknown, "no password option"},
		{"passwords clear", func(o *Observations) { o.Shapes.Sensitive = bulk.Visibility{Clear: 3, Empty: 1} }, CheckSensitive, OK, "3 in clear"},
		{"single read differs", func(o *Observations) { o.Single = []bulk.Integration{integration("a_1700000001", true, "apiKey")} }, CheckSingleRead, Problem, "gives 1 option (apiKey:text), the list 2"},
		{"single read fails", func(o *Observations) {
			o.Single, o.SingleErr = nil, &api.Error{Op: "get", HTTPStatus: 404, Err: api.ErrNotFound}
		}, CheckSingleRead, Problem, "failed"},
		{"openapi 404", func(o *Observations) { o.OpenAPIErr = &api.Error{Op: "get", HTTPStatus: 404, Err: api.ErrNotFound} }, CheckAPIVersion, Unknown, "404"},
		{"openapi 404, no comparison", func(o *Observations) { o.OpenAPIErr = &api.Error{HTTPStatus: 404, Err: api.ErrNotFound} }, CheckOpenAPIPatch, Unknown, "no OpenAPI document"},
		{"openapi yaml", func(o *Observations) { o.OpenAPIErr = &api.Error{HTTPStatus: 200, Err: api.ErrBadResponse} }, CheckAPIVersion, Unknown, "no usable document"},
		{"openapi without version", func(o *Observations) { o.OpenAPI.Version = "" }, CheckAPIVersion, Unknown, "no info.version"},
		{"openapi without patch", func(o *Observations) { o.OpenAPI.Patch = nil }, CheckOpenAPIPatch, Unknown, "declares no PATCH"},
		{"openapi mismatch", func(o *Observations) { o.OpenAPI.Patch.Types = []string{"integration-options"} }, CheckOpenAPIPatch, Problem, `declares "integration-options"`},
		{"slow", func(o *Observations) { o.Timeout = 3 * time.Millisecond }, CheckLatency, Problem, "median 2ms"},
		{"rate-limit headers only", func(o *Observations) {
			o.Exchanges[0].RateLimit = map[string]string{"Ratelimit-Limit": "100"}
		}, CheckRateLimits, OK, "Ratelimit-Limit: 100"},
		{"a 429 retried", func(o *Observations) {
			o.Exchanges = append(o.Exchanges, api.Exchange{Endpoint: "GET /api/integrations", Status: 429, RateLimit: map[string]string{"Retry-After": "1"}})
		}, CheckRateLimits, Problem, "1 of 8 requests were answered 429 at --rate 5"},
		{"a 502 retried", func(o *Observations) {
			o.Exchanges = append(o.Exchanges, api.Exchange{Endpoint: "GET /api/integrations", Status: 502})
		}, CheckServerErrors, Problem, "1 answered 502"},
		{"login", func(o *Observations) {
			o.Auth = api.AuthInfo{Method: "login", Expires: now.Add(time.Hour), Lifetime: time.Hour}
		}, CheckAuth, OK, "lives 1h0m0s"},
		{"jwt key expiring", func(o *Observations) {
			o.Auth = api.AuthInfo{Method: "api-key", Expires: now.Add(48 * time.Hour)}
		}, CheckAuth, OK, "expires 2026-06-03 (in 2 days)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := healthy()
			tc.mod(&o)
			f := find(t, Evaluate(o), tc.check)
			if f.Status != tc.status || !strings.Contains(f.Summary, tc.says) {
				t.Errorf("%s %q, want %s with %q", f.Status, f.Summary, tc.status, tc.says)
			}
			if f.Status == Problem && f.Hint == "" {
				t.Errorf("a problem without a hint")
			}
		})
	}
}

func TestTLS(t *testing.T) {
	base := func(s api.TLSState, insecure bool) Finding {
		o := healthy()
		o.Scheme, o.Insecure = "https", insecure
		o.Exchanges[0].TLS = &s
		return find(t, Evaluate(o), CheckTLS)
	}
	good := api.TLSState{Version: "TLS 1.3", Chain: 2, NotAfter: now.Add(400 * 24 * time.Hour), Verified: true}
	if f := base(good, false); f.Status != OK || !strings.Contains(f.Summary, "chain of 2 verified") || !strings.Contains(f.Summary, "in 400 days") || f.Hint != "" {
		t.Errorf("good chain: %+v", f)
	}
	soon := good
	soon.NotAfter = now.Add(3 * 24 * time.Hour)
	if f := base(soon, false); f.Status != OK || !strings.Contains(f.Hint, "renew") {
		t.Errorf("expiring chain: %+v", f)
	}
	unchecked := api.TLSState{Version: "TLS 1.2", Chain: 1, NotAfter: good.NotAfter, VerifyError: "x509: certificate signed by unknown authority"}
	if f := base(unchecked, true); f.Status != Unknown || !strings.Contains(f.Summary, "would fail") || !strings.Contains(f.Hint, "--ca-cert") {
		t.Errorf("insecure: %+v", f)
	}
	unchecked.VerifyError = ""
	if f := base(unchecked, true); f.Status != Unknown || !strings.Contains(f.Hint, "drop --insecure-skip-tls-verify") {
		t.Errorf("insecure, would verify: %+v", f)
	}
}

func TestWriteCheck(t *testing.T) {
	before := bulk.Option{Key: "url", Kind: bulk.KindText, Readable: true, Value: json.RawMessage(`"https://x"`), Permission: bulk.Permission{AdminOnly: true}}
	same := before
	same.Value = json.RawMessage(` "https://x" `)
	other := before
	other.Permission = bulk.Permission{}
	cases := []struct {
		name   string
		w      *WriteCheck
		status Status
		says   string
	}{
		{"204", &WriteCheck{Outcome: api.Outcome{HTTPStatus: 204}, Answer: "empty", Before: before, ReadBack: &same}, OK, "PATCH answered 204 with no body; the option reads back unchanged"},
		{"200", &WriteCheck{Outcome: api.Outcome{HTTPStatus: 200}, Answer: "resources", Before: before, ReadBack: &same}, OK, "200 with the updated option resources"},
		{"refused", &WriteCheck{Outcome: api.Outcome{HTTPStatus: 403}, Err: &api.Error{Op: "patch", HTTPStatus: 403, Err: api.ErrForbidden}, Before: before}, Problem, "failed"},
		{"changed", &WriteCheck{Outcome: api.Outcome{HTTPStatus: 200}, Answer: "resources", Before: before, ReadBack: &other}, Problem, "reads back different"},
		{"gone", &WriteCheck{Outcome: api.Outcome{HTTPStatus: 200}, Answer: "document", Before: before}, Problem, "gone"},
		{"read back fails", &WriteCheck{Outcome: api.Outcome{HTTPStatus: 204}, Answer: "empty", Before: before, ReadBackErr: &api.Error{Op: "get", HTTPStatus: 500}}, Problem, "reading the option back failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := healthy()
			o.Write = tc.w
			f := find(t, Evaluate(o), CheckWriteCheck)
			if f.Status != tc.status || !strings.Contains(f.Summary, tc.says) {
				t.Errorf("%s %q, want %s with %q", f.Status, f.Summary, tc.status, tc.says)
			}
		})
	}
	// A mismatch in the document is still a problem when the write check passed, with a
	// hint that says so.
	o := healthy()
	o.OpenAPI.Patch.Types = []string{"integration-options"}
	o.Write = cases[0].w
	if f := find(t, Evaluate(o), CheckOpenAPIPatch); f.Status != Problem || !strings.Contains(f.Hint, "accepted all the same") {
		t.Errorf("mismatch after a passing write check: %+v", f)
	}
}

// TestPublic: the public form keeps checks, statuses and facts, drops the server, summaries
// and hints, and hides member names that are data.
func TestPublic(t *testing.T) {
	o := healthy()
	list, _ := bulk.ShapeOf([]byte(`{"data":[{"id":"a_1700000001","attributes":{"name":"n","options":{"apiKey":{"value":"x"},"url":{"value":"y"}}}}],
		"meta":{"a_1700000001":{"errors":0},"Name of b_1700000002":1,"build-20260101":true,"total":3}}`))
	o.Exchanges[0].Shape = list
	r := Evaluate(o)
	p := r.Public()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, banned := range []string{"127.0.0.1", "a_1700000001", "Name of", "apiKey", `"url"`, "build-20260101", "summary", "hint", "server\""} {
		if strings.Contains(s, banned) {
			t.Errorf("public form holds %q", banned)
		}
	}
	answer := p.Answers["GET /api/integrations 200"]
	if answer.At("meta", "total") == nil || answer.At("data", "", "attributes", "name") == nil ||
		answer.At("data", "", "attributes", "options", "<key>", "value") == nil || answer.At("meta").Hidden != 3 {
		t.Errorf("public shape %s", s)
	}
	if len(p.Findings) != len(r.Findings) || p.Result != r.Result || p.Findings[3].Facts["seen"] != 3 {
		t.Errorf("public findings %+v", p.Findings)
	}
	if _, ok := r.Answers["GET /api/openapi 200"]; ok {
		t.Error("the OpenAPI document's shape is reproduced")
	}
}
