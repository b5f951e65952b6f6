package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// TestParseOpenAPI reads the PATCH declaration in the forms OpenAPI allows: inline, through
// $refs, composed with allOf/oneOf, as a const, Swagger 2's body parameter, paths relative to
// a server URL; and tolerates documents that declare nothing or loop.
func TestParseOpenAPI(t *testing.T) {
	cases := []struct {
		name        string
		doc         string
		version     string
		declared    bool
		types       []string
		attrs       []string
		closed      bool
		mismatches  int
		errContains string
	}{
		{
			name: "inline",
			doc: `{"openapi":"3.0.3","info":{"version":"5.5.0"},"paths":{"/api/integration-options":{"patch":{"requestBody":{"content":{"application/vnd.api+json":{"schema":
				{"type":"object","properties":{"data":{"type":"array","items":{"type":"object","properties":{
				"type":{"type":"string","enum":["integration-option"]},
				"attributes":{"type":"object","additionalProperties":false,"properties":{"value":{},"admin-only":{"type":"boolean"},"user-can-edit":{"type":"boolean"}}}}}}}}}}}}}}}`,
			version: "5.5.0", declared: true, types: []string{"integration-option"},
			attrs: []string{"admin-only", "user-can-edit", "value"}, closed: true,
		},
		{
			name: "refs and allOf, plural type",
			doc: `{"openapi":"3.1.0","info":{"version":"5.6"},"paths":{"/api/integration-options":{"patch":{"requestBody":{"$ref":"#/components/requestBodies/P"}}}},
				"components":{"requestBodies":{"P":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Doc"}}}}},
				"schemas":{"Doc":{"properties":{"data":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/Base"},{"properties":{"attributes":{"$ref":"#/components/schemas/Attrs"}}}]}}}},
				"Base":{"properties":{"id":{"type":"string"},"type":{"type":"string","enum":["integration-options"]}}},
				"Attrs":{"properties":{"value":{},"admin-only":{},"user-can-edit":{}}}}}}`,
			version: "5.6", declared: true, types: []string{"integration-options"},
			attrs: []string{"admin-only", "user-can-edit", "value"}, mismatches: 1,
		},
		{
			name: "const type, missing attribute",
			doc: `{"openapi":"3.1.0","info":{"version":"6.0.0"},"paths":{"/api/integration-options":{"patch":{"requestBody":{"content":{"application/vnd.api+json":{"schema":
				{"properties":{"data":{"items":{"properties":{"type":{"const":"integration-option"},"attributes":{"properties":{"value":{},"adminOnly":{},"userCanEdit":{}}}}}}}}}}}}}}}`,
			version: "6.0.0", declared: true, types: []string{"integration-option"},
			attrs: []string{"adminOnly", "userCanEdit", "value"}, mismatches: 1,
		},
		{
			name: "oneOf types",
			doc: `{"openapi":"3.0.0","info":{"version":"1"},"paths":{"/api/integration-options":{"patch":{"requestBody":{"content":{"application/vnd.api+json":{"schema":
				{"properties":{"data":{"items":{"properties":{"type":{"oneOf":[{"enum":["integration-options"]},{"const":"integration-option"}]}}}}}}}}}}}}}`,
			version: "1", declared: true, types: []string{"integration-options", "integration-option"},
		},
		{
			name: "swagger 2 body parameter, paths under basePath",
			doc: `{"swagger":"2.0","info":{"version":"5.4.1"},"basePath":"/api","paths":{"/integration-options":{"patch":{"parameters":[{"in":"body","name":"b","schema":
				{"properties":{"data":{"items":{"properties":{"type":{"enum":["integration-option"]},"attributes":{"properties":{"value":{},"admin-only":{},"user-can-edit":{}}}}}}}}}]}}}}`,
			version: "5.4.1", declared: true, types: []string{"integration-option"}, attrs: []string{"admin-only", "user-can-edit", "value"},
		},
		{
			name:    "no patch declared",
			doc:     `{"openapi":"3.0.0","info":{"version":"5.5.0"},"paths":{"/api/integrations":{"get":{}}}}`,
			version: "5.5.0",
		},
		{
			name:     "patch without a body schema",
			doc:      `{"openapi":"3.0.0","info":{},"paths":{"/api/integration-options":{"patch":{"responses":{}}}}}`,
			declared: true,
		},
		{
			name:     "looping refs",
			doc:      `{"openapi":"3.0.0","paths":{"/api/integration-options":{"patch":{"requestBody":{"$ref":"#/x"}}}},"x":{"$ref":"#/x"}}`,
			declared: true,
		},
		{
			name:     "allOf fanning out into itself",
			doc:      `{"openapi":"3.0.0","paths":{"/api/integration-options":{"patch":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/a"}}}}}}},"a":{"allOf":[{"$ref":"#/a"},{"$ref":"#/a"},{"$ref":"#/a"}]}}`,
			declared: true,
		},
		{name: "not openapi", doc: `{"data":[]}`, errContains: "not an OpenAPI document"},
		{name: "yaml", doc: "openapi: 3.0.0\n", errContains: "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := ParseOpenAPI([]byte(tc.doc))
			if tc.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errContains) {
					t.Fatalf("err %v, want %q", err, tc.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Version != tc.version {
				t.Errorf("version %q, want %q", info.Version, tc.version)
			}
			if (info.Patch != nil) != tc.declared {
				t.Fatalf("declared %v, want %v", info.Patch != nil, tc.declared)
			}
			if info.Patch == nil {
				return
			}
			if !slices.Equal(info.Patch.Types, tc.types) || !slices.Equal(info.Patch.Attributes, tc.attrs) || info.Patch.Closed != tc.closed {
				t.Errorf("declaration %+v, want types %v attributes %v closed %v", info.Patch, tc.types, tc.attrs, tc.closed)
			}
			if mm := info.Patch.Mismatches(); len(mm) != tc.mismatches {
				t.Errorf("mismatches %q, want %d", mm, tc.mismatches)
			}
		})
	}
}

// TestMismatchText: a mismatch names what the server declares and what the client sends.
func TestMismatchText(t *testing.T) {
	d := &PatchDeclaration{Types: []string{"integration-options"}, Attributes: []string{"value"}}
	mm := d.Mismatches()
	if len(mm) != 2 {
		t.Fatalf("mismatches %q", mm)
	}
	if !strings.Contains(mm[0], `declares "integration-options", the client sends "integration-option"`) {
		t.Errorf("type mismatch: %s", mm[0])
	}
	if !strings.Contains(mm[1], `"admin-only", "user-can-edit"`) {
		t.Errorf("attribute mismatch: %s", mm[1])
	}
	if (*PatchDeclaration)(nil).Mismatches() != nil || (&PatchDeclaration{}).Mismatches() != nil {
		t.Error("an undeclared body mismatches")
	}
}

// TestOpenAPIEndpoint: a 404 is ErrNotFound, a YAML answer ErrBadResponse, a JSON document is
// read.
func TestOpenAPIEndpoint(t *testing.T) {
	var answer atomic.Value
	answer.Store("")
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/openapi" {
			http.NotFound(w, r)
			return
		}
		switch answer.Load() {
		case "404":
			writeJSON(w, 404, map[string]any{"errors": []any{map[string]any{"title": "Not Found"}}})
		case "yaml":
			w.Header().Set("Content-Type", "application/yaml")
			w.Write([]byte("openapi: 3.0.0\n"))
		default:
			w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
			w.Write([]byte(`{"openapi":"3.0.0","info":{"version":"5.5.0"},"paths":{}}`))
		}
	}))
	c := newKeyClient(t, ts.URL, nil)
	info, err := c.OpenAPI(ctxT(t))
	if err != nil || info.Version != "5.5.0" || info.Patch != nil {
		t.Errorf("served: %+v %v", info, err)
	}
	answer.Store("404")
	if _, err := c.OpenAPI(ctxT(t)); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	answer.Store("yaml")
	if _, err := c.OpenAPI(ctxT(t)); !errors.Is(err, ErrBadResponse) {
		t.Errorf("yaml: %v", err)
	}
}
