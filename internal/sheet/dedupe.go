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

// options remembers which row set each option first. It groups the options by integration:
// an integration's rows come one after another in any real file, so the lookups for its
// options stay in the CPU cache, where one map of a million options missed it on nearly every
// row (a fifth of Read's time for a million rows). Within an integration, options are keyed by
// a 64-bit hash of the option rather than by the strings: a slot of 16 bytes instead of 56. Two
// options with the same hash (odds of about one in ten million for a million rows) are told
// apart by comparing the rows, and the later one goes to a map keyed by the strings.
type options struct {
	hash   func(dupKey) uint64
	byID   map[string]int32 // integration id → index into sets
	byName map[string]int32 // lowercased integration name (rows without an id) → index into sets
	sets   []optionSet
	last   dupKey // the last row's integration (key aside) and its set: rows come in runs
	lastS  int32
	exact  map[dupKey]int // options whose hash an earlier, different option had
}

// optionSet holds the options of one integration.
type optionSet struct {
	few  []hashed         // the first maxFew options, scanned: most files set a handful
	many map[uint64]int32 // all of them, once there are more
}

// hashed is an option's hash and the index of the row that set it first.
type hashed struct {
	h uint64
	i int32
}

const maxFew = 8

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
		byID:   make(map[string]int32),
		byName: make(map[string]int32),
		lastS:  -1,
	}
}

// set returns the options of k's integration.
func (o *options) set(k dupKey) *optionSet {
	if o.lastS < 0 || k.id != o.last.id || k.name != o.last.name {
		m, ref := o.byID, k.id
		if ref == "" {
			m, ref = o.byName, k.name
		}
		s, ok := m[ref]
		if !ok {
			s = int32(len(o.sets))
			o.sets = append(o.sets, optionSet{})
			m[strings.Clone(ref)] = s // not the row's: it is part of the whole CSV record
		}
		o.last, o.lastS = dupKey{id: k.id, name: k.name}, s
	}
	return &o.sets[o.lastS]
}

// find returns the row index recorded for hash h, or records next for it.
func (s *optionSet) find(h uint64, next int) (int, bool) {
	if s.many != nil {
		if i, ok := s.many[h]; ok {
			return int(i), true
		}
		s.many[h] = int32(next)
		return next, false
	}
	for _, e := range s.few {
		if e.h == h {
			return int(e.i), true
		}
	}
	if len(s.few) < maxFew {
		s.few = append(s.few, hashed{h, int32(next)})
		return next, false
	}
	s.many = make(map[uint64]int32, 2*maxFew)
	for _, e := range s.few {
		s.many[e.h] = e.i
	}
	s.few = nil
	s.many[h] = int32(next)
	return next, false
}

// first returns the index of the row that set row's option first, and whether there is one;
// when there is none, row is recorded as the option's first row, at index next.
func (o *options) first(row *bulk.Row, next int, rows *rowStore) (int, bool) {
	k := keyOf(row)
	i, found := o.set(k).find(o.hash(k), next)
	if !found {
		return next, false
	}
	if r := rows.at(i).row(); keyOf(&r) == k {
		return i, true
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
