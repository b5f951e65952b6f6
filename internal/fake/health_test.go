package fake

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// listed returns the ids of GET /api/integrations with query q (one page).
func listed(t *testing.T, h http.Handler, q string) (int, []string) {
	t.Helper()
	r := call(t, h, "GET", "/api/integrations?page[size]=100&"+q, tinyKey, "")
	if r.status != http.StatusOK {
		return r.status, nil
	}
	var ids []string
	for _, d := range r.doc["data"].([]any) {
		ids = append(ids, d.(map[string]any)["id"].(string))
	}
	slices.Sort(ids)
	return r.status, ids
}

// TestUnhealthyAfterChange: a PATCH that leaves an option at a rule's value gives the
// integration an integration error (seen through the errors filter) or stops it; a later
// PATCH that no longer matches takes the rule's error back, and other errors stay.
func TestUnhealthyAfterChange(t *testing.T) {
	srv := newTiny(t, Config{Unhealthy: []Unhealthy{{Key: "url", Value: "https://broken.example.invalid", Effect: EffectErrors}}})
	const errorsTrue = "filter[integration.integration-errors]=true"
	if _, ids := listed(t, srv, errorsTrue); !slices.Equal(ids, []string{alpha2}) {
		t.Fatalf("errors before: %v, want only %s", ids, alpha2)
	}
	patch := func(value string) {
		t.Helper()
		r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-url", `{"value":"` + value + `"}`}))
		if r.status != http.StatusOK {
			t.Fatalf("PATCH %s: %d %s", value, r.status, r.raw)
		}
	}
	patch("https://broken.example.invalid")
	if _, ids := listed(t, srv, errorsTrue); !slices.Equal(ids, []string{alpha, alpha2}) {
		t.Errorf("errors after the breaking change: %v", ids)
	}
	if _, ids := listed(t, srv, "filter[integration.integration-errors]=false"); slices.Contains(ids, alpha) {
		t.Errorf("=false still lists %s: %v", alpha, ids)
	}
	in, _ := srv.Integration(alpha)
	if len(in.Errors) != 1 || !strings.Contains(in.Errors[0], "option url") || in.Status != StatusRunning {
		t.Errorf("state %+v %v", in.Status, in.Errors)
	}
	patch("https://alpha.example.invalid")
	if _, ids := listed(t, srv, errorsTrue); !slices.Equal(ids, []string{alpha2}) {
		t.Errorf("errors after the change was undone: %v", ids)
	}

	srv = newTiny(t, Config{Unhealthy: []Unhealthy{{Integration: alpha, Key: "maxAge", Value: "7", Effect: EffectStop}}})
	r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-maxAge", `{"value":7}`}))
	if r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.status, r.raw)
	}
	if in, _ := srv.Integration(alpha); in.Status != StatusStopped {
		t.Errorf("status %q after the stopping change", in.Status)
	}
	r = call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-maxAge", `{"value":30}`}))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), "Integration is not running") {
		t.Errorf("a stopped integration took a change: %d %s", r.status, r.raw)
	}
}

// TestErrorsFilterModes: a server may honour the errors filter, ignore it (list everything)
// or refuse it.
func TestErrorsFilterModes(t *testing.T) {
	const q = "filter[integration.integration-errors]=true"
	if _, ids := listed(t, newTiny(t, Config{ErrorsFilter: ErrorsFilterIgnore}), q); len(ids) != 3 {
		t.Errorf("ignore: %v, want all three", ids)
	}
	if st, _ := listed(t, newTiny(t, Config{ErrorsFilter: ErrorsFilterRefuse}), q); st != http.StatusBadRequest {
		t.Errorf("refuse: status %d", st)
	}
	if _, err := New(&Fixture{}, Config{ErrorsFilter: "maybe"}); err == nil {
		t.Error("an unknown errors filter mode was accepted")
	}
}

func TestParseUnhealthy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Unhealthy
		err  string
	}{
		{"apiKey=broken-key:errors", Unhealthy{Key: "apiKey", Value: "broken-key", Effect: EffectErrors}, ""},
		{"url=https://x.invalid:8443/a:stop", Unhealthy{Key: "url", Value: "https://x.invalid:8443/a", Effect: EffectStop}, ""},
		{"maxAge=:errors", Unhealthy{Key: "maxAge", Value: "", Effect: EffectErrors}, ""},
		{"apiKey=x", Unhealthy{}, "effect"},
		{"apiKey=x:explode", Unhealthy{}, "effect"},
		{"=x:stop", Unhealthy{}, "want KEY=VALUE"},
		{"apiKey:stop", Unhealthy{}, "want KEY=VALUE"},
	} {
		got, err := ParseUnhealthy(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestControlUnhealthy: rules can be added and dropped at run time.
func TestControlUnhealthy(t *testing.T) {
	srv := newTiny(t, Config{})
	r := call(t, srv, "POST", "/_fake/unhealthy", "", `{"key":"url","value":"u","effect":"stop"}`)
	if r.status != http.StatusOK || len(srv.Config().Unhealthy) != 1 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	if r := call(t, srv, "POST", "/_fake/unhealthy", "", `{"key":"url","value":"u","effect":"melt"}`); r.status != http.StatusBadRequest {
		t.Errorf("a bad effect: %d", r.status)
	}
	if r := call(t, srv, "DELETE", "/_fake/unhealthy", "", ""); r.status != http.StatusNoContent || len(srv.Config().Unhealthy) != 0 {
		t.Errorf("drop: %d, %d rules left", r.status, len(srv.Config().Unhealthy))
	}
}
