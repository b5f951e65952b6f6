package bulk

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// The prefixes that make a cell of integration_id, integration_name or option_key a pattern
// (SPEC.md section 2, "Selector rows"). A cell that is exactly PatternAll is one too.
const (
	PatternAll  = "*"
	GlobPrefix  = "glob:"
	RegexPrefix = "re:"
)

// IsPattern reports whether a cell is a pattern rather than exact text: exactly "*", or
// starting with "glob:" or "re:". An empty cell is never a pattern: it never means "all".
func IsPattern(cell string) bool {
	return cell == PatternAll || strings.HasPrefix(cell, GlobPrefix) || strings.HasPrefix(cell, RegexPrefix)
}

type patternForm uint8

const (
	formExact patternForm = iota
	formAll
	formGlob
	formRegex
)

// Pattern matches the ids, names or keys a cell selects. The zero Pattern is exact and matches
// the empty text only. Patterns are small values, safe to copy and to use concurrently.
type Pattern struct {
	cell string // as written
	form patternForm
	fold bool           // names: case-insensitive
	body string         // exact text or glob, lowercased when fold
	lit  bool           // a glob without wildcards: compared as text
	re   *regexp.Regexp // formRegex
}

// PatternError is a pattern that cannot be used: Pos is the 1-based character position in the
// cell of what is wrong, so a problem can point at it.
type PatternError struct {
	Pos int
	Msg string
}

func (e *PatternError) Error() string { return fmt.Sprintf("%s (at character %d)", e.Msg, e.Pos) }

// ParsePattern reads a cell as a pattern (or as exact text when IsPattern says it is not one).
// fold makes it case-insensitive, as integration names are; ids and keys are matched as
// written. Globs know *, ? and [...] (with ! or ^ to negate, a-z ranges, and \ to quote the
// next character); * and ? match any character, / included. A regular expression (RE2) must
// match the whole text.
func ParsePattern(cell string, fold bool) (Pattern, error) {
	p := Pattern{cell: cell, fold: fold}
	switch {
	case cell == PatternAll:
		p.form = formAll
	case strings.HasPrefix(cell, GlobPrefix):
		p.form = formGlob
		body := cell[len(GlobPrefix):]
		if body == "" {
			return Pattern{}, &PatternError{Pos: len(GlobPrefix), Msg: "empty glob: write glob:* (or *) for every one, or a glob such as glob:Virus*"}
		}
		if err := checkGlob(body); err != nil {
			err.Pos += utf8.RuneCountInString(GlobPrefix)
			return Pattern{}, err
		}
		if fold {
			body = strings.ToLower(body)
		}
		p.body = body
		p.lit = !strings.ContainsAny(body, `*?[\`)
	case strings.HasPrefix(cell, RegexPrefix):
		p.form = formRegex
		body := cell[len(RegexPrefix):]
		if body == "" {
			return Pattern{}, &PatternError{Pos: len(RegexPrefix), Msg: "empty regular expression: write re:.* (or *) for every one, or one such as re:Virus.*"}
		}
		// Compiled alone first, so that an error quotes the user's text, not the anchors.
		if _, err := regexp.Compile(body); err != nil {
			return Pattern{}, regexError(body, err)
		}
		expr := "^(?:" + body + ")$"
		if fold {
			expr = "(?i)" + expr
		}
		p.re = regexp.MustCompile(expr)
	default:
		p.body = cell
		if fold {
			p.body = strings.ToLower(cell)
		}
	}
	return p, nil
}

// regexError words a regexp syntax error and finds where in the cell it is.
func regexError(body string, err error) *PatternError {
	pos := 1
	msg := err.Error()
	if se, ok := err.(*syntax.Error); ok {
		msg = se.Code.String()
		if se.Expr != "" {
			if i := strings.Index(body, se.Expr); i >= 0 {
				pos = utf8.RuneCountInString(body[:i]) + 1
			}
			msg += ": `" + se.Expr + "`"
		}
	}
	return &PatternError{Pos: pos + utf8.RuneCountInString(RegexPrefix), Msg: "invalid regular expression (RE2 syntax): " + msg}
}

// String is the cell as written.
func (p Pattern) String() string { return p.cell }

// Exact reports whether the cell names one thing exactly (it is no pattern).
func (p Pattern) Exact() bool { return p.form == formExact }

// Match reports whether s is selected.
func (p Pattern) Match(s string) bool {
	switch p.form {
	case formAll:
		return true
	case formRegex:
		return p.re.MatchString(s)
	case formGlob:
		if p.fold {
			s = strings.ToLower(s)
		}
		if p.lit {
			return s == p.body
		}
		return globMatch(p.body, s)
	}
	if p.fold {
		return strings.EqualFold(s, p.body)
	}
	return s == p.body
}

// checkGlob finds what would make a glob unusable: a [ never closed, an empty class, a range
// that runs backwards, a \ with nothing after it.
func checkGlob(g string) *PatternError {
	pos := 0 // characters before i
	for i := 0; i < len(g); {
		switch g[i] {
		case '\\':
			if i+1 == len(g) {
				return &PatternError{Pos: pos + 1, Msg: `invalid glob: \ at the end quotes nothing (write \\ for a backslash)`}
			}
			_, n := utf8.DecodeRuneInString(g[i+1:])
			i += 1 + n
			pos += 2
			continue
		case '[':
			end, msg := classEnd(g[i:])
			if msg != "" {
				return &PatternError{Pos: pos + 1, Msg: "invalid glob: " + msg}
			}
			pos += utf8.RuneCountInString(g[i : i+end])
			i += end
			continue
		}
		_, n := utf8.DecodeRuneInString(g[i:])
		i += n
		pos++
	}
	return nil
}

// classEnd returns the length of the [...] class that starts c, or what is wrong with it. A ]
// right after [ (or [! / [^) is a member, as in shells.
func classEnd(c string) (int, string) {
	i := 1
	if i < len(c) && (c[i] == '!' || c[i] == '^') {
		i++
	}
	first := true
	for i < len(c) {
		if c[i] == ']' && !first {
			return i + 1, ""
		}
		first = false
		lo, n, ok := classChar(c[i:])
		if !ok {
			break
		}
		i += n
		if i+1 < len(c) && c[i] == '-' && c[i+1] != ']' {
			hi, m, ok := classChar(c[i+1:])
			if !ok {
				break
			}
			if hi < lo {
				return 0, fmt.Sprintf("the range %c-%c runs backwards: write %c-%c", lo, hi, hi, lo)
			}
			i += 1 + m
		}
	}
	return 0, "[ is never closed: close the class with ], or write \\[ for a literal ["
}

// classChar reads one character of a class, \ quoting the next one.
func classChar(s string) (rune, int, bool) {
	if s[0] == '\\' {
		if len(s) == 1 {
			return 0, 0, false
		}
		r, n := utf8.DecodeRuneInString(s[1:])
		return r, 1 + n, true
	}
	r, n := utf8.DecodeRuneInString(s)
	return r, n, true
}

// globMatch matches a checked glob against s. Stars are handled by remembering the last one
// and trying it one character further on a mismatch, so the cost stays linear in practice
// (Russ Cox, "Glob Matching Can Be Simple And Fast Too").
func globMatch(g, s string) bool {
	gi, si := 0, 0
	starG, starS := -1, -1 // the pattern after the last *, and where s resumes
	for gi < len(g) || si < len(s) {
		if gi < len(g) {
			switch g[gi] {
			case '*':
				starG, starS = gi+1, si
				gi++
				continue
			case '?':
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					gi, si = gi+1, si+n
					continue
				}
			case '[':
				if si < len(s) {
					r, n := utf8.DecodeRuneInString(s[si:])
					if end, ok := matchClass(g[gi:], r); ok {
						gi, si = gi+end, si+n
						continue
					}
				}
			default:
				// One character, compared as bytes; a \ quotes the next one.
				from := gi
				if g[gi] == '\\' {
					from++
				}
				_, n := utf8.DecodeRuneInString(g[from:])
				if lit := g[from : from+n]; strings.HasPrefix(s[si:], lit) {
					gi, si = from+n, si+len(lit)
					continue
				}
			}
		}
		if starS >= 0 && starS < len(s) {
			_, n := utf8.DecodeRuneInString(s[starS:])
			starS += n
			gi, si = starG, starS
			continue
		}
		return false
	}
	return true
}

// matchClass reports whether r is in the class that starts c, and the class's length.
func matchClass(c string, r rune) (int, bool) {
	i := 1
	negate := i < len(c) && (c[i] == '!' || c[i] == '^')
	if negate {
		i++
	}
	in, first := false, true
	for i < len(c) {
		if c[i] == ']' && !first {
			return i + 1, in != negate
		}
		first = false
		lo, n, _ := classChar(c[i:])
		i += n
		hi := lo
		if i+1 < len(c) && c[i] == '-' && c[i+1] != ']' {
			var m int
			hi, m, _ = classChar(c[i+1:])
			i += 1 + m
		}
		if lo <= r && r <= hi {
			in = true
		}
	}
	return 0, false // unreachable for a checked glob
}
