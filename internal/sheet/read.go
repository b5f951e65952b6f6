package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Columns lists the columns Read accepts, in the order the help text and problems name them.
// Read keeps its own copy: changing this slice changes no behaviour.
var Columns = []string{
	colID, colName, colKey, colValue, colPerm, colAdminOnly, colUserCanEdit, colKind, colComment,
}

// Limits of Read. Option values are API keys, URLs and lists of domains, so no real cell comes
// near MaxCellBytes; the limits exist so that a wrong file (a binary, a log, a quote never
// closed in a large file) yields a clear problem instead of a crash or minutes of work.
const (
	// MaxCellBytes is the largest cell Read accepts. A larger cell is a problem on its row and
	// reading goes on with the next row.
	MaxCellBytes = 1 << 20
	// MaxRecordBytes is the most Read will buffer for one CSV record (all cells of one row,
	// quoted line breaks included). Beyond it Read reports a problem and stops reading: the
	// usual cause is a quote never closed, after which the rest of the file is one cell.
	MaxRecordBytes = 64 << 20
	// MaxProblems is how many problems Read returns; the rest are counted in one final
	// "... and N more problems" problem, so that a garbage file does not flood the terminal.
	MaxProblems = 1000
	// MaxRows is the most rows Read keeps. Memory follows the rows kept (about 400 bytes a
	// row), so the limit bounds it whatever the file's size: a larger file is refused with a
	// problem at its first row over the limit, and reading stops there.
	MaxRows = 1_000_000
)

const (
	colID          = "integration_id"
	colName        = "integration_name"
	colKey         = "option_key"
	colValue       = "value"
	colPerm        = "permission"
	colAdminOnly   = "admin_only"
	colUserCanEdit = "user_can_edit"
	colKind        = "option_kind"
	colComment     = "comment"
)

// columns is the private copy of Columns; a column's index in it is its id below.
var columns = slices.Clone(Columns)

// Column ids, indexes into columns.
const (
	cID = iota
	cName
	cKey
	cValue
	cPerm
	cAdminOnly
	cUserCanEdit
	cKind
	cComment
	numCols
)

// record is what gocsv maps each row to. Every field is a string: gocsv turns an empty numeric
// cell into 0, so conversion happens in validation, where an empty cell means "keep". The
// comment column is accepted but never handed to gocsv.
type record struct {
	IntegrationID   string `csv:"integration_id"`
	IntegrationName string `csv:"integration_name"`
	OptionKey       string `csv:"option_key"`
	Value           string `csv:"value"`
	Permission      string `csv:"permission"`
	AdminOnly       string `csv:"admin_only"`
	UserCanEdit     string `csv:"user_can_edit"`
	OptionKind      string `csv:"option_kind"`
}

// cell returns the record's cell of column c.
func (r *record) cell(c int) string {
	switch c {
	case cID:
		return r.IntegrationID
	case cName:
		return r.IntegrationName
	case cKey:
		return r.OptionKey
	case cValue:
		return r.Value
	case cPerm:
		return r.Permission
	case cAdminOnly:
		return r.AdminOnly
	case cUserCanEdit:
		return r.UserCanEdit
	case cKind:
		return r.OptionKind
	}
	return ""
}

// chunkSize is how many records are handed to gocsv at once: large enough that gocsv's
// per-call header matching costs nothing, small enough that the buffers stay a few hundred KB.
const chunkSize = 1024

// bufSize is the read buffer under the csv.Reader.
const bufSize = 64 << 10

// errTooLong is the guard's answer once a record passes MaxRecordBytes.
var errTooLong = errors.New("record too long")

// guard counts the bytes read from the input and refuses to read more than MaxRecordBytes
// past the end of the last complete record: encoding/csv has no limit of its own.
type guard struct {
	r    io.Reader
	n    int64 // bytes read so far
	stop int64 // refuse to read at or past this offset
	eof  bool
}

func (g *guard) Read(p []byte) (int, error) {
	if g.n >= g.stop {
		return 0, errTooLong
	}
	if rest := g.stop - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if err == io.EOF {
		g.eof = true
	}
	return n, err
}

// chunk is the gocsv.SimpleDecoder Read hands to gocsv: the header (the canonical names of the
// columns present) and then up to chunkSize records, already read, checked and projected onto
// those columns. Reading stays with Read's own csv.Reader, which alone knows each field's
// physical line; gocsv only maps cells to record fields, synchronously, one chunk at a time.
type chunk struct {
	rows [][]string // rows[0] is the header
	next int        // for GetCSVRow
}

// GetCSVRows returns the header and the chunk's records.
func (c *chunk) GetCSVRows() ([][]string, error) { return c.rows, nil }

// GetCSVRow returns the header, then each record, then io.EOF.
func (c *chunk) GetCSVRow() ([]string, error) {
	if c.next >= len(c.rows) {
		return nil, io.EOF
	}
	c.next++
	return c.rows[c.next-1], nil
}

var _ gocsv.SimpleDecoder = (*chunk)(nil)

// pos is where one projected record's fields start.
type pos struct {
	line  int              // the record's first line
	lines [numCols - 1]int // the line of each projected column's field, by column id
}

// reader holds the state of one Read.
type reader struct {
	file  string
	env   func(string) (string, bool)
	comma rune // the separator

	g  *guard
	cr *csv.Reader

	width    int          // cells per record, from the header
	col      [numCols]int // each column's index in a record, -1 when absent
	proj     []int        // column ids handed to gocsv, in header order
	headerOK bool         // the header has no problem: rows can be checked as a whole

	ck    chunk
	flat  []string // backing store of ck's record rows
	recs  []record // gocsv's output, reused for each chunk
	poss  []pos    // where each of ck's records is
	count int      // records seen, valid or not, all-empty rows left out

	rows    rowStore
	seen    *options
	maxRows int  // MaxRows; tests lower it
	full    bool // a row over maxRows came: reading stops, no row is returned

	lastID    string // the last integration id checked, and idProblem's answer: ids come in runs
	lastIDMsg string

	problems bulk.Problems
	scratch  bulk.Problems // one row's problems, sorted by line before they are added
	omitted  int
	omitFail int // the omitted problems that are not warnings

	lastEnd int   // the last line of the last record read
	bom     int64 // bytes of BOM skipped before the csv.Reader
}

// Read decodes and validates a CSV file of change rows. name is the file name used in problems.
// lookupEnv resolves ${NAME} cells (os.LookupEnv in production; nil means no variable is set).
// rows: the valid rows, identical duplicates merged (Row.Merged holds the merged lines).
// problems: every problem found (warnings included, bulk.Problem.Warning=true), all at once, in line order.
// err: only for failures to read r itself (I/O), never for bad content.
//
// Decisions beyond SPEC.md section 2: rows whose cells are all empty (a spreadsheet's trailing
// ",,,," lines) are skipped, while a row with only a comment is a problem (a change described
// but not filled in); a value of only whitespace is sent as is, with a warning; a ${NAME} whose variable is set but empty is a problem (a CI secret
// that is not configured arrives as an empty variable; json:"" sets an empty value on purpose);
// a literal value containing a ${NAME} reference gets a warning, since it is sent as written;
// when the header has a problem, rows are still checked cell by cell, but the checks that
// depend on the whole header (required cells, rows that change nothing, duplicates) are
// skipped and no rows are returned. See MaxCellBytes, MaxRecordBytes, MaxProblems and MaxRows
// for the limits.
//
// Memory: a 1,000,000-row file (72 to 85 MB) peaks at about 400 MB (resident set, whatever the
// reader): Read keeps each valid row in a compact, pointer-free form and builds the []bulk.Row
// once, at the end.
func Read(name string, r io.Reader, lookupEnv func(string) (string, bool)) ([]bulk.Row, bulk.Problems, error) {
	return ReadWith(name, r, lookupEnv, Options{})
}

// Options are Read's settings beyond the file.
type Options struct {
	// Comma separates the cells (--delimiter); ',' when zero. A header that is one cell
	// holding another separator (';', a tab, '|', ',') is a problem naming it: the file was
	// saved with another separator (Excel's default in many locales is ';').
	Comma rune
}

// ReadWith is Read with Options.
func ReadWith(name string, r io.Reader, lookupEnv func(string) (string, bool), o Options) ([]bulk.Row, bulk.Problems, error) {
	return readLimited(name, r, lookupEnv, MaxRows, o.Comma)
}

// readLimited is Read with the row limit as a parameter, for tests.
func readLimited(name string, r io.Reader, lookupEnv func(string) (string, bool), maxRows int, comma ...rune) ([]bulk.Row, bulk.Problems, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	rd := &reader{file: name, env: lookupEnv, maxRows: maxRows, comma: ','}
	if len(comma) > 0 && comma[0] != 0 {
		rd.comma = comma[0]
	}
	if err := rd.read(r); err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == name {
			return nil, nil, err // it names the file already: "read /tmp: is a directory"
		}
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	return rd.result()
}

func (rd *reader) read(in io.Reader) error {
	rd.g = &guard{r: in, stop: MaxRecordBytes + bufSize}
	br := bufio.NewReaderSize(rd.g, bufSize)
	start, err := br.Peek(3)
	if err != nil && err != io.EOF && !errors.Is(err, errTooLong) {
		return err
	}
	switch {
	case bytes.HasPrefix(start, []byte("\xef\xbb\xbf")):
		br.Discard(3) // the UTF-8 BOM Excel writes
		rd.bom = 3
	case bytes.HasPrefix(start, []byte("\xff\xfe")), bytes.HasPrefix(start, []byte("\xfe\xff")):
		rd.fileProblem(`file is UTF-16 encoded: save it as UTF-8 (in Excel: Save As "CSV UTF-8")`)
		return nil
	}
	// csv.NewReader uses br as is: it is a *bufio.Reader of at least 4096 bytes.
	rd.cr = csv.NewReader(br)
	rd.cr.ReuseRecord = true
	rd.cr.Comma = rd.comma

	header, err := rd.cr.Read()
	if err != nil {
		return rd.headerError(err)
	}
	if rd.otherSeparator(header) {
		return nil // every row would be one cell too: their problems would only repeat it
	}
	rd.header(header)
	rd.setStop()

	for {
		rec, err := rd.cr.Read()
		if err == io.EOF {
			break
		}
		if rd.full {
			break
		}
		switch {
		case err == nil:
			rd.record(rec)
		case isParseError(err):
			rd.parseError(err.(*csv.ParseError), rec)
		case errors.Is(err, errTooLong):
			rd.flush()
			rd.add(bulk.Problem{File: rd.file, Line: rd.lastEnd + 1, Msg: tooLong})
			return nil
		default:
			return err
		}
		rd.setStop()
	}
	rd.flush()
	if rd.count == 0 && !rd.full {
		rd.fileProblem("file has a header but no rows: add one row per option to change")
	}
	return nil
}

const tooLong = "a row longer than 64 MiB: reading stopped here; is this a CSV file, " +
	`or is a quote (") on this line never closed?`

// isParseError reports whether err is the csv.Reader's complaint about the content. It is kept
// out of the read loop so that the loop allocates nothing for the *csv.ParseError target.
func isParseError(err error) bool {
	_, ok := err.(*csv.ParseError)
	return ok
}

// setStop lets the guard read one more record's worth past what the csv.Reader has parsed.
func (rd *reader) setStop() {
	rd.g.stop = rd.cr.InputOffset() + MaxRecordBytes + bufSize
}

// result sorts the problems and returns what Read returns.
func (rd *reader) result() ([]bulk.Row, bulk.Problems, error) {
	// Problems arrive in line order except the file's own (line 0), found at the end.
	slices.SortStableFunc(rd.problems, func(a, b bulk.Problem) int { return a.Line - b.Line })
	if rd.omitted > 0 {
		rd.problems = append(rd.problems, bulk.Problem{
			File:    rd.file,
			Msg:     fmt.Sprintf("... and %d more problems not shown", rd.omitted),
			Warning: rd.omitFail == 0,
			Omitted: rd.omitFail,
		})
	}
	if !rd.headerOK || rd.full {
		return nil, rd.problems, nil
	}
	// Let go of the duplicate map and the chunk buffers before the rows are copied into one
	// slice, so that a collection the copy triggers can reclaim them.
	rd.seen, rd.recs, rd.flat, rd.poss, rd.ck = nil, nil, nil, nil, chunk{}
	return rd.rows.all(), rd.problems, nil
}

// add records a problem, or counts it once MaxProblems are recorded.
func (rd *reader) add(p bulk.Problem) {
	if len(rd.problems) >= MaxProblems {
		rd.omitted++
		if !p.Warning {
			rd.omitFail++
		}
		return
	}
	rd.problems = append(rd.problems, p)
}

func (rd *reader) fileProblem(msg string) {
	rd.add(bulk.Problem{File: rd.file, Msg: msg})
}

// headerError turns a failure to read the header into a problem, or returns it when it is the
// input's own.
func (rd *reader) headerError(err error) error {
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		rd.fileProblem("file is empty: expected a header row such as " +
			"integration_id,option_key,value,permission")
	case errors.As(err, &pe):
		p := rd.parseProblem(pe)
		p.Msg = "header row: " + p.Msg + "; no rows were checked"
		rd.add(p)
	case errors.Is(err, errTooLong):
		rd.add(bulk.Problem{File: rd.file, Line: 1, Msg: tooLong})
	default:
		return err
	}
	return nil
}

// separators are the cell separators a file may have been saved with, and their names.
var separators = []struct {
	r    rune
	name string
	flag string // as --delimiter takes it in a shell
}{{',', "commas", "','"}, {';', "semicolons", "';'"}, {'\t', "tabs", "tab"}, {'|', "pipes", "'|'"}}

// otherSeparator reports (as a problem) a header that is one cell holding another separator
// between column names: the file was saved with that separator.
func (rd *reader) otherSeparator(h []string) bool {
	if len(h) != 1 {
		return false
	}
	for _, sep := range separators {
		if sep.r == rd.comma || !strings.ContainsRune(h[0], sep.r) {
			continue
		}
		known := 0
		for _, cell := range strings.Split(h[0], string(sep.r)) {
			if slices.Contains(columns, canonical(cell)) {
				known++
			}
		}
		if known == 0 {
			continue
		}
		line, _ := rd.cr.FieldPos(0)
		got, excel, fix := "", "", "pass --delimiter "+sep.flag+`, or save the file as "CSV UTF-8 (Comma delimited)"`
		for _, s := range separators {
			if s.r == rd.comma {
				got = strings.TrimSuffix(s.name, "s")
			}
		}
		if got == "" {
			got = fmt.Sprintf("%q", rd.comma)
		}
		if sep.r == ';' {
			excel = " (Excel's default in many locales)"
		}
		switch {
		case sep.r == ',':
			fix = "leave out --delimiter: commas are the default"
		case rd.comma != ',':
			fix = "pass --delimiter " + sep.flag
		}
		rd.add(bulk.Problem{File: rd.file, Line: line, Msg: fmt.Sprintf(
			"the header is one column holding %d column names separated by %s: the file is %s-separated%s, "+
				"not %s-separated; no rows were checked; hint: %s",
			known, sep.name, strings.TrimSuffix(sep.name, "s"), excel, got, fix)})
		return true
	}
	return false
}

// canonical maps a header cell to the name it stands for: trimmed, lowercased, spaces and
// dashes as underscores.
func canonical(h string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return '_'
		}
		return unicode.ToLower(r)
	}, strings.TrimSpace(h))
}

// maxUnknown is how many unknown columns are named one by one.
const maxUnknown = 10

// header checks the header row and sets up the projection handed to gocsv.
func (rd *reader) header(h []string) {
	rd.width = len(h)
	for c := range rd.col {
		rd.col[c] = -1
	}
	n := len(rd.problems) + rd.omitted
	accepted := "accepted columns are " + strings.Join(columns, ", ")
	unknown := 0
	absent := rd.absentColumns(h)
	var meant [numCols]bool // the columns an unknown one was suggested for
	for j, cellText := range h {
		line, _ := rd.cr.FieldPos(j)
		problem := func(column, msg string) {
			rd.add(bulk.Problem{File: rd.file, Line: line, Column: column, Msg: msg})
		}
		if msg := cellProblem(cellText); msg != "" {
			problem("", fmt.Sprintf("header column %d: %s", j+1, msg))
			continue
		}
		name := canonical(cellText)
		c := slices.Index(columns, name)
		switch {
		case strings.ContainsRune(cellText, '\r'):
			problem("", "the header contains a carriage return: the file seems to use old Mac "+
				"line ends (CR only); save it with LF or CRLF line ends")
		case name == "":
			problem("", fmt.Sprintf("header column %d has no name: name it or delete the column (%s)",
				j+1, accepted))
		case c < 0:
			unknown++
			if unknown <= maxUnknown {
				msg := fmt.Sprintf("unknown column %s: %s", quote(cellText), accepted)
				if s := bulk.Suggest(cellText, absent); len(s) > 0 {
					msg = fmt.Sprintf("unknown column %s: %s (%s)", quote(cellText),
						bulk.DidYouMean(cellText, s, strconvQuote), accepted)
					if len(s) == 1 {
						meant[slices.Index(columns, s[0])] = true
					}
				}
				problem("", msg)
			}
		case rd.col[c] >= 0:
			problem(name, fmt.Sprintf("column appears twice in the header (columns %d and %d): "+
				"delete one", rd.col[c]+1, j+1))
		default:
			rd.col[c] = j
		}
	}
	line, _ := rd.cr.FieldPos(0)
	if unknown > maxUnknown {
		rd.add(bulk.Problem{File: rd.file, Line: line,
			Msg: fmt.Sprintf("... and %d more unknown columns", unknown-maxUnknown)})
	}
	rd.missingColumns(line, meant)
	rd.headerOK = len(rd.problems)+rd.omitted == n

	names := []string{}
	for c := range cComment {
		if rd.col[c] >= 0 {
			rd.proj = append(rd.proj, c)
		}
	}
	slices.SortFunc(rd.proj, func(a, b int) int { return rd.col[a] - rd.col[b] })
	for _, c := range rd.proj {
		names = append(names, columns[c])
	}
	// The chunk's buffers grow as rows come: a three-line file allocates little.
	rd.ck.rows = [][]string{names}
	rd.seen = newOptions()
}

// missingColumns reports the columns a header needs and lacks. A missing column that an
// unknown one was suggested for (meant) is that one's typo: the "did you mean" says all
// there is to say.
func (rd *reader) missingColumns(line int, meant [numCols]bool) {
	missing := func(c int) bool { return rd.col[c] < 0 && !meant[c] }
	if missing(cKey) {
		rd.add(bulk.Problem{File: rd.file, Line: line,
			Msg: "header has no option_key column: add it (every row names the option it changes)"})
	}
	if missing(cID) && missing(cName) {
		rd.add(bulk.Problem{File: rd.file, Line: line,
			Msg: "header has neither an integration_id nor an integration_name column: add one of them"})
	}
	if missing(cValue) && missing(cPerm) && missing(cAdminOnly) && missing(cUserCanEdit) {
		rd.add(bulk.Problem{File: rd.file, Line: line,
			Msg: "header has none of value, permission, admin_only, user_can_edit: the file would change nothing"})
	}
}

// absentColumns lists the accepted columns the header h does not name: what an unknown
// column may be a typo of.
func (rd *reader) absentColumns(h []string) []string {
	named := make(map[string]bool, len(h))
	for _, cell := range h {
		named[canonical(cell)] = true
	}
	var out []string
	for _, c := range columns {
		if !named[c] {
			out = append(out, c)
		}
	}
	return out
}

// strconvQuote quotes a suggestion the way problems quote cells.
func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// cellProblem checks what every cell must be: not too large, UTF-8, no NUL byte. The message
// never quotes the cell: it may be a secret.
func cellProblem(s string) string {
	if len(s) <= MaxCellBytes && plain(s) {
		return "" // the usual cell, checked in one pass
	}
	switch {
	case len(s) > MaxCellBytes:
		return fmt.Sprintf("cell is %d bytes; the limit is 1 MiB per cell", len(s))
	case !utf8.ValidString(s):
		return `cell is not valid UTF-8: save the file as UTF-8 (in Excel: Save As "CSV UTF-8")`
	case strings.IndexByte(s, 0) >= 0:
		return "cell contains a NUL byte: is this a binary or UTF-16 file? save it as UTF-8 CSV"
	}
	return ""
}

// plain reports whether s is ASCII without a NUL byte.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// badOffset is the offset in s of what cellProblem objects to.
func badOffset(s string) int {
	if len(s) > MaxCellBytes {
		return 0
	}
	for i, r := range s {
		if r == 0 {
			return i
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return 0
}

// record takes one record the csv.Reader read without error.
func (rd *reader) record(rec []string) {
	rd.noteEnd(rec)
	if allEmpty(rec) {
		return // a spreadsheet's trailing ",,,," line
	}
	rd.count++
	bad := false
	for j, s := range rec {
		msg := cellProblem(s)
		if msg == "" {
			continue
		}
		if !bad {
			rd.flush() // keep line order: the pending rows come first
			bad = true
		}
		line, _ := rd.cr.FieldPos(j)
		line += strings.Count(s[:badOffset(s)], "\n")
		rd.add(bulk.Problem{File: rd.file, Line: line, Column: rd.columnName(j), Msg: msg})
	}
	if bad {
		return
	}
	start := len(rd.flat)
	p := pos{}
	p.line, _ = rd.cr.FieldPos(0)
	for _, c := range rd.proj {
		rd.flat = append(rd.flat, rec[rd.col[c]])
		l, _ := rd.cr.FieldPos(rd.col[c])
		p.lines[c] = l
	}
	rd.poss = append(rd.poss, p)
	// A row may point into an earlier backing array of flat after it grows: that is fine,
	// gocsv only reads it.
	row := rd.flat[start:len(rd.flat):len(rd.flat)]
	rd.ck.rows = append(rd.ck.rows, row)
	if len(rd.ck.rows) > chunkSize {
		rd.flush()
	}
}

func allEmpty(rec []string) bool {
	for _, s := range rec {
		if s != "" {
			return false
		}
	}
	return true
}

// noteEnd remembers the last line of rec, where the next record starts at the earliest.
func (rd *reader) noteEnd(rec []string) {
	if len(rec) == 0 {
		return
	}
	last := len(rec) - 1
	line, _ := rd.cr.FieldPos(last)
	rd.lastEnd = line + strings.Count(rec[last], "\n")
}

// columnName names column j of a record for a problem: the canonical name when the column is
// known, else its position.
func (rd *reader) columnName(j int) string {
	for c, at := range rd.col {
		if at == j {
			return columns[c]
		}
	}
	return fmt.Sprintf("column %d", j+1)
}

// flush hands the pending records to gocsv and validates what it maps.
func (rd *reader) flush() {
	n := len(rd.ck.rows) - 1
	if n == 0 {
		return
	}
	rd.ck.next = 0
	// The chunk holds only strings, so gocsv fails only on a programming error. gocsv makes
	// rd.recs longer when it is too short for the chunk, and reuses it when it is not.
	if err := gocsv.UnmarshalDecoder(&rd.ck, &rd.recs); err != nil {
		panic("sheet: gocsv: " + err.Error())
	}
	for i := range n {
		rd.validate(&rd.recs[i], &rd.poss[i])
	}
	rd.ck.rows = rd.ck.rows[:1]
	clear(rd.flat)
	rd.flat = rd.flat[:0]
	rd.poss = rd.poss[:0]
	clear(rd.recs[:n])
}

// parseError takes a record the csv.Reader could not parse.
func (rd *reader) parseError(pe *csv.ParseError, rec []string) {
	rd.flush()
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		rd.noteEnd(rec)
		if allEmpty(rec) {
			return // a spreadsheet's trailing ",,,," line, shorter than the header
		}
		rd.count++
		rd.add(bulk.Problem{File: rd.file, Line: pe.StartLine, Msg: fmt.Sprintf(
			"row has %d cells but the header has %d: look for a missing or extra comma "+
				"(a cell that contains a comma must be quoted)", len(rec), rd.width)})
		return
	}
	rd.count++
	rd.lastEnd = pe.Line
	p := rd.parseProblem(pe)
	// The csv.Reader returns the cells before the one it could not parse.
	if len(rec) < rd.width {
		p.Column = rd.columnName(len(rec))
	}
	rd.add(p)
}

// parseProblem words a csv.ParseError for people.
func (rd *reader) parseProblem(pe *csv.ParseError) bulk.Problem {
	p := bulk.Problem{File: rd.file, Line: pe.Line}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		p.Msg = fmt.Sprintf(`a quote (") inside an unquoted cell, at byte %d: quote the whole cell `+
			`and double each quote inside it, e.g. "say ""hi"""`, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote) && rd.atEOF() && pe.Line > pe.StartLine:
		p.Line = pe.StartLine
		p.Msg = fmt.Sprintf(`a quote (") opened on this line is never closed, so the rest of the file `+
			`(to line %d) was read as one cell: close the quote, and double each quote inside a quoted cell`,
			pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		p.Msg = fmt.Sprintf(`a quoted cell (opened on line %d) is not closed properly, at byte %d: `+
			`a cell that starts with a quote must end with one, right before the comma or line end, `+
			`and each quote inside it must be doubled ("")`, pe.StartLine, pe.Column)
	default:
		p.Msg = fmt.Sprintf("at byte %d: %v", pe.Column, pe.Err)
	}
	return p
}

// atEOF reports whether the csv.Reader has consumed the whole input.
func (rd *reader) atEOF() bool {
	return rd.g.eof && rd.bom+rd.cr.InputOffset() == rd.g.n
}

// quote quotes a cell that is not a value (an id, a key, a permission word) for a problem,
// cut to a readable length.
func quote(s string) string {
	const max = 60
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}
