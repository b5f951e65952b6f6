package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/apply"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The staged rollout of apply (SPEC section 3, "Staged rollouts"): its flags, the wave plan,
// the pause or question between waves, and what the console says of waves and rollbacks.

// stageFlags are apply's flags for staged rollouts.
type stageFlags struct {
	waves          string
	maxFailPercent int
	wavePause      string
	atomic         bool

	spec  apply.WaveSpec // waves, parsed
	pause time.Duration  // --wave-pause DURATION
	ask   bool           // --wave-pause ask
}

func addStageFlags(fs *flag.FlagSet, sf *stageFlags) {
	fs.StringVar(&sf.waves, "waves", "", "send in waves of the sizes in `LIST`: counts or percentages of the integrations with changes, the last size repeating, e.g. 1,10%,100%; each wave is health-checked before the next")
	fs.IntVar(&sf.maxFailPercent, "max-fail-percent", 0, "a wave fails, and no later wave starts, when more than `P` percent of its integrations failed (by PATCH or health check)")
	fs.StringVar(&sf.wavePause, "wave-pause", "", "wait `DURATION` after each wave before its health check (so a broken key shows), or 'ask' on a terminal before each next wave")
	fs.BoolVar(&sf.atomic, "atomic", false, "when the run stops because of failures, restore every integration it applied to its state before the run")
}

// check checks the staging flags; stdio says whether 'ask' has a terminal to ask on.
func (sf *stageFlags) check(stdio Stdio, yes, noVerify bool) error {
	var err error
	if sf.waves != "" {
		if sf.spec, err = apply.ParseWaves(sf.waves); err != nil {
			return usageError("give counts and percentages separated by commas, e.g. --waves 1,10%,100%", "%v", err)
		}
	}
	staged := sf.waves != "" || sf.atomic
	switch {
	case sf.maxFailPercent < 0 || sf.maxFailPercent > 100:
		return usageError("give a percentage from 0 to 100, e.g. --max-fail-percent 10", "--max-fail-percent %d is not a percentage", sf.maxFailPercent)
	case sf.maxFailPercent > 0 && !staged:
		return usageError("it applies to waves: add --waves LIST (or --atomic, for the run as one wave)", "--max-fail-percent without --waves or --atomic")
	case sf.wavePause != "" && !staged:
		return usageError("it waits between waves: add --waves LIST (or --atomic, to wait before the run's health check)", "--wave-pause without --waves or --atomic")
	case noVerify && staged:
		return usageError("the health check after each wave is what makes a staged or atomic run safe: drop --no-verify", "--no-verify with --waves or --atomic")
	}
	switch sf.wavePause {
	case "":
	case "ask":
		sf.ask = true
		if !yes && (!stdio.Terminal(stdio.In) || !stdio.Terminal(stdio.Err)) {
			return usageError("give --wave-pause DURATION, or --yes to start each wave without asking",
				"--wave-pause ask: no terminal to ask on: nothing was sent")
		}
	default:
		if sf.pause, err = time.ParseDuration(sf.wavePause); err != nil || sf.pause < 0 {
			return usageError("give a duration such as --wave-pause 60s, or --wave-pause ask", "--wave-pause %q is neither a duration nor 'ask'", sf.wavePause)
		}
	}
	return nil
}

// stage settles the wave plan before anything is sent: the resumed run's when it was
// staged (a different --waves is refused), else the one --waves makes of the integrations
// with changes, in plan order. It is nil for a run that is not staged.
func (c *applyCmd) stage() error {
	sf := &c.f.stage
	if c.f.resume != "" {
		plan, ended, err := apply.ReadWaves(c.f.resume)
		if err != nil {
			return usageError("--resume takes the report directory of an earlier apply (it holds journal.jsonl)", "%v", err)
		}
		if plan != nil {
			if sf.waves != "" && sf.waves != plan.Spec {
				return usageError("drop --waves to continue the run's own waves, or apply the file as a new run (another --report-dir)",
					"resume: the run in %s was staged --waves %s, not %s: nothing was sent", c.f.resume, plan.Spec, sf.waves)
			}
			c.waves, c.wavesNew = plan, false
			c.passed = map[int]bool{}
			for n, w := range ended {
				c.passed[n] = w.Status == bulk.WavePassed
			}
			set := map[string]bool{}
			c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			if !set["max-fail-percent"] {
				sf.maxFailPercent = plan.MaxFailPercent
			}
			if !set["atomic"] {
				sf.atomic = plan.Atomic
			}
			return nil
		}
	}
	if sf.waves == "" && !sf.atomic {
		return nil
	}
	var ids []string
	for _, t := range c.plan.Targets {
		if _, done := c.done[t.ID]; !done && t.Updates() {
			ids = append(ids, t.ID)
		}
	}
	plan := &apply.WavePlan{Spec: sf.waves, MaxFailPercent: sf.maxFailPercent, Atomic: sf.atomic}
	for _, n := range sf.spec.Sizes(len(ids)) {
		plan.Waves = append(plan.Waves, ids[:n])
		ids = ids[n:]
	}
	c.waves, c.wavesNew = plan, true
	return nil
}

// describeWaves says how the run will be staged, before it is confirmed.
func (c *applyCmd) describeWaves() {
	if c.waves == nil {
		return
	}
	sizes := make([]string, 0, len(c.waves.Waves))
	for i, w := range c.waves.Waves {
		s := fmt.Sprint(len(w))
		if c.passed[i+1] {
			s += " (passed)"
		}
		sizes = append(sizes, s)
	}
	how := fmt.Sprintf("\nstaged: %d %s of %s %s", len(sizes), bulk.Plural(len(sizes), "wave", "waves"), strings.Join(sizes, ", "), bulk.Plural(len(sizes), "integration", "integrations"))
	if len(sizes) == 0 {
		how = "\nstaged: no integration to send"
	}
	sf := c.f.stage
	how += fmt.Sprintf("; a wave fails when more than %d%% of it fails", sf.maxFailPercent)
	switch {
	case sf.ask:
		how += "; you are asked before each next wave"
	case sf.pause > 0:
		how += fmt.Sprintf("; %s pause before each health check", sf.pause)
	}
	if sf.atomic {
		how += "; --atomic: a failure rolls every applied integration back"
	}
	fmt.Fprintln(c.stdio.Out, how)
}

// staging is the apply.Staging of the run, with the console's part: the progress display
// names the wave, and the pauses, questions, wave ends and the rollback are said on stderr.
func (c *applyCmd) staging(prog *progress) *apply.Staging {
	if c.waves == nil {
		return nil
	}
	sf := c.f.stage
	total := len(c.waves.Waves)
	st := &apply.Staging{
		Waves: c.waves.Waves, Passed: c.passed, MaxFailPercent: sf.maxFailPercent,
		Health: c.s.client, Atomic: sf.atomic,
		OnWave: func(w bulk.WaveOutcome) {
			total = max(total, w.Number)
			if w.Finished.IsZero() {
				prog.setWave(w.Number, total)
				c.timeline.StartWave(w.Started, w.Number, len(w.IDs)) // report.html draws the waves
				return
			}
			c.timeline.EndWave(w.Finished, w.Number, w.Failed, w.Status != bulk.WavePassed)
			prog.note(waveLine(w, total, sf.maxFailPercent))
		},
		OnRollback: func(n int) {
			prog.note(fmt.Sprintf("rolling back: %d %s to restore as they were before the run (--atomic)", n, bulk.Plural(n, "integration", "integrations")))
		},
	}
	if sf.pause > 0 {
		st.Pause = func(ctx context.Context, w bulk.WaveOutcome) error {
			prog.note(fmt.Sprintf("wave %d/%d sent: waiting %s before its health check (--wave-pause)", w.Number, total, sf.pause))
			t := time.NewTimer(sf.pause)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if sf.ask {
		st.Next = func(ctx context.Context, done, next bulk.WaveOutcome) error {
			return c.askNext(ctx, prog, done, next, total)
		}
	}
	return st
}

// askNext asks before the next wave: "yes" goes on, "rollback" rolls back (with --atomic),
// anything else stops. Without a terminal (allowed with --yes) the answer is yes.
func (c *applyCmd) askNext(ctx context.Context, prog *progress, done, next bulk.WaveOutcome, total int) error {
	stdio := c.stdio
	if !stdio.Terminal(stdio.In) || !stdio.Terminal(stdio.Err) {
		prog.note(fmt.Sprintf("--wave-pause ask: no terminal, --yes answers: starting wave %d/%d", next.Number, total))
		return nil
	}
	choices := "'yes' starts it, anything else stops here"
	if c.f.stage.atomic {
		choices = "'yes' starts it, 'rollback' restores what the run applied, anything else stops here"
	}
	prog.note(fmt.Sprintf("Start wave %d/%d (%d %s)? %s: ", next.Number, total, len(next.IDs), bulk.Plural(len(next.IDs), "integration", "integrations"), choices))
	if c.lines == nil {
		c.lines = bufio.NewReader(stdio.In) // one reader for every question: it buffers ahead
	}
	answer := make(chan string, 1)
	go func() {
		line, _ := c.lines.ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		switch strings.TrimSpace(line) {
		case "yes":
			return nil
		case "rollback":
			return apply.ErrRollBack
		}
		return apply.ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waveLine says how a wave ended.
func waveLine(w bulk.WaveOutcome, total, maxFail int) string {
	n := len(w.IDs)
	head := fmt.Sprintf("wave %d/%d %s: %d %s", w.Number, total, w.Status, n, bulk.Plural(n, "integration", "integrations"))
	switch {
	case w.Failed > 0:
		head += fmt.Sprintf(", %d failed", w.Failed)
	case w.Status == bulk.WavePassed:
		head += ", all healthy"
	}
	if w.Status == bulk.WaveFailed {
		head += fmt.Sprintf(" (more than --max-fail-percent %d)", maxFail)
	}
	if !w.ErrorsKnown && w.Status != bulk.WaveInterrupted {
		head += "; the server does not say which integrations report errors: checked values and status only"
	}
	for _, h := range w.Health {
		if !h.OK() {
			head += fmt.Sprintf("\n  %s: %s", h.ID, strings.Join(h.Problems, "; "))
		}
	}
	return head
}

// rolloutOutcome says on stderr how a staged run ended: why it stopped, and what the
// rollback restored and what it could not.
func rolloutOutcome(stdio Stdio, out apply.Outcome, atomic, interrupted bool, dir string) {
	if out.Stopped != "" {
		fmt.Fprintf(stdio.Err, "polarity-bulk: %s\n", out.Stopped)
	}
	switch {
	case out.RolledBack:
		ints, _ := bulk.Count(out.Results)
		restored, failedRB, lost := ints.RolledBack, 0, 0
		for _, r := range out.Results {
			for _, o := range r.Options {
				if o.Rollback != "" {
					lost++
					fmt.Fprintf(stdio.Err, "rollback: %s option %s: %s\n", r.ID, o.Key, o.Rollback)
				}
			}
			if strings.HasPrefix(r.Error, "rollback failed") {
				failedRB++
			}
		}
		if restored+failedRB+lost == 0 {
			fmt.Fprintln(stdio.Err, "polarity-bulk: --atomic: nothing to roll back: no change of this run had reached the server")
			return
		}
		// One write per line: under --log-format json the console makes each write a line.
		msg := fmt.Sprintf("polarity-bulk: rolled back %d %s (--atomic)", restored, bulk.Plural(restored, "integration", "integrations"))
		if failedRB > 0 {
			msg += fmt.Sprintf("; the rollback of %d failed: they keep the run's changes (%s restores them; summary.md names any value it cannot)", failedRB, dir+"/backup.csv")
		}
		fmt.Fprintln(stdio.Err, msg)
	case atomic && interrupted:
		fmt.Fprintf(stdio.Err, "polarity-bulk: interrupted: --atomic does not roll back an interrupted run; %s restores what was applied (summary.md names any value it cannot), --resume continues\n", dir+"/backup.csv")
	case atomic && out.Stopped != "":
		fmt.Fprintf(stdio.Err, "polarity-bulk: nothing was rolled back: the run stopped for a cause a rollback would meet too; %s restores what was applied (summary.md names any value it cannot)\n", dir+"/backup.csv")
	}
}
