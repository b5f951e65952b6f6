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

	"golang.org/x/time/rate"

	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// The defaults Config's zero values stand for, and the bounds of waiting.
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

// Config says how to reach and authenticate to a server. Zero values take the defaults above.
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
	// Retries is how many times a failed attempt is retried (network errors, timeouts, 429,
	// 502, 503, 504). Zero means DefaultRetries; a negative value means no retries.
	Retries int
	// MaxWait is the longest Retry-After pause honoured; a server asking for more fails the
	// request with ErrWaitTooLong. Zero means DefaultMaxWait.
	MaxWait time.Duration
	// RetryBudget is the number of tokens in the retry budget shared by every request (see
	// retryBudget). Zero means DefaultRetryBudget; a negative value means no budget at all.
	RetryBudget int
	// Logger receives debug and warning records; nil discards them. It never receives a
	// token, a key, a password or an option value.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent; empty means "polarity-bulk".
	UserAgent string
	// Transport replaces the HTTP transport, for tests. Nil means a clone of
	// http.DefaultTransport with proxies from the environment and the TLS settings above; a
	// non-nil Transport ignores CACertFile and InsecureSkipVerify.
	Transport http.RoundTripper
}

// Client talks to one Polarity server. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	hc       *http.Client
	apiKey   string
	username string
	password string
	timeout  time.Duration
	retries  int
	log      *slog.Logger
	ua       string
	limiter  *rate.Limiter
	maxBody  int64
	maxWait  time.Duration
	budget   *retryBudget
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
}

// New checks cfg and returns a client. It sends nothing: a password login happens lazily,
// before the first request.
func New(cfg Config) (*Client, error) {
	base, err := parseBase(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, errors.New("both an api key and a username/password are given\nhint: use one way to authenticate")
	case cfg.APIKey == "" && (cfg.Username == "" || cfg.Password == ""):
		if cfg.Username != "" || cfg.Password != "" {
			return nil, errors.New("a username needs a password and a password a username")
		}
		return nil, errors.New("no credentials\nhint: give an api key, or a username and a password")
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("refusing to send credentials over plain http to %s\nhint: use https://%s, or plain http only to a loopback address (127.0.0.1, ::1, localhost)", base.Host, base.Host)
	}

	c := &Client{
		base:     base,
		apiKey:   cfg.APIKey,
		username: cfg.Username,
		password: cfg.Password,
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		log:      cfg.Logger,
		ua:       cfg.UserAgent,
		maxBody:  MaxBody,
		authSem:  make(chan struct{}, 1),
		creds:    secret.NewSet(Redacted),
		secrets:  secret.NewSet(Redacted),

		maxIntegrations: MaxIntegrations,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("timeout %s is negative", c.timeout)
	}
	c.maxWait = cfg.MaxWait
	switch {
	case c.maxWait == 0:
		c.maxWait = DefaultMaxWait
	case c.maxWait < 0:
		return nil, fmt.Errorf("max wait %s is negative", c.maxWait)
	}
	switch {
	case cfg.RetryBudget == 0:
		c.budget = newRetryBudget(DefaultRetryBudget, c.maxWait)
	case cfg.RetryBudget > 0:
		c.budget = newRetryBudget(cfg.RetryBudget, c.maxWait)
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	r, burst := cfg.Rate, cfg.Burst
	if r == 0 {
		r = DefaultRate
	}
	if burst == 0 {
		burst = DefaultBurst
	}
	// A burst below 1 makes every wait fail, and a rate of 0 or less never lets a request go.
	if r <= 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return nil, fmt.Errorf("rate %g must be a positive number of requests per second", cfg.Rate)
	}
	if burst < 1 {
		return nil, fmt.Errorf("burst %d must be at least 1", cfg.Burst)
	}
	c.limiter = rate.NewLimiter(rate.Limit(r), burst)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "polarity-bulk"
	}
	c.addCredential(cfg.APIKey)
	c.addCredential(cfg.Password)

	rt := cfg.Transport
	if rt == nil {
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
		if cfg.CACertFile != "" {
			pool, err := certPool(cfg.CACertFile)
			if err != nil {
				return nil, err
			}
			tlsConf.RootCAs = pool
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = http.ProxyFromEnvironment
		t.TLSClientConfig = tlsConf
		// Every request goes to one host, from as many workers as --concurrency says. The
		// default of 2 idle connections per host closed the others whenever answers came
		// back together, and the next PATCHes paid for a new TCP and TLS handshake.
		t.MaxIdleConnsPerHost = t.MaxIdleConns
		rt = t
	}
	c.hc = &http.Client{Transport: rt, CheckRedirect: c.checkRedirect}
	return c, nil
}

// Requests returns how many requests the client has sent so far, every attempt counted.
func (c *Client) Requests() int64 { return c.requests.Load() }

func parseBase(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("no server url\nhint: give the base url, e.g. https://polarity.example.com")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("server url: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("server url %q: scheme must be https or http\nhint: e.g. https://polarity.example.com", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("server url %q has no host", raw)
	}
	if u.User != nil {
		// Not echoed: the user info may hold a password.
		return nil, errors.New("server url holds credentials\nhint: remove user:password@ from the url and pass credentials the usual way")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server url %q must not have a query or fragment", u.Redacted())
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
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca certificate %s: no PEM certificate found", file)
	}
	return pool, nil
}

// checkRedirect follows redirects for GETs only, and only within the origin the user gave:
// Go turns a redirected PATCH or POST into a GET, which would answer 200 and look like
// success; and Go keeps the Authorization header on a redirect to another port of the same
// host, or from https to http, so following one would hand the bearer token to whoever
// listens there.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if via[0].Method != http.MethodGet {
		return http.ErrUseLastResponse
	}
	if origin(req.URL) != origin(c.base) {
		// Not the URL: the server chose it, and it may hold anything.
		return fmt.Errorf("refusing redirect to another origin (%s, not %s): credentials are only sent to the server given", req.URL.Scheme+"://"+req.URL.Host, origin(c.base))
	}
	return nil
}

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
func (c *Client) addSecret(s string) { c.secrets.Add(s) }

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
