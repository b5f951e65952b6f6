package apply

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// The journal's wire format. It is written by these types alone, never by the json tags of
// the domain types in bulk, so that renaming a domain field cannot change what a journal says
// or what an older journal is read as.
//
// Formats:
//   - 1: the header, then per integration an entry before its PATCH ("sending") and one with
//     its outcome, and entries with new value digests.
//   - 2: format 1 and entries about waves (see wireWave). A format-1 journal is read as a
//     format-2 one without waves; a resume of it appends format-2 entries after its header.
//
// A journal of a higher format than JournalFormat was written by a newer polarity-bulk and
// is refused with a message that names its format (ErrJournalFormat).
const JournalFormat = 2

// ErrJournalFormat marks a journal this polarity-bulk cannot read.
var ErrJournalFormat = fmt.Errorf("journal format not readable")

// wireHeader is the journal's first line.
type wireHeader struct {
	Format       int             `json:"polarity_bulk_journal"`
	Input        string          `json:"input"`
	SHA256       string          `json:"input_sha256"`
	Delimiter    string          `json:"input_delimiter,omitempty"` // absent: a comma
	Server       string          `json:"server"`
	ValueDigests *secret.Digests `json:"value_digests,omitempty"`
	// Selectors: per selector row, the integrations it expanded to (absent without selectors,
	// and in journals of polarity-bulk before selectors, which could not read such files).
	Selectors []wireExpansion `json:"selectors,omitempty"`
}

// wireExpansion is one selector row's expansion.
type wireExpansion struct {
	Line         int      `json:"line"`
	Selector     string   `json:"selector"`
	Integrations []string `json:"integration_ids"`
}

// journalEntry is one line after the header: an integration about to be sent (Sending), one
// finished, or (Digests set) new digests of the run's values.
type journalEntry struct {
	// Sending marks the entry written before the integration's PATCH: its Result is the plan
	// for it (status not-attempted), there to keep the state before the change.
	Sending bool        `json:"sending,omitempty"`
	Result  *wireResult `json:"result,omitempty"`
	// Previous holds each option's value before the run, for backup.csv; secrets only when the
	// journal was opened with secrets allowed (then the file is 0600).
	Previous map[string]json.RawMessage `json:"previous,omitempty"`
	Digests  *secret.Digests            `json:"value_digests,omitempty"`
	// Waves is a staged run's wave plan (format 2), written before its first wave; Wave is
	// the end of one wave.
	Waves *wireWaves `json:"waves,omitempty"`
	Wave  *wireWave  `json:"wave,omitempty"`
}

// wireWaves is the wave plan of a staged run.
type wireWaves struct {
	Spec           string     `json:"spec"`
	Waves          [][]string `json:"integrations"`
	MaxFailPercent int        `json:"max_fail_percent"`
	Atomic         bool       `json:"atomic"`
}

// wireWave is how one wave ended.
type wireWave struct {
	Number      int          `json:"number"`
	Status      string       `json:"status"`
	Started     time.Time    `json:"started"`
	Finished    time.Time    `json:"finished"`
	Failed      int          `json:"failed"`
	ErrorsKnown bool         `json:"errors_known"`
	IDs         []string     `json:"integrations"`
	Health      []wireHealth `json:"health,omitempty"`
}

// wireHealth is one integration's health check.
type wireHealth struct {
	ID       string   `json:"id"`
	Problems []string `json:"problems,omitempty"`
}

// wireResult is an integration's outcome.
type wireResult struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Status     string       `json:"status"`
	HTTPStatus int          `json:"http_status,omitempty"`
	Attempts   int          `json:"attempts"`
	DurationNS int64        `json:"duration_ns"`
	Error      string       `json:"error,omitempty"`
	Options    []wireOption `json:"options"`
}

// wireOption is an option's change and outcome. Values are never here: Before and After are
// display texts, masked for secrets; the previous values are in journalEntry.Previous.
type wireOption struct {
	Line         int          `json:"line"`
	Merged       []int        `json:"merged_lines,omitempty"`
	Key          string       `json:"option_key"`
	Kind         string       `json:"kind"`
	Sensitive    bool         `json:"sensitive"`
	Action       string       `json:"action"`
	ValueChanges bool         `json:"value_changes"`
	FlagsChange  bool         `json:"permission_changes"`
	Unreadable   bool         `json:"current_unreadable,omitempty"`
	Before       string       `json:"before"`
	After        string       `json:"after"`
	BeforeFlags  wireFlags    `json:"before_permission"`
	AfterFlags   wireFlags    `json:"after_permission"`
	Status       string       `json:"status"`
	Verified     wireVerified `json:"verified,omitempty"`
	Error        string       `json:"error,omitempty"`
}

// wireFlags is a permission as the API stores it.
type wireFlags struct {
	AdminOnly   bool `json:"admin-only"`
	UserCanEdit bool `json:"user-can-edit"`
}

// wireVerified is a verification: true, false, the text of an unknown one ("unknown (value
// unreadable)"), or left out when the option was not read back.
type wireVerified string

func (v wireVerified) MarshalJSON() ([]byte, error) {
	switch bulk.Verification(v) {
	case bulk.VerifyOK:
		return []byte("true"), nil
	case bulk.VerifyMismatch:
		return []byte("false"), nil
	case bulk.VerifyNone:
		return []byte("null"), nil
	}
	return json.Marshal(string(v))
}

func (v *wireVerified) UnmarshalJSON(b []byte) error {
	var ok bool
	if json.Unmarshal(b, &ok) == nil {
		*v = wireVerified(bulk.VerifyMismatch)
		if ok {
			*v = wireVerified(bulk.VerifyOK)
		}
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		*v = "" // null, or a shape no version wrote
		return nil
	}
	*v = wireVerified(s)
	return nil
}

func toWireHeader(h JournalHeader) wireHeader {
	w := wireHeader{Format: JournalFormat, Input: h.Input, SHA256: h.SHA256, Delimiter: h.Delimiter, Server: h.Server, ValueDigests: h.ValueDigests}
	for _, e := range h.Selectors {
		w.Selectors = append(w.Selectors, wireExpansion{Line: e.Line, Selector: e.Selector, Integrations: e.Integrations})
	}
	return w
}

func (w wireHeader) header() JournalHeader {
	h := JournalHeader{Journal: w.Format, Input: w.Input, SHA256: w.SHA256, Delimiter: w.Delimiter, Server: w.Server, ValueDigests: w.ValueDigests}
	for _, e := range w.Selectors {
		h.Selectors = append(h.Selectors, bulk.Expansion{Line: e.Line, Selector: e.Selector, Integrations: e.Integrations})
	}
	return h
}

func toWireResult(r bulk.Result) *wireResult {
	w := &wireResult{
		ID: r.ID, Name: r.Name, Status: string(r.Status), HTTPStatus: r.HTTPStatus,
		Attempts: r.Attempts, DurationNS: int64(r.Duration), Error: r.Error,
		Options: make([]wireOption, len(r.Options)),
	}
	for i, o := range r.Options {
		c := o.Change
		w.Options[i] = wireOption{
			Line: c.Line, Merged: c.Merged, Key: c.Key, Kind: string(c.Kind), Sensitive: c.Sensitive,
			Action: string(c.Action), ValueChanges: c.ValueChanges, FlagsChange: c.PermissionChanges,
			Unreadable: c.Unreadable, Before: c.Before, After: c.After,
			BeforeFlags: wireFlags(c.BeforePermission), AfterFlags: wireFlags(c.AfterPermission),
			Status: string(o.Status), Verified: wireVerified(o.Verified), Error: o.Error,
		}
	}
	return w
}

// result is the domain result; values are not on the wire, so Send and Current are empty
// (withPrevious puts the previous values back).
func (w *wireResult) result() bulk.Result {
	r := bulk.Result{
		ID: w.ID, Name: w.Name, Status: bulk.Status(w.Status), HTTPStatus: w.HTTPStatus,
		Attempts: w.Attempts, Duration: time.Duration(w.DurationNS), Error: w.Error,
		Options: make([]bulk.OptionResult, len(w.Options)),
	}
	for i, o := range w.Options {
		r.Options[i] = bulk.OptionResult{
			Change: bulk.Change{
				Line: o.Line, Merged: o.Merged, Key: o.Key, Kind: bulk.Kind(o.Kind), Sensitive: o.Sensitive,
				Action: bulk.Action(o.Action), ValueChanges: o.ValueChanges, PermissionChanges: o.FlagsChange,
				Unreadable: o.Unreadable, Before: o.Before, After: o.After,
				BeforePermission: bulk.Permission(o.BeforeFlags), AfterPermission: bulk.Permission(o.AfterFlags),
			},
			Status: bulk.Status(o.Status), Verified: bulk.Verification(o.Verified), Error: o.Error,
		}
	}
	return r
}

func toWireWave(w bulk.WaveOutcome) *wireWave {
	ww := &wireWave{Number: w.Number, Status: string(w.Status), Started: w.Started.UTC(), Finished: w.Finished.UTC(),
		Failed: w.Failed, ErrorsKnown: w.ErrorsKnown, IDs: w.IDs}
	for _, h := range w.Health {
		ww.Health = append(ww.Health, wireHealth{ID: h.ID, Problems: h.Problems})
	}
	return ww
}

func (ww *wireWave) wave() bulk.WaveOutcome {
	w := bulk.WaveOutcome{Number: ww.Number, Status: bulk.WaveStatus(ww.Status), Started: ww.Started, Finished: ww.Finished,
		Failed: ww.Failed, ErrorsKnown: ww.ErrorsKnown, IDs: ww.IDs}
	for _, h := range ww.Health {
		w.Health = append(w.Health, bulk.Health{ID: h.ID, Problems: h.Problems})
	}
	return w
}
