// Package probe judges a Polarity server from what `polarity-bulk probe` observed of it: each
// finding ok, problem or unknown, with a hint, and the shapes of the server's answers. It is
// pure: observations in, a report out; no network, no clock (the time is an input).
//
// A Report has two forms. The full one (text and --json) may name the server's things: its
// URL, an error the server sent, a certificate's dates. Public returns the form probe.json
// holds, fit for a public bug report: check names, statuses and value-free facts (counts,
// booleans, the names of forms), and the shapes of the answers with member names that are data
// (ids, names, option keys) hidden; never a value, an id, a name or a secret.
package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Status is a finding's verdict.
type Status string

// The verdicts. Only a problem makes probe exit 1: it is something that stops plan or apply
// from working, or makes them wrong.
const (
	OK      Status = "ok"
	Problem Status = "problem"
	Unknown Status = "unknown"
)

// The checks, in the order they are reported.
const (
	CheckConnection   = "connection"
	CheckTLS          = "tls"
	CheckAuth         = "auth"
	CheckIntegrations = "integrations"
	CheckOptions      = "options"
	CheckSensitive    = "sensitive-values"
	CheckPaging       = "paging"
	CheckSingleRead   = "single-read"
	CheckAPIVersion   = "api-version"
	CheckOpenAPIPatch = "openapi-patch"
	CheckLatency      = "latency"
	CheckRateLimits   = "rate-limits"
	CheckServerErrors = "server-errors"
	CheckWriteCheck   = "write-check"
)

// Finding is one check's verdict.
type Finding struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	// Summary says what was found, for people; it may name the server's things (an error it
	// sent, a certificate's date), so the public form leaves it out.
	Summary string `json:"summary,omitempty"`
	// Hint says what to do; probe's own words.
	Hint string `json:"hint,omitempty"`
	// Facts are the finding's value-free facts: counts, durations in milliseconds, booleans,
	// and the names of forms (such as "included" or "option-type").
	Facts map[string]any `json:"facts,omitempty"`
}

// Format is the version of probe.json.
const Format = 1

// Kind names probe.json, as "kind" names plan.json and results.json.
const Kind = "polarity-bulk probe"

// Report is everything probe says about a server.
type Report struct {
	Format int    `json:"format"`
	Kind   string `json:"kind"`
	Tool   string `json:"tool"`
	// Server is the base URL; the public form leaves it out.
	Server string `json:"server,omitempty"`
	// Result is "ok" when plan and apply can work, "problem" otherwise.
	Result   Status    `json:"result"`
	Findings []Finding `json:"findings"`
	// Shapes is the record plan.json and results.json carry too.
	Shapes bulk.ServerShapes `json:"server_shapes"`
	// Answers holds the shape of each kind of answer met, by "METHOD /path STATUS", ids in
	// paths replaced by {id}.
	Answers map[string]*bulk.Shape `json:"answers"`

	// data are the ids, option ids and names read from the server, and keys the option keys:
	// the member names the public form hides.
	data, keys map[string]bool
}

// Problems returns the findings that are problems.
func (r Report) Problems() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Status == Problem {
			out = append(out, f)
		}
	}
	return out
}

// Finding returns the finding of a check.
func (r Report) Finding(check string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

// Public returns the form of the report that probe.json holds: no server URL, no summaries or
// hints (free text can carry the server's words), and in the answers' shapes every member
// name that is data replaced by "<key>".
func (r Report) Public() Report {
	out := Report{Format: r.Format, Kind: r.Kind, Tool: r.Tool, Result: r.Result, Shapes: r.Shapes,
		Answers: map[string]*bulk.Shape{}}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, Finding{Check: f.Check, Status: f.Status, Facts: f.Facts})
	}
	for k, s := range r.Answers {
		out.Answers[k] = s.RenameKeys(r.hideKey)
	}
	return out
}

// digits finds what ids are made of: a run of four or more digits (a timestamp, a serial).
var digits = regexp.MustCompile(`[0-9]{4,}`)

// members are member names of JSON:API and of Polarity's resources, as the client reads
// them: never hidden, even where an option key is spelled the same (an option called "id").
var members = map[string]bool{
	"data": true, "included": true, "meta": true, "links": true, "errors": true, "jsonapi": true,
	"id": true, "type": true, "attributes": true, "relationships": true,
	"self": true, "related": true, "first": true, "last": true, "prev": true, "next": true,
	"page": true, "total": true, "status": true, "title": true, "detail": true, "source": true, "pointer": true,
	"name": true, "key": true, "value": true, "description": true, "options": true, "multiple": true, "display": true,
	"acronym": true, "version": true, "token": true,
}

// hideKey reports whether a member name is data rather than a name of the API's: an id, an
// option id or a name the client read; a name with a long run of digits or of unusual
// length; or an option key among members that are mostly option keys (an object keyed by
// option key, as an integration's config.json writes options).
func (r Report) hideKey(name string, siblings []string) bool {
	if members[name] {
		return false
	}
	if r.data[name] || digits.MatchString(name) || len(name) > 64 {
		return true
	}
	if !r.keys[name] {
		return false
	}
	n := 0
	for _, s := range siblings {
		if r.keys[s] {
			n++
		}
	}
	return n == len(siblings) || (n >= 2 && 2*n >= len(siblings))
}

// Observations is what probe saw of the server.
type Observations struct {
	Tool     string
	Server   string // base URL as given
	Scheme   string // "https" or "http"
	Insecure bool   // --insecure-skip-tls-verify
	Now      time.Time
	Timeout  time.Duration // --timeout
	Rate     float64       // --rate
	Auth     api.AuthInfo
	// Exchanges are every request attempt, in order.
	Exchanges []api.Exchange

	// RefusedSizes are the page sizes the server refused outright (400, 413, 422) on the
	// first page, before FirstSize.
	RefusedSizes []int
	// FirstPage is GET /api/integrations?page[size]=FirstSize&page[number]=1, the first
	// request: FirstErr when it failed.
	FirstSize int
	FirstPage api.Page
	FirstErr  error
	// All is every integration, read the way plan reads them (the first page when it held
	// everything, else api.Client.Integrations); AllErr when that failed.
	All    []bulk.Integration
	AllErr error
	// SmallPages are pages 1 and 2 of size 2, read when there are at least 3 integrations.
	SmallPages    []api.Page
	SmallPagesErr error
	// Single are GET /api/integrations/{id} reads of All[0].
	Single    []bulk.Integration
	SingleErr error
	// OpenAPI is GET /api/openapi; OpenAPIErr when it failed.
	OpenAPI    api.OpenAPIInfo
	OpenAPIErr error
	Shapes     bulk.ServerShapes
	// Write is the --write-check, nil when not asked.
	Write *WriteCheck
}

// WriteCheck is what --write-check sent and got.
type WriteCheck struct {
	Key, Kind string // the option's key and kind
	Outcome   api.Outcome
	Err       error
	// Answer is the PATCH answer's form: "empty", "resources" or "document".
	Answer string
	// ReadBack is the option as read back after the PATCH; ReadBackErr when that failed.
	ReadBack    *bulk.Option
	ReadBackErr error
	Before      bulk.Option
}

// daysSoon is how close an expiry must be for a hint to warn about it.
const daysSoon = 14

// Evaluate judges the observations.
func Evaluate(o Observations) Report {
	r := Report{Format: Format, Kind: Kind, Tool: o.Tool, Server: o.Server, Shapes: o.Shapes,
		Answers: answers(o.Exchanges), data: map[string]bool{}, keys: map[string]bool{}}
	for _, in := range o.All {
		for _, s := range []string{in.ID, in.Name, in.Acronym} {
			if s != "" {
				r.data[s] = true
			}
		}
		for _, opt := range in.Options {
			r.data[bulk.OptionID(in.ID, opt.Key)] = true
			r.keys[opt.Key] = true
			if opt.Name != "" {
				r.data[opt.Name] = true
			}
		}
	}

	add := func(f Finding) { r.Findings = append(r.Findings, f) }
	stage := firstFailure(o)
	add(connection(o, stage))
	add(tlsFinding(o, stage))
	add(auth(o, stage))
	if stage != stageNone {
		add(integrationsFailed(o, stage))
		for _, c := range []string{CheckOptions, CheckSensitive, CheckPaging, CheckSingleRead, CheckAPIVersion, CheckOpenAPIPatch, CheckLatency} {
			add(Finding{Check: c, Status: Unknown, Summary: "not checked: the integrations could not be read"})
		}
	} else {
		add(integrations(o))
		add(options(o))
		add(sensitive(o))
		add(paging(o))
		add(singleRead(o))
		add(apiVersion(o))
		add(openAPIPatch(o))
		add(latency(o))
	}
	add(rateLimits(o))
	add(serverErrors(o, stage))
	add(writeCheck(o, stage))

	r.Result = OK
	if len(r.Problems()) > 0 {
		r.Result = Problem
	}
	return r
}

// stage is where the first contact failed.
type stage int

const (
	stageNone       stage = iota
	stageConnection       // no answer at all
	stageTLS              // the certificate was refused
	stageAuth             // the credentials were refused or lack rights
	stageRead             // an answer came, but the integrations could not be read
)

func firstFailure(o Observations) stage {
	err := o.FirstErr
	if err == nil {
		err = o.AllErr
	}
	if err == nil {
		return stageNone
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci):
		return stageTLS
	case errors.Is(err, api.ErrAuth) || errors.Is(err, api.ErrForbidden):
		return stageAuth
	case errors.Is(err, api.ErrConnection) && !answered(o.Exchanges):
		return stageConnection
	}
	return stageRead
}

// answered reports whether any request got an HTTP answer.
func answered(xs []api.Exchange) bool {
	return slices.ContainsFunc(xs, func(x api.Exchange) bool { return x.Status != 0 })
}
