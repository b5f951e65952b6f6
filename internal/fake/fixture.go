package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

// Kind is an option's kind as integrations declare it in config/config.json.
type Kind string

// The option kinds Polarity knows. A select with Multiple set holds an array of choices.
const (
	KindText     Kind = "text"
	KindPassword Kind = "password"
	KindBoolean  Kind = "boolean"
	KindNumber   Kind = "number"
	KindSelect   Kind = "select"
)

// Choice is one entry of a select option's list, and also the shape of a select's value.
type Choice struct {
	Value   string `json:"value"`
	Display string `json:"display"`
}

// Option is one integration option: its schema (from the integration's config.json) and its
// current value and permissions. Value is raw JSON; JSON null means "cleared".
type Option struct {
	Key         string          `json:"key"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Type        Kind            `json:"type"`
	Value       json.RawMessage `json:"value"`
	AdminOnly   bool            `json:"admin-only"`
	UserCanEdit bool            `json:"user-can-edit"`
	// Options lists a select's choices; Multiple makes the value an array of them.
	Options  []Choice `json:"options,omitempty"`
	Multiple bool     `json:"multiple,omitempty"`
	// Min and Max model the integration's own validation of a number option (for example
	// AbuseIPDB maxAge 1–365). They are enforced on PATCH but never sent to clients.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Integration is one installed integration with its options, in fixture order.
type Integration struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Acronym       string   `json:"acronym"`
	Description   string   `json:"description,omitempty"`
	Status        string   `json:"status"`
	Version       string   `json:"version,omitempty"`
	EntityTypes   []string `json:"entity-types,omitempty"`
	Autosubscribe bool     `json:"autosubscribe"`
	// Errors are the integration's current errors; they only drive the
	// filter[integration.integration-errors] filter.
	Errors  []string `json:"integration-errors,omitempty"`
	Options []Option `json:"options"`
}

// APIKey is an API key the server accepts as a Bearer credential. A key with Integrations set
// is scoped to those integration ids: others are hidden from lists and answer 403.
type APIKey struct {
	Key          string   `json:"key"`
	Integrations []string `json:"integrations,omitempty"`
}

// Fixture is the server's initial state as read from a fixture file. Username, Password and
// APIKeys, when set, replace the built-in default credentials (flags replace them in turn).
type Fixture struct {
	Username     string        `json:"username,omitempty"`
	Password     string        `json:"password,omitempty"`
	APIKeys      []APIKey      `json:"api-keys,omitempty"`
	Integrations []Integration `json:"integrations"`
}

// Integration statuses. Polarity documents only "running"; "stopped" is what the fake uses for
// an integration that refuses option changes.
const (
	StatusRunning = "running"
	StatusStopped = "stopped"
)

// LoadFixture reads and validates a fixture file. Unknown fields are an error, so a typo in a
// hand-written fixture does not silently vanish.
func LoadFixture(path string) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fix Fixture
	if err := dec.Decode(&fix); err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	if err := fix.Validate(); err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	return &fix, nil
}

// Validate reports every problem of the fixture at once: bad or duplicate ids, unknown kinds,
// selects without choices, values that do not fit their option, true/true permissions.
// It also normalises values: a missing value becomes null and select values become the
// schema's own choice objects.
func (f *Fixture) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i := range f.Integrations {
		in := &f.Integrations[i]
		if err := checkIntegrationID(in.ID); err != nil {
			errs = append(errs, fmt.Errorf("integration %d: %w", i, err))
		}
		if seen[in.ID] {
			errs = append(errs, fmt.Errorf("integration %s: duplicate id", in.ID))
		}
		seen[in.ID] = true
		if in.Status == "" {
			in.Status = StatusRunning
		}
		keys := map[string]bool{}
		for j := range in.Options {
			o := &in.Options[j]
			where := fmt.Sprintf("integration %s option %q", in.ID, o.Key)
			if o.Key == "" {
				errs = append(errs, fmt.Errorf("integration %s option %d: empty key", in.ID, j))
			}
			if keys[o.Key] {
				errs = append(errs, fmt.Errorf("%s: duplicate key", where))
			}
			keys[o.Key] = true
			switch o.Type {
			case KindText, KindPassword, KindBoolean, KindNumber:
				if len(o.Options) > 0 || o.Multiple {
					errs = append(errs, fmt.Errorf("%s: only a select has options or multiple", where))
				}
			case KindSelect:
				if len(o.Options) == 0 {
					errs = append(errs, fmt.Errorf("%s: select without options", where))
				}
			default:
				errs = append(errs, fmt.Errorf("%s: unknown type %q", where, o.Type))
				continue
			}
			if o.AdminOnly && o.UserCanEdit {
				errs = append(errs, fmt.Errorf("%s: admin-only and user-can-edit are both true", where))
			}
			if len(o.Value) == 0 {
				o.Value = json.RawMessage("null")
			}
			v, problem := checkValue(o, o.Value)
			if problem != "" {
				errs = append(errs, fmt.Errorf("%s: %s", where, problem))
				continue
			}
			o.Value = v
		}
	}
	for _, k := range f.APIKeys {
		if k.Key == "" {
			errs = append(errs, errors.New("api key: empty key"))
		}
		for _, id := range k.Integrations {
			if !seen[id] {
				errs = append(errs, fmt.Errorf("api key %s: unknown integration %s", k.Key, id))
			}
		}
	}
	return errors.Join(errs...)
}

// checkIntegrationID enforces the documented id alphabet: letters, digits and underscores.
// The missing dash is what makes "<integration>-<key>" option ids splittable.
func checkIntegrationID(id string) error {
	if id == "" {
		return errors.New("empty id")
	}
	for _, r := range id {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("id %q: only letters, digits and underscores are allowed", id)
		}
	}
	return nil
}

// checkValue checks raw against the option's kind (and number bounds) and returns the value to
// store, or a problem in words. Select values are stored as the schema's own choice objects.
func checkValue(o *Option, raw json.RawMessage) (json.RawMessage, string) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, "value is not valid JSON"
	}
	if v == nil {
		return json.RawMessage("null"), ""
	}
	switch o.Type {
	case KindText, KindPassword:
		if _, ok := v.(string); !ok {
			return nil, fmt.Sprintf("value of a %s option must be a string", o.Type)
		}
	case KindBoolean:
		if _, ok := v.(bool); !ok {
			return nil, "value of a boolean option must be true or false"
		}
	case KindNumber:
		n, ok := v.(json.Number)
		if !ok {
			return nil, "value of a number option must be a number"
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, "value of a number option must be a finite number"
		}
		if o.Min != nil && f < *o.Min || o.Max != nil && f > *o.Max {
			return nil, fmt.Sprintf("value must be between %s and %s", bound(o.Min, "-inf"), bound(o.Max, "+inf"))
		}
	case KindSelect:
		if !o.Multiple {
			c, problem := o.choice(v)
			if problem != "" {
				return nil, problem
			}
			return mustJSON(c), ""
		}
		list, ok := v.([]any)
		if !ok {
			return nil, `value of a multiple select must be an array of {"value","display"} objects`
		}
		out := make([]Choice, 0, len(list))
		for _, item := range list {
			c, problem := o.choice(item)
			if problem != "" {
				return nil, problem
			}
			out = append(out, c)
		}
		return mustJSON(out), ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, "value is not valid JSON"
	}
	return buf.Bytes(), ""
}

// choice finds the schema choice a select value names. Only "value" identifies a choice; a
// differing "display" is tolerated and replaced by the schema's.
func (o *Option) choice(v any) (Choice, string) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Choice{}, `value of a select option must be a {"value","display"} object`
	}
	s, ok := obj["value"].(string)
	if !ok {
		return Choice{}, `select value needs a string "value"`
	}
	for _, c := range o.Options {
		if c.Value == s {
			return c, ""
		}
	}
	valid := make([]string, len(o.Options))
	for i, c := range o.Options {
		valid[i] = fmt.Sprintf("%q", c.Value)
	}
	return Choice{}, fmt.Sprintf("%q is not one of the choices %s", s, strings.Join(valid, ", "))
}

func bound(p *float64, none string) string {
	if p == nil {
		return none
	}
	return fmt.Sprint(*p)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fake: marshal %T: %v", v, err)) // only our own plain types get here
	}
	return b
}

// clone returns a deep copy, so the server never shares mutable state with its caller.
func (in *Integration) clone() Integration {
	out := *in
	out.EntityTypes = append([]string(nil), in.EntityTypes...)
	out.Errors = append([]string(nil), in.Errors...)
	out.Options = make([]Option, len(in.Options))
	for i, o := range in.Options {
		o.Value = append(json.RawMessage(nil), o.Value...)
		o.Options = append([]Choice(nil), o.Options...)
		out.Options[i] = o
	}
	return out
}

// option returns a pointer to the option with the given key, or nil.
func (in *Integration) option(key string) *Option {
	for i := range in.Options {
		if in.Options[i].Key == key {
			return &in.Options[i]
		}
	}
	return nil
}

// Synthetic returns n generated running integrations for load tests, the same for the same n
// and seed. Ids look like synthetic_00001_node_18_<10 hex>_<unix time> and never collide with
// the shipped fixture's. Each has six options covering every kind: apiKey (password),
// url (text), enabled (boolean), maxResults (number 1–1000), minimumSeverity (select) and
// categories (multiple select).
func Synthetic(n int, seed uint64) *Fixture {
	rng := rand.New(rand.NewPCG(seed, 0x73796e7468))
	severities := []Choice{{"low", "Low"}, {"medium", "Medium"}, {"high", "High"}, {"critical", "Critical"}}
	categories := []Choice{{"malware", "Malware"}, {"phishing", "Phishing"}, {"c2", "Command and Control"}, {"scanner", "Scanner"}}
	one, thousand := 1.0, 1000.0
	fix := &Fixture{Integrations: make([]Integration, 0, n)}
	for i := 1; i <= n; i++ {
		picked := []Choice{}
		for _, c := range categories {
			if rng.IntN(2) == 0 {
				picked = append(picked, c)
			}
		}
		fix.Integrations = append(fix.Integrations, Integration{
			ID:          fmt.Sprintf("synthetic_%05d_node_18_%010x_%d", i, rng.Uint64()&0xffffffffff, 1725000000+i),
			Name:        fmt.Sprintf("Synthetic %05d", i),
			Acronym:     fmt.Sprintf("S%d", i),
			Description: "Generated integration for load tests",
			Status:      StatusRunning,
			Version:     "1.0.0",
			EntityTypes: []string{"IPv4", "domain"},
			Options: []Option{
				{Key: "apiKey", Name: "API Key", Type: KindPassword, Value: mustJSON(fmt.Sprintf("syn-%016x", rng.Uint64())), UserCanEdit: true},
				{Key: "url", Name: "API URL", Type: KindText, Value: mustJSON(fmt.Sprintf("https://synthetic-%d.example.invalid", i)), AdminOnly: true},
				{Key: "enabled", Name: "Enabled", Type: KindBoolean, Value: mustJSON(rng.IntN(2) == 0)},
				{Key: "maxResults", Name: "Max Results", Type: KindNumber, Value: mustJSON(1 + rng.IntN(1000)), Min: &one, Max: &thousand, AdminOnly: true},
				{Key: "minimumSeverity", Name: "Minimum Severity", Type: KindSelect, Options: slices.Clone(severities), Value: mustJSON(severities[rng.IntN(len(severities))]), UserCanEdit: true},
				{Key: "categories", Name: "Categories", Type: KindSelect, Multiple: true, Options: slices.Clone(categories), Value: mustJSON(picked)},
			},
		})
	}
	return fix
}
