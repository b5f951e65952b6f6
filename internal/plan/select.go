package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Selector rows (SPEC.md section 2): a pattern in integration_id, integration_name or
// option_key makes a row reach every (integration, option) it matches on the live server.
// Rows that reach the same option are settled by precedence: a row that names the integration
// exactly beats one that matches it by pattern; with that equal, a row that names the key
// exactly beats one that matches it by pattern; with both equal, rows that ask the same are
// merged and rows that differ are a problem naming both lines.

// rank orders rows by precedence: higher wins.
type rank uint8

const (
	rankExactKey         rank = 1
	rankExactIntegration rank = 2
	rankExact                 = rankExactIntegration | rankExactKey
)

func rankOf(r bulk.Row) rank {
	var k rank
	if r.ExactIntegration() {
		k |= rankExactIntegration
	}
	if !bulk.IsPattern(r.Key) {
		k |= rankExactKey
	}
	return k
}

// hit is one option a selector row reaches.
type hit struct {
	in  *bulk.Integration
	opt int // index into in.Options
}

func (h hit) key() [2]string { return [2]string{h.in.ID, h.in.Options[h.opt].Key} }

// claim is who reaches one option: the rows at the best rank so far (indexes into the selector
// rows, in line order) and the lines of the rows that lost.
type claim struct {
	rank  rank
	rows  []int
	lower []int
}

// selRow is one selector row and what it reaches.
type selRow struct {
	row  bulk.Row
	rank rank
	hits []hit
}

// expand plans the selector rows (indexes into rows), after the exact rows: an option an exact
// row sets is that row's, and the selector rows only override it. It returns what each row
// expanded to, for plan.json.
func (b *builder) expand(rows []bulk.Row, idx []int) []bulk.Expansion {
	sel := make([]selRow, len(idx))
	claims := map[[2]string]*claim{}
	overridden := map[[2]string][]int{} // options exact rows set, and the selector lines they beat
	exps := make([]bulk.Expansion, 0, len(idx))
	for i, ri := range idx {
		s := &sel[i]
		s.row, s.rank = rows[ri], rankOf(rows[ri])
		s.hits = b.reach(s.row)
		exps = append(exps, expansion(s.row, s.hits))
		for _, h := range s.hits {
			if f, ok := b.first[h.in.ID]; !ok || s.row.Line < f {
				b.first[h.in.ID] = s.row.Line // the file names the integration here, whichever line wins
			}
			k := h.key()
			if _, ok := b.seen[k]; ok {
				overridden[k] = append(overridden[k], s.row.Line)
				continue
			}
			c := claims[k]
			switch {
			case c == nil:
				claims[k] = &claim{rank: s.rank, rows: []int{i}}
			case s.rank > c.rank:
				for _, j := range c.rows {
					c.lower = append(c.lower, sel[j].row.Line)
				}
				c.rank, c.rows = s.rank, []int{i}
			case s.rank == c.rank:
				c.rows = append(c.rows, i)
			default:
				c.lower = append(c.lower, s.row.Line)
			}
		}
	}
	for i := range sel {
		b.plant(sel, i, claims)
	}
	b.noteOverrides(overridden)
	return exps
}

// plant plans the options selector row i won, and reports its problems together.
func (b *builder) plant(sel []selRow, i int, claims map[[2]string]*claim) {
	s := &sel[i]
	b.sink = &sink{}
	ties := map[int]*tie{} // rows that differ from this one at its rank, by line
	for _, h := range s.hits {
		c := claims[h.key()]
		if c == nil || c.rows[0] != i {
			continue // an exact row sets it, or an earlier row of the same rank or a higher one won
		}
		var merged []int
		differ := false
		for _, j := range c.rows[1:] {
			if sameRequest(sel[j].row, s.row) {
				merged = append(merged, sel[j].row.Line)
				merged = append(merged, sel[j].row.Merged...)
				continue
			}
			t := ties[sel[j].row.Line]
			if t == nil {
				t = &tie{at: h}
				ties[sel[j].row.Line] = t
			}
			t.n++
			differ = true
		}
		if differ {
			continue
		}
		b.sink.at(h)
		ch, ok := b.change(h.in, concrete(s.row, h))
		if !ok {
			continue
		}
		ch.Merged = append(ch.Merged, merged...)
		ch.Overrides = sortedLines(c.lower)
		b.add(h.in, ch)
		if len(merged) > 0 {
			b.sink.merge(merged)
		}
	}
	sk := b.sink
	b.sink = nil
	b.report(s.row, len(s.hits), sk)
	b.ties(s.row, ties)
}

// tie is a row of the same precedence that asks differently for options another row reaches:
// the first such option, and how many.
type tie struct {
	at hit
	n  int
}

// noteOverrides records on the exact rows' changes which selector lines they beat.
func (b *builder) noteOverrides(overridden map[[2]string][]int) {
	for k, lines := range overridden {
		t := b.targets[k[0]]
		for i := range t.Changes {
			if t.Changes[i].Key == k[1] {
				t.Changes[i].Overrides = sortedLines(append(t.Changes[i].Overrides, lines...))
			}
		}
	}
}

// concrete is the selector row as it applies to one option it reached: an exact row, so that
// reports in the input format (failed.csv, backup.csv) name that option and not the pattern.
func concrete(r bulk.Row, h hit) bulk.Row {
	r.IntegrationID, r.IntegrationName = h.in.ID, ""
	r.Key = h.in.Options[h.opt].Key
	r.OptionKind = ""
	r.Merged = slices.Clone(r.Merged)
	return r
}

// reach finds the options a selector row matches, in the server's order. A row that reaches
// nothing is a problem: it would silently do nothing, today and in every later run.
func (b *builder) reach(r bulk.Row) []hit {
	key, err := bulk.ParsePattern(r.Key, false)
	if err != nil { // validate refuses it offline; rows built elsewhere get the same answer
		b.fail(r.Line, "option_key", fmt.Sprintf("%q: %v", r.Key, err))
		return nil
	}
	var ins []*bulk.Integration
	if r.ExactIntegration() {
		in, ok := b.resolve(r)
		if !ok {
			return nil
		}
		ins = []*bulk.Integration{in}
	} else if ins = b.integrations(r); len(ins) == 0 {
		b.fail(r.Line, integrationColumn(r), fmt.Sprintf("no integration matches %s, so the row matches no option on the server: check it against 'polarity-bulk export'", selectorText(bulk.Row{IntegrationID: r.IntegrationID, IntegrationName: r.IntegrationName})))
		return nil
	}
	var hits []hit
	for _, in := range ins {
		for j, o := range in.Options {
			if key.Match(o.Key) && (r.OptionKind == "" || o.ColumnKind() == r.OptionKind) {
				hits = append(hits, hit{in, j})
			}
		}
	}
	if len(hits) == 0 {
		b.fail(r.Line, "option_key", noOption(r, ins))
	}
	return hits
}

// integrations are the integrations a row's id and name cells select, in the server's order.
func (b *builder) integrations(r bulk.Row) []*bulk.Integration {
	id, err := bulk.ParsePattern(r.IntegrationID, false)
	if err != nil {
		b.fail(r.Line, "integration_id", fmt.Sprintf("%q: %v", r.IntegrationID, err))
		return nil
	}
	name, err := bulk.ParsePattern(r.IntegrationName, true)
	if err != nil {
		b.fail(r.Line, "integration_name", fmt.Sprintf("%q: %v", r.IntegrationName, err))
		return nil
	}
	var out []*bulk.Integration
	for i := range b.state {
		in := &b.state[i]
		if (r.IntegrationID == "" || id.Match(in.ID)) && (r.IntegrationName == "" || name.Match(in.Name)) {
			out = append(out, in)
		}
	}
	return out
}

// noOption says why a row that selects integrations reaches none of their options.
func noOption(r bulk.Row, ins []*bulk.Integration) string {
	which := "integration " + ins[0].ID
	if len(ins) > 1 {
		which = fmt.Sprintf("the %d integrations it selects", len(ins))
	}
	kind := ""
	if r.OptionKind != "" {
		kind = " of kind " + string(r.OptionKind)
	}
	keys := map[string]bool{}
	var some, all []string
	for _, in := range ins {
		for _, o := range in.Options {
			if keys[o.Key] {
				continue
			}
			keys[o.Key] = true
			all = append(all, o.Key)
			if len(some) < 8 {
				some = append(some, o.Key+" ("+kindText(o)+")")
			}
		}
	}
	dym := ""
	if !bulk.IsPattern(r.Key) { // an exact key that is a typo of theirs: say which
		if s := bulk.DidYouMean(r.Key, all, strconv.Quote); s != "" {
			dym = " (" + s + ")"
		}
	}
	return fmt.Sprintf("no option%s of %s matches option_key %s%s, so the row matches no option on the server; their options include %s",
		kind, which, r.Key, dym, strings.Join(some, ", "))
}

// expansion records the integrations a selector row reached, whatever won their options.
func expansion(r bulk.Row, hits []hit) bulk.Expansion {
	e := bulk.Expansion{Line: r.Line, Selector: selectorText(r), Integrations: []string{}}
	for _, h := range hits {
		if n := len(e.Integrations); n == 0 || e.Integrations[n-1] != h.in.ID {
			e.Integrations = append(e.Integrations, h.in.ID)
		}
	}
	slices.Sort(e.Integrations)
	e.Integrations = slices.Compact(e.Integrations)
	return e
}

// selectorText names a row's selecting cells for people: "integration_name glob:VirusTotal,
// option_key apiKey, option_kind password".
func selectorText(r bulk.Row) string {
	var parts []string
	for _, c := range [...]struct{ col, cell string }{
		{"integration_id", r.IntegrationID}, {"integration_name", r.IntegrationName},
		{"option_key", r.Key}, {"option_kind", string(r.OptionKind)},
	} {
		if c.cell != "" {
			parts = append(parts, c.col+" "+c.cell)
		}
	}
	return strings.Join(parts, ", ")
}

func integrationColumn(r bulk.Row) string {
	if bulk.IsPattern(r.IntegrationID) || r.IntegrationName == "" {
		return "integration_id"
	}
	return "integration_name"
}

// nameMatches checks a row's name cell against an integration's name: exactly (any case), or
// by the cell's pattern.
func nameMatches(cell, name string) bool {
	if !bulk.IsPattern(cell) {
		return strings.EqualFold(cell, name)
	}
	p, err := bulk.ParsePattern(cell, true)
	return err == nil && p.Match(name)
}

// globQuote writes a name as a glob that matches exactly it.
func globQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// kindText names an option's kind as option_kind would.
func kindText(o bulk.Option) string {
	if o.Kind == "" {
		return "(none)"
	}
	return string(o.ColumnKind())
}

func sortedLines(ls []int) []int {
	if len(ls) == 0 {
		return nil
	}
	ls = slices.Clone(ls)
	slices.Sort(ls)
	return slices.Compact(ls)
}

// sink collects the problems found while planning the options one selector row reached, so
// that they are reported once for the row, not once per option.
type sink struct {
	cur    hit
	fails  []failure
	warns  []string
	merged map[int]int // lines merged into this row, and on how many options
}

// failure is one option a selector row cannot set, and why.
type failure struct {
	col, msg string
	at       hit
}

func (s *sink) at(h hit) { s.cur = h }

func (s *sink) add(col, msg string, warning bool) {
	if warning {
		s.warns = append(s.warns, msg)
		return
	}
	s.fails = append(s.fails, failure{col, msg, s.cur})
}

func (s *sink) merge(lines []int) {
	if s.merged == nil {
		s.merged = map[int]int{}
	}
	for _, l := range lines {
		s.merged[l]++
	}
}

// maxNamed is how many options a selector row's problem names before it counts the rest.
const maxNamed = 3

// report turns what a selector row's sink holds into problems on its line: per column, one
// problem naming a few of the options and why the first of them fails; the first few warnings
// as they are, then a count.
func (b *builder) report(r bulk.Row, reached int, s *sink) {
	byCol := map[string][]failure{}
	var cols []string
	for _, f := range s.fails {
		if byCol[f.col] == nil {
			cols = append(cols, f.col)
		}
		byCol[f.col] = append(byCol[f.col], f)
	}
	for _, col := range cols {
		fs := byCol[col]
		named := make([]string, 0, maxNamed)
		for _, f := range fs[:min(len(fs), maxNamed)] {
			o := f.at.in.Options[f.at.opt]
			named = append(named, fmt.Sprintf("%s of %s (%s)", o.Key, f.at.in.ID, kindText(o)))
		}
		list := strings.Join(named, ", ")
		if more := len(fs) - len(named); more > 0 {
			list += fmt.Sprintf(" and %d more", more)
		}
		what := "the value does not fit"
		hint := "; narrow the row with option_kind (or an exact option_key) to the options it is meant for"
		if col != "value" {
			what, hint = "the row cannot set", ""
		}
		b.problems = append(b.problems, bulk.Problem{File: b.file, Line: r.Line, Column: col, Msg: fmt.Sprintf(
			"%s %d of the %d options the row reaches (%s): %s%s", what, len(fs), reached, list, fs[0].msg, hint)})
	}
	for i, w := range s.warns {
		if i == maxNamed {
			b.warn(r.Line, "", fmt.Sprintf("... and %d more warnings like these for the options this row reaches", len(s.warns)-maxNamed))
			break
		}
		b.warn(r.Line, "", w)
	}
	lines := make([]int, 0, len(s.merged))
	for l := range s.merged {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	for _, l := range lines {
		b.warn(l, "", fmt.Sprintf("makes the same change as line %d to %s it also reaches: merged", r.Line, options(s.merged[l])))
	}
}

// ties reports, on row r's line, each row of the same precedence that asks differently for
// options r reaches.
func (b *builder) ties(r bulk.Row, ties map[int]*tie) {
	lines := make([]int, 0, len(ties))
	for l := range ties {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	for _, l := range lines {
		t := ties[l]
		also := ""
		if t.n > 1 {
			also = fmt.Sprintf(" (and %d more)", t.n-1)
		}
		b.problems = append(b.problems, bulk.Problem{File: b.file, Line: l, Msg: fmt.Sprintf(
			"lines %d and %d both reach option %s of %s%s with different values or permissions, and neither takes precedence (%s): "+
				"name the integration or the key exactly in the one that should win, narrow one of them, or make them agree",
			r.Line, l, t.at.in.Options[t.at.opt].Key, t.at.in.ID, also, rankText(rankOf(r)))})
	}
}

func options(n int) string { return strconv.Itoa(n) + " " + bulk.Plural(n, "option", "options") }

// rankText says what two rows of one rank have in common.
func rankText(k rank) string {
	switch k {
	case rankExactIntegration:
		return "both name the integration exactly and match the key by pattern"
	case rankExactKey:
		return "both match the integration by pattern and name the key exactly"
	}
	return "both match the integration and the key by pattern"
}
