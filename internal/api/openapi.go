package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// OpenAPIInfo is what a server's OpenAPI document says that matters to the client. Nothing in
// polarity-api.md promises the document; GET /api/openapi answering 404 is an ErrNotFound.
type OpenAPIInfo struct {
	// Version is info.version; empty when the document has none.
	Version string
	// Patch is the declaration of PATCH /api/integration-options; nil when the document has
	// none.
	Patch *PatchDeclaration
}

// PatchDeclaration is what an OpenAPI document declares for the body of PATCH
// /api/integration-options.
type PatchDeclaration struct {
	// Types lists the resource types allowed in data[].type (its enum or const); nil when
	// the document does not restrict them.
	Types []string
	// Attributes lists the member names declared for data[].attributes, sorted; nil when the
	// document does not list them.
	Attributes []string
	// Closed is true when data[].attributes allows no other members
	// (additionalProperties: false).
	Closed bool
}

// Mismatches compares the declaration with what Patch sends (PatchResourceType and
// PatchAttributes) and describes each difference; none when they agree or the document does
// not say.
func (d *PatchDeclaration) Mismatches() []string {
	if d == nil {
		return nil
	}
	var out []string
	if d.Types != nil && !slices.Contains(d.Types, PatchResourceType) {
		out = append(out, fmt.Sprintf("resource type: the server declares %s, the client sends %q", quoteList(d.Types), PatchResourceType))
	}
	if d.Attributes != nil {
		var missing []string
		for _, a := range PatchAttributes {
			if !slices.Contains(d.Attributes, a) {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("attributes: the client sends %s, which the server does not declare (it declares %s)", quoteList(missing), quoteList(d.Attributes)))
		}
	}
	return out
}

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// OpenAPI reads GET /api/openapi. A server that does not serve it answers with an *Error
// wrapping ErrNotFound; one that serves something other than a JSON OpenAPI document (YAML,
// an HTML page) with ErrBadResponse.
func (c *Client) OpenAPI(ctx context.Context) (OpenAPIInfo, error) {
	cl := call{op: "get openapi document", method: http.MethodGet, path: "/api/openapi"}
	resp, attempts, err := c.do(ctx, cl)
	if err != nil {
		return OpenAPIInfo{}, err
	}
	var raw json.RawMessage
	if err := c.decode(cl, resp, attempts, &raw); err != nil {
		return OpenAPIInfo{}, err
	}
	info, err := ParseOpenAPI(raw)
	if err != nil {
		return OpenAPIInfo{}, &Error{Op: cl.op, HTTPStatus: resp.status, Attempts: attempts, Err: fmt.Errorf("%w: %w", ErrBadResponse, err)}
	}
	return info, nil
}

// maxRefs bounds $ref chains, and maxSteps the schemas resolved in all, so that a document
// whose references loop, or whose allOf lists fan out into each other, cannot hang the parse.
const (
	maxRefs  = 32
	maxSteps = 10000
)

// ParseOpenAPI reads an OpenAPI 3 (or Swagger 2) document: its info.version and the request
// body it declares for PATCH /api/integration-options, following local $refs and merging
// allOf, oneOf and anyOf.
func ParseOpenAPI(data []byte) (OpenAPIInfo, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil || root == nil {
		return OpenAPIInfo{}, errors.New("the openapi document is not a JSON object")
	}
	_, v3 := root["openapi"]
	_, v2 := root["swagger"]
	if !v3 && !v2 {
		return OpenAPIInfo{}, errors.New("the document is not an OpenAPI document (no openapi or swagger member)")
	}
	var info OpenAPIInfo
	if m, ok := root["info"].(map[string]any); ok {
		info.Version, _ = m["version"].(string)
	}
	op := patchOperation(root)
	if op == nil {
		return info, nil
	}
	info.Patch = &PatchDeclaration{}
	body := requestSchema(&resolver{root: root}, op)
	if body == nil {
		return info, nil
	}
	r := &resolver{root: root}
	data0 := r.prop(body, "data")
	if data0 == nil {
		return info, nil
	}
	item := data0
	if items := r.schema(data0["items"]); items != nil {
		item = items
	}
	if t := r.prop(item, "type"); t != nil {
		info.Patch.Types = stringsOf(t["enum"])
		if c, ok := t["const"].(string); ok {
			info.Patch.Types = append(info.Patch.Types, c)
		}
	}
	if a := r.prop(item, "attributes"); a != nil {
		if props, ok := a["properties"].(map[string]any); ok {
			info.Patch.Attributes = slices.Sorted(maps.Keys(props))
		}
		if ap, ok := a["additionalProperties"].(bool); ok && !ap {
			info.Patch.Closed = true
		}
	}
	return info, nil
}

// patchOperation finds the PATCH operation of the bulk option endpoint: the path
// /api/integration-options, or one ending in /integration-options when the document's paths
// are relative to a server URL ending in /api.
func patchOperation(root map[string]any) map[string]any {
	paths, _ := root["paths"].(map[string]any)
	keys := slices.Sorted(maps.Keys(paths))
	for _, exact := range []bool{true, false} {
		for _, p := range keys {
			if (exact && p != "/api/integration-options") || (!exact && !strings.HasSuffix(strings.TrimRight(p, "/"), "/integration-options")) {
				continue
			}
			item, _ := paths[p].(map[string]any)
			if op, ok := item["patch"].(map[string]any); ok {
				return op
			}
		}
	}
	return nil
}

// requestSchema is the schema of an operation's JSON request body: OpenAPI 3's
// requestBody.content (the JSON:API media type first), or Swagger 2's body parameter.
func requestSchema(r *resolver, op map[string]any) map[string]any {
	if rb := r.schema(op["requestBody"]); rb != nil {
		content, _ := rb["content"].(map[string]any)
		types := slices.Sorted(maps.Keys(content))
		slices.SortStableFunc(types, func(a, b string) int {
			rank := func(t string) int {
				switch {
				case t == mediaType:
					return 0
				case strings.Contains(t, "json"):
					return 1
				}
				return 2
			}
			return rank(a) - rank(b)
		})
		for _, t := range types {
			if mt, ok := content[t].(map[string]any); ok {
				if s := r.schema(mt["schema"]); s != nil {
					return s
				}
			}
		}
	}
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		if pm := r.schema(p); pm != nil && pm["in"] == "body" {
			return r.schema(pm["schema"])
		}
	}
	return nil
}

// resolver follows local $refs ("#/components/schemas/X") and merges composed schemas.
type resolver struct {
	root  map[string]any
	steps int // schemas resolved so far, up to maxSteps
}

// schema returns v as a schema object with $ref followed and allOf/oneOf/anyOf merged into
// one set of properties (a union: enough to tell which names and types are declared).
func (r *resolver) schema(v any) map[string]any {
	return r.schemaN(v, 0)
}

func (r *resolver) schemaN(v any, depth int) map[string]any {
	m, ok := v.(map[string]any)
	if !ok || depth > maxRefs || r.steps >= maxSteps {
		return nil
	}
	r.steps++
	if ref, ok := m["$ref"].(string); ok {
		return r.schemaN(r.pointer(ref), depth+1)
	}
	var parts []map[string]any
	for _, comb := range []string{"allOf", "oneOf", "anyOf"} {
		list, _ := m[comb].([]any)
		for _, e := range list {
			if s := r.schemaN(e, depth+1); s != nil {
				parts = append(parts, s)
			}
		}
	}
	if len(parts) == 0 {
		return m
	}
	out := maps.Clone(m)
	props := map[string]any{}
	if own, ok := m["properties"].(map[string]any); ok {
		maps.Copy(props, own)
	}
	var enum []any
	for _, p := range parts {
		if pp, ok := p["properties"].(map[string]any); ok {
			for k, v := range pp {
				if _, dup := props[k]; !dup {
					props[k] = v
				}
			}
		}
		if e, ok := p["enum"].([]any); ok {
			enum = append(enum, e...)
		}
		if c, ok := p["const"]; ok {
			enum = append(enum, c)
		}
		for _, k := range []string{"items", "additionalProperties", "type"} {
			if _, has := out[k]; !has && p[k] != nil {
				out[k] = p[k]
			}
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	if len(enum) > 0 {
		if own, ok := m["enum"].([]any); ok {
			enum = append(own, enum...)
		}
		out["enum"] = enum
	}
	return out
}

// prop returns the resolved schema of a property of s.
func (r *resolver) prop(s map[string]any, name string) map[string]any {
	props, _ := s["properties"].(map[string]any)
	return r.schema(props[name])
}

// pointer resolves a local JSON pointer ("#/a/b"); other references resolve to nil.
func (r *resolver) pointer(ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = r.root
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	return cur
}

// stringsOf returns the strings of a JSON array, or nil when v is not one.
func stringsOf(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
