// Package api is the Polarity v5 REST client of polarity-bulk, and the only package on the
// client side that imports net/http. It reads integrations with their options, patches options,
// and handles authentication, TLS, rate limiting, retries and the JSON:API error format, all
// described in polarity-api.md.
//
// One Client is shared by every worker: it holds the one rate limiter every request waits on,
// the pause a Retry-After imposes on everyone, and the login session.
package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// The defaults of Config (see DefaultConfig), and the bounds of waiting and reading.
const (
	// DefaultTimeout bounds one request attempt.
	DefaultTimeout = 30 * time.Second
	// DefaultRate is the requests per second of the shared limiter.
	DefaultRate = 5.0
	// DefaultBurst is the shared limiter's burst.
	DefaultBurst = 1
	// DefaultRetries is how many times a failed attempt is retried.
	DefaultRetries = 5
	// DefaultMaxWait bounds one pause a server asks for (Retry-After). A longer one is not
	// waited for: the request fails at once, and so does every request that would have to wait
	// for it, so that a server asking for a day does not hold the run for a day.
	DefaultMaxWait = 10 * time.Minute
	// DefaultRetryBudget is the size of the retry budget shared by every request of a client
	// (see retryBudget).
	DefaultRetryBudget = 500
	// DefaultUserAgent is sent as User-Agent unless the caller names itself.
	DefaultUserAgent = "polarity-bulk"
	// MaxBody caps the size of one answer, after decompression: a page of a thousand
	// integrations is a few megabytes.
	MaxBody = 64 << 20
	// MaxPatchBody caps the answer to a PATCH, after decompression. The answer holds at most
	// the options of one integration and is read only for its errors, so a larger one is a
	// broken or hostile server; the cap keeps a gzip bomb to a megabyte per request in flight.
	MaxPatchBody = 1 << 20
	// MaxAuthBody caps the answers to login, refresh and logout, which hold a token.
	MaxAuthBody = 1 << 20
)

// Backoff between retries: exponential from backoffBase, capped at backoffCap, with full jitter
// (a uniform wait between 0 and the bound) so that workers that failed together do not come
// back together.
const (
	backoffBase = 250 * time.Millisecond
	backoffCap  = 30 * time.Second
)

// Config says how to reach and authenticate to a server. A zero Timeout, Rate, Burst,
// MaxAttempts, MaxWait, RetryBudget or UserAgent takes its value from DefaultConfig (zero is
// never a valid setting of any of them); negative ones are refused.
type Config struct {
	// URL is the server's base URL, e.g. https://polarity.example.com; a path prefix is allowed.
	URL string
	// APIKey is sent as Authorization: Bearer. Give either it or Username and Password.
	APIKey string
	// Username and Password log in with POST /api/users/login.
	Username, Password string
	// CACertFile names a PEM file of CA certificates trusted in addition to the system's.
	CACertFile string
	// InsecureSkipVerify turns TLS certificate checking off; the caller warns the user.
	InsecureSkipVerify bool
	// Timeout bounds each request attempt, not counting the wait for the rate limiter.
	Timeout time.Duration
	// Rate (requests per second) and Burst configure the one limiter shared by every request,
	// GETs and logins included.
	Rate  float64
	Burst int
	// Auto, when set, paces the requests as --rate auto does instead (Rate and Burst are then
	// not used): see AutoPace and package pace.
	Auto *AutoPace
	// MaxAttempts is how many times one request may be sent: the first attempt and its
	// retries (network errors, timeouts, 429, 502, 503, 504). 1 means no retries.
	MaxAttempts int
	// MaxWait is the longest Retry-After pause honoured; a server asking for more fails the
	// request with ErrWaitTooLong.
	MaxWait time.Duration
	// RetryBudget is the number of tokens in the retry budget shared by every request (see
	// retryBudget).
	RetryBudget int
	// Logger receives debug and warning records; nil discards them. It never receives a
	// token, a key, a password or an option value.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent.
	UserAgent string
	// OnAttempt, when set, is called once per HTTP attempt (logins, retries and read-backs
	// included), after the attempt ended and the client decided what follows, so the
	// Attempt says whether it is retried, after what wait, and what pause a Retry-After
	// imposed: what apply's timeline records (report.html). Observe, below, sees the same
	// attempt earlier, as it was answered, with what probe reads. Both are called from the
	// goroutine that made the attempt, possibly from several at once: they must be safe for
	// concurrent use, and quick, because the next request of that goroutine waits for them.
	OnAttempt func(Attempt)
	// Transport replaces the HTTP transport, for tests. Nil means a clone of
	// http.DefaultTransport with proxies from the environment and the TLS settings above; a
	// non-nil Transport ignores CACertFile and InsecureSkipVerify.
	Transport http.RoundTripper
	// Observe, when set, is called after every request attempt with what `probe` reports
	// (Exchange: status, latency, rate-limit headers, TLS, the answer's shape, never a
	// value). It is called from the goroutine that sent the request and must be quick.
	Observe func(Exchange)
}

// DefaultConfig is the one place the client's defaults are written: what a zero field of
// Config means, and what the command line's flags start from.
func DefaultConfig() Config {
	return Config{
		Timeout: DefaultTimeout, Rate: DefaultRate, Burst: DefaultBurst,
		MaxAttempts: 1 + DefaultRetries, MaxWait: DefaultMaxWait, RetryBudget: DefaultRetryBudget,
		UserAgent: DefaultUserAgent,
	}
}

// withDefaults fills the zero fields of cfg from DefaultConfig and checks the others.
func (cfg Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = d.MaxWait
	}
	if cfg.Rate == 0 {
		cfg.Rate = d.Rate
	}
	fill(&cfg.Burst, d.Burst)
	fill(&cfg.MaxAttempts, d.MaxAttempts)
	fill(&cfg.RetryBudget, d.RetryBudget)
	if cfg.UserAgent == "" {
		cfg.UserAgent = d.UserAgent
	}
	switch {
	case cfg.Timeout < 0:
		return cfg, &ConfigError{Err: fmt.Errorf("timeout %s is negative", cfg.Timeout)}
	case cfg.MaxWait < 0:
		return cfg, &ConfigError{Err: fmt.Errorf("max wait %s is negative", cfg.MaxWait)}
	case cfg.Rate <= 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		// A rate of 0 or less never lets a request go.
		return cfg, &ConfigError{Err: fmt.Errorf("rate %g must be a positive number of requests per second", cfg.Rate)}
	case cfg.Burst < 1:
		// A burst below 1 makes every wait fail.
		return cfg, &ConfigError{Err: fmt.Errorf("burst %d must be at least 1", cfg.Burst)}
	case cfg.MaxAttempts < 1:
		return cfg, &ConfigError{Err: fmt.Errorf("max attempts %d must be at least 1", cfg.MaxAttempts)}
	case cfg.RetryBudget < 1:
		return cfg, &ConfigError{Err: fmt.Errorf("retry budget %d must be at least 1", cfg.RetryBudget)}
	}
	if a := cfg.Auto; a != nil {
		switch {
		case a.Max < 0 || math.IsNaN(a.Max) || math.IsInf(a.Max, 0):
			return cfg, &ConfigError{Err: fmt.Errorf("max rate %g must be a positive number of requests per second", a.Max)}
		case a.Start < 0 || math.IsNaN(a.Start) || math.IsInf(a.Start, 0):
			return cfg, &ConfigError{Err: fmt.Errorf("start rate %g must not be negative", a.Start)}
		}
	}
	return cfg, nil
}

// ConfigError is a setting New refuses: the caller's mistake, not the server's. Hint, when
// set, says how to fix it.
type ConfigError struct {
	Err  error
	Hint string
}

// Error reads as the message and, on a line of its own, the hint.
func (e *ConfigError) Error() string {
	if e.Hint == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + "\nhint: " + e.Hint
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// configError is a ConfigError of a message and a hint.
func configError(hint, format string, args ...any) *ConfigError {
	return &ConfigError{Err: fmt.Errorf(format, args...), Hint: hint}
}

// Client talks to one Polarity server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	hc        *http.Client
	apiKey    string
	username  string
	password  string
	timeout   time.Duration
	retries   int
	log       *slog.Logger
	ua        string
	pacer     *pacer // the one limiter every request waits on
	maxBody   int64
	maxWait   time.Duration
	budget    *retryBudget
	onAttempt func(Attempt) // Config.OnAttempt
	// maxIntegrations is MaxIntegrations; tests lower it.
	maxIntegrations int

	pauseMu    sync.Mutex
	pauseUntil time.Time // no request starts before this (Retry-After)

	// authSem is held by the one goroutine logging in, refreshing or logging out; a channel so
	// that waiting for it respects the context.
	authSem chan struct{}
	tokMu   sync.Mutex
	token   string
	expiry  time.Time // local clock; zero when unknown
	life    time.Duration
	// creds holds the credentials (API key, password, every token); secrets holds them and
	// every sensitive value read in clear. Both scrub server text; creds also finds options
	// and names that hold a credential.
	creds   *secret.Set
	secrets *secret.Set

	requests atomic.Int64
	// listed is how many integrations the last unfiltered listing held (0: none yet), to tell
	// a filter the server ignores from one that matches everything (WithErrors).
	listed atomic.Int64
	// sizeIdx is 1 + the index in pageSizes of the page size the server last accepted (0:
	// none yet).
	sizeIdx atomic.Int32

	shapes   *shapeTally    // the forms of the answers met (Shapes)
	observer func(Exchange) // Config.Observe
	insecure bool           // Config.InsecureSkipVerify
	roots    *x509.CertPool // the roots TLS verifies with; nil: the system's
}

// New checks cfg and returns a client. It sends nothing: a password login happens lazily,
// before the first request. Every setting it refuses is a *ConfigError.
func New(cfg Config) (*Client, error) {
	base, err := parseBase(cfg.URL)
	if err != nil {
		return nil, err
	}
	if err := checkAuth(cfg, base); err != nil {
		return nil, err
	}
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		apiKey:    cfg.APIKey,
		username:  cfg.Username,
		password:  cfg.Password,
		timeout:   cfg.Timeout,
		retries:   cfg.MaxAttempts - 1,
		log:       cfg.Logger,
		ua:        cfg.UserAgent,
		maxBody:   MaxBody,
		maxWait:   cfg.MaxWait,
		budget:    newRetryBudget(cfg.RetryBudget, cfg.MaxWait),
		pacer:     newPacer(cfg.Rate, cfg.Burst, cfg.Auto),
		authSem:   make(chan struct{}, 1),
		creds:     secret.NewSet(Redacted),
		secrets:   secret.NewSet(Redacted),
		onAttempt: cfg.OnAttempt,

		maxIntegrations: MaxIntegrations,
		shapes:          newShapeTally(),
		observer:        cfg.Observe,
		insecure:        cfg.InsecureSkipVerify,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.addCredential(cfg.APIKey)
	c.addCredential(cfg.Password)
	rt, roots, err := transport(cfg)
	if err != nil {
		return nil, err
	}
	c.roots = roots
	c.hc = &http.Client{Transport: rt, CheckRedirect: c.checkRedirect}
	return c, nil
}

// checkAuth refuses credentials given twice or by halves, and any sent over plain http off
// loopback.
func checkAuth(cfg Config, base *url.URL) error {
	switch {
	case cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != ""):
		return configError("use one way to authenticate", "both an api key and a username/password are given")
	case cfg.APIKey == "" && (cfg.Username == "" || cfg.Password == ""):
		if cfg.Username != "" || cfg.Password != "" {
			return &ConfigError{Err: errors.New("a username needs a password and a password a username")}
		}
		return configError("give an api key, or a username and a password", "no credentials")
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		return configError(fmt.Sprintf("use https://%s, or plain http only to a loopback address (127.0.0.1, ::1, localhost)", base.Host),
			"refusing to send credentials over plain http to %s", base.Host)
	}
	return nil
}

// transport is cfg's Transport, or a clone of http.DefaultTransport with proxies from the
// environment and cfg's TLS settings.
func transport(cfg Config) (http.RoundTripper, *x509.CertPool, error) {
	if cfg.Transport != nil {
		return cfg.Transport, nil, nil
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CACertFile != "" {
		pool, err := certPool(cfg.CACertFile)
		if err != nil {
			return nil, nil, err
		}
		tlsConf.RootCAs = pool
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.TLSClientConfig = tlsConf
	// Every request goes to one host, from as many workers as --concurrency says. The default
	// of 2 idle connections per host closed the others whenever answers came back together,
	// and the next PATCHes paid for a new TCP and TLS handshake.
	t.MaxIdleConnsPerHost = t.MaxIdleConns
	return t, tlsConf.RootCAs, nil
}

// Requests returns how many requests the client has sent so far, every attempt counted.
func (c *Client) Requests() int64 { return c.requests.Load() }

func parseBase(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, configError("give the base url, e.g. https://polarity.example.com", "no server url")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("server url: %w", err)}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, configError("e.g. https://polarity.example.com", "server url %q: scheme must be https or http", raw)
	}
	if u.Host == "" {
		return nil, &ConfigError{Err: fmt.Errorf("server url %q has no host", raw)}
	}
	if u.User != nil {
		// Not echoed: the user info may hold a password.
		return nil, configError("remove user:password@ from the url and pass credentials the usual way", "server url holds credentials")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, &ConfigError{Err: fmt.Errorf("server url %q must not have a query or fragment", u.Redacted())}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// isLoopback reports whether host is one plain http may carry credentials to.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func certPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("ca certificate: %w", err)}
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &ConfigError{Err: fmt.Errorf("ca certificate %s: no PEM certificate found", file)}
	}
	return pool, nil
}

// checkRedirect follows redirects for GETs only, and only within the origin the user gave:
// Go turns a redirected PATCH or POST into a GET, which would answer 200 and look like
// success; and Go keeps the Authorization header on a redirect to another port of the same
// host, or from https to http, so following one would hand the bearer token to whoever
// listens there. A redirect it refuses is a *RedirectError.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return &RedirectError{Reason: "stopped after 5 redirects"}
	}
	if via[0].Method != http.MethodGet {
		return http.ErrUseLastResponse
	}
	if origin(req.URL) != origin(c.base) {
		// Not the URL: the server chose it, and it may hold anything.
		return &RedirectError{Reason: fmt.Sprintf("refusing redirect to another origin (%s, not %s): credentials are only sent to the server given", req.URL.Scheme+"://"+req.URL.Host, origin(c.base))}
	}
	return nil
}

// RedirectError is a redirect the client would not follow. A retry cannot help: the server
// answers the same way.
type RedirectError struct {
	Reason string
}

func (e *RedirectError) Error() string { return e.Reason }

// origin is a URL's scheme, host and port, the port spelled out.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Redacted replaces a credential or a sensitive value in text that came from the server.
const Redacted = "(redacted)"

// addCredential remembers a credential (an API key, a password, a token) so that no text
// from the server can carry it, and no option holding it is shown.
func (c *Client) addCredential(s string) {
	c.creds.Add(s)
	c.secrets.Add(s)
}

// addSecret remembers a sensitive value read in clear, so that a server echoing it in a
// later error cannot put it in a report.
func (c *Client) addSecret(s ...string) { c.secrets.Add(s...) }

// scrub removes the known secrets, and extra (the sensitive values of one request), from s.
func (c *Client) scrub(s string, extra []string) string { return c.secrets.Scrub(s, extra...) }

// maxScrubbed bounds the text scrubbed for one message: only its start is ever shown.
const maxScrubbed = 16 << 10

// clean makes server text fit for an error: secrets scrubbed first, then cut to n bytes on one
// line, so that the cut cannot leave part of a secret behind.
func (c *Client) clean(s string, extra []string, n int) string {
	if len(s) > maxScrubbed {
		// A secret the cut splits is scrubbed too: its start is at the end.
		s = c.secrets.ScrubCut(s[:maxScrubbed], extra...)
	} else {
		s = c.scrub(s, extra)
	}
	// Scrub, flatten control characters, scrub again: dropping "\x01" from "sec\x01ret" would
	// otherwise rebuild a secret that the first pass could not see.
	return clip(c.scrub(secret.OneLine(s), extra), n)
}

// scrubbedError is an error whose text had secrets in it: it reads scrubbed, and still
// unwraps to the original for errors.Is and errors.As (which nothing uses to print it).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubErr scrubs an error's text (a network error names the URL, which a redirect lets the
// server choose; a certificate error names what the server's certificate says).
func (c *Client) scrubErr(err error, extra []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if s := c.scrub(msg, extra); s != msg {
		return &scrubbedError{msg: s, err: err}
	}
	return err
}
