package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/apply"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const applyExample = `Plans FILE against the server exactly as 'plan' does, asks for confirmation, then sends one
PATCH per integration that has changes (none for unchanged ones), reads the changes back, and
writes a report directory. Without a terminal, --yes is required.

Examples:
  polarity-bulk apply changes.csv
  polarity-bulk apply --plan plan.json --yes            # exactly the reviewed plan, or nothing
  polarity-bulk apply changes.csv --yes --concurrency 8 --rate 10 --report-dir reports/rollout-1
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
	noColor       bool
}

func runApply(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "apply", "apply [flags] FILE | apply --plan plan.json [flags]", applyExample)
	f := applyFlags{conn: addConnFlags(fs), log: addLogFlags(fs)}
	fs.BoolVar(&f.yes, "yes", false, "apply without asking (required without a terminal)")
	fs.StringVar(&f.planFile, "plan", "", "apply exactly this reviewed `plan.json`; refuses if the CSV or the server changed since")
	fs.IntVar(&f.concurrency, "concurrency", 4, "PATCH requests in flight at once")
	fs.IntVar(&f.maxFailures, "max-failures", 0, "stop dispatching after N failed integrations (1 = fail fast; 0 = never stop)")
	fs.BoolVar(&f.noVerify, "no-verify", false, "do not read the changed integrations back to verify them")
	fs.StringVar(&f.reportDir, "report-dir", "", "write the report to `DIR` (default reports/<UTC timestamp>/)")
	fs.StringVar(&f.resume, "resume", "", "continue the interrupted or partly failed run whose report is in `DIR`; nothing it applied is sent again")
	fs.BoolVar(&f.backupSecrets, "backup-secrets", false, "keep previous sensitive values in backup.csv (the file is then mode 0600)")
	fs.BoolVar(&f.noColor, "no-color", false, "no colour in the diff (also: NO_COLOR set)")
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if f.concurrency < 1 {
		return usageError("use --concurrency 1 or more", "--concurrency must be at least 1")
	}
	if f.maxFailures < 0 {
		return usageError("use --max-failures 0 for no limit", "--max-failures must not be negative")
	}
	if f.resume != "" && f.reportDir != "" && filepath.Clean(f.resume) != filepath.Clean(f.reportDir) {
		return usageError("--resume continues the report in its own directory; drop --report-dir", "--resume and --report-dir name different directories")
	}
	log, err := f.log.logger(stdio)
	if err != nil {
		return err
	}

	// Where the file comes from: FILE, else the reviewed plan's or the resumed run's input.
	var reviewed *report.PlanFile
	if f.planFile != "" {
		pf, err := readPlanFile(f.planFile)
		if err != nil {
			return err
		}
		reviewed = &pf
	}
	var resumed *apply.JournalHeader
	var done map[string]bulk.Result
	if f.resume != "" {
		h, d, err := apply.ReadJournal(f.resume)
		if err != nil {
			return usageError("--resume takes the report directory of an earlier apply (it holds journal.jsonl)", "%v", err)
		}
		resumed, done = &h, d
		if f.conn.url == "" && stdio.getenv("POLARITY_URL") == "" {
			f.conn.url = h.Server // the run's own server, unless told otherwise
		}
	}
	file, err := applyInput(fs, pos, reviewed, resumed)
	if err != nil {
		return err
	}

	s, err := prepare(ctx, file, f.conn, log, stdio)
	if err != nil {
		return err
	}
	defer s.close()
	if reviewed != nil {
		if err := checkReviewed(*reviewed, s); err != nil {
			return err
		}
	}
	if resumed != nil {
		if resumed.SHA256 != s.in.SHA256 {
			return failure("--resume continues the same file; to re-apply fixed rows use the report's failed.csv in a new run",
				fmt.Errorf("resume: %s changed since the run in %s", s.in.Name, f.resume))
		}
		if resumed.Server != s.server {
			return failure("point --url at the server of the run you resume", fmt.Errorf("resume: the run in %s was against %s, not %s", f.resume, resumed.Server, s.server))
		}
	}

	dir := f.resume
	if dir == "" {
		dir = f.reportDir
	}
	if dir == "" {
		dir = filepath.Join("reports", time.Now().UTC().Format("20060102T150405Z"))
	}
	if f.resume == "" {
		// A new run must not append to another run's journal: a later --resume would take
		// that run's applied integrations for this one's.
		if _, err := os.Stat(filepath.Join(dir, apply.JournalName)); err == nil {
			return usageError("continue that run with --resume "+dir+", or give another --report-dir",
				"%s holds the report of an earlier run: nothing was sent", dir)
		}
	}
	if err := report.PlanText(stdio.Out, s.plan, color(stdio, stdio.Out, f.noColor)); err != nil {
		return err
	}
	toSend := 0
	for _, t := range s.plan.Targets {
		if _, ok := done[t.ID]; !ok && t.Updates() {
			toSend++
		}
	}
	if len(done) > 0 {
		fmt.Fprintf(stdio.Out, "\nresuming %s: %d %s already applied will not be sent again\n", f.resume, len(done), plural(len(done), "integration", "integrations"))
	}
	if toSend > 0 && !f.yes {
		if err := confirm(ctx, stdio, toSend, s.server); err != nil {
			return err
		}
	}

	j, err := apply.OpenJournal(dir, apply.JournalHeader{Input: s.in.Path, SHA256: s.in.SHA256, Server: s.server}, f.backupSecrets)
	if err != nil {
		return failure("choose another --report-dir", err)
	}
	defer j.Close() // on early returns; closed explicitly below

	run := report.Run{
		Tool: toolVersion(), Server: s.server, Input: s.in.Path, SHA256: s.in.SHA256,
		Started: time.Now(), Plan: s.plan, Flags: f.record(fs),
	}
	prog := newProgress(stdio, len(s.plan.Targets), f.log.verbose > 0)
	restoreLog := func() {}
	if prog.bar != nil {
		restoreLog = f.log.hush()
	}
	var journalErr error
	results, runErr := apply.Run(ctx, s.client, s.plan, apply.Options{
		Concurrency: f.concurrency,
		MaxFailures: f.maxFailures,
		Done:        done,
		OnResult: func(r bulk.Result) {
			if err := j.Record(r); err != nil && journalErr == nil {
				journalErr = err
			}
			prog.add(r)
		},
	})
	prog.finish()
	restoreLog()
	if runErr != nil && !errors.Is(runErr, apply.ErrInterrupted) && !errors.Is(runErr, apply.ErrAborted) {
		return failure("", runErr)
	}
	run.Interrupted = errors.Is(runErr, apply.ErrInterrupted)
	if errors.Is(runErr, apply.ErrAborted) {
		// Every other PATCH would be refused the same way: the report still accounts for
		// every row, and --resume continues once the credentials are fixed.
		fmt.Fprintf(stdio.Err, "polarity-bulk: %v: nothing more was sent\nhint: check POLARITY_API_KEY (or the username and password), then continue with --resume %s\n", runErr, dir)
	}
	if !f.noVerify && !run.Interrupted {
		verify(ctx, s, results, j)
	}
	if err := j.Close(); err != nil && journalErr == nil {
		journalErr = err
	}
	run.Results, run.Finished = results, time.Now()
	if err := report.WriteDir(dir, run, f.backupSecrets); err != nil {
		return failure("the journal in the directory still records what was applied: --resume can use it", fmt.Errorf("write report: %w", err))
	}
	if journalErr != nil {
		log.Warn("journal incomplete: a --resume of this run may send some integrations again", "err", journalErr)
	}
	return summarize(stdio, run, dir)
}

// applyInput picks the CSV: FILE when given, else the reviewed plan's or resumed run's.
func applyInput(fs *flag.FlagSet, pos []string, reviewed *report.PlanFile, resumed *apply.JournalHeader) (string, error) {
	if len(pos) > 1 {
		return "", usageError("give one CSV file per run", "apply: too many arguments: %s", strings.Join(pos, " "))
	}
	if len(pos) == 1 {
		return pos[0], nil
	}
	switch {
	case reviewed != nil && reviewed.Input.Path != "-":
		return reviewed.Input.Path, nil
	case resumed != nil && resumed.Input != "-":
		return resumed.Input, nil
	}
	return oneFile(fs, pos)
}

func readPlanFile(path string) (report.PlanFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return report.PlanFile{}, usageError("give the plan.json written by 'polarity-bulk plan --out'", "read plan: %v", err)
	}
	defer f.Close()
	pf, err := report.ReadPlan(f)
	if err != nil {
		return pf, usageError("give the plan.json written by 'polarity-bulk plan --out'", "%s: %v", path, err)
	}
	return pf, nil
}

// checkReviewed refuses a plan that no longer describes what would be sent: another CSV,
// another server, or an integration whose state moved since the review.
func checkReviewed(pf report.PlanFile, s *session) error {
	var stale []string
	if pf.Input.SHA256 != s.in.SHA256 {
		stale = append(stale, fmt.Sprintf("%s changed since the plan was made (SHA-256 %.12s… then, %.12s… now)", s.in.Name, pf.Input.SHA256, s.in.SHA256))
	}
	if pf.Server != s.server {
		stale = append(stale, fmt.Sprintf("the plan was made against %s, not %s", pf.Server, s.server))
	}
	now := map[string]bulk.Target{}
	for _, t := range s.plan.Targets {
		now[t.ID] = t
	}
	for _, it := range pf.Integrations {
		t, ok := now[it.ID]
		switch {
		case !ok:
			stale = append(stale, fmt.Sprintf("integration %s is no longer in the plan", it.ID))
		case t.Fingerprint != it.Fingerprint:
			stale = append(stale, fmt.Sprintf("integration %s (%s) changed on the server since the plan was made", it.ID, it.Name))
		}
		delete(now, it.ID)
	}
	for id := range now {
		stale = append(stale, fmt.Sprintf("integration %s is in the plan now but was not reviewed", id))
	}
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
	fmt.Fprintf(stdio.Err, "\nApply changes to %d %s on %s? Only 'yes' is accepted: ", n, plural(n, "integration", "integrations"), server)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdio.In).ReadString('\n')
		answer <- line
	}()
	var line string
	select {
	case line = <-answer:
	case <-ctx.Done():
		fmt.Fprintln(stdio.Err)
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: nothing was sent")}
	}
	if strings.TrimSpace(line) != "yes" {
		return &exitError{code: ExitFailure, err: errors.New("apply cancelled: nothing was sent")}
	}
	return nil
}

// verify reads back the integrations that were changed and marks each option verified.
func verify(ctx context.Context, s *session, results []bulk.Result, j *apply.Journal) {
	var ids []string
	for _, r := range results {
		if r.Status == bulk.StatusApplied {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	state, err := readState(ctx, s.client, ids, false, s.log)
	if err != nil {
		s.log.Warn("read-back failed: the changes are applied but not verified", "err", err)
		return
	}
	byID := map[string]bulk.Integration{}
	for _, in := range state {
		byID[in.ID] = in
	}
	before := make([]bulk.Status, len(results))
	for i, r := range results {
		before[i] = r.Status
	}
	apply.Verify(results, byID)
	for i, r := range results {
		if r.Status != before[i] {
			_ = j.Record(r) // a failed verification must be sent again by --resume
		}
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

// summarize prints the outcome and maps it to the exit code.
func summarize(stdio Stdio, run report.Run, dir string) error {
	counts := map[bulk.Status]int{}
	for _, r := range run.Results {
		counts[r.Status]++
	}
	fmt.Fprintf(stdio.Out, "\n%d applied, %d unchanged, %d failed, %d not attempted\nreport: %s\n",
		counts[bulk.StatusApplied], counts[bulk.StatusUnchanged], counts[bulk.StatusFailed], counts[bulk.StatusNotAttempted], dir)
	switch {
	case run.Interrupted:
		fmt.Fprintf(stdio.Err, "polarity-bulk: interrupted: %d %s not attempted\nhint: continue with 'polarity-bulk apply --resume %s --yes'\n",
			counts[bulk.StatusNotAttempted], plural(counts[bulk.StatusNotAttempted], "integration was", "integrations were"), dir)
		return errShown{ExitInterrupted}
	case counts[bulk.StatusFailed] > 0 || counts[bulk.StatusNotAttempted] > 0:
		fmt.Fprintf(stdio.Err, "polarity-bulk: %d %s failed (see %s)\nhint: fix %s and apply it, or continue with --resume %s\n",
			counts[bulk.StatusFailed], plural(counts[bulk.StatusFailed], "integration", "integrations"),
			filepath.Join(dir, "results.csv"), filepath.Join(dir, "failed.csv"), dir)
		return errShown{ExitFailure}
	}
	return nil
}
