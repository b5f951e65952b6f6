package cli_test

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// probeOut is probe's --json output, as far as the tests read it.
type probeOut struct {
	Result   string `json:"result"`
	Findings []struct {
		Check   string         `json:"check"`
		Status  string         `json:"status"`
		Summary string         `json:"summary"`
		Hint    string         `json:"hint"`
		Facts   map[string]any `json:"facts"`
	} `json:"findings"`
	Shapes struct {
		OptionsIn     []string       `json:"options_in"`
		OptionTypes   []string       `json:"option_resource_types"`
		KindAttrs     []string       `json:"kind_attributes"`
		Sensitive     map[string]int `json:"sensitive_values"`
		PatchStatuses []int          `json:"patch_statuses"`
		PatchAnswers  []string       `json:"patch_answers"`
	} `json:"server_shapes"`
	Answers map[string]json.RawMessage `json:"answers"`
}

func (p probeOut) finding(t *testing.T, check string) (status, summary, hint string, facts map[string]any) {
	t.Helper()
	for _, f := range p.Findings {
		if f.Check == check {
			return f.Status, f.Summary, f.Hint, f.Facts
		}
	}
	t.Fatalf("no %s finding", check)
	return
}

func (p probeOut) problems() []string {
	var out []string
	for _, f := range p.Findings {
		if f.Status == "problem" {
			out = append(out, f.Check)
		}
	}
	return out
}

func runProbe(t *testing.T, env map[string]string, args ...string) (result, probeOut) {
	t.Helper()
	// --rate 200: the default of 5 per second would make each probe take over a second.
	r := run(t, env, nil, append([]string{"probe", "--json", "--rate", "200"}, args...)...)
	var p probeOut
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("probe --json: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return r, p
}

// passwordForms counts the fixture's password options as each password mode serves them.
func passwordForms(t *testing.T, fix *fake.Fixture) (set, empty int) {
	t.Helper()
	for _, in := range fix.Integrations {
		for _, o := range in.Options {
			if o.Type != fake.KindPassword {
				continue
			}
			if v := strings.TrimSpace(string(o.Value)); v == `""` || v == "null" || v == "" {
				empty++
			} else {
				set++
			}
		}
	}
	if set == 0 || empty == 0 {
		t.Fatalf("the fixture should hold set and empty passwords: %d set, %d empty", set, empty)
	}
	return set, empty
}

// passwordValues lists the fixture's password values that are set.
func passwordValues(fix *fake.Fixture) []string {
	var out []string
	for _, in := range fix.Integrations {
		for _, o := range in.Options {
			var v string
			if o.Type == fake.KindPassword && json.Unmarshal(o.Value, &v) == nil && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// TestProbeNamesEveryShape runs probe against polarity-fake in every shape switch and checks
// that it names the switch's setting: where options are, their resource type, the kind
// attribute, how passwords come back, and (with --write-check) the PATCH answer.
func TestProbeNamesEveryShape(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	set, empty := passwordForms(t, fix)
	const writeID = "crowdstrike_4_2_0_node_18_a3c9e1f042_1725350000-url"
	cases := []struct {
		name      string
		cfg       fake.Config
		in, types []string
		kind      string
		sensitive map[string]int
		write     bool
		patch     string // status and answer form
	}{
		{"default", fake.Config{}, []string{"included"}, []string{"integration-option"}, "option-type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, false, ""},
		{"attributes", fake.Config{OptionsIn: fake.OptionsAttributes}, []string{"attributes"}, nil, "option-type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, false, ""},
		{"plural type", fake.Config{OptionResourceType: fake.TypePlural}, []string{"included"}, []string{"integration-options"}, "option-type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, false, ""},
		{"kind in type", fake.Config{KindAttr: fake.KindAttrType}, []string{"included"}, []string{"integration-option"}, "type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, false, ""},
		{"attributes, kind in type", fake.Config{OptionsIn: fake.OptionsAttributes, KindAttr: fake.KindAttrType}, []string{"attributes"}, nil, "type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, false, ""},
		{"passwords clear", fake.Config{Passwords: fake.PasswordsClear}, []string{"included"}, []string{"integration-option"}, "option-type",
			map[string]int{"clear": set, "masked": 0, "empty": empty, "absent": 0}, false, ""},
		{"passwords absent", fake.Config{Passwords: fake.PasswordsAbsent}, []string{"included"}, []string{"integration-option"}, "option-type",
			map[string]int{"clear": 0, "masked": 0, "empty": 0, "absent": set + empty}, false, ""},
		{"patch 200", fake.Config{}, []string{"included"}, []string{"integration-option"}, "option-type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, true, "200 resources"},
		{"patch 204", fake.Config{PatchStatus: 204}, []string{"included"}, []string{"integration-option"}, "option-type",
			map[string]int{"clear": 0, "masked": set, "empty": empty, "absent": 0}, true, "204 empty"},
		{"everything else at once", fake.Config{OptionsIn: fake.OptionsAttributes, OptionResourceType: fake.TypePlural, KindAttr: fake.KindAttrType,
			Passwords: fake.PasswordsClear, PatchStatus: 204}, []string{"attributes"}, nil, "type",
			map[string]int{"clear": set, "masked": 0, "empty": empty, "absent": 0}, true, "204 empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := startFake(t, fix, tc.cfg)
			args := []string{"--out", filepath.Join(t.TempDir(), "probe.json")}
			if tc.write {
				args = append(args, "--write-check", writeID, "--yes")
			}
			r, p := runProbe(t, env, args...)
			wantCode(t, r, 0)
			for _, secret := range passwordValues(fix) {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("the output holds a password value")
				}
			}
			if p.Result != "ok" || len(p.problems()) != 0 {
				t.Errorf("result %s, problems %v", p.Result, p.problems())
			}
			st, summary, _, facts := p.finding(t, "options")
			if st != "ok" || fmt.Sprint(facts["location"]) != fmt.Sprint(tc.in) || fmt.Sprint(facts["kind_attributes"]) != fmt.Sprint([]string{tc.kind}) ||
				fmt.Sprint(facts["resource_types"]) != fmt.Sprint(nonNil(tc.types)) {
				t.Errorf("options: %s %q %v", st, summary, facts)
			}
			if !strings.Contains(summary, `"`+tc.kind+`"`) {
				t.Errorf("options summary does not name the kind attribute %q: %s", tc.kind, summary)
			}
			for _, ty := range tc.types {
				if !strings.Contains(summary, `"`+ty+`"`) {
					t.Errorf("options summary does not name the resource type %q: %s", ty, summary)
				}
			}
			if !slices.Equal(p.Shapes.OptionsIn, tc.in) || !slices.Equal(p.Shapes.OptionTypes, tc.types) || !slices.Equal(p.Shapes.KindAttrs, []string{tc.kind}) {
				t.Errorf("server shapes %+v", p.Shapes)
			}
			_, _, _, facts = p.finding(t, "sensitive-values")
			for k, v := range tc.sensitive {
				if facts[k] != float64(v) || p.Shapes.Sensitive[k] != v {
					t.Errorf("sensitive %s = %v (shapes %d), want %d", k, facts[k], p.Shapes.Sensitive[k], v)
				}
			}
			st, summary, _, facts = p.finding(t, "write-check")
			patches := 0
			for _, rq := range srv.Requests() {
				if rq.Method == http.MethodPatch {
					patches++
				}
			}
			if !tc.write {
				if st != "unknown" || patches != 0 {
					t.Errorf("write check not asked: %s, %d PATCHes", st, patches)
				}
				return
			}
			if got := fmt.Sprint(facts["status"], " ", facts["answer"]); st != "ok" || got != tc.patch || patches != 1 {
				t.Errorf("write check: %s %q %s, %d PATCHes; want %s", st, summary, got, patches, tc.patch)
			}
			if fmt.Sprint(p.Shapes.PatchStatuses[0], " ", p.Shapes.PatchAnswers[0]) != tc.patch {
				t.Errorf("shapes' PATCH record %+v", p.Shapes)
			}
			before, after := fakeOption(t, fix.Integrations, writeID), fakeOption(t, srv.State(), writeID)
			if !bytes.Equal(before.Value, after.Value) || before.AdminOnly != after.AdminOnly || before.UserCanEdit != after.UserCanEdit {
				t.Errorf("the write check changed the option: %+v → %+v", before, after)
			}
		})
	}
}

// fakeOption finds an option by its id among a fixture's or a server's integrations.
func fakeOption(t *testing.T, ins []fake.Integration, optionID string) fake.Option {
	t.Helper()
	id, key, _ := strings.Cut(optionID, "-")
	for _, in := range ins {
		if in.ID != id {
			continue
		}
		for _, o := range in.Options {
			if o.Key == key {
				return o
			}
		}
	}
	t.Fatalf("no option %s", optionID)
	return fake.Option{}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestProbeOpenAPI: a document that declares another resource type for PATCH is a problem
// (exit 1, with a hint); no document at all is unknown, not a failure.
func TestProbeOpenAPI(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	_, env := startFake(t, fix, fake.Config{OpenAPIPatchType: fake.TypePlural})
	r, p := runProbe(t, env)
	wantCode(t, r, 1)
	if !slices.Equal(p.problems(), []string{"openapi-patch"}) {
		t.Fatalf("problems %v", p.problems())
	}
	_, summary, hint, facts := p.finding(t, "openapi-patch")
	if !strings.Contains(summary, `the server declares "integration-options", the client sends "integration-option"`) || hint == "" || facts["mismatches"] != 1.0 {
		t.Errorf("mismatch: %q %q %v", summary, hint, facts)
	}
	if !strings.Contains(r.stderr, "polarity-bulk: probe: 1 problem: openapi-patch\nhint: ") || strings.Count(r.stderr, "hint:") != 1 {
		t.Errorf("stderr %q", r.stderr)
	}

	_, env = startFake(t, fix, fake.Config{OpenAPI: fake.OpenAPIOff})
	r, p = runProbe(t, env)
	wantCode(t, r, 0)
	for _, c := range []string{"api-version", "openapi-patch"} {
		if st, summary, _, _ := p.finding(t, c); st != "unknown" {
			t.Errorf("%s without a document: %s %q", c, st, summary)
		}
	}
	if _, summary, _, _ := p.finding(t, "api-version"); !strings.Contains(summary, "404") {
		t.Errorf("api-version: %q", summary)
	}

	_, env = startFake(t, fix, fake.Config{})
	_, p = runProbe(t, env)
	if st, summary, _, facts := p.finding(t, "api-version"); st != "ok" || facts["version"] != fake.OpenAPIVersion || !strings.Contains(summary, fake.OpenAPIVersion) {
		t.Errorf("api-version: %s %q %v", st, summary, facts)
	}
}

// TestProbeFaults: rate limiting, failing servers, a refused key, no server: exit 1, each
// with a hint that fits.
func TestProbeFaults(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	cases := []struct {
		name     string
		cfg      fake.Config
		env      map[string]string
		args     []string
		problems []string // exactly these; for 429, at least the last (which requests meet it depends on timing)
		hint     string   // in the hint of the last problem
	}{
		{"429", fake.Config{Faults: fake.Faults{RateLimit: 1, RateBurst: 2}}, nil, []string{"--rate", "50", "--retries", "0"},
			[]string{"rate-limits"}, "--rate below 50"},
		{"5xx", fake.Config{Faults: fake.Faults{FailRate: 1}}, nil, []string{"--retries", "0"},
			[]string{"integrations", "server-errors"}, "failing"},
		{"some 5xx, retried", fake.Config{Faults: fake.Faults{FailRate: 0.4, Seed: 3}}, nil, []string{"--retries", "8", "--rate", "50"},
			[]string{"server-errors"}, "failing some requests"},
		{"401 key", fake.Config{}, map[string]string{"POLARITY_API_KEY": "not-the-key"}, nil,
			[]string{"auth"}, "check POLARITY_API_KEY"},
		{"wrong password", fake.Config{}, map[string]string{"POLARITY_API_KEY": "", "POLARITY_USERNAME": "admin", "POLARITY_PASSWORD": "wrong-password"}, nil,
			[]string{"auth"}, "POLARITY_USERNAME and POLARITY_PASSWORD"},
		{"no server", fake.Config{}, map[string]string{"POLARITY_URL": "http://127.0.0.1:9"}, []string{"--retries", "0"},
			[]string{"connection"}, "check --url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, env := startFake(t, fix, tc.cfg)
			for k, v := range tc.env {
				env[k] = v
			}
			if env["POLARITY_API_KEY"] == "" {
				delete(env, "POLARITY_API_KEY")
			}
			r, p := runProbe(t, env, tc.args...)
			wantCode(t, r, 1)
			last := tc.problems[len(tc.problems)-1]
			if got := p.problems(); !slices.Equal(got, tc.problems) && (tc.name != "429" || !slices.Contains(got, last)) {
				t.Fatalf("problems %v, want %v\n%s", got, tc.problems, r.stdout)
			}
			_, _, hint, _ := p.finding(t, last)
			if !strings.Contains(hint, tc.hint) {
				t.Errorf("hint %q lacks %q", hint, tc.hint)
			}
			if strings.Count(r.stderr, "\nhint: ") != 1 || !strings.Contains(r.stderr, "polarity-bulk: probe: ") {
				t.Errorf("stderr %q", r.stderr)
			}
			for _, secret := range []string{"not-the-key", "wrong-password"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("output holds %q", secret)
				}
			}
		})
	}
}

// TestProbeTLS: an untrusted certificate is a TLS problem with the --ca-cert hint; with the
// CA the chain is verified and its expiry given; with --insecure-skip-tls-verify probe says
// what verification would have said.
func TestProbeTLS(t *testing.T) {
	t.Parallel()
	srv, err := fake.New(loadFixture(t), fake.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	ts.StartTLS()
	t.Cleanup(func() { srv.Close(); ts.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"POLARITY_URL": ts.URL, "POLARITY_API_KEY": fake.DefaultAPIKey}

	r, p := runProbe(t, env)
	wantCode(t, r, 1)
	if !slices.Equal(p.problems(), []string{"tls"}) {
		t.Fatalf("problems %v\n%s", p.problems(), r.stdout)
	}
	if _, _, hint, facts := p.finding(t, "tls"); !strings.Contains(hint, "--ca-cert") || facts["chain"] != 1.0 {
		t.Errorf("untrusted: %q %v", hint, facts)
	}

	r, p = runProbe(t, env, "--ca-cert", ca)
	wantCode(t, r, 0)
	if st, summary, _, facts := p.finding(t, "tls"); st != "ok" || facts["verified"] != true || !strings.Contains(summary, "verified") || facts["expires_in_days"].(float64) < 365 {
		t.Errorf("with the CA: %s %q %v", st, summary, facts)
	}

	r, p = runProbe(t, env, "--insecure-skip-tls-verify")
	wantCode(t, r, 0)
	if st, summary, hint, facts := p.finding(t, "tls"); st != "unknown" || facts["verified"] != false || !strings.Contains(summary, "would fail") || !strings.Contains(hint, "--ca-cert") {
		t.Errorf("insecure: %s %q %v", st, summary, facts)
	}
}

// runTerminal runs the command line in-process as if on a terminal, answering with stdin.
func runTerminal(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runWith(t, env, []byte(stdin), true, args...)
}

// TestProbeWriteCheckGuards: the write check asks on a terminal and needs --yes without one;
// an option it cannot send back unchanged is refused before anything is sent.
func TestProbeWriteCheckGuards(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	const vt = "virustotal_node_18_1725278818"
	cases := []struct {
		name, id string
		yes      bool
		want     string
	}{
		{"no terminal, no --yes", vt + "-blocklist", false, "--yes was not given: nothing was sent"},
		{"masked password", vt + "-apiKey", true, "does not show the current value of " + vt + "-apiKey"},
		{"unknown option", vt + "-nope", true, `has no option "nope"`},
		{"unknown integration", "nosuch_1-url", true, "no integration nosuch_1"},
		{"stopped integration", "servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000-url", true, "not running"},
		{"not an option id", "nodash", true, "is not an option id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := startFake(t, fix, fake.Config{})
			args := []string{"probe", "--rate", "200", "--write-check", tc.id}
			if tc.yes {
				args = append(args, "--yes")
			}
			r := run(t, env, nil, args...)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "hint: ") != 1 {
				t.Errorf("stderr %q, want %q", r.stderr, tc.want)
			}
			for _, rq := range srv.Requests() {
				if rq.Method == http.MethodPatch {
					t.Errorf("a PATCH was sent")
				}
			}
		})
	}

	t.Run("terminal", func(t *testing.T) {
		t.Parallel()
		srv, env := startFake(t, fix, fake.Config{})
		r := runTerminal(t, env, "no\n", "probe", "--rate", "200", "--write-check", vt+"-blocklist")
		wantCode(t, r, 1)
		if !strings.Contains(r.stderr, "Send option "+vt+"-blocklist on ") || !strings.Contains(r.stderr, "write check cancelled: nothing was sent") {
			t.Errorf("stderr %q", r.stderr)
		}
		r = runTerminal(t, env, "yes\n", "probe", "--rate", "200", "--write-check", vt+"-blocklist")
		wantCode(t, r, 0)
		patches := 0
		for _, rq := range srv.Requests() {
			if rq.Method == http.MethodPatch {
				patches++
			}
		}
		if patches != 1 || !strings.Contains(r.stdout, "ok       write-check") {
			t.Errorf("%d PATCHes; stdout:\n%s", patches, r.stdout)
		}
	})
}

// TestProbeTextReport: without --json, probe prints one line per check, the hints below,
// and the outcome last.
func TestProbeTextReport(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{})
	r := run(t, env, nil, "probe", "--rate", "200")
	wantCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if !strings.HasPrefix(lines[0], "probe of http://127.0.0.1:") || lines[len(lines)-1] != "Result: plan and apply can work (no problem; 2 unknown)." {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	for _, c := range []string{"connection", "tls", "auth", "integrations", "options", "sensitive-values", "paging", "single-read",
		"api-version", "openapi-patch", "latency", "rate-limits", "server-errors", "write-check"} {
		if !strings.Contains(r.stdout, " "+c+" ") {
			t.Errorf("no %s line:\n%s", c, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr %q", r.stderr)
	}
	if r := run(t, env, nil, "probe", "extra"); r.code != 2 || !strings.Contains(r.stderr, "takes no FILE") {
		t.Errorf("extra argument: %d %q", r.code, r.stderr)
	}
}

// TestPlanAndApplyRecordShapes: plan.json and results.json carry the forms the client met:
// where options were, their type, the kind attribute, password visibility, the PATCH answer.
func TestPlanAndApplyRecordShapes(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{OptionsIn: fake.OptionsAttributes, KindAttr: fake.KindAttrType, PatchStatus: 204})
	dir := t.TempDir()
	csv := writeFile(t, dir, "c.csv", []byte("integration_name,option_key,value\nAbuseIPDB,maxAge,90\n"))
	r := run(t, env, nil, "plan", csv, "--out", filepath.Join(dir, "plan.json"))
	wantCode(t, r, 0)
	type shapes struct {
		OptionsIn     []string       `json:"options_in"`
		KindAttrs     []string       `json:"kind_attributes"`
		Sensitive     map[string]int `json:"sensitive_values"`
		PatchStatuses []int          `json:"patch_statuses"`
		PatchAnswers  []string       `json:"patch_answers"`
	}
	var doc struct {
		Shapes *shapes `json:"server_shapes"`
	}
	read := func(path string) *shapes {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc.Shapes = nil
		if err := json.Unmarshal(b, &doc); err != nil || doc.Shapes == nil {
			t.Fatalf("%s: no server_shapes (%v)", path, err)
		}
		return doc.Shapes
	}
	sh := read(filepath.Join(dir, "plan.json"))
	if !slices.Equal(sh.OptionsIn, []string{"attributes"}) || !slices.Equal(sh.KindAttrs, []string{"type"}) || sh.Sensitive["masked"] == 0 || sh.PatchStatuses != nil {
		t.Errorf("plan.json server_shapes %+v", sh)
	}
	r = run(t, env, nil, "apply", "--plan", filepath.Join(dir, "plan.json"), "--yes", "--report-dir", filepath.Join(dir, "report"))
	wantCode(t, r, 0)
	sh = read(filepath.Join(dir, "report", "results.json"))
	if !slices.Equal(sh.OptionsIn, []string{"attributes"}) || !slices.Equal(sh.PatchStatuses, []int{204}) || !slices.Equal(sh.PatchAnswers, []string{"empty"}) {
		t.Errorf("results.json server_shapes %+v", sh)
	}
}

// jsonStrings lists every string of a JSON document: member names (role "key") and string
// values (role "value", with the name of the member holding them, or "" in an array).
type jsonString struct{ s, role, parent string }

func jsonStrings(t *testing.T, data []byte) []jsonString {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var out []jsonString
	var walk func(v any, parent string)
	walk = func(v any, parent string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				out = append(out, jsonString{k, "key", parent})
				walk(e, k)
			}
		case []any:
			for _, e := range x {
				walk(e, parent)
			}
		case string:
			out = append(out, jsonString{x, "value", parent})
		}
	}
	walk(v, "")
	return out
}

// fixtureStrings maps every string of the fixture file (member names aside) to the paths
// where it occurs.
func fixtureStrings(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, path+"."+k)
			}
		case []any:
			for _, e := range x {
				walk(e, path+"[]")
			}
		case string:
			out[x] = append(out[x], path)
		}
	}
	walk(v, "")
	return out
}

// memberNames collects the member names of the answers a server gives for the requests probe
// makes: the names that are the shape of an answer, not data.
func memberNames(t *testing.T, base, key string, login bool) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	do := func(method, path, body string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", fake.MediaType)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		for _, s := range jsonStrings(t, b) {
			if s.role == "key" {
				names[s.s] = true
			}
		}
	}
	if login {
		do("POST", "/api/users/login", `{"identification":"`+fake.DefaultUsername+`","password":"`+fake.DefaultPassword+`"}`)
	}
	key = fake.DefaultAPIKey
	do("GET", "/api/integrations?page[size]=1000&page[number]=1", "")
	do("GET", "/api/integrations/virustotal_node_18_1725278818", "")
	do("GET", "/api/integrations/nosuch_1", "")
	do("PATCH", "/api/integration-options", `{"data":[{"id":"nosuch_1-x","type":"integration-option","attributes":{}}]}`)
	return names
}

// TestProbeJSONHoldsNoFixtureString: probe.json holds none of the fixture's strings (ids,
// names, descriptions, option keys, values, choices), nor a credential or a token, in any
// shape the fake can take. Every string of the fixture file is checked against every string of
// probe.json, exactly and (from four characters) as a substring of the whole file. The only
// exceptions are words that are the API's vocabulary rather than data: a fixture string that
// only ever occurs as a status or an option kind may be a member name (probe counts
// integrations by status); a member name of the server's own answers may appear as a member
// name (the fixture has an option whose key is "id"); and the verdict "unknown", which
// SPEC.md prescribes, may be the value of a status (a select choice of the fixture is called
// "unknown" too).
func TestProbeJSONHoldsNoFixtureString(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	strs := fixtureStrings(t)
	vocabulary := map[string]bool{}
	for s, paths := range strs {
		vocab := true
		for _, p := range paths {
			if p != ".integrations[].status" && p != ".integrations[].options[].type" {
				vocab = false
			}
		}
		vocabulary[s] = vocab
	}
	secrets := []string{fake.DefaultAPIKey, fake.DefaultPassword, "pft_", "127.0.0.1"}
	cases := []struct {
		name  string
		cfg   fake.Config
		login bool
		args  []string
		code  int
	}{
		{"api key", fake.Config{}, false, nil, 0},
		{"login, attributes, clear passwords", fake.Config{OptionsIn: fake.OptionsAttributes, KindAttr: fake.KindAttrType, Passwords: fake.PasswordsClear}, true, nil, 0},
		{"write check 200, clear password sent back", fake.Config{Passwords: fake.PasswordsClear}, false,
			[]string{"--write-check", "virustotal_node_18_1725278818-apiKey", "--yes"}, 0},
		{"write check 204, plural", fake.Config{OptionResourceType: fake.TypePlural, PatchStatus: 204}, true,
			[]string{"--write-check", "crowdstrike_4_2_0_node_18_a3c9e1f042_1725350000-url", "--yes"}, 0},
		{"refused key", fake.Config{}, false, []string{"--api-key-file", "KEYFILE"}, 1},
		{"failing server", fake.Config{Faults: fake.Faults{FailRate: 0.5, Seed: 7}}, false, []string{"--retries", "1"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, env := startFake(t, fix, tc.cfg)
			if tc.login {
				delete(env, "POLARITY_API_KEY")
				env["POLARITY_USERNAME"], env["POLARITY_PASSWORD"] = fake.DefaultUsername, fake.DefaultPassword
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "probe.json")
			args := append([]string{"probe", "--rate", "200", "--out", out}, tc.args...)
			for i, a := range args {
				if a == "KEYFILE" {
					args[i] = writeFile(t, dir, "key", []byte("a-key-the-server-refuses\n"))
				}
			}
			r := run(t, env, nil, args...)
			wantCode(t, r, tc.code)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			members := memberNames(t, env["POLARITY_URL"], fake.DefaultAPIKey, tc.login)
			all := jsonStrings(t, data)
			for s, paths := range strs {
				if s == "" {
					continue
				}
				for _, js := range all {
					if js.s != s {
						continue
					}
					allowed := (js.role == "key" && (vocabulary[s] || members[s])) ||
						(s == "unknown" && js.role == "value" && (js.parent == "status" || js.parent == "result"))
					if !allowed {
						t.Errorf("probe.json holds the fixture's %q (from %s) as a %s of %q", s, paths[0], js.role, js.parent)
					}
				}
				if len(s) >= 4 && !vocabulary[s] && !members[s] && s != "unknown" && bytes.Contains(data, []byte(s)) {
					t.Errorf("probe.json holds the fixture's %q (from %s)", s, paths[0])
				}
			}
			for _, s := range append(secrets, "a-key-the-server-refuses") {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("probe.json holds %q", s)
				}
			}
			// It is still a useful report: checks, verdicts and the answers' shapes.
			var p probeOut
			if err := json.Unmarshal(data, &p); err != nil || len(p.Findings) != 14 || len(p.Answers) == 0 {
				t.Errorf("probe.json: %d findings, %d answers, %v", len(p.Findings), len(p.Answers), err)
			}
			if bytes.Contains(data, []byte(`"summary"`)) || bytes.Contains(data, []byte(`"hint"`)) || bytes.Contains(data, []byte(`"server"`)) {
				t.Errorf("probe.json holds free text or the server:\n%s", data)
			}
		})
	}
	t.Logf("%d fixture strings checked against each of %d probe.json files", len(strs), len(cases))
}
