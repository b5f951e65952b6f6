package bulk

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParsePermission(t *testing.T) {
	tests := []struct {
		in   string
		want Permission
		ok   bool
	}{
		{"lock-hide", Permission{AdminOnly: true}, true},
		{" LOCK-SHOW ", Permission{}, true},
		{"user-provides", Permission{UserCanEdit: true}, true},
		{"Lock and hide option for all users", Permission{AdminOnly: true}, true},
		{"lock and show option for all users", Permission{}, true},
		{"User provides option value", Permission{UserCanEdit: true}, true},
		{"lock", Permission{}, false},
		{"", Permission{}, false},
	}
	for _, tt := range tests {
		got, ok := ParsePermission(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParsePermission(%q) = %+v, %t; want %+v, %t", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != strings.ToLower(strings.TrimSpace(tt.in)) && len(tt.in) < 15 {
			t.Errorf("%q round-trips to %q", tt.in, got.String())
		}
	}
	if (Permission{AdminOnly: true, UserCanEdit: true}).Valid() || (Permission{AdminOnly: true, UserCanEdit: true}).String() != "invalid" {
		t.Error("true/true accepted")
	}
}

func TestPermChangeApply(t *testing.T) {
	cur := Permission{UserCanEdit: true}
	p := PermissionEdit{AdminOnly: Bool{Set: true, Value: true}}
	if got := p.Apply(cur); got.Valid() {
		t.Errorf("admin_only=true over user-can-edit=true gave %+v, which must be the invalid pair", got)
	}
	if got := (PermissionEdit{}).Apply(cur); got != cur || !(PermissionEdit{}).Empty() {
		t.Error("an empty change is not a no-op")
	}
}

func TestSecretsNeverFormat(t *testing.T) {
	v := Value{Form: ValueLiteral, Text: "hunter2-secret"}
	p := NewPayload(json.RawMessage(`"hunter2-secret"`))
	c := Change{Send: p, Current: p, Row: Row{Value: v, Cell: "x"}}
	for _, s := range []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s", v, v, v, v),
		fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p),
	} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("formatting leaks: %s", s)
		}
	}
	b, err := json.Marshal(c)
	if err != nil || strings.Contains(string(b), "hunter2") {
		t.Errorf("marshalling a change leaks: %s %v", b, err)
	}
	if string(p.Bytes()) != `"hunter2-secret"` || !p.Present() || NewPayload(nil).Present() {
		t.Error("payload does not keep its bytes")
	}
}

func TestProblemError(t *testing.T) {
	ps := Problems{
		{File: "a.csv", Line: 4, Column: "permission", Msg: "bad"},
		{File: "a.csv", Msg: "file is empty"},
		{File: "a.csv", Line: 2, Msg: "merged", Warning: true},
	}
	want := "a.csv:4: permission: bad\na.csv: file is empty\na.csv:2: warning: merged"
	if ps.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", ps.Error(), want)
	}
	if len(ps.Fatal()) != 2 {
		t.Error("warnings counted as fatal")
	}
}

func TestSplitOptionID(t *testing.T) {
	id, key, ok := SplitOptionID(OptionID("abuseipdb_3_3_4_node_18_71ff23754e_1725342515", "api-key-with-dash"))
	if !ok || id != "abuseipdb_3_3_4_node_18_71ff23754e_1725342515" || key != "api-key-with-dash" {
		t.Errorf("got %q %q %t", id, key, ok)
	}
}

func TestParseBool(t *testing.T) {
	for s, want := range map[string]bool{
		"true": true, "TRUE": true, " yes ": true, "1": true, "On": true,
		"false": false, "No": false, "0": false, "off\t": false,
	} {
		if v, ok := ParseBool(s); !ok || v != want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, true", s, v, ok, want)
		}
	}
	for _, s := range []string{"", "t", "f", "y", "2", "enabled", "true1", "nil"} {
		if _, ok := ParseBool(s); ok {
			t.Errorf("ParseBool(%q) accepted", s)
		}
	}
}
