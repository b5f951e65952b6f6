package api

import (
	"context"
	"errors"
	"net"
	"time"
)

// Attempt describes one HTTP attempt for Config.OnAttempt: when it was sent, how it ended, and
// what the client does next. It holds no header, no body and no query, so an observer never
// sees a credential or an option value.
type Attempt struct {
	// Start is when the request left, after the rate limiter and any pause let it go.
	Start time.Time
	// Latency runs from Start until the whole answer was read, or until the attempt failed.
	Latency time.Duration
	// Method is the HTTP method; Path the escaped path under the server's base URL (it names
	// an integration id at most), without the query.
	Method, Path string
	// Integration is the id of the integration the call is about (a PATCH sends it in the
	// body, not the path); empty for a list, a login or the OpenAPI document.
	Integration string
	// N counts the attempts of one call from 1: N > 1 is a retry.
	N int
	// Status is the HTTP status of the answer; 0 when none came back.
	Status int
	// Failure says why no answer came back (Status 0): one of the Failure constants.
	Failure string
	// Retry reports that another attempt of the same call follows, after Wait (a backoff;
	// zero when the attempt waits for RetryAfter, or logs in again after a 401).
	Retry bool
	Wait  time.Duration
	// RetryAfter is the pause the answer's Retry-After header imposed on every request of the
	// client: each waits it out, or fails when it is longer than the client's MaxWait. Zero
	// when the answer asked for none.
	RetryAfter time.Duration
}

// The values of Attempt.Failure.
const (
	FailureTimeout  = "timeout"   // the attempt ran out of --timeout
	FailureNetwork  = "network"   // the connection failed, was refused, reset or dropped
	FailureTLS      = "tls"       // the certificate was refused, or a redirect
	FailureTooLarge = "too-large" // the answer was over MaxBody
	FailureCanceled = "canceled"  // the run was stopped while the attempt was under way
)

// failureClass names why an attempt got no answer.
func failureClass(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return FailureCanceled
	case errors.Is(err, errTooLarge):
		return FailureTooLarge
	case permanent(err):
		return FailureTLS
	case errors.Is(err, errTimedOut), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailureTimeout
	}
	return FailureNetwork
}

// attempted hands a to Config.OnAttempt, if set.
func (c *Client) attempted(a Attempt) {
	if c.onAttempt != nil {
		c.onAttempt(a)
	}
}
