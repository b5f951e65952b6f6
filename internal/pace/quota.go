package pace

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Quota is what a server's rate-limit header fields said in one answer. The fields follow the
// IETF draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers):
// RateLimit-Policy names the quota policies (q units per w seconds), RateLimit the quota left
// under them (r, within t seconds). Earlier drafts' forms that servers still send are read too:
// draft-07's `RateLimit: limit=100, remaining=25, reset=5` and `RateLimit-Policy: 100;w=60`,
// and the RateLimit-Remaining / RateLimit-Reset pair (also with an X- prefix).
//
// The draft calls every value a hint, and says a malformed field must be ignored: so does
// ParseQuota, field by field.
type Quota struct {
	// PolicyRate is the sustained rate, in requests per second, of the tightest request
	// policy (q/w); 0 when no policy with a window was given.
	PolicyRate float64
	// PolicyConcurrency is the tightest "concurrent-requests" quota; 0 when none was given.
	PolicyConcurrency int
	// Remaining is the quota left (r); -1 when the server did not say.
	Remaining int
	// Window is the effective window of Remaining (t): no more than Remaining requests should
	// be sent within it. 0 when the server did not say.
	Window time.Duration
}

// NoQuota is a Quota that says nothing.
var NoQuota = Quota{Remaining: -1}

// Known reports whether q says anything.
func (q Quota) Known() bool {
	return q.PolicyRate > 0 || q.PolicyConcurrency > 0 || q.Remaining >= 0
}

// maxWindow bounds a window taken from a header: a server (or an intermediary, the draft
// warns) saying "wait a day" is not believed beyond what Retry-After is.
const maxWindow = 5 * time.Minute

// ParseQuota reads the rate-limit fields of an answer; get returns a header field's values
// (http.Header.Values). now converts a reset given as a Unix time (X-RateLimit-Reset as
// GitHub sends it) into a window.
func ParseQuota(get func(name string) []string, now time.Time) Quota {
	q := NoQuota
	q.policies(members(get("Ratelimit-Policy")))
	b := &binding{q: &q, best: math.Inf(1)}
	limit := members(get("Ratelimit"))
	if d, ok := dictionary(limit); ok {
		// draft-07: `limit=100, remaining=25, reset=5`.
		if r, ok := d["remaining"]; ok {
			t, hasT := d["reset"]
			b.consider(r, t, hasT)
		}
	} else {
		for _, m := range limit {
			r, ok := m.intParam("r")
			if !ok {
				continue
			}
			t, hasT := m.intParam("t")
			b.consider(r, t, hasT)
		}
	}
	if q.Remaining < 0 {
		b.fields(get, now)
	}
	return q
}

// policies takes the tightest rate and the tightest concurrency of the RateLimit-Policy
// members.
func (q *Quota) policies(ms []member) {
	for _, m := range ms {
		quota, hasQ := m.intParam("q")
		if !hasQ {
			// draft-07: the item itself is the quota, `100;w=60`.
			quota, hasQ = m.intItem()
		}
		w, hasW := m.intParam("w")
		if !hasQ || quota < 0 {
			continue
		}
		switch unit := m.strParam("qu"); unit {
		case "", "request", "requests":
			if !hasW || w <= 0 {
				continue // a quota without a window is no rate
			}
			if r := float64(quota) / float64(w); q.PolicyRate == 0 || r < q.PolicyRate {
				q.PolicyRate = r
			}
		case "concurrent-requests":
			if quota > 0 && (q.PolicyConcurrency == 0 || int(quota) < q.PolicyConcurrency) {
				q.PolicyConcurrency = int(min(quota, math.MaxInt32))
			}
		}
	}
}

// binding keeps in q the service limit that binds soonest of those an answer states: the
// least quota left per second of its window.
type binding struct {
	q    *Quota
	best float64
}

// consider is one limit: r requests left, within t seconds when hasT.
func (b *binding) consider(r, t int64, hasT bool) {
	if r < 0 || (hasT && t < 0) {
		return
	}
	window := time.Duration(0)
	if hasT {
		window = min(time.Duration(t)*time.Second, maxWindow)
	}
	per := float64(r)
	if window > 0 {
		per /= window.Seconds()
	}
	if per < b.best {
		b.best = per
		b.q.Remaining, b.q.Window = int(min(r, math.MaxInt32)), window
	}
}

// fields reads the older separate fields, RateLimit-Remaining and -Reset or their X-
// forms, the first pair present; a reset given as a Unix time counts from now.
func (b *binding) fields(get func(name string) []string, now time.Time) {
	for _, prefix := range []string{"Ratelimit-", "X-Ratelimit-"} {
		r, ok := single(get(prefix + "Remaining"))
		if !ok {
			continue
		}
		t, hasT := single(get(prefix + "Reset"))
		if hasT && t > 1_000_000_000 {
			// A Unix time, not a number of seconds.
			t = int64(math.Ceil(time.Unix(t, 0).Sub(now).Seconds()))
			hasT = t >= 0
		}
		b.consider(r, t, hasT)
		break
	}
}

// member is one member of a structured-field list: an item and its parameters.
type member struct {
	item   string
	params map[string]string
}

func (m member) intItem() (int64, bool) { return parseInt(m.item) }

func (m member) intParam(k string) (int64, bool) {
	v, ok := m.params[k]
	if !ok {
		return 0, false
	}
	return parseInt(v)
}

func (m member) strParam(k string) string { return unquote(m.params[k]) }

// members splits a structured-field list (RFC 9651), possibly spread over several field
// lines, into its members. It is lenient where leniency cannot mislead (spaces) and drops a
// member it cannot read.
func members(values []string) []member {
	var out []member
	for _, v := range values {
		for _, raw := range splitOutsideQuotes(v, ',') {
			parts := splitOutsideQuotes(raw, ';')
			if len(parts) == 0 || strings.TrimSpace(parts[0]) == "" {
				continue
			}
			m := member{item: strings.TrimSpace(parts[0]), params: map[string]string{}}
			for _, p := range parts[1:] {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok {
					val = "?1" // a bare parameter is boolean true
				}
				m.params[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
			}
			out = append(out, m)
		}
	}
	return out
}

// dictionary reads draft-07's RateLimit form, whose members are key=value pairs.
func dictionary(ms []member) (map[string]int64, bool) {
	if len(ms) == 0 {
		return nil, false
	}
	d := map[string]int64{}
	for _, m := range ms {
		k, v, ok := strings.Cut(m.item, "=")
		if !ok {
			return nil, false
		}
		n, ok := parseInt(strings.TrimSpace(v))
		if !ok {
			continue
		}
		d[strings.ToLower(strings.TrimSpace(k))] = n
	}
	return d, true
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func single(values []string) (int64, bool) {
	if len(values) != 1 {
		return 0, false
	}
	return parseInt(strings.TrimSpace(values[0]))
}

// parseInt reads a structured-field integer: at most 15 digits, optionally negative.
func parseInt(s string) (int64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	}
	return s
}
