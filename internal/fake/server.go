package fake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MediaType is the JSON:API media type: required on PATCH bodies, sent on every response.
const MediaType = "application/vnd.api+json"

// maxBody bounds request bodies; a bulk PATCH of one integration is a few kilobytes.
const maxBody = 8 << 20

// AuthKind says how a request authenticated, as recorded in Request.
type AuthKind string

// The ways a request can present (or fail to present) credentials.
const (
	AuthNone    AuthKind = "none"    // no Authorization: Bearer header
	AuthToken   AuthKind = "token"   // a live login token
	AuthAPIKey  AuthKind = "api-key" // a configured API key
	AuthExpired AuthKind = "expired" // a login token past its expiry
	AuthInvalid AuthKind = "invalid" // anything else, including logged-out tokens
)

// Fault names recorded in Request.Fault.
const (
	FaultRateLimit = "rate-limit"
	FaultFail      = "fail"
	FaultDrop      = "drop"
	FaultHang      = "hang"
)

// Request is one API request as the server received and answered it.
type Request struct {
	Seq         int       `json:"seq"` // 1-based arrival order since New, not reset
	Time        time.Time `json:"time"`
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Query       string    `json:"query,omitempty"` // raw, undecoded query string
	ContentType string    `json:"content-type,omitempty"`
	Body        []byte    `json:"-"`
	Auth        AuthKind  `json:"auth"`
	// Status is the answered status code: 0 while the request is in flight, and for a
	// dropped connection or a hang that ended because the client gave up.
	Status int    `json:"status"`
	Fault  string `json:"fault,omitempty"` // one of the Fault* names, or ""
	Done   bool   `json:"done"`
}

// MarshalJSON writes Body as a string, which is what /_fake/requests readers want to see.
func (r Request) MarshalJSON() ([]byte, error) {
	type plain Request
	return json.Marshal(struct {
		plain
		Body string `json:"body"`
	}{plain(r), string(r.Body)})
}

// principal is who a request authenticated as.
type principal struct {
	kind  AuthKind
	token string          // the bearer credential as sent
	scope map[string]bool // nil: every integration
}

func (p principal) allows(id string) bool { return p.scope == nil || p.scope[id] }

// Server is a Polarity v5 compatible http.Handler holding its integrations in memory. All
// methods are safe for concurrent use.
type Server struct {
	done      chan struct{} // closed by Close: releases hangs, holds and latency waits
	closeOnce sync.Once
	logMu     sync.Mutex // serialises Config.Log writes

	mu           sync.Mutex
	cfg          Config
	integrations []Integration
	index        map[string]int
	tokens       map[string]time.Time // login token -> expiry
	tokenSeq     uint64
	rng          *rand.Rand
	bucket       bucket
	seq          int
	requests     []*Request
	inFlight     int
	maxInFlight  int
	hold         chan struct{} // non-nil while PATCHes are held
}

// New returns a server holding a copy of fix (nil means no integrations). It fails when fix
// or cfg is invalid.
func New(fix *Fixture, cfg Config) (*Server, error) {
	var own Fixture
	if fix != nil {
		own = *fix
		own.Integrations = make([]Integration, len(fix.Integrations))
		for i, in := range fix.Integrations {
			own.Integrations[i] = in.clone()
		}
	}
	if err := own.Validate(); err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	if cfg.Username == "" {
		cfg.Username = own.Username
	}
	if cfg.Password == "" {
		cfg.Password = own.Password
	}
	if len(cfg.APIKeys) == 0 {
		cfg.APIKeys = own.APIKeys
	}
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if len(cfg.APIKeys) == 0 {
		cfg.APIKeys = []APIKey{{Key: DefaultAPIKey}}
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s := &Server{
		done:         make(chan struct{}),
		cfg:          cfg,
		integrations: own.Integrations,
		index:        make(map[string]int, len(own.Integrations)),
		tokens:       map[string]time.Time{},
	}
	for i, in := range s.integrations {
		s.index[in.ID] = i
	}
	s.rng = newRand(cfg.Faults.Seed)
	return s, nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x706f6c6172697479)) }

// Close releases every request held by a hang fault, by HoldPatches or by added latency, and
// makes later ones return at once. Call it before http.Server.Shutdown, which would otherwise
// wait for hanging requests. The handler keeps answering other requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// Config returns the current configuration, credentials and defaults included.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	c.APIKeys = append([]APIKey(nil), c.APIKeys...)
	return c
}

// SetConfig replaces the configuration. It restarts the fault generator from
// cfg.Faults.Seed and refills the rate-limit bucket. Login tokens already issued keep their
// expiry.
func (s *Server) SetConfig(cfg Config) error {
	cfg = cfg.withDefaults()
	if cfg.Username == "" || cfg.Password == "" || len(cfg.APIKeys) == 0 {
		return errors.New("config: username, password and api keys are required")
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	s.rng = newRand(cfg.Faults.Seed)
	s.bucket = bucket{}
	return nil
}

// SetFaults replaces only the faults of the configuration, as SetConfig does.
func (s *Server) SetFaults(f Faults) error {
	f = f.withDefaults()
	if err := f.validate(); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Faults = f
	s.rng = newRand(f.Seed)
	s.bucket = bucket{}
	return nil
}

// Requests returns a copy of the API requests received since New or ResetRequests, in
// arrival order. Control requests under /_fake/ are not recorded.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
		out[i].Body = append([]byte(nil), r.Body...)
	}
	return out
}

// ResetRequests forgets the recorded requests and resets MaxInFlight to the current number
// of PATCHes in flight.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.maxInFlight = s.inFlight
}

// InFlight returns the number of PATCH requests being handled right now.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// MaxInFlight returns the largest number of PATCH requests handled at the same time since
// New or ResetRequests. A PATCH counts from its arrival (before any fault or latency) until
// it is answered.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// HoldPatches makes PATCH /api/integration-options requests wait, after authentication,
// faults and the document shape checks but before they touch the state, until release is
// called (or the client gives up, or Close). With InFlight it lets concurrency tests see exactly how many PATCHes a client
// keeps open. release may be called more than once.
func (s *Server) HoldPatches() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	ch := s.hold
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.hold == ch {
				s.hold = nil
			}
			close(ch)
		})
	}
}

// State returns a copy of every integration with its current option values, unmasked.
func (s *Server) State() []Integration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Integration, len(s.integrations))
	for i, in := range s.integrations {
		out[i] = in.clone()
	}
	return out
}

// Integration returns a copy of one integration with its current option values, unmasked.
func (s *Server) Integration(id string) (Integration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return Integration{}, false
	}
	return s.integrations[i].clone(), true
}

// SetOption changes an option's value behind the clients' back (drift). The value must fit
// the option's kind; JSON null clears it.
func (s *Server) SetOption(id, key string, value json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(id, key)
	if err != nil {
		return err
	}
	v, problem := checkValue(o, value)
	if problem != "" {
		return fmt.Errorf("set option %s-%s: %s", id, key, problem)
	}
	o.Value = v
	return nil
}

// SetPermissions changes an option's permissions behind the clients' back. Both true is
// refused, as the API refuses it.
func (s *Server) SetPermissions(id, key string, adminOnly, userCanEdit bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupLocked(id, key)
	if err != nil {
		return err
	}
	if adminOnly && userCanEdit {
		return fmt.Errorf("set permissions %s-%s: admin-only and user-can-edit cannot both be true", id, key)
	}
	o.AdminOnly, o.UserCanEdit = adminOnly, userCanEdit
	return nil
}

// SetStatus changes an integration's status; anything but "running" refuses option changes.
func (s *Server) SetStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return fmt.Errorf("set status %s: unknown integration", id)
	}
	if status == "" {
		return fmt.Errorf("set status %s: empty status", id)
	}
	s.integrations[i].Status = status
	return nil
}

// Install adds an integration, as installing one on a real server does (at the end of the
// list, as the newest). It is checked like a fixture's integration; its id must be new.
func (s *Server) Install(in Integration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := Fixture{Integrations: append(slices.Clone(s.integrations), in.clone())}
	if err := all.Validate(); err != nil {
		return fmt.Errorf("install %s: %w", in.ID, err)
	}
	s.index[in.ID] = len(s.integrations)
	s.integrations = append(s.integrations, all.Integrations[len(all.Integrations)-1])
	return nil
}

// Uninstall removes an integration.
func (s *Server) Uninstall(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return fmt.Errorf("uninstall %s: unknown integration", id)
	}
	s.integrations = slices.Delete(s.integrations, i, i+1)
	clear(s.index)
	for j, in := range s.integrations {
		s.index[in.ID] = j
	}
	return nil
}

// ExpireTokens makes every login token issued so far invalid, as a server restart would, so
// tests can check that a client logs in again. API keys are unaffected.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func (s *Server) lookupLocked(id, key string) (*Option, error) {
	i, ok := s.index[id]
	if !ok {
		return nil, fmt.Errorf("option %s-%s: unknown integration", id, key)
	}
	o := s.integrations[i].option(key)
	if o == nil {
		return nil, fmt.Errorf("option %s-%s: unknown option", id, key)
	}
	return o, nil
}

// issueTokenLocked creates a login token. Tokens are derived from the seed and a counter so
// runs are reproducible; they only need to be unguessable by accident.
func (s *Server) issueTokenLocked(now time.Time) (string, time.Time) {
	s.tokenSeq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("polarity-fake-token/%d/%d", s.cfg.Faults.Seed, s.tokenSeq)))
	tok := "pft_" + hex.EncodeToString(sum[:16])
	exp := now.Add(s.cfg.TokenLifetime)
	s.tokens[tok] = exp
	return tok, exp
}

// authLocked resolves the request's Bearer credential.
func (s *Server) authLocked(r *http.Request, now time.Time) principal {
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return principal{kind: AuthNone}
	}
	if exp, ok := s.tokens[cred]; ok {
		if !now.Before(exp) {
			return principal{kind: AuthExpired, token: cred}
		}
		return principal{kind: AuthToken, token: cred}
	}
	for _, k := range s.cfg.APIKeys {
		if k.Key == cred {
			p := principal{kind: AuthAPIKey, token: cred}
			if len(k.Integrations) > 0 {
				p.scope = map[string]bool{}
				for _, id := range k.Integrations {
					p.scope[id] = true
				}
			}
			return p
		}
	}
	return principal{kind: AuthInvalid, token: cred}
}

// fate is what the faults decided for one request.
type fate struct {
	latency    time.Duration
	limited    bool
	retryAfter time.Duration
	fault      string
	failStatus int
	// metered says the rate limit applied to the request; tokens is what its bucket held
	// after it, for the RateLimit headers.
	metered bool
	tokens  float64
}

// decideLocked draws the request's fate. Rate limiting is checked first and answers at once;
// otherwise latency applies, then at most one of drop, hang and fail, in that order.
func (s *Server) decideLocked(r *http.Request, now time.Time) fate {
	f := s.cfg.Faults
	if f.On == FaultsOnPatch && r.Method != http.MethodPatch {
		return fate{}
	}
	drop, hang, fail := s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
	out := fate{latency: f.Latency}
	if f.RateLimit > 0 {
		ok, wait := s.bucket.take(now, f.RateLimit, f.burst())
		out.metered, out.tokens = true, s.bucket.tokens
		if !ok {
			return fate{limited: true, retryAfter: wait, fault: FaultRateLimit, metered: true, tokens: out.tokens}
		}
	}
	switch {
	case drop < f.DropRate:
		out.fault = FaultDrop
	case hang < f.HangRate:
		out.fault = FaultHang
	case fail < f.FailRate:
		out.fault, out.failStatus = FaultFail, f.FailStatus
	}
	return out
}

// ServeHTTP answers the Polarity API under /api/ and the control API under /_fake/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", MediaType)
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		s.serveControl(w, r)
		return
	}
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))

	s.mu.Lock()
	cfg := s.cfg
	now := cfg.Now()
	who := s.authLocked(r, now)
	s.seq++
	rec := &Request{
		Seq: s.seq, Time: now, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Body: body, Auth: who.kind,
	}
	s.requests = append(s.requests, rec)
	f := s.decideLocked(r, now)
	rec.Fault = f.fault
	counted := r.Method == http.MethodPatch
	if counted {
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
	}
	s.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() {
		s.mu.Lock()
		rec.Status, rec.Done = sw.status, true
		if counted {
			s.inFlight--
		}
		s.mu.Unlock()
		if cfg.Log != nil {
			s.logMu.Lock()
			fmt.Fprintf(cfg.Log, "%s %s %s %d auth=%s fault=%s %s\n", now.Format(time.TimeOnly),
				r.Method, r.URL.RequestURI(), sw.status, who.kind, orDash(f.fault), time.Since(start).Round(time.Microsecond))
			s.logMu.Unlock()
		}
	}()

	if s.inject(sw, r, f, cfg, now) {
		return
	}
	if readErr != nil {
		writeErrors(sw, http.StatusRequestEntityTooLarge, apiError{Title: "Request Entity Too Large", Detail: readErr.Error()})
		return
	}
	s.route(sw, r, body, who, now)
}

// inject plays the request's fate f before it is routed: the rate-limit headers, a 429 with
// its Retry-After, the latency, a dropped connection, a hang or an injected failure. It
// reports whether the request is answered (or abandoned) and must not be routed.
func (s *Server) inject(sw *statusWriter, r *http.Request, f fate, cfg Config, now time.Time) bool {
	if f.metered && cfg.Faults.RateLimitHeaders {
		policy, limit := cfg.Faults.rateLimitHeaders(f.tokens)
		sw.Header().Set("RateLimit-Policy", policy)
		sw.Header().Set("RateLimit", limit)
	}
	if f.limited {
		secs := max(1, int64(math.Ceil(f.retryAfter.Seconds())))
		if cfg.Faults.RetryAfterDate {
			sw.Header().Set("Retry-After", now.Add(time.Duration(secs)*time.Second).UTC().Format(http.TimeFormat))
		} else {
			sw.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		writeErrors(sw, http.StatusTooManyRequests, apiError{Title: "Too Many Requests", Detail: fmt.Sprintf("rate limit of %g requests per second exceeded", cfg.Faults.RateLimit)})
		return true
	}
	if f.latency > 0 && !s.wait(r, time.After(f.latency)) {
		return true
	}
	switch f.fault {
	case FaultDrop:
		s.drop(sw)
		return true
	case FaultHang:
		if s.wait(r, nil) {
			writeErrors(sw, http.StatusServiceUnavailable, apiError{Title: "Service Unavailable", Detail: "server shutting down"})
		}
		return true
	case FaultFail:
		writeErrors(sw, f.failStatus, apiError{Title: http.StatusText(f.failStatus), Detail: "injected failure"})
		return true
	}
	return false
}

// wait blocks until ready fires (ready nil: never) or the server is closed, and then reports
// true; it reports false when the client gave up first and there is no one left to answer.
func (s *Server) wait(r *http.Request, ready <-chan time.Time) bool {
	select {
	case <-ready:
		return true
	case <-s.done:
		return true
	case <-r.Context().Done():
		return false
	}
}

// drop closes the connection without an answer. Where hijacking is impossible (HTTP/2, a
// ResponseRecorder) it aborts the handler, which net/http turns into a reset connection.
func (s *Server) drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection for hijacking.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// apiError is one JSON:API error object.
type apiError struct {
	Status string     `json:"status"`
	Title  string     `json:"title"`
	Detail string     `json:"detail,omitempty"`
	Source *errSource `json:"source,omitempty"`
}

type errSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

func pointer(p string) *errSource { return &errSource{Pointer: p} }

// writeErrors answers status with a JSON:API errors document; each error's status is set to
// status as a string.
func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	for i := range errs {
		errs[i].Status = strconv.Itoa(status)
	}
	writeJSON(w, status, map[string]any{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep & in queries and < > in descriptions readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
