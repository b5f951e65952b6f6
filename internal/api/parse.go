package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Where a server puts an integration's options is not documented (polarity-api.md, [unknown]).
// The parser accepts every plausible form, and several at once:
//
//   - option resources in the top-level "included" array, of type "integration-option" or
//     "integration-options", tied to their integration by the integration's
//     relationships.integration-options.data, by the option's relationships.integration, or by
//     the option id's prefix "<integration id>-";
//   - an array (or an object keyed by option key) in the integration's attributes, under
//     "integration-options" or "options", whose elements are flat attribute objects or whole
//     resources with their own "attributes".
//
// Within an option, the kind may be named "type", "option-type", "option_type", "optionType"
// or "kind"; flags may be dasherized, snake_case or camelCase; the key is the "key" attribute
// or, failing it, what follows the integration id and a dash in the option's id. A password
// value in clear is readable; masked (only '*' or '•'), empty, null or absent is not.

// document is a JSON:API top-level document.
type document struct {
	Data     json.RawMessage `json:"data"`
	Included []resource      `json:"included"`
	Meta     struct {
		Total json.RawMessage `json:"total"`
		Page  struct {
			Total json.RawMessage `json:"total"`
		} `json:"page"`
	} `json:"meta"`
}

// total is meta.page.total (or meta.total), or -1 when the server does not say.
func (d *document) total() int {
	for _, raw := range []json.RawMessage{d.Meta.Page.Total, d.Meta.Total} {
		var n json.Number
		if s := jsonScalar(raw); s != "" {
			n = json.Number(s)
			if v, err := n.Int64(); err == nil && v >= 0 {
				return int(v)
			}
		}
	}
	return -1
}

type resource struct {
	ID            flexString                 `json:"id"`
	Type          string                     `json:"type"`
	Attributes    map[string]json.RawMessage `json:"attributes"`
	Relationships map[string]struct {
		Data json.RawMessage `json:"data"`
	} `json:"relationships"`
}

// flexString is an id that may come as a string or a number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	*f = flexString(jsonScalar(b))
	return nil
}

type identifier struct {
	ID   flexString `json:"id"`
	Type string     `json:"type"`
}

// linkage reads a relationship's data: one identifier or an array of them.
func linkage(raw json.RawMessage) []identifier {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '[' {
		var ids []identifier
		if json.Unmarshal(raw, &ids) == nil {
			return ids
		}
		return nil
	}
	var id identifier
	if json.Unmarshal(raw, &id) == nil && id.ID != "" {
		return []identifier{id}
	}
	return nil
}

// isOptionType reports whether a resource type names an integration option, in any spelling.
func isOptionType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	t = strings.NewReplacer("_", "-", " ", "-").Replace(t)
	t = strings.TrimSuffix(t, "s")
	return t == "integration-option" || t == "integrationoption"
}

// The attribute names tolerated for each field, most likely first.
var (
	relOptionNames  = []string{"integration-options", "integration_options", "integrationOptions", "options"}
	attrOptionNames = []string{"integration-options", "integration_options", "integrationOptions", "options"}
	kindNames       = []string{"option-type", "option_type", "optionType", "type", "kind"}
	adminOnlyNames  = []string{"admin-only", "admin_only", "adminOnly"}
	userEditNames   = []string{"user-can-edit", "user_can_edit", "userCanEdit"}
	integRefNames   = []string{"integration-id", "integration_id", "integrationId"}
)

// shapeError says what was wrong with a document's shape in the API's terms, not in Go's
// ("cannot unmarshal string into Go value of type api.resource").
func shapeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := te.Field
		if where == "" {
			where = "an integration resource"
		}
		return fmt.Errorf("data is not a JSON:API document of integrations: found a JSON %s where %s should be", te.Value, where)
	}
	return fmt.Errorf("data is not a JSON:API document of integrations: %v", err)
}

// parseDocument reads the integrations of a list or single answer, with their options.
func parseDocument(doc *document) ([]bulk.Integration, error) {
	return parseDocumentInto(doc, nil)
}

// parseDocumentInto is parseDocument that also records in t (when not nil) the forms the
// document used.
func parseDocumentInto(doc *document, t *shapeTally) ([]bulk.Integration, error) {
	var data []resource
	raw := bytes.TrimSpace(doc.Data)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &data); err != nil {
			return nil, shapeError(err)
		}
	default:
		var one resource
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, shapeError(err)
		}
		data = []resource{one}
	}

	// Index the included options by id and by the integration they belong to.
	byID := map[string]*resource{}
	byIntegration := map[string][]*resource{}
	for i := range doc.Included {
		r := &doc.Included[i]
		if !isOptionType(r.Type) || r.ID == "" {
			continue
		}
		byID[string(r.ID)] = r
		owner := ""
		for _, name := range []string{"integration", "integrations"} {
			if rel, ok := r.Relationships[name]; ok {
				if ids := linkage(rel.Data); len(ids) > 0 {
					owner = string(ids[0].ID)
					break
				}
			}
		}
		if owner == "" {
			owner = str(r.Attributes, integRefNames...)
		}
		if owner == "" {
			owner, _, _ = bulk.SplitOptionID(string(r.ID))
		}
		byIntegration[owner] = append(byIntegration[owner], r)
	}

	out := make([]bulk.Integration, 0, len(data))
	for _, r := range data {
		if r.ID == "" || isOptionType(r.Type) {
			continue
		}
		out = append(out, integration(r, byID, byIntegration, t))
	}
	return out, nil
}

func integration(r resource, byID map[string]*resource, byIntegration map[string][]*resource, t *shapeTally) bulk.Integration {
	id := string(r.ID)
	in := bulk.Integration{
		ID:      id,
		Name:    str(r.Attributes, "name"),
		Acronym: str(r.Attributes, "acronym"),
		Status:  str(r.Attributes, "status"),
	}
	seen := map[string]bool{}
	// place is where the option came from, recorded with its resource type ("" when none).
	add := func(o bulk.Option, f optionForm, ok bool, place, typ string) {
		if ok && !seen[o.Key] {
			seen[o.Key] = true
			in.Options = append(in.Options, o)
			t.option(id, o, f, place, typ)
		}
	}
	used := map[*resource]bool{}
	// Linked from the relationship, in its order.
	for _, name := range relOptionNames {
		rel, ok := r.Relationships[name]
		if !ok {
			continue
		}
		for _, ref := range linkage(rel.Data) {
			if o := byID[string(ref.ID)]; o != nil && !used[o] {
				used[o] = true
				opt, f, ok := option(o.Attributes, string(o.ID), id)
				add(opt, f, ok, placeIncluded, o.Type)
			}
		}
	}
	// Included but not linked: matched by owner or id prefix.
	for _, o := range byIntegration[id] {
		if !used[o] {
			used[o] = true
			opt, f, ok := option(o.Attributes, string(o.ID), id)
			add(opt, f, ok, placeIncluded, o.Type)
		}
	}
	// Embedded in the attributes.
	for _, name := range attrOptionNames {
		raw := bytes.TrimSpace(r.Attributes[name])
		if len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case '[':
			var elems []json.RawMessage
			if json.Unmarshal(raw, &elems) != nil {
				continue
			}
			for _, e := range elems {
				attrs, oid, typ, ok := embedded(e)
				if ok {
					opt, f, ok := option(attrs, oid, id)
					add(opt, f, ok, placeAttributes, typ)
				}
			}
		case '{':
			// An object keyed by option key, as in an integration's config.json.
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				continue
			}
			for _, k := range sortedKeys(m) {
				attrs, oid, typ, ok := embedded(m[k])
				if !ok {
					continue
				}
				if str(attrs, "key") == "" {
					attrs["key"], _ = json.Marshal(k)
				}
				opt, f, ok := option(attrs, oid, id)
				add(opt, f, ok, placeAttributesObject, typ)
			}
		}
	}
	return in
}

// embedded reads an option inside the attributes: flat attributes, or a resource with its own
// (whose JSON:API type is returned; a flat element's "type" may be its kind, so it is not).
func embedded(raw json.RawMessage) (map[string]json.RawMessage, string, string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, "", "", false
	}
	id := str(m, "id")
	if a, ok := m["attributes"]; ok {
		var attrs map[string]json.RawMessage
		if json.Unmarshal(a, &attrs) == nil && attrs != nil {
			return attrs, id, str(m, "type"), true
		}
	}
	return m, id, "", true
}

// optionForm is how an option's kind and value came back, for the shapes record.
type optionForm struct {
	kindAttr string // the attribute the kind was read from; "" when none
	value    visibility
}

// option reads one option's attributes. It reports false when no key can be found.
func option(attrs map[string]json.RawMessage, id, integrationID string) (bulk.Option, optionForm, bool) {
	key := str(attrs, "key")
	if key == "" && id != "" {
		if k, ok := strings.CutPrefix(id, integrationID+"-"); ok {
			key = k
		} else if _, k, ok := bulk.SplitOptionID(id); ok {
			key = k
		}
	}
	if key == "" {
		return bulk.Option{}, optionForm{}, false
	}
	k, kindAttr := kind(attrs)
	o := bulk.Option{
		Key:      key,
		Name:     str(attrs, "name"),
		Kind:     k,
		Multiple: boolean(attrs, "multiple"),
		Choices:  choices(attrs["options"]),
		Permission: bulk.Permission{
			AdminOnly:   boolean(attrs, adminOnlyNames...),
			UserCanEdit: boolean(attrs, userEditNames...),
		},
	}
	f := optionForm{kindAttr: kindAttr, value: visAbsent}
	if v, ok := attrs["value"]; ok {
		o.Value = append(json.RawMessage(nil), bytes.TrimSpace(v)...)
		o.Readable = true
		f.value = visClear
	}
	if o.Sensitive() && o.Readable && hidden(o.Value) {
		o.Readable = false
		f.value = visMasked
		if empty(o.Value) {
			f.value = visEmpty
		}
	}
	if !o.Readable {
		o.Value = nil
	}
	return o, f, true
}

// empty reports whether a value is null or "".
func empty(v json.RawMessage) bool {
	return len(v) == 0 || bytes.Equal(v, []byte("null")) || bytes.Equal(v, []byte(`""`))
}

// hidden reports whether a sensitive value is not the real secret: null, an empty string, or a
// mask of '*' or '•'. An empty string counts as hidden because a server that masks by blanking
// cannot be told from one that holds nothing, and sending a blank back would wipe the secret.
func hidden(v json.RawMessage) bool {
	if len(v) == 0 || bytes.Equal(v, []byte("null")) {
		return true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return false
	}
	return strings.Trim(s, "*•") == ""
}

// kind reads the option's kind under any of its names, skipping a resource type that a flat
// element may carry under "type", and says which name it was read from.
func kind(attrs map[string]json.RawMessage) (bulk.Kind, string) {
	for _, name := range kindNames {
		k := strings.ToLower(strings.TrimSpace(str(attrs, name)))
		if k != "" && !isOptionType(k) {
			return bulk.Kind(k), name
		}
	}
	return "", ""
}

// choices reads a select's [{"value","display"}]; the value stays raw JSON.
func choices(raw json.RawMessage) []bulk.Choice {
	var list []struct {
		Value   json.RawMessage `json:"value"`
		Display json.RawMessage `json:"display"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []bulk.Choice
	for _, c := range list {
		if len(c.Value) == 0 {
			continue
		}
		ch := bulk.Choice{Value: append(json.RawMessage(nil), bytes.TrimSpace(c.Value)...), Display: jsonScalar(c.Display)}
		if ch.Display == "" && len(c.Display) == 0 {
			ch.Display = ch.ValueText()
		}
		out = append(out, ch)
	}
	return out
}

// str reads the first of names that holds a string (or a number, as text).
func str(attrs map[string]json.RawMessage, names ...string) string {
	for _, n := range names {
		if s := jsonScalar(attrs[n]); s != "" {
			return s
		}
	}
	return ""
}

// boolean reads the first of names that holds a boolean ("true"/"false" strings tolerated).
func boolean(attrs map[string]json.RawMessage, names ...string) bool {
	for _, n := range names {
		raw, ok := attrs[n]
		if !ok {
			continue
		}
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return b
		}
		switch strings.ToLower(jsonScalar(raw)) {
		case "true", "1":
			return true
		case "false", "0":
			return false
		}
	}
	return false
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Deterministic order for an object form; the server's order is lost with the map anyway.
	slices.Sort(keys)
	return keys
}
