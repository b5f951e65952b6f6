package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// resultsFile is results.json.
type resultsFile struct {
	Format       int                 `json:"format"`
	Kind         string              `json:"kind"`
	Tool         string              `json:"tool"`
	Server       string              `json:"server"`
	Input        InputFile           `json:"input"`
	Started      time.Time           `json:"started"`
	Finished     time.Time           `json:"finished"`
	DurationMS   float64             `json:"duration_ms"`
	Interrupted  bool                `json:"interrupted"`
	Flags        map[string]string   `json:"flags"`
	Totals       resultTotals        `json:"totals"`
	Warnings     []string            `json:"warnings,omitempty"`
	Pace         *resultPace         `json:"pace,omitempty"`
	Integrations []resultIntegration `json:"integrations"`
	// ServerShapes records the forms of the server's answers met during the run, PATCH
	// answers included: no values.
	ServerShapes *bulk.ServerShapes `json:"server_shapes,omitempty"`
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

type resultTotals struct {
	Integrations tally `json:"integrations"`
	Rows         tally `json:"rows"` // input rows: merged duplicate lines count too
}

type resultIntegration struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Status     bulk.Status    `json:"status"`
	HTTPStatus int            `json:"http_status,omitempty"` // 0: no answer
	Attempts   int            `json:"attempts"`
	DurationMS float64        `json:"duration_ms"`
	Error      string         `json:"error,omitempty"`
	Options    []resultOption `json:"options"`
}

type resultOption struct {
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
	Error    string            `json:"error,omitempty"`
}

// ResultsJSON writes results.json: a "format" version field; the run's metadata (tool
// version, server, start and finish times in UTC, input path and SHA-256, flags, whether it
// was interrupted); totals by status for integrations and for input rows; the plan's
// warnings; how the run was paced (the fixed rate, or what --rate auto started at, learned
// and changed, and why); and per integration its id, name, status, HTTP status, attempts, duration and
// error, with per option its key, CSV line, status, before/after (masked), permissions,
// verification and error. Errors and flag values are scrubbed of secrets.
func ResultsJSON(w io.Writer, r Run) error {
	return writeJSON(w, newResultsFile(r))
}

// newResultsFile is results.json's content; report.html is rendered from it too, so the page
// and the file cannot disagree.
func newResultsFile(r Run) resultsFile {
	results := r.results()
	x := newRedactor(r.Plan, results)
	ints, rows := count(results)
	f := resultsFile{
		Format:       Format,
		Kind:         kindResults,
		Tool:         r.Tool,
		Server:       r.Server,
		Input:        InputFile{Path: r.Input, SHA256: r.SHA256},
		Started:      utc(r.Started),
		Finished:     utc(r.Finished),
		Interrupted:  r.Interrupted,
		Flags:        make(map[string]string, len(r.Flags)),
		Totals:       resultTotals{ints, rows},
		Warnings:     x.warnings(r.Plan.Warnings),
		Pace:         paceJSON(r.Pace),
		Integrations: make([]resultIntegration, len(results)),
	}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		f.DurationMS = millis(r.Finished.Sub(r.Started))
	}
	if !r.Shapes.IsZero() {
		sh := r.Shapes
		f.ServerShapes = &sh
	}
	for k, v := range r.Flags {
		f.Flags[k] = x.text(v)
	}
	for i, res := range results {
		ri := resultIntegration{
			ID: res.ID, Name: res.Name, Status: res.Status, HTTPStatus: res.HTTPStatus,
			Attempts: res.Attempts, DurationMS: millis(res.Duration), Error: x.text(res.Error),
			Options: make([]resultOption, len(res.Options)),
		}
		for j, o := range res.Options {
			c := o.Change
			ri.Options[j] = resultOption{
				Key: c.Key, Line: c.Line, MergedLines: c.Merged, Kind: string(c.Kind), Sensitive: isSecret(c),
				Action: string(c.Action), Status: optionStatus(res, o),
				ValueChanges: c.ValueChanges, PermissionChanges: c.PermissionChanges,
				Before: before(c), After: after(c),
				PermissionBefore: c.BeforePermission.String(), PermissionAfter: c.AfterPermission.String(),
				Verified: o.Verified, Error: x.text(o.Error),
			}
		}
		f.Integrations[i] = ri
	}
	return f
}

// readResults reads results.json back (for show --html). It refuses a file of another kind
// (a plan.json) or format.
func readResults(data []byte) (resultsFile, error) {
	var f resultsFile
	if err := checkKind(data, kindResults, "results"); err != nil {
		return f, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("read results: %w", err)
	}
	return f, nil
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
func ResultsCSV(w io.Writer, r Run) error {
	results := r.results()
	x := newRedactor(r.Plan, results)
	var out []resultRow
	for _, res := range results {
		for _, o := range res.Options {
			st := string(optionStatus(res, o))
			msg := neutral(x.text(optionError(res, o)))
			for _, l := range lines(o.Change) {
				out = append(out, resultRow{l, neutral(res.ID), neutral(o.Key), st, msg})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b resultRow) int { return cmp.Compare(a.Line, b.Line) })
	return sheet.WriteTable(w, out)
}

// sortedKeys lists a map's keys in order, for output that does not depend on map order.
func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
