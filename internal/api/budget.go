package api

import (
	"sync"
	"time"
)

// retryBudget is the retry quota shared by every request of a client, after the AWS SDKs'
// retry quota: a token bucket that retries drain and successes refill. While the server
// answers most requests, successes keep it full and every request gets its retries; once the
// server refuses nearly everything, the bucket runs dry after about a hundred retries and a
// request that would retry fails instead, so the run ends in minutes, not hours.
//
// Waiting is paid for too: every request that sits through a Retry-After pause, retry or
// not, pays in proportion to its wait, half the bucket for a wait as long as the longest one
// honoured (maxWait). A server that answers every request with "come back in ten minutes"
// therefore gets one such pause in a run that makes no progress, not one per request and
// retry; short pauses (a rate limit's second or two) cost next to nothing.
type retryBudget struct {
	mu       sync.Mutex
	tokens   float64
	capacity float64
	maxWait  time.Duration
}

// The costs and refunds of the budget, in tokens (the AWS SDKs' values).
const (
	// retryCost is what a retry after a refusal (429, 502, 503, 504) takes.
	retryCost = 5
	// retryNetCost is what a retry after a timeout or a connection failure takes: such a retry
	// holds a worker for up to a whole timeout, and the server may be gone.
	retryNetCost = 10
	// successRefund is what a request answered at its first attempt gives back.
	successRefund = 1
)

func newRetryBudget(capacity int, maxWait time.Duration) *retryBudget {
	return &retryBudget{tokens: float64(capacity), capacity: float64(capacity), maxWait: maxWait}
}

// take spends cost tokens for one retry and pause, and reports whether the budget could pay.
// A nil budget always can.
func (b *retryBudget) take(cost float64) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < cost {
		return false
	}
	b.tokens -= cost
	return true
}

// pauseCost is what a request that waits d for the shared pause pays.
func (b *retryBudget) pauseCost(d time.Duration) float64 {
	if b == nil || d <= 0 || b.maxWait <= 0 {
		return 0
	}
	return b.capacity / 2 * float64(d) / float64(b.maxWait)
}

// refund gives back n tokens after a success, up to the capacity.
func (b *retryBudget) refund(n float64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.capacity, b.tokens+n)
	b.mu.Unlock()
}
