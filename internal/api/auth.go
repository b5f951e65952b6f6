package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// refreshMargin is how long before expiry a session token is refreshed: a fifth of its
// lifetime, but at least 30 seconds (or half the lifetime, for tokens that live under a
// minute), so a fresh token is never refreshed at once and a long one well before it lapses.
func refreshMargin(life time.Duration) time.Duration {
	return max(life/5, min(30*time.Second, life/2))
}

// sessionToken returns the bearer token for a request: the API key, or the login session's
// token, logging in or refreshing first when needed. Only one goroutine logs in or refreshes
// at a time; the others wait for it and use its token.
func (c *Client) sessionToken(ctx context.Context) (string, error) {
	if c.apiKey != "" {
		return c.apiKey, nil
	}
	if tok, ok := c.currentToken(time.Now()); ok {
		return tok, nil
	}
	if err := c.lockAuth(ctx); err != nil {
		return "", err
	}
	defer c.unlockAuth()
	if tok, ok := c.currentToken(time.Now()); ok {
		return tok, nil
	}
	c.tokMu.Lock()
	old := c.token
	c.tokMu.Unlock()
	if old != "" {
		if err := c.refresh(ctx, old); err == nil {
			tok, _ := c.currentToken(time.Now())
			return tok, nil
		} else if ctx.Err() != nil {
			return "", err
		} else {
			// An expired token refuses its own refresh; a new login is the way out.
			c.log.Info("token refresh failed, logging in again", "error", err.Error())
		}
	}
	if err := c.login(ctx); err != nil {
		return "", err
	}
	tok, _ := c.currentToken(time.Now())
	return tok, nil
}

// currentToken returns the session token and whether it is usable without a refresh.
func (c *Client) currentToken(now time.Time) (string, bool) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.token == "" {
		return "", false
	}
	if !c.expiry.IsZero() && c.expiry.Sub(now) < refreshMargin(c.life) {
		return c.token, false
	}
	return c.token, true
}

// relogin logs in again after stale was refused with a 401, unless another goroutine already
// replaced stale with a new token.
func (c *Client) relogin(ctx context.Context, stale string) error {
	if err := c.lockAuth(ctx); err != nil {
		return err
	}
	defer c.unlockAuth()
	c.tokMu.Lock()
	replaced := c.token != "" && c.token != stale
	c.tokMu.Unlock()
	if replaced {
		return nil
	}
	return c.login(ctx)
}

func (c *Client) lockAuth(ctx context.Context) error {
	select {
	case c.authSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) unlockAuth() { <-c.authSem }

// login runs POST /api/users/login; the caller holds authSem.
func (c *Client) login(ctx context.Context) error {
	body, err := json.Marshal(map[string]string{"identification": c.username, "password": c.password})
	if err != nil {
		return err
	}
	cl := call{op: "log in", method: http.MethodPost, path: "/api/users/login", body: body, auth: authNone, quiet: true, maxBody: MaxAuthBody}
	resp, attempts, err := c.do(ctx, cl)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && (e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden) {
			e.Err = ErrAuth
		}
		return err
	}
	if err := c.takeToken(cl, resp, attempts); err != nil {
		return err
	}
	c.log.Debug("logged in")
	return nil
}

// refresh runs GET /api/users/refresh with the current token; the caller holds authSem.
func (c *Client) refresh(ctx context.Context, tok string) error {
	cl := call{op: "refresh session", method: http.MethodGet, path: "/api/users/refresh", auth: authBearer, bearer: tok, quiet: true, maxBody: MaxAuthBody}
	resp, attempts, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	if err := c.takeToken(cl, resp, attempts); err != nil {
		return err
	}
	c.log.Debug("session refreshed")
	return nil
}

// Close logs out when the client logged in with a password; with an API key, or before any
// login, it does nothing. The client logs in again if used after Close. Give it a context
// that is not cancelled yet (after Ctrl-C, a fresh one with a short timeout).
func (c *Client) Close(ctx context.Context) error {
	if c.apiKey != "" {
		return nil
	}
	if err := c.lockAuth(ctx); err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	defer c.unlockAuth()
	c.tokMu.Lock()
	tok := c.token
	c.token, c.expiry, c.life = "", time.Time{}, 0
	c.tokMu.Unlock()
	if tok == "" {
		return nil
	}
	_, _, err := c.do(ctx, call{op: "log out", method: http.MethodPost, path: "/api/users/logout", auth: authBearer, bearer: tok, quiet: true, maxBody: MaxAuthBody})
	var e *Error
	if errors.As(err, &e) && e.HTTPStatus == http.StatusUnauthorized {
		return nil // the token had lapsed already: logged out either way
	}
	if err == nil {
		c.log.Debug("logged out")
	}
	return err
}

// takeToken reads a login or refresh answer: data.token and data.expiration_time (unix
// seconds; milliseconds and numeric strings tolerated).
func (c *Client) takeToken(cl call, resp *response, attempts int) error {
	var doc struct {
		Token string `json:"token"`
		Data  struct {
			Token      string          `json:"token"`
			Expiration json.RawMessage `json:"expiration_time"`
			Attributes struct {
				Token      string          `json:"token"`
				Expiration json.RawMessage `json:"expiration-time"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := c.decode(cl, resp, attempts, &doc); err != nil {
		return err
	}
	tok, exp := doc.Data.Token, doc.Data.Expiration
	if tok == "" {
		tok, exp = doc.Data.Attributes.Token, doc.Data.Attributes.Expiration
	}
	if tok == "" {
		tok = doc.Token
	}
	if tok == "" {
		return &Error{Op: cl.op, HTTPStatus: resp.status, Attempts: attempts,
			Err: fmt.Errorf("%w: the answer holds no token", ErrBadResponse)}
	}
	c.addCredential(tok)

	now := time.Now()
	expiry, life := time.Time{}, time.Duration(0)
	if t, ok := unixTime(exp); ok {
		// Measure the lifetime on the server's clock when it sent its Date, so that a skewed
		// local clock does not refresh too early or too late.
		ref := now
		if d, err := http.ParseTime(resp.header.Get("Date")); err == nil {
			ref = d
		}
		life = t.Sub(ref)
		if life > 0 {
			expiry = now.Add(life)
		} else {
			c.log.Warn("session token already expired by the server's expiration time; relying on 401 to log in again")
			life = 0
		}
	}
	c.tokMu.Lock()
	c.token, c.expiry, c.life = tok, expiry, life
	c.tokMu.Unlock()
	return nil
}

// unixTime reads a number or numeric string of unix seconds (or milliseconds, when too large
// to be seconds).
func unixTime(raw json.RawMessage) (time.Time, bool) {
	s := jsonScalar(raw)
	if s == "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return time.Time{}, false
	}
	if f > 1e11 { // later than year 5138 in seconds: it is milliseconds
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
