package report

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The longest value the stdout diff shows before cutting it; plan.json has the whole value.
const textValueLimit = 120

// maxKeyWidth caps the key column: one long key must not push every other change far right.
const maxKeyWidth = 32

// Lists of integrations in the text plan are wrapped at listWidth columns, at most listLines
// lines of them, then "… and N more".
const (
	listWidth = 100
	listLines = 3
)

// ANSI styles of the coloured diff.
const (
	styleBold    = "\x1b[1m"
	styleFaint   = "\x1b[2m"
	styleRed     = "\x1b[31m"
	styleGreen   = "\x1b[32m"
	styleYellow  = "\x1b[33m"
	styleWarning = "\x1b[1;31m"
	styleReset   = "\x1b[0m"
)

// seg is a piece of a line with its style; styles are left out without colour, and widths are
// always measured on the plain text.
type seg struct{ text, style string }

type line []seg

func (l line) width() int {
	n := 0
	for _, s := range l {
		n += utf8.RuneCountInString(s.text)
	}
	return n
}

func (l line) write(b *strings.Builder, color bool) {
	for _, s := range l {
		if color && s.style != "" {
			b.WriteString(s.style + s.text + styleReset)
		} else {
			b.WriteString(s.text)
		}
	}
	b.WriteByte('\n')
}

// plain is the line's text without styles or line end.
func (l line) plain() string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s.text)
	}
	return b.String()
}

// TextOptions say how PlanText lays a plan out.
type TextOptions struct {
	Color bool // ANSI colour
	// Expand shows one block per integration, never grouping identical changes.
	Expand bool
	// ShowUnchanged lists the integrations with nothing to change; otherwise they are counted.
	ShowUnchanged bool
}

// PlanText writes the plan as a diff for people (the stdout of `plan`, `apply` and `show`),
// over plan.json's content, so that a saved plan prints exactly as the plan did. The summary
// comes first, then the not-running warning. Then, in the order of their first CSV line: a
// block for each change made identically on GroupMin or more integrations ("~ the same change
// on 300 integrations", the integrations wrapped and cut with "and N more"), and a block for
// each integration with the changes no group took ("~ id (name)", one "~ key  change
// [line N]" line per option to update, then one "=" line naming its unchanged options).
// Integrations with nothing to change are counted, or listed one per line with ShowUnchanged;
// Expand turns grouping off. Integrations that are not running are flagged, since the server
// will refuse their changes. Secrets show as "(sensitive) will change"; values are cut at 120
// characters, and control characters are escaped so a value cannot drive the terminal. The
// plan's warnings come last, where the plan ends (stderr has them too, as they were found).
func PlanText(w io.Writer, f PlanFile, o TextOptions) error {
	var b strings.Builder
	textSummary(&b, f, o.Color)
	names := labels(f.Integrations)
	block := true // a blank line goes before every block and before a run of one-line entries
	for _, it := range planItems(f.Integrations, o.Expand, o.ShowUnchanged) {
		switch {
		case it.group != nil:
			b.WriteByte('\n')
			groupBlock(&b, *it.group, names, o.Color)
			block = true
		case len(it.it.Options) == 0:
			if block {
				b.WriteByte('\n')
			}
			block = false
			unchangedTarget(it.it, it.same).write(&b, o.Color)
		default:
			b.WriteByte('\n')
			targetBlock(&b, it.it, it.same, o.Color)
			block = true
		}
	}
	if n := f.Totals.Integrations - f.Totals.Changed; n > 0 && !o.ShowUnchanged && f.Totals.Changed > 0 {
		b.WriteByte('\n')
		line{{"= " + itoa(n) + " " + bulk.Plural(n, "integration", "integrations") + " with nothing to change, not listed (--show-unchanged lists " +
			bulk.Plural(n, "it", "them") + ")", styleFaint}}.write(&b, o.Color)
	}
	if len(f.Warnings) > 0 {
		b.WriteByte('\n')
		for _, warn := range f.Warnings {
			line{{printable(warn, 0), styleYellow}}.write(&b, o.Color)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// textSummary writes the totals and the not-running warning.
func textSummary(b *strings.Builder, f PlanFile, color bool) {
	n := f.Totals
	switch {
	case n.Integrations == 0:
		line{{"No changes: the plan is empty.", styleBold}}.write(b, color)
	case n.Updates == 0:
		line{{"No changes: " + itoa(n.Integrations) + " " + bulk.Plural(n.Integrations, "integration", "integrations") + ", " + itoa(n.Options) + " " + bulk.Plural(n.Options, "option", "options") + " already as asked.", styleBold}}.write(b, color)
	default:
		line{{"Plan: " + itoa(n.Changed) + " " + bulk.Plural(n.Changed, "integration", "integrations") + " to update, " + itoa(n.Integrations-n.Changed) + " unchanged; " +
			itoa(n.Updates) + " " + bulk.Plural(n.Updates, "option", "options") + " to update, " + itoa(n.Unchanged) + " unchanged.", styleBold}}.write(b, color)
	}
	if stopped := len(f.notRunning()); stopped > 0 {
		line{{"WARNING: " + itoa(stopped) + " " + bulk.Plural(stopped, "integration", "integrations") + " with changes " + bulk.Plural(stopped, "is", "are") + " not running: the server will refuse these changes.", styleWarning}}.write(b, color)
	}
}

// targetName says "id (name)", or just the id when the name is empty or the same.
func targetName(id, name string) string {
	if name == "" || name == id {
		return printable(id, 0)
	}
	return printable(id, 0) + " (" + printable(name, 0) + ")"
}

// unchangedTarget is the one line of an integration with nothing to change.
func unchangedTarget(it PlanIntegration, same []PlanOption) line {
	n := len(same)
	l := line{{"=", styleFaint}, {" " + targetName(it.ID, it.Name) + ": " + itoa(n) + " " + bulk.Plural(n, "option", "options") + " unchanged", ""}}
	var over []int // the lines these options won over by precedence
	for _, o := range same {
		over = append(over, o.OverridesLines...)
	}
	if ls := linesOf(same); len(ls) > 0 {
		l = append(l, seg{" [" + lineRefs(ls) + overLines(over) + "]", styleFaint})
	}
	if !it.Running {
		l = append(l, seg{" (not running: nothing will be sent)", styleFaint})
	}
	return l
}

// targetBlock writes one integration's updates, then its unchanged options on one line.
func targetBlock(b *strings.Builder, it PlanIntegration, same []PlanOption, color bool) {
	head := line{{"~", styleYellow}, {" " + targetName(it.ID, it.Name), styleBold}}
	if !it.Running {
		status := it.Status
		if status == "" {
			status = "unknown"
		}
		head = append(head, seg{"  NOT RUNNING (status " + printable(status, 40) + "): the server will refuse these changes", styleWarning})
	}
	head.write(b, color)
	rows := make([]changeRow, len(it.Options))
	for i, o := range it.Options {
		rows[i] = changeRow{o.Key, describe(o.shown()), o.lines(), o.OverridesLines}
	}
	changeLines(b, rows, color)
	if len(same) > 0 {
		parts := make([]string, len(same))
		for i, o := range same {
			parts[i] = printable(o.Key, 0) + " [" + lineRefs(o.lines()) + overLines(o.OverridesLines) + "]"
		}
		line{{"    = unchanged: " + strings.Join(parts, ", "), styleFaint}}.write(b, color)
	}
}

// groupBlock writes a group: its changes, then the integrations they touch.
func groupBlock(b *strings.Builder, g changeGroup, names map[string]string, color bool) {
	what := "the same change"
	if len(g.changes) > 1 {
		what = "the same " + itoa(len(g.changes)) + " changes"
	}
	line{{"~", styleYellow}, {" " + what + " on " + itoa(len(g.members)) + " integrations", styleBold}}.write(b, color)
	rows := make([]changeRow, len(g.changes))
	for i, c := range g.changes {
		rows[i] = changeRow{c.opt.Key, describe(c.shown()), c.lines, c.over}
	}
	changeLines(b, rows, color)
	who := make([]string, len(g.members))
	for i, m := range g.members {
		who[i] = names[m.ID]
	}
	for _, l := range wrapList(who, "      on ", "         ", listWidth, listLines, "(--expand lists each)") {
		line{{l, ""}}.write(b, color)
	}
}

// changeRow is one "~ key  change  [lines]" line.
type changeRow struct {
	key         string
	desc        line
	lines, over []int // over: the lines it won over by precedence
}

// changeLines writes change rows, keys aligned (up to maxKeyWidth), the lines right after the
// change: a long change does not push every other row's lines to the right.
func changeLines(b *strings.Builder, rows []changeRow, color bool) {
	keyW := 0
	for _, r := range rows {
		keyW = max(keyW, min(utf8.RuneCountInString(printable(r.key, 0)), maxKeyWidth))
	}
	for _, r := range rows {
		l := line{{"    ~", styleYellow}, {" " + pad(printable(r.key, 0), keyW) + "  ", ""}}
		l = append(l, r.desc...)
		l = append(l, seg{"  [" + lineRefs(r.lines) + overLines(r.over) + "]", styleFaint})
		l.write(b, color)
	}
}

// wrapList joins items with ", " into lines of at most width runes (the first after first,
// the others after indent), at most maxLines of them; what does not fit is counted on a last
// line, "… and N more" and then more.
func wrapList(items []string, first, indent string, width, maxLines int, more string) []string {
	var out []string
	cur, fresh := first, true
	for i, it := range items {
		piece := it
		if i < len(items)-1 {
			piece += ","
		}
		if !fresh && utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(piece) > width {
			if len(out)+1 == maxLines {
				out = append(out, strings.TrimSuffix(cur, ","))
				return append(out, indent+"… and "+itoa(len(items)-i)+" more "+more)
			}
			out = append(out, cur)
			cur, fresh = indent, true
		}
		if !fresh {
			cur += " "
		}
		cur += piece
		fresh = false
	}
	return append(out, cur)
}

// labels names each integration for lists: its name when no other integration of the plan
// has it, else "name (id)"; the id when it has no name. Integrations that are not running are
// marked so.
func labels(its []PlanIntegration) map[string]string {
	count := map[string]int{}
	for _, it := range its {
		count[strings.ToLower(it.Name)]++
	}
	out := make(map[string]string, len(its))
	for _, it := range its {
		l := printable(it.Name, 60)
		switch {
		case it.Name == "" || it.Name == it.ID:
			l = printable(it.ID, 0)
		case count[strings.ToLower(it.Name)] > 1:
			l += " (" + printable(it.ID, 0) + ")"
		}
		if !it.Running {
			l += " (not running)"
		}
		out[it.ID] = l
	}
	return out
}

// shown is what every renderer shows of an update: what changes, and the display values,
// masked for secrets. A group's change may start from several values and permissions
// (most frequent first); a single change has one of each.
type shown struct {
	sensitive, value, perm, unreadable bool
	befores, permBefores               []string
	after, permAfter                   string
}

// describe says what an update does to one option, without its key and line.
func describe(s shown) line {
	var l line
	if s.value {
		switch {
		case s.sensitive && s.unreadable:
			l = line{{bulk.SensitiveText + " will be set " + bulk.UnreadableText, ""}}
		case s.sensitive:
			l = line{{bulk.SensitiveText + " will change", ""}}
		case s.unreadable:
			l = line{{"will be set to ", ""}, {printable(s.after, textValueLimit), styleGreen}, {" " + bulk.UnreadableText, ""}}
		default:
			l = line{{oneOf(s.befores, textValueLimit), styleRed}, {" → ", ""}, {printable(s.after, textValueLimit), styleGreen}}
		}
	}
	if s.perm {
		if len(l) > 0 {
			l = append(l, seg{"; ", ""})
		}
		l = append(l, seg{"permission ", ""}, seg{oneOf(s.permBefores, 0), styleRed}, seg{" → ", ""}, seg{s.permAfter, styleGreen})
	}
	if len(l) == 0 {
		// An update that changes neither: the planner sends it anyway, so say so.
		l = line{{"will be sent again", ""}}
	}
	return l
}

// oneOf shows a value, or the values a group's change starts from: "365 or 30", "1, 5 or
// 30", and past three "(7 different values)".
func oneOf(vs []string, limit int) string {
	switch {
	case len(vs) == 1:
		return printable(vs[0], limit)
	case len(vs) > 3:
		return "(" + itoa(len(vs)) + " different values)"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = printable(v, limit)
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// pad right-pads s with spaces to n runes.
func pad(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}
