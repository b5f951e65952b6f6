package bulk

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIsPattern(t *testing.T) {
	for cell, want := range map[string]bool{
		"*": true, "glob:Virus*": true, "glob:VirusTotal": true, "re:.*": true, "glob:": true,
		"": false, "**": false, " *": false, "apiKey": false, "virustotal_node_18_1725278818": false,
		"Glob:x": false, "regex:x": false, "VirusTotal": false,
	} {
		if got := IsPattern(cell); got != want {
			t.Errorf("IsPattern(%q) = %v, want %v", cell, got, want)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		cell string
		fold bool
		yes  []string
		no   []string
	}{
		{"*", false, []string{"", "anything", "a/b"}, nil},
		{"apiKey", false, []string{"apiKey"}, []string{"apikey", "apiKeys", ""}},
		{"VirusTotal", true, []string{"virustotal", "VIRUSTOTAL", "VirusTotal"}, []string{"VirusTotal2"}},
		{"glob:VirusTotal", true, []string{"virustotal", "VirusTotal"}, []string{"VirusTotal 2", "Virus"}},
		{"glob:Virus*", true, []string{"VirusTotal", "virus", "VIRUS/total"}, []string{"AVirus"}},
		{"glob:*Key", false, []string{"apiKey", "Key", "privateKey"}, []string{"apikey", "keys", "apiKeyX"}},
		{"glob:*key", false, []string{"monkey"}, []string{"apiKey"}},
		{"glob:api?ey", false, []string{"apiKey", "apiöey"}, []string{"apiey", "apiKKey"}},
		{"glob:[ab]*", false, []string{"apiKey", "blocklist"}, []string{"url", "Blocklist"}},
		{"glob:[!ab]*", false, []string{"url", "Blocklist"}, []string{"apiKey", "blocklist"}},
		{"glob:[^a-c]*", false, []string{"url"}, []string{"blocklist", "apiKey"}},
		{"glob:[a-c]*", true, []string{"Blocklist", "CrowdStrike"}, []string{"Shodan"}},
		{"glob:[]x]", false, []string{"]", "x"}, []string{"a"}},
		{`glob:a\*b`, false, []string{"a*b"}, []string{"axb", `a\*b`}},
		{`glob:a\[b`, false, []string{"a[b"}, []string{"ab"}},
		{"glob:*a*b*c*", false, []string{"abc", "xaxbxcx", "aabbcc"}, []string{"acb", "ab"}},
		{"glob:virustotal_node_18_*", false, []string{"virustotal_node_18_1725278818"}, []string{"Virustotal_node_18_1"}},
		{"re:virustotal_.*", false, []string{"virustotal_node_18_1725278818"}, []string{"xvirustotal_1", "VirusTotal_1"}},
		{"re:a|b", false, []string{"a", "b"}, []string{"ab", "xa"}},
		{"re:Virus.*", true, []string{"virustotal", "VIRUS"}, []string{"a virus"}},
		{"re:(?i)apikey", false, []string{"apiKey", "APIKEY"}, []string{"apiKeys"}},
		{"re:.*[Kk]ey", false, []string{"apiKey", "authKey", "publicKey"}, []string{"keys"}},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.cell, tt.fold)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.cell, err)
			continue
		}
		if p.String() != tt.cell {
			t.Errorf("String() = %q, want %q", p.String(), tt.cell)
		}
		if p.Exact() != !IsPattern(tt.cell) {
			t.Errorf("%q: Exact() = %v", tt.cell, p.Exact())
		}
		for _, s := range tt.yes {
			if !p.Match(s) {
				t.Errorf("%q (fold %v) does not match %q", tt.cell, tt.fold, s)
			}
		}
		for _, s := range tt.no {
			if p.Match(s) {
				t.Errorf("%q (fold %v) matches %q", tt.cell, tt.fold, s)
			}
		}
	}
}

// TestGlobLikePathMatch: without a slash in the text, a glob means what path.Match says.
func TestGlobLikePathMatch(t *testing.T) {
	globs := []string{"*", "a*", "*a", "a?c", "[a-c]?", "[^a]*", "*[xyz]", "a*b*c", "??", `\*x`, "*.*"}
	texts := []string{"", "a", "abc", "xa", "bcd", "]x", "*x", "a.b", "aXbYc", "zz", "ab.cd"}
	for _, g := range globs {
		p, err := ParsePattern("glob:"+g, false)
		if err != nil {
			t.Fatalf("%q: %v", g, err)
		}
		for _, s := range texts {
			want, err := path.Match(g, s)
			if err != nil {
				t.Fatalf("path.Match(%q): %v", g, err)
			}
			if got := p.Match(s); got != want {
				t.Errorf("glob %q on %q = %v, path.Match says %v", g, s, got, want)
			}
		}
	}
}

func TestPatternErrors(t *testing.T) {
	tests := []struct {
		cell string
		pos  int
		msg  string
	}{
		{"glob:", 5, "empty glob"},
		{"re:", 3, "empty regular expression"},
		{"glob:Virus[", 11, "[ is never closed"},
		{"glob:a[]", 7, "[ is never closed"},
		{"glob:[z-a]x", 6, "the range z-a runs backwards"},
		{`glob:ab\`, 8, `\ at the end`},
		{"re:Virus(", 4, "missing closing )"},
		{"re:ab[", 6, "missing closing ]: `[`"},
		{"re:a**", 5, "invalid nested repetition operator: `**`"},
		{"re:(?<x", 4, "invalid named capture"},
		{`re:\8`, 4, "invalid escape sequence: `\\8`"},
	}
	for _, tt := range tests {
		_, err := ParsePattern(tt.cell, false)
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("ParsePattern(%q) = %v, want a *PatternError", tt.cell, err)
			continue
		}
		if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("ParsePattern(%q): pos %d msg %q, want pos %d and %q", tt.cell, pe.Pos, pe.Msg, tt.pos, tt.msg)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?[c-e]", "axbyd")
	f.Add(`[!]x]\*`, "y*")
	f.Fuzz(func(t *testing.T, g, s string) {
		p, err := ParsePattern("glob:"+g, false)
		if err != nil {
			return
		}
		got := p.Match(s) // must not panic or hang
		if strings.ContainsAny(g+s, "/^\\") || !utf8.ValidString(g+s) {
			return // path.Match treats / and \ and ^ its own way
		}
		if want, err := path.Match(g, s); err == nil && got != want {
			t.Errorf("glob %q on %q = %v, path.Match says %v", g, s, got, want)
		}
	})
}
