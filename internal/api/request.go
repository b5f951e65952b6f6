package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const mediaType = "application/vnd.api+json"

// call is one logical request, sent as one or more attempts.
type call struct {
	op     string // names the call and its item in errors
	method string
	path   string // escaped, under the base URL, starting with /api/
	// integration is the id of the one integration the call is about (a PATCH, a read of one
	// integration), for Attempt.Integration; empty for lists and logins.
	integration string
	query       url.Values
	body        []byte
	// auth says how the request authenticates: session uses the API key or the login session
	// (logging in lazily and once more on a 401); bearer sends a fixed token (refresh,
	// logout); none sends nothing (login).
	auth   authMode
	bearer string
	// quiet leaves the body out of error text: login and refresh answers hold tokens.
	quiet bool
	// scrub lists strings (option values sent) that must not appear in error text.
	scrub []string
	// maxBody caps the answer's size after decompression; zero means the client's maxBody.
	maxBody int64
}

type authMode int

const (
	authSession authMode = iota
	authBearer
	authNone
)

// response is a complete answer, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) contentType() string { return r.header.Get("Content-Type") }

// errTooLarge marks a body over the limit.
var errTooLarge = errors.New("response too large")

// errTimedOut marks an attempt that ran out of its timeout.
var errTimedOut = errors.New("timed out")

// do sends c's request with the rate limit, the shared pause, the per-attempt timeout, retries
// and the one re-login on 401. It returns the 2xx answer, or an *Error; attempts counts the
// requests sent either way.
//
// Waiting is bounded three ways: a pause longer than maxWait is not waited for (the call fails
// with ErrWaitTooLong); each retry and pause is paid from the retry budget shared by every call
// (the call fails with ErrRetryBudget once it is spent); and the waits end at once when the
// context's wait signal ends (see KeepInFlight), while a request already sent is answered.
func (c *Client) do(ctx context.Context, cl call) (*response, int, error) {
	// refund is what a success gives back to the retry budget: the cost of the retry that
	// got through, or a token for an answer at the first attempt.
	st := &callState{c: c, ctx: ctx, cl: cl, refund: successRefund}
	for {
		token := cl.bearer
		if cl.auth == authSession {
			var err error
			if token, err = c.sessionToken(ctx); err != nil {
				return st.fail(&Error{Op: cl.op, Err: err})
			}
		}
		queued, err := c.waitTurn(ctx)
		if err != nil {
			return st.waitFailed(err)
		}
		st.attempts++
		resp, at, err := c.attempt(ctx, cl, token, st.attempts)
		if ctx.Err() == nil {
			c.paced(cl, at.Start, queued, resp, err)
		}
		st.at, st.pending = at, true
		var again bool
		if err != nil {
			st.at.Failure = failureClass(ctx, err)
			resp, again, err = st.networkError(err)
		} else {
			resp, again, err = st.answer(resp, token)
		}
		if !again {
			return resp, st.attempts, err
		}
	}
}

// callState is one call of do as it goes: what it sent, and what the last refusal said.
type callState struct {
	c          *Client
	ctx        context.Context
	cl         call
	attempts   int
	failures   int // attempts that failed in a way worth a retry
	relogged   bool
	lastStatus int
	lastItems  []ErrorItem
	refund     float64
	// at is the attempt last sent until Config.OnAttempt has seen it (pending):
	// a retry shows it before its wait, and the end of the call shows it as the last.
	at      Attempt
	pending bool
}

// observe shows the attempt last sent to Config.OnAttempt, once.
func (st *callState) observe() {
	if st.pending {
		st.pending = false
		st.c.attempted(st.at)
	}
}

// retry shows the attempt last sent as retried, after wait.
func (st *callState) retry(wait time.Duration) {
	st.at.Retry, st.at.Wait = true, wait
	st.observe()
}

// fail ends the call with e, scrubbed of every secret.
func (st *callState) fail(e *Error) (*response, int, error) {
	st.observe()
	e.Attempts = st.attempts
	e.Err = st.c.scrubErr(e.Err, st.cl.scrub)
	for i := range e.Items {
		e.Items[i].Title = st.c.clean(e.Items[i].Title, st.cl.scrub, maxItemText)
		e.Items[i].Detail = st.c.clean(e.Items[i].Detail, st.cl.scrub, maxItemText)
	}
	return nil, st.attempts, e
}

// end is fail for the steps of the loop, which also say whether to go again.
func (st *callState) end(e *Error) (*response, bool, error) {
	_, _, err := st.fail(e)
	return nil, false, err
}

// waitFailed is the error of a call whose wait before the next attempt ended early.
func (st *callState) waitFailed(err error) (*response, int, error) {
	e := &Error{Op: st.cl.op, HTTPStatus: st.lastStatus, Items: st.lastItems, Err: err}
	sent := st.attempts > 0
	switch {
	case errors.Is(err, ErrRetryBudget) && sent:
		e.Err = fmt.Errorf("not retried: %w", err)
	case errors.Is(err, ErrRetryBudget):
		e.Err = fmt.Errorf("not sent: %w", err)
	case st.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		e.Err = st.ctx.Err() // the caller's own cancellation, as it gave it
	case (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && sent:
		e.Err = fmt.Errorf("interrupted while waiting to retry: %w", err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Err = fmt.Errorf("interrupted before it was sent: %w", err)
	}
	return st.fail(e)
}

// networkError decides about an attempt that got no answer: fail, or retry after a backoff.
func (st *callState) networkError(err error) (*response, bool, error) {
	c, cl := st.c, st.cl
	switch {
	case st.ctx.Err() != nil:
		return st.end(&Error{Op: cl.op, Err: st.ctx.Err()})
	case errors.Is(err, errTooLarge):
		return st.end(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w (over %d bytes)", ErrBadResponse, errTooLarge, c.bodyLimit(cl))})
	case permanent(err):
		return st.end(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w", ErrConnection, err)})
	}
	// Retried whatever the method, PATCH included: the attempt may have reached the server,
	// but a PATCH carries full values, so sending it twice is harmless.
	st.lastStatus, st.lastItems = 0, nil
	st.failures++
	if st.failures > c.retries {
		return st.end(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w", ErrConnection, err)})
	}
	if !c.budget.take(retryNetCost) {
		return st.end(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w (not retried: %w)", ErrConnection, err, errBudget)})
	}
	st.refund = retryNetCost
	wait := backoff(st.failures)
	st.retry(wait)
	c.log.Warn("retrying request", "op", cl.op, "attempt", st.attempts, "reason", c.scrub(err.Error(), cl.scrub), "wait", wait)
	return st.sleep(wait)
}

// sleep waits before the next attempt; an ended wait ends the call.
func (st *callState) sleep(wait time.Duration) (*response, bool, error) {
	if err := sleep(st.ctx, wait); err != nil {
		_, _, err := st.waitFailed(err)
		return nil, false, err
	}
	return nil, true, nil
}

// answer decides about an answer: success, one login again after a 401, a retry of 429, 502,
// 503 or 504, or a refusal.
func (st *callState) answer(resp *response, token string) (*response, bool, error) {
	c, cl := st.c, st.cl
	switch s := resp.status; {
	case s >= 200 && s <= 299:
		if items, ok := c.errorMember(resp); ok {
			// Whatever the status, an answer with errors is a refusal (Polarity says 200
			// {"errors": [...]} for an integration that is not running).
			return st.end(&Error{Op: cl.op, HTTPStatus: s, Items: items,
				Err: fmt.Errorf("%w in a %s answer", ErrRefused, statusText(s))})
		}
		c.budget.refund(st.refund)
		st.observe()
		return resp, false, nil

	case s == http.StatusUnauthorized && cl.auth == authSession && c.apiKey == "" && !st.relogged:
		// Polarity's own client logs in again once and retries; a second 401 is final.
		st.relogged = true
		st.retry(0)
		c.log.Info("session refused, logging in again", "op", cl.op)
		if err := c.relogin(st.ctx, token); err != nil {
			return st.end(&Error{Op: cl.op, Err: err})
		}
		return nil, true, nil

	case s == http.StatusTooManyRequests || s == http.StatusBadGateway ||
		s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout:
		return st.refused(resp)
	}
	return st.end(c.statusError(cl, resp))
}

// refused decides about a 429, 502, 503 or 504: retry after the pause the server asked for
// or after a backoff, unless the retries, the budget or --max-wait say no.
func (st *callState) refused(resp *response) (*response, bool, error) {
	c, cl, s := st.c, st.cl, resp.status
	ra, hasRA := retryAfter(resp.header.Get("Retry-After"), time.Now())
	// Whether or not this request is retried, everyone else pauses as asked; a pause over
	// maxWait makes the requests that would wait for it fail instead.
	if hasRA {
		c.pause(ra, cl.op, s)
		st.at.RetryAfter = ra
	}
	if hasRA && ra > c.maxWait {
		e := c.statusError(cl, resp)
		e.Err = &waitError{asked: ra, max: c.maxWait}
		return st.end(e)
	}
	st.failures++
	if st.failures > c.retries {
		return st.end(c.statusError(cl, resp))
	}
	// The pause itself is paid for in waitTurn, by every request that waits for it.
	if !c.budget.take(retryCost) {
		e := c.statusError(cl, resp)
		e.Err = fmt.Errorf("not retried: %w", errBudget)
		return st.end(e)
	}
	st.refund = retryCost
	st.lastStatus, st.lastItems = s, parseErrorItems(resp.body)
	if hasRA {
		// waitTurn sleeps through the pause before the next attempt.
		st.retry(0)
		c.log.Warn("retrying request", "op", cl.op, "attempt", st.attempts, "status", s, "retry_after", ra)
		return nil, true, nil
	}
	wait := backoff(st.failures)
	st.retry(wait)
	c.log.Warn("retrying request", "op", cl.op, "attempt", st.attempts, "status", s, "wait", wait)
	return st.sleep(wait)
}

// errBudget is ErrRetryBudget as errors say it.
var errBudget = fmt.Errorf("%w: the server refused too many requests of this run", ErrRetryBudget)

// bodyLimit is the most of an answer the call reads.
func (c *Client) bodyLimit(cl call) int64 {
	if cl.maxBody > 0 && cl.maxBody < c.maxBody {
		return cl.maxBody
	}
	return c.maxBody
}

// errorMember reads the JSON:API errors member of an answer. It reports false when there is
// none, or it is null or an empty list; an errors member of another shape still counts.
func (c *Client) errorMember(r *response) ([]ErrorItem, bool) {
	if !jsonMedia(r.contentType()) || !bytes.Contains(r.body, []byte(`"errors"`)) {
		return nil, false
	}
	var doc struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(r.body, &doc) != nil {
		return nil, false // not JSON: decode says so
	}
	raw := bytes.TrimSpace(doc.Errors)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || bytes.Equal(raw, []byte("[]")) {
		return nil, false
	}
	items := parseErrorItems(r.body)
	if len(items) == 0 {
		items = []ErrorItem{{Detail: "the answer holds an errors member the client cannot read"}}
	}
	return items, true
}

// paced tells the pace how an attempt that left at sent went, and applies the pause it may
// ask of every request (the server's RateLimit said no quota is left).
func (c *Client) paced(cl call, sent time.Time, queued bool, resp *response, err error) {
	if d := c.pacer.attempted(cl.method, sent, time.Now(), queued, resp, err); d > 0 {
		status := 0
		if resp != nil {
			status = resp.status
		}
		c.pause(d, cl.op, status)
	}
}

// attempt sends one request under its own timeout, which starts only after the rate limiter
// let it go, and reads the whole answer within that timeout. The Attempt it returns says when
// it left, how long it took and the status; do adds what follows.
func (c *Client) attempt(ctx context.Context, cl call, token string, n int) (*response, Attempt, error) {
	at := Attempt{Start: time.Now(), Method: cl.method, Path: cl.path, Integration: cl.integration, N: n}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var err error

	// cl.path is already escaped (an id goes through url.PathEscape), so it extends RawPath.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + cl.path
	u.Path, err = url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, at, err
	}
	u.RawQuery = cl.query.Encode()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u.String(), body)
	if err != nil {
		return nil, at, err
	}
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", mediaType)
	req.Header.Set("User-Agent", c.ua)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	c.requests.Add(1)
	start := time.Now()
	at.Start = start
	res, err := c.hc.Do(req)
	var data []byte
	if err == nil {
		data, err = readBody(res.Body, c.bodyLimit(cl))
		res.Body.Close()
	}
	at.Latency = time.Since(start)
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %s", errTimedOut, c.timeout)
		}
		// The error text names the URL (never credentials: New refuses user info in it).
		c.log.Debug("request failed", "op", cl.op, "method", cl.method, "path", cl.path, "attempt", n,
			"duration", time.Since(start), "error", c.scrub(err.Error(), cl.scrub))
		c.observe(cl, n, start, nil, nil, err)
		return nil, at, err
	}
	c.observe(cl, n, start, res, data, nil)
	c.log.Debug("request", "op", cl.op, "method", cl.method, "path", cl.path, "attempt", n,
		"status", res.StatusCode, "bytes", len(data), "duration", time.Since(start))
	at.Status = res.StatusCode
	return &response{status: res.StatusCode, header: res.Header, body: data}, at, nil
}

func readBody(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// permanent reports network errors that a retry cannot fix: an untrusted or mismatched
// certificate, a redirect refused.
func permanent(err error) bool {
	var (
		unknownCA   x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalid     x509.CertificateInvalidError
		verifyError *tls.CertificateVerificationError
		redirect    *RedirectError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verifyError) || errors.As(err, &redirect)
}

// waitTurn blocks until the shared pause is over and the shared limiter grants a token. Each
// request waits here before its timeout starts, so a slow queue never eats the timeout. It
// reports whether the request had to wait for its token: whether the rate held it back.
func (c *Client) waitTurn(ctx context.Context) (queued bool, err error) {
	for {
		if err := c.waitPause(ctx); err != nil {
			return queued, err
		}
		q, err := c.pacer.take(ctx)
		queued = queued || q
		if err != nil {
			return queued, err
		}
		// A Retry-After may have come in while this request waited for its token.
		c.pauseMu.Lock()
		paused := time.Now().Before(c.pauseUntil)
		c.pauseMu.Unlock()
		if !paused {
			return queued, nil
		}
	}
}

// waitPause sleeps through the shared pause, or fails at once when what is left of it is
// longer than maxWait or more than the retry budget can pay for. Every request that waits
// pays for its wait: many workers sitting out one long pause cost what many long waits cost.
func (c *Client) waitPause(ctx context.Context) error {
	for {
		d := c.pauseLeft()
		if d <= 0 {
			return nil
		}
		if d > c.maxWait {
			return &waitError{asked: d, max: c.maxWait}
		}
		if !c.budget.take(c.budget.pauseCost(d)) {
			return errBudget
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// pause stops every request from starting for d.
func (c *Client) pause(d time.Duration, op string, status int) {
	if d <= 0 {
		return
	}
	now := time.Now()
	until := now.Add(d)
	c.pauseMu.Lock()
	longer := until.After(c.pauseUntil)
	fresh := !c.pauseUntil.After(now) // no pause was on: a new one, not an extension
	if longer {
		c.pauseUntil = until
	}
	c.pauseMu.Unlock()
	if fresh {
		c.pacer.paused()
	}
	switch {
	case !longer:
	case d <= c.maxWait:
		c.log.Warn("server asked to wait; pausing all requests", "op", op, "status", status, "wait", d)
	default:
		c.log.Warn("server asked to wait longer than the longest wait allowed; requests fail until then",
			"op", op, "status", status, "wait", roundWait(d), "max_wait", c.maxWait)
	}
}

// pauseLeft is what remains of the shared pause.
func (c *Client) pauseLeft() time.Duration {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	return max(0, time.Until(c.pauseUntil))
}

// maxRetryAfter is where a Retry-After stops being read: past it every wait is "too long".
const maxRetryAfter = 100 * 365 * 24 * time.Hour

// retryAfter reads a Retry-After header, delta-seconds or HTTP-date. It reports false when the
// header is absent, unreadable or asks for no wait. Waits past a century read as a century.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs <= 0 || secs != secs {
			return 0, false
		}
		if secs > maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// backoff is the wait before retry n (from 1): full jitter over an exponential bound.
func backoff(n int) time.Duration {
	bound := backoffCap
	if n < 20 {
		bound = min(backoffBase<<(n-1), backoffCap)
	}
	return rand.N(bound) + 1
}

// waitKey is the context key of KeepInFlight's wait signal.
type waitKey struct{}

// KeepInFlight returns a context for calls whose requests must be answered once sent, even
// after ctx ends: a PATCH in flight when the user presses Ctrl-C must finish, or nobody knows
// whether it was applied. The requests made under it are never cancelled (each still has its
// timeout); the waits between them (the rate limiter, a Retry-After pause, the backoff before a
// retry) end as soon as ctx does, and the call then fails with ctx's error, telling how many
// attempts it made.
func KeepInFlight(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), waitKey{}, ctx)
}

// sleep waits for d or until ctx, or the wait signal KeepInFlight put in it, is done.
func sleep(ctx context.Context, d time.Duration) error { return sleepOr(ctx, d, nil) }

// await waits until wake is signalled (nil), or ends as sleep does.
func await(ctx context.Context, wake <-chan struct{}) error { return waitFor(ctx, nil, wake) }

// sleepOr is sleep that also ends, without an error, as soon as wake is closed.
func sleepOr(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	if d <= 0 {
		if _, _, err := waitSignal(ctx); err != nil {
			return err
		}
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	return waitFor(ctx, t.C, wake)
}

// waitFor waits until timer fires or wake is closed (nil: never), or until ctx, or the wait
// signal KeepInFlight put in it, is done.
func waitFor(ctx context.Context, timer <-chan time.Time, wake <-chan struct{}) error {
	w, stop, err := waitSignal(ctx)
	if err != nil {
		return err
	}
	select {
	case <-timer:
		return nil
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return w.Err()
	}
}

// waitSignal is the wait signal KeepInFlight put in ctx, if any, and its Done channel (nil,
// which never fires, without one); err is its error when it has already ended.
func waitSignal(ctx context.Context) (w context.Context, stop <-chan struct{}, err error) {
	w, _ = ctx.Value(waitKey{}).(context.Context)
	if w == nil {
		return nil, nil, nil
	}
	if err := w.Err(); err != nil {
		return nil, nil, err
	}
	return w, w.Done(), nil
}

// statusError turns a non-2xx answer into an *Error.
func (c *Client) statusError(cl call, r *response) *Error {
	e := &Error{Op: cl.op, HTTPStatus: r.status, Items: parseErrorItems(r.body)}
	switch r.status {
	case http.StatusUnauthorized:
		e.Err = ErrAuth
	case http.StatusForbidden:
		e.Err = ErrForbidden
	case http.StatusNotFound:
		e.Err = ErrNotFound
	}
	if len(e.Items) == 0 && !cl.quiet {
		// A plain-text error page from a proxy says what went wrong; HTML and JSON do not.
		if mt, _, _ := mime.ParseMediaType(r.contentType()); mt == "text/plain" && len(r.body) > 0 {
			e.Items = []ErrorItem{{Detail: c.clean(string(r.body), cl.scrub, 200)}}
		}
	}
	return e
}

// jsonMedia reports whether a content type may carry JSON: the two Polarity sends, any +json
// type, or none at all.
func jsonMedia(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == mediaType || strings.HasSuffix(mt, "+json")
}

// decode checks a 2xx answer and unmarshals it into v. A wrong content type, an empty body or
// malformed JSON gives an ErrBadResponse naming the content type and, when the body is not
// JSON-like and not an auth answer, its first bytes (at most 200).
func (c *Client) decode(cl call, r *response, attempts int, v any) error {
	bad := func(msg string) error {
		return &Error{Op: cl.op, HTTPStatus: r.status, Attempts: attempts,
			Err: fmt.Errorf("%w: %s", ErrBadResponse, c.scrub(msg, cl.scrub))}
	}
	// The header is the server's text like any other: scrubbed before it is quoted (quoting
	// would write a secret in a form of its own), and cut short.
	ct := c.clean(r.contentType(), cl.scrub, 200)
	if !jsonMedia(r.contentType()) {
		return bad(fmt.Sprintf("content type %q is not JSON%s", ct, c.snippet(cl, r.body)))
	}
	if len(bytes.TrimSpace(r.body)) == 0 {
		return bad("empty body where JSON was expected")
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return bad(fmt.Sprintf("malformed JSON (content type %q, %d bytes): %s at offset %d%s",
				ct, len(r.body), syn.Error(), syn.Offset, c.snippet(cl, r.body)))
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			// Not typ.Value: for a number it holds the number, which may be an option value.
			return bad(fmt.Sprintf("unexpected JSON at %q: want %s", typ.Field, typ.Type))
		}
		return bad("unexpected JSON")
	}
	return nil
}

// snippet quotes the start of a body for an error, unless it may hold secrets: auth answers
// carry tokens and JSON answers carry option values, so only what is neither (an HTML page, a
// proxy's text) is quoted.
func (c *Client) snippet(cl call, body []byte) string {
	t := bytes.TrimSpace(body)
	if cl.quiet || len(t) == 0 || t[0] == '{' || t[0] == '[' {
		return ""
	}
	return ", body starts " + strconv.Quote(c.clean(string(t), cl.scrub, 200))
}
