package apply

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// JournalName is the journal's file name inside a report directory.
const JournalName = "journal.jsonl"

// JournalHeader is the journal's first line: what run it belongs to.
type JournalHeader struct {
	Journal int    `json:"polarity_bulk_journal"` // format version
	Input   string `json:"input"`
	SHA256  string `json:"input_sha256"`
	Server  string `json:"server"`
	// ValueDigests are the keyed digests of the run's ${NAME} values, so that a resume can
	// refuse values that changed; ReadJournal returns the latest (RecordDigests).
	ValueDigests *secret.Digests `json:"value_digests,omitempty"`
}

// journalEntry is one finished integration, or (Digests set) new digests of the run's values.
type journalEntry struct {
	Result bulk.Result `json:"result"`
	// Previous holds each option's value before the run, for backup.csv; secrets only when the
	// journal was opened with secrets allowed (then the file is 0600).
	Previous map[string]json.RawMessage `json:"previous,omitempty"`
	Digests  *secret.Digests            `json:"value_digests,omitempty"`
}

// Journal records each finished integration as the run goes, one JSON line each, synced to
// disk, so that even a killed process can be resumed without sending again what it applied.
type Journal struct {
	f        *os.File
	secrets  bool
	lastSync time.Time
}

// syncEvery bounds how often the journal is synced to disk. Each line is written at once, so
// a killed process loses nothing (the kernel has it); only a crash of the machine itself can
// lose the last moment's lines, and re-sending those PATCHes is harmless (they carry full
// values). Syncing every line made a slow disk the bottleneck of a fast run.
const syncEvery = 100 * time.Millisecond

// OpenJournal creates dir if needed and starts (or, when resuming, continues) its journal.
// With secrets the journal may hold previous secret values and is created 0600. The journal
// is never opened through a symbolic link, nor when it is not a regular file.
func OpenJournal(dir string, h JournalHeader, secrets bool) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report directory: %w", err)
	}
	path := filepath.Join(dir, JournalName)
	mode := fs.FileMode(0o644)
	if secrets {
		mode = 0o600
	}
	// A new journal is created exclusively: O_EXCL also refuses a link, dangling or not, in
	// its place. An existing one is continued.
	fresh := true
	f, err := report.OpenRegular(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		fresh = false
		f, err = report.OpenRegular(path, os.O_RDWR|os.O_APPEND, mode) // read: tornTail
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if secrets {
		// An existing journal from a run without secrets is tightened too.
		_ = f.Chmod(0o600)
	}
	j := &Journal{f: f, secrets: secrets}
	if fresh {
		h.Journal = 1
		if err := j.writeLine(h); err != nil {
			f.Close()
			return nil, err
		}
	} else if tornTail(f) {
		// A run killed in the middle of a write left a torn last line: end it, or the next
		// entry would be glued to it and lost to ReadJournal, and a later resume would send
		// that integration again.
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return nil, fmt.Errorf("write journal: %w", err)
		}
	}
	return j, nil
}

// tornTail reports whether the file is not empty and does not end in a newline.
func tornTail(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false
	}
	b := make([]byte, 1)
	_, err = f.ReadAt(b, st.Size()-1)
	return err == nil && b[0] != '\n'
}

// RecordDigests records new digests of the run's ${NAME} values: a resume with another
// credential, allowed to go on, makes the values it now uses the ones a later resume compares
// with.
func (j *Journal) RecordDigests(d secret.Digests) error {
	return j.writeLine(journalEntry{Digests: &d})
}

// Record appends a finished integration. Only applied and failed integrations matter for a
// resume; the rest are recorded for the reader's benefit.
func (j *Journal) Record(r bulk.Result) error {
	e := journalEntry{Result: r}
	if r.Status == bulk.StatusApplied || r.Status == bulk.StatusFailed {
		for _, o := range r.Options {
			if o.Status == bulk.StatusUnchanged || !o.Current.Present() || (o.Sensitive && !j.secrets) {
				continue
			}
			if e.Previous == nil {
				e.Previous = map[string]json.RawMessage{}
			}
			e.Previous[o.Key] = o.Current.Bytes()
		}
	}
	return j.writeLine(e)
}

func (j *Journal) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if time.Since(j.lastSync) < syncEvery {
		return nil
	}
	return j.sync()
}

func (j *Journal) sync() error {
	j.lastSync = time.Now()
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	return nil
}

// Close syncs and closes the journal file.
func (j *Journal) Close() error {
	err := j.sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadJournal reads a report directory's journal: its header and the last recorded result of
// each integration that was applied. A torn last line (the process was killed while writing)
// is ignored. Results carry the options' previous values where the journal kept them.
func ReadJournal(dir string) (JournalHeader, map[string]bulk.Result, error) {
	var h JournalHeader
	f, err := report.OpenRegular(filepath.Join(dir, JournalName), os.O_RDONLY, 0)
	if err != nil {
		return h, nil, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	if !sc.Scan() {
		return h, nil, fmt.Errorf("read journal %s: empty", f.Name())
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Journal == 0 {
		return h, nil, fmt.Errorf("read journal %s: not a polarity-bulk journal", f.Name())
	}
	done := map[string]bulk.Result{}
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // torn line
		}
		if e.Digests != nil {
			h.ValueDigests = e.Digests
			continue
		}
		r := e.Result
		if r.Status != bulk.StatusApplied {
			// The last word counts: a later entry (a failed read-back) overrides an earlier one.
			delete(done, r.ID)
			continue
		}
		for i := range r.Options {
			if prev, ok := e.Previous[r.Options[i].Key]; ok {
				r.Options[i].Current = bulk.NewPayload(prev)
			}
		}
		done[r.ID] = r
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("read journal: %w", err)
	}
	return h, done, nil
}
