// Package plan is the pure planning core: validated rows plus the server's current state in,
// a plan (or the problems that stop one) out. plan and apply both call Build, so the dry run
// and the real run cannot disagree.
package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Build joins the rows of file with the server's integrations. Every problem is returned at
// once; the plan is only meaningful when no problem is fatal. Targets come in the order the
// file first names them, changes in line order.
//
// Exact rows are planned first, in line order; selector rows (a pattern in the integration or
// the key, see expand) then reach what no exact row set, by precedence.
func Build(file string, rows []bulk.Row, state []bulk.Integration) (bulk.Plan, bulk.Problems) {
	b := newBuilder(file, state)
	var selectors []int
	for i, r := range rows {
		if r.Selector() {
			selectors = append(selectors, i)
			continue
		}
		b.exact(r)
	}
	var p bulk.Plan
	if len(selectors) > 0 {
		p.Selectors = b.expand(rows, selectors)
		// Selector changes came after every exact one: put the targets back in the order of
		// the first line that reaches them (for exact rows alone, that is already the order).
		// Integrations first named on one line come in the server's order.
		slices.SortStableFunc(b.order, func(x, y string) int {
			return cmp.Or(cmp.Compare(b.first[x], b.first[y]), cmp.Compare(b.index[x], b.index[y]))
		})
	}
	for _, id := range b.order {
		t := b.targets[id]
		slices.SortStableFunc(t.Changes, func(a, b bulk.Change) int { return cmp.Compare(a.Line, b.Line) })
		t.Fingerprint = Fingerprint(*b.byID[id], keys(t.Changes))
		p.Targets = append(p.Targets, *t)
	}
	slices.SortStableFunc(b.problems, func(a, b bulk.Problem) int { return cmp.Compare(a.Line, b.Line) })
	for _, pr := range b.problems {
		if pr.Warning && len(p.Warnings) < MaxProblems {
			p.Warnings = append(p.Warnings, pr)
		}
	}
	return p, b.problems.Cap(file, MaxProblems)
}

// MaxProblems is how many problems Build returns, in line order; one more closes the list and
// counts the rest (a file of 100,000 unknown ids is 1,001 lines, as offline problems are).
const MaxProblems = 1000

type builder struct {
	file     string
	byID     map[string]*bulk.Integration
	byName   map[string][]*bulk.Integration
	state    []bulk.Integration
	problems bulk.Problems

	targets map[string]*bulk.Target
	order   []string       // target ids, as first planned
	first   map[string]int // the first line that reaches each integration
	index   map[string]int // each integration's place in the server's order
	seen    map[[2]string]bulk.Row

	// sink, when set, takes the problems of one selector row's options, to be reported
	// together (see expand).
	sink *sink

	// ids and names suggest the integration a misspelled id or name meant; memo keeps each
	// word's answer (see didYouMean).
	ids, names *bulk.Suggester
	memo       map[string]string
}

func newBuilder(file string, state []bulk.Integration) *builder {
	b := &builder{file: file, byID: map[string]*bulk.Integration{}, byName: map[string][]*bulk.Integration{},
		state: state, targets: map[string]*bulk.Target{}, first: map[string]int{}, index: map[string]int{},
		seen: map[[2]string]bulk.Row{}}
	for i := range state {
		in := &state[i]
		b.byID[in.ID] = in
		b.index[in.ID] = i
		name := strings.ToLower(in.Name)
		b.byName[name] = append(b.byName[name], in)
	}
	return b
}

// exact plans a row that names one integration and one key.
func (b *builder) exact(r bulk.Row) {
	in, ok := b.resolve(r)
	if !ok {
		return
	}
	k := [2]string{in.ID, r.Key}
	if prev, dup := b.seen[k]; dup {
		// The file named one option twice, once by id and once by name (the CSV reader
		// already caught duplicates spelled the same way).
		if sameRequest(prev, r) {
			b.warn(r.Line, "", fmt.Sprintf("duplicate of line %d (option %s of %s): merged", prev.Line, r.Key, in.ID))
			t := b.targets[in.ID]
			for i := range t.Changes {
				if t.Changes[i].Line == prev.Line {
					t.Changes[i].Merged = append(t.Changes[i].Merged, r.Line)
					t.Changes[i].Merged = append(t.Changes[i].Merged, r.Merged...)
				}
			}
		} else {
			b.fail(r.Line, "option_key", fmt.Sprintf("option %s of %s is also set differently on line %d: keep one of the two rows", r.Key, in.ID, prev.Line))
		}
		return
	}
	c, ok := b.change(in, r)
	if !ok {
		return
	}
	b.seen[k] = r
	b.add(in, c)
}

// add puts a change into its integration's target.
func (b *builder) add(in *bulk.Integration, c bulk.Change) {
	t := b.targets[in.ID]
	if t == nil {
		t = &bulk.Target{ID: in.ID, Name: in.Name, Status: in.Status, Running: in.Running()}
		b.targets[in.ID] = t
		b.order = append(b.order, in.ID)
	}
	if f, ok := b.first[in.ID]; !ok || c.Line < f {
		b.first[in.ID] = c.Line
	}
	t.Changes = append(t.Changes, c)
}

func (b *builder) fail(line int, col, msg string) {
	if b.sink != nil {
		b.sink.add(col, msg, false)
		return
	}
	b.problems = append(b.problems, bulk.Problem{File: b.file, Line: line, Column: col, Msg: msg})
}

func (b *builder) warn(line int, col, msg string) {
	if b.sink != nil {
		b.sink.add(col, msg, true)
		return
	}
	b.problems = append(b.problems, bulk.Problem{File: b.file, Line: line, Column: col, Msg: msg, Warning: true})
}

// didYouMean is " did you mean ...?" for word among the server's integration ids or names
// (of the suggester s, built on first use), or "". A garbage file stays fast: only the first
// MaxProblems problems get a suggestion (the rest are only counted), and each word is
// looked up once.
func (b *builder) didYouMean(s **bulk.Suggester, kind, word string, candidates func() []string) string {
	if len(b.problems) >= MaxProblems {
		return ""
	}
	key := kind + "\x00" + word
	if v, ok := b.memo[key]; ok {
		return v
	}
	if *s == nil {
		*s = bulk.NewSuggester(candidates())
	}
	v := ""
	if got := (*s).Suggest(word); len(got) > 0 {
		q := make([]string, len(got))
		for i, c := range got {
			q[i] = fmt.Sprintf("%q", c)
		}
		v = "did you mean " + strings.Join(q, " or ") + "?"
	}
	if b.memo == nil {
		b.memo = map[string]string{}
	}
	b.memo[key] = v
	return v
}

func (b *builder) idList() []string {
	out := make([]string, len(b.state))
	for i, in := range b.state {
		out[i] = in.ID
	}
	return out
}

func (b *builder) nameList() []string {
	out := make([]string, len(b.state))
	for i, in := range b.state {
		out[i] = in.Name
	}
	return out
}

// resolve finds the row's integration by id (checking the name when both are given) or by a
// name that must match exactly one integration.
func (b *builder) resolve(r bulk.Row) (*bulk.Integration, bool) {
	if r.IntegrationID != "" {
		in, ok := b.byID[r.IntegrationID]
		if !ok {
			msg := fmt.Sprintf("no integration %s on the server", r.IntegrationID)
			if cands := b.byName[strings.ToLower(r.IntegrationName)]; r.IntegrationName != "" && len(cands) > 0 {
				msg += fmt.Sprintf("; integrations named %q: %s", r.IntegrationName, ids(cands))
			} else if dym := b.didYouMean(&b.ids, "id", r.IntegrationID, b.idList); dym != "" {
				msg += ": " + dym + " (ids: 'polarity-bulk describe' lists them)"
			} else {
				msg += ": check the id with 'polarity-bulk export', or use integration_name"
			}
			b.fail(r.Line, "integration_id", msg)
			return nil, false
		}
		if r.IntegrationName != "" && !nameMatches(r.IntegrationName, in.Name) {
			b.fail(r.Line, "integration_name", fmt.Sprintf("%q does not match integration %s, which is named %q on this server: is the file meant for another server?", r.IntegrationName, in.ID, in.Name))
			return nil, false
		}
		return in, true
	}
	cands := b.byName[strings.ToLower(r.IntegrationName)]
	switch len(cands) {
	case 1:
		return cands[0], true
	case 0:
		if dym := b.didYouMean(&b.names, "name", r.IntegrationName, b.nameList); dym != "" {
			b.fail(r.Line, "integration_name", fmt.Sprintf("no integration is named %q on the server: %s", r.IntegrationName, dym))
			break
		}
		b.fail(r.Line, "integration_name", fmt.Sprintf("no integration is named %q on the server: check the name with 'polarity-bulk export'", r.IntegrationName))
	default:
		b.fail(r.Line, "integration_name", fmt.Sprintf("%d integrations are named %q: %s; use integration_id to pick one, or integration_name %s%s to change all of them", len(cands), r.IntegrationName, ids(cands), bulk.GlobPrefix, globQuote(r.IntegrationName)))
	}
	return nil, false
}

// change plans one row against the option's current state.
func (b *builder) change(in *bulk.Integration, r bulk.Row) (bulk.Change, bool) {
	opt, ok := in.Option(r.Key)
	if !ok {
		b.fail(r.Line, "option_key", unknownKey(in, r.Key, len(b.problems) < MaxProblems))
		return bulk.Change{}, false
	}
	if r.OptionKind != "" && opt.ColumnKind() != r.OptionKind {
		b.fail(r.Line, "option_kind", fmt.Sprintf("option %s of %s is of kind %s, not %s: fix option_kind or option_key", opt.Key, in.ID, kindText(opt), r.OptionKind))
		return bulk.Change{}, false
	}
	sensitive := opt.Sensitive() || r.Value.Env != ""
	c := bulk.Change{
		Line: r.Line, Merged: r.Merged, Key: r.Key, Kind: opt.Kind, Sensitive: sensitive, Row: r,
		BeforePermission: opt.Permission,
		AfterPermission:  r.Permission.Apply(opt.Permission),
	}
	if opt.Readable {
		c.Current = bulk.NewPayload(opt.Value)
	}
	if !c.AfterPermission.Valid() {
		b.fail(r.Line, permColumn(r), fmt.Sprintf("the result would be admin-only and user-can-edit both true, which the server refuses (the server has %s): set both flags, or use the permission column",
			flagsText(opt.Permission)))
		return bulk.Change{}, false
	}
	c.PermissionChanges = c.AfterPermission != c.BeforePermission

	want, err := Convert(opt, r.Value, sensitive)
	if err != nil {
		b.fail(r.Line, "value", err.Error())
		return bulk.Change{}, false
	}
	switch {
	case want == nil:
		// No new value: a permission-only change sends the current value back when it can
		// (the API may require a value), and leaves it out when the server hid it.
		if opt.Readable {
			c.Send = bulk.NewPayload(opt.Value)
		}
	case !opt.Readable:
		c.ValueChanges, c.Unreadable = true, true
		c.Send = bulk.NewPayload(want)
	default:
		c.ValueChanges = !Equal(opt, opt.Value, want)
		c.Send = bulk.NewPayload(want)
	}
	c.Action = bulk.ActionUnchanged
	if c.ValueChanges || c.PermissionChanges {
		c.Action = bulk.ActionUpdate
	}
	c.Before, c.After = displays(opt, want, sensitive)
	b.warnSensitive(in, opt, r)
	return c, true
}

// warnSensitive says when a value is treated as sensitive for a reason the user may not
// expect, and when a ${NAME} value goes where Polarity's users can read it.
func (b *builder) warnSensitive(in *bulk.Integration, opt bulk.Option, r bulk.Row) {
	switch {
	case opt.Kind == "":
		b.warn(r.Line, "option_key", fmt.Sprintf("the server gives option %s of %s no kind: polarity-bulk treats its values as sensitive", opt.Key, in.ID))
	case !bulk.KnownKind(opt.Kind):
		b.warn(r.Line, "option_key", fmt.Sprintf("option %s of %s has kind %q, which polarity-bulk does not know: it treats its values as sensitive", opt.Key, in.ID, string(opt.Kind)))
	}
	if opt.HoldsCredential {
		b.warn(r.Line, "option_key", fmt.Sprintf("the current value of option %s of %s holds a credential polarity-bulk authenticates with: it is shown as %s; give the option a value of its own", opt.Key, in.ID, bulk.SensitiveText))
	}
	if r.Value.Env != "" && opt.Kind != bulk.KindPassword {
		what := string(opt.Kind) + " option"
		if !bulk.KnownKind(opt.Kind) {
			what = "option"
		}
		b.warn(r.Line, "value", fmt.Sprintf("an environment value goes into %s %s, visible to users: polarity-bulk masks ${%s}, Polarity shows it", what, opt.Key, r.Value.Env))
	}
}

func displays(opt bulk.Option, want json.RawMessage, sensitive bool) (before, after string) {
	switch {
	case !opt.Readable:
		before = bulk.UnreadableText
	case sensitive || opt.Sensitive():
		before = bulk.SensitiveText
	default:
		before = Display(opt, opt.Value)
	}
	switch {
	case want == nil:
		after = before
	case sensitive:
		after = bulk.SensitiveText
	default:
		after = Display(opt, want)
	}
	return before, after
}

// unknownKey words an option key the integration lacks: a case-only difference first, else
// (when suggest: the problem will be shown) the keys within a few typos, else its keys.
func unknownKey(in *bulk.Integration, key string, suggest bool) string {
	for _, o := range in.Options {
		if strings.EqualFold(o.Key, key) {
			return fmt.Sprintf("integration %s has no option %q: did you mean %q? (keys are case-sensitive)", in.ID, key, o.Key)
		}
	}
	all := make([]string, len(in.Options))
	for i, o := range in.Options {
		all[i] = o.Key
	}
	if suggest {
		if dym := bulk.DidYouMean(key, all, strconv.Quote); dym != "" {
			return fmt.Sprintf("integration %s has no option %q: %s (its options are %s)", in.ID, key, dym, strings.Join(all, ", "))
		}
	}
	return fmt.Sprintf("integration %s has no option %q: its options are %s", in.ID, key, strings.Join(all, ", "))
}

func permColumn(r bulk.Row) string {
	if r.PermissionCell != "" {
		return "permission"
	}
	if r.Permission.AdminOnly.Set {
		return "admin_only"
	}
	return "user_can_edit"
}

func flagsText(f bulk.Permission) string {
	return "admin-only " + strconv.FormatBool(f.AdminOnly) + ", user-can-edit " + strconv.FormatBool(f.UserCanEdit)
}

func ids(ins []*bulk.Integration) string {
	s := make([]string, len(ins))
	for i, in := range ins {
		s[i] = in.ID
	}
	return strings.Join(s, ", ")
}

func keys(cs []bulk.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return out
}

// sameRequest reports whether two rows ask for the same thing.
func sameRequest(a, b bulk.Row) bool {
	return a.Value.Form == b.Value.Form && a.Value.Text == b.Value.Text && a.Value.Env == b.Value.Env && a.Permission == b.Permission
}

// Fingerprint digests the state of the given options of an integration: status, kind, flags
// and value. The values of password options are left out on purpose: a hash of a weak
// password in plan.json could be brute-forced, so a changed secret alone does not make a
// plan stale (its flags and readability still do).
func Fingerprint(in bulk.Integration, keys []string) string {
	ks := slices.Clone(keys)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	h := sha256.New()
	fmt.Fprintf(h, "integration %q status %q\n", in.ID, in.Status)
	for _, k := range ks {
		o, ok := in.Option(k)
		if !ok {
			fmt.Fprintf(h, "option %q missing\n", k)
			continue
		}
		fmt.Fprintf(h, "option %q kind %q flags %t/%t readable %t\n", k, o.Kind, o.Permission.AdminOnly, o.Permission.UserCanEdit, o.Readable)
		if o.Readable && !o.Sensitive() {
			v := Display(o, o.Value)
			fmt.Fprintf(h, "value %d %s\n", len(v), v)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
