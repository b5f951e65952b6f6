package sheet

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"unsafe"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// TestSecretsNeverQuoted puts a secret in the value column of rows broken in every way we
// know, and checks that no problem quotes any part of it. Other cells are quoted freely.
func TestSecretsNeverQuoted(t *testing.T) {
	t.Parallel()
	const secret = "S3cr3tPassw0rd"
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	rows := []string{
		"a,k1," + q("json:"+secret) + ",,,",                           // invalid JSON
		"a,k2," + q(`json:{"p":"`+secret+`"`) + ",,,",                 // JSON cut short
		"a,k3," + q(`json:"`+secret+`" x`) + ",,,",                    // text after the JSON value
		"a,k4," + q("${"+secret+"-x}") + ",,,",                        // invalid variable name
		"a,k5," + q(secret+"${VT_KEY}") + ",,,",                       // reference inside a literal
		"a,k6," + q(secret) + ",,,",                                   // conflicting duplicates...
		"a,k6," + q(secret+"2") + ",,,",                               // ...of a secret
		"a,k7,${VT_KEY},,,",                                           // conflicting duplicates...
		"a,k7," + q(secret) + ",,,",                                   // ...one from the environment
		"a-b,," + q(secret) + ",,,",                                   // other cells wrong
		"a,k8," + q(secret+"\xff") + ",,,",                            // invalid UTF-8
		"a,k9," + q(secret+"\x00") + ",,,",                            // NUL
		"a,k10," + q(strings.Repeat(secret, MaxCellBytes/10)) + ",,,", // too large
		"a,k11," + secret + `"x,,,`,                                   // bare quote
		"a,k12," + secret + ",extra,,,",                               // wrong field count
		"a,k13," + q(secret) + ",lock-hide,true,",                     // both permission styles
		"a,k14," + q(secret) + ",,true,true",                          // the invalid pair
	}
	in := "integration_id,option_key,value,permission,admin_only,user_can_edit\n" +
		strings.Join(rows, "\n") + "\n"
	_, ps, err := Read("in.csv", strings.NewReader(in), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < len(rows)-2 {
		t.Fatalf("only %d problems:\n%v", len(ps), ps)
	}
	for _, p := range ps {
		for _, part := range []string{secret, "S3cr3t", "Passw0rd", env["VT_KEY"]} {
			if strings.Contains(p.Error(), part) {
				t.Errorf("problem quotes a value: %s", p.Error())
			}
		}
	}
}

// TestReadHostile feeds inputs that are not honest CSV files: each must end in clear problems,
// quickly, without a crash.
func TestReadHostile(t *testing.T) {
	t.Parallel()
	const header = "integration_id,option_key,value\n"
	big := func(n int) string { return strings.Repeat("x", n) }
	var manyCols, wideRow strings.Builder
	manyCols.WriteString("integration_id,option_key,value")
	for i := range 9997 {
		fmt.Fprintf(&manyCols, ",c%d", i)
	}
	manyCols.WriteString("\n")
	wideRow.WriteString("a,k,v")
	wideRow.WriteString(strings.Repeat(",", 9997))
	wideRow.WriteString("\n")

	tests := []struct {
		name string
		in   string
		want []p
		rows int
	}{
		{
			name: "50 MB single cell, then rows still read",
			in:   header + "a,k1,\"" + big(50<<20) + "\"\na,k2,v\n",
			want: []p{{2, "value", "cell is 52428800 bytes; the limit is 1 MiB per cell", false}},
			rows: 1,
		},
		{
			name: "cell at the limit is fine",
			in:   header + "a,k1," + big(MaxCellBytes) + "\n",
			rows: 1,
		},
		{
			name: "record over 64 MiB stops reading",
			in:   header + "a,k1,v\na,k2,\"" + big(MaxRecordBytes+1<<20) + "\"\na,k3,v\n",
			want: []p{{3, "", `a row longer than 64 MiB: reading stopped here; is this a CSV file, or is a quote (") on this line never closed?`, false}},
			rows: 1,
		},
		{
			name: "10,000 columns",
			in:   manyCols.String() + wideRow.String(),
			want: append(func() []p {
				var ps []p
				for i := range 10 {
					ps = append(ps, p{1, "", fmt.Sprintf(`unknown column "c%d"`, i), false})
				}
				return ps
			}(), p{1, "", "... and 9987 more unknown columns", false}),
		},
		{
			name: "a row of 10,000 cells",
			in:   header + wideRow.String() + "a,k2,v\n",
			want: []p{{2, "", "row has 10000 cells but the header has 3", false}},
			rows: 1,
		},
		{
			name: "binary junk",
			in:   header + "\x00\x01\x02\xff\xfe,\x00,\"\x00\n",
			want: []p{{2, "value", "a quoted cell (opened on line 2) is not closed properly", false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No wall-clock limit here: the machines are shared, and a pathological slowdown
			// shows in the sheet benchmarks (make bench), a hang in the test timeout.
			readChecked(t, tt.in, tt.want, tt.rows)
		})
	}
}

// TestReadProblemCap checks that a garbage file of many lines yields MaxProblems problems and
// one that counts the rest.
func TestReadProblemCap(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("integration_id,option_key,value,permission\n")
	const n = 50_000
	for range n {
		b.WriteString("a-b,,json:x,nope\n") // four problems a row
	}
	rows, ps, err := Read("in.csv", &b, lookup)
	if err != nil || len(rows) != 0 {
		t.Fatalf("rows %d, err %v", len(rows), err)
	}
	if len(ps) != MaxProblems+1 {
		t.Fatalf("got %d problems, want %d", len(ps), MaxProblems+1)
	}
	last := ps[len(ps)-1]
	want := bulk.Problem{File: "in.csv", Msg: fmt.Sprintf("... and %d more problems not shown", 4*n-MaxProblems), Omitted: 4*n - MaxProblems}
	if last != want {
		t.Errorf("last problem %+v, want %+v", last, want)
	}
	if ps[MaxProblems-1].Line != MaxProblems/4+1 {
		t.Errorf("problems not the first ones in line order: %v", ps[MaxProblems-1])
	}
}

// TestOptionsCollision forces every option onto one hash to check that different options with
// the same hash are still told apart.
func TestOptionsCollision(t *testing.T) {
	t.Parallel()
	o := newOptions()
	o.hash = func(dupKey) uint64 { return 42 }
	var rows rowStore
	add := func(id, name, key string) (int, bool) {
		r := bulk.Row{IntegrationID: id, IntegrationName: name, Key: key}
		i, dup := o.first(&r, rows.len(), &rows)
		if !dup {
			rows.add(&r)
		}
		return i, dup
	}
	steps := []struct {
		id, name, key string
		want          int
		dup           bool
	}{
		{"a", "", "k", 0, false},
		{"b", "", "k", 1, false},
		{"", "A", "k", 2, false}, // a name is not an id
		{"b", "", "k", 1, true},
		{"", "a", "k", 2, true}, // names are matched case-insensitively
		{"a", "Other", "k", 0, true},
		{"a", "", "K", 3, false},
	}
	for i, s := range steps {
		if got, dup := add(s.id, s.name, s.key); got != s.want || dup != s.dup {
			t.Errorf("step %d: got %d, %v; want %d, %v", i, got, dup, s.want, s.dup)
		}
	}
}

// TestRowStore checks that rows come back from the store as they went in, across blocks,
// with their merged lines.
func TestRowStore(t *testing.T) {
	t.Parallel()
	kinds := []bulk.Row{
		{IntegrationID: "a", Key: "k", Value: lit("v"), Cell: "v", Permission: lockHide, PermissionCell: "Lock-Hide"},
		{IntegrationName: "VT", Key: "k", Value: keep, Permission: bulk.PermissionEdit{UserCanEdit: set(false)}},
		{IntegrationID: "a", IntegrationName: "VT", Key: "k", Cell: "${VT_KEY}",
			Value: bulk.Value{Form: bulk.ValueLiteral, Text: "secret", Env: "VT_KEY"}},
		{IntegrationID: "a", Key: "k", Cell: `json:["x"]`, Value: bulk.Value{Form: bulk.ValueJSON, Text: `["x"]`},
			Permission: bulk.PermissionEdit{AdminOnly: set(true)}},
		{IntegrationID: "a", Key: "ключ", Cell: "é\nmulti", Value: lit("é\nmulti"), Permission: userProvides},
	}
	var s rowStore
	n := 3*rowChunk + 7
	want := make([]bulk.Row, n)
	for i := range n {
		r := kinds[i%len(kinds)]
		r.Line = i + 2
		want[i] = r
		s.add(&r)
	}
	s.merge(1, 100)
	s.merge(1, 200)
	s.merge(n-1, 300)
	want[1].Merged = []int{100, 200}
	want[n-1].Merged = []int{300}
	for i := range n {
		if got := s.at(i).row(); got.Line != i+2 {
			t.Fatalf("at(%d) has line %d", i, got.Line)
		}
	}
	got := s.all()
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i := range got {
		if !rowsEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %s\nwant %s", i, showRow(got[i]), showRow(want[i]))
		}
	}
	var empty rowStore
	if empty.all() != nil {
		t.Errorf("empty store gives rows")
	}
}

// TestReadLarge reads a large valid file, past several chunks and row blocks, through a plain
// io.Reader and through a bytes.Reader, and checks that both give every row in order.
func TestReadLarge(t *testing.T) {
	t.Parallel()
	const n = 20_000
	data := genFile(n)
	for _, plain := range []bool{true, false} {
		var r interface{ Read([]byte) (int, error) } = bytes.NewReader(data)
		if plain {
			r = struct{ *bytes.Reader }{bytes.NewReader(data)}
		}
		rows, ps, err := Read("big.csv", r, benchEnv)
		if err != nil || len(ps) != 0 || len(rows) != n {
			t.Fatalf("plain %v: %d rows, problems %v, err %v", plain, len(rows), ps, err)
		}
		for i, r := range rows {
			if !validRow(r) || i > 0 && r.Line <= rows[i-1].Line {
				t.Fatalf("plain %v: row %d: %s", plain, i, showRow(r))
			}
		}
	}
}

// TestSlimSize keeps the compact row at the size the memory figures assume.
func TestSlimSize(t *testing.T) {
	t.Parallel()
	if n := unsafe.Sizeof(slim{}); n > 72 {
		t.Errorf("slim is %d bytes, want at most 72", n)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReadRowCap: a file with more rows than the limit is refused with one problem on the
// first row over it, reading stops there (a 1 GB file is not read to its end), and no row is
// returned, so that memory follows the rows kept, never the file. The limit is lowered here;
// MaxRows is 1,000,000.
func TestReadRowCap(t *testing.T) {
	t.Parallel()
	const n, limit = 50_000, 2_000
	data := genFile(n)
	cr := &countingReader{r: bytes.NewReader(data)}
	rows, ps, err := readLimited("big.csv", cr, benchEnv, limit)
	if err != nil || rows != nil {
		t.Fatalf("%d rows, err %v", len(rows), err)
	}
	if len(ps) != 1 {
		t.Fatalf("problems %v, want one", ps)
	}
	// The first row over the limit: genFile's rows take a line each, and every fifth one two.
	want := bulk.Problem{File: "big.csv", Line: 2 + limit + limit/5, Msg: "more than 2,000 rows: reading stopped here; split the file into files of at most 2,000 rows (the limit keeps memory bounded)"}
	if ps[0] != want {
		t.Errorf("problem %+v\nwant    %+v", ps[0], want)
	}
	if cr.n > len(data)/4 {
		t.Errorf("read %d of %d bytes: reading went on past the limit", cr.n, len(data))
	}
	// At the limit exactly, the file is fine.
	rows, ps, err = readLimited("big.csv", bytes.NewReader(genFile(limit)), benchEnv, limit)
	if err != nil || len(ps) != 0 || len(rows) != limit {
		t.Fatalf("at the limit: %d rows, problems %v, err %v", len(rows), ps, err)
	}
	if MaxRows != 1_000_000 {
		t.Errorf("MaxRows = %d", MaxRows)
	}
}
