package fake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestShippedFixture pins what other tests and the demo rely on.
func TestShippedFixture(t *testing.T) {
	fix, err := LoadFixture(mainFixture)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fix.Integrations); n < 15 {
		t.Errorf("%d integrations, want 15 or more", n)
	}
	kinds := map[string]bool{}
	names := map[string][]string{}
	var stopped []string
	commaValue := false
	displayDiffers := false
	for _, in := range fix.Integrations {
		names[in.Name] = append(names[in.Name], in.ID)
		if in.Status == StatusStopped {
			stopped = append(stopped, in.ID)
		}
		for _, o := range in.Options {
			k := string(o.Type)
			if o.Type == KindSelect && o.Multiple {
				k = "multiple select"
			}
			kinds[k] = true
			for _, c := range o.Options {
				commaValue = commaValue || strings.Contains(c.Value, ",")
				displayDiffers = displayDiffers || c.Value != c.Display
			}
		}
	}
	for _, k := range []string{"text", "password", "boolean", "number", "select", "multiple select"} {
		if !kinds[k] {
			t.Errorf("no %s option", k)
		}
	}
	if !commaValue || !displayDiffers {
		t.Errorf("want a select value with a comma (%v) and a display differing from its value (%v)", commaValue, displayDiffers)
	}
	if want := []string{"servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000"}; !reflect.DeepEqual(stopped, want) {
		t.Errorf("stopped = %v, want %v", stopped, want)
	}
	if got, want := names["VirusTotal"], []string{"virustotal_node_18_1725278818", "virustotal_node_18_1731000000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("VirusTotal copies = %v, want %v", got, want)
	}
	if _, ok := names["AbuseIPDB"]; !ok {
		t.Error("no AbuseIPDB")
	}
}

func TestLoadFixtureErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "f.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, body string
		want       []string // substrings of the error, all reported at once
	}{
		{"missing file", "", []string{"no such file"}},
		{"unknown field", `{"integrations":[],"colour":1}`, []string{"unknown field"}},
		{"everything wrong", `{"integrations":[
			{"id":"a-b","options":[{"key":"k","type":"colour"}]},
			{"id":"x","options":[
				{"key":"n","type":"number","value":"7"},
				{"key":"n","type":"select","value":{"value":"z"},"options":[{"value":"y","display":"Y"}]},
				{"key":"p","type":"text","admin-only":true,"user-can-edit":true},
				{"key":"s","type":"select"}]},
			{"id":"x","options":[]}],
			"api-keys":[{"key":"k","integrations":["nope"]}]}`,
			[]string{`"a-b"`, `unknown type "colour"`, "must be a number", "duplicate key", `"z" is not one of`,
				"both true", "select without options", "x: duplicate id", "unknown integration nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "missing.json")
			if tt.body != "" {
				path = write(tt.body)
			}
			_, err := LoadFixture(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCheckValue(t *testing.T) {
	one, ten := 1.0, 10.0
	choices := []Choice{{"score,desc", "Best"}, {"low", "Low"}}
	text := &Option{Type: KindText}
	pw := &Option{Type: KindPassword}
	boolean := &Option{Type: KindBoolean}
	num := &Option{Type: KindNumber, Min: &one, Max: &ten}
	sel := &Option{Type: KindSelect, Options: choices}
	multi := &Option{Type: KindSelect, Options: choices, Multiple: true}
	tests := []struct {
		o       *Option
		in      string
		want    string // stored value, or "" when refused
		problem string
	}{
		{text, `"x"`, `"x"`, ""},
		{text, `5`, "", "must be a string"},
		{text, `null`, `null`, ""},
		{pw, `""`, `""`, ""},
		{pw, `true`, "", "must be a string"},
		{boolean, `false`, `false`, ""},
		{boolean, `"true"`, "", "true or false"},
		{num, `10`, `10`, ""},
		{num, `2.5`, `2.5`, ""},
		{num, `0`, "", "between 1 and 10"},
		{num, `"5"`, "", "must be a number"},
		{sel, `{"value":"score,desc","display":"anything"}`, `{"value":"score,desc","display":"Best"}`, ""},
		{sel, `{"value":"score,desc"}`, `{"value":"score,desc","display":"Best"}`, ""},
		{sel, `"low"`, "", "object"},
		{sel, `{"value":"high","display":"High"}`, "", `"high" is not one of the choices "score,desc", "low"`},
		{sel, `[{"value":"low","display":"Low"}]`, "", "object"},
		{multi, `[{"value":"low","display":"Low"},{"value":"score,desc","display":"Best"}]`, `[{"value":"low","display":"Low"},{"value":"score,desc","display":"Best"}]`, ""},
		{multi, `[]`, `[]`, ""},
		{multi, `{"value":"low","display":"Low"}`, "", "array"},
		{multi, `[{"value":"nope","display":"x"}]`, "", "not one of"},
		{multi, `null`, `null`, ""},
		{text, `{`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		got, problem := checkValue(tt.o, json.RawMessage(tt.in))
		if string(got) != tt.want || !strings.Contains(problem, tt.problem) || (tt.problem == "") != (problem == "") {
			t.Errorf("%s %s: got %s %q, want %s %q", tt.o.Type, tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func TestSynthetic(t *testing.T) {
	a, b := Synthetic(50, 7), Synthetic(50, 7)
	if !reflect.DeepEqual(a, b) {
		t.Error("same n and seed gave different fixtures")
	}
	if reflect.DeepEqual(a, Synthetic(50, 8)) {
		t.Error("different seeds gave the same fixture")
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	main, err := LoadFixture(mainFixture)
	if err != nil {
		t.Fatal(err)
	}
	main.Integrations = append(main.Integrations, a.Integrations...)
	if err := main.Validate(); err != nil {
		t.Errorf("synthetic ids collide with the shipped fixture: %v", err)
	}
	if len(Synthetic(0, 1).Integrations) != 0 {
		t.Error("Synthetic(0) is not empty")
	}
}

// TestNewCopiesFixture checks that the server never shares state with its caller.
func TestNewCopiesFixture(t *testing.T) {
	fix, err := LoadFixture(tinyFixture)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(fix, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetOption(alpha, "url", json.RawMessage(`"https://changed"`)); err != nil {
		t.Fatal(err)
	}
	if got := string(fix.Integrations[0].option("url").Value); got != `"https://alpha.example.invalid"` {
		t.Errorf("caller's fixture changed to %s", got)
	}
	st := srv.State()
	st[0].Options[0].Value[1] = 'X'
	if got := optionValue(t, srv, alpha, "apiKey"); got != `"alpha-secret"` {
		t.Errorf("State shares memory: %s", got)
	}
}
