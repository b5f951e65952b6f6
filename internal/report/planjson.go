package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// PlanMeta is what plan.json and plan.md record besides the plan itself.
type PlanMeta struct {
	Tool   string // tool version as `version` prints it, e.g. "v1.2.0" or "(devel)"
	Rev    string // VCS revision the tool was built from; "" when unknown
	File   string // CSV path as given; "-" is standard input
	SHA256 string // hex SHA-256 of the CSV's bytes
	// Delimiter is the CSV's separator when it is not a comma (--delimiter), so that apply
	// --plan reads the file as plan did.
	Delimiter string
	Server    string    // server base URL
	Created   time.Time // when the plan was made; written in UTC
	// ValueDigests are the keyed digests of the ${NAME} values, when the plan has any; only
	// plan.json records them.
	ValueDigests *secret.Digests
	// Shapes are the forms of the server's answers the client met while planning.
	Shapes bulk.ServerShapes
}

// PlanFile is plan.json: the reviewed plan that `apply --plan` applies. PlanJSON writes it and
// ReadPlan reads it back. It holds no secret values: before/after are masked for sensitive
// options, and no value to send is recorded (apply plans again from the CSV, whose hash must
// still match, and compares fingerprints).
type PlanFile struct {
	Format       int         `json:"format"` // Format
	Kind         string      `json:"kind"`   // "polarity-bulk plan"
	Tool         string      `json:"tool"`
	ToolRevision string      `json:"tool_revision,omitempty"`
	Created      time.Time   `json:"created"`
	Server       string      `json:"server"`
	Input        InputFile   `json:"input"`
	Totals       bulk.Counts `json:"totals"`
	Warnings     []string    `json:"warnings,omitempty"`
	// ValueDigests are keyed digests of the values of the ${NAME} cells, by line: apply --plan
	// refuses values that differ (see secret.Digests).
	ValueDigests *secret.Digests `json:"value_digests,omitempty"`
	// Selectors records, per selector row, the integrations it expanded to: apply --plan
	// refuses a plan whose selectors would expand differently now.
	Selectors    []bulk.Expansion  `json:"selectors,omitempty"`
	Integrations []PlanIntegration `json:"integrations"`
	// ServerShapes records the forms of the server's answers (where options were, their
	// resource type and kind attribute, how password values came back): no values.
	ServerShapes *bulk.ServerShapes `json:"server_shapes,omitempty"`
}

// InputFile names the CSV a plan or a run was made from.
type InputFile struct {
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	Delimiter string `json:"delimiter,omitempty"` // absent: a comma
}

// PlanIntegration is one integration of plan.json.
type PlanIntegration struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Running bool   `json:"running"`
	// Fingerprint is the planner's digest of the current state of the options the plan
	// touches; apply --plan refuses when the server's state no longer has it.
	Fingerprint string       `json:"fingerprint"`
	Options     []PlanOption `json:"options"`
}

// PlanOption is one option change of plan.json. Before and After are display strings,
// "(sensitive)" for secrets; the permissions are lock-hide, lock-show or user-provides.
type PlanOption struct {
	Line              int    `json:"line"`
	MergedLines       []int  `json:"merged_lines,omitempty"`
	OverridesLines    []int  `json:"overrides_lines,omitempty"` // lines that lost this option to Line by precedence
	Key               string `json:"option_key"`
	Kind              string `json:"kind"`
	Sensitive         bool   `json:"sensitive"`
	Action            string `json:"action"` // update or unchanged
	ValueChanges      bool   `json:"value_changes"`
	PermissionChanges bool   `json:"permission_changes"`
	CurrentUnreadable bool   `json:"current_unreadable,omitempty"`
	Before            string `json:"before"`
	After             string `json:"after"`
	PermissionBefore  string `json:"permission_before"`
	PermissionAfter   string `json:"permission_after"`
	// ValueSource says, for a masked value that changes, where the new value comes from: the
	// ${NAME} of its cell, else "line N" (a literal in the CSV). Two masked changes set the
	// same value only when it is the same, so the plan groups them only then. No value.
	ValueSource string `json:"value_source,omitempty"`
}

// Meta returns the file's metadata.
func (f PlanFile) Meta() PlanMeta {
	m := PlanMeta{Tool: f.Tool, Rev: f.ToolRevision, File: f.Input.Path, SHA256: f.Input.SHA256, Server: f.Server, Created: f.Created, ValueDigests: f.ValueDigests}
	if f.ServerShapes != nil {
		m.Shapes = *f.ServerShapes
	}
	return m
}

// NewPlanFile builds the content of plan.json from a plan: the view of the plan that every
// renderer of it reads (PlanJSON, PlanText, PlanMarkdown), built once, secrets masked and
// warnings scrubbed.
func NewPlanFile(m PlanMeta, p bulk.Plan) PlanFile {
	x := newRedactor(p, nil)
	f := PlanFile{
		Format:       Format,
		Kind:         KindPlan,
		Tool:         m.Tool,
		ToolRevision: m.Rev,
		Created:      utc(m.Created),
		Server:       m.Server,
		Input:        InputFile{Path: m.File, SHA256: m.SHA256, Delimiter: m.Delimiter},
		Totals:       p.Count(),
		Warnings:     x.warnings(p.Warnings),
		ValueDigests: m.ValueDigests,
		Selectors:    p.Selectors,
		Integrations: make([]PlanIntegration, len(p.Targets)),
	}
	if !m.Shapes.IsZero() {
		sh := m.Shapes
		f.ServerShapes = &sh
	}
	for i, t := range p.Targets {
		pi := PlanIntegration{
			ID: t.ID, Name: t.Name, Status: t.Status, Running: t.Running, Fingerprint: t.Fingerprint,
			Options: make([]PlanOption, len(t.Changes)),
		}
		for j, c := range t.Changes {
			pi.Options[j] = planOption(c)
		}
		f.Integrations[i] = pi
	}
	return f
}

func planOption(c bulk.Change) PlanOption {
	return PlanOption{
		Line:              c.Line,
		MergedLines:       c.Merged,
		OverridesLines:    c.Overrides,
		Key:               c.Key,
		Kind:              string(c.Kind),
		Sensitive:         isSecret(c),
		Action:            string(c.Action),
		ValueChanges:      c.ValueChanges,
		PermissionChanges: c.PermissionChanges,
		CurrentUnreadable: c.Unreadable,
		Before:            before(c),
		After:             after(c),
		PermissionBefore:  c.BeforePermission.String(),
		PermissionAfter:   c.AfterPermission.String(),
		ValueSource:       valueSource(c),
	}
}

// valueSource is PlanOption.ValueSource: the variable's name, or the line, never the value.
func valueSource(c bulk.Change) string {
	return sourceOf(isSecret(c) && c.ValueChanges, c.Row.Value.Env, c.Line)
}

// sourceOf says where a masked value comes from: the ${NAME} env, else the CSV line; ""
// for a value that is not masked or does not change.
func sourceOf(masked bool, env string, line int) string {
	switch {
	case !masked:
		return ""
	case env != "":
		return "${" + env + "}"
	}
	return "line " + strconv.Itoa(line)
}

// PlanJSON writes plan.json (see PlanFile), indented, with a "format" version field.
func PlanJSON(w io.Writer, f PlanFile) error { return writeJSON(w, f) }

// updates reports whether the integration has an option to update.
func (it PlanIntegration) updates() bool {
	for _, o := range it.Options {
		if o.Action == string(bulk.ActionUpdate) {
			return true
		}
	}
	return false
}

// notRunning lists the integrations with changes that are not running.
func (f PlanFile) notRunning() []PlanIntegration {
	var out []PlanIntegration
	for _, it := range f.Integrations {
		if !it.Running && it.updates() {
			out = append(out, it)
		}
	}
	return out
}

// lines are the option's line and the lines merged into it, in order.
func (o PlanOption) lines() []int { return sortedLines(o.Line, o.MergedLines) }

// shown is what the renderers show of the option's change.
func (o PlanOption) shown() shown {
	return shown{o.Sensitive, o.ValueChanges, o.PermissionChanges, o.CurrentUnreadable,
		[]string{o.Before}, []string{o.PermissionBefore}, o.After, o.PermissionAfter}
}

// ReadPlan reads plan.json back for apply --plan. It refuses a file of another kind (a
// results.json) or format, and one without the CSV's hash or an integration's fingerprint,
// since such a plan cannot be checked against the CSV and the server.
func ReadPlan(r io.Reader) (PlanFile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return PlanFile{}, fmt.Errorf("read plan: %w", err)
	}
	// The kind and format are checked first, so that a results.json or a newer plan gets a
	// clear answer rather than a decoding error about some field.
	if err := checkKind(data, KindPlan, "plan"); err != nil {
		return PlanFile{}, err
	}
	var f PlanFile
	if err := json.Unmarshal(data, &f); err != nil {
		return PlanFile{}, fmt.Errorf("read plan: %w", err)
	}
	if f.Input.SHA256 == "" {
		return PlanFile{}, errors.New("read plan: the plan records no sha256 of its input")
	}
	seen := make(map[string]bool, len(f.Integrations))
	for i, in := range f.Integrations {
		switch {
		case in.ID == "":
			return PlanFile{}, fmt.Errorf("read plan: integration %d has no id", i+1)
		case seen[in.ID]:
			return PlanFile{}, fmt.Errorf("read plan: integration %s is listed twice", in.ID)
		case in.Fingerprint == "":
			return PlanFile{}, fmt.Errorf("read plan: integration %s has no fingerprint", in.ID)
		}
		seen[in.ID] = true
	}
	return f, nil
}

// checkKind refuses a JSON file that is not one object of the given kind in this version's
// format; what names the file in errors ("plan", "results").
func checkKind(data []byte, kind, what string) error {
	var head struct {
		Format int    `json:"format"`
		Kind   string `json:"kind"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&head); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("read %s: unexpected data after the %s", what, what)
	}
	if head.Kind != kind {
		return fmt.Errorf("read %s: not a %s file (kind %q, want %q)", what, what, head.Kind, kind)
	}
	if head.Format != Format {
		return fmt.Errorf("read %s: format %d is not supported (this version reads format %d)", what, head.Format, Format)
	}
	return nil
}

// writeJSON writes v as indented JSON in one write. HTML characters are kept as they are:
// nothing here is embedded in HTML, and "<" reads better than "\u003c".
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Moved says what moved on the server in an integration between a reviewed plan (then) and
// the plan made now, for a stale plan's message: its status, and for each option of the
// reviewed plan its kind, permission and value at plan time and now. Values are the plans'
// display values, so secrets stay "(sensitive)". The fingerprint also covers the current
// value of an option whose new value is a ${NAME} (masked in the plan, as its before is) and
// whether a value can be read: when nothing shown moved, those are named, never their values.
func Moved(then, now PlanIntegration) []string {
	var out []string
	if then.Status != now.Status {
		out = append(out, fmt.Sprintf("status %s at plan time, %s now", printable(then.Status, 40), printable(now.Status, 40)))
	}
	byKey := make(map[string]PlanOption, len(now.Options))
	for _, o := range now.Options {
		byKey[o.Key] = o
	}
	for _, o := range then.Options {
		n, ok := byKey[o.Key]
		key := "option " + printable(o.Key, 0)
		switch {
		case !ok:
			out = append(out, key+": in the plan then, not now")
			continue
		case o.Kind != n.Kind:
			out = append(out, fmt.Sprintf("%s: kind %s at plan time, %s now", key, printable(o.Kind, 40), printable(n.Kind, 40)))
		}
		if o.PermissionBefore != n.PermissionBefore {
			out = append(out, fmt.Sprintf("%s: permission %s at plan time, %s now", key, o.PermissionBefore, n.PermissionBefore))
		}
		if o.Before != n.Before {
			out = append(out, fmt.Sprintf("%s: %s at plan time, %s now", key, printable(o.Before, textValueLimit), printable(n.Before, textValueLimit)))
		}
		if o.CurrentUnreadable != n.CurrentUnreadable {
			out = append(out, fmt.Sprintf("%s: value %s at plan time, %s now", key, readable(o.CurrentUnreadable), readable(n.CurrentUnreadable)))
		}
	}
	if len(out) == 0 {
		var masked []string
		for _, o := range then.Options {
			if o.Sensitive && o.Kind != string(bulk.KindPassword) && !o.CurrentUnreadable {
				masked = append(masked, printable(o.Key, 0))
			}
		}
		switch len(masked) {
		case 0:
		case 1:
			out = append(out, "option "+masked[0]+": its current value changed (not shown: the row's value is sensitive)")
		default:
			out = append(out, "the current value of one of the options "+strings.Join(masked, ", ")+" changed (not shown: their rows' values are sensitive)")
		}
	}
	return out
}

func readable(unreadable bool) string {
	if unreadable {
		return "unreadable"
	}
	return "readable"
}
