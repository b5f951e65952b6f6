package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// input is a CSV file read and checked offline.
type input struct {
	Path   string // as given; "-" for standard input
	Name   string // as problems name it
	SHA256 string
	Rows   []bulk.Row
	// Lines counts the data rows, merged duplicates included.
	Lines    int
	Warnings bulk.Problems
	// Problems are the offline problems (warnings among them) when readAll kept the rows
	// that passed: the valid rows are in Rows, for the server-aware checks of one round.
	Problems bulk.Problems
}

// source is where the CSV comes from: its path, the record that named it (nil when the
// command line did), and its separator.
type source struct {
	path  string
	rec   *recorded
	comma delimiter
}

// recorded is the CSV that a journal or a saved plan names, when the command line does not:
// its SHA-256 and what recorded it.
type recorded struct {
	SHA256 string
	By     string // "the journal in reports/x", "plan.json"
}

// readInput reads and validates FILE (or standard input for "-"), hashing it as it goes. All
// problems come back at once as bulk.Problems; warnings are printed to stderr as they are
// found, and kept in Warnings for the plan (see prepare).
//
// A path that came from a journal or a plan (rec not nil) is not the user's choice: whoever
// wrote the record chose it, and problems quote the cells of the file they read. Such a file
// must be a regular file whose SHA-256 is the one recorded before a byte of it is parsed, so
// a record naming another file (a key, /etc/shadow) reads nothing out of it.
func readInput(src source, stdio Stdio) (*input, error) {
	in, err := readAll(src, stdio)
	if err != nil {
		return nil, err
	}
	if len(in.Problems) > 0 {
		return nil, in.Problems
	}
	return in, nil
}

// readAll is readInput that keeps the rows which passed the offline checks when others did
// not: their problems are in Problems (warnings included, none printed), the valid rows in
// Rows (none when the header has a problem).
func readAll(src source, stdio Stdio) (*input, error) {
	path, rec := src.path, src.rec
	in := &input{Path: path, Name: path}
	var r io.Reader
	if path == "-" {
		in.Name = "<stdin>"
		r = stdio.In
	} else {
		open := os.Open
		if rec != nil {
			open = report.OpenInput // never blocks on a pipe the record names
		}
		f, err := open(path)
		switch {
		case err != nil && rec != nil && errors.Is(err, fs.ErrNotExist):
			return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("%s names %q as its CSV file, which does not exist", rec.By, path),
				hint: "give the CSV file of that run or plan on the command line"}
		case err != nil && rec != nil:
			return nil, failure("give the CSV file of that run or plan on the command line",
				fmt.Errorf("%s names %q as its CSV file, but it is not a regular file that can be read: nothing was read from it, nothing was sent", rec.By, path))
		case err != nil:
			return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("read input: %w", err), hint: "check the path of the CSV file"}
		}
		defer f.Close()
		if rec != nil {
			if err := checkRecorded(f, path, *rec); err != nil {
				return nil, err
			}
		}
		r = f
	}
	h := sha256.New()
	rows, probs, err := sheet.ReadWith(in.Name, io.TeeReader(r, h), stdio.LookupEnv, sheet.Options{Comma: src.comma.comma()})
	if err != nil {
		// sheet's error names the file already.
		return nil, &exitError{code: ExitInvalid, err: err, hint: "give a CSV file that can be read (not a directory)"}
	}
	in.SHA256 = hex.EncodeToString(h.Sum(nil))
	in.Rows = rows
	for _, r := range rows {
		in.Lines += 1 + len(r.Merged)
	}
	if fatal := probs.Fatal(); len(fatal) > 0 {
		in.Problems = probs
		return in, nil
	}
	con := consoleOf(stdio)
	for _, p := range probs {
		con.problem(p)
		in.Warnings = append(in.Warnings, p)
	}
	return in, nil
}

// backupNotice warns, when the file is a report's backup.csv, of the changed options whose
// value it cannot restore (a sensitive value left out, a previous value the server did not
// show), as that report's results.json records them: applying it leaves those as the run
// set them.
func backupNotice(path string, stdio Stdio) {
	if path == "-" || filepath.Base(path) != report.BackupCSVFile {
		return
	}
	results := filepath.Join(filepath.Dir(path), report.ResultsJSONFile)
	f, err := report.OpenInput(results) // never blocks on a pipe planted there
	if err != nil {
		return // a backup.csv copied elsewhere: its rows' comments say it
	}
	defer f.Close()
	v, err := report.ReadResults(f)
	if err != nil {
		return
	}
	skipped := v.NotRestored()
	if len(skipped) == 0 {
		return
	}
	named := strings.Join(skipped[:min(len(skipped), 5)], "; ")
	if len(skipped) > 5 {
		named += fmt.Sprintf("; and %d more", len(skipped)-5)
	}
	fmt.Fprintf(stdio.Err, "polarity-bulk: warning: %s skips the value of %d changed %s, which it cannot restore (%s says why): %s; set %s by hand\n",
		path, len(skipped), bulk.Plural(len(skipped), "option", "options"), results, named, bulk.Plural(len(skipped), "it", "them"))
}

// logRead logs what was read: -v shows it for every command that reads a CSV file.
func (in *input) logRead(log *slog.Logger) {
	log.Info("read input", "file", in.Name, "sha256", in.SHA256, "rows", in.Lines, "options", len(in.Rows),
		"integrations", in.integrations(), "warnings", len(in.Warnings))
}

// integrations counts the distinct integrations the exact rows name (by id, else by name).
func (in *input) integrations() int {
	seen := map[string]bool{}
	for _, r := range in.Rows {
		if r.Selector() {
			continue
		}
		k := r.IntegrationID
		if k == "" {
			k = "name:" + strings.ToLower(r.IntegrationName)
		}
		seen[k] = true
	}
	return len(seen)
}

// checkRecorded hashes f, a file named by rec, and refuses it unless it is a regular file
// with rec's SHA-256; then it rewinds f for reading. Nothing of its content is shown.
func checkRecorded(f *os.File, path string, rec recorded) error {
	refuse := func(why string) error {
		return failure("give the CSV file of that run or plan on the command line",
			fmt.Errorf("%s names %q as its CSV file, but %s: nothing was read from it, nothing was sent", rec.By, path, why))
	}
	fi, err := f.Stat()
	if err != nil {
		return refuse(err.Error())
	}
	if !fi.Mode().IsRegular() {
		return refuse("it is not a regular file")
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return refuse("it cannot be read")
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != rec.SHA256 {
		return refuse(fmt.Sprintf("its SHA-256 is %.12s…, not the one recorded", got))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return refuse(err.Error())
	}
	return nil
}
