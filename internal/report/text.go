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

// PlanText writes the plan as a diff for people (the stdout of `plan` and `apply`): a summary
// line first, then every integration in plan order. An integration with changes is a block
// headed "~ id (name)" with one "~ key  before → after  [line N]" line per option to update
// and one "=" line naming its unchanged options; an integration with nothing to change is one
// "=" line. Integrations that are not running are flagged where they have changes, since the
// server will refuse them. Secrets show as "(sensitive) will change"; values are cut at 120
// characters, and control characters are escaped so a value cannot drive the terminal. ANSI
// colour is used only when color is true. Plan.Warnings are not written: they are the
// caller's to print on stderr.
func PlanText(w io.Writer, p bulk.Plan, color bool) error {
	var b strings.Builder
	n := p.Count()
	notRunning := 0
	for _, t := range p.Targets {
		if !t.Running && t.Updates() {
			notRunning++
		}
	}
	switch {
	case n.Integrations == 0:
		line{{"No changes: the plan is empty.", styleBold}}.write(&b, color)
	case n.Updates == 0:
		line{{"No changes: " + itoa(n.Integrations) + " " + bulk.Plural(n.Integrations, "integration", "integrations") + ", " + itoa(n.Options) + " " + bulk.Plural(n.Options, "option", "options") + " already as asked.", styleBold}}.write(&b, color)
	default:
		line{{"Plan: " + itoa(n.Changed) + " " + bulk.Plural(n.Changed, "integration", "integrations") + " to update, " + itoa(n.Integrations-n.Changed) + " unchanged; " +
			itoa(n.Updates) + " " + bulk.Plural(n.Updates, "option", "options") + " to update, " + itoa(n.Unchanged) + " unchanged.", styleBold}}.write(&b, color)
	}
	b.WriteByte('\n')
	if notRunning > 0 {
		line{{"WARNING: " + itoa(notRunning) + " " + bulk.Plural(notRunning, "integration", "integrations") + " with changes " + bulk.Plural(notRunning, "is", "are") + " not running: the server will refuse these changes.", styleWarning}}.write(&b, color)
		b.WriteByte('\n')
	}

	block := true // a blank line goes before every block and before a run of one-line entries
	for _, t := range p.Targets {
		if !t.Updates() {
			if block {
				b.WriteByte('\n')
			}
			block = false
			unchangedTarget(t).write(&b, color)
			b.WriteByte('\n')
			continue
		}
		block = true
		b.WriteByte('\n')
		targetBlock(&b, t, color)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// targetName says "id (name)", or just the id when the name is empty or the same.
func targetName(id, name string) string {
	if name == "" || name == id {
		return printable(id, 0)
	}
	return printable(id, 0) + " (" + printable(name, 0) + ")"
}

func unchangedTarget(t bulk.Target) line {
	l := line{{"=", styleFaint}, {" " + targetName(t.ID, t.Name) + ": " + itoa(len(t.Changes)) + " " + bulk.Plural(len(t.Changes), "option", "options") + " unchanged", ""}}
	if ls := allLines(t.Changes); ls != "" {
		var over bulk.Change // the lines these changes won over, if any
		for _, c := range t.Changes {
			over.Overrides = append(over.Overrides, c.Overrides...)
		}
		slices.Sort(over.Overrides)
		over.Overrides = slices.Compact(over.Overrides)
		l = append(l, seg{" [" + ls + overText(over) + "]", styleFaint})
	}
	if !t.Running {
		l = append(l, seg{" (not running: nothing will be sent)", styleFaint})
	}
	return l
}

// allLines lists the lines of several changes: "line 4" or "lines 4, 7, 9".
func allLines(cs []bulk.Change) string {
	var merged bulk.Change
	for i, c := range cs {
		if i == 0 {
			merged.Line = c.Line
		} else {
			merged.Merged = append(merged.Merged, c.Line)
		}
		merged.Merged = append(merged.Merged, c.Merged...)
	}
	if len(cs) == 0 {
		return ""
	}
	return linesText(merged)
}

func targetBlock(b *strings.Builder, t bulk.Target, color bool) {
	head := line{{"~", styleYellow}, {" " + targetName(t.ID, t.Name), styleBold}}
	if !t.Running {
		status := t.Status
		if status == "" {
			status = "unknown"
		}
		head = append(head, seg{"  NOT RUNNING (status " + printable(status, 40) + "): the server will refuse these changes", styleWarning})
	}
	head.write(b, color)
	b.WriteByte('\n')

	var updates, same []bulk.Change
	for _, c := range t.Changes {
		if c.Action == bulk.ActionUpdate {
			updates = append(updates, c)
		} else {
			same = append(same, c)
		}
	}
	keyW, descW := 0, 0
	descs := make([]line, len(updates))
	for i, c := range updates {
		keyW = max(keyW, min(utf8.RuneCountInString(printable(c.Key, 0)), maxKeyWidth))
		descs[i] = describe(c)
		descW = max(descW, min(descs[i].width(), maxDescWidth))
	}
	for i, c := range updates {
		key := printable(c.Key, 0)
		l := line{{"    ~", styleYellow}, {" " + pad(key, keyW) + "  ", ""}}
		l = append(l, descs[i]...)
		l = append(l, seg{strings.Repeat(" ", max(descW-descs[i].width(), 0)) + "  [" + linesText(c) + overText(c) + "]", styleFaint})
		l.write(b, color)
		b.WriteByte('\n')
	}
	if len(same) > 0 {
		parts := make([]string, len(same))
		for i, c := range same {
			parts[i] = printable(c.Key, 0) + " [" + linesText(c) + overText(c) + "]"
		}
		line{{"    = unchanged: " + strings.Join(parts, ", "), styleFaint}}.write(b, color)
		b.WriteByte('\n')
	}
}

// describe says what an update does to one option, without its key and line.
func describe(c bulk.Change) line {
	var l line
	if c.ValueChanges {
		switch {
		case isSecret(c) && c.Unreadable:
			l = line{{bulk.SensitiveText + " will be set " + bulk.UnreadableText, ""}}
		case isSecret(c):
			l = line{{bulk.SensitiveText + " will change", ""}}
		case c.Unreadable:
			l = line{{"will be set to ", ""}, {printable(after(c), textValueLimit), styleGreen}, {" " + bulk.UnreadableText, ""}}
		default:
			l = line{{printable(before(c), textValueLimit), styleRed}, {" → ", ""}, {printable(after(c), textValueLimit), styleGreen}}
		}
	}
	if c.PermissionChanges {
		if len(l) > 0 {
			l = append(l, seg{"; ", ""})
		}
		l = append(l, seg{"permission ", ""}, seg{c.BeforePermission.String(), styleRed}, seg{" → ", ""}, seg{c.AfterPermission.String(), styleGreen})
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
