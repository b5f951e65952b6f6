package apply

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// JournalName is the journal's file name inside a report directory.
const JournalName = "journal.jsonl"

// JournalHeader is what the journal's first line says: what run it belongs to.
type JournalHeader struct {
	Journal int // the format it was written in (see JournalFormat); set by OpenJournal
	Input   string
	SHA256  string
	// Delimiter is the CSV's separator when it is not a comma (--delimiter), so that a resume
	// reads the file as the run did.
	Delimiter string
	Server    string
	// ValueDigests are the keyed digests of the run's ${NAME} values, so that a resume can
	// refuse values that changed; ReadJournal returns the latest (RecordDigests).
	ValueDigests *secret.Digests
	// Selectors are what the file's selector rows expanded to when the run was planned, so
	// that a resume can refuse a set of integrations that changed since.
	Selectors []bulk.Expansion
}

// readEntry is an entry about one integration, as read back: the result carries no values
// (Send and Current are empty), previous holds the values kept before the change.
type readEntry struct {
	sending  bool
	result   bulk.Result
	previous map[string]json.RawMessage
}

// WavePlan is a staged run's waves as its journal records them, so that a resume continues
// the same rollout.
type WavePlan struct {
	Spec           string     // --waves as given
	Waves          [][]string // the integration ids of each wave
	MaxFailPercent int
	Atomic         bool
}

// RecordWaves records the wave plan of a staged run, before its first wave.
func (j *Journal) RecordWaves(p WavePlan) error {
	return j.writeLine(journalEntry{Waves: &wireWaves{Spec: p.Spec, Waves: p.Waves, MaxFailPercent: p.MaxFailPercent, Atomic: p.Atomic}})
}

// RecordWave records how a wave ended.
func (j *Journal) RecordWave(w bulk.WaveOutcome) error {
	return j.writeLine(journalEntry{Wave: toWireWave(w)})
}

// ReadWaves reads a report directory's wave plan (nil when the run was not staged) and how
// each wave that ended did, by number: the last record of each, as a resume may run a wave
// again.
func ReadWaves(dir string) (*WavePlan, map[int]bulk.WaveOutcome, error) {
	var plan *WavePlan
	ended := map[int]bulk.WaveOutcome{}
	err := scanLines(dir, func(e journalEntry) {
		switch {
		case e.Waves != nil:
			plan = &WavePlan{Spec: e.Waves.Spec, Waves: e.Waves.Waves, MaxFailPercent: e.Waves.MaxFailPercent, Atomic: e.Waves.Atomic}
			clear(ended) // a new plan: the earlier waves were another rollout's
		case e.Wave != nil:
			ended[e.Wave.Number] = e.Wave.wave()
		}
	})
	return plan, ended, err
}

// Journal records the run as it goes, one JSON line each, so that even a killed process can be
// resumed without sending again what it applied and without losing the state it replaced:
// before each PATCH, the integration's options as they were (Sending); after it, the outcome
// (Record). It is safe for concurrent use. The first failed write fails every later one: a
// line may have been cut, and nothing is sent once the journal cannot keep up.
type Journal struct {
	mu       sync.Mutex
	f        journalFile
	secrets  bool
	lastSync time.Time
	err      error // the first failure; sticky
}

// journalFile is what a journal writes to: an *os.File, or a failing one in tests.
type journalFile interface {
	Write([]byte) (int, error)
	Sync() error
	Close() error
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
		if err := j.writeLine(toWireHeader(h)); err != nil {
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

// Sending appends the entry that must be on disk before t's PATCH is sent: the plan for t,
// with the value of each option it changes as it was before (secrets only when the journal
// allows them). A resume takes the state before the run from it, even when the outcome of the
// PATCH never got written.
func (j *Journal) Sending(t bulk.Target) error {
	r := bulk.Result{ID: t.ID, Name: t.Name, Status: bulk.StatusNotAttempted}
	for _, c := range t.Changes {
		r.Options = append(r.Options, bulk.OptionResult{Change: c, Status: bulk.StatusNotAttempted})
	}
	return j.writeLine(journalEntry{Sending: true, Result: toWireResult(r), Previous: j.previous(r)})
}

// Record appends a finished integration. Only applied and failed integrations matter for a
// resume; the rest are recorded for the reader's benefit.
func (j *Journal) Record(r bulk.Result) error {
	e := journalEntry{Result: toWireResult(r)}
	if r.Status == bulk.StatusApplied || r.Status == bulk.StatusFailed {
		e.Previous = j.previous(r)
	}
	return j.writeLine(e)
}

// previous lists the readable values before the change of the options r updates.
func (j *Journal) previous(r bulk.Result) map[string]json.RawMessage {
	var prev map[string]json.RawMessage
	for _, o := range r.Options {
		if o.Action != bulk.ActionUpdate || !o.Current.Present() || (o.Sensitive && !j.secrets) {
			continue
		}
		if prev == nil {
			prev = map[string]json.RawMessage{}
		}
		prev[o.Key] = o.Current.Bytes()
	}
	return prev
}

func (j *Journal) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		j.err = fmt.Errorf("write journal: %w", err)
		return j.err
	}
	if time.Since(j.lastSync) < syncEvery {
		return nil
	}
	return j.sync()
}

// sync syncs the file; the caller holds mu.
func (j *Journal) sync() error {
	j.lastSync = time.Now()
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("sync journal: %w", err)
		return j.err
	}
	return nil
}

// Err is the journal's first failure, nil while every write went through.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Close syncs and closes the journal file. It returns the journal's first failure, if any.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return j.err
	}
	var err error
	if j.err == nil {
		err = j.sync()
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	if j.err == nil {
		j.err = err
	}
	return j.err
}

// ReadJournal reads a report directory's journal: its header and the last recorded result of
// each integration that was applied. A torn last line (the process was killed while writing)
// is ignored. Results carry the options' previous values where the journal kept them.
func ReadJournal(dir string) (JournalHeader, map[string]bulk.Result, error) {
	done := map[string]bulk.Result{}
	h, err := scanJournal(dir, func(e readEntry) {
		if e.sending {
			return // the outcome, if it was written, comes later
		}
		r := e.result
		if r.Status != bulk.StatusApplied {
			// The last word counts: a later entry (a failed read-back) overrides an earlier one.
			delete(done, r.ID)
			return
		}
		done[r.ID] = withPrevious(r, e.previous)
	})
	if err != nil {
		return h, nil, err
	}
	return h, done, nil
}

// ReadBefore reads, from a report directory's journal, the state of each option before the
// first PATCH of the run (and of its resumes) that was to change it, by integration id and
// option key: from the entry written before that PATCH was sent, or from its outcome in a
// journal of an older version. Only options that were to be updated are listed; their Current
// is empty when the journal did not keep the value (a secret, or unreadable).
func ReadBefore(dir string) (map[string]map[string]bulk.Change, error) {
	before := map[string]map[string]bulk.Change{}
	_, err := scanJournal(dir, func(e readEntry) {
		r := withPrevious(e.result, e.previous)
		if !e.sending && r.Status != bulk.StatusApplied && r.Status != bulk.StatusFailed {
			return
		}
		for _, o := range r.Options {
			if o.Action != bulk.ActionUpdate {
				continue
			}
			if before[r.ID] == nil {
				before[r.ID] = map[string]bulk.Change{}
			}
			if _, seen := before[r.ID][o.Key]; !seen {
				before[r.ID][o.Key] = o.Change
			}
		}
	})
	return before, err
}

// withPrevious puts the previous values an entry kept back into its options.
func withPrevious(r bulk.Result, prev map[string]json.RawMessage) bulk.Result {
	for i := range r.Options {
		if v, ok := prev[r.Options[i].Key]; ok {
			r.Options[i].Current = bulk.NewPayload(v)
		}
	}
	return r
}

// scanJournal reads the header of dir's journal and hands each complete entry about an
// integration to f, in order. The header it returns carries the latest value digests. A
// journal of a format this polarity-bulk does not know is refused (ErrJournalFormat).
func scanJournal(dir string, f func(readEntry)) (JournalHeader, error) {
	var digests *secret.Digests
	h, err := scanFile(dir, func(e journalEntry) {
		switch {
		case e.Digests != nil:
			digests = e.Digests
		case e.Result != nil && e.Result.ID != "":
			f(readEntry{sending: e.Sending, result: e.Result.result(), previous: e.Previous})
		}
	})
	if digests != nil {
		h.ValueDigests = digests
	}
	return h, err
}

// scanLines hands every complete entry of dir's journal to f, in order.
func scanLines(dir string, f func(journalEntry)) error {
	_, err := scanFile(dir, f)
	return err
}

// scanFile reads the header of dir's journal, then hands each complete line after it to f.
// A torn line (a process killed while writing) is skipped.
func scanFile(dir string, f func(journalEntry)) (JournalHeader, error) {
	file, err := report.OpenRegular(filepath.Join(dir, JournalName), os.O_RDONLY, 0)
	if err != nil {
		return JournalHeader{}, fmt.Errorf("read journal: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	if !sc.Scan() {
		return JournalHeader{}, fmt.Errorf("read journal %s: empty", file.Name())
	}
	var wh wireHeader
	if err := json.Unmarshal(sc.Bytes(), &wh); err != nil || wh.Format == 0 {
		return JournalHeader{}, fmt.Errorf("read journal %s: not a polarity-bulk journal", file.Name())
	}
	if wh.Format < 0 || wh.Format > JournalFormat {
		return JournalHeader{}, fmt.Errorf("read journal %s: %w: it is in format %d, written by a newer polarity-bulk; this one reads formats 1 to %d",
			file.Name(), ErrJournalFormat, wh.Format, JournalFormat)
	}
	h := wh.header()
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // torn line
		}
		f(e)
	}
	if err := sc.Err(); err != nil {
		return h, fmt.Errorf("read journal: %w", err)
	}
	return h, nil
}

// KeepBefore makes the plan of a resumed run keep the state from before the run it resumes.
// Planned again against the server, an option whose change an earlier attempt already made
// would show the new value as its "before", and backup.csv would lose the old one; a change
// that landed without its outcome being recorded (the process was killed, the disk was full)
// would even look unchanged and be left out of the report. For each option the journal lists
// (see ReadBefore), KeepBefore takes back the state before, and keeps the option an update
// (sent again: it carries the same values, so the server ends the same).
func KeepBefore(p bulk.Plan, before map[string]map[string]bulk.Change) bulk.Plan {
	out := bulk.Plan{Targets: make([]bulk.Target, len(p.Targets)), Warnings: p.Warnings}
	for i, t := range p.Targets {
		prev := before[t.ID]
		if len(prev) > 0 {
			t.Changes = slices.Clone(t.Changes)
		}
		for j := range t.Changes {
			c := &t.Changes[j]
			b, ok := prev[c.Key]
			if !ok {
				continue
			}
			c.Before, c.BeforePermission, c.Current, c.Unreadable = b.Before, b.BeforePermission, b.Current, b.Unreadable
			c.ValueChanges = c.ValueChanges || b.ValueChanges
			c.PermissionChanges = c.PermissionChanges || b.PermissionChanges
			c.Action = bulk.ActionUpdate
		}
		out.Targets[i] = t
	}
	return out
}
