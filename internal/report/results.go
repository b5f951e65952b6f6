package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// Results is the outcome of an apply as every report renderer reads it, and the content of
// results.json. NewResults builds it once from the Run, as vegeta builds its Metrics once from
// the results of an attack: every target of the plan accounted for, in plan order; each
// option's status resolved; secrets scrubbed out of every error, flag value and warning; the
// totals counted. The renderers only read it. ReadResults reads it back from results.json;
// what results.json does not hold (the rows as written, previous values) is then absent, so
// failed.csv and backup.csv are rendered from a Results made by NewResults only.
type Results struct {
	Format       int                 `json:"format"`
	Kind         string              `json:"kind"`
	Tool         string              `json:"tool"`
	Server       string              `json:"server"`
	Input        InputFile           `json:"input"`
	Started      time.Time           `json:"started"`
	Finished     time.Time           `json:"finished"`
	DurationMS   float64             `json:"duration_ms"`
	Interrupted  bool                `json:"interrupted"`
	Flags        map[string]string   `json:"flags"` // scrubbed
	Totals       ResultTotals        `json:"totals"`
	Warnings     []string            `json:"warnings,omitempty"` // scrubbed
	Waves        []resultWave        `json:"waves,omitempty"`    // scrubbed
	Stopped      string              `json:"stopped,omitempty"`  // scrubbed
	RolledBack   bool                `json:"rolled_back,omitempty"`
	Pace         *resultPace         `json:"pace,omitempty"`
	Integrations []ResultIntegration `json:"integrations"`
	// ServerShapes records the forms of the server's answers met during the run, PATCH
	// answers included: no values.
	ServerShapes *bulk.ServerShapes `json:"server_shapes,omitempty"`
	// timelines are the runs' timelines (this run last) for timeline.json and report.html,
	// which have their own files: not part of results.json.
	timelines        []bulk.Timeline
	timelinesDropped int
}

// ResultTotals counts integrations and input rows (merged duplicate lines count too) by status.
type ResultTotals struct {
	Integrations bulk.Tally `json:"integrations"`
	Rows         bulk.Tally `json:"rows"`
}

// resultPace is Run.Pace in results.json; rates in requests per second.
type resultPace struct {
	Mode           string             `json:"mode"`
	Rate           float64            `json:"rate,omitempty"`
	MaxRate        float64            `json:"max_rate,omitempty"`
	Start          string             `json:"start,omitempty"`
	StartRate      float64            `json:"start_rate,omitempty"`
	LearnedRate    float64            `json:"learned_rate,omitempty"`
	LearnedIsLimit bool               `json:"learned_is_limit,omitempty"`
	Pushbacks      int                `json:"pushbacks"`
	Pauses         int                `json:"pauses"`
	RateBound      bool               `json:"rate_bound"`
	Changes        []resultPaceChange `json:"changes,omitempty"`
	ChangesDropped int                `json:"changes_dropped,omitempty"`
}

type resultPaceChange struct {
	AtMS        float64 `json:"at_ms"`
	Rate        float64 `json:"rate"`
	Concurrency int     `json:"concurrency"`
	Reason      string  `json:"reason"`
}

func paceJSON(p *Pace) *resultPace {
	if p == nil {
		return nil
	}
	out := &resultPace{
		Mode: p.Mode, Rate: round2(p.Rate), MaxRate: round2(p.MaxRate), Start: p.Start, StartRate: round2(p.StartRate),
		LearnedRate: round2(p.LearnedRate), LearnedIsLimit: p.LearnedIsLimit, Pushbacks: p.Pushbacks, Pauses: p.Pauses,
		RateBound: p.RateBound, ChangesDropped: p.ChangesDropped,
	}
	for _, c := range p.Changes {
		out.Changes = append(out.Changes, resultPaceChange{AtMS: millis(c.At), Rate: round2(c.Rate), Concurrency: c.Concurrency, Reason: c.Reason})
	}
	return out
}

// round2 keeps two decimals: a rate to the hundredth of a request per second says all.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// resultWave is one wave of a staged run.
type resultWave struct {
	Number       int            `json:"number"`
	Status       string         `json:"status"`
	Started      *time.Time     `json:"started,omitempty"`
	Finished     *time.Time     `json:"finished,omitempty"`
	Integrations []string       `json:"integrations"`
	Failed       int            `json:"failed"`
	ErrorsKnown  bool           `json:"errors_known"`
	Resumed      bool           `json:"resumed,omitempty"`
	Health       []resultHealth `json:"health,omitempty"`
}

// resultHealth is one integration's health check after its wave.
type resultHealth struct {
	ID       string   `json:"id"`
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`
}

// ResultIntegration is one integration's outcome.
type ResultIntegration struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Status     bulk.Status    `json:"status"`
	HTTPStatus int            `json:"http_status,omitempty"` // 0: no answer
	Attempts   int            `json:"attempts"`
	DurationMS float64        `json:"duration_ms"`
	Error      string         `json:"error,omitempty"` // scrubbed
	Options    []ResultOption `json:"options"`
	duration   time.Duration  // exact, for junit.xml
}

// ResultOption is one option's outcome: display values masked, status resolved (its
// integration's when it had none of its own), error scrubbed.
type ResultOption struct {
	Key               string      `json:"option_key"`
	Line              int         `json:"line"`
	MergedLines       []int       `json:"merged_lines,omitempty"`
	Kind              string      `json:"kind"`
	Sensitive         bool        `json:"sensitive"`
	Action            string      `json:"action"`
	Status            bulk.Status `json:"status"`
	ValueChanges      bool        `json:"value_changes"`
	PermissionChanges bool        `json:"permission_changes"`
	Before            string      `json:"before"`
	After             string      `json:"after"`
	PermissionBefore  string      `json:"permission_before"`
	PermissionAfter   string      `json:"permission_after"`
	// Verified is true, false, or "unknown (value unreadable)"; absent: not read back.
	Verified bulk.Verification `json:"verified,omitempty"`
	Error    string            `json:"error,omitempty"` // the option's own, scrubbed
	// Rollback says why a changed option stayed changed when --atomic rolled the run back.
	Rollback string `json:"rollback,omitempty"` // scrubbed
	// NotRestored says why backup.csv cannot restore the value of this changed option (a
	// sensitive value left out, a previous value the server did not show); absent when it
	// can, or when nothing of the option was applied.
	NotRestored string `json:"not_restored,omitempty"`
	// change is the planned change with the row as written and the previous value (secrets
	// among them): only failed.csv and backup.csv read it, and it is never marshalled.
	change bulk.Change
}

// NewResults builds the view of a run that every renderer of the report directory reads.
func NewResults(r Run) *Results {
	results := r.results()
	x := newRedactor(r.Plan, results)
	ints, rows := bulk.Count(results)
	v := &Results{
		Format:       Format,
		Kind:         KindResults,
		Tool:         r.Tool,
		Server:       r.Server,
		Input:        InputFile{Path: r.Input, SHA256: r.SHA256},
		Started:      utc(r.Started),
		Finished:     utc(r.Finished),
		Interrupted:  r.Interrupted,
		Flags:        make(map[string]string, len(r.Flags)),
		Totals:       ResultTotals{ints, rows},
		Warnings:     x.warnings(r.Plan.Warnings),
		Waves:        resultWaves(x, r.Waves),
		Stopped:      x.text(r.Stopped),
		RolledBack:   r.RolledBack,
		Pace:         paceJSON(r.Pace),
		Integrations: make([]ResultIntegration, len(results)),
		timelines:    r.Timelines, timelinesDropped: r.TimelinesDropped,
	}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		v.DurationMS = millis(r.Finished.Sub(r.Started))
	}
	if !r.Shapes.IsZero() {
		sh := r.Shapes
		v.ServerShapes = &sh
	}
	for k, val := range r.Flags {
		v.Flags[k] = x.text(val)
	}
	for i, res := range results {
		ri := ResultIntegration{
			ID: res.ID, Name: res.Name, Status: res.Status, HTTPStatus: res.HTTPStatus,
			Attempts: res.Attempts, DurationMS: millis(res.Duration), Error: x.text(res.Error),
			Options: make([]ResultOption, len(res.Options)), duration: res.Duration,
		}
		for j, o := range res.Options {
			c := o.Change
			ri.Options[j] = ResultOption{
				Key: c.Key, Line: c.Line, MergedLines: c.Merged, Kind: string(c.Kind), Sensitive: isSecret(c),
				Action: string(c.Action), Status: res.OptionStatus(o),
				ValueChanges: c.ValueChanges, PermissionChanges: c.PermissionChanges,
				Before: before(c), After: after(c),
				PermissionBefore: c.BeforePermission.String(), PermissionAfter: c.AfterPermission.String(),
				Verified: o.Verified, Error: x.text(o.Error), Rollback: x.text(o.Rollback), change: c,
			}
		}
		v.Integrations[i] = ri
	}
	secrets := r.Flags["backup-secrets"] == "true"
	for _, o := range v.options() {
		o.NotRestored = notRestored(o, secrets)
	}
	return v
}

// notRestored is why backup.csv (see BackupCSV) cannot restore the value of an applied
// change, or "".
func notRestored(o *ResultOption, secrets bool) string {
	c := o.change
	if o.Status != bulk.StatusApplied || c.Action != bulk.ActionUpdate || !c.ValueChanges {
		return ""
	}
	_, note := backupValue(c, secrets)
	return note
}

// NotRestored lists the changed options whose value backup.csv cannot restore, as
// "ID option KEY: why", in plan order: what the summary names and what applying the backup
// warns of. It reads the NotRestored notes, so it works on a Results read back too.
func (v *Results) NotRestored() []string {
	var out []string
	for in, o := range v.options() {
		if o.NotRestored != "" {
			out = append(out, fmt.Sprintf("%s option %s: %s", in.ID, o.Key, o.NotRestored))
		}
	}
	return out
}

// options walks every option of every integration, in plan order.
func (v *Results) options() iter.Seq2[*ResultIntegration, *ResultOption] {
	return func(yield func(*ResultIntegration, *ResultOption) bool) {
		for i := range v.Integrations {
			in := &v.Integrations[i]
			for j := range in.Options {
				if !yield(in, &in.Options[j]) {
					return
				}
			}
		}
	}
}

// lines are the option's line and the lines merged into it, in order.
func (o ResultOption) lines() []int { return sortedLines(o.Line, o.MergedLines) }

// reason is the option's error, or its integration's for an option that failed or was not
// attempted without one of its own.
func (o ResultOption) reason(in *ResultIntegration) string {
	if o.Error != "" {
		return o.Error
	}
	switch o.Status {
	case bulk.StatusFailed, bulk.StatusNotAttempted:
		return in.Error
	}
	return ""
}

// shown is what the renderers show of the option's change.
func (o ResultOption) shown() shown {
	return shown{o.Sensitive, o.ValueChanges, o.PermissionChanges, o.change.Unreadable,
		[]string{o.Before}, []string{o.PermissionBefore}, o.After, o.PermissionAfter}
}

// planned is what an integration's outcome planned, for the renderers of plans (grouping).
func (in *ResultIntegration) planned() PlanIntegration {
	p := PlanIntegration{ID: in.ID, Name: in.Name, Running: true, Options: make([]PlanOption, len(in.Options))}
	for i, o := range in.Options {
		p.Options[i] = planOption(o.change) // NewResults keeps the change of every option
	}
	return p
}

// ResultsJSON writes results.json: a "format" version field; the run's metadata (tool
// version, server, start and finish times in UTC, input path and SHA-256, flags, whether it
// was interrupted); totals by status for integrations and for input rows; the plan's
// warnings; how the run was paced (the fixed rate, or what --rate auto started at, learned
// and changed, and why); and per integration its id, name, status, HTTP status, attempts, duration and
// error, with per option its key, CSV line, status, before/after (masked), permissions,
// verification and error. Errors and flag values are scrubbed of secrets.
func ResultsJSON(w io.Writer, v *Results) error { return writeJSON(w, v) }

// ReadResults reads results.json back (for show): it refuses a file of another kind (a
// plan.json) or format.
func ReadResults(r io.Reader) (*Results, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	if err := checkKind(data, KindResults, "results"); err != nil {
		return nil, err
	}
	v := &Results{}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	for i := range v.Integrations {
		in := &v.Integrations[i]
		in.duration = time.Duration(in.DurationMS * float64(time.Millisecond))
	}
	return v, nil
}

// resultRow is one row of results.csv.
type resultRow struct {
	Line          int    `csv:"line"`
	IntegrationID string `csv:"integration_id"`
	OptionKey     string `csv:"option_key"`
	Status        string `csv:"status"`
	Error         string `csv:"error"`
}

// ResultsCSV writes results.csv: one row per input row, in line order, with the columns line,
// integration_id, option_key, status, error. Rows merged into another as duplicates get a
// row of their own with the same outcome. An option's error falls back to its integration's
// when the option failed or was not attempted without one of its own. Errors are scrubbed
// of secrets and every cell is neutralised against spreadsheet formulas.
func ResultsCSV(w io.Writer, v *Results) error {
	var out []resultRow
	for in, o := range v.options() {
		st, msg := string(o.Status), neutral(o.reason(in))
		for _, l := range o.lines() {
			out = append(out, resultRow{l, neutral(in.ID), neutral(o.Key), st, msg})
		}
	}
	slices.SortStableFunc(out, func(a, b resultRow) int { return cmp.Compare(a.Line, b.Line) })
	return sheet.WriteTable(w, out)
}

// sortedKeys lists a map's keys in order, for output that does not depend on map order.
func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// resultWaves renders the waves of a staged run, their problems scrubbed.
func resultWaves(x redactor, waves []bulk.WaveOutcome) []resultWave {
	var out []resultWave
	for _, w := range waves {
		rw := resultWave{Number: w.Number, Status: string(w.Status), Integrations: w.IDs, Failed: w.Failed,
			ErrorsKnown: w.ErrorsKnown, Resumed: w.Resumed}
		if rw.Integrations == nil {
			rw.Integrations = []string{}
		}
		if !w.Started.IsZero() {
			s, f := utc(w.Started), utc(w.Finished)
			rw.Started, rw.Finished = &s, &f
		}
		for _, h := range w.Health {
			rh := resultHealth{ID: h.ID, Healthy: h.OK()}
			for _, p := range h.Problems {
				rh.Problems = append(rh.Problems, x.text(p))
			}
			rw.Health = append(rw.Health, rh)
		}
		out = append(out, rw)
	}
	return out
}
