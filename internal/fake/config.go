package fake

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Built-in credentials, used when neither the fixture nor the Config names others.
const (
	DefaultUsername = "admin"
	DefaultPassword = "polarity-fake-password"
	DefaultAPIKey   = "polarity-fake-api-key"
)

// Defaults for the Config fields left zero.
const (
	DefaultTokenLifetime = time.Hour
	DefaultPageSize      = 100
	// MaxPageSize caps page[size]; larger requests are clamped, not refused.
	MaxPageSize = 1000
)

// Placement says where an integration's options appear in integration responses.
type Placement string

// The placements polarity-api.md leaves open.
const (
	// OptionsIncluded serves options as resources in a top-level "included" array, linked
	// from relationships.integration-options.data.
	OptionsIncluded Placement = "included"
	// OptionsAttributes serves options as an "integration-options" array of flat objects
	// (id plus the option's attributes) inside the integration's attributes.
	OptionsAttributes Placement = "attributes"
)

// PasswordMode says how password option values are served.
type PasswordMode string

// The password modes polarity-api.md leaves open.
const (
	PasswordsClear  PasswordMode = "clear"
	PasswordsMasked PasswordMode = "masked" // non-empty values become MaskedPassword; "" and null stay
	PasswordsAbsent PasswordMode = "absent" // the value attribute is left out
)

// MaskedPassword is what a non-empty password value looks like in PasswordsMasked mode.
const MaskedPassword = "********"

// Option resource types and kind attribute names the fake can serve.
const (
	TypeSingular   = "integration-option"
	TypePlural     = "integration-options"
	KindAttrOption = "option-type"
	KindAttrType   = "type"
)

// FaultScope says which API requests the faults apply to.
type FaultScope string

// The fault scopes.
const (
	FaultsOnAll   FaultScope = "all"
	FaultsOnPatch FaultScope = "patch" // only PATCH requests: reads stay clean
)

// Config shapes the server's answers. The zero value is a well-behaved server with the
// default credentials and the default shape; New fills in defaults.
type Config struct {
	// Username, Password and APIKeys replace the fixture's credentials when set.
	Username string
	Password string
	APIKeys  []APIKey
	// TokenLifetime is the lifetime of login tokens (default 1h).
	TokenLifetime time.Duration

	OptionsIn          Placement    // default OptionsIncluded
	OptionResourceType string       // TypeSingular (default) or TypePlural
	KindAttr           string       // KindAttrOption (default) or KindAttrType
	Passwords          PasswordMode // default PasswordsMasked
	PatchStatus        int          // 200 (default, with the updated resources) or 204
	// OpenAPI says whether GET /api/openapi serves the document: OpenAPIOn (default) or
	// OpenAPIOff (404).
	OpenAPI string
	// OpenAPIPatchType, when set, is the only option resource type the document declares for
	// PATCH /api/integration-options (by default: both types the fake accepts).
	OpenAPIPatchType string

	// Unhealthy lists the changes that make an integration unhealthy (see Unhealthy).
	Unhealthy []Unhealthy
	// ErrorsFilter says how the list endpoint treats filter[integration.integration-errors]:
	// ErrorsFilterHonour (default), ErrorsFilterIgnore or ErrorsFilterRefuse.
	ErrorsFilter ErrorsFilterMode

	Faults Faults

	// Log, when set, gets one line per API request once it is answered.
	Log io.Writer
	// Now is the clock for token expiry and rate limiting (default time.Now).
	Now func() time.Time
}

// Faults are the misbehaviours the server can be switched to. Random faults are drawn from
// a generator seeded with Seed: three draws per faulted request (drop, hang, fail), so the
// n-th faulted request meets the same fate for the same seed whatever the rates.
type Faults struct {
	Seed uint64
	On   FaultScope // default FaultsOnAll
	// Latency is added to each faulted request before it is answered.
	Latency time.Duration
	// RateLimit, when positive, admits RateLimit requests per second: a token bucket, as API
	// gateways keep, full at the start and refilled at RateLimit per second up to RateBurst
	// tokens (default max(1, ceil(RateLimit)): one second's worth), so a client may burst
	// that far above the rate. The rest get 429 with Retry-After in whole seconds (at least
	// 1), or as an HTTP-date when RetryAfterDate is set.
	RateLimit      float64
	RateBurst      int
	RetryAfterDate bool
	// RateLimitHeaders sends the IETF draft's RateLimit-Policy (the bucket's rate as a quota
	// per window) and RateLimit (the tokens left, and when none is, the seconds until one
	// is) on every answer the limit applies to, 429s included.
	RateLimitHeaders bool
	// FailRate is the share of requests answered FailStatus (default 503).
	FailRate   float64
	FailStatus int
	// DropRate is the share of requests whose connection is closed without an answer.
	DropRate float64
	// HangRate is the share of requests that never get an answer until the client gives up
	// or the server is closed.
	HangRate float64
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.TokenLifetime == 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.OptionsIn == "" {
		c.OptionsIn = OptionsIncluded
	}
	if c.OptionResourceType == "" {
		c.OptionResourceType = TypeSingular
	}
	if c.KindAttr == "" {
		c.KindAttr = KindAttrOption
	}
	if c.Passwords == "" {
		c.Passwords = PasswordsMasked
	}
	if c.PatchStatus == 0 {
		c.PatchStatus = 200
	}
	if c.OpenAPI == "" {
		c.OpenAPI = OpenAPIOn
	}
	if c.ErrorsFilter == "" {
		c.ErrorsFilter = ErrorsFilterHonour
	}
	c.Unhealthy = append([]Unhealthy(nil), c.Unhealthy...)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Faults = c.Faults.withDefaults()
	c.APIKeys = append([]APIKey(nil), c.APIKeys...)
	return c
}

func (f Faults) withDefaults() Faults {
	if f.On == "" {
		f.On = FaultsOnAll
	}
	if f.FailStatus == 0 {
		f.FailStatus = 503
	}
	return f
}

// validate reports every invalid field at once.
func (c Config) validate() error {
	var errs []error
	if c.TokenLifetime < 0 {
		errs = append(errs, errors.New("token lifetime must be positive"))
	}
	switch c.OptionsIn {
	case OptionsIncluded, OptionsAttributes:
	default:
		errs = append(errs, fmt.Errorf("options-in %q: want included or attributes", c.OptionsIn))
	}
	switch c.OptionResourceType {
	case TypeSingular, TypePlural:
	default:
		errs = append(errs, fmt.Errorf("option resource type %q: want %s or %s", c.OptionResourceType, TypeSingular, TypePlural))
	}
	switch c.KindAttr {
	case KindAttrOption, KindAttrType:
	default:
		errs = append(errs, fmt.Errorf("kind attribute %q: want %s or %s", c.KindAttr, KindAttrOption, KindAttrType))
	}
	switch c.Passwords {
	case PasswordsClear, PasswordsMasked, PasswordsAbsent:
	default:
		errs = append(errs, fmt.Errorf("passwords %q: want clear, masked or absent", c.Passwords))
	}
	if c.PatchStatus != 200 && c.PatchStatus != 204 {
		errs = append(errs, fmt.Errorf("patch status %d: want 200 or 204", c.PatchStatus))
	}
	if c.OpenAPI != OpenAPIOn && c.OpenAPI != OpenAPIOff {
		errs = append(errs, fmt.Errorf("openapi %q: want on or off", c.OpenAPI))
	}
	switch c.ErrorsFilter {
	case ErrorsFilterHonour, ErrorsFilterIgnore, ErrorsFilterRefuse:
	default:
		errs = append(errs, fmt.Errorf("errors filter %q: want honour, ignore or refuse", c.ErrorsFilter))
	}
	for _, u := range c.Unhealthy {
		if err := u.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range c.APIKeys {
		if k.Key == "" {
			errs = append(errs, errors.New("api key: empty key"))
		}
	}
	if err := c.Faults.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (f Faults) validate() error {
	var errs []error
	switch f.On {
	case FaultsOnAll, FaultsOnPatch:
	default:
		errs = append(errs, fmt.Errorf("faults-on %q: want all or patch", f.On))
	}
	if f.Latency < 0 {
		errs = append(errs, errors.New("latency must not be negative"))
	}
	if f.RateLimit < 0 {
		errs = append(errs, errors.New("rate limit must not be negative"))
	}
	if f.RateBurst < 0 {
		errs = append(errs, errors.New("rate burst must not be negative"))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"fail rate", f.FailRate}, {"drop rate", f.DropRate}, {"hang rate", f.HangRate}} {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want a share between 0 and 1", r.name, r.v))
		}
	}
	if f.FailStatus < 500 || f.FailStatus > 599 {
		errs = append(errs, fmt.Errorf("fail status %d: want a 5xx code", f.FailStatus))
	}
	return errors.Join(errs...)
}

// burst is the token bucket size for the rate limit.
func (f Faults) burst() float64 {
	if f.RateBurst > 0 {
		return float64(f.RateBurst)
	}
	b := float64(int(f.RateLimit))
	if b < f.RateLimit {
		b++
	}
	return max(1, b)
}

// bucket is a token bucket: full at start, refilled at rate per second up to burst.
type bucket struct {
	tokens float64
	last   time.Time
	primed bool
}

// take reports whether a request arriving at now passes; if not, also how long until it
// would have.
func (b *bucket) take(now time.Time, rate, burst float64) (bool, time.Duration) {
	if !b.primed {
		b.tokens, b.last, b.primed = burst, now, true
	}
	if now.After(b.last) {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// policy is the bucket's rate as the draft's quota per window: q requests per w seconds,
// w the shortest whole number of seconds (up to 100) in which the rate is a whole number of
// requests, rounded down.
func (f Faults) policy() (q, w int64) {
	for w = 1; w < 100; w++ {
		if x := f.RateLimit * float64(w); x == float64(int64(x)) {
			return int64(x), w
		}
	}
	return int64(f.RateLimit * float64(w)), w
}

// rateLimitHeaders are the draft's fields for a bucket holding tokens: the policy, and the
// whole tokens left (with, when none is, the whole seconds until one is).
func (f Faults) rateLimitHeaders(tokens float64) (policy, limit string) {
	q, w := f.policy()
	policy = fmt.Sprintf(`"polarity-fake";q=%d;w=%d`, q, w)
	left := int64(max(0, tokens))
	limit = fmt.Sprintf(`"polarity-fake";r=%d`, left)
	if left == 0 {
		limit += fmt.Sprintf(";t=%d", int64(math.Ceil((1-max(0, tokens))/f.RateLimit)))
	}
	return policy, limit
}
