package bulk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// ServerShapes records the forms of the server's answers that the client met where the API
// documentation leaves them open (polarity-api.md, [unknown]): where options come back, the
// JSON:API type of option resources, the name of the kind attribute, whether password values
// come back, and how PATCH is answered. plan.json and results.json carry it, so a report from
// the field says which form the real server uses. It holds names of forms and counts, never a
// value, an id or a name.
type ServerShapes struct {
	// OptionsIn lists where options were found: "included" (resources in the top-level
	// included array), "attributes" (an array in the integration's attributes) or
	// "attributes-object" (an object keyed by option key in the attributes).
	OptionsIn []string `json:"options_in,omitempty"`
	// OptionTypes lists the JSON:API types of option resources; empty when options came as
	// plain objects without a type.
	OptionTypes []string `json:"option_resource_types,omitempty"`
	// KindAttrs lists the attribute names the options' kinds were read from.
	KindAttrs []string `json:"kind_attributes,omitempty"`
	// Sensitive counts password options by how their value came back.
	Sensitive Visibility `json:"sensitive_values"`
	// PatchStatuses lists the HTTP statuses of successful PATCH answers.
	PatchStatuses []int `json:"patch_statuses,omitempty"`
	// PatchAnswers lists the forms of successful PATCH answers: "empty" (no body),
	// "resources" (a data array of option resources) or "document" (other JSON).
	PatchAnswers []string `json:"patch_answers,omitempty"`
}

// IsZero reports whether nothing was recorded.
func (s ServerShapes) IsZero() bool {
	return len(s.OptionsIn) == 0 && len(s.OptionTypes) == 0 && len(s.KindAttrs) == 0 &&
		s.Sensitive.Total() == 0 && len(s.PatchStatuses) == 0 && len(s.PatchAnswers) == 0
}

// Visibility counts password options by how the server showed their values. Each option is
// counted once however often it was read.
type Visibility struct {
	Clear  int `json:"clear"`  // a value that is not a mask
	Masked int `json:"masked"` // a string of '*' or '•' only
	Empty  int `json:"empty"`  // null or "": nothing to tell from a mask
	Absent int `json:"absent"` // no value attribute at all
}

// Total is the number of password options counted.
func (v Visibility) Total() int { return v.Clear + v.Masked + v.Empty + v.Absent }

// Shape is the form of a JSON value with every value removed: an object's member names with
// the shapes of their values, an array's length with the merged shape of its elements, and
// for a scalar only its JSON type. It is what a bug report can carry about a server's answer
// without a single id, name or secret.
//
// In JSON, a Shape is written as an object of its members' shapes; an array as a JSON array
// of its length (or "min..max" where merged arrays differ) and the shape of its elements; a
// scalar as "<str>", "<num>", "<bool>" or "<null>"; and where merged values differ in type, as
// {"<any of>": [shape, ...]}.
type Shape struct {
	// Type is "object", "array", "string", "number", "boolean", "null", or "union" for
	// merged values of several types (Alts).
	Type string
	// Keys holds an object's members.
	Keys map[string]*Shape
	// MinLen and MaxLen are an array's length, or the range of lengths of merged arrays.
	MinLen, MaxLen int
	// Elem is the merged shape of an array's elements; nil for an empty array.
	Elem *Shape
	// Alts are a union's shapes, one per JSON type, in a fixed order.
	Alts []*Shape
	// Cut is set where the shape was cut off: deeper than maxShapeDepth, or an object with
	// more than maxShapeKeys members (MaxLen then counts them).
	Cut bool
	// Hidden counts the members RenameKeys merged under "<key>".
	Hidden int
}

// Bounds of a Shape, so that a huge answer gives a small report.
const (
	maxShapeDepth = 12
	maxShapeKeys  = 200
)

// ShapeOf returns the shape of a JSON document.
func ShapeOf(data []byte) (*Shape, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New("not JSON")
	}
	return shapeOf(v, 0), nil
}

func shapeOf(v any, depth int) *Shape {
	switch t := v.(type) {
	case map[string]any:
		s := &Shape{Type: "object", Keys: map[string]*Shape{}}
		if depth >= maxShapeDepth || len(t) > maxShapeKeys {
			s.Cut = true
			s.MinLen, s.MaxLen = len(t), len(t)
			return s
		}
		for k, e := range t {
			s.Keys[k] = shapeOf(e, depth+1)
		}
		return s
	case []any:
		s := &Shape{Type: "array", MinLen: len(t), MaxLen: len(t)}
		if depth >= maxShapeDepth {
			s.Cut = true
			return s
		}
		for _, e := range t {
			s.Elem = Merge(s.Elem, shapeOf(e, depth+1))
		}
		return s
	case string:
		return &Shape{Type: "string"}
	case json.Number, float64:
		return &Shape{Type: "number"}
	case bool:
		return &Shape{Type: "boolean"}
	}
	return &Shape{Type: "null"}
}

var typeOrder = []string{"object", "array", "string", "number", "boolean", "null"}

// Merge returns the shape that covers both a and b: the union of objects' members, the range
// of arrays' lengths, and a union where the types differ.
func Merge(a, b *Shape) *Shape {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.Type == "union" || b.Type == "union" || a.Type != b.Type:
		u := &Shape{Type: "union"}
		for _, x := range append(alts(a), alts(b)...) {
			i := slices.IndexFunc(u.Alts, func(y *Shape) bool { return y.Type == x.Type })
			if i >= 0 {
				u.Alts[i] = Merge(u.Alts[i], x)
			} else {
				u.Alts = append(u.Alts, x)
			}
		}
		slices.SortFunc(u.Alts, func(x, y *Shape) int {
			return slices.Index(typeOrder, x.Type) - slices.Index(typeOrder, y.Type)
		})
		return u
	}
	out := &Shape{Type: a.Type, Cut: a.Cut || b.Cut, MinLen: min(a.MinLen, b.MinLen), MaxLen: max(a.MaxLen, b.MaxLen), Hidden: max(a.Hidden, b.Hidden)}
	switch a.Type {
	case "object":
		out.Keys = maps.Clone(a.Keys)
		for k, v := range b.Keys {
			out.Keys[k] = Merge(out.Keys[k], v)
		}
		if len(out.Keys) > maxShapeKeys {
			out.Keys, out.Cut, out.MaxLen = map[string]*Shape{}, true, len(out.Keys)
		}
	case "array":
		out.Elem = Merge(a.Elem, b.Elem)
	}
	return out
}

func alts(s *Shape) []*Shape {
	if s.Type == "union" {
		return s.Alts
	}
	return []*Shape{s}
}

// RenameKeys returns a copy of s in which every member name for which hide reports true is
// replaced by "<key>" (their shapes merged), and "<keys hidden>" counts them. It is how a
// report removes member names that are data (an object keyed by integration id).
func (s *Shape) RenameKeys(hide func(name string, siblings []string) bool) *Shape {
	if s == nil {
		return nil
	}
	out := &Shape{Type: s.Type, MinLen: s.MinLen, MaxLen: s.MaxLen, Cut: s.Cut}
	if s.Keys != nil {
		out.Keys = map[string]*Shape{}
		names := slices.Sorted(maps.Keys(s.Keys))
		hidden := 0
		for _, k := range names {
			v := s.Keys[k].RenameKeys(hide)
			if hide(k, names) {
				hidden++
				out.Keys[hiddenKey] = Merge(out.Keys[hiddenKey], v)
				continue
			}
			out.Keys[k] = v
		}
		out.Hidden = s.Hidden + hidden
	}
	out.Elem = s.Elem.RenameKeys(hide)
	for _, a := range s.Alts {
		out.Alts = append(out.Alts, a.RenameKeys(hide))
	}
	return out
}

// The member names RenameKeys puts in place of hidden ones.
const (
	hiddenKey   = "<key>"
	hiddenCount = "<keys hidden>"
)

// Names returns every member name in s, at any depth, sorted.
func (s *Shape) Names() []string {
	seen := map[string]bool{}
	var walk func(*Shape)
	walk = func(s *Shape) {
		if s == nil {
			return
		}
		for k, v := range s.Keys {
			seen[k] = true
			walk(v)
		}
		walk(s.Elem)
		for _, a := range s.Alts {
			walk(a)
		}
	}
	walk(s)
	return slices.Sorted(maps.Keys(seen))
}

// At returns the shape at a path of member names ("" steps into an array's elements), or
// nil.
func (s *Shape) At(path ...string) *Shape {
	for _, p := range path {
		if s == nil {
			return nil
		}
		if p == "" {
			s = s.Elem
			continue
		}
		s = s.Keys[p]
	}
	return s
}

// MarshalJSON writes the compact form described at Shape.
func (s *Shape) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	switch s.Type {
	case "object":
		if s.Cut && len(s.Keys) == 0 {
			return quote(fmt.Sprintf("<object of %d members, not shown>", s.MaxLen)), nil
		}
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(s.Keys)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(quote(k))
			b.WriteByte(':')
			vb, err := s.Keys[k].MarshalJSON()
			if err != nil {
				return nil, err
			}
			b.Write(vb)
		}
		if s.Hidden > 0 {
			if len(s.Keys) > 0 {
				b.WriteByte(',')
			}
			b.Write(quote(hiddenCount))
			fmt.Fprintf(&b, ":%d", s.Hidden)
		}
		b.WriteByte('}')
		return b.Bytes(), nil
	case "array":
		var b bytes.Buffer
		b.WriteByte('[')
		if s.MinLen != s.MaxLen {
			b.Write(quote(strconv.Itoa(s.MinLen) + ".." + strconv.Itoa(s.MaxLen)))
		} else {
			b.WriteString(strconv.Itoa(s.MinLen))
		}
		if s.Elem != nil {
			vb, err := s.Elem.MarshalJSON()
			if err != nil {
				return nil, err
			}
			b.WriteByte(',')
			b.Write(vb)
		}
		if s.Cut {
			b.WriteByte(',')
			b.Write(quote("<cut>"))
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	case "union":
		var b bytes.Buffer
		b.WriteString(`{"<any of>":[`)
		for i, a := range s.Alts {
			if i > 0 {
				b.WriteByte(',')
			}
			vb, err := a.MarshalJSON()
			if err != nil {
				return nil, err
			}
			b.Write(vb)
		}
		b.WriteString("]}")
		return b.Bytes(), nil
	}
	return quote(scalarMark[s.Type]), nil
}

// quote writes s as a JSON string, with < and > as they are: the markers read "<str>", not
// "\u003cstr\u003e".
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

var scalarMark = map[string]string{"string": "<str>", "number": "<num>", "boolean": "<bool>", "null": "<null>"}
