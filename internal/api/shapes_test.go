package api

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// TestShapesRecord: reading the integrations in each form records where the options were,
// their resource type and the name of their kind attribute; each password option is counted
// once however often it is read.
func TestShapesRecord(t *testing.T) {
	want := map[string]struct{ in, types, kinds []string }{
		"included-linked":      {[]string{"included"}, []string{"integration-option"}, []string{"type"}},
		"included-prefix":      {[]string{"included"}, []string{"integration-options"}, []string{"option-type"}},
		"included-backlink":    {[]string{"included"}, []string{"integration-option"}, []string{"option_type"}},
		"attributes-flat":      {[]string{"attributes"}, nil, []string{"type"}},
		"attributes-resources": {[]string{"attributes"}, []string{"integration-options"}, []string{"option-type"}},
		"attributes-object":    {[]string{"attributes-object"}, nil, []string{"kind"}},
	}
	ids := []string{"virustotal_node_18_1725278818", "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"}
	for _, form := range forms {
		t.Run(form, func(t *testing.T) {
			opts := standardOptions()
			ts := formServer(t, form, ids, opts, false)
			c := newKeyClient(t, ts.URL, nil)
			if !c.Shapes().IsZero() {
				t.Fatalf("a new client has shapes: %+v", c.Shapes())
			}
			for range 2 {
				if _, err := c.Integrations(ctxT(t), false); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Integration(ctxT(t), ids[0]); err != nil {
				t.Fatal(err)
			}
			got, w := c.Shapes(), want[form]
			if !slices.Equal(got.OptionsIn, w.in) || !slices.Equal(got.OptionTypes, w.types) || !slices.Equal(got.KindAttrs, w.kinds) {
				t.Errorf("shapes %+v, want in %v types %v kinds %v", got, w.in, w.types, w.kinds)
			}
			if got.Sensitive != (bulk.Visibility{Clear: 2}) {
				t.Errorf("sensitive %+v, want 2 in clear (two integrations, each read three times)", got.Sensitive)
			}
		})
	}
}

// TestShapesPasswordForms: masked, empty, null and absent password values are told apart.
func TestShapesPasswordForms(t *testing.T) {
	opts := []optSpec{
		{key: "a", kind: "password", value: "********", hasValue: true},
		{key: "b", kind: "password", value: "•••", hasValue: true},
		{key: "c", kind: "password", value: "", hasValue: true},
		{key: "d", kind: "password", value: nil, hasValue: true},
		{key: "e", kind: "password"},
		{key: "f", kind: "password", value: "clear-pw", hasValue: true},
		{key: "g", kind: "text", value: "****", hasValue: true},
	}
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, renderIntegrations("included-linked", []string{"x_1"}, opts))
	}))
	c := newKeyClient(t, ts.URL, nil)
	if _, err := c.Integrations(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Shapes().Sensitive, (bulk.Visibility{Clear: 1, Masked: 2, Empty: 2, Absent: 1}); got != want {
		t.Errorf("sensitive %+v, want %+v", got, want)
	}
}

// TestPatchAnswerForms: a PATCH answered 200 with option resources, 204 without a body, or
// 200 with another document is recorded as such, and Outcome says so too.
func TestPatchAnswerForms(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"resources", 200, `{"data":[{"id":"x_1-k","type":"integration-option","attributes":{"value":"v"}}]}`, "resources"},
		{"plural resources", 200, `{"data":[{"id":"x_1-k","type":"integration-options"}]}`, "resources"},
		{"no content", 204, ``, "empty"},
		{"meta only", 200, `{"meta":{"updated":1}}`, "document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.body == "" {
					w.WriteHeader(tc.status)
					return
				}
				w.Header().Set("Content-Type", "application/vnd.api+json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			c := newKeyClient(t, ts.URL, nil)
			out, err := c.Patch(ctxT(t), "x_1", []PatchItem{{Key: "k", Value: bulk.NewPayload(json.RawMessage(`"v"`))}})
			if err != nil {
				t.Fatal(err)
			}
			if out.Answer != tc.want || out.HTTPStatus != tc.status {
				t.Errorf("outcome %+v, want answer %s status %d", out, tc.want, tc.status)
			}
			sh := c.Shapes()
			if !slices.Equal(sh.PatchStatuses, []int{tc.status}) || !slices.Equal(sh.PatchAnswers, []string{tc.want}) {
				t.Errorf("shapes %+v", sh)
			}
		})
	}
}

// recorder collects the exchanges a client reports.
type recorder struct {
	mu sync.Mutex
	xs []Exchange
}

func (r *recorder) observe(x Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.xs = append(r.xs, x)
}

func (r *recorder) all() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.xs)
}

// TestObserve: each attempt is reported with its endpoint (ids replaced), status, the
// rate-limit headers and no other, and the shape of its answer, which holds no value.
func TestObserve(t *testing.T) {
	calls := 0
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-Secret-Header", "do-not-report")
		w.Header().Set("RateLimit-Policy", "100;w=60")
		if calls == 1 {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("X-RateLimit-Remaining", "0")
			writeJSON(w, 429, map[string]any{"errors": []any{map[string]any{"status": "429", "title": "Too Many"}}})
			return
		}
		doc := integrationDoc("vt_1")
		doc["data"].(map[string]any)["attributes"].(map[string]any)["secretish"] = "value-never-reported"
		writeJSON(w, 200, doc)
	}))
	rec := &recorder{}
	c := newKeyClient(t, ts.URL, func(cfg *Config) { cfg.Observe = rec.observe })
	if _, err := c.Integration(ctxT(t), "vt_1"); err != nil {
		t.Fatal(err)
	}
	xs := rec.all()
	if len(xs) != 2 {
		t.Fatalf("%d exchanges, want 2: %+v", len(xs), xs)
	}
	for i, x := range xs {
		if x.Endpoint != "GET /api/integrations/{id}" || x.Attempt != i+1 || x.Duration <= 0 || x.TLS != nil || x.Err != "" {
			t.Errorf("exchange %d: %+v", i, x)
		}
		if _, ok := x.RateLimit["Ratelimit-Policy"]; !ok {
			t.Errorf("exchange %d: rate-limit headers %v", i, x.RateLimit)
		}
		if _, ok := x.RateLimit["X-Secret-Header"]; ok {
			t.Errorf("exchange %d reports a header that is not a rate limit's", i)
		}
		b, _ := x.Shape.MarshalJSON()
		if x.Shape == nil || strings.Contains(string(b), "value-never-reported") || strings.Contains(string(b), "vt_1") {
			t.Errorf("exchange %d: shape %s", i, b)
		}
	}
	if xs[0].Status != 429 || xs[0].RateLimit["Retry-After"] != "0" || xs[0].RateLimit["X-Ratelimit-Remaining"] != "0" {
		t.Errorf("first exchange %+v", xs[0])
	}
	if xs[1].Status != 200 || xs[1].Shape.At("data", "attributes", "secretish") == nil {
		t.Errorf("second exchange %+v", xs[1])
	}

	// No answer: status 0 and the error, scrubbed of the key.
	rec = &recorder{}
	c = newKeyClient(t, "http://127.0.0.1:9", func(cfg *Config) { cfg.Observe = rec.observe; cfg.MaxAttempts = 1 })
	if _, err := c.Integrations(ctxT(t), false); err == nil {
		t.Fatal("no error from a closed port")
	}
	xs = rec.all()
	if len(xs) != 1 || xs[0].Status != 0 || xs[0].Err == "" || xs[0].Endpoint != "GET /api/integrations" || strings.Contains(xs[0].Err, testKey) {
		t.Errorf("exchanges %+v", xs)
	}
}

// TestObserveHostile: a server that echoes the key and the value sent, in a member name or a
// rate-limit header, gets neither into an Exchange.
func TestObserveHostile(t *testing.T) {
	const sent = "the-value-sent-0042"
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Policy", "limit for "+testKey)
		w.Header().Set("X-RateLimit-"+testKey, "1")
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{
			"id": "x_1-k", "type": "integration-option",
			"attributes": map[string]any{testKey: 1, "echo " + sent: true, "value": sent},
		}}})
	}))
	rec := &recorder{}
	c := newKeyClient(t, ts.URL, func(cfg *Config) { cfg.Observe = rec.observe })
	if _, err := c.Patch(ctxT(t), "x_1", []PatchItem{{Key: "k", Value: bulk.NewPayload(json.RawMessage(`"` + sent + `"`)), Sensitive: true}}); err != nil {
		t.Fatal(err)
	}
	xs := rec.all()
	if len(xs) != 1 {
		t.Fatalf("exchanges %+v", xs)
	}
	b, _ := xs[0].Shape.MarshalJSON()
	all := fmt.Sprintf("%+v %s", xs[0], b)
	for _, secret := range []string{testKey, sent, strings.ToUpper(testKey[:1]) + testKey[1:]} {
		if strings.Contains(all, secret) {
			t.Errorf("the exchange holds %q: %s", secret, all)
		}
	}
	if xs[0].Shape.At("data", "", "attributes").Hidden != 2 || !strings.Contains(xs[0].RateLimit["Ratelimit-Policy"], "(redacted)") ||
		xs[0].RateLimit["(another rate-limit header)"] != "1" {
		t.Errorf("exchange %s", all)
	}
}

func TestEndpoint(t *testing.T) {
	for path, want := range map[string]string{
		"/api/integrations":                    "GET /api/integrations",
		"/api/integrations/vt_1":               "GET /api/integrations/{id}",
		"/api/integration-options/vt_1-apiKey": "GET /api/integration-options/{id}",
		"/api/integration-options":             "GET /api/integration-options",
		"/api/openapi":                         "GET /api/openapi",
	} {
		if got := endpoint("GET", path); got != want {
			t.Errorf("endpoint(%s) = %s, want %s", path, got, want)
		}
	}
}

// TestObserveTLS: the certificate chain is described when verified with --ca-cert; without
// verification the client still says why the chain would fail; a refused chain is described
// from the handshake's error.
func TestObserveTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(okHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	read := func(mod func(*Config)) (Exchange, error) {
		rec := &recorder{}
		c := newKeyClient(t, ts.URL, func(cfg *Config) { cfg.Observe = rec.observe; mod(cfg) })
		_, err := c.Integration(ctxT(t), "vt_1")
		xs := rec.all()
		if len(xs) != 1 || xs[0].TLS == nil {
			t.Fatalf("exchanges %+v", xs)
		}
		return xs[0], err
	}
	x, err := read(func(cfg *Config) { cfg.CACertFile = caFile })
	if err != nil || !x.TLS.Verified || x.TLS.VerifyError != "" || x.TLS.Chain < 1 || x.TLS.NotAfter.Before(time.Now()) || !strings.HasPrefix(x.TLS.Version, "TLS 1.") {
		t.Errorf("with the CA: %+v %v", x.TLS, err)
	}
	x, err = read(func(cfg *Config) { cfg.InsecureSkipVerify = true })
	if err != nil || x.TLS.Verified || !strings.Contains(x.TLS.VerifyError, "unknown authority") {
		t.Errorf("insecure: %+v %v", x.TLS, err)
	}
	x, err = read(func(cfg *Config) {})
	if err == nil || x.Status != 0 || x.TLS.Verified || x.TLS.Chain < 1 || x.TLS.VerifyError == "" {
		t.Errorf("refused chain: %+v %v", x.TLS, err)
	}
}

// TestAuthInfo: an API key that is a JWT tells its expiry; any other key does not; a login
// takes the token's lifetime from the answer.
func TestAuthInfo(t *testing.T) {
	exp := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","exp":` + strconv.FormatInt(exp.Unix(), 10) + `}`))
	jwt := "eyJhbGciOiJIUzI1NiJ9." + payload + ".c2lnbmF0dXJl"
	c := newKeyClient(t, "https://polarity.test", func(cfg *Config) { cfg.APIKey = jwt })
	if a := c.Auth(); a.Method != "api-key" || !a.Expires.Equal(exp) {
		t.Errorf("jwt key: %+v, want expiry %v", a, exp)
	}
	c = newKeyClient(t, "https://polarity.test", nil)
	if a := c.Auth(); a.Method != "api-key" || !a.Expires.IsZero() {
		t.Errorf("plain key: %+v", a)
	}
	for _, bad := range []string{"a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".c"} {
		if _, ok := jwtExpiry(bad); ok {
			t.Errorf("jwtExpiry(%q) found an expiry", bad)
		}
	}

	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/users/login" {
			writeJSON(w, 200, map[string]any{"data": map[string]any{"token": "tok-123456", "expiration_time": time.Now().Add(time.Hour).Unix()}})
			return
		}
		writeJSON(w, 200, integrationDoc("vt_1"))
	}))
	lc, err := New(Config{URL: ts.URL, Username: "u", Password: "p-123456", Rate: 1000, Burst: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Integration(ctxT(t), "vt_1"); err != nil {
		t.Fatal(err)
	}
	if a := lc.Auth(); a.Method != "login" || a.Lifetime < 59*time.Minute || a.Lifetime > time.Hour+time.Second || a.Expires.IsZero() {
		t.Errorf("login: %+v", a)
	}
}

// TestPageHelpers: IntegrationsPage sends the size and number asked and gives the total;
// RefusedPageSize tells a refused size from other errors.
func TestPageHelpers(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("page[size]") != "2" || q.Get("page[number]") != "3" {
			writeJSON(w, 400, map[string]any{"errors": []any{map[string]any{"title": "bad page"}}})
			return
		}
		doc := renderIntegrations("attributes-flat", []string{"a_1", "b_2"}, standardOptions())
		doc["meta"] = map[string]any{"page": map[string]any{"total": 6}}
		writeJSON(w, 200, doc)
	}))
	c := newKeyClient(t, ts.URL, nil)
	p, err := c.IntegrationsPage(ctxT(t), 2, 3)
	if err != nil || len(p.Integrations) != 2 || p.Total != 6 {
		t.Fatalf("page %+v %v", p, err)
	}
	_, err = c.IntegrationsPage(ctxT(t), 1000, 1)
	if !RefusedPageSize(err) {
		t.Errorf("400 not a refused size: %v", err)
	}
	if RefusedPageSize(errors.New("other")) || RefusedPageSize(&Error{HTTPStatus: 503}) {
		t.Error("other errors count as a refused size")
	}
	if got := PageSizes(); !slices.Equal(got, pageSizes) {
		t.Errorf("PageSizes %v", got)
	}
}
