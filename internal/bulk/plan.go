package bulk

import (
	"encoding/json"
	"time"
)

// Action is what the plan will do with one option.
type Action string

// The actions of a plan. Rows with errors never reach a plan: they are Problems.
const (
	ActionUpdate    Action = "update"
	ActionUnchanged Action = "unchanged"
)

// Payload is a value to send to the server. It may be a secret, so it never prints and never
// marshals; only the API client reads it, with Bytes.
type Payload struct{ raw json.RawMessage }

// NewPayload wraps raw JSON; nil or empty means "leave the value out".
func NewPayload(raw json.RawMessage) Payload { return Payload{raw: raw} }

// Bytes is the JSON to send.
func (p Payload) Bytes() json.RawMessage { return p.raw }

// Present reports whether there is a value to send.
func (p Payload) Present() bool { return len(p.raw) > 0 }

// String masks the payload.
func (p Payload) String() string { return "(payload)" }

// GoString masks the payload for %#v too.
func (p Payload) GoString() string { return "bulk.Payload{...}" }

// MarshalJSON refuses to write the payload anywhere.
func (p Payload) MarshalJSON() ([]byte, error) { return []byte(`null`), nil }

// How every output shows a secret value, and a current value the server did not reveal.
const (
	SensitiveText  = "(sensitive)"
	UnreadableText = "(current value unreadable)"
)

// Change is the plan for one option of one integration, from one CSV row (or several identical
// rows merged).
type Change struct {
	Line   int   `json:"line"`
	Merged []int `json:"merged_lines,omitempty"`
	// Overrides lists the lines that reached the same option but lost to Line by precedence
	// (an exact integration beats a pattern, then an exact key beats a pattern): with Line, it
	// says which line won.
	Overrides []int  `json:"overrides_lines,omitempty"`
	Key       string `json:"option_key"`
	Kind      Kind   `json:"kind"`
	Sensitive bool   `json:"sensitive"`
	Action    Action `json:"action"`
	// ValueChanges and PermissionChanges say what an update changes.
	ValueChanges      bool `json:"value_changes"`
	PermissionChanges bool `json:"permission_changes"`
	// Unreadable: the server did not show the current value, so the value "will be set
	// (current value unreadable)" (UnreadableText) rather than diffed.
	Unreadable bool `json:"current_unreadable,omitempty"`
	// Before and After are for display only: SensitiveText for secrets, UnreadableText for a
	// current value the server did not show.
	Before           string     `json:"before"`
	After            string     `json:"after"`
	BeforePermission Permission `json:"before_permission"`
	AfterPermission  Permission `json:"after_permission"`
	// Send is the value the PATCH carries: the new value, or the current one sent back for a
	// permission-only change; empty to leave the value out.
	Send Payload `json:"-"`
	// Current is the server's value before the change (when readable), for backup.csv. It may be
	// a secret.
	Current Payload `json:"-"`
	// Row is the CSV row the change comes from, for reports in the input format.
	Row Row `json:"-"`
}

// Target is the plan for one integration.
type Target struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Running bool   `json:"running"`
	// Fingerprint digests the current state of the options the plan touches, so a reviewed plan
	// can be checked against the server before it is applied.
	Fingerprint string   `json:"fingerprint"`
	Changes     []Change `json:"options"`
}

// Updates reports whether the target has anything to send.
func (t Target) Updates() bool {
	for _, c := range t.Changes {
		if c.Action == ActionUpdate {
			return true
		}
	}
	return false
}

// Plan is the dry run: what will be sent to which integration.
type Plan struct {
	Targets []Target `json:"integrations"`
	// Warnings are problems that do not stop the run (merged duplicate rows and the like).
	Warnings []Problem `json:"-"`
	// Selectors records what each selector row expanded to, in line order, so that a saved
	// plan can be checked for integrations installed or removed since.
	Selectors []Expansion `json:"selectors,omitempty"`
}

// Expansion is what one selector row reached on the server: the integrations in which it
// matched at least one option, whether or not another row won those options.
type Expansion struct {
	Line int `json:"line"`
	// Selector describes the row's pattern cells for people, e.g.
	// `integration_name glob:VirusTotal, option_key apiKey`.
	Selector     string   `json:"selector"`
	Integrations []string `json:"integration_ids"`
}

// Counts totals a plan.
type Counts struct {
	Integrations int `json:"integrations"`
	Changed      int `json:"integrations_changed"`
	NotRunning   int `json:"integrations_not_running"`
	Options      int `json:"options"`
	Updates      int `json:"options_update"`
	Unchanged    int `json:"options_unchanged"`
}

// Count totals the plan.
func (p Plan) Count() Counts {
	var c Counts
	for _, t := range p.Targets {
		c.Integrations++
		if t.Updates() {
			c.Changed++
		}
		if !t.Running {
			c.NotRunning++
		}
		for _, ch := range t.Changes {
			c.Options++
			if ch.Action == ActionUpdate {
				c.Updates++
			} else {
				c.Unchanged++
			}
		}
	}
	return c
}

// Status is the outcome of an integration or a row in an apply.
type Status string

// The statuses of SPEC.md section 4.
const (
	StatusApplied      Status = "applied"
	StatusUnchanged    Status = "unchanged"
	StatusFailed       Status = "failed"
	StatusNotAttempted Status = "not-attempted"
	// StatusRolledBack: applied, then restored to its state before the run by apply --atomic
	// when the run stopped because of failures.
	StatusRolledBack Status = "rolled-back"
)

// Verification is what reading an option back after its PATCH showed.
type Verification string

// The verifications of an option. In JSON they are true, false and the text of VerifyUnknown;
// VerifyNone is left out.
const (
	// VerifyNone: not read back (--no-verify, an interrupted run, a failed read-back).
	VerifyNone Verification = ""
	// VerifyOK: the server holds the value and permission sent.
	VerifyOK Verification = "verified"
	// VerifyMismatch: the server holds another value or permission.
	VerifyMismatch Verification = "mismatch"
	// VerifyUnknown: the permission is as sent, but the server does not show the value (a
	// masked password), so whether the new value landed cannot be known.
	VerifyUnknown Verification = "unknown (value unreadable)"
)

// MarshalJSON writes true, false, or the text of an unknown outcome.
func (v Verification) MarshalJSON() ([]byte, error) {
	switch v {
	case VerifyOK:
		return []byte("true"), nil
	case VerifyMismatch:
		return []byte("false"), nil
	case VerifyNone:
		return []byte("null"), nil
	}
	return json.Marshal(string(v))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Verification) UnmarshalJSON(b []byte) error {
	var ok bool
	if json.Unmarshal(b, &ok) == nil {
		*v = VerifyMismatch
		if ok {
			*v = VerifyOK
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*v = VerifyNone
		return nil // null, or a shape no version wrote
	}
	*v = Verification(s)
	return nil
}

// Settle gives a target and its options a status, as the result of one PATCH (or of none):
// a target without updates, and every option that needs no update, is "unchanged" whatever
// the status; the other options take the status and the error. apply settles what it sends,
// and the report settles what a run never reached as not-attempted.
func Settle(t Target, status Status, errText string) Result {
	r := Result{ID: t.ID, Name: t.Name, Status: status, Error: errText}
	if !t.Updates() {
		r.Status, r.Error = StatusUnchanged, ""
	}
	for _, c := range t.Changes {
		or := OptionResult{Change: c, Status: status, Error: errText}
		if c.Action != ActionUpdate {
			or.Status, or.Error = StatusUnchanged, ""
		}
		r.Options = append(r.Options, or)
	}
	return r
}

// OptionResult is the outcome for one option.
type OptionResult struct {
	Change
	Status   Status       `json:"status"`
	Verified Verification `json:"verified,omitempty"`
	Error    string       `json:"error,omitempty"`
	// Rollback says, when apply --atomic rolled the run back, why this changed option is still
	// changed: RollbackUnrestorable, or the rollback's own failure. Empty: no rollback, or
	// the option was restored (status rolled-back).
	Rollback string `json:"rollback,omitempty"`
}

// RollbackUnrestorable is why a secret whose old value the server never showed stays as the
// run set it: there is nothing to put back.
const RollbackUnrestorable = "not restorable: the server never showed its old value"

// Result is the outcome for one integration: one request's worth of data, a failure included.
type Result struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Status     Status         `json:"status"`
	HTTPStatus int            `json:"http_status,omitempty"`
	Attempts   int            `json:"attempts"`
	Duration   time.Duration  `json:"duration_ns"`
	Error      string         `json:"error,omitempty"`
	Options    []OptionResult `json:"options"`
}

// OptionStatus is an option's status, its integration's when the option has none of its own.
func (r Result) OptionStatus(o OptionResult) Status {
	if o.Status != "" {
		return o.Status
	}
	return r.Status
}

// Tally counts outcomes by status; results.json writes it as it is.
type Tally struct {
	Total        int `json:"total"`
	Applied      int `json:"applied"`
	Unchanged    int `json:"unchanged"`
	Failed       int `json:"failed"`
	NotAttempted int `json:"not-attempted"`
	RolledBack   int `json:"rolled-back,omitempty"`
}

// Add counts n outcomes of status s.
func (t *Tally) Add(s Status, n int) {
	t.Total += n
	switch s {
	case StatusApplied:
		t.Applied += n
	case StatusUnchanged:
		t.Unchanged += n
	case StatusFailed:
		t.Failed += n
	case StatusNotAttempted:
		t.NotAttempted += n
	case StatusRolledBack:
		t.RolledBack += n
	}
}

// Count is the one place outcomes are counted: integrations by status, and input rows (the
// lines merged into a row as duplicates count too) by their option's status.
func Count(results []Result) (integrations, rows Tally) {
	for _, r := range results {
		integrations.Add(r.Status, 1)
		for _, o := range r.Options {
			rows.Add(r.OptionStatus(o), 1+len(o.Merged))
		}
	}
	return integrations, rows
}
