package apply

import (
	"context"
	"sync"
)

// gate bounds the PATCHes in flight: never more than max (--concurrency), and never more than
// limit() when it is set: the pace's latency guard lowers it while the server slows down, and
// raises it again once the server recovers. A lowered limit takes no slot from a PATCH already
// in flight; it only holds the next ones back until enough have finished.
type gate struct {
	mu    sync.Mutex
	n     int
	max   int
	limit func() int
	// freed wakes the one dispatcher when a slot is released; one pending wake is enough,
	// since the dispatcher re-checks the count under the lock.
	freed chan struct{}
}

func newGate(most int, limit func() int) *gate {
	return &gate{max: most, limit: limit, freed: make(chan struct{}, 1)}
}

// allowed is the number of PATCHes allowed in flight now: at least 1.
func (g *gate) allowed() int {
	n := g.max
	if g.limit != nil {
		if l := g.limit(); l > 0 {
			n = min(n, l)
		}
	}
	return max(1, n)
}

// acquire takes a slot, waiting for one to free up; it reports false when ctx ended first.
func (g *gate) acquire(ctx context.Context) bool {
	for {
		g.mu.Lock()
		if g.n < g.allowed() {
			g.n++
			g.mu.Unlock()
			return true
		}
		g.mu.Unlock()
		select {
		case <-g.freed:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives a slot back.
func (g *gate) release() {
	g.mu.Lock()
	g.n--
	g.mu.Unlock()
	select {
	case g.freed <- struct{}{}:
	default:
	}
}
