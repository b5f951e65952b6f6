package report

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Every secret in the fixture contains secretMark, so one search proves none leaked.
const secretMark = "S3CRET"

const (
	secretLiteral = "S3CRET-literal-Zq9" // new password value, a literal cell
	secretOld     = "S3CRET-old-Kx7"     // current password value the server showed
	secretOld2    = "S3CRET-old2-Pp8"    // another current password value
	secretEnv     = "S3CRET-env-Wp4"     // value of ${ABUSE_KEY}
	secretEnvText = "S3CRET-envtext-Hh2" // value of ${PROXY_URL}, for a text option
	secretOldText = "S3CRET-oldtext-Jj5" // current value of that text option
	secretJSON    = "S3CRET-json-Mm3"    // password given as json:"..."
)

var (
	lockHide     = bulk.Permission{AdminOnly: true}
	lockShow     = bulk.Permission{}
	userProvides = bulk.Permission{UserCanEdit: true}
)

func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func choice(v, d string) map[string]string { return map[string]string{"value": v, "display": d} }

// opt builds a change the way the planner does, from the essentials.
type opt struct {
	line    int
	merged  []int
	key     string
	kind    bulk.Kind
	cell    string // value cell as written
	env     string // ${NAME} name and
	envVal  string // its value
	current any    // nil: unreadable
	want    any    // nil: keep the value
	before  string
	after   string
	from    bulk.Permission
	to      *bulk.Permission
	perm    string // permission cell
	flagRow bool   // the row used admin_only/user_can_edit
}

func (o opt) change() bulk.Change {
	r := bulk.Row{Line: o.line, Key: o.key, Cell: o.cell, PermissionCell: o.perm, Merged: o.merged}
	switch {
	case o.cell == "":
	case o.env != "":
		r.Value = bulk.Value{Form: bulk.ValueLiteral, Text: o.envVal, Env: o.env}
	case len(o.cell) > 5 && o.cell[:5] == "json:":
		r.Value = bulk.Value{Form: bulk.ValueJSON, Text: o.cell[5:]}
	default:
		r.Value = bulk.Value{Form: bulk.ValueLiteral, Text: o.cell}
	}
	to := o.from
	if o.to != nil {
		to = *o.to
		if o.flagRow {
			r.Permission.AdminOnly = bulk.Bool{Set: true, Value: to.AdminOnly}
		} else {
			p, _ := bulk.ParsePermission(o.perm)
			r.Permission = bulk.PermissionEdit{AdminOnly: bulk.Bool{Set: true, Value: p.AdminOnly}, UserCanEdit: bulk.Bool{Set: true, Value: p.UserCanEdit}}
		}
	}
	c := bulk.Change{
		Line: o.line, Merged: o.merged, Key: o.key, Kind: o.kind,
		Sensitive:        o.kind == bulk.KindPassword || o.env != "",
		BeforePermission: o.from, AfterPermission: to, PermissionChanges: o.from != to,
		Before: o.before, After: o.after, Row: r,
	}
	if o.current != nil {
		c.Current = bulk.NewPayload(jsonOf(o.current))
	} else {
		c.Unreadable = o.want != nil
	}
	switch {
	case o.want != nil:
		c.Send = bulk.NewPayload(jsonOf(o.want))
		c.ValueChanges = o.current == nil || string(jsonOf(o.current)) != string(jsonOf(o.want))
	case o.current != nil:
		c.Send = c.Current
	}
	c.Action = bulk.ActionUnchanged
	if c.ValueChanges || c.PermissionChanges {
		c.Action = bulk.ActionUpdate
	}
	return c
}

func flags(f bulk.Permission) *bulk.Permission { return &f }

const (
	idVT    = "virustotal_node_18_1725278818"
	idAbuse = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
	idCS1   = "crowdstrike_1"
	idCS2   = "crowdstrike_2"
	idMand  = "mandiant_1"
	idSlack = "slack_1"
)

// fixturePlan covers every kind, secrets in every form, permission-only changes, merged
// lines, unreadable values, formula-like values, a stopped integration and an unchanged one.
func fixturePlan() bulk.Plan {
	t := func(id, name, status string, opts ...opt) bulk.Target {
		tg := bulk.Target{ID: id, Name: name, Status: status, Running: status == "running", Fingerprint: "sha256:" + fmt.Sprintf("%064x", len(id))}
		for _, o := range opts {
			tg.Changes = append(tg.Changes, o.change())
		}
		return tg
	}
	sens := "(sensitive)"
	unread := "(current value unreadable)"
	return bulk.Plan{
		Targets: []bulk.Target{
			t(idVT, "VirusTotal", "running",
				opt{line: 2, key: "apiKey", kind: bulk.KindPassword, cell: secretLiteral, current: secretOld, want: secretLiteral, before: sens, after: sens, from: lockHide},
				opt{line: 3, key: "blocklist", kind: bulk.KindText, cell: "b.com", current: "a.com", want: "b.com", before: `"a.com"`, after: `"b.com"`, from: lockShow, to: flags(lockHide), perm: "Lock and hide option for all users"},
				opt{line: 4, key: "showNoDetections", kind: bulk.KindBoolean, cell: "yes", current: true, want: true, before: "true", after: "true", from: userProvides},
				opt{line: 5, key: "maxResults", kind: bulk.KindNumber, current: 10, before: "10", after: "10", from: lockShow, to: flags(lockHide), flagRow: true},
				opt{line: 6, key: "notes", kind: bulk.KindText, cell: `=HYPERLINK("http://evil.example","x")`, current: "-old note", want: `=HYPERLINK("http://evil.example","x")`, before: `"-old note"`, after: `"=HYPERLINK(\"http://evil.example\",\"x\")"`, from: lockShow},
			),
			t(idAbuse, "AbuseIPDB", "running",
				opt{line: 7, key: "apiKey", kind: bulk.KindPassword, cell: "${ABUSE_KEY}", env: "ABUSE_KEY", envVal: secretEnv, want: secretEnv, before: unread, after: sens, from: lockHide},
				opt{line: 8, merged: []int{12}, key: "maxAge", kind: bulk.KindNumber, cell: "-5", current: 30, want: -5, before: "30", after: "-5", from: lockShow},
			),
			t(idCS1, "CrowdStrike", "stopped",
				opt{line: 9, key: "minimumSeverity", kind: bulk.KindSelect, cell: "High", current: choice("low", "Low"), want: choice("high", "High"), before: `"low"`, after: `"high"`, from: lockShow},
				opt{line: 10, key: "clientSecret", kind: bulk.KindPassword, cell: `json:"` + secretJSON + `"`, want: secretJSON, before: unread, after: sens, from: lockHide},
			),
			t(idMand, "@Mandiant", "running",
				opt{line: 11, key: "vulnerabilityRatingSources", kind: bulk.KindSelect, cell: "new; in_progress", current: []any{choice("new", "New")}, want: []any{choice("new", "New"), choice("in_progress", "In progress")}, before: `["new"]`, after: `["new","in_progress"]`, from: lockShow},
				opt{line: 13, key: "proxyUrl", kind: bulk.KindText, cell: "${PROXY_URL}", env: "PROXY_URL", envVal: secretEnvText, current: secretOldText, want: secretEnvText, before: sens, after: sens, from: lockShow},
			),
			t(idCS2, "CrowdStrike", "running",
				opt{line: 14, key: "minimumSeverity", kind: bulk.KindSelect, cell: "medium", current: choice("low", "Low"), want: choice("medium", "Medium"), before: `"low"`, after: `"medium"`, from: lockShow},
				opt{line: 15, key: "detectionStatuses", kind: bulk.KindSelect, cell: "json:[]", current: []any{choice("new", "New"), choice("score,desc", "Score")}, want: []any{}, before: `["new","score,desc"]`, after: `[]`, from: lockShow},
				opt{line: 16, key: "tags", kind: bulk.KindSelect, cell: "a", current: []any{}, want: []any{choice("a", "A")}, before: `[]`, after: `["a"]`, from: lockShow},
				opt{line: 17, key: "showNoDetections", kind: bulk.KindBoolean, cell: "on", current: false, want: true, before: "false", after: "true", from: userProvides},
				opt{line: 18, key: "proxyUrl", kind: bulk.KindText, cell: "${PROXY_URL}", env: "PROXY_URL", envVal: secretEnvText, current: secretOldText, want: secretEnvText, before: sens, after: sens, from: lockShow},
				opt{line: 19, key: "apiKey", kind: bulk.KindPassword, cell: secretLiteral, current: secretOld2, want: secretLiteral, before: sens, after: sens, from: lockShow, to: flags(lockHide), perm: "lock-hide"},
				opt{line: 20, key: "maxAge", kind: bulk.KindNumber, cell: "90", current: 30, want: 90, before: "30", after: "90", from: lockShow},
				opt{line: 21, key: "maxConcurrent", kind: bulk.KindNumber, cell: "10", current: -1, want: 10, before: "-1", after: "10", from: lockShow},
				opt{line: 22, key: "description", kind: bulk.KindText, cell: "plain", current: "${HOME}", want: "plain", before: `"${HOME}"`, after: `"plain"`, from: lockShow},
				opt{line: 23, key: "prefix", kind: bulk.KindText, cell: "p", current: "", want: "p", before: `""`, after: `"p"`, from: lockShow},
				opt{line: 24, key: "secret2", kind: bulk.KindPassword, cell: secretLiteral, want: secretLiteral, before: unread, after: sens, from: lockHide},
				opt{line: 25, key: "label", kind: bulk.KindText, cell: "two\nlines", current: "tab\there", want: "two\nlines", before: `"tab\there"`, after: `"two\nlines"`, from: lockShow},
			),
			t(idSlack, "Slack", "running",
				opt{line: 26, key: "sortBy", kind: bulk.KindSelect, cell: "score,desc", current: choice("score,desc", "Score"), want: choice("score,desc", "Score"), before: `"score,desc"`, after: `"score,desc"`, from: lockShow},
				opt{line: 27, key: "channel", kind: bulk.KindText, cell: "#sec", current: "#sec", want: "#sec", before: `"#sec"`, after: `"#sec"`, from: userProvides},
			),
		},
		Warnings: []bulk.Problem{{File: "rollout.csv", Line: 12, Msg: "duplicate of line 8 (option maxAge of " + idAbuse + "): merged", Warning: true}},
	}
}

func verified(b bool) bulk.Verification {
	if b {
		return bulk.VerifyOK
	}
	return bulk.VerifyMismatch
}

// fixtureRun applies fixturePlan: VirusTotal and the second CrowdStrike applied (one option
// read back wrong), AbuseIPDB refused with an error that echoes the secret, the stopped
// CrowdStrike refused, Slack unchanged, and Mandiant never reached (it has no Result, so the
// report must add it as not attempted).
func fixtureRun() Run {
	p := fixturePlan()
	byID := map[string]bulk.Target{}
	for _, t := range p.Targets {
		byID[t.ID] = t
	}
	result := func(id string, st bulk.Status, http, attempts int, d time.Duration, errText string, optErr map[string]string) bulk.Result {
		t := byID[id]
		res := bulk.Result{ID: id, Name: t.Name, Status: st, HTTPStatus: http, Attempts: attempts, Duration: d, Error: errText}
		for _, c := range t.Changes {
			o := bulk.OptionResult{Change: c, Status: st, Error: optErr[c.Key]}
			if c.Action == bulk.ActionUnchanged {
				o.Status = bulk.StatusUnchanged
			}
			if st == bulk.StatusApplied && c.Action == bulk.ActionUpdate {
				o.Verified = verified(c.Key != "showNoDetections")
			}
			res.Options = append(res.Options, o)
		}
		return res
	}
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	return Run{
		Tool:     "polarity-bulk 1.0.0",
		Server:   "https://polarity.example.com",
		Input:    "rollout.csv",
		SHA256:   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Started:  start,
		Finished: start.Add(12*time.Second + 345*time.Millisecond),
		Flags:    map[string]string{"concurrency": "4", "rate": "5", "burst": "1", "retries": "5", "max-failures": "2"},
		Plan:     p,
		// Out of plan order on purpose: results finish in any order.
		Results: []bulk.Result{
			result(idSlack, bulk.StatusUnchanged, 0, 0, 0, "", nil),
			result(idCS2, bulk.StatusApplied, 200, 2, 812*time.Millisecond, "", nil),
			result(idCS1, bulk.StatusFailed, 422, 1, 95*time.Millisecond, "patch integration crowdstrike_1: 422 Failed to update integration options: Integration is not running", nil),
			result(idAbuse, bulk.StatusFailed, 400, 1, 120*time.Millisecond,
				"patch integration "+idAbuse+`: 400 invalid option value "`+secretEnv+`"`,
				map[string]string{"apiKey": "-- the key " + secretEnv + " was rejected"}),
			result(idVT, bulk.StatusApplied, 200, 1, 153*time.Millisecond, "", nil),
		},
		Pace: &Pace{
			Mode: "auto", MaxRate: 50, Start: "learned limit", StartRate: 19.4123, LearnedRate: 20.0131, LearnedIsLimit: true,
			Pushbacks: 2, Pauses: 1,
			Changes: []PaceChange{
				{At: 0, Rate: 19.4123, Concurrency: 4, Reason: "learned"},
				{At: 5200 * time.Millisecond, Rate: 20.51, Concurrency: 4, Reason: "probe"},
				{At: 9100 * time.Millisecond, Rate: 19.33, Concurrency: 4, Reason: "pushback"},
			},
		},
	}
}
