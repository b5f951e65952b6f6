// Package secret holds what polarity-bulk does with secret values besides sending them: it
// scrubs them out of text that came from elsewhere (a server's error, a header, a URL), in every
// encoding a server plausibly echoes them in, and it digests them with a key that readers of
// plan.json and the report lack, so that a resumed run or a saved plan can tell that a value
// changed without ever recording the value. It does no I/O.
package secret

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinLen is the length in bytes of the shortest secret that is scrubbed: shorter ones would
// garble ordinary words in every message and carry little.
const MinLen = 4

// fragMin is the length of a secret's prefix that counts as the secret when it appears
// alone: a server that cuts an echoed value short ("invalid value 'abc…'") must not leave its
// first hundred characters. Shorter prefixes are too likely to be ordinary text.
const fragMin = 24

// keyLen is the length of the index key: the first bytes of every form looked for.
const keyLen = 4

// Set is a set of secrets and scrubs them from text. The zero value is not usable: make one
// with NewSet. A Set is safe for concurrent use.
//
// A secret is found in text written as it is, with control characters flattened the way
// OneLine does, or under any one of the encodings a server or a library echoes values in:
// JSON string escapes (encoding/json's HTML-safe form, JSON.stringify's plain form, the
// ASCII-only \u form of Python and PHP, any mix of them, and Go's %q form), JSON inside JSON,
// HTML character references, JSON inside HTML, and URL percent-encoding (of JSON too). It
// is also found cut short: a prefix of at least 24 bytes of a longer secret, and, in text that
// the caller cut (Scrub with truncated set), any prefix at the very end.
//
// What a server does on purpose (base64, reversing, changing case) is not found: a hostile
// server that holds a secret can always write it in a form nobody looks for.
type Set struct {
	repl string

	mu      sync.RWMutex
	secrets map[string]bool
	idx     *index // nil until needed after a change
}

// NewSet returns an empty set that replaces what it finds with repl.
func NewSet(repl string) *Set {
	return &Set{repl: repl, secrets: map[string]bool{}}
}

// Add adds secrets; those shorter than MinLen bytes or made only of white space are ignored.
func (s *Set) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if !worthScrubbing(v) || s.secrets[v] {
			continue
		}
		s.secrets[v] = true
		s.idx = nil
	}
}

// Len returns the number of secrets held.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.secrets)
}

func worthScrubbing(v string) bool {
	return len(v) >= MinLen && strings.TrimSpace(v) != ""
}

// Scrub returns text with every secret of the set, and every string of extra, replaced by the
// set's replacement wherever it appears in any of the encodings Set describes.
func (s *Set) Scrub(text string, extra ...string) string {
	return s.scrub(text, false, extra)
}

// ScrubCut is Scrub for text that the caller cut from something longer: a secret that the cut
// split, whose start is all that is left at the end of text, is removed too.
func (s *Set) ScrubCut(text string, extra ...string) string {
	return s.scrub(text, true, extra)
}

// Contains reports whether text holds a secret of the set in any form Scrub removes.
func (s *Set) Contains(text string) bool {
	idx := s.index()
	if idx == nil || text == "" {
		return false
	}
	for _, l := range layers(text) {
		if len(idx.find(l, false)) > 0 {
			return true
		}
	}
	return false
}

func (s *Set) index() *index {
	s.mu.RLock()
	idx := s.idx
	n := len(s.secrets)
	s.mu.RUnlock()
	if idx != nil || n == 0 {
		return idx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil && len(s.secrets) > 0 {
		s.idx = newIndex(mapKeys(s.secrets))
	}
	return s.idx
}

func (s *Set) scrub(text string, truncated bool, extra []string) string {
	if text == "" {
		return text
	}
	idxs := make([]*index, 0, 2)
	if idx := s.index(); idx != nil {
		idxs = append(idxs, idx)
	}
	var more []string
	for _, v := range extra {
		if worthScrubbing(v) {
			more = append(more, v)
		}
	}
	if len(more) > 0 {
		idxs = append(idxs, newIndex(more))
	}
	if len(idxs) == 0 {
		return text
	}
	var spans []span
	for _, l := range layers(text) {
		for _, idx := range idxs {
			spans = append(spans, idx.find(l, truncated)...)
		}
	}
	return replace(text, spans, s.repl)
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out) // deterministic index order
	return out
}

// OneLine makes text fit one line of valid UTF-8: line breaks and tabs become spaces, other
// control characters are dropped, invalid bytes become '?'. The API client shows server text
// this way; a secret is also looked for in this form, since dropping "\x01" from "sec\x01ret"
// rebuilds a string that the secret alone would not match.
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// span is a range of the original text to replace.
type span struct{ start, end int }

// replace writes text with the union of spans replaced, one repl per run of overlapping or
// touching spans.
func replace(text string, spans []span, repl string) string {
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start <= cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
		}
		b.WriteString(text[last:cur.start])
		b.WriteString(repl)
		last = cur.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// index finds a list of forms quickly: by their first keyLen bytes (every form is at least
// MinLen = keyLen bytes long).
type index struct {
	forms [][]byte
	byKey map[uint32][]int32
}

func newIndex(secrets []string) *index {
	idx := &index{byKey: map[uint32][]int32{}}
	seen := map[string]bool{}
	add := func(f string) {
		if len(f) < keyLen || seen[f] {
			return
		}
		seen[f] = true
		n := int32(len(idx.forms))
		idx.forms = append(idx.forms, []byte(f))
		k := key([]byte(f))
		idx.byKey[k] = append(idx.byKey[k], n)
	}
	for _, v := range secrets {
		add(v)
		if flat := OneLine(v); flat != v && worthScrubbing(flat) {
			add(flat)
		}
		if !utf8.ValidString(v) {
			// How encoding/json sends a value that is not UTF-8 (one U+FFFD per bad byte),
			// and how most other decoders read it (one per run of bad bytes).
			add(validUTF8(v))
			add(strings.ToValidUTF8(v, "\uFFFD"))
		}
	}
	return idx
}

// validUTF8 replaces each invalid byte by U+FFFD, as encoding/json does (strings.ToValidUTF8
// replaces a run of them by one).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // utf8.RuneError for an invalid byte
		i += n
	}
	return b.String()
}

func key(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// find returns the spans of the original text where l holds a form: whole, as a prefix of at
// least fragMin bytes, or (truncated) as any prefix at the end of l.
func (idx *index) find(l layer, truncated bool) []span {
	var out []span
	b := l.b
	add := func(from, to int) { out = append(out, span{l.start[from], l.end[to-1]}) }
	for p := 0; p+keyLen <= len(b); p++ {
		cands, ok := idx.byKey[key(b[p:])]
		if !ok {
			continue
		}
		end := 0
		for _, n := range cands {
			f := idx.forms[n]
			m := commonPrefix(b[p:], f)
			switch {
			case m == len(f):
			case m >= fragMin: // cut short by the server
			case truncated && p+m == len(b): // cut short by the caller
			default:
				continue
			}
			add(p, p+m)
			end = max(end, p+m)
		}
		if end > 0 {
			// What starts inside a match is not looked at again: a secret that repeats itself
			// (or a long run of one character) would otherwise cost its length at every byte.
			// Only a secret whose start overlaps the end of another could hide there.
			p = end - 1
		}
	}
	if truncated {
		// A prefix shorter than keyLen at the very end escapes the index.
		for p := max(0, len(b)-keyLen+1); p < len(b); p++ {
			for _, f := range idx.forms {
				if len(f) > len(b)-p && bytes.HasPrefix(f, b[p:]) {
					add(p, len(b))
					break
				}
			}
		}
	}
	return out
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// layer is text as one decoding reads it, with each decoded byte mapped back to the range of
// the original text it came from.
type layer struct {
	b          []byte
	start, end []int
}

// layers returns text as it is and under each decoding that may apply: backslash escapes
// (JSON, JavaScript, Go), twice (JSON inside JSON); HTML character references, then
// backslash escapes (JSON inside an HTML page); percent-encoding, then backslash escapes
// (JSON in a URL). Decodings that text gives no occasion for are skipped.
func layers(text string) []layer {
	raw := layer{b: []byte(text), start: make([]int, len(text)), end: make([]int, len(text))}
	for i := 0; i < len(text); i++ {
		raw.start[i], raw.end[i] = i, i+1
	}
	out := []layer{raw}
	if strings.IndexByte(text, '\\') >= 0 {
		j := unescape(raw)
		out = append(out, j)
		if bytes.IndexByte(j.b, '\\') >= 0 {
			out = append(out, unescape(j))
		}
	}
	if strings.IndexByte(text, '&') >= 0 {
		h := unentity(raw)
		out = append(out, h)
		if bytes.IndexByte(h.b, '\\') >= 0 {
			out = append(out, unescape(h))
		}
	}
	for _, plus := range []bool{false, true} {
		if strings.IndexByte(text, '%') < 0 && !(plus && strings.IndexByte(text, '+') >= 0) {
			continue
		}
		p := unpercent(raw, plus)
		out = append(out, p)
		if bytes.IndexByte(p.b, '\\') >= 0 {
			out = append(out, unescape(p))
		}
	}
	return out
}

// builder accumulates a decoded layer; no decoding makes text longer than it was.
type builder struct{ l layer }

func newBuilder(n int) builder {
	return builder{layer{b: make([]byte, 0, n), start: make([]int, 0, n), end: make([]int, 0, n)}}
}

func (w *builder) byte(c byte, start, end int) {
	w.l.b = append(w.l.b, c)
	w.l.start = append(w.l.start, start)
	w.l.end = append(w.l.end, end)
}

func (w *builder) rune(r rune, start, end int) {
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	for i := 0; i < n; i++ {
		w.byte(buf[i], start, end)
	}
}

func hexVal(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// hexN reads exactly n hex digits at b[i:].
func hexN(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		d, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | d
	}
	return v, true
}

// shortEscapes are the one-letter backslash escapes of JSON, JavaScript and Go.
var shortEscapes = map[byte]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'a': '\a', 'v': '\v', '0': 0}

// unescape decodes backslash escapes: the union of JSON's, JavaScript's and Go's, since
// reading an escape too many cannot hide a secret, only a sequence too few can.
func unescape(in layer) layer {
	b := in.b
	w := newBuilder(len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' || i+1 >= len(b) {
			w.byte(b[i], in.start[i], in.end[i])
			i++
			continue
		}
		s := in.start[i]
		endOf := func(j int) int { return in.end[j-1] } // j: index after the escape
		switch c := b[i+1]; c {
		case '"', '\\', '/', '\'', '`':
			w.byte(c, s, endOf(i+2))
			i += 2
			continue
		case 'b', 'f', 'n', 'r', 't', 'a', 'v', '0':
			w.byte(shortEscapes[c], s, endOf(i+2))
			i += 2
			continue
		case 'x':
			if v, ok := hexN(b, i+2, 2); ok {
				w.byte(byte(v), s, endOf(i+4))
				i += 4
				continue
			}
		case 'U':
			if v, ok := hexN(b, i+2, 8); ok {
				w.rune(validRune(rune(v)), s, endOf(i+10))
				i += 10
				continue
			}
		case 'u':
			if i+2 < len(b) && b[i+2] == '{' { // JavaScript's \u{1F511}
				if j := bytes.IndexByte(b[i+3:min(len(b), i+11)], '}'); j > 0 {
					if v, ok := hexN(b, i+3, j); ok {
						w.rune(validRune(rune(v)), s, endOf(i+4+j))
						i += 4 + j
						continue
					}
				}
				break
			}
			v, ok := hexN(b, i+2, 4)
			if !ok {
				break
			}
			r, n := rune(v), 6
			if utf8.ValidRune(r) {
				w.rune(r, s, endOf(i+n))
				i += n
				continue
			}
			// A surrogate: a pair makes one rune; alone it is what JSON decoders make of it.
			if 0xD800 <= r && r < 0xDC00 && i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo, ok := hexN(b, i+8, 4); ok && 0xDC00 <= lo && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + rune(lo-0xDC00)
					n = 12
				}
			}
			w.rune(validRune(r), s, endOf(i+n))
			i += n
			continue
		}
		w.byte(b[i], in.start[i], in.end[i])
		i++
	}
	return w.l
}

func validRune(r rune) rune {
	if utf8.ValidRune(r) {
		return r
	}
	return utf8.RuneError
}

// entities are the named HTML character references servers use when they escape text.
var entities = map[string]rune{"lt": '<', "gt": '>', "amp": '&', "quot": '"', "apos": '\'', "nbsp": '\u00a0'}

// unentity decodes HTML character references: named ones of entities, &#N; and &#xH;.
func unentity(in layer) layer {
	b := in.b
	w := newBuilder(len(b))
	for i := 0; i < len(b); {
		if b[i] == '&' {
			if j := bytes.IndexByte(b[i+1:min(len(b), i+12)], ';'); j > 0 {
				name := b[i+1 : i+1+j]
				r, ok := entities[string(name)]
				if !ok && len(name) > 1 && name[0] == '#' {
					r, ok = charRef(name[1:])
				}
				if ok {
					w.rune(r, in.start[i], in.end[i+j+1])
					i += j + 2
					continue
				}
			}
		}
		w.byte(b[i], in.start[i], in.end[i])
		i++
	}
	return w.l
}

func charRef(num []byte) (rune, bool) {
	v := 0
	if num[0] == 'x' || num[0] == 'X' {
		h, ok := hexN(num, 1, len(num)-1)
		if !ok || len(num) < 2 {
			return 0, false
		}
		v = h
	} else {
		for _, c := range num {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
	}
	return validRune(rune(v)), true
}

// unpercent decodes %HH, and with plus also '+' as a space (form encoding).
func unpercent(in layer, plus bool) layer {
	b := in.b
	w := newBuilder(len(b))
	for i := 0; i < len(b); {
		if b[i] == '%' {
			if v, ok := hexN(b, i+1, 2); ok {
				w.byte(byte(v), in.start[i], in.end[i+2])
				i += 3
				continue
			}
		}
		if plus && b[i] == '+' {
			w.byte(' ', in.start[i], in.end[i])
			i++
			continue
		}
		w.byte(b[i], in.start[i], in.end[i])
		i++
	}
	return w.l
}

// JSONStrings lists the secrets inside a sensitive JSON value: the value itself when it is a
// string, else every string in it at any depth (a select's value and display, the items of
// a multiple select). Strings too short or too blank for a Set to keep are left out. A value
// that is not valid JSON has none.
func JSONStrings(raw []byte) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			if worthScrubbing(t) {
				out = append(out, t)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		case map[string]any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
