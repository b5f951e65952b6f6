package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Convert turns a row's value into the JSON the server expects for the option, following the
// value syntax of SPEC.md section 2. The error text never quotes the value when it is
// sensitive: the caller says which.
func Convert(opt bulk.Option, v bulk.Value, sensitive bool) (json.RawMessage, error) {
	switch v.Form {
	case bulk.ValueKeep:
		return nil, nil
	case bulk.ValueJSON:
		return convertJSON(opt, []byte(v.Text), sensitive)
	}
	return convertText(opt, v.Text, sensitive)
}

func show(s string, sensitive bool) string {
	if sensitive {
		return "the sensitive value"
	}
	const limit = 60
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return strconv.Quote(s)
}

func convertText(opt bulk.Option, s string, sensitive bool) (json.RawMessage, error) {
	switch opt.Kind {
	case bulk.KindBoolean:
		b, ok := bulk.ParseBool(s)
		if !ok {
			return nil, fmt.Errorf("%s is not a boolean: option %s takes true/false, yes/no, 1/0 or on/off", show(s, sensitive), opt.Key)
		}
		return json.Marshal(b)
	case bulk.KindNumber:
		n, ok := parseNumber(s)
		if !ok {
			return nil, fmt.Errorf("%s is not a number: option %s takes a number such as 30 or 0.5", show(s, sensitive), opt.Key)
		}
		return n, nil
	case bulk.KindSelect:
		if !opt.Multiple {
			c, ok := findChoice(opt, s)
			if !ok {
				return nil, fmt.Errorf("%s is not a choice of option %s: use one of %s", show(s, sensitive), opt.Key, choiceList(opt))
			}
			return choiceJSON(c), nil
		}
		var items []json.RawMessage
		for _, part := range strings.Split(s, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			c, ok := findChoice(opt, part)
			if !ok {
				return nil, fmt.Errorf("%s is not a choice of option %s: use one or more of %s, separated by ';'", show(part, sensitive), opt.Key, choiceList(opt))
			}
			items = append(items, choiceJSON(c))
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("no choice given for option %s: use one or more of %s separated by ';', or json:[] to select none", opt.Key, choiceList(opt))
		}
		return json.Marshal(items)
	}
	// text, password, and kinds this tool does not know: the server gets a string.
	return json.Marshal(s)
}

func convertJSON(opt bulk.Option, raw []byte, sensitive bool) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		if sensitive {
			// The decoder's message quotes a character of the value.
			return nil, fmt.Errorf("json: the sensitive value is not valid JSON")
		}
		return nil, fmt.Errorf("json: value is not valid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&v) // again with numbers kept as written; cannot fail now
	if v == nil {
		return json.RawMessage("null"), nil // json:null clears, whatever the kind
	}
	want := ""
	switch opt.Kind {
	case bulk.KindBoolean:
		if _, ok := v.(bool); !ok {
			want = "true or false"
		}
	case bulk.KindNumber:
		if _, ok := v.(json.Number); !ok {
			want = "a JSON number"
		}
	case bulk.KindSelect:
		return selectJSON(opt, v, sensitive)
	case bulk.KindText, bulk.KindPassword:
		if _, ok := v.(string); !ok {
			want = `a JSON string such as json:"text"`
		}
	}
	if want != "" {
		return nil, fmt.Errorf("json: option %s is of kind %s: expected %s", opt.Key, opt.Kind, want)
	}
	return compact(raw), nil
}

// selectJSON checks a json: select value: an object {"value","display"} naming a choice, or for
// multiple selects an array of such objects or of choice strings (which are expanded).
func selectJSON(opt bulk.Option, v any, sensitive bool) (json.RawMessage, error) {
	one := func(item any) (json.RawMessage, error) {
		switch t := item.(type) {
		case string:
			if c, ok := findChoice(opt, t); ok {
				return choiceJSON(c), nil
			}
			return nil, fmt.Errorf("json: %s is not a choice of option %s: use one of %s", show(t, sensitive), opt.Key, choiceList(opt))
		case map[string]any:
			val, ok := t["value"]
			if !ok {
				return nil, fmt.Errorf(`json: a choice of option %s needs a "value" member: use one of %s`, opt.Key, choiceList(opt))
			}
			b, _ := json.Marshal(val)
			for _, c := range opt.Choices {
				if jsonEqual(c.Value, b) {
					return choiceJSON(c), nil
				}
			}
			return nil, fmt.Errorf("json: %s is not a choice of option %s: use one of %s", show(string(b), sensitive), opt.Key, choiceList(opt))
		}
		return nil, fmt.Errorf(`json: option %s takes {"value": ..., "display": ...} objects`, opt.Key)
	}
	if !opt.Multiple {
		if _, isObj := v.(map[string]any); !isObj {
			return nil, fmt.Errorf(`json: option %s is a select: expected {"value": ..., "display": ...}, or a plain cell with one of %s`, opt.Key, choiceList(opt))
		}
		return one(v)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("json: option %s is a multiple select: expected a JSON array of choices", opt.Key)
	}
	out := make([]json.RawMessage, 0, len(arr))
	for _, item := range arr {
		r, err := one(item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return json.Marshal(out)
}

// parseNumber accepts what JSON calls a number, so the server gets exactly what the cell says.
func parseNumber(s string) (json.RawMessage, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return nil, false
	}
	var n json.Number
	if json.Unmarshal([]byte(s), &n) != nil {
		// ParseFloat takes "1_000", "+1", "0x10", "Inf"; JSON does not.
		return nil, false
	}
	return json.RawMessage(s), true
}

func findChoice(opt bulk.Option, s string) (bulk.Choice, bool) {
	for _, c := range opt.Choices {
		if c.ValueText() == s {
			return c, true
		}
	}
	for _, c := range opt.Choices {
		if strings.EqualFold(c.Display, strings.TrimSpace(s)) {
			return c, true
		}
	}
	return bulk.Choice{}, false
}

func choiceJSON(c bulk.Choice) json.RawMessage {
	b, _ := json.Marshal(struct {
		Value   json.RawMessage `json:"value"`
		Display string          `json:"display"`
	}{c.Value, c.Display})
	return b
}

func choiceList(opt bulk.Option) string {
	if len(opt.Choices) == 0 {
		return "(the server lists no choices)"
	}
	parts := make([]string, len(opt.Choices))
	for i, c := range opt.Choices {
		parts[i] = strconv.Quote(c.ValueText())
		if !strings.EqualFold(c.Display, c.ValueText()) && c.Display != "" {
			parts[i] += " (" + c.Display + ")"
		}
	}
	return strings.Join(parts, ", ")
}

func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// Equal reports whether two values of an option are the same as far as the server is
// concerned: selects compare by their choices' values (displays may be spelled differently),
// numbers by value, everything else by JSON value.
func Equal(opt bulk.Option, a, b json.RawMessage) bool {
	if opt.Kind == bulk.KindSelect {
		return bytes.Equal(selectKey(a), selectKey(b))
	}
	return jsonEqual(a, b)
}

// selectKey reduces a select value to the canonical JSON of its choice values.
func selectKey(raw json.RawMessage) []byte {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	val := func(x any) any {
		if m, ok := x.(map[string]any); ok {
			return m["value"]
		}
		return x
	}
	if arr, ok := v.([]any); ok {
		keys := make([]any, len(arr))
		for i, x := range arr {
			keys[i] = val(x)
		}
		b, _ := json.Marshal(keys)
		return b
	}
	b, _ := json.Marshal(val(v))
	return b
}

func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return deepEqual(x, y)
}

func deepEqual(x, y any) bool {
	switch xv := x.(type) {
	case float64:
		yv, ok := y.(float64)
		return ok && (xv == yv || math.IsNaN(xv) && math.IsNaN(yv))
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for i := range xv {
			if !deepEqual(xv[i], yv[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for k, v := range xv {
			if !deepEqual(v, yv[k]) {
				return false
			}
		}
		return true
	}
	return x == y
}

// Display renders a non-sensitive value for people: strings quoted, selects by their choice
// values, everything else as compact JSON.
func Display(opt bulk.Option, raw json.RawMessage) string {
	if len(raw) == 0 {
		return "(none)"
	}
	if opt.Kind == bulk.KindSelect {
		return string(selectKey(raw))
	}
	return string(compact(raw))
}
