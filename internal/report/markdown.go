package report

import (
	"fmt"
	"io"
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

// note says what was left out, in place of the rows.
func (c *capped) note(what string) {
	if !c.cut {
		return
	}
	c.b.WriteString("\n> [!NOTE]\n> This summary is cut to fit a comment: " + itoa(c.left) + " " + bulk.Plural(c.left, "more row", "more rows") +
		" not shown. " + what + "\n")
}

// PlanMarkdown writes plan.md: the plan as a pull-request comment or a GitHub step summary.
// Totals and the not-running warning come first, then one table row per option to update and
// a collapsed list of unchanged options, then the warnings. It never exceeds MarkdownLimit
// bytes: rows that do not fit are left out with a note saying how many. Values are shown in
// code spans (so no value is read as Markdown, HTML or a mention) and secrets as
// "(sensitive)".
func PlanMarkdown(w io.Writer, m PlanMeta, p bulk.Plan) error {
	x := newRedactor(p, nil)
	n := p.Count()
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

	var stopped []string
	for _, t := range p.Targets {
		if !t.Running && t.Updates() {
			stopped = append(stopped, mdCode(t.ID, false))
		}
	}
	if len(stopped) > 0 {
		const show = 20
		list := strings.Join(stopped[:min(len(stopped), show)], ", ")
		if len(stopped) > show {
			list += fmt.Sprintf(" and %d more", len(stopped)-show)
		}
		b.WriteString("> [!WARNING]\n> " + itoa(len(stopped)) + " " + bulk.Plural(len(stopped), "integration", "integrations") + " with changes " + bulk.Plural(len(stopped), "is", "are") +
			" not running: the server will refuse these changes: " + list + "\n\n")
	}
	b.WriteString(planMetaLine(m) + "\n\n")

	if n.Updates > 0 {
		c.add("| integration | option | change | line |\n|---|---|---|---|\n")
		for _, t := range p.Targets {
			first := true
			for _, ch := range t.Changes {
				if ch.Action != bulk.ActionUpdate {
					continue
				}
				who := ""
				if first {
					who = mdTarget(t.ID, t.Name)
					if !t.Running {
						who += " **not running**"
					}
					first = false
				}
				c.row("| " + who + " | " + mdCode(ch.Key, true) + " | " + mdChange(ch) + " | " + mdLines(ch) + overText(ch) + " |\n")
			}
		}
	}

	if n.Unchanged > 0 {
		var ints int
		for _, t := range p.Targets {
			for _, ch := range t.Changes {
				if ch.Action != bulk.ActionUpdate {
					ints++
					break
				}
			}
		}
		opened := c.add("\n<details><summary>" + itoa(n.Unchanged) + " " + bulk.Plural(n.Unchanged, "option", "options") + " unchanged in " + itoa(ints) + " " + bulk.Plural(ints, "integration", "integrations") +
			"</summary>\n\n| integration | options |\n|---|---|\n")
		for _, t := range p.Targets {
			var keys []string
			for _, ch := range t.Changes {
				if ch.Action != bulk.ActionUpdate {
					keys = append(keys, mdCode(ch.Key, true)+" ("+mdLines(ch)+")")
				}
			}
			if len(keys) > 0 {
				c.row("| " + mdTarget(t.ID, t.Name) + " | " + strings.Join(keys, ", ") + " |\n")
			}
		}
		if opened && !c.add("\n</details>\n") {
			// An opened <details> is closed even when cut; noteRoom leaves space for it.
			b.WriteString("\n</details>\n")
		}
	}

	if ws := x.warnings(p.Warnings); len(ws) > 0 {
		c.add("\n#### Warnings\n\n")
		for _, warn := range ws {
			c.row("- " + mdCodeN(warn, 400, false) + "\n")
		}
	}
	c.note("The full plan is in plan.json and in the output of `polarity-bulk plan`.")
	_, err := io.WriteString(w, b.String())
	return err
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
func mdChange(c bulk.Change) string {
	var parts []string
	if c.ValueChanges {
		switch {
		case isSecret(c) && c.Unreadable:
			parts = append(parts, bulk.SensitiveText+" will be set "+bulk.UnreadableText)
		case isSecret(c):
			parts = append(parts, bulk.SensitiveText+" will change")
		case c.Unreadable:
			parts = append(parts, "will be set to "+mdCode(after(c), true)+" "+bulk.UnreadableText)
		default:
			parts = append(parts, mdCode(before(c), true)+" → "+mdCode(after(c), true))
		}
	}
	if c.PermissionChanges {
		parts = append(parts, "permission "+c.BeforePermission.String()+" → "+c.AfterPermission.String())
	}
	if len(parts) == 0 {
		return "will be sent again"
	}
	return strings.Join(parts, "; ")
}

func mdLines(c bulk.Change) string {
	ls := lines(c)
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.Itoa(l)
	}
	return strings.Join(s, ", ")
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
// MarkdownLimit bytes and scrubs secrets from error text.
func SummaryMarkdown(w io.Writer, r Run) error {
	results := r.results()
	x := newRedactor(r.Plan, results)
	ints, rows := count(results)
	var c capped
	b := &c.b

	b.WriteString("### polarity-bulk apply: " + summaryTitle(ints, r.Interrupted) + "\n\n")
	b.WriteString("| | applied | unchanged | failed | not attempted | total |\n|---|---:|---:|---:|---:|---:|\n")
	for _, t := range []struct {
		name string
		t    tally
	}{{"integrations", ints}, {"rows", rows}} {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", t.name, t.t.Applied, t.t.Unchanged, t.t.Failed, t.t.NotAttempted, t.t.Total)
	}
	b.WriteString("\n")
	if r.Interrupted {
		b.WriteString("> [!CAUTION]\n> The run was interrupted: " + itoa(ints.NotAttempted) + " " + bulk.Plural(ints.NotAttempted, "integration", "integrations") + " " +
			bulk.Plural(ints.NotAttempted, "is", "are") + " not attempted. Continue with `polarity-bulk apply --resume` on this report directory.\n\n")
	}
	var unverified []string
	for _, res := range results {
		for _, o := range res.Options {
			if o.Verified == bulk.VerifyMismatch {
				unverified = append(unverified, mdCode(res.ID, false)+" "+mdCode(o.Key, false))
			}
		}
	}
	if len(unverified) > 0 {
		const show = 20
		list := strings.Join(unverified[:min(len(unverified), show)], ", ")
		if len(unverified) > show {
			list += fmt.Sprintf(" and %d more", len(unverified)-show)
		}
		b.WriteString("> [!WARNING]\n> " + itoa(len(unverified)) + " " + bulk.Plural(len(unverified), "option", "options") + " read back different from what was sent: " + list + "\n\n")
	}
	if n := unknownVerified(results); n > 0 {
		b.WriteString("> [!NOTE]\n> " + itoa(n) + " " + bulk.Plural(n, "option", "options") + " could not be verified: the server does not show " +
			"the value (a masked password), so only the permission was read back; check that the new value works.\n\n")
	}
	b.WriteString(runMetaLine(r) + "\n\n")
	summaryStaging(&c, x, r, results)
	b.WriteString(summaryFiles(ints))

	section := func(status bulk.Status, heading string, collapsed bool) {
		var sel []bulk.Result
		for _, res := range results {
			if res.Status == status {
				sel = append(sel, res)
			}
		}
		if len(sel) == 0 {
			return
		}
		head := "\n#### " + heading + " (" + strconv.Itoa(len(sel)) + ")\n\n"
		if collapsed {
			head = "\n<details><summary>" + heading + " (" + strconv.Itoa(len(sel)) + ")</summary>\n\n"
		}
		switch status {
		case bulk.StatusFailed, bulk.StatusNotAttempted, bulk.StatusRolledBack:
			head += "| integration | rows | HTTP | attempts | error |\n|---|---|---:|---:|---|\n"
		default:
			head += "| integration | rows | options |\n|---|---|---|\n"
		}
		opened := c.add(head)
		for _, res := range sel {
			c.row(summaryRow(x, res))
		}
		if collapsed && opened && !c.add("\n</details>\n") {
			b.WriteString("\n</details>\n")
		}
	}
	section(bulk.StatusFailed, "Failed", false)
	section(bulk.StatusRolledBack, "Rolled back", false)
	section(bulk.StatusNotAttempted, "Not attempted", false)
	section(bulk.StatusApplied, "Applied", true)
	section(bulk.StatusUnchanged, "Unchanged", true)

	if ws := x.warnings(r.Plan.Warnings); len(ws) > 0 {
		c.add("\n#### Warnings\n\n")
		for _, warn := range ws {
			c.row("- " + mdCodeN(warn, 400, false) + "\n")
		}
	}
	c.note("Every row is in results.csv and results.json.")
	_, err := io.WriteString(w, b.String())
	return err
}

func summaryTitle(ints tally, interrupted bool) string {
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

func summaryRow(x redactor, res bulk.Result) string {
	var ls []int
	var keys []string
	for _, o := range res.Options {
		ls = append(ls, lines(o.Change)...)
		k := mdCode(o.Key, true)
		if o.Verified == bulk.VerifyMismatch {
			k += " (not verified)"
		}
		keys = append(keys, k)
	}
	rows := mdLines(bulk.Change{Line: first(ls), Merged: rest(ls)})
	who := mdTarget(res.ID, res.Name)
	switch res.Status {
	case bulk.StatusFailed, bulk.StatusNotAttempted:
		http, attempts := "", ""
		if res.HTTPStatus != 0 {
			http = strconv.Itoa(res.HTTPStatus)
		}
		if res.Attempts != 0 {
			attempts = strconv.Itoa(res.Attempts)
		}
		return "| " + who + " | " + rows + " | " + http + " | " + attempts + " | " + mdError(x, res) + " |\n"
	}
	return "| " + who + " | " + rows + " | " + strings.Join(keys, ", ") + " |\n"
}

// mdError is an integration's error, or its options' errors when it has none of its own.
func mdError(x redactor, res bulk.Result) string {
	if res.Error != "" {
		return mdText(printable(x.text(res.Error), mdValueLimit*3))
	}
	var parts []string
	for _, o := range res.Options {
		if o.Error != "" {
			parts = append(parts, mdCode(o.Key, true)+": "+mdText(printable(x.text(o.Error), mdValueLimit)))
		}
	}
	return strings.Join(parts, "; ")
}

func first(ls []int) int {
	if len(ls) == 0 {
		return 0
	}
	return ls[0]
}

func rest(ls []int) []int {
	if len(ls) == 0 {
		return nil
	}
	return ls[1:]
}

func runMetaLine(r Run) string {
	parts := []string{}
	if r.Server != "" {
		parts = append(parts, "server "+mdCode(r.Server, false))
	}
	in := "input " + mdCode(inputName(r.Input), false)
	if r.SHA256 != "" {
		in += " (sha256 " + mdCode(short(r.SHA256), false) + ")"
	}
	parts = append(parts, in)
	if !r.Started.IsZero() {
		s := "started " + r.Started.UTC().Format(time.DateTime) + " UTC"
		if !r.Finished.IsZero() {
			s += ", took " + r.Finished.Sub(r.Started).Round(time.Millisecond).String()
		}
		parts = append(parts, s)
	}
	if r.Tool != "" {
		parts = append(parts, mdText(r.Tool))
	}
	return "<sub>" + strings.Join(parts, " · ") + "</sub>"
}

// unknownVerified counts the options whose new value could not be read back.
func unknownVerified(results []bulk.Result) int {
	n := 0
	for _, res := range results {
		for _, o := range res.Options {
			if o.Verified == bulk.VerifyUnknown {
				n++
			}
		}
	}
	return n
}

// summaryStaging writes what a staged run adds to the summary: why it stopped, a table of its
// waves, and for a rollback the options it could not restore, by name.
func summaryStaging(c *capped, x redactor, r Run, results []bulk.Result) {
	if len(r.Waves) == 0 {
		return
	}
	b := &c.b
	if r.Stopped != "" {
		b.WriteString("> [!CAUTION]\n> " + mdText(x.text(r.Stopped)) + ": the later waves were not started.\n\n")
	}
	var lost []string
	for _, res := range results {
		for _, o := range res.Options {
			if o.Rollback != "" {
				lost = append(lost, mdCode(res.ID, false)+" "+mdCode(o.Key, false)+": "+mdText(x.text(o.Rollback)))
			}
		}
	}
	if r.RolledBack {
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
	for _, w := range r.Waves {
		health := "—"
		switch {
		case len(w.Health) > 0 && w.ErrorsKnown:
			health = "values, status, integration errors"
		case len(w.Health) > 0:
			health = "values, status (the server does not report integration errors)"
		}
		var bad []string
		for _, h := range w.Health {
			if !h.OK() {
				bad = append(bad, mdCode(h.ID, true)+": "+mdText(x.text(strings.Join(h.Problems, "; "))))
			}
		}
		if len(bad) > 0 {
			health += "; " + strings.Join(bad[:min(len(bad), 5)], "; ")
			if len(bad) > 5 {
				health += fmt.Sprintf("; and %d more", len(bad)-5)
			}
		}
		c.row(fmt.Sprintf("| %d | %d | %d | %s | %s |\n", w.Number, len(w.IDs), w.Failed, w.Status, health))
	}
	b.WriteString("\n")
}

// summaryFiles says what failed.csv and backup.csv are for, when they hold anything.
func summaryFiles(ints tally) string {
	var parts []string
	switch {
	case ints.RolledBack > 0:
		parts = append(parts, "`failed.csv` holds the failed, not-attempted and rolled-back rows in the input format: fix them and apply it.")
	case ints.Failed+ints.NotAttempted > 0:
		parts = append(parts, "`failed.csv` holds the failed and not-attempted rows in the input format: fix them and apply it.")
	}
	if ints.Applied > 0 {
		parts = append(parts, "`backup.csv` rolls back what was applied.")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ") + "\n"
}
