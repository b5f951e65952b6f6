package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// progress shows an apply's progress on stderr: a bar on a terminal, otherwise a line every few
// seconds (CI logs). Both say what the run waits for (a Retry-After pause, a retry), from the
// client's attempts. add, setWave and note are called one at a time by apply; attempt from
// any request's goroutine.
type progress struct {
	bar *progressbar.ProgressBar // nil without a terminal
	w   io.Writer
	con *console
	now func() time.Time
	// cols is the terminal's width now (it may be resized), to keep the bar on one line: a
	// longer line wraps, and each redraw then leaves a copy behind.
	cols func() int

	mu   sync.Mutex // guards view, and the bar's drawing: never a line while it is drawn
	view progressView
	stop chan struct{}
	wg   sync.WaitGroup
}

// progressEvery is how often the line form reports; barEvery how often the bar is redrawn
// when no result comes in (a pause counts down).
const (
	progressEvery = 5 * time.Second
	barEvery      = 250 * time.Millisecond
	barWidth      = 16 // the bar itself, in columns
)

// newProgress starts the display for the integrations of ts (named in "retrying X" by their
// name where it is unique), with --retries retries per request. verbose (-v logging) turns
// the bar into lines: the bar must not share the terminal with log lines.
func newProgress(stdio Stdio, ts []bulk.Target, retries int, verbose bool) *progress {
	p := &progress{w: stdio.Err, con: consoleOf(stdio), now: time.Now, cols: terminalColumns(stdio.Err), stop: make(chan struct{})}
	p.view = progressView{total: len(ts), retries: retries, names: uniqueNames(ts), start: p.now()}
	every := progressEvery
	// No bar with JSON logs: every line of stderr must be a JSON object.
	if stdio.Terminal(stdio.Err) && !verbose && !p.con.json {
		// The bar's own rate and ETA are left out: it measures from its first frame, so its
		// first rate is made up, and it counts pauses as time the run was slow. barText
		// says both, over the time the run could send.
		p.bar = progressbar.NewOptions(len(ts),
			progressbar.OptionSetWriter(stdio.Err), // the default is stdout, which is for data
			progressbar.OptionSetDescription(p.view.barText(p.view.start, p.textRoom())),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetWidth(barWidth),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		every = barEvery
		p.redraw()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if p.bar != nil {
					p.redraw()
				} else {
					p.line()
				}
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// textRoom is how many columns the text beside the bar may take: the terminal's width less
// the percentage, the bar and the count ("100% |…| (300/300) "), and one column so that
// the cursor never sits past the edge.
func (p *progress) textRoom() int {
	n := strconv.Itoa(p.view.total)
	return p.cols() - (5 + barWidth + 2 + 1 + 2*len(n) + 3 + 1) - 1
}

// terminalColumns returns the width of the terminal under w, read at each call; 80 when it
// cannot be read.
func terminalColumns(w io.Writer) func() int {
	return func() int {
		if f, ok := underlying(w).(*os.File); ok {
			if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 0 {
				return c
			}
		}
		return 80
	}
}

// uniqueNames maps each integration id to its name, for the names no other integration of
// the plan has.
func uniqueNames(ts []bulk.Target) map[string]string {
	count := map[string]int{}
	for _, t := range ts {
		count[t.Name]++
	}
	names := map[string]string{}
	for _, t := range ts {
		if t.Name != "" && count[t.Name] == 1 {
			names[t.ID] = t.Name
		}
	}
	return names
}

func (p *progress) add(r bulk.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.view.result(r.ID, r.Status == bulk.StatusFailed)
	if p.bar != nil {
		p.bar.Describe(p.view.barText(p.now(), p.textRoom()))
		_ = p.bar.Add(1)
	}
}

// attempt takes in one HTTP attempt of the client (api.Config.OnAttempt): pauses and
// retries show at the next redraw.
func (p *progress) attempt(a api.Attempt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.view.attempt(a, p.now())
}

// redraw draws the bar with what the view says now.
func (p *progress) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Describe(p.view.barText(p.now(), p.textRoom()))
}

// setWave names the wave now sent, in the bar and in the lines.
func (p *progress) setWave(n, of int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.view.wave = fmt.Sprintf("wave %d/%d", n, of)
	if p.bar != nil {
		p.bar.Describe(p.view.barText(p.now(), p.textRoom()))
	}
}

// note prints a line of its own (a wave's pause, its health check); on a terminal the bar is
// cleared first, under the lock the redraws take, so that none comes between.
func (p *progress) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progress) line() {
	p.mu.Lock()
	now := p.now()
	v := p.view
	rate, known := v.rate(now)
	eta := "unknown"
	if d, ok := v.eta(now); ok {
		eta = roundETA(d).String()
	}
	st := v.status(now)
	p.mu.Unlock()
	if !known {
		rate = -1
	}
	p.con.progressLine(v.wave, v.done, v.total, v.failed, rate, eta, st)
}

// finish removes the bar (or stops the lines) before the summary is printed.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
