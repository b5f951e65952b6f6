package bulk

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestShapeOf: every value is replaced by its type; arrays keep their length and merge their
// elements; types that differ become a union; nothing of a value survives.
func TestShapeOf(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"scalars", `{"s":"secret-value","n":42,"b":true,"z":null}`, `{"b":"<bool>","n":"<num>","s":"<str>","z":"<null>"}`},
		{"array of objects merged", `{"data":[{"id":"a1","x":1},{"id":"b2","y":"q"}]}`, `{"data":[2,{"id":"<str>","x":"<num>","y":"<str>"}]}`},
		{"empty array", `[]`, `[0]`},
		{"nested lengths range", `[[1,2],[3],[4,5,6]]`, `[3,["1..3","<num>"]]`},
		{"mixed types", `[1,"a",{"k":true},[true],null]`, `[5,{"<any of>":[{"k":"<bool>"},[1,"<bool>"],"<str>","<num>","<null>"]}]`},
		{"top-level string", `"hunter2"`, `"<str>"`},
		{"html characters kept", `{"<a>":1}`, `{"<a>":"<num>"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ShapeOf([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("shape of %s\n got %s\nwant %s", tc.in, got, tc.want)
			}
			for _, secret := range []string{"secret-value", "a1", "b2", "hunter2", "42"} {
				if strings.Contains(string(got), secret) {
					t.Errorf("shape holds the value %q: %s", secret, got)
				}
			}
		})
	}
	if _, err := ShapeOf([]byte(`{"a":`)); err == nil {
		t.Error("malformed JSON: no error")
	}
}

// TestShapeBounds: a deep or wide document gives a bounded shape that says it was cut.
func TestShapeBounds(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	s, err := ShapeOf([]byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.MarshalJSON()
	if !strings.Contains(string(b), "not shown") || strings.Count(string(b), `"a"`) > maxShapeDepth {
		t.Errorf("deep document not cut: %s", b)
	}
	var wide strings.Builder
	wide.WriteString("{")
	for i := range 500 {
		if i > 0 {
			wide.WriteString(",")
		}
		fmt.Fprintf(&wide, `"k%d":1`, i)
	}
	wide.WriteString("}")
	s, err = ShapeOf([]byte(wide.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Cut || len(s.Keys) != 0 {
		t.Errorf("wide object kept %d members, cut %v", len(s.Keys), s.Cut)
	}
}

// TestRenameKeys: member names the caller calls data are merged under "<key>" and counted;
// the others stay; Names lists them all.
func TestRenameKeys(t *testing.T) {
	s, err := ShapeOf([]byte(`{"options":{"apiKey":{"value":"x"},"url":{"value":"y","multiple":false}},"id":"z"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.RenameKeys(func(name string, _ []string) bool { return name == "apiKey" || name == "url" })
	b, _ := r.MarshalJSON()
	want := `{"id":"<str>","options":{"<key>":{"multiple":"<bool>","value":"<str>"},"<keys hidden>":2}}`
	if string(b) != want {
		t.Errorf("renamed\n got %s\nwant %s", b, want)
	}
	if got := r.Names(); !slices.Equal(got, []string{"<key>", "id", "multiple", "options", "value"}) {
		t.Errorf("names %v", got)
	}
	if r.At("options", "<key>", "value").Type != "string" {
		t.Errorf("At: %+v", r.At("options", "<key>", "value"))
	}
	// The original is untouched.
	if s.Keys["options"].Keys["apiKey"] == nil {
		t.Error("RenameKeys changed its receiver")
	}
}

// TestServerShapesZero: an empty record is left out of plan.json and results.json.
func TestServerShapesZero(t *testing.T) {
	if !(ServerShapes{}).IsZero() {
		t.Error("zero record not zero")
	}
	if (ServerShapes{Sensitive: Visibility{Absent: 1}}).IsZero() || (ServerShapes{PatchStatuses: []int{204}}).IsZero() {
		t.Error("a record with content counts as zero")
	}
}
