package api

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// TestSecretsNeverLeak drives every path that builds an error or a log record, with a server
// that echoes secrets back wherever it can, and checks that no token, key, password or option
// value reaches an error string or a Debug-level log.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		token     = "tok-SECRET-7a6b5c4d3e2f"
		optionVal = "val-SECRET-xyz-42"
		optionOld = "pw-OPTION-SECRET-99"
	)
	secrets := []string{token, optionVal, optionOld, testPass, testKey}

	loginBroken := false
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// Echo every secret the client knows of: its credentials, the password value it
		// read, and the request it sent (with the value it sets).
		echo := strings.Join([]string{token, testPass, optionOld, string(body)}, " ")
		if r.Header.Get("Authorization") == "Bearer "+testKey {
			echo = testKey + " " + string(body)
		}
		switch {
		case r.URL.Path == "/api/users/login" && loginBroken:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"data":{"token":"`+token+`", broken`)
		case r.URL.Path == "/api/users/login":
			writeJSON(w, 200, map[string]any{"data": map[string]any{"token": token, "expiration_time": time.Now().Add(time.Hour).Unix()}})
		case r.URL.Path == "/api/users/logout":
			writeJSON(w, 500, map[string]any{"errors": []any{map[string]any{"title": "logout failed for " + echo}}})
		case r.URL.Path == "/api/integrations/good":
			doc := renderIntegrations("included-linked", []string{"good"}, []optSpec{{key: "apiKey", kind: "password", value: optionOld, hasValue: true}})
			doc["data"] = doc["data"].([]any)[0]
			writeJSON(w, 200, doc)
		case r.URL.Path == "/api/integrations/broken":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"data":{"id":"broken","attributes":{"options":[{"key":"apiKey","value":"`+optionOld+`"}`)
		case r.URL.Path == "/api/integrations/html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>your session "+echo+"</html>")
		case r.URL.Path == "/api/integrations/straddle":
			// A secret across the 200-byte cut of the quoted body must not leave its start.
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>"+strings.Repeat("x", 185)+token+"</html>")
		case r.URL.Path == "/api/integrations/text":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(400)
			io.WriteString(w, "bad request with "+echo)
		case r.URL.Path == "/api/integration-options" && strings.Contains(string(body), "html_1"):
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>"+echo+"</html>")
		case r.URL.Path == "/api/integration-options" && strings.Contains(string(body), "retry_1"):
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 503, map[string]any{"errors": []any{map[string]any{"title": echo}}})
		case r.URL.Path == "/api/integration-options":
			writeJSON(w, 422, map[string]any{"errors": []any{map[string]any{
				"title": "Invalid value " + optionVal, "detail": "sent " + echo,
				"source": map[string]any{"pointer": "/data/0/attributes/value"},
				"meta":   map[string]any{"errors": []any{"echo " + echo}},
			}}})
		default:
			http.NotFound(w, r)
		}
	})
	ts := newTestServer(t, h)
	logs := &testkit.Buffer{}
	c, err := New(Config{URL: ts.URL, Username: testUser, Password: testPass, Logger: debugLogger(logs), MaxAttempts: 1 + 1, Rate: 1000, Burst: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	in, err := c.Integration(ctx, "good")
	collect(err)
	if o, _ := in.Option("apiKey"); !o.Readable {
		t.Fatalf("setup: %+v %v", in, err)
	}
	for _, id := range []string{"broken", "html", "straddle", "text"} {
		_, err := c.Integration(ctx, id)
		if err == nil {
			t.Errorf("%s: no error", id)
		}
		collect(err)
	}
	value, _ := json.Marshal(optionVal)
	for _, id := range []string{"vt_1", "html_1", "retry_1"} {
		_, err := c.Patch(ctx, id, []PatchItem{{Key: "apiKey", Value: payload(string(value)), Permission: &lockHide, Sensitive: true}})
		if err == nil {
			t.Errorf("%s: no error", id)
		}
		collect(err)
	}
	collect(c.Close(ctx))

	loginBroken = true
	c2, _ := New(Config{URL: ts.URL, Username: testUser, Password: testPass, Logger: debugLogger(logs)})
	_, err = c2.Integration(ctx, "good")
	if err == nil {
		t.Error("broken login accepted")
	}
	collect(err)
	c3, _ := New(Config{URL: ts.URL, APIKey: testKey, Logger: debugLogger(logs), MaxAttempts: 1})
	_, err = c3.Integration(ctx, "text")
	collect(err)

	var all strings.Builder
	for _, err := range errs {
		fmt.Fprintf(&all, "%v\n%+v\n%#v\n", err, err, err)
	}
	all.WriteString(logs.String())
	for _, s := range secrets {
		if strings.Contains(all.String(), s) || strings.Contains(all.String(), s[:8]) {
			t.Errorf("secret %q leaked:\n%s", s, all.String())
		}
	}
	if len(errs) != 10 {
		t.Errorf("%d errors, want 10", len(errs))
	}
	if !strings.Contains(all.String(), "(redacted)") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("the test did not exercise scrubbing or logging:\n%s", all.String())
	}
	t.Logf("errors and logs:\n%s", all.String())
}

// echoForms are the ways a server writes a value it echoes into an error's text: as it is,
// in encoding/json's HTML-safe JSON, in JSON.stringify's plain JSON (a Node server), and in
// ASCII-only JSON with \u escapes of everything else (Python, PHP).
var echoForms = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"go-json", func(s string) string { b, _ := json.Marshal(s); return string(b) }},
	{"js-stringify", func(s string) string { return testkit.JSStringify(s, false) }},
	{"ascii-json", func(s string) string { return testkit.JSStringify(s, true) }},
}

// TestHostileSecretEchoes sends each of the hostile secrets as a sensitive value and has the
// server echo it back in every form, in every place an answer has: the title and detail of
// a JSON:API error, its nested meta.errors (objects and bare strings), a text/plain and an
// HTML body, the Content-Type header and a redirect's Location. No error text and no log line
// at debug level may hold any part of any secret.
func TestHostileSecretEchoes(t *testing.T) {
	secrets := testkit.Hostile()
	key := `key"<&>\` + testkit.NewMarker() // an API key is a header: no control characters
	var mu sync.Mutex
	sent := map[string]string{} // integration id -> the value its PATCH carried
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.Method == http.MethodGet {
			// A read: the id says which secret to put in a redirect loop's Location.
			id := strings.TrimPrefix(r.URL.Path, "/api/integrations/")
			mu.Lock()
			v := sent[id]
			mu.Unlock()
			http.Redirect(w, r, "/api/integrations/"+id+"?echo="+url.QueryEscape(v+auth), http.StatusFound)
			return
		}
		var doc struct {
			Data []struct {
				ID         string `json:"id"`
				Attributes struct {
					Value string `json:"value"`
				} `json:"attributes"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &doc) != nil || len(doc.Data) == 0 {
			http.Error(w, "bad", 400)
			return
		}
		id, _, _ := strings.Cut(doc.Data[0].ID, "-")
		v := doc.Data[0].Attributes.Value
		mu.Lock()
		sent[id] = v
		mu.Unlock()
		var n int
		fmt.Sscanf(id, "s%d", &n)
		form := echoForms[n%len(echoForms)]
		echo := form.enc(v) + " with key " + form.enc(auth)
		switch mode := n / len(echoForms) % 5; mode {
		case 0: // a Node server: detail: "invalid: " + JSON.stringify(attributes)
			writeJSON(w, 422, map[string]any{"errors": []any{map[string]any{
				"title": "Invalid value " + echo, "detail": `invalid: {"value":` + form.enc(v) + `}`,
				"source": map[string]any{"pointer": "/data/0/attributes/value"},
			}}})
		case 1: // nested meta.errors, objects and bare strings, three deep
			writeJSON(w, 400, map[string]any{"errors": []any{map[string]any{
				"title": "Validation failed",
				"meta": map[string]any{"errors": []any{
					"bare " + echo,
					map[string]any{"detail": echo, "meta": map[string]any{"errors": []any{
						map[string]any{"title": "deeper " + echo},
					}}},
				}},
			}}})
		case 2: // a proxy's text page
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(502)
			io.WriteString(w, "upstream refused "+echo)
		case 3: // a login portal's HTML under a 200
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>saved "+html.EscapeString(v)+" and "+echo+"</html>")
		case 4: // the value in a header
			w.Header().Set("Content-Type", "text/html; note="+url.QueryEscape(v)+"; also="+testkit.JSStringify(v+auth, true))
			io.WriteString(w, "{}")
		}
	})
	ts := newTestServer(t, h)
	logs := &testkit.Buffer{}
	c := newKeyClient(t, ts.URL, func(cfg *Config) { cfg.APIKey = key; cfg.Logger = debugLogger(logs); cfg.MaxAttempts = 1 })
	var all strings.Builder
	for i, s := range secrets {
		id := fmt.Sprintf("s%d", i)
		raw, _ := json.Marshal(s.Value)
		_, err := c.Patch(ctxT(t), id, []PatchItem{{Key: "apiKey", Value: payload(string(raw)), Sensitive: true}})
		if err == nil {
			t.Errorf("%s: patch accepted", s.Name)
		}
		fmt.Fprintf(&all, "%v\n%+v\n", err, err)
		_, err = c.Integration(ctxT(t), id)
		if err == nil {
			t.Errorf("%s: a redirect loop accepted", s.Name)
		}
		fmt.Fprintf(&all, "%v\n", err)
	}
	all.WriteString(logs.String())
	out := all.String()
	for _, l := range testkit.Search([]testkit.Place{{Name: "errors and logs", Text: out}}, append(secrets, testkit.Secret{Name: "api key", Marker: key[len(key)-22:]})) {
		t.Error(l)
	}
	if n := strings.Count(out, Redacted); n < 2*len(secrets) {
		t.Errorf("only %d redactions in:\n%s", n, out)
	}
	t.Logf("%d secrets × %d echo forms × 5 places; errors and logs: %d bytes, %d redactions", len(secrets), len(echoForms), len(out), strings.Count(out, Redacted))
}

// TestScrubKeepsWhatTheUserSent: only sensitive values are scrubbed from the server's answer;
// a URL the server refused is named, so the user can see which.
func TestScrubKeepsWhatTheUserSent(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		writeJSON(w, 422, map[string]any{"errors": []any{map[string]any{
			"title": "Invalid", "detail": "invalid: " + string(body),
			"source": map[string]any{"pointer": "/data/0/attributes/value"},
		}}})
	}))
	c := newKeyClient(t, ts.URL, nil)
	_, err := c.Patch(ctxT(t), "vt_1", []PatchItem{
		{Key: "url", Value: payload(`"https://not a url.example/<x>"`)},
		{Key: "apiKey", Value: payload(`"pw-\"<sensitive>\"-1234"`), Sensitive: true},
	})
	msg := fmt.Sprint(err)
	if !strings.Contains(msg, `https://not a url.example/\u003cx\u003e`) {
		t.Errorf("the non-sensitive value is gone: %s", msg)
	}
	if strings.Contains(msg, "sensitive>") || !strings.Contains(msg, Redacted) {
		t.Errorf("the sensitive value is not scrubbed: %s", msg)
	}
	if strings.Contains(msg, testKey) {
		t.Errorf("the key leaked: %s", msg)
	}
}
