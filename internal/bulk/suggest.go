package bulk

import (
	"strings"
	"unicode"
)

// Suggest returns the candidates closest to word, best first, for a "did you mean ...?": at
// most three, all at the smallest distance found, and none when no candidate is close enough
// to be a likely typo. The distance is the optimal-string-alignment edit distance (insert,
// delete, substitute, swap two neighbours) over the words folded to lower case, so
// "Crowdstrke" finds "CrowdStrike" and "apiKye" finds "apiKey"; spaces, dashes and
// underscores count as one kind of separator, and dropping one is one edit ("Virus Total"
// finds "VirusTotal"). A candidate equal to word (after folding) is the best suggestion.
//
// Close enough means at most a third of the word's letters changed (at least one), so that a
// short word is not "corrected" into an unrelated one; a word of one or two letters only
// matches a candidate that differs in case or separators.
func Suggest(word string, candidates []string) []string {
	return NewSuggester(candidates).Suggest(word)
}

// Suggester is Suggest over one list of candidates, folded once: for many words against one
// list (every unknown id of a file against the server's integrations).
type Suggester struct {
	cands  []string
	folded [][]rune
	// rows of the distance table, reused from word to word
	prev2, prev, cur []int
}

// NewSuggester prepares candidates (duplicates are dropped).
func NewSuggester(candidates []string) *Suggester {
	s := &Suggester{}
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		s.cands = append(s.cands, c)
		s.folded = append(s.folded, []rune(fold(c)))
	}
	return s
}

// Suggest is the package's Suggest for word. A Suggester is not safe for concurrent use.
func (s *Suggester) Suggest(word string) []string {
	w := []rune(fold(word))
	if len(w) == 0 {
		return nil
	}
	limit := max(1, len(w)/3)
	if len(w) < 3 {
		limit = 0 // "-x" is no typo of "-v": only a case or separator difference counts
	}
	best := limit + 1
	var out []string
	for i, c := range s.folded {
		d := s.distance(w, c, best)
		switch {
		case d < best:
			best, out = d, []string{s.cands[i]}
		case d == best:
			out = append(out, s.cands[i])
		}
	}
	if best > limit {
		return nil
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// DidYouMean is Suggest's answer as a phrase to add to a problem: ` did you mean "apiKey"?`
// or ` did you mean "a" or "b"?`, with a leading space; "" when there is none. quote says
// how each candidate is written (strconv.Quote-like, or as is).
func DidYouMean(word string, candidates []string, quote func(string) string) string {
	s := Suggest(word, candidates)
	if len(s) == 0 {
		return ""
	}
	q := make([]string, len(s))
	for i, c := range s {
		q[i] = quote(c)
	}
	switch len(q) {
	case 1:
		return "did you mean " + q[0] + "?"
	case 2:
		return "did you mean " + q[0] + " or " + q[1] + "?"
	}
	return "did you mean " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1] + "?"
}

// fold lowers the case and writes every separator (space, dash, underscore) as one "_",
// trimming the ends.
func fold(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == '_' || unicode.IsSpace(r):
			b.WriteByte('_')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// distance is the optimal-string-alignment distance of a and b, or any number above limit
// once it is certain to exceed limit. A separator inserted or deleted costs one edit like any
// letter.
func (s *Suggester) distance(ra, rb []rune, limit int) int {
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	if n := len(rb) + 1; cap(s.cur) < n {
		s.prev2, s.prev, s.cur = make([]int, n), make([]int, n), make([]int, n)
	}
	prev2, prev, cur := s.prev2[:len(rb)+1], s.prev[:len(rb)+1], s.cur[:len(rb)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
