package apply

import (
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/plan"
)

// Verify compares the server's state read back after a run with what was sent, and marks each
// applied option verified or not. An option whose read-back differs fails, and so does its
// integration: the report then lists it for a re-run. A value the server does not reveal (a
// masked password) cannot be checked: with its permission as sent, the option is
// VerifyUnknown, never VerifyOK, since a server that ignored the new key would look the
// same. Integrations missing from state are left unverified (VerifyNone).
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
			o.Verified = verification(in, o.Change)
			if o.Verified == bulk.VerifyMismatch {
				o.Status = bulk.StatusFailed
				o.Error = "verification failed: reading the option back after the PATCH shows a different value or permission"
				r.Status = bulk.StatusFailed
				r.Error = "verification failed for option " + o.Key
			}
		}
	}
}

func verification(in bulk.Integration, c bulk.Change) bulk.Verification {
	opt, ok := in.Option(c.Key)
	switch {
	case !ok || opt.Permission != c.AfterPermission:
		return bulk.VerifyMismatch
	case !c.Send.Present():
		return bulk.VerifyOK // a permission change alone: the permission is what was asked
	case !opt.Readable:
		return bulk.VerifyUnknown
	case plan.Equal(opt, opt.Value, c.Send.Bytes()):
		return bulk.VerifyOK
	}
	return bulk.VerifyMismatch
}
