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
	query  url.Values
	body   []byte
	// auth says how the request authenticates: session uses the API key or the login session
	// (logging in lazily and once more on a 401); bearer sends a fixed token (refresh,
	// logout); none sends nothing (login).
	auth   authMode
	bearer string
	// quiet leaves the body out of error text: login and refresh answers hold tokens.
	quiet bool
	// scrub lists strings (option values sent) that must not appear in error text.
	scrub []string
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

// do sends c's request with the rate limit, the shared pause, the per-attempt timeout, retries
// and the one re-login on 401. It returns the 2xx answer, or an *Error; attempts counts the
// requests sent either way.
func (c *Client) do(ctx context.Context, cl call) (*response, int, error) {
	attempts, failures := 0, 0
	relogged := false
	fail := func(e *Error) (*response, int, error) {
		e.Attempts = attempts
		e.Err = c.scrubErr(e.Err, cl.scrub)
		for i := range e.Items {
			e.Items[i].Title = c.clean(e.Items[i].Title, cl.scrub, maxItemText)
			e.Items[i].Detail = c.clean(e.Items[i].Detail, cl.scrub, maxItemText)
		}
		return nil, attempts, e
	}
	for {
		token := cl.bearer
		if cl.auth == authSession {
			var err error
			if token, err = c.sessionToken(ctx); err != nil {
				return fail(&Error{Op: cl.op, Err: err})
			}
		}
		if err := c.waitTurn(ctx); err != nil {
			return fail(&Error{Op: cl.op, Err: err})
		}
		attempts++
		resp, err := c.attempt(ctx, cl, token, attempts)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return fail(&Error{Op: cl.op, Err: ctx.Err()})
			case errors.Is(err, errTooLarge):
				return fail(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w (over %d bytes)", ErrBadResponse, errTooLarge, c.maxBody)})
			case permanent(err):
				return fail(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w", ErrConnection, err)})
			}
			// Retried whatever the method, PATCH included: the attempt may have reached the
			// server, but a PATCH carries full values, so sending it twice is harmless.
			failures++
			if failures > c.retries {
				return fail(&Error{Op: cl.op, Err: fmt.Errorf("%w: %w", ErrConnection, err)})
			}
			wait := backoff(failures)
			c.log.Warn("retrying request", "op", cl.op, "attempt", attempts, "reason", c.scrub(err.Error(), cl.scrub), "wait", wait)
			if err := sleep(ctx, wait); err != nil {
				return fail(&Error{Op: cl.op, Err: err})
			}
			continue
		}

		switch s := resp.status; {
		case s >= 200 && s <= 299:
			return resp, attempts, nil

		case s == http.StatusUnauthorized && cl.auth == authSession && c.apiKey == "" && !relogged:
			// Polarity's own client logs in again once and retries; a second 401 is final.
			relogged = true
			c.log.Info("session refused, logging in again", "op", cl.op)
			if err := c.relogin(ctx, token); err != nil {
				return fail(&Error{Op: cl.op, Err: err})
			}
			continue

		case s == http.StatusTooManyRequests || s == http.StatusBadGateway ||
			s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout:
			// Whether or not this request is retried, everyone else pauses as asked.
			ra, hasRA := retryAfter(resp.header.Get("Retry-After"), time.Now())
			if hasRA {
				c.pause(ra, cl.op, s)
			}
			failures++
			if failures > c.retries {
				return fail(c.statusError(cl, resp))
			}
			if hasRA {
				// waitTurn sleeps through the pause before the next attempt.
				c.log.Warn("retrying request", "op", cl.op, "attempt", attempts, "status", s, "retry_after", ra)
				continue
			}
			wait := backoff(failures)
			c.log.Warn("retrying request", "op", cl.op, "attempt", attempts, "status", s, "wait", wait)
			if err := sleep(ctx, wait); err != nil {
				return fail(&Error{Op: cl.op, HTTPStatus: s, Err: err})
			}
			continue

		default:
			return fail(c.statusError(cl, resp))
		}
	}
}

// attempt sends one request under its own timeout, which starts only after the rate limiter
// let it go, and reads the whole answer within that timeout.
func (c *Client) attempt(ctx context.Context, cl call, token string, n int) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var err error

	// cl.path is already escaped (an id goes through url.PathEscape), so it extends RawPath.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + cl.path
	u.Path, err = url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, err
	}
	u.RawQuery = cl.query.Encode()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", mediaType)
	req.Header.Set("User-Agent", c.ua)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	c.requests.Add(1)
	start := time.Now()
	res, err := c.hc.Do(req)
	var data []byte
	if err == nil {
		data, err = readBody(res.Body, c.maxBody)
		res.Body.Close()
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s", c.timeout)
		}
		// The error text names the URL (never credentials: New refuses user info in it).
		c.log.Debug("request failed", "op", cl.op, "method", cl.method, "path", cl.path, "attempt", n,
			"duration", time.Since(start), "error", c.scrub(err.Error(), cl.scrub))
		return nil, err
	}
	c.log.Debug("request", "op", cl.op, "method", cl.method, "path", cl.path, "attempt", n,
		"status", res.StatusCode, "bytes", len(data), "duration", time.Since(start))
	return &response{status: res.StatusCode, header: res.Header, body: data}, nil
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
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verifyError) {
		return true
	}
	return strings.Contains(err.Error(), "refusing redirect") || strings.Contains(err.Error(), "stopped after 5 redirects")
}

// waitTurn blocks until the shared pause is over and the shared limiter grants a token. Each
// request waits here before its timeout starts, so a slow queue never eats the timeout.
func (c *Client) waitTurn(ctx context.Context) error {
	for {
		if err := c.waitPause(ctx); err != nil {
			return err
		}
		// Reserve and sleep rather than Limiter.Wait: Wait fails at once, with an error that is
		// not context.DeadlineExceeded, when the deadline is nearer than the token.
		now := time.Now()
		r := c.limiter.ReserveN(now, 1)
		if !r.OK() {
			return errors.New("rate limiter refuses every request")
		}
		if err := sleep(ctx, r.DelayFrom(now)); err != nil {
			r.Cancel()
			return err
		}
		// A Retry-After may have come in while this request waited for its token.
		c.pauseMu.Lock()
		paused := time.Now().Before(c.pauseUntil)
		c.pauseMu.Unlock()
		if !paused {
			return nil
		}
	}
}

func (c *Client) waitPause(ctx context.Context) error {
	for {
		c.pauseMu.Lock()
		d := time.Until(c.pauseUntil)
		c.pauseMu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// pause stops every request from starting for d (at most MaxRetryAfter).
func (c *Client) pause(d time.Duration, op string, status int) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	c.pauseMu.Lock()
	longer := until.After(c.pauseUntil)
	if longer {
		c.pauseUntil = until
	}
	c.pauseMu.Unlock()
	if longer {
		c.log.Warn("server asked to wait; pausing all requests", "op", op, "status", status, "wait", d)
	}
}

// retryAfter reads a Retry-After header, delta-seconds or HTTP-date, capped at MaxRetryAfter.
// It reports false when the header is absent, unreadable or asks for no wait.
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
		if secs > MaxRetryAfter.Seconds() {
			return MaxRetryAfter, true
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
	return min(d, MaxRetryAfter), true
}

// backoff is the wait before retry n (from 1): full jitter over an exponential bound.
func backoff(n int) time.Duration {
	bound := backoffCap
	if n < 20 {
		bound = min(backoffBase<<(n-1), backoffCap)
	}
	return rand.N(bound) + 1
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
