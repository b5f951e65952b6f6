package sheet

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// validate checks one row gocsv mapped, and keeps it when it is valid. Problems about the value
// cell never quote it: it may be a password.
func (rd *reader) validate(rec *record, p *pos) {
	rd.scratch = rd.scratch[:0]
	rd.valid(rec, p)
	// A multi-line row's problems are found column by column; report them line by line.
	slices.SortStableFunc(rd.scratch, func(a, b bulk.Problem) int { return a.Line - b.Line })
	for _, pr := range rd.scratch {
		rd.add(pr)
	}
}

// problem notes a problem of the current row in column c (-1: the row's).
func (rd *reader) problem(p *pos, c int, warning bool, msg string) {
	line, column := p.line, ""
	if c >= 0 {
		column = columns[c]
		if l := p.lines[c]; l > 0 { // 0: the column is absent, which the header reports
			line = l
		}
	}
	rd.scratch = append(rd.scratch, bulk.Problem{
		File: rd.file, Line: line, Column: column, Msg: msg, Warning: warning,
	})
}

// valid checks a row cell by cell, then as a whole, and keeps it when nothing but warnings
// was found.
func (rd *reader) valid(rec *record, p *pos) {
	n := len(rd.scratch)
	if rd.headerOK && *rec == (record{}) {
		// Only the comment (the all-empty rows never get here): one problem, not three.
		rd.problem(p, -1, false, "row has only a comment: fill in the change it describes, or "+
			"delete the row")
		return
	}
	row := rd.target(rec, p)
	rd.permission(rec, p, &row)
	row.Value = rd.value(p, rec.Value)
	if !rd.headerOK {
		return
	}
	// The whole-row checks, skipped when the header is wrong: they would mostly echo it.
	rd.whole(rec, p, &row)
	for _, pr := range rd.scratch[n:] {
		if !pr.Warning {
			return
		}
	}
	rd.keep(&row, p)
}

// target reads the cells that say which option the row changes, and checks their syntax.
func (rd *reader) target(rec *record, p *pos) bulk.Row {
	var row bulk.Row
	row.Line = p.line
	row.IntegrationID = rec.IntegrationID
	// Names are matched ignoring case and the spaces a spreadsheet leaves around them; a blank
	// name is no name.
	row.IntegrationName = strings.TrimSpace(rec.IntegrationName)
	row.Key = rec.OptionKey
	row.Cell = rec.Value

	switch id := row.IntegrationID; {
	case bulk.IsPattern(id):
		rd.pattern(p, cID, id, false)
	case id != "":
		if id != rd.lastID {
			rd.lastID, rd.lastIDMsg = id, idProblem(id)
		}
		if rd.lastIDMsg != "" {
			rd.problem(p, cID, false, rd.lastIDMsg)
		}
	}
	if bulk.IsPattern(row.IntegrationName) {
		rd.pattern(p, cName, row.IntegrationName, true)
	}
	switch key := row.Key; {
	case bulk.IsPattern(key):
		rd.pattern(p, cKey, key, false)
	case key != "":
		if msg := keyProblem(key); msg != "" {
			rd.problem(p, cKey, false, msg)
		}
	}
	row.OptionKind = rd.kind(p, rec.OptionKind)
	return row
}

// pattern checks the syntax of a selector cell (SPEC.md section 2, "Selector rows"), so that
// validate finds a broken glob or regular expression offline, with where it is in the cell.
func (rd *reader) pattern(p *pos, c int, cell string, fold bool) {
	if c != cName && strings.TrimSpace(cell) != cell {
		// Ids and keys hold no spaces: a pattern with them would match nothing.
		rd.problem(p, c, false, quote(cell)+" has leading or trailing spaces: remove them")
		return
	}
	if _, err := bulk.ParsePattern(cell, fold); err != nil {
		rd.problem(p, c, false, quote(cell)+": "+err.Error())
	}
}

// kind reads the option_kind cell; empty means any kind.
func (rd *reader) kind(p *pos, cell string) bulk.Kind {
	if strings.TrimSpace(cell) == "" {
		return ""
	}
	k, ok := bulk.ParseOptionKind(cell)
	if !ok {
		kinds := make([]string, len(bulk.OptionKinds))
		for i, k := range bulk.OptionKinds {
			kinds[i] = string(k)
		}
		rd.problem(p, cKind, false, "unknown option kind "+quote(cell)+": "+rd.didYouMean(cell, kinds)+
			"use text, password, boolean, number, select or multiselect (a select of several choices), "+
			"or leave it empty for any kind")
	}
	return k
}

// permWords are the permission words a misspelled one is compared with.
var permWords = []string{bulk.PermLockHide, bulk.PermLockShow, bulk.PermUserProvides}

// didYouMean is "did you mean x? " for a misspelled word of a closed list, or "". Once
// MaxProblems are recorded the problem is only counted, so no suggestion is looked for.
func (rd *reader) didYouMean(word string, candidates []string) string {
	if len(rd.problems) >= MaxProblems {
		return ""
	}
	if s := bulk.DidYouMean(word, candidates, func(s string) string { return s }); s != "" {
		return s + " "
	}
	return ""
}

// permission reads the permission word, or the two flag columns, not both.
func (rd *reader) permission(rec *record, p *pos, row *bulk.Row) {
	permCell := strings.TrimSpace(rec.Permission)
	aoCell := strings.TrimSpace(rec.AdminOnly)
	uceCell := strings.TrimSpace(rec.UserCanEdit)
	if permCell == "" {
		row.Permission.AdminOnly = rd.flag(p, cAdminOnly, aoCell)
		row.Permission.UserCanEdit = rd.flag(p, cUserCanEdit, uceCell)
		if row.Permission.AdminOnly.Value && row.Permission.UserCanEdit.Value {
			rd.problem(p, cAdminOnly, false, "admin_only and user_can_edit are both true, which the "+
				"server refuses: set user_can_edit to false to lock and hide the option (lock-hide), "+
				"or admin_only to false to let users provide it (user-provides)")
		}
		return
	}
	if f, ok := parsePermission(permCell); ok {
		row.Permission.AdminOnly = bulk.Bool{Set: true, Value: f.AdminOnly}
		row.Permission.UserCanEdit = bulk.Bool{Set: true, Value: f.UserCanEdit}
		row.PermissionCell = rec.Permission
	} else {
		rd.problem(p, cPerm, false, "unknown permission "+quote(rec.Permission)+": "+
			rd.didYouMean(permCell, permWords)+"use lock-hide, lock-show or user-provides")
	}
	if aoCell != "" || uceCell != "" {
		rd.problem(p, cPerm, false, "row uses both permission and admin_only/user_can_edit: "+
			"use one or the other")
	}
}

// whole checks what a row needs as a whole: an integration, an option, and a change.
func (rd *reader) whole(rec *record, p *pos, row *bulk.Row) {
	if row.IntegrationID == "" && row.IntegrationName == "" {
		rd.problem(p, -1, false, "row has neither integration_id nor integration_name: "+
			"fill in one of them")
	}
	if row.Key == "" {
		rd.problem(p, cKey, false, "missing: every row names the option it changes, e.g. apiKey")
	}
	if rec.Value == "" && strings.TrimSpace(rec.Permission) == "" &&
		strings.TrimSpace(rec.AdminOnly) == "" && strings.TrimSpace(rec.UserCanEdit) == "" {
		rd.problem(p, -1, false, "row changes nothing: fill in "+rd.changeColumns()+
			", or delete the row")
	}
}

// keep stores a valid row, unless it repeats an earlier row's option: the same change is
// merged with a warning, a different one is a problem naming both lines.
func (rd *reader) keep(row *bulk.Row, p *pos) {
	if rd.full {
		return
	}
	if rd.rows.len() >= rd.maxRows {
		// The file is refused: let go of what was kept, and stop reading.
		rd.full = true
		rd.rows, rd.seen = rowStore{}, nil
		rd.problem(p, -1, false, fmt.Sprintf("more than %s rows: reading stopped here; split the file "+
			"into files of at most %[1]s rows (the limit keeps memory bounded)", thousands(rd.maxRows)))
		return
	}
	if row.Selector() {
		// Which options a selector reaches is known only against the server: the planner
		// settles rows that reach the same option, by precedence.
		rd.rows.add(row)
		return
	}
	i, dup := rd.seen.first(row, rd.rows.len(), &rd.rows)
	if !dup {
		rd.rows.add(row)
		return
	}
	first := rd.rows.at(i).row()
	what := "option " + quote(row.Key) + " of integration " + quote(first.Ref())
	if same(&first, row) {
		rd.rows.merge(i, row.Line)
		rd.problem(p, -1, true, fmt.Sprintf("lines %d and %d make the same change to %s: merged "+
			"into one row (delete one to silence this warning)", first.Line, row.Line, what))
		return
	}
	rd.problem(p, -1, false, fmt.Sprintf("lines %d and %d both set %s, differently: keep one of them",
		first.Line, row.Line, what))
}

// flag reads an admin_only or user_can_edit cell (trimmed); empty keeps the current setting.
func (rd *reader) flag(p *pos, c int, cell string) bulk.Bool {
	if cell == "" {
		return bulk.Bool{}
	}
	v, ok := bulk.ParseBool(cell)
	if !ok {
		rd.problem(p, c, false, quote(cell)+" is not a boolean: use true or false (yes/no, 1/0 and "+
			"on/off work too), or leave it empty to keep the current setting")
		return bulk.Bool{}
	}
	return bulk.Bool{Set: true, Value: v}
}

// same reports whether two rows for the same option ask for the same thing. A row that names
// the integration by id alone and one that adds its name agree; two different names do not
// (one of them must be wrong).
func same(a, b *bulk.Row) bool {
	names := a.IntegrationName == "" || b.IntegrationName == "" ||
		strings.EqualFold(a.IntegrationName, b.IntegrationName)
	return a.Value == b.Value && a.Permission == b.Permission && a.OptionKind == b.OptionKind && names
}

// changeColumns names the header's columns that can change something, for "row changes nothing".
func (rd *reader) changeColumns() string {
	var have []string
	for _, c := range []int{cValue, cPerm, cAdminOnly, cUserCanEdit} {
		if rd.col[c] >= 0 {
			have = append(have, columns[c])
		}
	}
	switch len(have) {
	case 1:
		return have[0]
	case 2:
		return have[0] + " or " + have[1]
	}
	return strings.Join(have[:len(have)-1], ", ") + " or " + have[len(have)-1]
}

// idProblem checks an integration id's syntax: letters, digits and underscores.
func idProblem(id string) string {
	if strings.TrimSpace(id) != id {
		return quote(id) + " has leading or trailing spaces: remove them"
	}
	for _, r := range id {
		if r == '-' {
			return quote(id) + " contains a dash, which integration ids never do: was an option id " +
				"(integration id, dash, key) or a name pasted here? give the id alone, or use " +
				"the integration_name column"
		}
	}
	for _, r := range id {
		if !isWordChar(r) {
			return quote(id) + " is not an integration id: ids hold only letters, digits and " +
				"underscores (display names go in the integration_name column)"
		}
	}
	return ""
}

// keyProblem checks an option key: matched exactly, so no surrounding space and no control
// characters.
func keyProblem(key string) string {
	if strings.TrimSpace(key) != key {
		return quote(key) + " has leading or trailing spaces: remove them (keys are matched " +
			"exactly, case-sensitively)"
	}
	for _, r := range key {
		if r < ' ' || r == 0x7f {
			return quote(key) + " contains a line break or control character: option keys are " +
				"single words such as apiKey"
		}
	}
	return ""
}

func isWordChar(r rune) bool {
	return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// isEnvName reports whether s is a valid environment variable name.
func isEnvName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !isWordChar(r) {
			return false
		}
	}
	return true
}

// parsePermission is bulk.ParsePermission with a fast path for the usual words, which it would
// lowercase into a new string on every row.
func parsePermission(s string) (bulk.Permission, bool) {
	switch s {
	case bulk.PermLockHide:
		return bulk.Permission{AdminOnly: true}, true
	case bulk.PermLockShow:
		return bulk.Permission{}, true
	case bulk.PermUserProvides:
		return bulk.Permission{UserCanEdit: true}, true
	}
	return bulk.ParsePermission(s)
}

// value reads a value cell. Its problems never quote the cell: it may be a secret.
func (rd *reader) value(p *pos, cell string) bulk.Value {
	switch {
	case cell == "":
		return bulk.Value{Form: bulk.ValueKeep}

	case strings.HasPrefix(cell, "${") && strings.HasSuffix(cell, "}") &&
		strings.IndexByte(cell, '}') == len(cell)-1:
		name := cell[2 : len(cell)-1]
		if !isEnvName(name) {
			// Not quoted: a cell that is not a valid reference could be a secret after all.
			rd.problem(p, cValue, false, "the ${...} reference does not name a valid environment "+
				"variable: names hold only letters, digits and underscores and do not start with a digit")
			return bulk.Value{}
		}
		v, ok := rd.env(name)
		switch {
		case !ok:
			rd.problem(p, cValue, false, "environment variable "+name+" is not set: set it before "+
				"running (export "+name+"=...), or in CI add it to the job's environment")
			return bulk.Value{}
		case v == "":
			rd.problem(p, cValue, false, "environment variable "+name+" is set but empty: set it to "+
				`the value, or write json:"" in the cell to set an empty value on purpose`)
			return bulk.Value{}
		}
		return bulk.Value{Form: bulk.ValueLiteral, Text: v, Env: name}

	case strings.HasPrefix(cell, "json:"):
		text := cell[len("json:"):]
		if !json.Valid([]byte(text)) {
			// The decoder's message quotes the offending character: only its offset is given.
			var se *json.SyntaxError
			at := ""
			if err := json.Unmarshal([]byte(text), new(any)); errors.As(err, &se) {
				at = fmt.Sprintf(" (syntax error near byte %d of the JSON)", se.Offset)
			}
			rd.problem(p, cValue, false, `not valid JSON after "json:"`+at+`: check quotes, commas `+
				`and brackets; a JSON string needs double quotes, e.g. json:"text"`)
			return bulk.Value{}
		}
		return bulk.Value{Form: bulk.ValueJSON, Text: text}
	}
	if strings.TrimSpace(cell) == "" {
		rd.problem(p, cValue, true, "the value is only whitespace and is sent as is: clear the cell "+
			"to keep the current value")
	}
	if hasEnvRef(cell) {
		rd.problem(p, cValue, true, "the cell contains a ${NAME} reference but also other text, so "+
			"it is sent as written, without substitution: put the reference alone in the cell, or "+
			`write the value as json:"..." to silence this warning`)
	}
	return bulk.Value{Form: bulk.ValueLiteral, Text: cell}
}

// hasEnvRef reports whether s contains ${NAME} with a valid NAME.
func hasEnvRef(s string) bool {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return false
		}
		s = s[i+2:]
		if j := strings.IndexByte(s, '}'); j >= 0 && isEnvName(s[:j]) {
			return true
		}
	}
}

// thousands writes n with thousands separators, as problems show large counts.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
