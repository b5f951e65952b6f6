package apply_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/apply"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// memPatcher answers every PATCH at once: what is left is apply's own cost per integration.
type memPatcher struct{ calls atomic.Int64 }

func (m *memPatcher) Patch(_ context.Context, _ string, items []api.PatchItem) (api.Outcome, error) {
	m.calls.Add(1)
	return api.Outcome{HTTPStatus: 200, Attempts: 1}, nil
}

// benchPlan is n integrations with ten option updates each (one a permission change).
func benchPlan(n int) bulk.Plan {
	var p bulk.Plan
	for i := range n {
		t := bulk.Target{ID: fmt.Sprintf("bench_%05d_node_18_%d", i, 1725000000+i), Name: "Bench " + strconv.Itoa(i), Status: "running", Running: true}
		for k := range 10 {
			c := bulk.Change{
				Line: 2 + i*10 + k, Key: "option" + strconv.Itoa(k), Kind: bulk.KindText, Action: bulk.ActionUpdate,
				ValueChanges: true, Before: `"old"`, After: `"new"`,
				Send:    bulk.NewPayload(json.RawMessage(`"new value ` + strconv.Itoa(k) + `"`)),
				Current: bulk.NewPayload(json.RawMessage(`"old"`)),
			}
			if k == 0 {
				c.PermissionChanges, c.AfterPermission = true, bulk.Permission{AdminOnly: true}
			}
			t.Changes = append(t.Changes, c)
		}
		p.Targets = append(p.Targets, t)
	}
	return p
}

// BenchmarkRun applies 1,000 integrations × 10 options through an in-memory patcher.
func BenchmarkRun(b *testing.B) {
	p := benchPlan(1000)
	for _, conc := range []int{1, 4, 16} {
		b.Run("concurrency-"+strconv.Itoa(conc), func(b *testing.B) {
			srv := &memPatcher{}
			results := 0
			b.ReportAllocs()
			for b.Loop() {
				rs, err := apply.Run(context.Background(), srv, p, apply.Options{
					Concurrency: conc,
					OnResult:    func(bulk.Result) { results++ },
				})
				if err != nil || len(rs) != len(p.Targets) || rs[len(rs)-1].Status != bulk.StatusApplied {
					b.Fatalf("err %v, %d results", err, len(rs))
				}
			}
			if results != b.N*len(p.Targets) {
				b.Fatalf("OnResult called %d times, want %d", results, b.N*len(p.Targets))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(srv.calls.Load()), "ns/PATCH")
		})
	}
}

// BenchmarkTimelineObserve is the cost the timeline adds to each HTTP attempt, from four
// goroutines at once (as --concurrency 4 calls it), over a run long enough to merge buckets.
func BenchmarkTimelineObserve(b *testing.B) {
	start := time.Now()
	r := apply.NewTimeline(start, 5)
	var i atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := i.Add(1)
			a := api.Attempt{Start: start.Add(time.Duration(n) * 5 * time.Millisecond), Latency: 40 * time.Millisecond, Status: 200, N: 1}
			if n%20 == 0 {
				a.Status, a.RetryAfter = 429, time.Second
			}
			r.Observe(a)
		}
	})
}
