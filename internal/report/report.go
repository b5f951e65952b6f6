// Package report renders plans and apply results for people and for machines: the stdout diff,
// plan.json and plan.md of `plan`, and the report directory of `apply` (SPEC.md section 4).
//
// Every renderer is pure: values in, bytes out, no clock, no network, no goroutines. Only
// dir.go touches the file system: WriteDir, RewriteHTML (show --html) and WriteFile write
// (through a temporary name), CheckDir, OpenRegular and OpenInput refuse links and other
// files that are not regular.
//
// Secrets (SPEC.md section 5). A change is sensitive when bulk.Change.Sensitive is set or its
// value comes from ${NAME}. For such a change no renderer prints Row.Cell, Row.Value.Text,
// Change.Send or Change.Current, and Before/After are shown as "(sensitive)" whatever the
// planner put there; the only exception is BackupCSV with secrets=true. Free text that comes
// from elsewhere (server error messages, warnings, flag values) is scrubbed of every known
// secret value before it is written, because a server may echo the value it refused.
package report

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// Format is the version of plan.json and results.json. A reader refuses any other version.
const Format = 1

// The kinds of the JSON files, so that one is not mistaken for the other (apply --plan given a
// results.json).
const (
	KindPlan    = "polarity-bulk plan"
	KindResults = "polarity-bulk results"
)

// Run is everything an apply report says: the run's metadata, the plan it applied and the
// result of every integration.
type Run struct {
	Tool   string // tool version as `version` prints it, e.g. "v1.2.0" or "(devel)"
	Server string // server base URL
	Input  string // CSV path as given; "-" is standard input
	SHA256 string // hex SHA-256 of the CSV
	// Started and Finished bound the run; they are written in UTC.
	Started, Finished time.Time
	// Flags are the effective command-line settings (concurrency, rate, ...), by flag name.
	Flags       map[string]string
	Interrupted bool
	// Plan is the plan the run applied. Its warnings are reported; a target of the plan with no
	// Result is reported as not attempted, so every input row is accounted for. Results come
	// out in the plan's order whatever order they finished in.
	Plan    bulk.Plan
	Results []bulk.Result
	// Shapes are the forms of the server's answers the client met (api.Client.Shapes).
	Shapes bulk.ServerShapes
	// Timelines are what the runs into this report directory sent over time, oldest first:
	// the first run, then each --resume. TimelinesDropped counts earlier runs whose timelines
	// are no longer kept (timeline.json keeps the last five).
	Timelines        []bulk.Timeline
	TimelinesDropped int
	// Waves are the waves of a staged run (apply --waves, --atomic), in order; Stopped says
	// why it stopped before its last one; RolledBack, that --atomic rolled it back.
	Waves      []bulk.WaveOutcome
	Stopped    string
	RolledBack bool
	// Pace is how the run was paced; nil leaves it out of results.json.
	Pace *Pace
}

// Pace is how an apply was paced: at a fixed --rate, or as --rate auto found the server's.
type Pace struct {
	// Mode is "fixed" or "auto".
	Mode string
	// Rate is the fixed --rate; MaxRate the --max-rate of auto.
	Rate, MaxRate float64
	// Start is where auto started: "cold", "learned limit" or "learned rate"; StartRate the
	// rate it started at.
	Start     string
	StartRate float64
	// LearnedRate is what auto learned, kept for the next run against the server: its limit
	// when LearnedIsLimit, else the highest rate it accepted.
	LearnedRate    float64
	LearnedIsLimit bool
	// Pushbacks counts the answers that refused for load (429, 503, or any with Retry-After);
	// Pauses the waits every request honoured (Retry-After, a RateLimit with no quota left).
	Pushbacks, Pauses int
	// RateBound says a fixed rate held the run back while the server accepted everything.
	RateBound bool
	// Changes is auto's log of rate and concurrency changes, in order; ChangesDropped counts
	// those left out once the log was full.
	Changes        []PaceChange
	ChangesDropped int
}

// PaceChange is one entry of the pace log.
type PaceChange struct {
	// At is the time since the pace started, just before the plan's first read.
	At          time.Duration
	Rate        float64
	Concurrency int
	// Reason is why: start, learned, ramp, pushback, refit, latency, policy, quota, probe,
	// recover.
	Reason string
}

// results returns one result per integration, in plan order: the run's own results, plus a
// not-attempted (or unchanged) result for every target the run did not get to.
func (r Run) results() []bulk.Result {
	if len(r.Plan.Targets) == 0 {
		return r.Results
	}
	byID := make(map[string]int, len(r.Results))
	for i, res := range r.Results {
		if _, dup := byID[res.ID]; !dup {
			byID[res.ID] = i
		}
	}
	out := make([]bulk.Result, 0, max(len(r.Results), len(r.Plan.Targets)))
	used := make([]bool, len(r.Results))
	for _, t := range r.Plan.Targets {
		if i, ok := byID[t.ID]; ok {
			if !used[i] {
				out = append(out, r.Results[i])
				used[i] = true
			}
			continue
		}
		out = append(out, bulk.Settle(t, bulk.StatusNotAttempted, "")) // never reached
	}
	for i, res := range r.Results {
		if !used[i] {
			out = append(out, res)
		}
	}
	return out
}

// isSecret reports whether a change's values must not be shown.
func isSecret(c bulk.Change) bool { return c.Sensitive || c.Row.Value.Env != "" }

// before and after are the display values of a change, masked again for secrets so that a
// planner bug cannot leak one through a report.
func before(c bulk.Change) string {
	if isSecret(c) {
		return bulk.SensitiveText
	}
	return c.Before
}

func after(c bulk.Change) string {
	if isSecret(c) {
		return bulk.SensitiveText
	}
	return c.After
}

// sortedLines is a line and the lines merged into it, in order.
func sortedLines(line int, merged []int) []int {
	ls := append([]int{line}, merged...)
	slices.Sort(ls)
	return slices.Compact(ls)
}

// linesText says "line 4" or "lines 4, 9".
func linesText(ls []int) string {
	if len(ls) == 1 {
		return "line " + strconv.Itoa(ls[0])
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = strconv.Itoa(l)
	}
	return "lines " + strings.Join(parts, ", ")
}

// overLines says which lines a change won over by precedence (selector rows): "; over line 2",
// or nothing.
func overLines(ls []int) string {
	if len(ls) == 0 {
		return ""
	}
	return "; over " + linesText(sortedLines(ls[0], ls[1:]))
}

// inputName says where the CSV came from.
func inputName(path string) string {
	if path == "-" || path == "" {
		return "standard input"
	}
	return path
}

// Printable is printable for the console's other writers (the progress bar names
// integrations as the server names them).
func Printable(s string, limit int) string { return printable(s, limit) }

// printable makes a value safe for a terminal or a one-line cell: line breaks and control
// characters become visible escapes (a value could otherwise move the cursor or recolour the
// screen of the person reviewing the plan), and so do the bidirectional overrides that can
// make text read differently from what it is. Values longer than limit runes are cut with a
// note of how much is left out; limit 0 means no cut.
func printable(s string, limit int) string {
	if plainASCII(s) && (limit == 0 || len(s) <= limit) {
		return s // the common case, without a copy
	}
	var b strings.Builder
	n := 0
	for i, r := range s {
		if limit > 0 && n == limit {
			rest := utf8.RuneCountInString(s[i:])
			b.WriteString("… (" + itoa(rest) + " " + bulk.Plural(rest, "more character", "more characters") + ")")
			break
		}
		n++
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			b.WriteString(`\x` + strconv.FormatInt(int64(r)|0x100, 16)[1:])
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			b.WriteString(`\u` + strconv.FormatInt(int64(r), 16))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// formulaStart reports whether a spreadsheet would read the cell as a formula (SPEC.md
// section 4).
func formulaStart(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// neutral neutralises a CSV cell whose meaning may change: a leading apostrophe makes
// spreadsheets show it as text. Value cells of the input format are handled by valueCell
// instead, which keeps their meaning.
func neutral(s string) string {
	if formulaStart(s) {
		return "'" + s
	}
	return s
}

// redactor scrubs known secret values out of free text, in every encoding secret.Set finds
// them in (a server may have echoed a value it refused in any of them).
type redactor struct{ set *secret.Set }

// newRedactor collects the secret values of every sensitive change: the cell, the value text,
// the value to send and the current value, and the strings inside the JSON ones.
func newRedactor(p bulk.Plan, results []bulk.Result) redactor {
	set := secret.NewSet(bulk.SensitiveText)
	addJSON := func(raw json.RawMessage) {
		if len(raw) == 0 {
			return
		}
		set.Add(string(raw))
		set.Add(secret.JSONStrings(raw)...)
	}
	add := func(c bulk.Change) {
		if !isSecret(c) {
			return
		}
		set.Add(c.Row.Value.Text)
		if c.Row.Value.Env == "" {
			set.Add(c.Row.Cell)
		}
		addJSON(c.Send.Bytes())
		addJSON(c.Current.Bytes())
	}
	for _, t := range p.Targets {
		for _, c := range t.Changes {
			add(c)
		}
	}
	for _, res := range results {
		for _, o := range res.Options {
			add(o.Change)
		}
	}
	if set.Len() == 0 {
		return redactor{}
	}
	return redactor{set}
}

// text scrubs s.
func (x redactor) text(s string) string {
	if x.set == nil || s == "" {
		return s
	}
	return x.set.Scrub(s)
}

// warnings renders a plan's warnings, scrubbed.
func (x redactor) warnings(ps []bulk.Problem) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = x.text(p.Error())
	}
	return out
}

// utc drops the location so that times are written the same everywhere.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// millis is a duration in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func itoa(n int) string { return strconv.Itoa(n) }
