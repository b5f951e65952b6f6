package cli

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

// progressView is what apply's progress display says, apart from the terminal and the
// clock so that it can be tested: the counts, the time the run was free to send, and what
// it waits for. Its methods take the time they are about; the caller holds the lock.
//
// The rate counts only the time the run could send: a Retry-After pause stops every
// request, so counting it would make the rate sink and the ETA grow while nothing can be
// done. The ETA is then the integrations left at that rate, plus what is left of the pause:
// it shrinks while the run waits.
type progressView struct {
	total, done, failed int
	wave                string // "wave 2/4" in a staged run
	retries             int    // --retries, for "retrying X 2/5"
	names               map[string]string

	start time.Time
	// paused is the length of the Retry-After pauses that ended; the pause under way (or the
	// last one) runs from pauseFrom to pauseUntil.
	paused                time.Duration
	pauseFrom, pauseUntil time.Time
	// retrying lists the calls waiting to be tried again, by integration (or request), with
	// the retry that comes next, most recent last.
	retrying []retrying
}

type retrying struct {
	key string // the integration id, or the method and path of a call about none
	n   int
}

// minRateWindow is how long the run must have been free to send before a rate is shown: a
// rate over the first milliseconds is noise (one result 2 µs after the start is "500,000
// integrations/s").
const minRateWindow = time.Second

// attempt takes in one HTTP attempt: a Retry-After starts (or lengthens) a pause of every
// request; a retry marks its call as retrying; an attempt that is not retried ends that.
func (v *progressView) attempt(a api.Attempt, now time.Time) {
	key := a.Integration
	if key == "" {
		key = a.Method + " " + a.Path
	}
	v.dropRetry(key)
	if !a.Retry {
		return
	}
	if a.RetryAfter > 0 {
		v.pause(now, now.Add(a.RetryAfter))
	}
	v.retrying = append(v.retrying, retrying{key: key, n: a.N})
}

// pause records that no request is sent from from until until.
func (v *progressView) pause(from, until time.Time) {
	if !from.After(v.pauseUntil) { // overlaps the pause under way: it lasts longer
		if until.After(v.pauseUntil) {
			v.pauseUntil = until
		}
		return
	}
	v.paused += v.pauseUntil.Sub(v.pauseFrom)
	v.pauseFrom, v.pauseUntil = from, until
}

// result counts an integration's outcome; its retries are over.
func (v *progressView) result(id string, failed bool) {
	v.done++
	if failed {
		v.failed++
	}
	v.dropRetry(id)
}

func (v *progressView) dropRetry(key string) {
	for i, r := range v.retrying {
		if r.key == key {
			v.retrying = append(v.retrying[:i], v.retrying[i+1:]...)
			return
		}
	}
}

// active is how long the run has been free to send at now: the time since the start, less
// the pauses.
func (v *progressView) active(now time.Time) time.Duration {
	d := now.Sub(v.start) - v.paused
	if !v.pauseFrom.IsZero() && now.After(v.pauseFrom) {
		end := v.pauseUntil
		if now.Before(end) {
			end = now
		}
		d -= end.Sub(v.pauseFrom)
	}
	return max(d, 0)
}

// rate is integrations per second of active time; ok is false until there is a result and
// minRateWindow of active time to measure it over.
func (v *progressView) rate(now time.Time) (perSec float64, ok bool) {
	a := v.active(now)
	if v.done == 0 || a < minRateWindow {
		return 0, false
	}
	return float64(v.done) / a.Seconds(), true
}

// eta is the time left: the integrations left at the rate, plus what is left of the pause.
func (v *progressView) eta(now time.Time) (time.Duration, bool) {
	r, ok := v.rate(now)
	if !ok {
		return 0, false
	}
	left := time.Duration(float64(v.total-v.done) / r * float64(time.Second))
	if v.pauseUntil.After(now) {
		left += v.pauseUntil.Sub(now)
	}
	return left, true
}

// status says what the run waits for, if anything: a pause first (it holds every request),
// else the call retried last.
func (v *progressView) status(now time.Time) string {
	if v.pauseUntil.After(now) {
		return fmt.Sprintf("waiting %ds: Retry-After", int(math.Ceil(v.pauseUntil.Sub(now).Seconds())))
	}
	if len(v.retrying) == 0 {
		return ""
	}
	last := v.retrying[len(v.retrying)-1]
	s := fmt.Sprintf("retrying %s %d/%d", v.label(last.key), last.n, v.retries)
	if more := len(v.retrying) - 1; more > 0 {
		s += fmt.Sprintf(" (and %d more)", more)
	}
	return s
}

// label names an integration by its name when the plan has only one of that name, else by
// its id; cut to 30 columns to keep the bar on one line, and escaped (a hostile name could
// move the cursor).
func (v *progressView) label(key string) string {
	s := key
	if n := v.names[key]; n != "" {
		s = n
	}
	return report.Printable(cut(s, 30), 0)
}

// barText is the text beside the bar on a terminal: the wave, the rate and ETA once they
// are known, and what the run waits for; at most room columns (what the run waits for is
// kept first, then the rate, then "applying").
func (v *progressView) barText(now time.Time, room int) string {
	head := "applying"
	if v.wave != "" {
		head += ", " + v.wave
	}
	rate := ""
	if r, ok := v.rate(now); ok {
		eta, _ := v.eta(now)
		rate = fmt.Sprintf("%.1f/s, ETA %s", r, roundETA(eta))
	}
	st := v.status(now)
	for _, s := range []string{
		join(join(head, ": ", rate), " · ", st),
		join(rate, " · ", st),
		st,
	} {
		if utf8.RuneCountInString(s) <= room {
			return s
		}
	}
	return cut(st, room)
}

// join joins a and b with sep, or gives the one that is not empty.
func join(a, sep, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}

// cut shortens s to n runes, with "…" at the end when it was longer.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// roundETA rounds to the second, or to the minute past an hour.
func roundETA(d time.Duration) time.Duration {
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
