package cli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// targets is a plan's n integrations, "int-1" to "int-n", named "Name 1" to "Name n".
func targets(n int) []bulk.Target {
	ts := make([]bulk.Target, n)
	for i := range ts {
		ts[i] = bulk.Target{ID: fmt.Sprint("int-", i+1), Name: fmt.Sprint("Name ", i+1)}
	}
	return ts
}

// Without a terminal, progress is a line every progressEvery, not a bar.
func TestProgressLinesWithoutTerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errOut testkit.Buffer
		stdio := Stdio{Err: &errOut, Terminal: func(any) bool { return false }}
		p := newProgress(stdio, targets(10), 5, false)
		if p.bar != nil {
			t.Fatal("a bar without a terminal")
		}
		p.add(bulk.Result{Status: bulk.StatusApplied})
		p.add(bulk.Result{Status: bulk.StatusFailed})
		time.Sleep(progressEvery - time.Millisecond)
		synctest.Wait()
		if errOut.String() != "" {
			t.Fatalf("a line before %v: %q", progressEvery, errOut.String())
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		got := errOut.String()
		if !strings.HasPrefix(got, "progress: 2/10 integrations done, 1 failed, 0.4/s, ETA 20s\n") {
			t.Fatalf("progress line %q", got)
		}
		time.Sleep(progressEvery)
		synctest.Wait()
		if n := strings.Count(errOut.String(), "\n"); n != 2 {
			t.Fatalf("%d lines after two periods: %q", n, errOut.String())
		}
		p.finish()
		time.Sleep(3 * progressEvery)
		synctest.Wait()
		if n := strings.Count(errOut.String(), "\n"); n != 2 {
			t.Fatalf("lines after finish: %q", errOut.String())
		}
	})
}

// In a staged run the progress line names the wave being sent.
func TestProgressNamesTheWave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errOut testkit.Buffer
		stdio := Stdio{Err: &errOut, Terminal: func(any) bool { return false }}
		p := newProgress(stdio, targets(12), 5, false)
		p.add(bulk.Result{Status: bulk.StatusApplied})
		p.setWave(2, 4)
		p.note("wave 1/4 passed: 1 integration, all healthy")
		time.Sleep(progressEvery)
		synctest.Wait()
		p.finish()
		want := "wave 1/4 passed: 1 integration, all healthy\nprogress: wave 2/4: 1/12 integrations done, 0 failed, 0.2/s, ETA 55s\n"
		if got := errOut.String(); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
}

// TestProgressView: what the display says, at given moments, from results and attempts.
func TestProgressView(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	retryAfter := func(id string, n int, d time.Duration) api.Attempt {
		return api.Attempt{Method: "PATCH", Integration: id, N: n, Status: 429, Retry: true, RetryAfter: d}
	}
	backoff := func(id string, n int) api.Attempt {
		return api.Attempt{Method: "PATCH", Integration: id, N: n, Status: 503, Retry: true, Wait: time.Second}
	}
	type step struct {
		at     time.Duration
		result string      // an integration's result, or
		try    api.Attempt // an attempt (when result is empty)
	}
	for _, tc := range []struct {
		name  string
		steps []step
		now   time.Duration
		want  string
	}{
		{"first frame", nil, 0, "applying"},
		// The newcomer's "511771 integrations/s": one result 2 µs after the start.
		{"a result at once: no rate yet", []step{{at: 2 * time.Microsecond, result: "int-1"}}, 2 * time.Microsecond, "applying"},
		{"rate over a second", []step{{at: 500 * time.Millisecond, result: "int-1"}, {at: 2 * time.Second, result: "int-2"}}, 2 * time.Second,
			"applying: 1.0/s, ETA 8s"},
		{"a Retry-After pause", []step{{at: time.Second, result: "int-1"}, {at: 2 * time.Second, result: "int-2"}, {at: 2 * time.Second, try: retryAfter("int-3", 1, 12*time.Second)}},
			2 * time.Second, "applying: 1.0/s, ETA 20s · waiting 12s: Retry-After"},
		// Five seconds into the pause: the rate has not sunk, the ETA has shrunk by five seconds.
		{"the pause counts down", []step{{at: time.Second, result: "int-1"}, {at: 2 * time.Second, result: "int-2"}, {at: 2 * time.Second, try: retryAfter("int-3", 1, 12*time.Second)}},
			7 * time.Second, "applying: 1.0/s, ETA 15s · waiting 7s: Retry-After"},
		{"a second Retry-After lengthens the pause", []step{{at: time.Second, result: "int-1"}, {at: 2 * time.Second, result: "int-2"},
			{at: 2 * time.Second, try: retryAfter("int-3", 1, 12*time.Second)}, {at: 4 * time.Second, try: retryAfter("int-4", 1, 30*time.Second)}},
			10 * time.Second, "applying: 1.0/s, ETA 32s · waiting 24s: Retry-After"},
		{"after the pause: the retry it led to is over when its result comes", []step{{at: time.Second, result: "int-1"}, {at: 2 * time.Second, result: "int-2"},
			{at: 2 * time.Second, try: retryAfter("int-3", 1, 2*time.Second)}, {at: 5 * time.Second, result: "int-3"}},
			5 * time.Second, "applying: 1.0/s, ETA 7s"},
		{"a backoff retry names the integration", []step{{at: 0, try: backoff("int-4", 2)}}, time.Second, "applying · retrying Name 4 2/5"},
		{"the latest retry, and how many more", []step{{at: 0, try: backoff("int-4", 1)}, {at: 0, try: backoff("int-5", 3)}, {at: 0, try: backoff("int-6", 1)}},
			time.Second, "applying · retrying Name 6 1/5 (and 2 more)"},
		{"an attempt that is not retried ends the retry", []step{{at: 0, try: backoff("int-4", 1)}, {at: time.Second, try: api.Attempt{Method: "PATCH", Integration: "int-4", N: 2, Status: 200}}},
			time.Second, "applying"},
		{"a list has no integration: the request is named", []step{{at: 0, try: api.Attempt{Method: "GET", Path: "/api/integrations", N: 1, Status: 502, Retry: true, Wait: time.Second}}},
			time.Second, "applying · retrying GET /api/integrations 1/5"},
		{"a name that is not unique: the id", []step{{at: 0, try: backoff("dup-1", 1)}}, time.Second, "applying · retrying dup-1 1/5"},
		{"a hostile name is escaped", []step{{at: 0, try: backoff("evil", 1)}}, time.Second, `applying · retrying Evil\x1b[2J 1/5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := append(targets(10), bulk.Target{ID: "dup-1", Name: "Twin"}, bulk.Target{ID: "dup-2", Name: "Twin"}, bulk.Target{ID: "evil", Name: "Evil\x1b[2J"})
			v := progressView{total: 10, retries: 5, names: uniqueNames(ts), start: t0}
			for _, s := range tc.steps {
				if s.result != "" {
					v.result(s.result, false)
				} else {
					v.attempt(s.try, at(s.at))
				}
			}
			if got := v.barText(at(tc.now), 200); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestBarTextFits: the text beside the bar gives up "applying", then the rate, before what
// the run waits for, and cuts that last.
func TestBarTextFits(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	v := progressView{total: 10, retries: 5, wave: "wave 2/3", start: t0}
	v.result("a", false)
	v.result("b", false)
	v.attempt(api.Attempt{Method: "PATCH", Integration: "c", N: 1, Retry: true, RetryAfter: 12 * time.Second}, t0.Add(2*time.Second))
	now := t0.Add(2 * time.Second)
	for _, tc := range []struct {
		room int
		want string
	}{
		{100, "applying, wave 2/3: 1.0/s, ETA 20s · waiting 12s: Retry-After"},
		{50, "1.0/s, ETA 20s · waiting 12s: Retry-After"},
		{30, "waiting 12s: Retry-After"},
		{10, "waiting 1…"},
		{0, ""},
	} {
		if got := v.barText(now, tc.room); got != tc.want {
			t.Errorf("room %d: %q, want %q", tc.room, got, tc.want)
		}
	}
}

// Without a terminal, the ETA does not grow while the run waits out a Retry-After: the
// lines say the wait, and the time left shrinks with it.
func TestProgressETAWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errOut testkit.Buffer
		stdio := Stdio{Err: &errOut, Terminal: func(any) bool { return false }}
		p := newProgress(stdio, targets(100), 5, false)
		// Results at 0.5 s, 1.5 s, ... 9.5 s (off the ticks of the lines, at 5 s, 10 s, ...),
		// then a Retry-After of 30 s at 9.5 s.
		time.Sleep(500 * time.Millisecond)
		for i := range 10 {
			p.add(bulk.Result{ID: fmt.Sprint("int-", i+1), Status: bulk.StatusApplied})
			if i < 9 {
				time.Sleep(time.Second)
			}
		}
		p.attempt(api.Attempt{Method: "PATCH", Integration: "int-11", N: 1, Status: 429, Retry: true, RetryAfter: 30 * time.Second})
		time.Sleep(30*time.Second + 500*time.Millisecond) // to 40 s: the pause ended at 39.5 s
		synctest.Wait()
		p.finish()
		re := regexp.MustCompile(`(?m)^progress: (\d+)/100 integrations done, 0 failed, ([0-9.]+)/s, ETA (\S+?)(; waiting (\d+)s: Retry-After|; retrying Name 11 1/5)?$`)
		ms := re.FindAllStringSubmatch(errOut.String(), -1)
		if len(ms) != 8 || strings.Count(errOut.String(), "\n") != 8 {
			t.Fatalf("%d progress lines, want 8:\n%s", len(ms), errOut.String())
		}
		var prev time.Duration
		waits := 0
		for i, m := range ms {
			eta, err := time.ParseDuration(m[3])
			if err != nil {
				t.Fatal(err)
			}
			if m[5] != "" {
				waits++
				if m[2] != "1.1" {
					t.Errorf("line %d: rate %s/s while waiting, want the 1.1/s measured before", i+1, m[2])
				}
			}
			// The pause that begins adds its length once (line 2); from then on the time
			// left only shrinks.
			if i > 1 && eta > prev {
				t.Errorf("line %d: ETA %s grew from %s:\n%s", i+1, eta, prev, errOut.String())
			}
			prev = eta
		}
		// The lines at 10, 15, 20, 25, 30 and 35 s say the wait; the one at 40 s the retry.
		if waits != 6 || !strings.Contains(errOut.String(), "; waiting 25s: Retry-After\n") || !strings.HasSuffix(errOut.String(), "; retrying Name 11 1/5\n") {
			t.Errorf("%d lines say the wait, want 6:\n%s", waits, errOut.String())
		}
	})
}

// On a terminal the bar's first frame shows no rate, and during a Retry-After pause it says
// the wait, redrawn while no result comes in.
func TestProgressBarSaysTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errOut testkit.Buffer
		stdio := Stdio{Err: &errOut, Terminal: func(any) bool { return true }}
		p := newProgress(stdio, targets(300), 5, false)
		if p.bar == nil {
			t.Fatal("no bar on a terminal")
		}
		first := errOut.String()
		if !strings.Contains(first, "(0/300) applying") || strings.Contains(first, "/s") {
			t.Errorf("first frame %q: want the count and no rate", first)
		}
		p.add(bulk.Result{ID: "int-1", Status: bulk.StatusApplied}) // at once: still no rate
		if s := errOut.String(); strings.Contains(s, "/s") {
			t.Errorf("a rate after one instant result: %q", s)
		}
		time.Sleep(2 * time.Second)
		p.add(bulk.Result{ID: "int-2", Status: bulk.StatusApplied})
		p.attempt(api.Attempt{Method: "PATCH", Integration: "int-3", N: 1, Status: 429, Retry: true, RetryAfter: 12 * time.Second})
		time.Sleep(barEvery)
		synctest.Wait()
		// 80 columns (what a terminal whose width cannot be read is taken for): the bar, the
		// count, then as much as fits, the wait first.
		if s := errOut.String(); !strings.Contains(s, "(2/300) 1.0/s, ETA 5m10s · waiting 12s: Retry-After") {
			t.Errorf("no wait on the bar: %q", s[len(first):])
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := errOut.String(); !strings.Contains(s, "ETA 5m5s · waiting 7s: Retry-After") {
			t.Errorf("the wait does not count down: %q", s[len(s)-200:])
		}
		p.finish()
	})
}
