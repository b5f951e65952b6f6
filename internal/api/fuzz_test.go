package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The fuzz targets feed arbitrary server answers to the client: it must never panic, never
// hang, never put a credential or a value it sent into an error, and what it returns must
// keep the invariants the planner relies on. Seeds are in testdata/fuzz; run one with
//
//	go test -run '^$' -fuzz '^FuzzIntegrations$' -fuzztime 60s ./internal/api

// fuzzKey is the API key of the fuzzed clients; no error may hold it.
const fuzzKey = "fuzz-api-key-5f9c2e71"

// fuzzSecret is an option value the fuzzed PATCH sends; no error may hold it.
const fuzzSecret = "fuzz-secret-value-81d3"

// contentTypes are the Content-Type headers a fuzz input picks from by index.
var contentTypes = []string{
	"application/vnd.api+json", "application/json", "", "text/html", "text/plain",
	"application/problem+json", "application/json; charset=utf-8", "text/plain; charset=\"",
}

// answer is one canned HTTP answer.
type answer struct {
	status int
	ct     string
	body   []byte
}

func newAnswer(status uint16, ct uint8, body []byte) answer {
	s := int(status)%500 + 100 // 100..599
	return answer{status: s, ct: contentTypes[int(ct)%len(contentTypes)], body: body}
}

// fuzzTransport answers every request in memory with pick's answer for it.
type fuzzTransport struct {
	pick func(*http.Request) answer
}

func (t fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	a := t.pick(req)
	h := http.Header{}
	if a.ct != "" {
		h.Set("Content-Type", a.ct)
	}
	return &http.Response{
		StatusCode: a.status, Status: http.StatusText(a.status), Header: h,
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)),
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

// fuzzClient is a client on pick with no retries (a retry only sends the same answer again,
// after a sleep), a rate that never waits, and a bounded response size so that each input
// stays fast.
func fuzzClient(t *testing.T, pick func(*http.Request) answer, mod func(*Config)) *Client {
	cfg := Config{
		URL: "https://polarity.fuzz", APIKey: fuzzKey, Rate: 1e9, Burst: 1000,
		Timeout: 5 * time.Second, MaxAttempts: 1, Transport: fuzzTransport{pick},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.maxBody = 1 << 20
	return c
}

// fuzzCtx bounds one input: a parse that does not end is a hang, reported as such.
func fuzzCtx(t *testing.T) (context.Context, func()) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// checkErr fails when err holds a credential or a value sent, or when a hang ended it.
func checkErr(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: %v", err)
	}
	msg := err.Error()
	for _, s := range append([]string{fuzzKey}, secrets...) {
		if strings.Contains(msg, s) {
			t.Fatalf("error holds secret %q: %s", s, msg)
		}
	}
	if len(msg) > 64<<10 {
		t.Fatalf("error of %d bytes", len(msg))
	}
}

// checkIntegrations checks what the planner relies on: ids present and unique, option keys
// present and unique per integration, and a password that reads as masked never readable.
func checkIntegrations(t *testing.T, ins []bulk.Integration) {
	t.Helper()
	ids := map[string]bool{}
	for _, in := range ins {
		if in.ID == "" {
			t.Fatalf("integration without id: %+v", in)
		}
		if ids[in.ID] {
			t.Fatalf("integration %q twice", in.ID)
		}
		ids[in.ID] = true
		keys := map[string]bool{}
		for _, o := range in.Options {
			if o.Key == "" {
				t.Fatalf("%s: option without key", in.ID)
			}
			if keys[o.Key] {
				t.Fatalf("%s: option %q twice", in.ID, o.Key)
			}
			keys[o.Key] = true
			if o.Readable && o.Value == nil {
				t.Fatalf("%s %s: readable without a value", in.ID, o.Key)
			}
			if !o.Readable && o.Value != nil {
				t.Fatalf("%s %s: unreadable with a value", in.ID, o.Key)
			}
			if o.Readable && !json.Valid(o.Value) {
				t.Fatalf("%s %s: value %q is not JSON", in.ID, o.Key, o.Value)
			}
			if o.Kind == bulk.KindPassword && o.Readable && hidden(o.Value) {
				t.Fatalf("%s %s: masked password %s counted readable", in.ID, o.Key, o.Value)
			}
			for _, c := range o.Choices {
				if !json.Valid(c.Value) {
					t.Fatalf("%s %s: choice value %q is not JSON", in.ID, o.Key, c.Value)
				}
			}
		}
	}
}

// listSeeds are real answers of GET /api/integrations in the shapes polarity-api.md allows.
var listSeeds = []string{
	`{"data":[{"type":"integrations","id":"vt_1","attributes":{"name":"VirusTotal","status":"running"},"relationships":{"integration-options":{"data":[{"type":"integration-option","id":"vt_1-apiKey"},{"type":"integration-option","id":"vt_1-sev"}]}}}],"included":[{"type":"integration-option","id":"vt_1-apiKey","attributes":{"key":"apiKey","option-type":"password","value":"********","admin-only":false,"user-can-edit":true}},{"type":"integration-option","id":"vt_1-sev","attributes":{"key":"sev","option-type":"select","value":{"value":"low","display":"Low"},"options":[{"value":"low","display":"Low"},{"value":"high","display":"High"}],"multiple":false}}],"meta":{"page":{"total":1}}}`,
	`{"data":[{"type":"integrations","id":"ab_2","attributes":{"name":"AbuseIPDB","status":"stopped","integration-options":[{"id":"ab_2-maxAge","key":"maxAge","type":"number","value":365,"admin-only":true,"user-can-edit":false},{"id":"ab_2-apiKey","key":"apiKey","type":"password"}]}}],"meta":{"page":{"total":"1"}}}`,
	`{"data":{"type":"integrations","id":7,"attributes":{"name":"x","options":{"k":{"type":"boolean","value":"true","adminOnly":"1"}}}}}`,
	`{"data":[{"type":"integrations","id":"a","attributes":{}},{"type":"integrations","id":"a"}],"included":[{"type":"integration-options","id":"a-k","relationships":{"integration":{"data":{"id":"a","type":"integrations"}}},"attributes":{"kind":"text","value":null}}],"meta":{"total":2}}`,
	`{"errors":[{"status":"422","title":"Invalid","detail":"bad","source":{"pointer":"/data/0/attributes/value"},"meta":{"errors":["nested",{"title":"deeper"}]}}]}`,
	`<html><body>Sign in</body></html>`,
	`{"data":[`,
	``,
}

// FuzzIntegrations fuzzes the list answer, first page and later pages, with any status and
// content type.
func FuzzIntegrations(f *testing.F) {
	for i, s := range listSeeds {
		f.Add(uint16(100), uint8(0), []byte(s), []byte(listSeeds[(i+1)%len(listSeeds)]), false)
	}
	f.Add(uint16(322), uint8(1), []byte(`{"errors":[{"title":"page too large"}]}`), []byte(listSeeds[0]), true)
	f.Add(uint16(403), uint8(4), []byte("upstream said "+fuzzKey), []byte(nil), false)
	f.Fuzz(func(t *testing.T, status uint16, ct uint8, first, later []byte, running bool) {
		a1, a2 := newAnswer(status, ct, first), newAnswer(100, ct, later)
		c := fuzzClient(t, func(r *http.Request) answer {
			if r.URL.Query().Get("page[number]") == "1" {
				return a1
			}
			return a2
		}, nil)
		ctx, cancel := fuzzCtx(t)
		defer cancel()
		ins, err := c.Integrations(ctx, running)
		checkErr(t, err)
		if err == nil {
			checkIntegrations(t, ins)
			for _, in := range ins {
				if running && !in.Running() {
					t.Fatalf("running only, yet %s is %q", in.ID, in.Status)
				}
			}
		}
	})
}

// FuzzIntegration fuzzes the answer of GET /api/integrations/<id>.
func FuzzIntegration(f *testing.F) {
	for _, s := range listSeeds {
		f.Add(uint16(100), uint8(0), []byte(strings.ReplaceAll(s, "vt_1", "fuzz_id")))
	}
	f.Add(uint16(304), uint8(0), []byte(`{"errors":[{"title":"Not Found"}]}`))
	f.Fuzz(func(t *testing.T, status uint16, ct uint8, body []byte) {
		a := newAnswer(status, ct, body)
		c := fuzzClient(t, func(*http.Request) answer { return a }, nil)
		ctx, cancel := fuzzCtx(t)
		defer cancel()
		in, err := c.Integration(ctx, "fuzz_id")
		checkErr(t, err)
		if err == nil {
			if in.ID != "fuzz_id" {
				t.Fatalf("asked for fuzz_id, got %q", in.ID)
			}
			checkIntegrations(t, []bulk.Integration{in})
		}
	})
}

// FuzzPatchAnswer fuzzes the answer to a PATCH: success forms, JSON:API errors whose pointers
// name the items sent, and servers that echo the request. The value sent never appears in
// the error, and every error item's key is one of the keys sent.
func FuzzPatchAnswer(f *testing.F) {
	f.Add(uint16(100), uint8(0), []byte(`{"data":[{"id":"fuzz_id-apiKey","type":"integration-option","attributes":{"value":"x"}}]}`))
	f.Add(uint16(104), uint8(0), []byte(nil))
	f.Add(uint16(322), uint8(0), []byte(`{"errors":[{"status":"422","title":"Invalid option value","detail":"`+fuzzSecret+` is not allowed","source":{"pointer":"/data/1/attributes/value"}},{"source":{"pointer":"/data/99"}},{"source":{"pointer":"/data/-1"}}]}`))
	f.Add(uint16(300), uint8(0), []byte(`{"errors":[{"title":"Failed to update integration options","detail":"Integration is not running"}]}`))
	f.Add(uint16(403), uint8(4), []byte(`upstream failed on {"data":[{"attributes":{"value":"`+fuzzSecret+`"}}]}`))
	f.Add(uint16(100), uint8(3), []byte(`<html>saved `+fuzzSecret+`</html>`))
	f.Add(uint16(100), uint8(1), []byte(`{"data": [`+fuzzSecret))
	f.Add(uint16(322), uint8(0), []byte(`{"errors":[{"title":"`+strings.Repeat("\\u0000", 40)+`","detail":"fuzz-secret-\u0001value-81d3"}]}`))
	f.Fuzz(func(t *testing.T, status uint16, ct uint8, body []byte) {
		a := newAnswer(status, ct, body)
		c := fuzzClient(t, func(*http.Request) answer { return a }, nil)
		ctx, cancel := fuzzCtx(t)
		defer cancel()
		flags := bulk.Permission{AdminOnly: true}
		items := []PatchItem{
			{Key: "url", Value: bulk.NewPayload(json.RawMessage(`"https://x.example"`))},
			{Key: "apiKey", Value: bulk.NewPayload(json.RawMessage(`"` + fuzzSecret + `"`)), Permission: &flags, Sensitive: true},
		}
		out, err := c.Patch(ctx, "fuzz_id", items)
		checkErr(t, err, fuzzSecret)
		if out.Attempts != 1 {
			t.Fatalf("%d attempts with retries off", out.Attempts)
		}
		var e *Error
		if errors.As(err, &e) {
			for _, it := range e.Items {
				if it.Key != "" && it.Key != "url" && it.Key != "apiKey" {
					t.Fatalf("error item points at key %q, which was not sent", it.Key)
				}
			}
			if len(e.Items) > maxItems {
				t.Fatalf("%d error items kept", len(e.Items))
			}
		}
	})
}

// FuzzLogin fuzzes the answers to a password login and to the request it is for: the token
// forms, expiry forms, refusals. The password never appears in an error.
func FuzzLogin(f *testing.F) {
	const password = "fuzz-password-c0a1e7"
	f.Add(uint16(100), uint8(0), []byte(`{"data":{"token":"tok-1","expiration_time":1999999999,"users":{}}}`))
	f.Add(uint16(100), uint8(0), []byte(`{"data":{"attributes":{"token":"tok-2","expiration-time":"1999999999000"}}}`))
	f.Add(uint16(100), uint8(0), []byte(`{"token":"tok-3"}`))
	f.Add(uint16(100), uint8(0), []byte(`{"data":{"token":"","expiration_time":-5}}`))
	f.Add(uint16(301), uint8(0), []byte(`{"errors":[{"title":"Unauthorized","detail":"bad password `+password+`"}]}`))
	f.Add(uint16(100), uint8(3), []byte(`<html>login `+password+`</html>`))
	f.Fuzz(func(t *testing.T, status uint16, ct uint8, body []byte) {
		a := newAnswer(status, ct, body)
		c := fuzzClient(t, func(r *http.Request) answer {
			if strings.HasPrefix(r.URL.Path, "/api/users/") {
				return a
			}
			return answer{status: 200, ct: mediaType, body: []byte(`{"data":[]}`)}
		}, func(cfg *Config) { cfg.APIKey, cfg.Username, cfg.Password = "", "fuzzer", password })
		ctx, cancel := fuzzCtx(t)
		defer cancel()
		_, err := c.Integrations(ctx, false)
		checkErr(t, err, password)
		err = c.Close(ctx)
		checkErr(t, err, password)
	})
}

// FuzzRetryAfter: any Retry-After header gives a wait between 0 and a century.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "2.5", "-3", "NaN", "Inf", "1e300", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Monday, 01-Jan-99 00:00:00 GMT", " 120 "} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, h string) {
		d, ok := retryAfter(h, now)
		if ok && (d <= 0 || d > maxRetryAfter) {
			t.Fatalf("Retry-After %q: wait %s", h, d)
		}
		if !ok && d != 0 {
			t.Fatalf("Retry-After %q: no wait but %s", h, d)
		}
	})
}
