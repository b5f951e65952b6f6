package report

import (
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The longest value the stdout diff shows before cutting it; plan.json has the whole value.
const textValueLimit = 120

// Column caps: one long key or value must not push every other line's [line N] far right.
const (
	maxKeyWidth  = 32
	maxDescWidth = 60
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
}

// PlanText writes the plan as a diff for people (the stdout of `plan` and `apply`), over
// plan.json's content, so that a saved plan prints as the plan did: a summary line first,
// then every integration in plan order. An integration with changes is a block headed
// "~ id (name)" with one "~ key  before → after  [line N]" line per option to update and one
// "=" line naming its unchanged options; an integration with nothing to change is one "="
// line. Integrations that are not running are flagged where they have changes, since the
// server will refuse them. Secrets show as "(sensitive) will change"; values are cut at 120
// characters, and control characters are escaped so a value cannot drive the terminal. ANSI
// colour is used only when color is true. The plan's warnings come last, so that they are
// before the reviewer's eyes where the plan ends (stderr has them too, as they were found).
func PlanText(w io.Writer, f PlanFile, color bool) error {
	var b strings.Builder
	textSummary(&b, f, color)
	block := true // a blank line goes before every block and before a run of one-line entries
	for _, it := range f.Integrations {
		if !it.updates() {
			if block {
				b.WriteByte('\n')
			}
			block = false
			unchangedTarget(it).write(&b, color)
			b.WriteByte('\n')
			continue
		}
		block = true
		b.WriteByte('\n')
		targetBlock(&b, it, color)
	}
	if len(f.Warnings) > 0 {
		b.WriteByte('\n')
		for _, warn := range f.Warnings {
			line{{printable(warn, 0), styleYellow}}.write(&b, color)
			b.WriteByte('\n')
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
	b.WriteByte('\n')
	if stopped := len(f.notRunning()); stopped > 0 {
		line{{"WARNING: " + itoa(stopped) + " " + bulk.Plural(stopped, "integration", "integrations") + " with changes " + bulk.Plural(stopped, "is", "are") + " not running: the server will refuse these changes.", styleWarning}}.write(b, color)
		b.WriteByte('\n')
	}
}

// targetName says "id (name)", or just the id when the name is empty or the same.
func targetName(id, name string) string {
	if name == "" || name == id {
		return printable(id, 0)
	}
	return printable(id, 0) + " (" + printable(name, 0) + ")"
}

func unchangedTarget(it PlanIntegration) line {
	l := line{{"=", styleFaint}, {" " + targetName(it.ID, it.Name) + ": " + itoa(len(it.Options)) + " " + bulk.Plural(len(it.Options), "option", "options") + " unchanged", ""}}
	var ls, over []int // the lines of the options, and those they won over by precedence
	for _, o := range it.Options {
		ls, over = append(ls, o.lines()...), append(over, o.OverridesLines...)
	}
	if len(ls) > 0 {
		slices.Sort(ls)
		l = append(l, seg{" [" + linesText(slices.Compact(ls)) + overLines(over) + "]", styleFaint})
	}
	if !it.Running {
		l = append(l, seg{" (not running: nothing will be sent)", styleFaint})
	}
	return l
}

func targetBlock(b *strings.Builder, it PlanIntegration, color bool) {
	head := line{{"~", styleYellow}, {" " + targetName(it.ID, it.Name), styleBold}}
	if !it.Running {
		status := it.Status
		if status == "" {
			status = "unknown"
		}
		head = append(head, seg{"  NOT RUNNING (status " + printable(status, 40) + "): the server will refuse these changes", styleWarning})
	}
	head.write(b, color)
	b.WriteByte('\n')

	var updates, same []PlanOption
	for _, o := range it.Options {
		if o.Action == string(bulk.ActionUpdate) {
			updates = append(updates, o)
		} else {
			same = append(same, o)
		}
	}
	keyW, descW := 0, 0
	descs := make([]line, len(updates))
	for i, o := range updates {
		keyW = max(keyW, min(utf8.RuneCountInString(printable(o.Key, 0)), maxKeyWidth))
		descs[i] = describe(o.shown())
		descW = max(descW, min(descs[i].width(), maxDescWidth))
	}
	for i, o := range updates {
		key := printable(o.Key, 0)
		l := line{{"    ~", styleYellow}, {" " + pad(key, keyW) + "  ", ""}}
		l = append(l, descs[i]...)
		l = append(l, seg{strings.Repeat(" ", max(descW-descs[i].width(), 0)) + "  [" + linesText(o.lines()) + overLines(o.OverridesLines) + "]", styleFaint})
		l.write(b, color)
		b.WriteByte('\n')
	}
	if len(same) > 0 {
		parts := make([]string, len(same))
		for i, o := range same {
			parts[i] = printable(o.Key, 0) + " [" + linesText(o.lines()) + overLines(o.OverridesLines) + "]"
		}
		line{{"    = unchanged: " + strings.Join(parts, ", "), styleFaint}}.write(b, color)
		b.WriteByte('\n')
	}
}

// shown is what every renderer shows of an update: what changes, and the display values,
// masked for secrets. plan.json's and results.json's options both hold it.
type shown struct {
	sensitive, value, perm, unreadable   bool
	before, permBefore, after, permAfter string
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
			l = line{{printable(s.before, textValueLimit), styleRed}, {" → ", ""}, {printable(s.after, textValueLimit), styleGreen}}
		}
	}
	if s.perm {
		if len(l) > 0 {
			l = append(l, seg{"; ", ""})
		}
		l = append(l, seg{"permission ", ""}, seg{s.permBefore, styleRed}, seg{" → ", ""}, seg{s.permAfter, styleGreen})
	}
	if len(l) == 0 {
		// An update that changes neither: the planner sends it anyway, so say so.
		l = line{{"will be sent again", ""}}
	}
	return l
}

// pad right-pads s with spaces to n runes.
func pad(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}
