package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/apply"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

const applyExample = `Plans FILE against the server exactly as 'plan' does, asks for confirmation, then sends one
PATCH per integration that has changes (none for unchanged ones), reads the changes back, and
writes a report directory. Without a terminal, --yes is required.

Examples:
  polarity-bulk apply changes.csv
  polarity-bulk apply --plan plan.json --yes            # exactly the reviewed plan, or nothing
  polarity-bulk apply changes.csv --yes --concurrency 8 --rate 10 --report-dir reports/rollout-1
  polarity-bulk apply changes.csv --waves 1,10%,100% --wave-pause 60s --atomic   # canary first, undo on failure
  polarity-bulk apply changes.csv --yes --rate auto     # as fast as the server allows, found as it goes
  polarity-bulk apply changes.csv --resume reports/rollout-1 --yes   # after Ctrl-C or failures
  polarity-bulk apply reports/rollout-1/backup.csv --yes              # roll back`

type applyFlags struct {
	conn          *connFlags
	log           *logFlags
	yes           bool
	planFile      string
	concurrency   int
	maxFailures   int
	noVerify      bool
	reportDir     string
	resume        string
	backupSecrets bool
	view          *viewFlags
	// allowUnverified lets a resume or a saved plan go on when the ${NAME} values cannot be
	// compared with the ones it used (another credential, or no digests recorded).
	allowUnverified bool
	allowVersion    bool
	stage           stageFlags
	delimiter       *delimiter
}

// applyCmd is one apply: parse reads and checks the flags, prepare does everything that can
// refuse the run before the first PATCH (input, records, server state, plan, confirmation,
// journal), run sends, checks and records through apply.Run and writes the report.
type applyCmd struct {
	stdio Stdio
	fs    *flag.FlagSet
	f     applyFlags
	pos   []string // positional arguments
	log   *slog.Logger
	dir   string // the report directory
	lock  *apply.DirLock

	// Where the file comes from besides FILE: the reviewed plan, the resumed run.
	reviewed *report.PlanFile
	resumed  *apply.JournalHeader
	done     map[string]bulk.Result            // applied by the resumed run
	before   map[string]map[string]bulk.Change // the state before the resumed run
	digests  *secret.Digests                   // what the journal records
	comma    delimiter                         // the CSV's separator: --delimiter, else the plan's or journal's
	rekey    bool                              // a resume goes on with values it could not compare
	s        *session
	plan     bulk.Plan // the session's plan, with the resumed run's state before it
	j        *apply.Journal
	timeline *apply.Timeline // what the run sends, for report.html
	// prog is the progress display while the plan is sent: the client's attempts go to it
	// too, from the goroutines that make them.
	prog atomic.Pointer[progress]

	lines    *bufio.Reader   // standard input, for the questions between waves
	waves    *apply.WavePlan // nil: not staged
	wavesNew bool            // the plan is this run's, to be journaled
	passed   map[int]bool    // waves the resumed run passed
}

func runApply(ctx context.Context, args []string, stdio Stdio) error {
	c := &applyCmd{stdio: stdio}
	defer c.close()
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.prepare(ctx); err != nil {
		return err
	}
	return c.run(ctx)
}

// close releases what prepare took, on every return: the journal, the session (log out) and
// the report directory's lock, in that order.
func (c *applyCmd) close() {
	if c.j != nil {
		_ = c.j.Close()
	}
	if c.s != nil {
		c.s.close()
	}
	_ = c.lock.Unlock()
}

// parse reads the flags and checks what needs nothing but them.
func (c *applyCmd) parse(args []string) error {
	fs := newFlagSet(c.stdio, "apply", "apply [flags] FILE | apply --plan plan.json [flags]", applyExample)
	f := &c.f
	f.conn, f.log, f.view = addConnFlags(fs), addLogFlags(fs), addViewFlags(fs)
	fs.BoolVar(&f.yes, "yes", false, "apply without asking (required without a terminal)")
	fs.StringVar(&f.planFile, "plan", "", "apply exactly this reviewed `plan.json`; refuses if the CSV or the server changed since")
	fs.IntVar(&f.concurrency, "concurrency", 4, "PATCH requests in flight at once")
	fs.IntVar(&f.maxFailures, "max-failures", 0, "stop dispatching after N failed integrations (1 = fail fast; 0 = never stop)")
	fs.BoolVar(&f.noVerify, "no-verify", false, "do not read the changed integrations back to verify them")
	fs.StringVar(&f.reportDir, "report-dir", "", "write the report to `DIR` (default reports/<UTC timestamp>/)")
	fs.StringVar(&f.resume, "resume", "", "continue the interrupted or partly failed run whose report is in `DIR`; nothing it applied is sent again")
	fs.BoolVar(&f.backupSecrets, "backup-secrets", false, "keep previous sensitive values in backup.csv (the file is then mode 0600)")
	fs.BoolVar(&f.allowUnverified, "allow-unverified-values", false, "with --resume or --plan: go on when the ${NAME} values cannot be compared with the ones the run or plan used (it was made with another API key or password); values that differ are still refused")
	fs.BoolVar(&f.allowVersion, "allow-version-mismatch", false, "with --plan: apply a plan made by another version of polarity-bulk (the CSV and the server are still checked)")
	addStageFlags(fs, &f.stage)
	f.delimiter = addDelimiterFlag(fs, "read")
	pos, err := parse(fs, args, c.stdio)
	if err != nil {
		return err
	}
	c.fs, c.pos = fs, pos
	switch {
	case f.concurrency < 1:
		return usageError("use --concurrency 1 or more", "--concurrency must be at least 1")
	case f.maxFailures < 0:
		return usageError("use --max-failures 0 for no limit", "--max-failures must not be negative")
	case f.allowVersion && f.planFile == "":
		return usageError("--allow-version-mismatch goes with --plan plan.json", "--allow-version-mismatch without --plan")
	case f.resume != "" && f.reportDir != "" && filepath.Clean(f.resume) != filepath.Clean(f.reportDir):
		return usageError("--resume continues the report in its own directory; drop --report-dir", "--resume and --report-dir name different directories")
	}
	if err := f.stage.check(c.stdio, f.yes, f.noVerify); err != nil {
		return err
	}
	// stdout carries the plan and the outcome, for people: a closed pipe must not stop a run.
	c.stdio.Out = forPeople(c.stdio.Out)
	c.log, err = f.log.logger(c.stdio)
	return err
}

// prepare does, in order, everything that may refuse the run before anything is sent, so
// that a refusal sends nothing; it ends with the journal open.
func (c *applyCmd) prepare(ctx context.Context) error {
	if err := c.reportDir(); err != nil {
		return err
	}
	c.log.Info("report directory", "dir", c.dir, "resume", c.f.resume != "")
	file, rec, err := c.source(ctx)
	if err != nil {
		return err
	}
	if c.reviewed != nil {
		c.log.Info("read plan", "file", c.f.planFile, "integrations", len(c.reviewed.Integrations), "csv", c.reviewed.Input.Path)
	}
	if c.resumed != nil {
		c.log.Info("read journal", "dir", c.f.resume, "integrations applied before", len(c.done))
	}
	// Every request from here on is drawn in report.html's timeline, the planning reads
	// included.
	c.timeline = apply.NewTimeline(time.Now(), c.f.conn.rate.perSec)
	c.f.conn.onAttempt = func(a api.Attempt) {
		c.timeline.Observe(a)
		if p := c.prog.Load(); p != nil { // the bar says what the run waits for
			p.attempt(a)
		}
	}
	c.f.conn.concurrency = c.f.concurrency // --rate auto's latency guard works within it
	comma := *c.f.delimiter
	switch {
	case c.reviewed != nil:
		comma = comma.orRecorded(c.reviewed.Input.Delimiter)
	case c.resumed != nil:
		comma = comma.orRecorded(c.resumed.Delimiter)
	}
	c.comma = comma
	if c.s, err = prepare(ctx, source{path: file, rec: rec, comma: comma}, c.f.conn, c.log, c.stdio, c.checkRecords); err != nil {
		return err
	}
	if c.reviewed != nil {
		if err := checkReviewed(*c.reviewed, c.s); err != nil {
			return err
		}
	}
	if c.resumed != nil {
		if err := checkResumedSelectors(*c.resumed, c.s, c.f.resume); err != nil {
			return err
		}
	}
	if values := envValues(c.s.in.Rows); len(values) > 0 && (c.digests == nil && c.resumed == nil || c.rekey) {
		d, err := secret.NewDigests(c.s.cred, values)
		if err != nil {
			return failure("", err)
		}
		c.digests = &d
	}
	if err := checkNewDir(c.f, c.dir); err != nil {
		return err
	}
	// A resumed run keeps the state before the run it continues, for backup.csv; changes whose
	// outcome the journal lacks are sent again (the same values) even if they already landed.
	c.plan = c.s.plan
	if c.resumed != nil {
		c.plan = apply.KeepBefore(c.s.plan, c.before)
	}
	if err := c.stage(); err != nil {
		return err
	}
	if err := c.show(ctx); err != nil {
		return err
	}
	return c.openJournal()
}

// reportDir settles the report directory and, when it exists, locks it: it belongs to this
// run alone from before the journal is read until the report is written, so a second run
// into it stops at once, before anything is sent.
func (c *applyCmd) reportDir() error {
	c.dir = c.f.resume
	if c.dir == "" {
		c.dir = c.f.reportDir
	}
	if c.dir == "" {
		c.dir = filepath.Join("reports", time.Now().UTC().Format("20060102T150405Z"))
	}
	// Before anything is sent (a login included): a link or a pipe planted in the report
	// directory would have the run write where it points, or block it forever.
	if err := report.CheckDir(c.dir, apply.JournalName); err != nil {
		return usageError("remove it, or choose another --report-dir", "%v: nothing was sent", err)
	}
	if isDir(c.dir) {
		return c.takeLock()
	}
	return nil
}

func (c *applyCmd) takeLock() error {
	l, err := apply.LockDir(c.dir)
	if errors.Is(err, apply.ErrLocked) {
		return usageError("wait for that run to end, or give another --report-dir", "%v: nothing was sent", err)
	}
	if err != nil {
		return failure("choose another --report-dir", err)
	}
	c.lock = l
	return nil
}

// source reads the reviewed plan and the resumed run's journal, and picks the CSV: FILE, else
// the one they name.
func (c *applyCmd) source(ctx context.Context) (string, *recorded, error) {
	if c.f.planFile != "" {
		pf, err := readPlanFile(c.f.planFile)
		if err != nil {
			return "", nil, err
		}
		if err := checkVersion(c.f.planFile, pf, c.f.allowVersion, c.log); err != nil {
			return "", nil, err
		}
		c.reviewed = &pf
	}
	if c.f.resume != "" {
		h, d, err := apply.ReadJournal(c.f.resume)
		if err == nil {
			c.before, err = apply.ReadBefore(c.f.resume)
		}
		switch {
		case errors.Is(err, apply.ErrJournalFormat):
			return "", nil, usageError("continue that run with the polarity-bulk that wrote it; this one cannot read its journal", "%v: nothing was sent", err)
		case err != nil:
			return "", nil, usageError("--resume takes the report directory of an earlier apply (it holds journal.jsonl)", "%v", err)
		}
		c.resumed, c.done = &h, d
		if err := resumeServer(ctx, c.stdio, c.f.conn, c.f.resume, h.Server); err != nil {
			return "", nil, err
		}
	}
	return applyInput(c.fs, c.pos, c.reviewed, c.resumed, c.f)
}

// checkRecords runs before the first request: a changed file, another server or other
// ${NAME} values than the reviewed plan's or the resumed run's refuse the run with nothing
// sent.
func (c *applyCmd) checkRecords(s *session) error {
	if c.reviewed != nil {
		verified, err := checkDigests(s, c.reviewed.ValueDigests, "the plan",
			"nothing was sent; set the values the plan was made with, or run 'polarity-bulk plan' again with these, review it, and apply the new plan", c.f.allowUnverified)
		if err != nil {
			return err
		}
		if verified {
			c.digests = c.reviewed.ValueDigests // the same digests: a resume compares with the plan's values
		}
	}
	if c.resumed == nil {
		return nil
	}
	if c.resumed.SHA256 != s.in.SHA256 {
		return failure("--resume continues the same file; to re-apply fixed rows use the report's failed.csv in a new run",
			fmt.Errorf("resume: %s changed since the run in %s: nothing was sent", s.in.Name, c.f.resume))
	}
	if !sameServer(c.resumed.Server, s.server) {
		return failure("point --url at the server of the run you resume", fmt.Errorf("resume: the run in %s was against %q, not %q: nothing was sent", c.f.resume, c.resumed.Server, s.server))
	}
	verified, err := checkDigests(s, c.resumed.ValueDigests, "the run in "+c.f.resume,
		"set them as they were for that run; to roll new values out to every integration, apply the file as a new run (another --report-dir)", c.f.allowUnverified)
	c.rekey = !verified // from now on, the values this run uses are the ones to compare with
	return err
}

// show prints the plan and what a resume leaves out, then asks for confirmation unless --yes.
func (c *applyCmd) show(ctx context.Context) error {
	out := c.stdio.Out
	if err := report.PlanText(out, report.NewPlanFile(report.PlanMeta{}, c.s.plan), c.f.view.options(c.stdio, out)); err != nil {
		return err
	}
	inDoubt, toSend := 0, 0
	for i, t := range c.plan.Targets {
		if _, ok := c.done[t.ID]; ok || !t.Updates() {
			continue
		}
		toSend++
		if c.resumed != nil && !c.s.plan.Targets[i].Updates() {
			inDoubt++
		}
	}
	if n := len(c.done); n > 0 {
		fmt.Fprintf(out, "\nresuming %s: %d %s already applied will not be sent again\n", c.f.resume, n, bulk.Plural(n, "integration", "integrations"))
	}
	if inDoubt > 0 {
		fmt.Fprintf(out, "resuming %s: %d %s already as asked, but the interrupted run did not record the outcome: sent again with the same values\n",
			c.f.resume, inDoubt, bulk.Plural(inDoubt, "integration is", "integrations are"))
	}
	c.describeWaves()
	if toSend > 0 && !c.f.yes {
		if err := confirm(ctx, c.stdio, toSend, c.s.server); err != nil {
			return err
		}
		// The timeline starts at the answer: the minutes someone spent reading the plan are
		// not part of the rollout.
		c.timeline.Restart(time.Now())
	}
	return nil
}

// openJournal locks a directory this run creates and opens the journal in it.
func (c *applyCmd) openJournal() error {
	if c.lock == nil {
		if err := c.takeLock(); err != nil {
			return err
		}
		if err := checkNewDir(c.f, c.dir); err != nil {
			return err
		}
	}
	s := c.s
	j, err := apply.OpenJournal(c.dir, apply.JournalHeader{Input: s.in.Path, SHA256: s.in.SHA256, Delimiter: c.comma.record(), Server: s.server, ValueDigests: c.digests, Selectors: s.plan.Selectors}, c.f.backupSecrets)
	if err != nil {
		return failure("choose another --report-dir", err)
	}
	c.j = j
	c.log.Info("journal opened", "file", filepath.Join(c.dir, apply.JournalName))
	if c.rekey && c.digests != nil {
		if err := j.RecordDigests(*c.digests); err != nil {
			return failure("", err)
		}
	}
	if c.wavesNew {
		if err := j.RecordWaves(*c.waves); err != nil {
			return failure("", err)
		}
	}
	return nil
}

// run sends, checks and records the plan, writes the report and says how it went.
func (c *applyCmd) run(ctx context.Context) error {
	s := c.s
	run := report.Run{
		Tool: toolVersion(), Server: s.server, Input: s.in.Path, SHA256: s.in.SHA256,
		Started: time.Now(), Plan: c.plan, Flags: c.f.record(c.fs),
	}
	prog := newProgress(c.stdio, c.plan.Targets, c.f.conn.retries, c.f.log.verbose > 0)
	c.prog.Store(prog)
	defer c.prog.Store(nil)
	restoreLog := func() {}
	if prog.bar != nil {
		restoreLog = c.f.log.hush()
	}
	opt := apply.Options{
		Concurrency: c.f.concurrency,
		Limit:       s.client.ConcurrencyLimit,
		MaxFailures: c.f.maxFailures,
		Done:        c.done,
		Journal:     c.j,
		OnResult:    prog.add,
		Log:         s.log,
	}
	if !c.f.noVerify {
		opt.Verify = s.client
	}
	opt.Staging = c.staging(prog)
	out, runErr := apply.Rollout(ctx, s.client, c.plan, opt)
	prog.finish()
	restoreLog()
	if runErr != nil && !errors.Is(runErr, apply.ErrInterrupted) && !errors.Is(runErr, apply.ErrAborted) {
		return failure("", runErr)
	}
	run.Interrupted = errors.Is(runErr, apply.ErrInterrupted)
	if errors.Is(runErr, apply.ErrAborted) {
		fmt.Fprintf(c.stdio.Err, "polarity-bulk: %v: nothing more was sent\nhint: %s\n", runErr, abortHint(runErr, c.dir))
	}
	if opt.Staging != nil {
		rolloutOutcome(c.stdio, out, c.f.stage.atomic, run.Interrupted, c.dir)
	}
	journalErr := c.j.Close()
	run.Results, run.Waves, run.Finished = out.Results, out.Waves, time.Now()
	run.Stopped, run.RolledBack = out.Stopped, out.RolledBack
	run.Shapes = s.client.Shapes()
	run.Timelines, run.TimelinesDropped = earlierTimelines(c.f.resume, c.log)
	for _, ch := range s.client.Pace().Changes { // --rate auto's pace, for the timeline's chart
		c.timeline.Pace(ch.At, ch.Rate)
	}
	run.Timelines = append(run.Timelines, c.timeline.Snapshot(run.Finished))
	run.Pace = keepPace(s, c.stdio, c.log)
	v := report.NewResults(run) // once: the report's files and the outcome below render it
	reportErr := report.WriteDir(c.dir, v, c.f.backupSecrets)
	c.logOutcome(v, reportErr)
	return summarize(c.stdio, v, c.dir, reportErr, journalErr)
}

// logOutcome logs (-v) what the run did and wrote; summarize says it to people.
func (c *applyCmd) logOutcome(v *report.Results, reportErr error) {
	n := v.Totals.Integrations
	c.log.Info("applied", "integrations applied", n.Applied, "unchanged", n.Unchanged, "failed", n.Failed,
		"not attempted", n.NotAttempted, "rolled back", n.RolledBack, "requests", c.s.client.Requests())
	if reportErr == nil {
		c.log.Info("wrote report", "dir", c.dir, "files", len(report.Files))
	}
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// checkNewDir refuses a new run into a directory holding another run's journal: a later
// --resume would take that run's applied integrations for this one's.
func checkNewDir(f applyFlags, dir string) error {
	if f.resume != "" {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, apply.JournalName)); err == nil {
		return usageError("continue that run with --resume "+dir+", or give another --report-dir",
			"%s holds the report of an earlier run: nothing was sent", dir)
	}
	return nil
}

// abortHint says what to do about the condition that stopped a run.
func abortHint(err error, dir string) string {
	resume := "'polarity-bulk apply --resume " + dir + " --yes'"
	switch {
	case errors.Is(err, apply.ErrJournal):
		return "the journal in " + dir + " could not be written (is the disk full?): every PATCH that was sent has the state it replaced in the journal; free some space, then continue with " + resume
	case errors.Is(err, api.ErrWaitTooLong):
		return "the server asked to be left alone longer than --max-wait allows: continue later with " + resume + ", or raise --max-wait"
	case errors.Is(err, api.ErrRetryBudget):
		return "the server refused so many requests that retrying more would only prolong the run: check the server, then continue with " + resume
	}
	return "check POLARITY_API_KEY (or the username and password), then continue with " + resume
}

// applyInput picks the CSV: FILE when given, else the reviewed plan's or resumed run's. A path
// taken from a record comes back with what must hold of it (see readInput).
func applyInput(fs *flag.FlagSet, pos []string, reviewed *report.PlanFile, resumed *apply.JournalHeader, f applyFlags) (string, *recorded, error) {
	if len(pos) > 1 {
		return "", nil, usageError("give one CSV file per run", "apply: too many arguments: %s", strings.Join(pos, " "))
	}
	if len(pos) == 1 {
		return pos[0], nil, nil
	}
	switch {
	case reviewed != nil && reviewed.Input.Path != "-":
		return reviewed.Input.Path, &recorded{SHA256: reviewed.Input.SHA256, By: f.planFile}, nil
	case resumed != nil && resumed.Input != "-":
		return resumed.Input, &recorded{SHA256: resumed.SHA256, By: "the journal in " + f.resume}, nil
	}
	file, err := oneFile(fs, pos)
	return file, nil, err
}

// resumeServer settles where a resume sends its credentials before any is sent. The journal
// names the run's server, but whoever could write the journal chose that name: it is used
// only when the user says so, by --url, by POLARITY_URL, or by answering yes on a terminal.
func resumeServer(ctx context.Context, stdio Stdio, cf *connFlags, dir, journal string) error {
	env := stdio.getenv("POLARITY_URL")
	switch {
	case cf.url != "" && !sameServer(cf.url, journal):
		return failure("point --url at the server of the run you resume",
			fmt.Errorf("resume: the run in %s was against %q, not %q: nothing was sent", dir, journal, cf.url))
	case cf.url != "" || env != "" && sameServer(env, journal):
		return nil
	}
	now := "POLARITY_URL is not set"
	if env != "" {
		now = fmt.Sprintf("POLARITY_URL is %q", env)
	}
	if !stdio.Terminal(stdio.In) || !stdio.Terminal(stdio.Err) {
		return usageError(fmt.Sprintf("to continue that run, pass --url %q", journal),
			"resume: the journal in %s names the server %q, and %s: nothing was sent", dir, journal, now)
	}
	ok, err := ask(ctx, stdio, fmt.Sprintf("The journal in %s names the server %q (%s).\nSend the credentials there and continue the run? Only 'yes' is accepted: ", dir, journal, now))
	if err != nil {
		return err
	}
	if !ok {
		return &exitError{code: ExitFailure, err: errors.New("resume cancelled: nothing was sent"), hint: "pass --url to say which server the run was against"}
	}
	cf.url = journal
	return nil
}

func readPlanFile(path string) (report.PlanFile, error) {
	f, err := os.Open(path)
	if err != nil {
		// A plan that cannot be read is the input missing, as a missing FILE is: exit 3.
		return report.PlanFile{}, &exitError{code: ExitInvalid, err: fmt.Errorf("read plan: %w", err), hint: "give the plan.json written by 'polarity-bulk plan --out'"}
	}
	defer f.Close()
	pf, err := report.ReadPlan(f)
	if err != nil {
		return pf, usageError("give the plan.json written by 'polarity-bulk plan --out'", "%s: %v", path, err)
	}
	return pf, nil
}

// checkVersion refuses a plan made by another build of polarity-bulk before anything is read
// from the server (SPEC section 3, version binding), as Terraform does: another version may
// plan, fingerprint or send differently from the one whose plan was reviewed. With
// --allow-version-mismatch it only warns; the CSV's hash and the fingerprints are checked
// all the same.
func checkVersion(path string, pf report.PlanFile, allow bool, log *slog.Logger) error {
	why := versionMismatch(pf.Tool, pf.ToolRevision, toolVersion(), toolRevision())
	if why == "" {
		return nil
	}
	if allow {
		log.Warn("--allow-version-mismatch: applying a plan made by another build", "plan", path, "reason", why)
		return nil
	}
	return failure(fmt.Sprintf("plan again with this version and review the new plan, or apply %s with the build that made it; --allow-version-mismatch applies it anyway (the CSV and the server are still checked)", path),
		fmt.Errorf("%s: %s: nothing was sent", path, why))
}

// versionMismatch says how the build that made a plan differs from this one, or "" when they
// are the same: the same version, and the same revision where both are known (a build with
// no VCS information, such as "go install ...@v1.2.0", knows none).
func versionMismatch(planTool, planRev, tool, rev string) string {
	switch {
	case planTool == "":
		return fmt.Sprintf("the plan records no polarity-bulk version; this is %s", tool)
	case planTool != tool:
		return fmt.Sprintf("the plan was made by polarity-bulk %s; this is %s", planTool, tool)
	case planRev != "" && rev != "" && planRev != rev:
		return fmt.Sprintf("the plan was made by polarity-bulk %s built from %s; this %s was built from %s", planTool, shortRev(planRev), tool, shortRev(rev))
	}
	return ""
}

// shortRev is a revision as "version" prints it: 12 hex digits, "+dirty" kept.
func shortRev(rev string) string {
	base, dirty := strings.CutSuffix(rev, "+dirty")
	if len(base) > 12 {
		base = base[:12]
	}
	if dirty {
		base += "+dirty"
	}
	return base
}

// checkReviewed refuses a plan that no longer describes what would be sent: another CSV,
// another server, or an integration whose state moved since the review.
func checkReviewed(pf report.PlanFile, s *session) error {
	var stale []string
	if pf.Input.SHA256 != s.in.SHA256 {
		stale = append(stale, fmt.Sprintf("%s changed since the plan was made (SHA-256 %.12s… then, %.12s… now)", s.in.Name, pf.Input.SHA256, s.in.SHA256))
	}
	if !sameServer(pf.Server, s.server) {
		stale = append(stale, fmt.Sprintf("the plan was made against %s, not %s", pf.Server, s.server))
	}
	now := map[string]report.PlanIntegration{}
	for _, it := range report.NewPlanFile(report.PlanMeta{}, s.plan).Integrations {
		now[it.ID] = it
	}
	for _, it := range pf.Integrations {
		t, ok := now[it.ID]
		switch {
		case !ok:
			stale = append(stale, fmt.Sprintf("integration %s is no longer in the plan", it.ID))
		case t.Fingerprint != it.Fingerprint:
			msg := fmt.Sprintf("integration %s (%s) changed on the server since the plan was made", it.ID, it.Name)
			if moved := report.Moved(it, t); len(moved) > 0 {
				msg += ":\n      " + strings.Join(moved, "\n      ")
			}
			stale = append(stale, msg)
		}
		delete(now, it.ID)
	}
	for id := range now {
		stale = append(stale, fmt.Sprintf("integration %s is in the plan now but was not reviewed", id))
	}
	stale = append(stale, expansionDrift(pf.Selectors, s.plan.Selectors, planNames(pf, s.plan))...)
	if len(stale) == 0 {
		return nil
	}
	slices.Sort(stale)
	return failure("nothing was sent; run 'polarity-bulk plan' again, review it, and apply the new plan",
		fmt.Errorf("stale plan:\n  %s", strings.Join(stale, "\n  ")))
}

// confirm asks on a terminal; without one, apply needs --yes.
func confirm(ctx context.Context, stdio Stdio, n int, server string) error {
	if !stdio.Terminal(stdio.In) || !stdio.Terminal(stdio.Err) {
		return usageError("review the plan with 'polarity-bulk plan', then run apply with --yes", "apply: no terminal to confirm on, and --yes was not given: nothing was sent")
	}
	ok, err := ask(ctx, stdio, fmt.Sprintf("\nApply changes to %d %s on %s? Only 'yes' is accepted: ", n, bulk.Plural(n, "integration", "integrations"), server))
	if err != nil {
		return err
	}
	if !ok {
		return &exitError{code: ExitFailure, err: errors.New("apply cancelled: nothing was sent")}
	}
	return nil
}

// ask prints question on stderr and reports whether the answer on stdin is "yes".
func ask(ctx context.Context, stdio Stdio, question string) (bool, error) {
	fmt.Fprint(stdio.Err, question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdio.In).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		return strings.TrimSpace(line) == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(stdio.Err)
		return false, &exitError{code: ExitInterrupted, err: errors.New("interrupted: nothing was sent")}
	}
}

// record is the effective settings the report keeps (no credentials ever are flags).
func (f applyFlags) record(fs *flag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.VisitAll(func(fl *flag.Flag) {
		switch fl.Name {
		case "api-key-file", "password-file":
			if fl.Value.String() != "" {
				m[fl.Name] = "(set)"
			}
			return
		}
		m[fl.Name] = fl.Value.String()
	})
	return m
}

// summarize prints the outcome and maps it to the exit code. A report that could not be
// written, or a journal that could not keep up, is said plainly, with a hint that is true of
// what the directory holds.
func summarize(stdio Stdio, v *report.Results, dir string, reportErr, journalErr error) error {
	n := v.Totals.Integrations
	if err := report.Totals(stdio.Out, v, dir); err != nil {
		return err
	}
	paceSummary(stdio, v)
	resume := "'polarity-bulk apply --resume " + dir + " --yes'"
	switch {
	case reportErr != nil && journalErr == nil:
		fmt.Fprintf(stdio.Err, "polarity-bulk: write report: %v\nhint: the journal in %s records every PATCH sent and its outcome: once the cause is fixed, %s writes the report without sending again what was applied\n",
			reportErr, dir, resume)
		return errShown{ExitFailure}
	case reportErr != nil:
		fmt.Fprintf(stdio.Err, "polarity-bulk: write report: %v\npolarity-bulk: the journal could not be written either: %v\nhint: the journal in %s holds the state before every PATCH that was sent, not every outcome: once there is room, %s sends those again (the same values) and writes the whole report, backup.csv included\n",
			reportErr, journalErr, dir, resume)
		return errShown{ExitFailure}
	case journalErr != nil:
		fmt.Fprintf(stdio.Err, "polarity-bulk: warning: the journal could not be written: %v\nhint: the report in %s is complete; a --resume of this run would send again the integrations whose outcome the journal lacks (the same values)\n",
			journalErr, dir)
	}
	if err := report.Failures(stdio.Err, v, dir); err != nil {
		return err
	}
	switch {
	case v.Interrupted:
		return errShown{ExitInterrupted} // Failures said how many were not attempted, and how to go on
	case n.Failed > 0 || n.NotAttempted > 0 || n.RolledBack > 0:
		return errShown{ExitFailure} // Failures said which, why, and what to do
	}
	return nil
}

// earlierTimelines reads the timelines of the earlier runs into a report directory that is
// resumed, so that report.html draws every run. A timeline.json that cannot be read costs
// only the earlier runs' charts, with a warning.
func earlierTimelines(resume string, log *slog.Logger) ([]bulk.Timeline, int) {
	if resume == "" {
		return nil, 0
	}
	f, err := report.OpenRegular(filepath.Join(resume, report.TimelineFile), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0
	}
	if err == nil {
		defer f.Close()
		var runs []bulk.Timeline
		var dropped int
		if runs, dropped, err = report.ReadTimeline(f); err == nil {
			return runs, dropped
		}
	}
	log.Warn("report.html will not draw the earlier runs' timelines", "err", err)
	return nil, 0
}
