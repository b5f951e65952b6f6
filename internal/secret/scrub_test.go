package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/polarity-bulk/polarity-bulk/internal/secret"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// jsonGo is encoding/json's form: <, > and & as \u003c..., U+2028/9 escaped, invalid UTF-8 as
// \ufffd.
func jsonGo(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// jsonPlain is encoding/json without HTML escaping.
func jsonPlain(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// jsStringify is what JSON.stringify writes (a Node server): only ", \ and control
// characters are escaped, U+2028/9 and everything else stay as they are.
func jsStringify(s string, asciiOnly, upperHex, slash bool) string {
	var b strings.Builder
	hex := "%04x"
	if upperHex {
		hex = "%04X"
	}
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u`+hex, r)
		case asciiOnly && r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u`+hex, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// gson is Gson's default: HTML-safe, with = and ' escaped too.
func gson(s string) string {
	r := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "=", `\u003d`, "'", `\u0027`)
	return r.Replace(jsStringify(s, false, false, false))
}

// The encodings a server (or a gateway, or a library) plausibly echoes a value in.
var encodings = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"go-json", jsonGo},
	{"go-json-no-html", jsonPlain},
	{"js-stringify", func(s string) string { return jsStringify(s, false, false, false) }},
	{"ascii-json", func(s string) string { return jsStringify(s, true, false, false) }},
	{"ascii-json-upper", func(s string) string { return jsStringify(s, true, true, false) }},
	{"php-json", func(s string) string { return jsStringify(s, true, false, true) }},
	{"gson", gson},
	{"json-in-json", func(s string) string { return jsStringify(jsStringify(s, false, false, false), false, false, false) }},
	{"go-json-in-go-json", func(s string) string { return jsonGo(jsonGo(s)) }},
	{"go-quote", func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] }},
	{"go-quote-ascii", func(s string) string { q := strconv.QuoteToASCII(s); return q[1 : len(q)-1] }},
	{"html", html.EscapeString},
	{"html-template", func(s string) string {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
	}},
	{"json-in-html", func(s string) string { return html.EscapeString(jsonGo(s)) }},
	{"url-query", url.QueryEscape},
	{"url-path", url.PathEscape},
	{"json-in-url", func(s string) string {
		return url.QueryEscape(`{"value":"` + jsStringify(s, false, false, false) + `"}`)
	}},
	{"one-line", secret.OneLine},
}

// TestScrubHostileSecrets echoes every hostile secret in every encoding inside a message
// and checks that nothing of it is left, while the message around it is.
func TestScrubHostileSecrets(t *testing.T) {
	secrets := testkit.Hostile()
	if len(secrets) < 40 {
		t.Fatalf("%d hostile secrets, want at least 40", len(secrets))
	}
	set := secret.NewSet("(redacted)")
	for _, s := range secrets {
		set.Add(s.Value)
	}
	cases := 0
	for _, s := range secrets {
		for _, e := range encodings {
			echo := e.enc(s.Value)
			for _, text := range []string{
				"invalid value " + echo + " for option apiKey",
				echo,
				`{"errors":[{"detail":"` + echo + `"}]}`,
			} {
				cases++
				got := set.Scrub(text)
				if strings.Contains(got, s.Marker) {
					t.Errorf("%s, %s: marker left in %q", s.Name, e.name, clipText(got))
				}
				if strings.HasPrefix(text, "invalid value ") && (!strings.HasPrefix(got, "invalid value ") || !strings.HasSuffix(got, " for option apiKey")) {
					t.Errorf("%s, %s: the text around the secret was not kept: %q", s.Name, e.name, clipText(got))
				}
			}
		}
	}
	t.Logf("%d secrets × %d encodings × 3 messages = %d cases", len(secrets), len(encodings), cases)
}

// TestScrubCutShort covers a secret cut short: by the server (its first 40 bytes and "…"),
// and by the caller (ScrubCut of a text whose end is the start of a secret).
func TestScrubCutShort(t *testing.T) {
	for _, s := range testkit.Hostile() {
		set := secret.NewSet("(redacted)")
		set.Add(s.Value)
		if len(s.Value) >= 40 {
			cut := s.Value[:40]
			for _, e := range encodings[:4] {
				got := set.Scrub("invalid value '" + e.enc(cut) + "…' is too long")
				if strings.Contains(got, s.Value[:secretFrag]) || !strings.HasSuffix(got, "…' is too long") {
					t.Errorf("%s, %s: server-cut prefix left: %q", s.Name, e.name, clipText(got))
				}
			}
		}
		for _, n := range []int{1, 3, 5, 17, len(s.Value) - 1} {
			if n <= 0 || n >= len(s.Value) {
				continue
			}
			got := set.ScrubCut("start of an answer " + s.Value[:n])
			// The answer's own space may go too when the secret starts with spaces.
			if !strings.HasPrefix(got, "start of an answer") || !strings.HasSuffix(got, "(redacted)") || len(got) > len("start of an answer (redacted)") {
				t.Errorf("%s: ScrubCut after %d bytes: %q", s.Name, n, clipText(got))
			}
		}
	}
}

const secretFrag = 24

// TestScrubPrecise: only the secrets go; ordinary values around them, and values that merely
// share a short start with a secret, stay.
func TestScrubPrecise(t *testing.T) {
	set := secret.NewSet("(redacted)")
	set.Add("sk-live-0123456789", "abc", "    ", "https://internal.example/sensitive-path/xyz")
	for _, tc := range []struct{ in, want string }{
		{"https://bad.example/ is not a valid URL", "https://bad.example/ is not a valid URL"},
		{"key sk-live-0123456789 refused", "key (redacted) refused"},
		{`{"value":"sk-live-0123456789"}`, `{"value":"(redacted)"}`},
		{"sk-live-01234 is a prefix under 24 bytes", "sk-live-01234 is a prefix under 24 bytes"},
		{"abc is too short to be scrubbed", "abc is too short to be scrubbed"},
		{"spaces    stay", "spaces    stay"},
		{"https://internal.exa/other is kept: 20 bytes in common", "https://internal.exa/other is kept: 20 bytes in common"},
		{"https://internal.example/other: 25 bytes in common", "(redacted)other: 25 bytes in common"},
		{"https://internal.example/sensitive-path/x… cut", "(redacted)… cut"},
		{"twice sk-live-0123456789sk-live-0123456789.", "twice (redacted)."},
		{"", ""},
	} {
		if got := set.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := set.Scrub("value sk-live-XYZ sent", "sk-live-XYZ"); got != "value (redacted) sent" {
		t.Errorf("extra secret: %q", got)
	}
	if !set.Contains(`"sk-live-0123456789"`) || set.Contains("nothing here") {
		t.Error("Contains")
	}
	if n := set.Len(); n != 2 {
		t.Errorf("Len = %d, want 2 (the short and the blank one are ignored)", n)
	}
}

// TestScrubEmptySet leaves text alone.
func TestScrubEmptySet(t *testing.T) {
	set := secret.NewSet("x")
	if got := set.Scrub("anything \\u0041 &amp; %41"); got != "anything \\u0041 &amp; %41" {
		t.Errorf("got %q", got)
	}
}

func clipText(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

// FuzzScrub checks that Scrub never panics and that a secret added to the set never survives
// the raw and JSON forms, whatever the text around it.
func FuzzScrub(f *testing.F) {
	f.Add("secret-value", "before ", " after")
	f.Add(`"<&>\`, `\u00`, `&#`)
	f.Add("ü€𝔘", "%", "+")
	f.Fuzz(func(t *testing.T, sec, before, after string) {
		set := secret.NewSet("(redacted)")
		set.Add(sec)
		_ = set.Scrub(before + after)
		_ = set.ScrubCut(before + after)
		if set.Len() == 0 {
			return
		}
		for _, e := range encodings[:4] {
			got := set.Scrub(before + e.enc(sec) + after)
			if strings.Contains(got, sec) && !strings.Contains(before+after, sec) {
				t.Fatalf("%s: %q left in %q", e.name, sec, got)
			}
		}
	})
}

// TestJSONStrings: the secrets of a sensitive JSON value are its strings at any depth,
// without those a Set would not keep.
func TestJSONStrings(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want []string
	}{
		{`"s3cret-value"`, []string{"s3cret-value"}},
		{`"abc"`, nil},    // shorter than MinLen
		{`"    "`, nil},   // blank
		{`12345678`, nil}, // not a string
		{`{"value":"High-1","display":"High one"}`, []string{"High one", "High-1"}},
		{`[{"value":"new-1","display":"New"},{"value":"closed-2","display":"Closed"}]`, []string{"Closed", "closed-2", "new-1"}},
		{`{"a":[["deep-string"]]}`, []string{"deep-string"}},
		{`"unterminated`, nil},
	} {
		got := secret.JSONStrings([]byte(tt.raw))
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("JSONStrings(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
