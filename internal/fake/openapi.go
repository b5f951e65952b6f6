package fake

import "net/http"

// OpenAPIVersion is the info.version of the fake's OpenAPI document: the Polarity release
// whose API the fake models (API keys arrived in 5.5).
const OpenAPIVersion = "5.5.0"

// The values of Config.OpenAPI.
const (
	OpenAPIOn  = "on"  // GET /api/openapi serves the document
	OpenAPIOff = "off" // GET /api/openapi answers 404, as a server without the document would
)

// serveOpenAPI answers GET /api/openapi with a small OpenAPI 3 document of what the fake
// implements. It needs no credentials, as API documentation usually does not. The PATCH body
// declares the option resource types the fake accepts, or only cfg.OpenAPIPatchType when set,
// so that a test can make the document disagree with what the client sends.
func (s *Server) serveOpenAPI(w http.ResponseWriter, cfg Config) {
	if cfg.OpenAPI == OpenAPIOff {
		writeErrors(w, http.StatusNotFound, apiError{Title: "Not Found", Detail: "no route for GET /api/openapi"})
		return
	}
	types := []any{TypeSingular, TypePlural}
	if cfg.OpenAPIPatchType != "" {
		types = []any{cfg.OpenAPIPatchType}
	}
	obj := func(props map[string]any, required ...string) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			r := make([]any, len(required))
			for i, x := range required {
				r[i] = x
			}
			m["required"] = r
		}
		return m
	}
	str := map[string]any{"type": "string"}
	boolean := map[string]any{"type": "boolean"}
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	jsonAPI := func(schema map[string]any) map[string]any {
		return map[string]any{"content": map[string]any{MediaType: map[string]any{"schema": schema}}}
	}
	answer := func(desc string, schema map[string]any) map[string]any {
		a := map[string]any{"description": desc}
		if schema != nil {
			for k, v := range jsonAPI(schema) {
				a[k] = v
			}
		}
		return a
	}
	errorsDoc := ref("Errors")
	param := func(name, in string) map[string]any {
		return map[string]any{"name": name, "in": in, "required": in == "path", "schema": str}
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Polarity REST API (polarity-fake)", "version": OpenAPIVersion},
		"paths": map[string]any{
			"/api/users/login": map[string]any{"post": map[string]any{
				"summary":     "log in",
				"requestBody": jsonAPI(obj(map[string]any{"identification": str, "password": str}, "identification", "password")),
				"responses":   map[string]any{"200": answer("a session token", ref("Session")), "401": answer("wrong credentials", errorsDoc)},
			}},
			"/api/users/refresh": map[string]any{"get": map[string]any{
				"summary":   "refresh the session token",
				"responses": map[string]any{"200": answer("a new session token", ref("Session")), "401": answer("token refused", errorsDoc)},
			}},
			"/api/users/logout": map[string]any{"post": map[string]any{
				"summary":   "log out",
				"responses": map[string]any{"200": answer("logged out", nil)},
			}},
			"/api/integrations": map[string]any{"get": map[string]any{
				"summary": "list integrations with their options",
				"parameters": []any{
					param("page[size]", "query"), param("page[number]", "query"),
					param("filter[integration.status]", "query"), param("filter[integration.integration-errors]", "query"),
				},
				"responses": map[string]any{"200": answer("a page of integrations", nil), "401": answer("no or bad credentials", errorsDoc)},
			}},
			"/api/integrations/{id}": map[string]any{"get": map[string]any{
				"summary":    "one integration with its options",
				"parameters": []any{param("id", "path")},
				"responses":  map[string]any{"200": answer("the integration", nil), "404": answer("no such integration", errorsDoc)},
			}},
			"/api/integration-options/{id}": map[string]any{"get": map[string]any{
				"summary":    "one option",
				"parameters": []any{param("id", "path")},
				"responses":  map[string]any{"200": answer("the option", nil), "404": answer("no such option", errorsDoc)},
			}},
			"/api/integration-options": map[string]any{"patch": map[string]any{
				"summary":     "change options of one integration",
				"requestBody": jsonAPI(ref("IntegrationOptionsPatch")),
				"responses": map[string]any{
					"200": answer("the updated options", nil), "204": answer("updated", nil),
					"400": answer("bad document or integration not running", errorsDoc),
					"404": answer("no such option", errorsDoc), "422": answer("invalid value", errorsDoc),
				},
			}},
			"/api/openapi": map[string]any{"get": map[string]any{
				"summary":   "this document",
				"responses": map[string]any{"200": answer("the OpenAPI document", nil)},
			}},
		},
		"components": map[string]any{"schemas": map[string]any{
			"IntegrationOptionsPatch": obj(map[string]any{
				"data": map[string]any{"type": "array", "items": ref("IntegrationOptionPatch")},
			}, "data"),
			"IntegrationOptionPatch": obj(map[string]any{
				"id":   map[string]any{"type": "string", "description": "<integration id>-<option key>"},
				"type": map[string]any{"type": "string", "enum": types},
				"attributes": map[string]any{
					"type":                 "object",
					"additionalProperties": false,
					"properties": map[string]any{
						"value":         map[string]any{"description": "the option's value, by its kind"},
						"admin-only":    boolean,
						"user-can-edit": boolean,
					},
				},
			}, "id", "type"),
			"Session": obj(map[string]any{"data": obj(map[string]any{
				"token": str, "expiration_time": map[string]any{"type": "integer"},
			})}),
			"Errors": obj(map[string]any{"errors": map[string]any{"type": "array", "items": obj(map[string]any{
				"status": str, "title": str, "detail": str,
			})}}),
		}},
	}
	writeJSON(w, http.StatusOK, doc)
}
