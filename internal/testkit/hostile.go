package testkit

// Hostile secret values for the tests that prove no secret leaks (the unit tests of the
// scrubber and the end-to-end leak tests), the encodings a careless server echoes them in,
// and the search for them.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// Secret is one hostile value. Marker is a random run of letters and digits inside Value that
// reads the same in every encoding (JSON, CSV, XML, HTML, a URL, Go's %q): finding it anywhere
// means some of the value leaked, however it was written.
type Secret struct {
	Name   string
	Value  string
	Marker string
}

// NewMarker returns a fresh marker: "mk" and 20 hex digits.
func NewMarker() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "mk" + hex.EncodeToString(b)
}

// Hostile returns at least 40 hostile secrets with fresh markers: quotes, backslashes, <>&,
// unicode of every width, control characters, look-alikes of the escapes a scrubber decodes,
// spreadsheet formulas, very long values, and values that are a prefix of another. No value
// holds a NUL byte (an environment variable cannot) and every one is at least 24 bytes long.
func Hostile() []Secret {
	var out []Secret
	add := func(name string, f func(m string) string) {
		m := NewMarker()
		out = append(out, Secret{Name: name, Value: f(m), Marker: m})
	}
	add("quotes", func(m string) string { return `"quoted"-pass-` + m + `-"end"` })
	add("single-quotes", func(m string) string { return `'single' ` + m + ` 'quotes'` })
	add("backslashes", func(m string) string { return `back\slash\` + m + `\\end\` })
	add("quote-and-angle", func(m string) string { return `"<` + m + `>"&` })
	add("script", func(m string) string { return `<script>alert("` + m + `")</script>` })
	add("html-all", func(m string) string { return `a&b<c>d"e'f` + m + `&amp;` })
	add("json-looking", func(m string) string { return `{"value":"` + m + `","x":[1,2]}` })
	add("backslash-quote", func(m string) string { return `\"` + m + `\"\\\"` })
	add("literal-escape-u", func(m string) string { return `\u0041\u003c` + m + `\x41\n` })
	add("entity-looking", func(m string) string { return `&lt;&#34;&#x27;` + m + `&quot;&gt;` })
	add("percent-looking", func(m string) string { return `%41%2F%22` + m + `%zz+plus+` })
	add("latin1", func(m string) string { return "pässwörd-" + m + "-ñandú" })
	add("cjk", func(m string) string { return "日本語のパスワード" + m + "秘密" })
	add("emoji", func(m string) string { return "🔑" + m + "🔒🏴‍☠️" })
	add("astral-math", func(m string) string { return "𝔘𝔫𝔦𝔠𝔬𝔡𝔢" + m + "𝟘𝟙" })
	add("line-separators", func(m string) string { return "sep\u2028" + m + "\u2029end" })
	add("bidi", func(m string) string { return "\u202eevil\u202c" + m + "\u2066x\u2069" })
	add("zero-width", func(m string) string { return "zw\u200b\u200d" + m + "\ufeffend" })
	add("nbsp", func(m string) string { return "\u00a0nb\u00a0" + m + "\u00a0" })
	add("control-chars", func(m string) string { return "ctl\x01\x02\x1f" + m + "\x7fend" })
	add("newlines", func(m string) string { return "line1\nline2 " + m + "\r\nline3\n" })
	add("tabs", func(m string) string { return "\ttab\t" + m + "\tafter" })
	add("ansi", func(m string) string { return "\x1b[31mred\x1b[0m" + m + "\x1b]0;title\x07" })
	add("backspace-formfeed", func(m string) string { return "bs\b\bff\f" + m + "\v" })
	add("invalid-utf8", func(m string) string { return "bad\xff\xfe" + m + "\xc3(" })
	add("formula-equals", func(m string) string { return `=HYPERLINK("http://x/` + m + `","y")` })
	add("formula-plus", func(m string) string { return "+cmd|' /C calc'!A0" + m })
	add("formula-minus", func(m string) string { return "-2+3+" + m + "-4" })
	add("formula-at", func(m string) string { return "@SUM(1+1)*cmd|" + m })
	add("csv-breaker", func(m string) string { return `a,b,"c",` + m + "\n,\"\"" })
	add("markdown", func(m string) string { return "|pipe|`tick`*" + m + "*_[x](y)_" })
	add("xml-cdata", func(m string) string { return "]]><![CDATA[" + m + "]]>&#0;" })
	add("shell", func(m string) string { return "$(id)`id`${HOME}" + m + ";rm" })
	add("env-ref", func(m string) string { return "${OTHER_SECRET}" + m + "${X}" })
	add("slashes", func(m string) string { return `</` + m + `/\/\//` })
	add("windows-path", func(m string) string { return `C:\Users\` + m + `\key.pem` })
	add("spaces", func(m string) string { return "   lead and trail " + m + "   " })
	add("null-word", func(m string) string { return "null" + m + "true" })
	add("plain", func(m string) string { return "plainsecret" + m })
	add("url", func(m string) string { return "https://user:pw@host.example/" + m + "?q=a b&c=%" })
	add("long-ascii", func(m string) string {
		return "L" + m + strings.Repeat("0123456789abcdef", 1300) + NewMarker()
	})
	add("long-unicode", func(m string) string { return strings.Repeat("ü€", 2500) + m + strings.Repeat("\"<", 500) })
	add("long-escapes", func(m string) string { return strings.Repeat(`"\<>&`, 3000) + m })
	// A prefix of another secret, and the other: scrubbing the short one first would leave the
	// long one's tail.
	pm := NewMarker()
	prefix := `pfx"<` + pm + `>`
	out = append(out, Secret{Name: "prefix", Value: prefix, Marker: pm})
	add("has-prefix", func(m string) string { return prefix + `-longer\` + m })
	add("has-prefix-2", func(m string) string { return prefix + "ü" + m })
	return out
}

// JSStringify writes s as JavaScript's JSON.stringify does: no HTML escaping, and only
// quotes, backslashes and control characters escaped (a Node server that quotes a value in
// its error). With asciiOnly, everything above ASCII is escaped too, as Python's json.dumps
// and PHP's json_encode do.
func JSStringify(s string, asciiOnly bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		case asciiOnly && r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Place is a text to search for secrets: a command's output or a file, by name.
type Place struct {
	Name, Text string
}

// Files returns every regular file under root as a Place named by its path relative to root
// (the file's base name when root is a file), except those skip reports true for. skip may be
// nil.
func Files(root string, skip func(rel string) bool) ([]Place, error) {
	var out []Place
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = filepath.Base(path)
		}
		if skip != nil && skip(rel) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, Place{Name: rel, Text: string(b)})
		return nil
	})
	return out, err
}

// Leak is a secret found in a place, with some of the text around it.
type Leak struct {
	Place, Secret, Context string
}

func (l Leak) String() string {
	return fmt.Sprintf("%s holds secret %s: …%s…", l.Place, l.Secret, l.Context)
}

// Search looks for the Marker of every secret in every place and returns each one found, in
// the order of places, then secrets. A marker is the part of a value that reads the same in
// every encoding; a Secret with only a Name and a Marker searches for that text.
func Search(places []Place, secrets []Secret) []Leak {
	var out []Leak
	for _, p := range places {
		for _, s := range secrets {
			if s.Marker == "" {
				continue
			}
			if i := strings.Index(p.Text, s.Marker); i >= 0 {
				ctx := p.Text[max(0, i-160):min(len(p.Text), i+len(s.Marker)+40)]
				out = append(out, Leak{Place: p.Name, Secret: s.Name, Context: ctx})
			}
		}
	}
	return out
}
