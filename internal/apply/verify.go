package apply

import (
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/plan"
)

// Verify compares the server's state read back after a run with what was sent, and marks each
// applied option verified or not. An option whose read-back differs fails, and so does its
// integration: the report then lists it for a re-run. Values the server does not reveal
// (masked passwords) are verified by their permission alone. Integrations missing from state
// are left unverified (Verified nil).
func Verify(results []bulk.Result, state map[string]bulk.Integration) {
	for i := range results {
		r := &results[i]
		if r.Status != bulk.StatusApplied {
			continue
		}
		in, ok := state[r.ID]
		if !ok {
			continue
		}
		for j := range r.Options {
			o := &r.Options[j]
			if o.Status != bulk.StatusApplied {
				continue
			}
			ok := matches(in, o.Change)
			o.Verified = &ok
			if !ok {
				o.Status = bulk.StatusFailed
				o.Error = "verification failed: reading the option back after the PATCH shows a different value or permission"
				r.Status = bulk.StatusFailed
				r.Error = "verification failed for option " + o.Key
			}
		}
	}
}

func matches(in bulk.Integration, c bulk.Change) bool {
	opt, ok := in.Option(c.Key)
	if !ok || opt.Flags != c.AfterFlags {
		return false
	}
	if !c.Send.Present() || !opt.Readable {
		return true
	}
	return plan.Equal(opt, opt.Value, c.Send.Bytes())
}
