package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The files of the report directory (SPEC.md section 4).
const (
	ResultsJSONFile = "results.json"
	ResultsCSVFile  = "results.csv"
	FailedCSVFile   = "failed.csv"
	BackupCSVFile   = "backup.csv"
	SummaryFile     = "summary.md"
	JUnitFile       = "junit.xml"
	HTMLFile        = "report.html"
	TimelineFile    = "timeline.json"
)

// Files are the files WriteDir writes into a report directory.
var Files = []string{ResultsJSONFile, ResultsCSVFile, FailedCSVFile, BackupCSVFile, SummaryFile, JUnitFile, TimelineFile, HTMLFile}

// CheckDir refuses a report directory in which one of the files a run writes there (Files,
// and the names given) exists as something other than a regular file. A symbolic link,
// dangling or not, would have the run create or overwrite what it points at; a named pipe
// would block the run forever; a directory would fail it at the very end. A directory that
// does not exist yet is fine. The directory itself may be a link to a directory: the user
// named it. Apply calls CheckDir before anything is sent; WriteDir and the journal refuse
// such files again when they write, for one planted in between.
func CheckDir(dir string, names ...string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("report directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("report directory %s is %s, not a directory", dir, what(fi.Mode()))
	}
	for _, name := range append(slices.Clone(Files), names...) {
		if err := regularOrAbsent(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// regularOrAbsent refuses a path that exists as anything but a regular file, without
// following a symbolic link.
func regularOrAbsent(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode().IsRegular():
		return nil
	}
	return fmt.Errorf("%s is %s, not a regular file: refusing to write through it (remove it, or choose another report directory)", path, what(fi.Mode()))
}

// what names a kind of file.
func what(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// OpenRegular opens path like os.OpenFile, but never through a symbolic link and never
// anything but a regular file: a named pipe would block the open or the first read forever.
// It is how files inside a report directory are opened.
func OpenRegular(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := regularOrAbsent(path); err != nil {
		return nil, err // a clear message where the system's would be "too many levels of symbolic links"
	}
	return onlyRegular(os.OpenFile(path, flag|openFlags, perm))
}

// onlyRegular passes on a file just opened when it is a regular file, and closes it with an
// error saying what it is otherwise.
func onlyRegular(f *os.File, err error) (*os.File, error) {
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is %s, not a regular file", f.Name(), what(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// OpenInput opens path for reading, following links, but only when it is a regular file,
// and without blocking on a named pipe: it is how a file named by a record (a journal, a
// plan) is opened, where whoever wrote the record chose the path.
func OpenInput(path string) (*os.File, error) {
	return onlyRegular(os.OpenFile(path, os.O_RDONLY|nonBlock, 0))
}

// WriteDir writes the files of the report directory into dir, each rendered from v (made once
// by NewResults), creating dir (mode 0755) when needed. Every file is rendered first, so a
// rendering error writes nothing; then each is
// written to a temporary name in dir, synced and renamed over its final name, so no file is
// ever half-written and an older report's file is replaced whole or not at all. A file that
// cannot be written does not stop the others: the errors are joined. backup.csv is mode 0600
// when backupSecrets is true (it may hold secrets), the others 0644.
func WriteDir(dir string, v *Results, backupSecrets bool) error {
	type file struct {
		name   string
		render func(io.Writer) error
		mode   os.FileMode
	}
	backupMode := os.FileMode(0o644)
	if backupSecrets {
		backupMode = 0o600
	}
	files := []file{
		{ResultsJSONFile, func(w io.Writer) error { return ResultsJSON(w, v) }, 0o644},
		{ResultsCSVFile, func(w io.Writer) error { return ResultsCSV(w, v) }, 0o644},
		{FailedCSVFile, func(w io.Writer) error { return FailedCSV(w, v) }, 0o644},
		{BackupCSVFile, func(w io.Writer) error { return BackupCSV(w, v, backupSecrets) }, backupMode},
		{SummaryFile, func(w io.Writer) error { return SummaryMarkdown(w, v) }, 0o644},
		{JUnitFile, func(w io.Writer) error { return JUnit(w, v) }, 0o644},
		{TimelineFile, func(w io.Writer) error { return TimelineJSON(w, v.timelines, v.timelinesDropped) }, 0o644},
		// Last: a reader that finds the page finds the files it was drawn from.
		{HTMLFile, func(w io.Writer) error { return HTML(w, v) }, 0o644},
	}
	bodies := make([][]byte, len(files))
	for i, f := range files {
		var b bytes.Buffer
		if err := f.render(&b); err != nil {
			return fmt.Errorf("render %s: %w", f.name, err)
		}
		bodies[i] = b.Bytes()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	var errs []error
	for i, f := range files {
		// A run killed while writing leaves its temporary file behind; the next write of the
		// same report (a --resume) clears them away.
		stale, _ := filepath.Glob(filepath.Join(dir, "."+f.name+".tmp-*"))
		for _, p := range stale {
			_ = os.Remove(p)
		}
		// Never through a link or into a pipe planted since CheckDir (the rename would replace
		// either, but a refusal says what happened).
		if err := regularOrAbsent(filepath.Join(dir, f.name)); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeAtomic(dir, f.name, bodies[i], f.mode); err != nil {
			errs = append(errs, err)
		}
	}
	syncDir(dir)
	return errors.Join(errs...)
}

// writeAtomic writes data to dir/name with WriteFile.
func writeAtomic(dir, name string, data []byte, mode os.FileMode) error {
	return WriteFile(filepath.Join(dir, name), mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFile writes a file through a temporary name in the same directory, synced and then
// renamed, so a reader never sees it half-written; a failed write leaves the old file (or
// none). The mode is set on the temporary file before any byte is written, so a secret is
// never readable by others, not even for a moment. A path that exists and is not a regular
// file (/dev/stdout, a pipe, /dev/null) is written straight through, never replaced.
func WriteFile(path string, mode os.FileMode, write func(io.Writer) error) (err error) {
	if fi, statErr := os.Stat(path); statErr == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return f.Close()
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// syncDir makes the renames durable where the system allows it; where it does not (some
// systems cannot sync a directory), the files themselves are already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// RewriteHTML (re)writes dir's report.html from its results.json and timeline.json, as apply
// wrote it (show --html). A report without timeline.json (written before it existed) gets a
// page without a timeline; one whose timeline.json cannot be read too, and the returned note
// says why. Nothing else in dir is touched.
func RewriteHTML(dir string) (note string, err error) {
	// Opened as every file of a report directory is: never through a link, never a pipe.
	rf, err := OpenRegular(filepath.Join(dir, ResultsJSONFile), os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(rf, maxResultsFile+1))
	rf.Close()
	switch {
	case err != nil:
		return "", err
	case len(data) > maxResultsFile:
		return "", fmt.Errorf("%s is over %d MB: not a results.json apply wrote", filepath.Join(dir, ResultsJSONFile), maxResultsFile>>20)
	}
	f, err := ReadResults(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, ResultsJSONFile), err)
	}
	var runs []bulk.Timeline
	dropped := 0
	tf, err := OpenRegular(filepath.Join(dir, TimelineFile), os.O_RDONLY, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		note = fmt.Sprintf("%s could not be read: %v", TimelineFile, err)
	default:
		runs, dropped, err = ReadTimeline(io.LimitReader(tf, maxTimelineFile))
		tf.Close()
		if err != nil {
			note = fmt.Sprintf("%s could not be read: %v", TimelineFile, err)
		}
	}
	page := note
	if page != "" {
		page = "No timeline is drawn: " + page + "."
	}
	var b bytes.Buffer
	if err := renderHTML(&b, f, runs, dropped, page); err != nil {
		return note, err
	}
	if err := regularOrAbsent(filepath.Join(dir, HTMLFile)); err != nil {
		return note, err
	}
	return note, writeAtomic(dir, HTMLFile, b.Bytes(), 0o644)
}

// The largest results.json and timeline.json show --html reads: far above what apply writes
// (about 1 kB per option; a timeline.json of five runs is at most a few MB).
const (
	maxResultsFile  = 2 << 30
	maxTimelineFile = 64 << 20
)
