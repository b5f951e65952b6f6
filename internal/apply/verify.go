package apply

import (
	"strings"

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
				o.Error = "read back different after the PATCH: " + mismatch(in, o.Change) + "; another writer may have changed it since"
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

// mismatch says how an option read back differs from what was sent: the option missing, its
// permission, its value; a sensitive value shows as (sensitive) whatever it is.
func mismatch(in bulk.Integration, c bulk.Change) string {
	opt, ok := in.Option(c.Key)
	if !ok {
		return "the integration no longer has option " + c.Key
	}
	var parts []string
	if opt.Permission != c.AfterPermission {
		parts = append(parts, "permission sent "+c.AfterPermission.String()+", the server holds "+opt.Permission.String())
	}
	if c.Send.Present() && opt.Readable && !plan.Equal(opt, opt.Value, c.Send.Bytes()) {
		sent, held := bulk.SensitiveText, bulk.SensitiveText
		if !c.Sensitive && !opt.Sensitive() {
			sent, held = plan.Display(opt, c.Send.Bytes()), plan.Display(opt, opt.Value)
		}
		parts = append(parts, "value sent "+sent+", the server holds "+held)
	}
	if len(parts) == 0 {
		return "the option differs"
	}
	return strings.Join(parts, "; ")
}
