package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/apply"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

// expansionDrift compares what the selector rows expanded to when a plan or a run was made
// (then) with what they expand to now, and says, per selector line, which integrations
// entered and which left: an integration installed or removed since, or one that gained or
// lost a matching option. names gives names for the ids, where known.
func expansionDrift(then, now []bulk.Expansion, names map[string]string) []string {
	byLine := map[int]bulk.Expansion{}
	for _, e := range now {
		byLine[e.Line] = e
	}
	var out []string
	for _, old := range then {
		cur, ok := byLine[old.Line]
		delete(byLine, old.Line)
		if !ok {
			out = append(out, fmt.Sprintf("line %d (%s) is no longer a selector row", old.Line, old.Selector))
			continue
		}
		entered, left := diffIDs(old.Integrations, cur.Integrations)
		if len(entered) == 0 && len(left) == 0 {
			continue
		}
		var parts []string
		if len(entered) > 0 {
			parts = append(parts, "entered "+idList(entered, names))
		}
		if len(left) > 0 {
			parts = append(parts, "left "+idList(left, names))
		}
		out = append(out, fmt.Sprintf("line %d (%s) now expands differently: %s", old.Line, old.Selector, strings.Join(parts, "; ")))
	}
	for _, e := range now {
		if _, ok := byLine[e.Line]; ok {
			out = append(out, fmt.Sprintf("line %d (%s) is a selector row the record does not know", e.Line, e.Selector))
		}
	}
	return out
}

// diffIDs returns the ids in now but not in then, and those in then but not in now.
func diffIDs(then, now []string) (entered, left []string) {
	for _, id := range now {
		if !slices.Contains(then, id) {
			entered = append(entered, id)
		}
	}
	for _, id := range then {
		if !slices.Contains(now, id) {
			left = append(left, id)
		}
	}
	return entered, left
}

// maxListed is how many ids a drift line names before it counts the rest.
const maxListed = 10

func idList(ids []string, names map[string]string) string {
	parts := make([]string, 0, min(len(ids), maxListed))
	for _, id := range ids[:min(len(ids), maxListed)] {
		if n := names[id]; n != "" {
			id += " (" + n + ")"
		}
		parts = append(parts, id)
	}
	s := strings.Join(parts, ", ")
	if len(ids) > maxListed {
		s += fmt.Sprintf(" and %d more", len(ids)-maxListed)
	}
	return s
}

// planNames are the names of the integrations a saved plan and a new plan name.
func planNames(pf report.PlanFile, p bulk.Plan) map[string]string {
	names := map[string]string{}
	for _, in := range pf.Integrations {
		names[in.ID] = in.Name
	}
	for _, t := range p.Targets {
		names[t.ID] = t.Name
	}
	return names
}

// filter selects integrations and options by the flags of export (and describe): ids and
// names exact or patterns as in selector rows (names in any case), option keys likewise,
// option kinds by the option_kind words. Empty lists select everything.
type filter struct {
	ids, names, keys []bulk.Pattern
	kinds            []bulk.Kind
	hit              map[string]bool    // "id N", "name N", "key N", "kind N": which flag matched something
	all              []bulk.Integration // what integrations chose from: the candidates of a "did you mean"
}

// newFilter parses the flag values; a bad pattern or kind is a usage error naming the flag.
func newFilter(ids, names, keys, kinds []string) (*filter, error) {
	f := &filter{hit: map[string]bool{}}
	for _, c := range []struct {
		flag  string
		cells []string
		fold  bool
		out   *[]bulk.Pattern
	}{{"--integration-id", ids, false, &f.ids}, {"--integration-name", names, true, &f.names}, {"--option-key", keys, false, &f.keys}} {
		for _, cell := range c.cells {
			p, err := bulk.ParsePattern(cell, c.fold)
			if err != nil {
				return nil, usageError("a pattern is *, glob:GLOB (*, ?, [...]) or re:REGEXP (RE2, matching the whole text)", "%s %q: %v", c.flag, cell, err)
			}
			*c.out = append(*c.out, p)
		}
	}
	for _, cell := range kinds {
		k, ok := bulk.ParseOptionKind(cell)
		if !ok {
			words := make([]string, len(bulk.OptionKinds))
			for i, k := range bulk.OptionKinds {
				words[i] = string(k)
			}
			msg := fmt.Sprintf("--option-kind %q: unknown option kind", cell)
			if dym := bulk.DidYouMean(cell, words, plain); dym != "" {
				msg += ": " + dym
			}
			return nil, usageError("use text, password, boolean, number, select or multiselect", "%s", msg)
		}
		f.kinds = append(f.kinds, k)
	}
	return f, nil
}

// integrations keeps the integrations an id or a name selects (all, without either).
func (f *filter) integrations(all []bulk.Integration) []bulk.Integration {
	f.all = all
	var out []bulk.Integration
	for _, in := range all {
		keep := len(f.ids) == 0 && len(f.names) == 0
		for i, p := range f.ids {
			if p.Match(in.ID) {
				keep, f.hit[fmt.Sprint("id ", i)] = true, true
			}
		}
		for i, p := range f.names {
			if p.Match(in.Name) {
				keep, f.hit[fmt.Sprint("name ", i)] = true, true
			}
		}
		if keep {
			out = append(out, in)
		}
	}
	return out
}

// options keeps, in each integration, the options a key and a kind select, and the
// integrations left with any.
func (f *filter) options(ins []bulk.Integration) []bulk.Integration {
	if len(f.keys) == 0 && len(f.kinds) == 0 {
		return ins
	}
	var out []bulk.Integration
	for _, in := range ins {
		var opts []bulk.Option
		for _, o := range in.Options {
			if f.option(o) {
				opts = append(opts, o)
			}
		}
		if len(opts) > 0 {
			in.Options = opts
			out = append(out, in)
		}
	}
	return out
}

func (f *filter) option(o bulk.Option) bool {
	key := len(f.keys) == 0
	for i, p := range f.keys {
		if p.Match(o.Key) {
			key, f.hit[fmt.Sprint("key ", i)] = true, true
		}
	}
	kind := len(f.kinds) == 0
	for i, k := range f.kinds {
		if o.ColumnKind() == k {
			kind, f.hit[fmt.Sprint("kind ", i)] = true, true
		}
	}
	return key && kind
}

// missing names each --integration-id and --integration-name that selected no integration,
// and each --option-key and --option-kind that selected no option of them.
func (f *filter) missing() (integrations, options []string) {
	for i, p := range f.ids {
		if !f.hit[fmt.Sprint("id ", i)] {
			integrations = append(integrations, "id "+p.String()+f.didYouMean(p, func(in bulk.Integration) string { return in.ID }))
		}
	}
	for i, p := range f.names {
		if !f.hit[fmt.Sprint("name ", i)] {
			what := fmt.Sprintf("name %q", p.String())
			if !p.Exact() {
				what = fmt.Sprintf("name matching %q", p.String())
			}
			integrations = append(integrations, what+f.didYouMean(p, func(in bulk.Integration) string { return in.Name }))
		}
	}
	for i, p := range f.keys {
		if !f.hit[fmt.Sprint("key ", i)] {
			options = append(options, fmt.Sprintf("key %q", p.String()))
		}
	}
	for i, k := range f.kinds {
		if !f.hit[fmt.Sprint("kind ", i)] {
			options = append(options, "kind "+string(k))
		}
	}
	return integrations, options
}

// didYouMean is " (did you mean ...?)" for an exact id or name that selected nothing, among
// the ids or names (of) of the integrations chosen from, or "".
func (f *filter) didYouMean(p bulk.Pattern, of func(bulk.Integration) string) string {
	if !p.Exact() {
		return ""
	}
	cands := make([]string, len(f.all))
	for i, in := range f.all {
		cands[i] = of(in)
	}
	if dym := bulk.DidYouMean(p.String(), cands, quoted); dym != "" {
		return " (" + dym + ")"
	}
	return ""
}

// quoted writes a suggestion in double quotes.
func quoted(s string) string { return fmt.Sprintf("%q", s) }

// checkResumedSelectors refuses to resume a run whose selector rows would now reach another
// set of integrations than when it was planned: the run would go on with a policy nobody
// started (a new integration entered), or leave one half-done without saying so.
func checkResumedSelectors(h apply.JournalHeader, s *session, dir string) error {
	drift := expansionDrift(h.Selectors, s.plan.Selectors, planNames(report.PlanFile{}, s.plan))
	if len(drift) == 0 {
		return nil
	}
	return failure("to roll the file out to the integrations there are now, apply it as a new run (another --report-dir); the report in "+dir+" keeps what the interrupted run did",
		fmt.Errorf("resume: the selectors expand differently than in the run in %s: nothing was sent:\n  %s", dir, strings.Join(drift, "\n  ")))
}
