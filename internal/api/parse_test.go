package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// optSpec is an option as the tests' servers hold it.
type optSpec struct {
	key, name, kind string
	value           any // absent when hasValue is false
	hasValue        bool
	admin, edit     bool
	choices         []map[string]any
	multiple        bool
}

func standardOptions() []optSpec {
	sev := []map[string]any{{"value": "Low", "display": "Low"}, {"value": "Medium", "display": "Medium"}}
	st := []map[string]any{{"value": "new", "display": "New"}, {"value": "score,desc", "display": "Score"}}
	return []optSpec{
		{key: "apiKey", name: "API Key", kind: "password", value: "pw-clear-1234", hasValue: true, admin: true},
		{key: "blocklist", name: "Blocklist", kind: "text", value: "a,b", hasValue: true, edit: true},
		{key: "showNoDetections", name: "Show", kind: "boolean", value: true, hasValue: true},
		{key: "maxAge", name: "Max Age", kind: "number", value: 30, hasValue: true},
		{key: "minimumSeverity", name: "Severity", kind: "select", value: sev[0], hasValue: true, choices: sev},
		{key: "statuses", name: "Statuses", kind: "select", value: []any{st[1]}, hasValue: true, choices: st, multiple: true},
	}
}

// attrs renders an option's attributes in one of the spellings.
func (o optSpec) attrs(kindName string, withKey bool, camel bool) map[string]any {
	a := map[string]any{"name": o.name, kindName: o.kind}
	if withKey {
		a["key"] = o.key
	}
	if camel {
		a["adminOnly"], a["userCanEdit"] = o.admin, o.edit
	} else {
		a["admin-only"], a["user-can-edit"] = o.admin, o.edit
	}
	if o.hasValue {
		a["value"] = o.value
	}
	if o.choices != nil {
		a["options"] = o.choices
		a["multiple"] = o.multiple
	}
	return a
}

// renderIntegrations builds a list document for the integrations in one form.
func renderIntegrations(form string, ids []string, opts []optSpec) map[string]any {
	var data, included []any
	for _, id := range ids {
		attrs := map[string]any{"name": "Name " + id, "acronym": "N", "status": "running"}
		res := map[string]any{"id": id, "type": "integrations", "attributes": attrs}
		switch form {
		case "included-linked":
			var refs []any
			for _, o := range opts {
				oid := bulk.OptionID(id, o.key)
				refs = append(refs, map[string]any{"id": oid, "type": "integration-option"})
				included = append(included, map[string]any{"id": oid, "type": "integration-option", "attributes": o.attrs("type", true, false)})
			}
			res["relationships"] = map[string]any{"integration-options": map[string]any{"data": refs}}
		case "included-prefix":
			// Plural type, option-type, no key attribute, no relationship.
			for _, o := range opts {
				included = append(included, map[string]any{"id": bulk.OptionID(id, o.key), "type": "integration-options", "attributes": o.attrs("option-type", false, false)})
			}
		case "included-backlink":
			// Tied by the option's own relationship; snake_case kind.
			for _, o := range opts {
				included = append(included, map[string]any{"id": bulk.OptionID(id, o.key), "type": "integration-option",
					"attributes":    o.attrs("option_type", true, false),
					"relationships": map[string]any{"integration": map[string]any{"data": map[string]any{"id": id, "type": "integrations"}}}})
			}
		case "attributes-flat":
			var list []any
			for _, o := range opts {
				list = append(list, o.attrs("type", true, false))
			}
			attrs["integration-options"] = list
		case "attributes-resources":
			var list []any
			for _, o := range opts {
				list = append(list, map[string]any{"id": bulk.OptionID(id, o.key), "type": "integration-options", "attributes": o.attrs("option-type", false, false)})
			}
			attrs["options"] = list
		case "attributes-object":
			m := map[string]any{}
			for _, o := range opts {
				m[o.key] = o.attrs("kind", false, true)
			}
			attrs["options"] = m
		default:
			panic(form)
		}
		data = append(data, res)
	}
	doc := map[string]any{"data": data}
	if included != nil {
		doc["included"] = included
	}
	return doc
}

var forms = []string{"included-linked", "included-prefix", "included-backlink", "attributes-flat", "attributes-resources", "attributes-object"}

func checkOptions(t *testing.T, in bulk.Integration, want []optSpec) {
	t.Helper()
	if len(in.Options) != len(want) {
		t.Fatalf("%s: %d options, want %d: %+v", in.ID, len(in.Options), len(want), in.Options)
	}
	for _, w := range want {
		o, ok := in.Option(w.key)
		if !ok {
			t.Errorf("%s: option %s missing", in.ID, w.key)
			continue
		}
		if o.Name != w.name || string(o.Kind) != w.kind || o.Multiple != w.multiple ||
			o.Permission != (bulk.Permission{AdminOnly: w.admin, UserCanEdit: w.edit}) {
			t.Errorf("%s: option %s = %+v, want %+v", in.ID, w.key, o, w)
		}
		if !o.Readable {
			t.Errorf("%s: option %s unreadable", in.ID, w.key)
		}
		wv, _ := json.Marshal(w.value)
		if !testkit.SameJSON(o.Value, wv) {
			t.Errorf("%s: option %s value %s, want %s", in.ID, w.key, o.Value, wv)
		}
		if len(o.Choices) != len(w.choices) {
			t.Errorf("%s: option %s choices %v, want %v", in.ID, w.key, o.Choices, w.choices)
		}
		for i, ch := range o.Choices {
			wc, _ := json.Marshal(w.choices[i]["value"])
			if !testkit.SameJSON(ch.Value, wc) || ch.Display != w.choices[i]["display"] {
				t.Errorf("%s: option %s choice %d = %s/%s", in.ID, w.key, i, ch.Value, ch.Display)
			}
		}
	}
}

// TestResponseForms reads the same integrations served in every form polarity-api.md leaves
// open, through both the list and the single endpoint.
func TestResponseForms(t *testing.T) {
	ids := []string{"virustotal_node_18_1725278818", "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"}
	for _, form := range forms {
		t.Run(form, func(t *testing.T) {
			opts := standardOptions()
			ts := formServer(t, form, ids, opts, true)
			c := newKeyClient(t, ts.URL, nil)
			all, err := c.Integrations(ctxT(t), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || all[0].ID != ids[0] || all[1].ID != ids[1] {
				t.Fatalf("integrations = %+v", all)
			}
			for _, in := range all {
				if in.Name != "Name "+in.ID || in.Status != "running" || in.Acronym != "N" {
					t.Errorf("integration %+v", in)
				}
				checkOptions(t, in, opts)
			}
			one, err := c.Integration(ctxT(t), ids[1])
			if err != nil {
				t.Fatal(err)
			}
			checkOptions(t, one, opts)
			if c.Requests() != 2 {
				t.Errorf("requests = %d, want 2", c.Requests())
			}
		})
	}
}

// TestPasswordReadability covers a password in clear, masked and absent, in every form.
func TestPasswordReadability(t *testing.T) {
	cases := []struct {
		name     string
		kind     string
		value    any
		has      bool
		readable bool
	}{
		{"clear", "password", "s3cret-value", true, true},
		{"stars", "password", "********", true, false},
		{"bullets", "password", "•••••", true, false},
		{"absent", "password", nil, false, false},
		{"null", "password", nil, true, false},
		{"empty", "password", "", true, false},
		{"text of stars stays readable", "text", "****", true, true},
		{"text null readable", "text", nil, true, true},
		{"text absent", "text", nil, false, false},
	}
	for _, form := range forms {
		for _, tc := range cases {
			t.Run(form+"/"+tc.name, func(t *testing.T) {
				o := optSpec{key: "apiKey", name: "API Key", kind: tc.kind, value: tc.value, hasValue: tc.has}
				doc := renderIntegrations(form, []string{"x_1"}, []optSpec{o})
				body, _ := json.Marshal(doc)
				var d document
				if err := json.Unmarshal(body, &d); err != nil {
					t.Fatal(err)
				}
				ins, err := parseDocument(&d)
				if err != nil || len(ins) != 1 {
					t.Fatalf("parse: %v %v", ins, err)
				}
				got, ok := ins[0].Option("apiKey")
				if !ok {
					t.Fatalf("no option: %+v", ins[0])
				}
				if got.Readable != tc.readable {
					t.Errorf("readable = %v, want %v", got.Readable, tc.readable)
				}
				if !got.Readable && got.Value != nil {
					t.Errorf("unreadable option keeps value %s", got.Value)
				}
			})
		}
	}
}

// TestParseEdges covers options that cannot be placed and ids that are numbers.
func TestParseEdges(t *testing.T) {
	body := `{"data":[{"id":"a_1","type":"integrations","attributes":{"name":"A","status":"stopped",
	    "options":[{"name":"no key, no id"},{"key":"k1","type":"integration-option","option-type":"text","value":"v"}]},
	    "relationships":{"integration-options":{"data":[{"id":"a_1-k2","type":"integration-option"},{"id":"a_1-gone","type":"integration-option"}]}}},
	  {"id":7,"type":"integrations","attributes":{"name":"Seven"}}],
	 "included":[{"id":"a_1-k2","type":"integration-option","attributes":{"type":"number","value":5}},
	   {"id":"b_2-k3","type":"integration-option","attributes":{"type":"text","value":"other"}},
	   {"id":"x","type":"users","attributes":{}}]}`
	var d document
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	ins, err := parseDocument(&d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[1].ID != "7" {
		t.Fatalf("integrations %+v", ins)
	}
	a := ins[0]
	if a.Running() || a.Status != "stopped" {
		t.Errorf("status %q", a.Status)
	}
	var keys []string
	for _, o := range a.Options {
		keys = append(keys, fmt.Sprintf("%s:%s", o.Key, o.Kind))
	}
	if got := strings.Join(keys, ","); got != "k2:number,k1:text" {
		t.Errorf("options %s", got)
	}
}

func TestParseShapeErrorSpeaksAPI(t *testing.T) {
	_, err := parseDocument(&document{Data: json.RawMessage(`["not an object"]`)})
	if err == nil {
		t.Fatal("a string accepted as an integration")
	}
	if strings.Contains(err.Error(), "Go value") || strings.Contains(err.Error(), "api.resource") {
		t.Errorf("error speaks Go, not the API: %v", err)
	}
	if !strings.Contains(err.Error(), "found a JSON string where an integration resource should be") {
		t.Errorf("error does not say what was found: %v", err)
	}
}
