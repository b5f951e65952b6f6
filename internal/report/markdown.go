package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// MarkdownLimit is the most bytes PlanMarkdown and SummaryMarkdown write: GitHub refuses
// comments over 65,536 characters, and a step summary is shown inline. Bytes are counted, so
// the character count is never more.
const MarkdownLimit = 60000

// noteRoom is kept free under the limit for the truncation note and the closing lines.
const noteRoom = 1500

// The longest value or error a Markdown table cell shows.
const mdValueLimit = 100

// capped builds a Markdown document of at most MarkdownLimit bytes. The head (totals and
// warnings) always goes in; rows go in while they fit, and the rows that do not are counted
// for the truncation note.
type capped struct {
	b    strings.Builder
	cut  bool
	left int // rows left out
}

// add writes s when it fits, and reports whether it did; once one row is left out, every
// later one is too, so the document never skips a row in the middle.
func (c *capped) add(s string) bool {
	if c.cut || c.b.Len()+len(s) > MarkdownLimit-noteRoom {
		c.cut = true
		return false
	}
	c.b.WriteString(s)
	return true
}

// row adds a table row, counting it when it does not fit.
func (c *capped) row(s string) {
	if !c.add(s) {
		c.left++
	}
}

// details writes a collapsed list: as many items as fit, then how many did not. Unlike rows,
// a list that does not fit is shortened, not dropped, and what follows may still go in.
func (c *capped) details(summary string, items []string) {
	head := "\n<details><summary>" + summary + "</summary>\n\n"
	const tail = "\n\n</details>\n"
	if !c.add(head) {
		c.left += len(items)
		return
	}
	const more = " … and 1234567 more (plan.json lists them all)" // room for the longest
	room := MarkdownLimit - noteRoom - c.b.Len() - len(tail) - len(more)
	shown := 0
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		if len(sep)+len(it) > room {
			break
		}
		c.b.WriteString(sep + it)
		room -= len(sep) + len(it)
		shown++
	}
	if shown < len(items) {
		c.b.WriteString(" … and " + itoa(len(items)-shown) + " more (plan.json lists them all)")
	}
	c.b.WriteString(tail)
}

// note says what was left out, in place of the rows.
func (c *capped) note(what string) {
	if !c.cut {
		return
	}
	c.b.WriteString("\n> [!NOTE]\n> This summary is cut to fit a comment: " + itoa(c.left) + " " + bulk.Plural(c.left, "more row", "more rows") +
		" not shown. " + what + "\n")
}

// PlanMarkdown writes plan.md over plan.json's content: the plan as a pull-request comment or
// a GitHub step summary. Totals and the not-running warning come first, then one table with a
// row per change, in the order of the CSV lines: a change made identically on GroupMin or
// more integrations is one row naming the first few (expand turns grouping off), the other
// changes have a row per integration. Then the warnings, the full list of each group's
// integrations in <details>, and the unchanged options collapsed. It never exceeds
// MarkdownLimit bytes: every change row is written before any list, so a cut shortens lists
// and keeps the changes; what is left out is counted in a note. Values are shown in code
// spans (so no value is read as Markdown, HTML or a mention) and secrets as "(sensitive)".
func PlanMarkdown(w io.Writer, f PlanFile, expand bool) error {
	n := f.Totals
	var c capped
	b := &c.b
	title := "no changes"
	if n.Updates > 0 {
		title = itoa(n.Changed) + " " + bulk.Plural(n.Changed, "integration", "integrations") + " to update"
	}
	b.WriteString("### polarity-bulk plan: " + title + "\n\n")
	fmt.Fprintf(b, "**%d** %s to update, **%d** unchanged · **%d** %s to update, **%d** unchanged\n\n",
		n.Changed, bulk.Plural(n.Changed, "integration", "integrations"), n.Integrations-n.Changed,
		n.Updates, bulk.Plural(n.Updates, "option", "options"), n.Unchanged)
	if stopped := f.notRunning(); len(stopped) > 0 {
		ids := make([]string, len(stopped))
		for i, it := range stopped {
			ids[i] = mdCode(it.ID, false)
		}
		b.WriteString("> [!WARNING]\n> " + itoa(len(ids)) + " " + bulk.Plural(len(ids), "integration", "integrations") + " with changes " + bulk.Plural(len(ids), "is", "are") +
			" not running: the server will refuse these changes: " + cutList(ids, 20) + "\n\n")
	}
	b.WriteString(planMetaLine(f.Meta()) + "\n\n")
	items, names := planItems(f.Integrations, expand, false), labels(f.Integrations)
	mdChangeTable(&c, items, names)
	mdWarnings(&c, f.Warnings)
	mdGroupLists(&c, items, names)
	if n.Unchanged > 0 {
		mdUnchanged(&c, f)
	}
	c.note("The full plan is in plan.json and in the output of `polarity-bulk plan`.")
	_, err := io.WriteString(w, b.String())
	return err
}

// mdInline is how many integrations a group's row names before "and N more".
const mdInline = 3

// mdChangeTable writes the table of changes: a group on as many rows as it has changes, the
// first naming its integrations; an integration on as many rows as it has updates left.
func mdChangeTable(c *capped, items []planItem, names map[string]string) {
	if len(items) == 0 {
		return
	}
	c.add("| integration | option | change | line |\n|---|---|---|---|\n")
	for _, it := range items {
		if g := it.group; g != nil {
			who := make([]string, len(g.members))
			for i, m := range g.members {
				who[i] = mdText(names[m.ID])
			}
			cell := "**" + itoa(len(who)) + " integrations**: " + cutList(who, mdInline)
			for i, gc := range g.changes {
				if i > 0 {
					cell = ""
				}
				c.row("| " + cell + " | " + mdCode(gc.opt.Key, true) + " | " + mdChange(gc.shown()) + " | " + mdLines(gc.lines) + overLines(gc.over) + " |\n")
			}
			continue
		}
		who := mdTarget(it.it.ID, it.it.Name)
		if !it.it.Running {
			who += " **not running**"
		}
		for i, o := range it.it.Options {
			if i > 0 {
				who = ""
			}
			c.row("| " + who + " | " + mdCode(o.Key, true) + " | " + mdChange(o.shown()) + " | " + mdLines(o.lines()) + overLines(o.OverridesLines) + " |\n")
		}
	}
}

// mdGroupLists writes, for each group that names more integrations than its row shows, the
// full list, collapsed.
func mdGroupLists(c *capped, items []planItem, names map[string]string) {
	for _, it := range items {
		g := it.group
		if g == nil || len(g.members) <= mdInline {
			continue
		}
		keys := make([]string, len(g.changes))
		for i, gc := range g.changes {
			keys[i] = mdCode(gc.opt.Key, false)
		}
		who := make([]string, len(g.members))
		for i, m := range g.members {
			who[i] = mdText(names[m.ID])
		}
		c.details("The "+itoa(len(who))+" integrations of "+strings.Join(keys, ", "), who)
	}
}

// mdUnchanged writes the unchanged options per integration, collapsed.
func mdUnchanged(c *capped, f PlanFile) {
	var rows []string
	for _, it := range f.Integrations {
		var keys []string
		for _, o := range it.Options {
			if o.Action != string(bulk.ActionUpdate) {
				keys = append(keys, mdCode(o.Key, true)+" ("+mdLines(o.lines())+")")
			}
		}
		if len(keys) > 0 {
			rows = append(rows, "| "+mdTarget(it.ID, it.Name)+" | "+strings.Join(keys, ", ")+" |\n")
		}
	}
	n := f.Totals.Unchanged
	opened := c.add("\n<details><summary>" + itoa(n) + " " + bulk.Plural(n, "option", "options") + " unchanged in " + itoa(len(rows)) + " " +
		bulk.Plural(len(rows), "integration", "integrations") + "</summary>\n\n| integration | options |\n|---|---|\n")
	for _, r := range rows {
		c.row(r)
	}
	if opened && !c.add("\n</details>\n") {
		// An opened <details> is closed even when cut; noteRoom leaves space for it.
		c.b.WriteString("\n</details>\n")
	}
}

// cutList joins the first n items and says how many more there are.
func cutList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// planMetaLine is the small print under the totals.
func planMetaLine(m PlanMeta) string {
	parts := []string{}
	if m.Server != "" {
		parts = append(parts, "server "+mdCode(m.Server, false))
	}
	in := "input " + mdCode(inputName(m.File), false)
	if m.SHA256 != "" {
		in += " (sha256 " + mdCode(short(m.SHA256), false) + ")"
	}
	parts = append(parts, in)
	if m.Tool != "" {
		parts = append(parts, mdText(m.Tool))
	}
	if !m.Created.IsZero() {
		parts = append(parts, m.Created.UTC().Format(time.DateTime)+" UTC")
	}
	return "<sub>" + strings.Join(parts, " · ") + "</sub>"
}

// mdChange is describe's Markdown twin.
func mdChange(s shown) string {
	var parts []string
	if s.value {
		switch {
		case s.sensitive && s.unreadable:
			parts = append(parts, bulk.SensitiveText+" will be set "+bulk.UnreadableText)
		case s.sensitive:
			parts = append(parts, bulk.SensitiveText+" will change")
		case s.unreadable:
			parts = append(parts, "will be set to "+mdCode(s.after, true)+" "+bulk.UnreadableText)
		default:
			parts = append(parts, mdOneOf(s.befores)+" → "+mdCode(s.after, true))
		}
	}
	if s.perm {
		parts = append(parts, "permission "+oneOf(s.permBefores, 0)+" → "+s.permAfter)
	}
	if len(parts) == 0 {
		return "will be sent again"
	}
	return strings.Join(parts, "; ")
}

// mdOneOf is oneOf with each value in a code span.
func mdOneOf(vs []string) string {
	if len(vs) > 3 {
		return oneOf(vs, 0)
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = mdCode(v, true)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// mdLines lists lines for a table cell: "7, 8, 12", "14–25", or a count past six runs.
func mdLines(ls []int) string {
	s := lineRefs(ls)
	s = strings.TrimPrefix(s, "lines ")
	return strings.TrimPrefix(s, "line ")
}

func mdTarget(id, name string) string {
	s := mdCode(id, true)
	if name != "" && name != id {
		s += " (" + mdText(name) + ")"
	}
	return s
}

// mdCode puts s in a code span, so that nothing in it is read as Markdown, HTML or a mention.
// In a table cell a pipe is escaped, which GitHub undoes inside code spans too.
func mdCode(s string, table bool) string { return mdCodeN(s, mdValueLimit, table) }

// mdCodeN is mdCode with its own cut.
func mdCodeN(s string, limit int, table bool) string {
	s = printable(s, limit)
	if s == "" {
		return "(empty)"
	}
	if table {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdText escapes the characters that would make s Markdown or HTML.
func mdText(s string) string {
	s = printable(s, 0)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#~&!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// short cuts a hash for display.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// SummaryMarkdown writes summary.md: the outcome of an apply as a step summary or comment.
// Totals by status for integrations and rows come first, then an interruption or
// verification warning, then the failed and not-attempted integrations with their errors,
// and the applied and unchanged ones collapsed. Like PlanMarkdown it stays under
// MarkdownLimit bytes; its error texts come scrubbed from the view.
func SummaryMarkdown(w io.Writer, v *Results) error {
	ints, rows := v.Totals.Integrations, v.Totals.Rows
	var c capped
	b := &c.b
	b.WriteString("### polarity-bulk apply: " + summaryTitle(ints, v.Interrupted) + "\n\n")
	b.WriteString("| | applied | unchanged | failed | not attempted | total |\n|---|---:|---:|---:|---:|---:|\n")
	for _, t := range []struct {
		name string
		t    bulk.Tally
	}{{"integrations", ints}, {"rows", rows}} {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", t.name, t.t.Applied, t.t.Unchanged, t.t.Failed, t.t.NotAttempted, t.t.Total)
	}
	b.WriteString("\n")
	summaryCallouts(b, v)
	b.WriteString(runMetaLine(v) + "\n\n")
	summaryStaging(&c, v)
	b.WriteString(summaryFiles(ints, summaryNotRestored(v)))
	summarySection(&c, v, bulk.StatusFailed, "Failed", false)
	summarySection(&c, v, bulk.StatusRolledBack, "Rolled back", false)
	summarySection(&c, v, bulk.StatusNotAttempted, "Not attempted", false)
	summarySection(&c, v, bulk.StatusApplied, "Applied", true)
	summarySection(&c, v, bulk.StatusUnchanged, "Unchanged", true)
	mdWarnings(&c, v.Warnings)
	c.note("Every row is in results.csv and results.json.")
	_, err := io.WriteString(w, b.String())
	return err
}

// summaryCallouts writes the interruption and verification notes.
func summaryCallouts(b *strings.Builder, v *Results) {
	if n := v.Totals.Integrations.NotAttempted; v.Interrupted {
		b.WriteString("> [!CAUTION]\n> The run was interrupted: " + itoa(n) + " " + bulk.Plural(n, "integration", "integrations") + " " +
			bulk.Plural(n, "is", "are") + " not attempted. Continue with `polarity-bulk apply --resume` on this report directory.\n\n")
	}
	var unverified []string
	unknown := 0
	for in, o := range v.options() {
		switch o.Verified {
		case bulk.VerifyMismatch:
			unverified = append(unverified, mdCode(in.ID, false)+" "+mdCode(o.Key, false))
		case bulk.VerifyUnknown:
			unknown++
		}
	}
	if len(unverified) > 0 {
		b.WriteString("> [!WARNING]\n> " + itoa(len(unverified)) + " " + bulk.Plural(len(unverified), "option", "options") + " read back different from what was sent: " + cutList(unverified, 20) + "\n\n")
	}
	if unknown > 0 {
		b.WriteString("> [!NOTE]\n> " + itoa(unknown) + " " + bulk.Plural(unknown, "option", "options") + " could not be verified: the server does not show " +
			"the value (a masked password), so only the permission was read back; check that the new value works.\n\n")
	}
}

// summarySection writes the table of the integrations with one status, collapsed or not.
func summarySection(c *capped, v *Results, status bulk.Status, heading string, collapsed bool) {
	var sel []*ResultIntegration
	for i := range v.Integrations {
		if v.Integrations[i].Status == status {
			sel = append(sel, &v.Integrations[i])
		}
	}
	if len(sel) == 0 {
		return
	}
	head := "\n#### " + heading + " (" + strconv.Itoa(len(sel)) + ")\n\n"
	if collapsed {
		head = "\n<details><summary>" + heading + " (" + strconv.Itoa(len(sel)) + ")</summary>\n\n"
	}
	opened := false
	switch status {
	case bulk.StatusApplied:
		// What was applied reads like the plan: identical changes grouped.
		opened = c.add(head)
		its := make([]PlanIntegration, len(sel))
		for i, res := range sel {
			its[i] = res.planned()
		}
		items, names := planItems(its, false, false), labels(its)
		mdChangeTable(c, items, names)
		mdGroupLists(c, items, names)
	case bulk.StatusFailed, bulk.StatusNotAttempted, bulk.StatusRolledBack:
		opened = c.add(head + "| integration | rows | HTTP | attempts | error |\n|---|---|---:|---:|---|\n")
		for _, res := range sel {
			c.row(summaryRow(res))
		}
	default:
		opened = c.add(head + "| integration | rows | options |\n|---|---|---|\n")
		for _, res := range sel {
			c.row(summaryRow(res))
		}
	}
	if collapsed && opened && !c.add("\n</details>\n") {
		c.b.WriteString("\n</details>\n")
	}
}

// mdWarnings writes the warnings, each in a code span.
func mdWarnings(c *capped, ws []string) {
	if len(ws) == 0 {
		return
	}
	c.add("\n#### Warnings\n\n")
	for _, warn := range ws {
		c.row("- " + mdCodeN(warn, 400, false) + "\n")
	}
}

func summaryTitle(ints bulk.Tally, interrupted bool) string {
	var parts []string
	if interrupted {
		parts = append(parts, "interrupted")
	}
	if ints.Applied > 0 {
		parts = append(parts, itoa(ints.Applied)+" "+bulk.Plural(ints.Applied, "integration", "integrations")+" applied")
	}
	if ints.Failed > 0 {
		parts = append(parts, strconv.Itoa(ints.Failed)+" failed")
	}
	if ints.NotAttempted > 0 {
		parts = append(parts, strconv.Itoa(ints.NotAttempted)+" not attempted")
	}
	if ints.RolledBack > 0 {
		parts = append(parts, strconv.Itoa(ints.RolledBack)+" rolled back")
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

func summaryRow(res *ResultIntegration) string {
	var ls []int
	var keys []string
	for _, o := range res.Options {
		ls = append(ls, o.lines()...)
		k := mdCode(o.Key, true)
		if o.Verified == bulk.VerifyMismatch {
			k += " (not verified)"
		}
		keys = append(keys, k)
	}
	slices.Sort(ls)
	rows := mdLines(slices.Compact(ls))
	who := mdTarget(res.ID, res.Name)
	switch res.Status {
	case bulk.StatusFailed, bulk.StatusNotAttempted, bulk.StatusRolledBack:
		http, attempts := "", ""
		if res.HTTPStatus != 0 {
			http = strconv.Itoa(res.HTTPStatus)
		}
		if res.Attempts != 0 {
			attempts = strconv.Itoa(res.Attempts)
		}
		return "| " + who + " | " + rows + " | " + http + " | " + attempts + " | " + mdError(res) + " |\n"
	}
	return "| " + who + " | " + rows + " | " + strings.Join(keys, ", ") + " |\n"
}

// mdError is an integration's error, or its options' errors when it has none of its own.
func mdError(res *ResultIntegration) string {
	if res.Error != "" {
		return mdText(printable(res.Error, mdValueLimit*3))
	}
	var parts []string
	for _, o := range res.Options {
		if o.Error != "" {
			parts = append(parts, mdCode(o.Key, true)+": "+mdText(printable(o.Error, mdValueLimit)))
		}
	}
	return strings.Join(parts, "; ")
}

func runMetaLine(v *Results) string {
	parts := []string{}
	if v.Server != "" {
		parts = append(parts, "server "+mdCode(v.Server, false))
	}
	in := "input " + mdCode(inputName(v.Input.Path), false)
	if v.Input.SHA256 != "" {
		in += " (sha256 " + mdCode(short(v.Input.SHA256), false) + ")"
	}
	parts = append(parts, in)
	if !v.Started.IsZero() {
		s := "started " + v.Started.UTC().Format(time.DateTime) + " UTC"
		if !v.Finished.IsZero() {
			s += ", took " + v.Finished.Sub(v.Started).Round(time.Millisecond).String()
		}
		parts = append(parts, s)
	}
	if v.Tool != "" {
		parts = append(parts, mdText(v.Tool))
	}
	return "<sub>" + strings.Join(parts, " · ") + "</sub>"
}

// summaryStaging writes what a staged run adds to the summary: why it stopped, a table of its
// waves, and for a rollback the options it could not restore, by name.
func summaryStaging(c *capped, v *Results) {
	if len(v.Waves) == 0 {
		return
	}
	b := &c.b
	if v.Stopped != "" {
		b.WriteString("> [!CAUTION]\n> " + mdText(v.Stopped) + ": the later waves were not started.\n\n")
	}
	if v.RolledBack {
		var lost []string
		for in, o := range v.options() {
			if o.Rollback != "" {
				lost = append(lost, mdCode(in.ID, false)+" "+mdCode(o.Key, false)+": "+mdText(o.Rollback))
			}
		}
		b.WriteString("> [!WARNING]\n> `--atomic` rolled the run back.")
		if len(lost) > 0 {
			b.WriteString(" Still as the run set them:\n> - " + strings.Join(lost[:min(len(lost), 20)], "\n> - "))
			if len(lost) > 20 {
				fmt.Fprintf(b, "\n> - and %d more (results.json)", len(lost)-20)
			}
		}
		b.WriteString("\n\n")
	}
	c.add("#### Waves\n\n| wave | integrations | failed | status | health |\n|---:|---:|---:|---|---|\n")
	for _, w := range v.Waves {
		c.row(fmt.Sprintf("| %d | %d | %d | %s | %s |\n", w.Number, len(w.Integrations), w.Failed, w.Status, waveHealth(w)))
	}
	b.WriteString("\n")
}

// waveHealth is the health column of a wave: what was checked, and the first problems found.
func waveHealth(w resultWave) string {
	health := "—"
	switch {
	case len(w.Health) > 0 && w.ErrorsKnown:
		health = "values, status, integration errors"
	case len(w.Health) > 0:
		health = "values, status (the server does not report integration errors)"
	}
	var bad []string
	for _, h := range w.Health {
		if !h.Healthy {
			bad = append(bad, mdCode(h.ID, true)+": "+mdText(strings.Join(h.Problems, "; ")))
		}
	}
	if len(bad) > 0 {
		health += "; " + strings.Join(bad[:min(len(bad), 5)], "; ")
		if len(bad) > 5 {
			health += fmt.Sprintf("; and %d more", len(bad)-5)
		}
	}
	return health
}

// summaryNotRestored names the changed options backup.csv cannot restore, for summary.md.
func summaryNotRestored(v *Results) []string {
	var out []string
	for in, o := range v.options() {
		if o.NotRestored != "" {
			out = append(out, mdCode(in.ID, true)+" "+mdCode(o.Key, true)+": "+mdText(o.NotRestored))
		}
	}
	return out
}

// summaryFiles says what failed.csv and backup.csv are for, when they hold anything, and
// which changed options backup.csv cannot restore (at most five named, then counted).
func summaryFiles(ints bulk.Tally, notRestored []string) string {
	var parts []string
	switch {
	case ints.RolledBack > 0:
		parts = append(parts, "`failed.csv` holds the failed, not-attempted and rolled-back rows in the input format: fix them and apply it.")
	case ints.Failed+ints.NotAttempted > 0:
		parts = append(parts, "`failed.csv` holds the failed and not-attempted rows in the input format: fix them and apply it.")
	}
	switch n := len(notRestored); {
	case ints.Applied > 0 && n == 0:
		parts = append(parts, "`backup.csv` rolls back what was applied.")
	case ints.Applied > 0:
		named := notRestored[:min(n, 5)]
		more := ""
		if n > 5 {
			more = fmt.Sprintf("; and %d more (see results.json, not_restored)", n-5)
		}
		parts = append(parts, fmt.Sprintf("`backup.csv` rolls back what was applied except the value of %d changed %s, which it cannot restore (set %s by hand): %s%s.",
			n, bulk.Plural(n, "option", "options"), bulk.Plural(n, "it", "them"), strings.Join(named, "; "), more))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ") + "\n"
}
