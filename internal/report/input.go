package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// lineRecord is a record of the input format with the line it sorts by.
type lineRecord struct {
	line int
	rec  sheet.Record
}

func writeRecords(w io.Writer, recs []lineRecord) error {
	slices.SortStableFunc(recs, func(a, b lineRecord) int { return cmp.Compare(a.line, b.line) })
	out := make([]sheet.Record, len(recs))
	for i, r := range recs {
		out[i] = r.rec
	}
	return sheet.Write(w, out)
}

// FailedCSV writes failed.csv: every failed, not-attempted or rolled-back option as a row of
// the input format, in line order, so the file can be fixed and applied again. One row per option:
// duplicate lines that were merged are named in the comment, not repeated.
//
//   - integration_id is the resolved id; integration_name the server's name, left empty when
//     it starts like a spreadsheet formula (the id is enough, and a changed name would no
//     longer match).
//   - value is the row's cell as written: a ${NAME} reference stays a reference, json: stays
//     json:. A literal that starts like a formula is written as json: with the value the row
//     converted to (or the JSON string or number of the cell), which means the same thing.
//   - A sensitive literal (a password option's value) is never written: the value is left
//     empty and the comment says "sensitive value left out: copy it from FILE line N". Until
//     it is copied back, the row changes only the permission, or is refused as empty.
//   - permission is the row's permission as a word; a row that used admin_only/user_can_edit
//     gets the permission those flags resulted in.
//   - comment gives the line(s), the status and the error, scrubbed of secrets.
func FailedCSV(w io.Writer, v *Results) error {
	var recs []lineRecord
	for in, o := range v.options() {
		if o.Status != bulk.StatusFailed && o.Status != bulk.StatusNotAttempted && o.Status != bulk.StatusRolledBack {
			continue
		}
		c := o.change
		note := linesText(o.lines()) + ": " + string(o.Status)
		if msg := o.reason(in); msg != "" {
			note += ": " + printable(msg, 300)
		}
		value, left := failedValue(c)
		if left {
			note += "; sensitive value left out: set " + value[2:len(value)-1] + " or put the value back from " + inputName(v.Input.Path) + " " + linesText(o.lines())
		}
		recs = append(recs, inputRecord(in, c, value, requestedPermission(c), note))
	}
	return writeRecords(w, recs)
}

// inputRecord is a row of the input format for one option of an integration's outcome.
func inputRecord(in *ResultIntegration, c bulk.Change, value, perm, note string) lineRecord {
	return lineRecord{c.Line, sheet.Record{
		IntegrationID:   in.ID,
		IntegrationName: nameCell(cmp.Or(in.Name, c.Row.IntegrationName)),
		OptionKey:       neutral(c.Key),
		Value:           value,
		Permission:      perm,
		Comment:         neutral(note),
	}}
}

// failedValue is the value cell of a failed row, and whether a secret was left out. A sensitive
// literal is replaced by a ${POLARITY_SECRET_LINE_N} reference: applying the file before the
// secret is supplied then fails validation loudly instead of changing only the permission.
func failedValue(c bulk.Change) (string, bool) {
	v := c.Row.Value
	switch {
	case v.Form == bulk.ValueKeep:
		return "", false
	case v.Env != "":
		return "${" + v.Env + "}", false
	case c.Sensitive:
		return fmt.Sprintf("${POLARITY_SECRET_LINE_%d}", c.Line), true
	}
	cell := c.Row.Cell
	if cell == "" {
		cell = v.Text
		if v.Form == bulk.ValueJSON {
			cell = "json:" + v.Text
		}
	}
	if !formulaStart(cell) {
		return cell, false
	}
	// Only a literal can start like a formula (json: and ${ cells cannot): say the same
	// thing as json:.
	if v.Form == bulk.ValueLiteral && c.Send.Present() {
		return "json:" + string(compact(c.Send.Bytes())), false
	}
	if c.Kind == bulk.KindNumber && isNumber([]byte(strings.TrimSpace(cell))) {
		return "json:" + strings.TrimSpace(cell), false
	}
	return "json:" + jsonString(cell), false
}

// requestedPermission is the row's permission column as a permission word.
func requestedPermission(c bulk.Change) string {
	if f, ok := bulk.ParsePermission(c.Row.PermissionCell); ok && c.Row.PermissionCell != "" {
		return f.String()
	}
	if c.Row.Permission.Empty() {
		return ""
	}
	return c.AfterPermission.String()
}

// nameCell is an integration name for the input format: left out when a spreadsheet would
// read it as a formula, since an apostrophe would stop it matching the server's name and the
// id identifies the integration anyway.
func nameCell(name string) string {
	if formulaStart(name) {
		return ""
	}
	return name
}

// BackupCSV writes backup.csv: for every option that was changed (status applied), its
// previous value and permission as a row of the input format, in line order, so that
// applying the file rolls the change back.
//
//   - permission is always the previous permission, whether or not it changed (restoring an
//     unchanged one is a no-op, and it keeps the row from being empty).
//   - value is the previous value (Change.Current) when the value changed, written as a plain
//     cell when that reads back as exactly the same value by the option kind's rules (a
//     string; true/false; a non-negative number; a select's choice value; a multiple
//     select's choice values joined with ";"), otherwise as json:<the server's JSON>. Strings
//     that are empty, start like a formula, have surrounding space or control characters,
//     start with json: or hold "${" always take the json: form.
//   - The value is left empty, with a comment saying why, when it did not change, when the
//     server did not show it (it cannot be restored; set it by hand), and for sensitive
//     options unless secrets is true. With secrets true the file holds secrets: WriteDir
//     makes it mode 0600.
//   - An option whose previous permission was invalid and whose value cannot be restored is
//     left out: its row would be refused as empty and stop the whole rollback.
func BackupCSV(w io.Writer, v *Results, secrets bool) error {
	var recs []lineRecord
	for in, o := range v.options() {
		c := o.change
		if o.Status != bulk.StatusApplied || c.Action != bulk.ActionUpdate {
			continue
		}
		value, note := backupValue(c, secrets)
		perm := c.BeforePermission.String()
		if !c.BeforePermission.Valid() {
			if value == "" {
				continue
			}
			perm = ""
			note = joinNotes(note, "previous permission was invalid (admin-only and user-can-edit both true): not restored")
		}
		recs = append(recs, inputRecord(in, c, value, perm, note))
	}
	return writeRecords(w, recs)
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// backupValue is the value cell restoring a change, or an empty cell and why.
func backupValue(c bulk.Change, secrets bool) (value, note string) {
	switch {
	case !c.ValueChanges:
		return "", "value was not changed"
	case isSecret(c) && !secrets:
		return "", "sensitive value left out (--backup-secrets was not given)"
	case !c.Current.Present():
		return "", "previous value was unreadable: it cannot be restored from here"
	}
	return restoreCell(c.Kind, c.Current.Bytes()), ""
}

// restoreCell writes a value of the given kind as an input-format cell that reads back as
// exactly that value.
func restoreCell(kind bulk.Kind, raw json.RawMessage) string {
	raw = compact(raw)
	asJSON := "json:" + string(raw)
	switch kind {
	case bulk.KindText, bulk.KindPassword:
		var s string
		if json.Unmarshal(raw, &s) == nil && plainSafe(s) {
			return s
		}
	case bulk.KindBoolean:
		if s := string(raw); s == "true" || s == "false" {
			return s
		}
	case bulk.KindNumber:
		if isNumber(raw) && raw[0] != '-' {
			return string(raw)
		}
	case bulk.KindSelect:
		if s, ok := choicesCell(raw); ok {
			return s
		}
	}
	return asJSON
}

// choicesCell writes a select value as its choice value, or a multiple select's as the
// values joined with ";", when every value survives the reader's matching (exact value first,
// items split on ";" and trimmed).
func choicesCell(raw json.RawMessage) (string, bool) {
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
			return "", false // json:[] selects none; an empty cell would keep
		}
		vals := make([]string, len(items))
		for i, it := range items {
			v, ok := choiceValue(it)
			if !ok || strings.Contains(v, ";") {
				return "", false
			}
			vals[i] = v
		}
		return strings.Join(vals, ";"), true
	}
	return choiceValue(raw)
}

// choiceValue is the string value of a {"value","display"} object with nothing else in it.
func choiceValue(raw json.RawMessage) (string, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "", false
	}
	for k := range obj {
		if k != "value" && k != "display" {
			return "", false
		}
	}
	var s string
	if json.Unmarshal(obj["value"], &s) != nil || !plainSafe(s) {
		return "", false
	}
	return s, true
}

// plainSafe reports whether a string reads back as itself from a plain value cell: not empty
// (that keeps the current value), no surrounding space, no control characters but line
// breaks and tabs (a CSV reader turns CR LF into LF), not starting like a formula or json:,
// and holding no "${" (a ${NAME} reference, or text the reader warns about).
func plainSafe(s string) bool {
	switch {
	case s == "", strings.TrimSpace(s) != s, formulaStart(s):
		return false
	case strings.HasPrefix(strings.ToLower(s), "json:"):
		return false
	case strings.Contains(s, "${"):
		// Alone it would be read as a reference; inside other text the reader warns.
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r == '\uFFFD'
	}) < 0
}

// isNumber reports whether raw is one JSON number.
func isNumber(raw []byte) bool {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal(raw, &n) == nil
}

// jsonString is s as a JSON string, without HTML escapes.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// compact drops insignificant space from JSON, or returns it as it is when it is not JSON.
func compact(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
