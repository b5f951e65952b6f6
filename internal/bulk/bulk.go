// Package bulk holds the domain types of polarity-bulk: the validated rows of a CSV file, the
// integrations and options read from a server, the plan that joins them and the results of
// applying it. It does no I/O; every other package speaks in these types.
package bulk

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Kind is an option's kind as the server names it.
type Kind string

// The option kinds Polarity knows.
const (
	KindText     Kind = "text"
	KindPassword Kind = "password"
	KindBoolean  Kind = "boolean"
	KindNumber   Kind = "number"
	KindSelect   Kind = "select"
)

// KindMultiselect is the option_kind column's word for a select with multiple true: the
// server calls both "select", but their values are written differently.
const KindMultiselect Kind = "multiselect"

// OptionKinds are the words of the option_kind column, in the order problems list them.
var OptionKinds = []Kind{KindText, KindPassword, KindBoolean, KindNumber, KindSelect, KindMultiselect}

// ParseOptionKind reads an option_kind cell: one of OptionKinds, any case, surrounding space
// ignored.
func ParseOptionKind(s string) (Kind, bool) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range OptionKinds {
		if k == known {
			return k, true
		}
	}
	return "", false
}

// Permission is an option's permission as the API stores it. AdminOnly and UserCanEdit both true is
// invalid and must never be sent.
type Permission struct {
	AdminOnly   bool `json:"admin-only"`
	UserCanEdit bool `json:"user-can-edit"`
}

// Valid reports whether the pair is one the server accepts.
func (f Permission) Valid() bool { return !(f.AdminOnly && f.UserCanEdit) }

// String names the pair the way the CSV does: lock-hide, lock-show, user-provides, or
// "invalid".
func (f Permission) String() string {
	switch {
	case f.AdminOnly && !f.UserCanEdit:
		return PermLockHide
	case !f.AdminOnly && !f.UserCanEdit:
		return PermLockShow
	case !f.AdminOnly && f.UserCanEdit:
		return PermUserProvides
	}
	return "invalid"
}

// The permission words of the CSV's permission column.
const (
	PermLockHide     = "lock-hide"
	PermLockShow     = "lock-show"
	PermUserProvides = "user-provides"
)

// ParsePermission maps a permission word, or the web UI's phrase for it, to its flags. Case and
// surrounding space are ignored.
func ParsePermission(s string) (Permission, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case PermLockHide, "lock and hide option for all users":
		return Permission{AdminOnly: true}, true
	case PermLockShow, "lock and show option for all users":
		return Permission{}, true
	case PermUserProvides, "user provides option value":
		return Permission{UserCanEdit: true}, true
	}
	return Permission{}, false
}

// Bool is a flag a row may set or leave alone.
type Bool struct {
	Set   bool // false: keep the server's current value
	Value bool
}

// ParseBool reads a boolean the way the CSV writes one: true/false, yes/no, 1/0 or on/off, in
// any case, surrounding space ignored. It is the one reading of the admin_only and
// user_can_edit cells and of values of boolean options.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on":
		return true, true
	case "false", "no", "0", "off":
		return false, true
	}
	return false, false
}

// PermissionEdit is what a row asks of an option's permission flags; unset flags keep the server's
// current value.
type PermissionEdit struct {
	AdminOnly   Bool
	UserCanEdit Bool
}

// Empty reports whether the row leaves both flags alone.
func (p PermissionEdit) Empty() bool { return !p.AdminOnly.Set && !p.UserCanEdit.Set }

// Apply returns the flags that result from applying p on top of cur.
func (p PermissionEdit) Apply(cur Permission) Permission {
	if p.AdminOnly.Set {
		cur.AdminOnly = p.AdminOnly.Value
	}
	if p.UserCanEdit.Set {
		cur.UserCanEdit = p.UserCanEdit.Value
	}
	return cur
}

// ValueForm says how a row's value cell is to be read.
type ValueForm int

// The forms of a value cell.
const (
	ValueKeep    ValueForm = iota // empty cell: keep the current value
	ValueLiteral                  // text, converted by the option's kind
	ValueJSON                     // json:<JSON>, sent as is after a type check
)

// Value is a row's requested value. Text holds the literal text or the JSON text, after
// ${NAME} substitution, and may be a secret: Value never prints it.
type Value struct {
	Form ValueForm
	Text string
	// Env is the variable name of a ${NAME} cell; such values are sensitive whatever the kind.
	Env string
}

// String masks the value: it is what fmt prints for a Value, so a stray %v cannot leak it.
func (v Value) String() string {
	switch {
	case v.Form == ValueKeep:
		return "(keep)"
	case v.Env != "":
		return "${" + v.Env + "}"
	}
	return "(value)"
}

// GoString masks the value for %#v too.
func (v Value) GoString() string { return "bulk.Value{" + v.String() + "}" }

// Row is one validated CSV row.
type Row struct {
	Line            int    // physical line of the row's first field in the file
	IntegrationID   string // exact id, or empty when only the name is given
	IntegrationName string // as written; matched case-insensitively
	Key             string
	Value           Value
	Permission      PermissionEdit
	// Cell is the value cell as written (a ${NAME} reference stays a reference), for reports in
	// the input format. It is a secret when the option is a password.
	Cell string
	// PermissionCell is the permission column as written, empty when the row uses the flag columns.
	PermissionCell string
	// Merged lists the lines of identical rows merged into this one.
	Merged []int
	// OptionKind is the option_kind cell (one of OptionKinds), empty for any kind: it narrows a
	// selector row and asserts the option's kind on an exact row.
	OptionKind Kind
}

// Selector reports whether the row is a selector row, which may reach many options: its
// integration or its option_key is a pattern (see IsPattern).
func (r Row) Selector() bool {
	return !r.ExactIntegration() || IsPattern(r.Key)
}

// ExactIntegration reports whether the row names its integration exactly: by an id that is
// no pattern, or, without an id, by a name that is no pattern. A name pattern beside an exact
// id only guards the id, as an exact name does.
func (r Row) ExactIntegration() bool {
	if r.IntegrationID != "" {
		return !IsPattern(r.IntegrationID)
	}
	return !IsPattern(r.IntegrationName)
}

// Ref names the row's integration for people: the id when given, else the name.
func (r Row) Ref() string {
	if r.IntegrationID != "" {
		return r.IntegrationID
	}
	return r.IntegrationName
}

// Choice is one choice of a select option. Value is kept as the server's JSON (almost always a
// string) so it is sent back exactly as the server has it.
type Choice struct {
	Value   json.RawMessage `json:"value"`
	Display string          `json:"display"`
}

// ValueText is the choice's value as a CSV cell writes it: the string itself, or the JSON text
// of a non-string value.
func (c Choice) ValueText() string {
	var s string
	if json.Unmarshal(c.Value, &s) == nil {
		return s
	}
	return string(c.Value)
}

// Option is one option of an integration as read from the server.
type Option struct {
	Key      string
	Name     string
	Kind     Kind
	Multiple bool
	Choices  []Choice
	// Value is the current value as the server sent it; meaningless unless Readable.
	Value json.RawMessage
	// Readable is false when the server masked or left out the value (password options).
	Readable   bool
	Permission Permission
	// HoldsCredential says the server's value holds a credential polarity-bulk authenticates
	// with (written there by mistake, or by a server that echoes): it is treated as a secret.
	HoldsCredential bool
}

// KnownKind reports whether polarity-bulk knows the kind: text, password, boolean, number or
// select.
func KnownKind(k Kind) bool {
	switch k {
	case KindText, KindPassword, KindBoolean, KindNumber, KindSelect:
		return true
	}
	return false
}

// Sensitive reports whether the option's values are secrets: a password; an option whose kind
// is missing or unknown (it fails closed: "secret" or "apiKey" may be a password under another
// name); an option whose value holds a credential of the tool.
func (o Option) Sensitive() bool {
	return o.Kind == KindPassword || !KnownKind(o.Kind) || o.HoldsCredential
}

// ColumnKind is the option's kind as the option_kind column names it: multiselect for a select
// with multiple true, else its kind.
func (o Option) ColumnKind() Kind {
	if o.Kind == KindSelect && o.Multiple {
		return KindMultiselect
	}
	return o.Kind
}

// Integration is one integration as read from the server.
type Integration struct {
	ID      string
	Name    string
	Acronym string
	Status  string
	Options []Option
}

// Running reports whether the server will accept option changes for the integration.
func (i Integration) Running() bool { return i.Status == "running" }

// Option returns the option with the given key (case-sensitive).
func (i Integration) Option(key string) (Option, bool) {
	for _, o := range i.Options {
		if o.Key == key {
			return o, true
		}
	}
	return Option{}, false
}

// OptionID is the API's id of an option: the integration id, a dash, and the key. Integration
// ids hold no dash, so the first dash splits it again.
func OptionID(integrationID, key string) string { return integrationID + "-" + key }

// SplitOptionID splits an option id at its first dash.
func SplitOptionID(id string) (integrationID, key string, ok bool) {
	return strings.Cut(id, "-")
}

// Problem is one thing wrong with the input, reported as FILE:LINE: column: message.
type Problem struct {
	File    string
	Line    int    // 0 when the problem is the file's
	Column  string // empty when the problem is the row's or the file's
	Msg     string
	Warning bool // merged duplicates and the like: reported, not fatal
	// Omitted is set on the problem that closes a capped list ("... and N more problems not
	// shown"): how many fatal problems it stands for.
	Omitted int
}

// Error formats the problem the way editors and CI annotations read it.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Column != "" {
		b.WriteString(p.Column + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one input, returned as one error so that all of them are
// reported at once.
type Problems []Problem

// Error lists every problem, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Cap keeps the first max problems and closes the list with one that counts the rest, so that
// a garbage input gives a readable screen, not one line per row. The closing problem is fatal
// when any problem it stands for is.
func (ps Problems) Cap(file string, max int) Problems {
	if len(ps) <= max {
		return ps
	}
	rest := ps[max:]
	fatal := len(rest.Fatal())
	return append(ps[:max:max], Problem{
		File:    file,
		Msg:     fmt.Sprintf("... and %d more problems not shown", len(rest)),
		Warning: fatal == 0,
		Omitted: fatal,
	})
}

// Count is the number of fatal problems, those a capped list left out included.
func (ps Problems) Count() int {
	n := 0
	for _, p := range ps {
		switch {
		case p.Omitted > 0:
			n += p.Omitted
		case !p.Warning:
			n++
		}
	}
	return n
}

// Fatal returns the problems that are not warnings.
func (ps Problems) Fatal() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Plural picks the word for n things: Plural(1, "row", "rows") is "row", Plural(2, "row",
// "rows") is "rows". It is the one plural helper of every message, report and probe.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
