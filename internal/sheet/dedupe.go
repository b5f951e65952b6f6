package sheet

import (
	"hash/maphash"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// dupKey identifies an option for the duplicate check: the integration's id when the row gives
// one, else its name lowercased, and the key.
type dupKey struct{ id, name, key string }

func keyOf(r *bulk.Row) dupKey {
	if r.IntegrationID != "" {
		return dupKey{id: r.IntegrationID, key: r.Key}
	}
	return dupKey{name: strings.ToLower(r.IntegrationName), key: r.Key}
}

// options remembers which row set each option first. Its map is keyed by a 64-bit hash of the
// option rather than by the strings: a slot of 16 bytes instead of 56, which for a million rows
// is some 70 MB less. Two options with the same hash (odds of about one in ten million for a
// million rows) are told apart by comparing the rows, and the later one goes to a map keyed by
// the strings.
type options struct {
	hash   func(dupKey) uint64
	byHash map[uint64]int32 // index into the rows
	exact  map[dupKey]int   // options whose hash an earlier, different option had
}

func newOptions() *options {
	var h maphash.Hash // its random seed is set on first use and kept by Reset
	return &options{
		hash: func(k dupKey) uint64 {
			h.Reset()
			h.WriteString(k.id)
			h.WriteByte(0)
			h.WriteString(k.name)
			h.WriteByte(0)
			h.WriteString(k.key)
			return h.Sum64()
		},
		byHash: make(map[uint64]int32),
	}
}

// first returns the index of the row that set row's option first, and whether there is one;
// when there is none, row is recorded as the option's first row, at index next.
func (o *options) first(row *bulk.Row, next int, rows *rowStore) (int, bool) {
	k := keyOf(row)
	h := o.hash(k)
	i, ok := o.byHash[h]
	if !ok {
		o.byHash[h] = int32(next)
		return next, false
	}
	if r := rows.at(int(i)).row(); keyOf(&r) == k {
		return int(i), true
	}
	if j, ok := o.exact[k]; ok {
		return j, true
	}
	if o.exact == nil {
		o.exact = make(map[dupKey]int)
	}
	o.exact[k] = next
	return next, false
}
