package sheet

import (
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// rowChunk is how many rows one block of rowStore holds.
const rowChunk = 4096

// arenaChunk is the size of the blocks the kept cells are copied into.
const arenaChunk = 1 << 20

// slim is a valid row as Read keeps it until the end: where its cells are in the store's arena
// (integration id, name, key, value cell, permission cell, and the Value.Text of a ${NAME}
// value, which is not in the cell), and what they mean. It holds no pointer, nor does the
// arena hold one per row, so the garbage collector has nothing to scan in a million of them;
// at 48 bytes against bulk.Row's 160 it is what keeps a million rows, plus the one []bulk.Row
// built from them at the end, well under 600 MB.
type slim struct {
	line  int
	chunk uint32    // the arena chunk holding the cells
	start uint32    // where the first cell starts in it
	ends  [6]uint32 // where each cell ends, from start: cells are at most MaxCellBytes
	form  uint8     // bulk.ValueForm
	perm  uint8     // the perm bits below
	kind  uint8     // Row.OptionKind: 0 for none, else 1 + its index in bulk.OptionKinds
}

const (
	permAdminOnlySet = 1 << iota
	permAdminOnly
	permUserCanEditSet
	permUserCanEdit
)

// stored is a row of a rowStore.
type stored struct {
	s *rowStore
	i int
}

// row rebuilds the bulk.Row, Merged aside.
func (st stored) row() bulk.Row {
	s := st.s.at0(st.i)
	cells := st.s.chunk(int(s.chunk))[s.start:]
	cell := func(i int) string {
		from := uint32(0)
		if i > 0 {
			from = s.ends[i-1]
		}
		return cells[from:s.ends[i]]
	}
	r := bulk.Row{
		Line:            s.line,
		IntegrationID:   cell(0),
		IntegrationName: cell(1),
		Key:             cell(2),
		Cell:            cell(3),
		PermissionCell:  cell(4),
		Permission: bulk.PermissionEdit{
			AdminOnly:   bulk.Bool{Set: s.perm&permAdminOnlySet != 0, Value: s.perm&permAdminOnly != 0},
			UserCanEdit: bulk.Bool{Set: s.perm&permUserCanEditSet != 0, Value: s.perm&permUserCanEdit != 0},
		},
	}
	if s.kind > 0 {
		r.OptionKind = bulk.OptionKinds[s.kind-1]
	}
	r.Value.Form = bulk.ValueForm(s.form)
	switch text := cell(5); {
	case r.Value.Form == bulk.ValueJSON:
		r.Value.Text = r.Cell[len("json:"):]
	case r.Value.Form == bulk.ValueLiteral && text != "":
		r.Value.Text, r.Value.Env = text, r.Cell[2:len(r.Cell)-1]
	case r.Value.Form == bulk.ValueLiteral:
		r.Value.Text = r.Cell
	}
	return r
}

// rowStore collects the valid rows as slims, in fixed blocks (a growing slice of a million
// would copy them again and again), with their cells copied into an arena of large strings,
// and builds the one []bulk.Row at the end. Its zero value is an empty store.
type rowStore struct {
	blocks [][]slim
	merged map[int][]int // Row.Merged, by row index: duplicates are rare
	n      int

	// The arena: full chunks, and the one being filled. A strings.Builder never changes the
	// bytes it has written, so cur.String() stays valid while cur grows within its capacity.
	done []string
	cur  strings.Builder
}

// chunk returns arena chunk c.
func (s *rowStore) chunk(c int) string {
	if c == len(s.done) {
		return s.cur.String()
	}
	return s.done[c]
}

func (s *rowStore) len() int { return s.n }

func (s *rowStore) add(r *bulk.Row) {
	switch {
	case len(s.blocks) == 0:
		// The first block grows as rows come: a three-row file allocates little.
		s.blocks = append(s.blocks, nil)
	case len(s.blocks[len(s.blocks)-1]) == rowChunk:
		s.blocks = append(s.blocks, make([]slim, 0, rowChunk))
	}
	b := &s.blocks[len(s.blocks)-1]
	*b = append(*b, s.slimOf(r))
	s.n++
}

func (s *rowStore) slimOf(r *bulk.Row) slim {
	text := ""
	if r.Value.Env != "" {
		text = r.Value.Text
	}
	cells := [...]string{r.IntegrationID, r.IntegrationName, r.Key, r.Cell, r.PermissionCell, text}
	n := 0
	for _, c := range cells {
		n += len(c)
	}
	if s.cur.Cap()-s.cur.Len() < n {
		if s.cur.Len() > 0 {
			s.done = append(s.done, s.cur.String())
		}
		s.cur = strings.Builder{}
		s.cur.Grow(max(arenaChunk, n))
	}
	sl := slim{
		line:  r.Line,
		chunk: uint32(len(s.done)),
		start: uint32(s.cur.Len()),
		form:  uint8(r.Value.Form),
	}
	if r.OptionKind != "" {
		sl.kind = uint8(1 + slices.Index(bulk.OptionKinds, r.OptionKind))
	}
	end := 0
	for i, c := range cells {
		s.cur.WriteString(c)
		end += len(c) // cells are at most MaxCellBytes: no overflow
		sl.ends[i] = uint32(end)
	}
	for _, b := range [...]struct {
		on  bool
		bit uint8
	}{
		{r.Permission.AdminOnly.Set, permAdminOnlySet}, {r.Permission.AdminOnly.Value, permAdminOnly},
		{r.Permission.UserCanEdit.Set, permUserCanEditSet}, {r.Permission.UserCanEdit.Value, permUserCanEdit},
	} {
		if b.on {
			sl.perm |= b.bit
		}
	}
	return sl
}

// at returns row i.
func (s *rowStore) at(i int) stored { return stored{s, i} }

func (s *rowStore) at0(i int) *slim { return &s.blocks[i/rowChunk][i%rowChunk] }

// merge notes that the row at line was merged into row i.
func (s *rowStore) merge(i, line int) {
	if s.merged == nil {
		s.merged = make(map[int][]int)
	}
	s.merged[i] = append(s.merged[i], line)
}

// all builds the rows, and lets go of each block once it is copied.
func (s *rowStore) all() []bulk.Row {
	if s.n == 0 {
		return nil
	}
	out := make([]bulk.Row, 0, s.n)
	for i, b := range s.blocks {
		for j := range b {
			out = append(out, s.at(i*rowChunk+j).row())
		}
		s.blocks[i] = nil
	}
	for i, lines := range s.merged {
		out[i].Merged = lines
	}
	return out
}
