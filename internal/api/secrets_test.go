package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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
	logs := &logBuffer{}
	c, err := New(Config{URL: ts.URL, Username: testUser, Password: testPass, Logger: debugLogger(logs), Retries: 1, Rate: 1000, Burst: 10})
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
		_, err := c.Patch(ctx, id, []PatchItem{{Key: "apiKey", Value: payload(string(value)), Flags: &lockHide}})
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
	c3, _ := New(Config{URL: ts.URL, APIKey: testKey, Logger: debugLogger(logs), Retries: -1})
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
