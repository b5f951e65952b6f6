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
	writeJSON(w, http.StatusOK, map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "Polarity REST API (polarity-fake)", "version": OpenAPIVersion},
		"paths":      openAPIPaths(),
		"components": map[string]any{"schemas": openAPISchemas(types)},
	})
}

// The small builders of the OpenAPI document.
var (
	oaString  = map[string]any{"type": "string"}
	oaBoolean = map[string]any{"type": "boolean"}
	oaErrors  = oaRef("Errors")
)

func oaObject(props map[string]any, required ...string) map[string]any {
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

func oaRef(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func oaBody(schema map[string]any) map[string]any {
	return map[string]any{"content": map[string]any{MediaType: map[string]any{"schema": schema}}}
}

func oaAnswer(desc string, schema map[string]any) map[string]any {
	a := map[string]any{"description": desc}
	if schema != nil {
		for k, v := range oaBody(schema) {
			a[k] = v
		}
	}
	return a
}

func oaParam(name, in string) map[string]any {
	return map[string]any{"name": name, "in": in, "required": in == "path", "schema": oaString}
}

// openAPIPaths are the endpoints the fake serves.
func openAPIPaths() map[string]any {
	return map[string]any{
		"/api/users/login": map[string]any{"post": map[string]any{
			"summary":     "log in",
			"requestBody": oaBody(oaObject(map[string]any{"identification": oaString, "password": oaString}, "identification", "password")),
			"responses":   map[string]any{"200": oaAnswer("a session token", oaRef("Session")), "401": oaAnswer("wrong credentials", oaErrors)},
		}},
		"/api/users/refresh": map[string]any{"get": map[string]any{
			"summary":   "refresh the session token",
			"responses": map[string]any{"200": oaAnswer("a new session token", oaRef("Session")), "401": oaAnswer("token refused", oaErrors)},
		}},
		"/api/users/logout": map[string]any{"post": map[string]any{
			"summary":   "log out",
			"responses": map[string]any{"200": oaAnswer("logged out", nil)},
		}},
		"/api/integrations": map[string]any{"get": map[string]any{
			"summary": "list integrations with their options",
			"parameters": []any{
				oaParam("page[size]", "query"), oaParam("page[number]", "query"),
				oaParam("filter[integration.status]", "query"), oaParam("filter[integration.integration-errors]", "query"),
			},
			"responses": map[string]any{"200": oaAnswer("a page of integrations", nil), "401": oaAnswer("no or bad credentials", oaErrors)},
		}},
		"/api/integrations/{id}": map[string]any{"get": map[string]any{
			"summary":    "one integration with its options",
			"parameters": []any{oaParam("id", "path")},
			"responses":  map[string]any{"200": oaAnswer("the integration", nil), "404": oaAnswer("no such integration", oaErrors)},
		}},
		"/api/integration-options/{id}": map[string]any{"get": map[string]any{
			"summary":    "one option",
			"parameters": []any{oaParam("id", "path")},
			"responses":  map[string]any{"200": oaAnswer("the option", nil), "404": oaAnswer("no such option", oaErrors)},
		}},
		"/api/integration-options": map[string]any{"patch": map[string]any{
			"summary":     "change options of one integration",
			"requestBody": oaBody(oaRef("IntegrationOptionsPatch")),
			"responses": map[string]any{
				"200": oaAnswer("the updated options", nil), "204": oaAnswer("updated", nil),
				"400": oaAnswer("bad document or integration not running", oaErrors),
				"404": oaAnswer("no such option", oaErrors), "422": oaAnswer("invalid value", oaErrors),
			},
		}},
		"/api/openapi": map[string]any{"get": map[string]any{
			"summary":   "this document",
			"responses": map[string]any{"200": oaAnswer("the OpenAPI document", nil)},
		}},
	}
}

// openAPISchemas are the documents the paths refer to; types are the option resource types
// the PATCH body may name.
func openAPISchemas(types []any) map[string]any {
	return map[string]any{
		"IntegrationOptionsPatch": oaObject(map[string]any{
			"data": map[string]any{"type": "array", "items": oaRef("IntegrationOptionPatch")},
		}, "data"),
		"IntegrationOptionPatch": oaObject(map[string]any{
			"id":   map[string]any{"type": "string", "description": "<integration id>-<option key>"},
			"type": map[string]any{"type": "string", "enum": types},
			"attributes": map[string]any{
				"type":                 "object",
				"additionalProperties": false,
				"properties": map[string]any{
					"value":         map[string]any{"description": "the option's value, by its kind"},
					"admin-only":    oaBoolean,
					"user-can-edit": oaBoolean,
				},
			},
		}, "id", "type"),
		"Session": oaObject(map[string]any{"data": oaObject(map[string]any{
			"token": oaString, "expiration_time": map[string]any{"type": "integer"},
		})}),
		"Errors": oaObject(map[string]any{"errors": map[string]any{"type": "array", "items": oaObject(map[string]any{
			"status": oaString, "title": oaString, "detail": oaString,
		})}}),
	}
}
