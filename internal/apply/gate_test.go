package apply

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestGate: the gate lets at most max through, and at most limit() while it is lower; a
// lowered limit holds new PATCHes back until enough in flight have finished, a raised one lets
// them go at the next release; a cancelled context ends the wait.
func TestGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var limit atomic.Int64
		limit.Store(0) // unset: max alone
		g := newGate(4, func() int { return int(limit.Load()) })
		ctx := t.Context()
		for range 4 {
			if !g.acquire(ctx) {
				t.Fatal("acquire failed below max")
			}
		}
		got := make(chan bool, 1)
		go func() { got <- g.acquire(ctx) }()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a fifth slot past max 4")
		default:
		}
		// The limit drops to 2: two releases free nothing for the waiter.
		limit.Store(2)
		g.release()
		g.release()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a slot while 2 are in flight under limit 2")
		default:
		}
		g.release() // 1 in flight: the waiter gets the second slot
		if ok := <-got; !ok {
			t.Fatal("waiter refused")
		}
		// Raised again: the next acquire waits only for the count, not for the limit.
		limit.Store(10)
		for range 2 {
			if !g.acquire(ctx) {
				t.Fatal("acquire failed under a raised limit")
			}
		}
		if g.n != 4 {
			t.Errorf("%d in flight, want 4 (max)", g.n)
		}
		// A limit of 0 or less is no limit: max alone.
		limit.Store(-3)
		if g.allowed() != 4 {
			t.Errorf("allowed %d with a negative limit, want max", g.allowed())
		}
		// Cancelled while waiting.
		cctx, cancel := context.WithCancel(ctx)
		go func() { time.Sleep(time.Second); cancel() }()
		if g.acquire(cctx) {
			t.Error("acquired past max after cancel")
		}
	})
}
