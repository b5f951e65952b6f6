package fake

import (
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
)

// TestOpenAPI: GET /api/openapi serves a document the client reads, declaring the PATCH body
// the fake accepts; every path it declares is one the fake routes; it can be switched off
// (404) or told to declare another resource type.
func TestOpenAPI(t *testing.T) {
	srv := newTiny(t, Config{})
	r := call(t, srv, "GET", "/api/openapi", "", "")
	if r.status != 200 || get(t, r.doc, "openapi") != "3.0.3" || get(t, r.doc, "info", "version") != OpenAPIVersion {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	info, err := api.ParseOpenAPI(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != OpenAPIVersion || info.Patch == nil ||
		!slices.Equal(info.Patch.Types, []string{TypeSingular, TypePlural}) ||
		!slices.Equal(info.Patch.Attributes, []string{"admin-only", "user-can-edit", "value"}) || !info.Patch.Closed {
		t.Errorf("declaration %+v", info.Patch)
	}
	if mm := info.Patch.Mismatches(); len(mm) != 0 {
		t.Errorf("the fake's own document disagrees with the client: %q", mm)
	}
	paths := get(t, r.doc, "paths").(map[string]any)
	for p, item := range paths {
		for method := range item.(map[string]any) {
			target := strings.ReplaceAll(p, "{id}", alpha+"-apiKey")
			if strings.HasPrefix(p, "/api/integrations/") {
				target = strings.ReplaceAll(p, "{id}", alpha)
			}
			got := call(t, srv, strings.ToUpper(method), target, tinyKey, "")
			if got.status == 404 && strings.Contains(string(got.raw), "no route") {
				t.Errorf("the document declares %s %s, which the fake does not route", method, p)
			}
		}
	}
	if len(paths) < 8 {
		t.Errorf("only %d paths declared", len(paths))
	}

	cfg := srv.Config()
	cfg.OpenAPIPatchType = TypePlural
	if err := srv.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	r = call(t, srv, "GET", "/api/openapi", "", "")
	info, err = api.ParseOpenAPI(r.raw)
	if err != nil || !slices.Equal(info.Patch.Types, []string{TypePlural}) || len(info.Patch.Mismatches()) != 1 {
		t.Errorf("declared plural only: %+v %v", info.Patch, err)
	}

	cfg.OpenAPI = OpenAPIOff
	if err := srv.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if r := call(t, srv, "GET", "/api/openapi", tinyKey, ""); r.status != 404 {
		t.Errorf("switched off: status %d", r.status)
	}
	if r := call(t, srv, "POST", "/api/openapi", "", "{}"); r.status != 405 {
		t.Errorf("POST: status %d", r.status)
	}
	cfg.OpenAPI = "maybe"
	if err := srv.SetConfig(cfg); err == nil || !strings.Contains(err.Error(), `openapi "maybe"`) {
		t.Errorf("bad openapi mode: %v", err)
	}
}
