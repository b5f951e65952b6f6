package api

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Exchange is one request attempt as Config.Observe sees it: what `probe` needs to judge a
// server (status, latency, rate-limit headers, TLS, the form of the answer) and nothing that
// could hold a secret: no other header, no body but its shape, no query.
type Exchange struct {
	// Endpoint is the method and path with ids replaced, e.g. "GET /api/integrations/{id}".
	Endpoint string
	Attempt  int // 1 for the first attempt of a call
	// Status is the answer's HTTP status; 0 when none came (then Err says why).
	Status   int
	Err      string
	Duration time.Duration
	// ContentType is the answer's Content-Type header.
	ContentType string
	// RateLimit holds the rate-limit headers of the answer (Retry-After, RateLimit*,
	// X-RateLimit*, X-Rate-Limit*) by canonical name.
	RateLimit map[string]string
	// TLS describes the connection's certificates; nil over plain http.
	TLS *TLSState
	// Shape is the form of a JSON answer (bulk.Shape: no values); nil for any other body.
	Shape *bulk.Shape
}

// TLSState describes the server certificate chain of a connection.
type TLSState struct {
	Version string // "TLS 1.3"
	// Chain is the number of certificates the server sent.
	Chain int
	// NotBefore and NotAfter bound the server certificate's validity.
	NotBefore, NotAfter time.Time
	// Verified is true when the client checked the chain and the host name (not with
	// --insecure-skip-tls-verify).
	Verified bool
	// VerifyError says why the chain does not verify with the client's roots (the system's
	// and --ca-cert's); empty when it does. With verification on, a failing chain never gets
	// an answer: the Exchange then has Status 0.
	VerifyError string
}

// observe reports an attempt to Config.Observe, if set.
func (c *Client) observe(cl call, n int, start time.Time, res *http.Response, data []byte, err error) {
	if c.observer == nil {
		return
	}
	x := Exchange{Endpoint: endpoint(cl.method, cl.path), Attempt: n, Duration: time.Since(start)}
	if err != nil {
		x.Err = c.clean(err.Error(), cl.scrub, 300)
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			x.TLS = chainState(cv.UnverifiedCertificates, false, cv.Err)
		}
	}
	if res != nil {
		x.Status = res.StatusCode
		x.ContentType = res.Header.Get("Content-Type")
		for name, vals := range res.Header {
			if len(vals) == 0 || !rateLimitHeader(name) {
				continue
			}
			// A hostile server may echo a credential anywhere, in a header's name too, where
			// net/http changes its case: only the names rate limiters use are reported as
			// they are.
			if !knownRateLimitHeaders[name] {
				name = otherRateLimitHeader
			}
			if x.RateLimit == nil {
				x.RateLimit = map[string]string{}
			}
			x.RateLimit[name] = c.clean(vals[0], cl.scrub, 100)
		}
		if res.TLS != nil {
			x.TLS = c.tlsState(res.TLS, res.Request)
		}
		if len(data) > 0 && jsonMedia(x.ContentType) {
			if s, err := bulk.ShapeOf(data); err == nil {
				// A shape holds no value, but member names are the server's text: one that
				// holds a credential or a value sent is hidden like data.
				x.Shape = s.RenameKeys(func(name string, _ []string) bool { return c.scrub(name, cl.scrub) != name })
			}
		}
	}
	c.observer(x)
}

// knownRateLimitHeaders are the rate-limit headers of the IETF draft, of GitHub, Twitter and
// the common gateways, in net/http's canonical form.
var knownRateLimitHeaders = map[string]bool{
	"Retry-After": true, "Ratelimit": true, "Ratelimit-Policy": true, "Ratelimit-Limit": true,
	"Ratelimit-Remaining": true, "Ratelimit-Reset": true,
	"X-Ratelimit-Limit": true, "X-Ratelimit-Remaining": true, "X-Ratelimit-Reset": true,
	"X-Ratelimit-Used": true, "X-Ratelimit-Reset-After": true, "X-Ratelimit-Bucket": true,
	"X-Rate-Limit-Limit": true, "X-Rate-Limit-Remaining": true, "X-Rate-Limit-Reset": true,
}

// otherRateLimitHeader stands for a rate-limit header of another name.
const otherRateLimitHeader = "(another rate-limit header)"

// rateLimitHeader reports whether a header is one a rate limiter sends.
func rateLimitHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "retry-after" || strings.HasPrefix(n, "ratelimit") ||
		strings.HasPrefix(n, "x-ratelimit") || strings.HasPrefix(n, "x-rate-limit")
}

// endpoint names a request without its ids.
func endpoint(method, path string) string {
	for _, prefix := range []string{"/api/integrations/", "/api/integration-options/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			return method + " " + prefix + "{id}"
		}
	}
	return method + " " + path
}

// tlsState describes a connection. Without verification (--insecure-skip-tls-verify) it
// checks the chain itself with the client's roots, so the user learns what --ca-cert needs.
func (c *Client) tlsState(cs *tls.ConnectionState, req *http.Request) *TLSState {
	var verifyErr error
	verified := !c.insecure
	if c.insecure && len(cs.PeerCertificates) > 0 {
		inter := x509.NewCertPool()
		for _, cert := range cs.PeerCertificates[1:] {
			inter.AddCert(cert)
		}
		host := ""
		if req != nil {
			host = req.URL.Hostname()
		}
		_, verifyErr = cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: c.roots, Intermediates: inter})
	}
	s := chainState(cs.PeerCertificates, verified, verifyErr)
	s.Version = tls.VersionName(cs.Version)
	return s
}

func chainState(chain []*x509.Certificate, verified bool, verifyErr error) *TLSState {
	s := &TLSState{Chain: len(chain), Verified: verified}
	if len(chain) > 0 {
		s.NotBefore, s.NotAfter = chain[0].NotBefore, chain[0].NotAfter
	}
	if verifyErr != nil {
		s.VerifyError = clip(verifyErr.Error(), 300)
	}
	return s
}

// AuthInfo says how the client authenticates and for how long.
type AuthInfo struct {
	// Method is "api-key" or "login" (POST /api/users/login with a username and password).
	Method string
	// Expires is when the login token expires (on the local clock), or the API key's when it
	// is a JWT with an "exp" claim; zero when unknown.
	Expires time.Time
	// Lifetime is the login token's lifetime as the server gave it; zero when unknown.
	Lifetime time.Duration
}

// Auth describes the client's authentication: for a login, after the first request.
func (c *Client) Auth() AuthInfo {
	if c.apiKey != "" {
		a := AuthInfo{Method: "api-key"}
		a.Expires, _ = jwtExpiry(c.apiKey)
		return a
	}
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	return AuthInfo{Method: "login", Expires: c.expiry, Lifetime: c.life}
}

// jwtExpiry reads the "exp" claim of a token that is a JWT, without checking its signature
// (only the server can): it only tells the user when the server will stop taking it.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}, false
	}
	return unixTime(claims.Exp)
}
