package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The checks: one function per finding, each judging the observations on its own.

func connection(o Observations, st stage) Finding {
	f := Finding{Check: CheckConnection, Facts: map[string]any{"scheme": o.Scheme}}
	if st == stageConnection {
		f.Status = Problem
		f.Summary = "no answer from the server: " + errText(o.FirstErr)
		f.Hint = "check --url (or POLARITY_URL), that the server is up and reachable from here, and any proxy settings; -v -v logs every request"
		return f
	}
	first := -1
	for i, x := range o.Exchanges {
		if x.Status != 0 {
			first = i
			break
		}
	}
	f.Status = OK
	if first >= 0 {
		x := o.Exchanges[first]
		f.Summary = fmt.Sprintf("the server answered (%s: %d in %s)", x.Endpoint, x.Status, ms(x.Duration))
	} else {
		f.Summary = "the server was reached; its TLS certificate was refused (see tls)"
	}
	return f
}

func tlsFinding(o Observations, st stage) Finding {
	f := Finding{Check: CheckTLS, Facts: map[string]any{}}
	var state *api.TLSState
	for _, x := range o.Exchanges {
		if x.TLS != nil {
			state = x.TLS
			break
		}
	}
	if o.Scheme != "https" {
		f.Status = Unknown
		f.Summary = "plain http: no TLS (allowed only to a loopback address)"
		f.Facts["tls"] = false
		return f
	}
	if st == stageTLS {
		f.Status = Problem
		f.Summary = "the server's certificate is not trusted: " + errText(o.FirstErr)
		f.Hint = "pass the CA that signed it with --ca-cert FILE, and use the host name the certificate names in --url"
		if state != nil {
			addChainFacts(f.Facts, state, o.Now)
		}
		return f
	}
	if state == nil {
		f.Status = Unknown
		f.Summary = "no TLS answer was seen"
		return f
	}
	addChainFacts(f.Facts, state, o.Now)
	days := int(state.NotAfter.Sub(o.Now).Hours() / 24)
	expiry := fmt.Sprintf("the server certificate expires %s (in %d days)", state.NotAfter.UTC().Format("2006-01-02"), days)
	switch {
	case o.Insecure:
		f.Status = Unknown
		f.Summary = fmt.Sprintf("%s, %d certificates, not verified (--insecure-skip-tls-verify)", state.Version, state.Chain)
		if state.VerifyError != "" {
			f.Summary += ": with verification on it would fail: " + state.VerifyError
			f.Hint = "pass the CA that signed the server's certificate with --ca-cert FILE instead of --insecure-skip-tls-verify"
		} else {
			f.Summary += "; it would verify: drop --insecure-skip-tls-verify"
			f.Hint = "drop --insecure-skip-tls-verify: the chain verifies"
		}
		f.Summary += "; " + expiry
	default:
		f.Status = OK
		f.Summary = fmt.Sprintf("%s, chain of %d verified; %s", state.Version, state.Chain, expiry)
		if days < daysSoon {
			f.Hint = "renew the server certificate soon: plan and apply fail once it has expired"
		}
	}
	return f
}

func addChainFacts(m map[string]any, s *api.TLSState, now time.Time) {
	m["tls"] = true
	m["version"] = s.Version
	m["chain"] = s.Chain
	m["verified"] = s.Verified
	if !s.NotAfter.IsZero() {
		m["expires_in_days"] = int(s.NotAfter.Sub(now).Hours() / 24)
	}
}

func auth(o Observations, st stage) Finding {
	f := Finding{Check: CheckAuth, Facts: map[string]any{"method": o.Auth.Method}}
	method := "an API key (Authorization: Bearer)"
	if o.Auth.Method == "login" {
		method = "a username and password (POST /api/users/login, then the session token as Bearer)"
	}
	switch st {
	case stageConnection, stageTLS:
		f.Status = Unknown
		f.Summary = "not checked: no request got through"
		return f
	case stageAuth:
		f.Status = Problem
		err := o.FirstErr
		if err == nil {
			err = o.AllErr
		}
		f.Summary = "the server refused " + method + ": " + errText(err)
		if errors.Is(err, api.ErrForbidden) {
			f.Hint = "the account or API key lacks the rights to list integrations: an API key is scoped to chosen integrations, a user needs admin rights on them"
		} else if o.Auth.Method == "login" {
			f.Hint = "check POLARITY_USERNAME and POLARITY_PASSWORD (or --password-file); SAML users need an API key"
		} else {
			f.Hint = "check POLARITY_API_KEY (or --api-key-file): the server refused it; it may have expired or been revoked"
		}
		return f
	}
	f.Status = OK
	f.Summary = "accepted " + method
	if !o.Auth.Expires.IsZero() {
		left := o.Auth.Expires.Sub(o.Now)
		f.Facts["expires_in_s"] = int(left.Seconds())
		if o.Auth.Method == "login" {
			f.Summary += fmt.Sprintf("; the session token lives %s and is refreshed before it expires", o.Auth.Lifetime.Round(time.Second))
		} else {
			f.Summary += fmt.Sprintf("; the key (a JWT) expires %s (in %d days)", o.Auth.Expires.UTC().Format("2006-01-02"), int(left.Hours()/24))
			if left < daysSoon*24*time.Hour {
				f.Hint = "the API key expires soon: create a new one in the web UI before a scheduled run needs it"
			}
		}
	} else if o.Auth.Method == "login" {
		f.Summary += "; the server gave no token expiry: the client logs in again when a request answers 401"
	} else {
		f.Summary += "; the server does not tell when an API key expires (the web UI shows it)"
		f.Facts["expiry_known"] = false
	}
	if o.Auth.Method == "login" {
		f.Facts["lifetime_s"] = int(o.Auth.Lifetime.Seconds())
	}
	return f
}

func integrationsFailed(o Observations, st stage) Finding {
	f := Finding{Check: CheckIntegrations, Status: Unknown, Summary: "not checked: no answer could be read"}
	if st != stageRead {
		return f
	}
	err := o.FirstErr
	if err == nil {
		err = o.AllErr
	}
	f.Status = Problem
	f.Summary = "GET /api/integrations failed: " + errText(err)
	var e *api.Error
	switch {
	case errors.Is(err, api.ErrBadResponse):
		f.Hint = "the answer is not the JSON:API document the client reads: report it with probe.json attached (it holds the shapes of the answers, no values)"
	case errors.Is(err, api.ErrRefused):
		f.Hint = "the server answered with a JSON:API errors member: its message above says why; plan would be refused the same way"
	case errors.Is(err, api.ErrWaitTooLong):
		f.Hint = "the server asked to pause for longer than --max-wait: it is throttling hard; try again later, or raise --max-wait"
	case errors.Is(err, api.ErrRetryBudget):
		f.Hint = "the server refused so many requests that the retry budget ran out: check its health before plan or apply"
	case errors.As(err, &e) && e.HTTPStatus == 429:
		f.Hint = "the server kept refusing with 429: retry later, or with a lower --rate"
	case errors.As(err, &e) && e.HTTPStatus >= 500:
		f.Hint = "the server (or a gateway in front of it) is failing: check its health and try again; plan and apply retry such answers (--retries) but cannot work while it lasts"
	case errors.Is(err, api.ErrConnection):
		f.Hint = "requests time out or the connection drops: check the server and the network, or raise --timeout"
	default:
		f.Hint = "check --url: it must be the server's base URL, the one the web UI runs on"
	}
	return f
}

func integrations(o Observations) Finding {
	running, other := 0, 0
	for _, in := range o.All {
		if in.Running() {
			running++
		} else {
			other++
		}
	}
	f := Finding{Check: CheckIntegrations, Facts: map[string]any{
		"seen": len(o.All), "running": running, "not_running": other, "scoped_key": o.Auth.Method == "api-key",
	}}
	f.Summary = fmt.Sprintf("%d %s seen: %d running, %d not running", len(o.All), bulk.Plural(len(o.All), "integration", "integrations"), running, other)
	if o.Auth.Method == "api-key" {
		f.Summary += "; an API key sees only the integrations it is scoped to, so the server may hold more"
	}
	if t := o.FirstPage.Total; t >= 0 && t != len(o.All) {
		f.Status = Problem
		f.Summary += fmt.Sprintf("; but the server counts %d (meta.page.total): plan would not see them all", t)
		f.Hint = "report it with probe.json attached: the client pages through GET /api/integrations and stops where the server's answers say the list ends"
		f.Facts["server_total"] = t
		return f
	}
	switch {
	case len(o.All) == 0:
		f.Status = Problem
		if o.Auth.Method == "api-key" {
			f.Hint = "the API key sees no integration: in the web UI, give it access to the integrations you mean to change"
		} else {
			f.Hint = "the account sees no integration: use an admin account, or one whose groups may administer the integrations"
		}
	case other > 0:
		f.Status = OK
		f.Hint = "the server refuses option changes for integrations that are not running: start them before apply, or their rows fail"
	default:
		f.Status = OK
	}
	return f
}

func options(o Observations) Finding {
	n, noKind := 0, 0
	for _, in := range o.All {
		for _, opt := range in.Options {
			n++
			if opt.Kind == "" {
				noKind++
			}
		}
	}
	sh := o.Shapes
	f := Finding{Check: CheckOptions, Facts: map[string]any{
		"options": n, "without_kind": noKind, "location": nonNil(sh.OptionsIn),
		"resource_types": nonNil(sh.OptionTypes), "kind_attributes": nonNil(sh.KindAttrs),
	}}
	if len(o.All) == 0 {
		f.Status = Unknown
		f.Summary = "no integration to read options from"
		return f
	}
	if n == 0 {
		f.Status = Problem
		f.Summary = fmt.Sprintf("no option found in %d integrations: the server returns them in a form the client does not know", len(o.All))
		f.Hint = "report it with probe.json attached: its answers section shows where the server puts options, without any value"
		return f
	}
	where := describePlaces(sh)
	f.Summary = fmt.Sprintf("%s, %s", count(n, "option"), where)
	if len(sh.KindAttrs) > 0 {
		f.Summary += "; the kind in attribute " + strings.Join(quoteAll(sh.KindAttrs), ", ")
	}
	if noKind > 0 {
		f.Status = Problem
		f.Summary += fmt.Sprintf("; %s without a kind the client can read", count(noKind, "option"))
		f.Hint = "without a kind the planner cannot convert values: report it with probe.json attached"
		return f
	}
	f.Status = OK
	return f
}

func describePlaces(sh bulk.ServerShapes) string {
	var parts []string
	for _, p := range sh.OptionsIn {
		switch p {
		case "included":
			t := "untyped"
			if len(sh.OptionTypes) > 0 {
				t = strings.Join(quoteAll(sh.OptionTypes), ", ")
			}
			parts = append(parts, "in the top-level included array as "+t+" resources")
		case "attributes":
			parts = append(parts, "as an array in the integrations' attributes")
		case "attributes-object":
			parts = append(parts, "as an object keyed by option key in the integrations' attributes")
		}
	}
	return strings.Join(parts, ", and ")
}

func sensitive(o Observations) Finding {
	v := o.Shapes.Sensitive
	f := Finding{Check: CheckSensitive, Facts: map[string]any{
		"clear": v.Clear, "masked": v.Masked, "empty": v.Empty, "absent": v.Absent,
	}}
	if v.Total() == 0 {
		f.Status = Unknown
		f.Summary = "no password option among the integrations seen"
		return f
	}
	f.Status = OK
	f.Summary = fmt.Sprintf("%s: %d in clear, %d masked, %d empty, %d without a value attribute", count(v.Total(), "password option"), v.Clear, v.Masked, v.Empty, v.Absent)
	switch {
	case v.Masked+v.Absent > 0:
		f.Hint = "a password the server hides cannot be compared: plan shows a row with a value as 'will be set (current value unreadable)' and apply sends it every time; leave the value cell empty to keep a secret"
	case v.Clear > 0:
		f.Hint = "the server returns secrets in clear: polarity-bulk never prints them, but anyone with these credentials can read them"
	}
	return f
}

func paging(o Observations) Finding {
	p1 := len(o.FirstPage.Integrations)
	total := o.FirstPage.Total
	f := Finding{Check: CheckPaging, Facts: map[string]any{"asked": o.FirstSize, "first_page": p1, "total_given": total >= 0}}
	var says []string
	if len(o.RefusedSizes) > 0 {
		f.Facts["refused_sizes"] = o.RefusedSizes
		var sizes []string
		for _, n := range o.RefusedSizes {
			sizes = append(sizes, fmt.Sprint(n))
		}
		says = append(says, "page[size]="+strings.Join(sizes, " and ")+" refused (plan falls back to smaller sizes the same way)")
	}
	capped := false
	switch {
	case p1 > o.FirstSize:
		says = append(says, fmt.Sprintf("page[size]=%d: the server sent %d, ignoring the size", o.FirstSize, p1))
		f.Facts["honours_size"] = false
	case total > p1 && p1 < o.FirstSize:
		says = append(says, fmt.Sprintf("page[size]=%d: the server caps a page at %d (of %d)", o.FirstSize, p1, total))
		f.Facts["page_cap"] = p1
		capped = true
	default:
		says = append(says, fmt.Sprintf("page[size]=%d: %s in one page", o.FirstSize, map[bool]string{true: "the only integration", false: fmt.Sprintf("all %d", p1)}[p1 == 1]))
	}
	morePages := capped || (total < 0 && p1 == o.FirstSize)
	f.Status = OK
	switch {
	case o.SmallPagesErr != nil:
		f.Status = Problem
		f.Summary = strings.Join(says, "; ") + "; a page of size 2 failed: " + errText(o.SmallPagesErr)
		f.Hint = "plan reads the integrations page by page: report it with probe.json attached"
		return f
	case len(o.SmallPages) < 2:
		f.Status = Unknown
		says = append(says, "too few integrations to test page[number]")
		if !morePages {
			f.Status = OK
		}
	default:
		a, b := o.SmallPages[0].Integrations, o.SmallPages[1].Integrations
		switch {
		case len(a) > 2:
			says = append(says, fmt.Sprintf("page[size]=2: the server sent %d, so small sizes are ignored", len(a)))
			f.Facts["honours_small_size"] = false
		case overlaps(a, b):
			says = append(says, "page[number]=2 brought the same integrations as page 1: the server ignores page[number]")
			f.Facts["honours_number"] = false
			if morePages {
				f.Status = Problem
				f.Hint = "the server needs several pages but ignores page[number]: plan would see only the first page; report it with probe.json attached"
			}
		default:
			says = append(says, "page[size]=2 and page[number]=2 honoured")
			f.Facts["honours_small_size"] = true
			f.Facts["honours_number"] = true
		}
	}
	f.Summary = strings.Join(says, "; ")
	return f
}

func overlaps(a, b []bulk.Integration) bool {
	ids := map[string]bool{}
	for _, in := range a {
		ids[in.ID] = true
	}
	for _, in := range b {
		if ids[in.ID] {
			return true
		}
	}
	return false
}

func singleRead(o Observations) Finding {
	f := Finding{Check: CheckSingleRead, Facts: map[string]any{"reads": len(o.Single)}}
	if len(o.All) == 0 {
		f.Status = Unknown
		f.Summary = "no integration to read"
		return f
	}
	if o.SingleErr != nil {
		f.Status = Problem
		f.Summary = "GET /api/integrations/{id} failed: " + errText(o.SingleErr)
		f.Hint = "plan reads a file that names one integration by id with this request: name it by integration_name meanwhile, and report it with probe.json attached"
		return f
	}
	want := optionSet(o.All[0])
	for _, in := range o.Single {
		if got := optionSet(in); got != want {
			f.Status = Problem
			f.Summary = fmt.Sprintf("GET /api/integrations/{id} gives %s (%s), the list %d (%s)", count(len(in.Options), "option"), got, len(o.All[0].Options), want)
			f.Hint = "plan reads a file that names one integration by id with this request, and would see other options: report it with probe.json attached"
			return f
		}
	}
	f.Status = OK
	f.Summary = fmt.Sprintf("GET /api/integrations/{id} gives the same %s as the list", count(len(o.All[0].Options), "option"))
	return f
}

// optionSet describes an integration's options by key and kind, in order.
func optionSet(in bulk.Integration) string {
	parts := make([]string, len(in.Options))
	for i, o := range in.Options {
		parts[i] = o.Key + ":" + string(o.Kind)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// plainVersion is what the public form keeps of info.version: a bare release number.
var plainVersion = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+){0,3}$`)

func apiVersion(o Observations) Finding {
	f := Finding{Check: CheckAPIVersion, Facts: map[string]any{}}
	if o.OpenAPIErr != nil {
		f.Status = Unknown
		f.Facts["served"] = false
		if errors.Is(o.OpenAPIErr, api.ErrNotFound) {
			f.Summary = "GET /api/openapi: 404, the server does not serve an OpenAPI document"
		} else {
			f.Summary = "GET /api/openapi gave no usable document: " + errText(o.OpenAPIErr)
		}
		return f
	}
	f.Facts["served"] = true
	if o.OpenAPI.Version == "" {
		f.Status = Unknown
		f.Summary = "GET /api/openapi: the document has no info.version"
		return f
	}
	f.Status = OK
	f.Summary = "API version " + o.OpenAPI.Version + " (info.version of GET /api/openapi)"
	if plainVersion.MatchString(o.OpenAPI.Version) {
		f.Facts["version"] = o.OpenAPI.Version
	} else {
		f.Facts["version"] = "(not a plain release number: left out)"
	}
	return f
}

func openAPIPatch(o Observations) Finding {
	f := Finding{Check: CheckOpenAPIPatch, Facts: map[string]any{
		"sent_type": api.PatchResourceType, "sent_attributes": api.PatchAttributes,
	}}
	if o.OpenAPIErr != nil {
		f.Status = Unknown
		f.Summary = "no OpenAPI document to compare with"
		return f
	}
	d := o.OpenAPI.Patch
	if d == nil {
		f.Status = Unknown
		f.Summary = "the OpenAPI document declares no PATCH /api/integration-options"
		return f
	}
	if d.Types != nil {
		f.Facts["declared_types"] = d.Types
	}
	if d.Attributes != nil {
		f.Facts["declared_attributes"] = d.Attributes
	}
	if d.Types == nil && d.Attributes == nil {
		f.Status = Unknown
		f.Summary = "PATCH /api/integration-options is declared without the resource type or attributes of its body"
		return f
	}
	if mm := d.Mismatches(); len(mm) > 0 {
		f.Status = Problem
		f.Facts["mismatches"] = len(mm)
		f.Summary = "PATCH /api/integration-options: " + strings.Join(mm, "; ")
		switch w := o.Write; {
		case w == nil:
			f.Hint = "apply's PATCH may be refused: run --write-check on one option to see, and report it with probe.json attached"
		case w.Err == nil:
			f.Hint = "the write check's PATCH was accepted all the same, so the document is probably wrong: report it with probe.json attached before a large apply"
		default:
			f.Hint = "the write check's PATCH was refused too: apply would fail; report it with probe.json attached"
		}
		return f
	}
	f.Status = OK
	f.Facts["mismatches"] = 0
	var says []string
	if d.Types != nil {
		says = append(says, "type "+strings.Join(quoteAll(d.Types), " or "))
	}
	if d.Attributes != nil {
		says = append(says, "attributes "+strings.Join(quoteAll(d.Attributes), ", "))
	}
	f.Summary = "PATCH /api/integration-options declares " + strings.Join(says, " and ") + ": the client's requests fit"
	return f
}

func latency(o Observations) Finding {
	var samples []time.Duration
	for _, x := range o.Exchanges {
		if strings.HasPrefix(x.Endpoint, "GET /api/integrations") && x.Status >= 200 && x.Status <= 299 {
			samples = append(samples, x.Duration)
		}
	}
	f := Finding{Check: CheckLatency, Facts: map[string]any{"samples": len(samples)}}
	if len(samples) == 0 {
		f.Status = Unknown
		f.Summary = "no successful GET to measure"
		return f
	}
	slices.Sort(samples)
	med := median(samples)
	f.Facts["median_ms"] = msNumber(med)
	f.Facts["max_ms"] = msNumber(samples[len(samples)-1])
	f.Summary = fmt.Sprintf("median %s, slowest %s, of %d GETs of integrations", ms(med), ms(samples[len(samples)-1]), len(samples))
	f.Status = OK
	if o.Timeout > 0 && med > o.Timeout/2 {
		f.Status = Problem
		f.Hint = fmt.Sprintf("requests take more than half of --timeout %s: raise --timeout, or plan and apply will time out", o.Timeout)
	}
	return f
}

func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func rateLimits(o Observations) Finding {
	names := map[string]string{}
	limited := 0
	for _, x := range o.Exchanges {
		for k, v := range x.RateLimit {
			names[k] = v
		}
		if x.Status == 429 {
			limited++
		}
	}
	keys := slices.Sorted(maps.Keys(names))
	f := Finding{Check: CheckRateLimits, Facts: map[string]any{
		"requests": len(o.Exchanges), "answered_429": limited, "headers": nonNil(keys),
	}}
	var seen []string
	for _, k := range keys {
		seen = append(seen, k+": "+names[k])
	}
	switch {
	case limited > 0:
		f.Status = Problem
		f.Summary = fmt.Sprintf("%d of %d requests were answered 429 at --rate %g", limited, len(o.Exchanges), o.Rate)
		if len(seen) > 0 {
			f.Summary += " (" + strings.Join(seen, ", ") + ")"
		}
		f.Hint = fmt.Sprintf("a rate limit sits in front of the server: plan and apply pause as it asks, but a long run crawls; run them with a --rate below %g", o.Rate)
	case len(seen) > 0:
		f.Status = OK
		f.Summary = "rate-limit headers seen: " + strings.Join(seen, ", ")
		f.Hint = "keep --rate below the limit these headers give"
	default:
		f.Status = OK
		f.Summary = fmt.Sprintf("no rate-limit header and no 429 in %s at --rate %g", bulk.Plural(len(o.Exchanges), "1 request", fmt.Sprintf("%d requests", len(o.Exchanges))), o.Rate)
	}
	return f
}

func serverErrors(o Observations, st stage) Finding {
	byStatus := map[int]int{}
	failed := 0
	for _, x := range o.Exchanges {
		if x.Status >= 500 || (x.Status == 0 && x.Err != "") {
			failed++
			byStatus[x.Status]++
		}
	}
	f := Finding{Check: CheckServerErrors, Facts: map[string]any{"requests": len(o.Exchanges), "failed": failed}}
	if st == stageConnection || st == stageTLS {
		f.Status = Unknown
		f.Summary = "not checked: no request got through (see " + map[stage]string{stageConnection: CheckConnection, stageTLS: CheckTLS}[st] + ")"
		return f
	}
	if failed == 0 {
		f.Status = OK
		f.Summary = fmt.Sprintf("no 5xx answer and no dropped request in %s", bulk.Plural(len(o.Exchanges), "1 request", fmt.Sprintf("%d requests", len(o.Exchanges))))
		return f
	}
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(byStatus)) {
		what := fmt.Sprintf("%d answered %d", byStatus[s], s)
		if s == 0 {
			what = fmt.Sprintf("%d without an answer (network error or timeout)", byStatus[s])
		}
		parts = append(parts, what)
	}
	f.Status = Problem
	f.Summary = fmt.Sprintf("%d of %d requests failed: %s", failed, len(o.Exchanges), strings.Join(parts, ", "))
	f.Hint = "the server (or a gateway in front of it) is failing some requests: plan and apply retry them (--retries), but check its health before a large apply"
	return f
}

func writeCheck(o Observations, st stage) Finding {
	f := Finding{Check: CheckWriteCheck, Facts: map[string]any{"asked": o.Write != nil}}
	w := o.Write
	if w == nil {
		f.Status = Unknown
		if st == stageNone {
			f.Summary = "not run: it is opt-in"
			f.Hint = "--write-check OPTION_ID sends one option's current value and permission back unchanged, to learn how the server answers a PATCH"
		} else {
			f.Summary = "not run"
		}
		return f
	}
	if w.Err != nil {
		f.Status = Problem
		f.Facts["status"] = w.Outcome.HTTPStatus
		f.Summary = "PATCH /api/integration-options failed: " + errText(w.Err)
		var e *api.Error
		switch {
		case errors.Is(w.Err, api.ErrForbidden):
			f.Hint = "the credentials may read but not change options: apply needs an account or API key with admin rights on the integrations"
		case errors.Is(w.Err, api.ErrBadResponse):
			f.Hint = "the PATCH answer is not JSON the client reads: report it with probe.json attached"
		case errors.Is(w.Err, api.ErrRefused):
			f.Hint = "the server answered the PATCH with a JSON:API errors member: apply would count every PATCH so answered as failed; report it with probe.json attached"
		case errors.As(w.Err, &e) && (e.HTTPStatus == 400 || e.HTTPStatus == 422):
			f.Hint = "the server refused a PATCH that only sends the option's current state back: apply would be refused too; report it with probe.json attached"
		default:
			f.Hint = "apply sends the same request: find out why the server refuses it before applying"
		}
		return f
	}
	f.Facts["status"] = w.Outcome.HTTPStatus
	f.Facts["answer"] = w.Answer
	answer := map[string]string{"empty": "no body", "resources": "the updated option resources", "document": "a JSON document that is not option resources"}[w.Answer]
	f.Summary = fmt.Sprintf("PATCH answered %d with %s", w.Outcome.HTTPStatus, answer)
	switch {
	case w.ReadBackErr != nil:
		f.Status = Problem
		f.Summary += "; reading the option back failed: " + errText(w.ReadBackErr)
		f.Hint = "apply verifies its changes by reading them back: see why the read fails"
	case w.ReadBack == nil:
		f.Status = Problem
		f.Summary += "; the option is gone from the integration"
		f.Hint = "report it with probe.json attached"
	case !sameOption(w.Before, *w.ReadBack):
		f.Status = Problem
		f.Summary += "; but the option reads back different from what was sent"
		f.Hint = "another writer may have changed it meanwhile, or the server changes what it stores: check the option in the web UI"
		f.Facts["read_back_unchanged"] = false
	default:
		f.Status = OK
		f.Summary += "; the option reads back unchanged"
		f.Facts["read_back_unchanged"] = true
	}
	return f
}

func sameOption(a, b bulk.Option) bool {
	return a.Permission == b.Permission && a.Readable == b.Readable && jsonEqual(a.Value, b.Value)
}

// answers merges the shapes of the answers by endpoint and status.
func answers(xs []api.Exchange) map[string]*bulk.Shape {
	out := map[string]*bulk.Shape{}
	for _, x := range xs {
		if x.Shape == nil || x.Endpoint == "GET /api/openapi" {
			continue // the OpenAPI document is judged, not reproduced
		}
		k := fmt.Sprintf("%s %d", x.Endpoint, x.Status)
		out[k] = bulk.Merge(out[k], x.Shape)
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func ms(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func msNumber(d time.Duration) float64 {
	return float64(d.Round(10*time.Microsecond)) / float64(time.Millisecond)
}

// count says "1 option" or "3 options".
func count(n int, word string) string { return fmt.Sprintf("%d %s", n, bulk.Plural(n, word, word+"s")) }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// jsonEqual reports whether two JSON values are the same value (member order and spacing
// aside).
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
