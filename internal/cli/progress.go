package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// progress shows an apply's progress on stderr: a bar on a terminal, otherwise a line every few
// seconds (CI logs). Its methods are called one at a time by apply.
type progress struct {
	bar   *progressbar.ProgressBar // nil without a terminal
	w     io.Writer
	con   *console
	total int
	start time.Time

	mu     sync.Mutex
	done   int
	failed int
	wave   string // "wave 2/4" in a staged run
	stop   chan struct{}
	wg     sync.WaitGroup
}

// progressEvery is how often the line form reports.
const progressEvery = 5 * time.Second

// newProgress starts the display. verbose (-v logging) turns the bar into lines: the bar
// must not share the terminal with log lines.
func newProgress(stdio Stdio, total int, verbose bool) *progress {
	p := &progress{w: stdio.Err, con: consoleOf(stdio), total: total, start: time.Now(), stop: make(chan struct{})}
	// No bar with JSON logs: every line of stderr must be a JSON object.
	if stdio.Terminal(stdio.Err) && !verbose && !p.con.json {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(stdio.Err), // the default is stdout, which is for data
			progressbar.OptionSetDescription("applying"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("integrations"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.line()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

func (p *progress) add(r bulk.Result) {
	p.mu.Lock()
	p.done++
	if r.Status == bulk.StatusFailed {
		p.failed++
	}
	p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

// setWave names the wave now sent, in the bar and in the lines.
func (p *progress) setWave(n, of int) {
	p.mu.Lock()
	p.wave = fmt.Sprintf("wave %d/%d", n, of)
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe("applying, " + p.wave)
	}
}

// note prints a line of its own (a wave's pause, its health check); on a terminal the bar is
// cleared first. It is called between waves, when no result comes in to redraw the bar.
func (p *progress) note(msg string) {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progress) line() {
	p.mu.Lock()
	done, failed, wave := p.done, p.failed, p.wave
	p.mu.Unlock()
	el := time.Since(p.start)
	rate := float64(done) / el.Seconds()
	eta := "unknown"
	if rate > 0 {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	p.con.progressLine(wave, done, p.total, failed, rate, eta)
}

// finish removes the bar (or stops the lines) before the summary is printed.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	close(p.stop)
	p.wg.Wait()
}
