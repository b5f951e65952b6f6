package report

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// testRecorder builds a timeline from attempts the way apply.Timeline does (apply imports
// report, so its tests cannot use it), without the bounds: fixed buckets of 1/64 s, pauses
// merged where they overlap.
type testRecorder struct {
	tl  bulk.Timeline
	idx map[time.Duration]int
}

func newTestRecorder(start time.Time, rate float64) *testRecorder {
	return &testRecorder{tl: bulk.Timeline{Start: start, Width: time.Second / 64, Rate: rate}, idx: map[time.Duration]int{}}
}

func (r *testRecorder) Observe(a api.Attempt) {
	b := bulk.AttemptBucket(a.Status, a.Latency, a.N)
	at := max(0, a.Start.Sub(r.tl.Start)) / r.tl.Width * r.tl.Width
	i, ok := r.idx[at]
	if !ok {
		i = len(r.tl.Buckets)
		r.idx[at] = i
		r.tl.Buckets = append(r.tl.Buckets, bulk.Bucket{At: at})
	}
	r.tl.Buckets[i].Add(b)
	if a.RetryAfter > 0 {
		from := a.Start.Add(a.Latency).Sub(r.tl.Start)
		p := bulk.Span{From: from, To: from + a.RetryAfter}
		if n := len(r.tl.Pauses); n > 0 && p.From <= r.tl.Pauses[n-1].To {
			r.tl.Pauses[n-1].To = max(r.tl.Pauses[n-1].To, p.To)
		} else {
			r.tl.Pauses = append(r.tl.Pauses, p)
		}
	}
}

func (r *testRecorder) StartWave(t time.Time, index, n int) {
	off := t.Sub(r.tl.Start)
	r.tl.Waves = append(r.tl.Waves, bulk.Wave{Index: index, Last: index, From: off, To: off, Integrations: n})
}

func (r *testRecorder) EndWave(t time.Time, index, failed int, halted bool) {
	w := &r.tl.Waves[len(r.tl.Waves)-1]
	w.To, w.Failed, w.Halted = t.Sub(r.tl.Start), failed, halted
}

func (r *testRecorder) Pace(t time.Time, rate float64) {
	r.tl.Pace = append(r.tl.Pace, bulk.PaceSample{At: t.Sub(r.tl.Start), Rate: rate})
}

func (r *testRecorder) Timeline(end time.Time) bulk.Timeline {
	tl := r.tl
	tl.End = end
	slices.SortFunc(tl.Buckets, func(a, b bulk.Bucket) int { return int(a.At - b.At) })
	return tl
}

// syntheticTimeline records a 90-second run of fixed --rate 5 in
// three waves: a burst of 429s with a Retry-After pause, 5xx answers retried with backoff, a
// timeout, refusals, and a third wave that fails and halts the run. With auto it is a run of
// --rate auto instead: no fixed limit, and a pace that ramps up, backs off and holds.
func syntheticTimeline(start time.Time, auto bool) bulk.Timeline {
	rate := 5.0
	if auto {
		rate = 0
	}
	rec := newTestRecorder(start, rate)
	rnd := rand.New(rand.NewPCG(7, 21))
	at := func(d time.Duration) time.Time { return start.Add(d) }
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	// Planning reads first.
	rec.Observe(api.Attempt{Start: at(0), Latency: 180 * time.Millisecond, Method: "GET", Status: 200, N: 1})
	rec.Observe(api.Attempt{Start: at(sec(0.2)), Latency: 150 * time.Millisecond, Method: "GET", Status: 200, N: 1})
	waves := []struct{ from, to float64 }{{0.5, 6}, {8, 40}, {42, 88}}
	n := []int{1, 10, 30}
	for i, w := range waves {
		rec.StartWave(at(sec(w.from)), i+1, n[i])
		for t := w.from + 0.2; t < w.to-1; t += 0.2 {
			lat := time.Duration(60+rnd.IntN(80)) * time.Millisecond
			a := api.Attempt{Start: at(sec(t)), Latency: lat, Method: "PATCH", Status: 200, N: 1}
			switch {
			case t > 20 && t < 23 && rnd.IntN(2) == 0:
				a.Status, a.Retry, a.RetryAfter = 429, true, 4*time.Second
			case t > 30 && t < 34 && rnd.IntN(3) == 0:
				a.Status, a.Retry, a.Wait = 503, true, 400*time.Millisecond
			case t > 50 && t < 50.2:
				a.Status, a.Failure, a.Latency, a.Retry = 0, api.FailureTimeout, 10*time.Second, true
			case t > 60 && t < 75 && rnd.IntN(5) == 0:
				a.Status = 422
			case t > 75 && rnd.IntN(4) == 0:
				a.Status, a.Retry, a.Wait = 502, true, 800*time.Millisecond
			}
			if (t > 23 && t < 26) || (t > 34 && t < 36) || t > 76 {
				a.N = 2 // the retries of the failures above
			}
			if t > 23 && t < 25 {
				continue // everyone waits out the Retry-After
			}
			rec.Observe(a)
		}
		failed := map[int]int{2: 4}[i]
		rec.EndWave(at(sec(w.to)), i+1, failed, i == 2)
	}
	if auto {
		for i, r := range []float64{2, 4, 8, 16, 11, 12, 12.5, 12} {
			rec.Pace(at(sec(float64(i)*9)), r)
		}
	}
	// The read-back.
	rec.Observe(api.Attempt{Start: at(sec(88.5)), Latency: 210 * time.Millisecond, Method: "GET", Status: 200, N: 1})
	return rec.Timeline(at(sec(90)))
}

// fixtureWithTimelines is the fixture run with the synthetic timelines of a first run and a resume.
func fixtureWithTimelines() Run {
	r := fixtureRun()
	r.Timelines = []bulk.Timeline{
		syntheticTimeline(r.Started, false),
		syntheticTimeline(r.Started.Add(time.Hour), true),
	}
	return r
}

func TestHTMLGolden(t *testing.T) {
	for name, r := range map[string]Run{"report.html": fixtureWithTimelines(), "report-no-timeline.html": fixtureRun()} {
		t.Run(name, func(t *testing.T) {
			got := render(t, func(w io.Writer) error { return HTML(w, NewResults(r)) })
			testkit.Golden(t, filepath.Join("testdata", name), []byte(got))
			if again := render(t, func(w io.Writer) error { return HTML(w, NewResults(r)) }); again != got {
				t.Fatal("two renderings differ")
			}
		})
	}
}

// countsOf reads the counts the page shows: the header's cards (data-count), the input rows
// line (data-row-count), and the table's rows by status.
func countsOf(t *testing.T, page string) (cards, rows, table map[string]int) {
	t.Helper()
	cards, rows, table = map[string]int{}, map[string]int{}, map[string]int{}
	for _, m := range regexp.MustCompile(`data-count="([a-z-]+)">(\d+)<`).FindAllStringSubmatch(page, -1) {
		cards[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, m := range regexp.MustCompile(`data-row-count="([a-z-]+)">(\d+)<`).FindAllStringSubmatch(page, -1) {
		rows[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, m := range regexp.MustCompile(`<tr class="[a-z-]+" data-status="([a-z-]+)">`).FindAllStringSubmatch(page, -1) {
		table[m[1]]++
		table["total"]++
	}
	return cards, rows, table
}

// tallyMap is results.json's totals as the page names them.
func tallyMap(raw json.RawMessage) map[string]int {
	var m map[string]int
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err)
	}
	return m
}

// TestHTMLCountsMatchResults: the header, the rows line and the table count exactly what
// results.json totals, for the fixture (failures, not attempted, unchanged) and a big run.
func TestHTMLCountsMatchResults(t *testing.T) {
	for name, r := range map[string]Run{"fixture": fixtureWithTimelines(), "big": bigRun(bigPlan(1000, 3))} {
		t.Run(name, func(t *testing.T) {
			var res struct {
				Totals struct{ Integrations, Rows json.RawMessage } `json:"totals"`
			}
			if err := json.Unmarshal([]byte(render(t, func(w io.Writer) error { return ResultsJSON(w, NewResults(r)) })), &res); err != nil {
				t.Fatal(err)
			}
			wantInts, wantRows := tallyMap(res.Totals.Integrations), tallyMap(res.Totals.Rows)
			cards, rows, table := countsOf(t, render(t, func(w io.Writer) error { return HTML(w, NewResults(r)) }))
			for _, st := range []string{"total", "applied", "unchanged", "failed", "not-attempted"} {
				if cards[st] != wantInts[st] || table[st] != wantInts[st] {
					t.Errorf("%s: header %d, table %d; results.json %d", st, cards[st], table[st], wantInts[st])
				}
				if rows[st] != wantRows[st] {
					t.Errorf("%s rows: page %d, results.json %d", st, rows[st], wantRows[st])
				}
			}
			if len(cards) != 5 || len(rows) != 5 {
				t.Errorf("page shows counts %v and %v, want the five of results.json", cards, rows)
			}
		})
	}
}

// TestHTMLSelfContained: the page refers to nothing outside itself, and its policy allows its
// own style and script, byte for byte, and nothing else. (The browser test proves it loads
// with no request and no console error.)
func TestHTMLSelfContained(t *testing.T) {
	page := render(t, func(w io.Writer) error { return HTML(w, NewResults(fixtureWithTimelines())) })
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)\s(src|href|srcset|action|poster|background|formaction|xlink:href)\s*=`),
		regexp.MustCompile(`(?i)url\s*\(`), regexp.MustCompile(`(?i)@import`), regexp.MustCompile(`(?i)<(link|img|iframe|object|embed|base|form)\b`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("page has %q: it must load nothing", m)
		}
	}
	if !strings.Contains(page, "<style>"+pageCSS+"</style>") || !strings.Contains(page, "<script>"+pageJS+"</script>") {
		t.Error("the style or script was changed on the way into the page: the policy's hashes would not match")
	}
	if strings.Count(page, "<script") != 1 || strings.Count(page, "<style") != 1 {
		t.Error("more than one script or style element")
	}
	if !strings.Contains(page, `content="default-src &#39;none&#39;; style-src &#39;sha256-`) {
		t.Errorf("no Content-Security-Policy that defaults to none")
	}
	if lines := strings.Count(pageJS, "\n") + 1; lines > 6 {
		t.Errorf("the script has %d lines: the issue allows a few", lines)
	}
}

// TestHTMLNoSecrets: hostile text in names, errors, values and warnings is escaped, and no
// secret reaches the page even when the planner leaked one into a display value.
func TestHTMLNoSecrets(t *testing.T) {
	r := fixtureWithTimelines()
	r.Plan = leaky(r.Plan)
	for i := range r.Results {
		for _, tg := range r.Plan.Targets {
			if tg.ID == r.Results[i].ID {
				for j := range r.Results[i].Options {
					r.Results[i].Options[j].Change = tg.Changes[j]
				}
			}
		}
	}
	r.Results[2].Error = `<script>alert(1)</script><img src=x onerror=alert(2)> ` + secretEnv
	r.Results[2].Name = `</td><b onclick="x()">`
	r.Flags["note"] = "token " + secretLiteral
	page := render(t, func(w io.Writer) error { return HTML(w, NewResults(r)) })
	if strings.Contains(page, secretMark) {
		i := strings.Index(page, secretMark)
		t.Errorf("report.html leaks a secret: …%s…", page[max(0, i-80):min(len(page), i+40)])
	}
	for _, bad := range []string{"<script>alert", "<img", `<b onclick`} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html holds %q unescaped", bad)
		}
	}
}

// denseTimeline is the largest timeline an apply.Timeline keeps: every bucket used, every series
// at its bound.
func denseTimeline(start time.Time) bulk.Timeline {
	tl := bulk.Timeline{Start: start, End: start.Add(4096 * 80 * time.Millisecond), Width: 80 * time.Millisecond}
	for i := range 4096 {
		d := time.Duration(i) * tl.Width
		tl.Buckets = append(tl.Buckets, bulk.Bucket{At: d, OK: 3, ClientError: 1, Throttled: 1, ServerError: 1, NoAnswer: 1, Retries: 2,
			LatencyMin: time.Millisecond, LatencyMax: time.Duration(i) * time.Millisecond, LatencySum: 7 * time.Duration(i) * time.Millisecond})
		if i%4 == 0 {
			tl.Pauses = append(tl.Pauses, bulk.Span{From: d, To: d + 20*time.Millisecond})
			tl.Pace = append(tl.Pace, bulk.PaceSample{At: d, Rate: float64(i % 13)})
		}
		tl.Waves = append(tl.Waves, bulk.Wave{Index: i + 1, Last: i + 1, From: d, To: d + tl.Width, Integrations: 1, Failed: i % 2, Halted: i == 4095})
	}
	return tl
}

// TestHTMLSize: 1,000 integrations fit in 1.5 MB (SPEC.md section 4): a typical rollout with
// every option listed, and a worst case of ten options each, long hostile errors and ten runs
// of the densest timeline an apply.Timeline keeps, which the page then shows less of per row.
func TestHTMLSize(t *testing.T) {
	const limit = 1_500_000
	typical := bigRun(bigPlan(1000, 2))
	typical.Timelines = []bulk.Timeline{syntheticTimeline(typical.Started, false)}
	worst := bigRun(bigPlan(1000, 10))
	for i := range worst.Results {
		worst.Results[i].Error = strings.Repeat("refused <&> \u202e "+strconv.Itoa(i)+" ", 60)
		for j := range worst.Results[i].Options {
			worst.Results[i].Options[j].Error = strings.Repeat("option refused ", 40)
		}
	}
	for range maxRuns + 2 {
		worst.Timelines = append(worst.Timelines, denseTimeline(worst.Started))
	}
	for name, r := range map[string]Run{"typical": typical, "worst": worst} {
		t.Run(name, func(t *testing.T) {
			page := render(t, func(w io.Writer) error { return HTML(w, NewResults(r)) })
			t.Logf("%s: %d integrations, %d bytes", name, len(r.Results), len(page))
			if len(page) > limit {
				t.Errorf("report.html is %d bytes for 1,000 integrations, over %d", len(page), limit)
			}
			_, _, table := countsOf(t, page)
			if table["total"] != 1000 {
				t.Errorf("the table has %d rows, want all 1000", table["total"])
			}
			if name == "typical" && strings.Contains(page, "more changed (see results.csv)") {
				t.Error("a typical rollout's page does not list every changed option")
			}
		})
	}
}

// TestTimelineSeries: each series is drawn when the data has it, and only then.
func TestTimelineSeries(t *testing.T) {
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	fixed, auto := syntheticTimeline(start, false), syntheticTimeline(start, true)
	quiet := bulk.Timeline{Start: start, End: start.Add(20 * time.Second), Width: 10 * time.Millisecond, Rate: 5,
		Buckets: []bulk.Bucket{{At: time.Second, OK: 1, LatencyMin: 40 * time.Millisecond, LatencyMax: 40 * time.Millisecond, LatencySum: 40 * time.Millisecond}}}
	spike := quiet
	spike.Buckets = append(slicesClone(quiet.Buckets), bulk.Bucket{At: 5 * time.Second, NoAnswer: 1, LatencyMin: 30 * time.Second, LatencyMax: 30 * time.Second, LatencySum: 30 * time.Second})
	empty := bulk.Timeline{Start: start, End: start}
	cases := []struct {
		name      string
		tl        bulk.Timeline
		has, lack []string
	}{
		{"fixed rate with waves", fixed,
			[]string{`class="wave"`, `class="wave bad"`, `class="wline"`, `class="pause"`, `class="limit"`, `--rate 5/s`, `class="th"`, `class="se"`, `class="na"`, `class="ce"`, `class="rt"`, `class="mean"`, `class="band"`, "the run stopped here", "paused by Retry-After"},
			[]string{`class="pace"`, "no retries"}},
		{"rate auto", auto, []string{`class="pace"`, `class="wave bad"`}, []string{`class="limit"`}},
		{"quiet", quiet, []string{"no retries", `class="limit"`, `class="ok"`}, []string{`class="wave`, `class="pause"`, `class="pace"`, "log scale", `class="rt"`}},
		{"timeout spike", spike, []string{"log scale", `class="na"`}, nil},
		{"no requests", empty, []string{"no requests were sent", "no retries"}, []string{`class="band"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := drawTimeline(tc.tl, "x")
			for _, s := range tc.has {
				if !strings.Contains(string(c.SVG), s) {
					t.Errorf("chart lacks %s", s)
				}
			}
			for _, s := range tc.lack {
				if strings.Contains(string(c.SVG), s) {
					t.Errorf("chart has %s", s)
				}
			}
			if strings.Contains(string(c.SVG), "NaN") || strings.Contains(string(c.SVG), "Inf") {
				t.Error("chart has a NaN or Inf coordinate")
			}
		})
	}
	// The pace line steps through every sample.
	c := drawTimeline(auto, "x")
	if m := regexp.MustCompile(`class="pace" d="([^"]+)"`).FindStringSubmatch(string(c.SVG)); m == nil || strings.Count(m[1], "V")+1 != len(auto.Pace) {
		t.Errorf("pace path %q does not step through %d samples", m, len(auto.Pace))
	}
	// Bars of the requests panel add up to every attempt: the tooltips count them.
	total := 0
	for _, b := range fixed.Buckets {
		total += b.Attempts()
	}
	shown := 0
	for _, m := range regexp.MustCompile(`(\d+) (?:2xx|4xx|429|5xx|no answer)[,;]`).FindAllStringSubmatch(c2(fixed), -1) {
		k, _ := strconv.Atoi(m[1])
		shown += k
	}
	if shown != total {
		t.Errorf("the bars' tooltips count %d attempts, the timeline %d", shown, total)
	}
}

func c2(tl bulk.Timeline) string { return string(drawTimeline(tl, "y").SVG) }

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// TestTimelineJSONRoundTrip: timeline.json gives back what was written, and keeps at most the
// last maxRuns runs, counting the ones it drops.
func TestTimelineJSONRoundTrip(t *testing.T) {
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	runs := []bulk.Timeline{syntheticTimeline(start, false), syntheticTimeline(start.Add(time.Hour), true)}
	var b bytes.Buffer
	if err := TimelineJSON(&b, runs, 0); err != nil {
		t.Fatal(err)
	}
	got, dropped, err := ReadTimeline(&b)
	if err != nil || dropped != 0 {
		t.Fatal(err, dropped)
	}
	// The file keeps offsets to the microsecond: what it gives back writes the same file.
	var again bytes.Buffer
	if err := TimelineJSON(&again, got, 0); err != nil {
		t.Fatal(err)
	}
	first := render(t, func(w io.Writer) error { return TimelineJSON(w, runs, 0) })
	if again.String() != first {
		t.Error("timeline.json read back does not write the same file")
	}
	if len(got) != 2 || len(got[0].Buckets) != len(runs[0].Buckets) || len(got[1].Pace) != len(runs[1].Pace) ||
		len(got[0].Waves) != 3 || got[0].Waves[2] != runs[0].Waves[2] || len(got[0].Pauses) != len(runs[0].Pauses) {
		t.Errorf("round trip lost entries: %+v", got)
	}
	many := make([]bulk.Timeline, maxRuns+3)
	for i := range many {
		many[i] = bulk.Timeline{Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i)*time.Hour + time.Minute), Width: 10 * time.Millisecond}
	}
	b.Reset()
	if err := TimelineJSON(&b, many, 2); err != nil {
		t.Fatal(err)
	}
	got, dropped, err = ReadTimeline(&b)
	if err != nil || len(got) != maxRuns || dropped != 5 || !got[0].Start.Equal(many[3].Start) {
		t.Errorf("kept %d runs from %v, dropped %d (err %v); want the last %d and 5 dropped", len(got), got[0].Start, dropped, err, maxRuns)
	}
	run := func(fields string) string {
		return `{"format":1,"kind":"polarity-bulk timeline","runs":[{"start":"2025-03-01T09:00:00Z","end":"2025-03-01T09:01:00Z",` + fields + `}]}`
	}
	if _, _, err := ReadTimeline(strings.NewReader(run(`"bucket_ms":15.625,"buckets":[{"t_ms":0,"ok":1,"latency_min_ms":1,"latency_max_ms":1,"latency_sum_ms":1}]`))); err != nil {
		t.Errorf("a good run is refused: %v", err)
	}
	// A file edited by hand must not make the chart index before its start or allocate
	// without end: such numbers are refused.
	for _, bad := range []string{`{"format":1,"kind":"polarity-bulk results"}`, `{"format":9,"kind":"polarity-bulk timeline"}`, `[1]`, `{"format":1,"kind":"polarity-bulk timeline"} x`,
		run(`"bucket_ms":0`), run(`"bucket_ms":-5`), run(`"bucket_ms":15.625,"buckets":[{"t_ms":-100}]`),
		run(`"bucket_ms":15.625,"buckets":[{"t_ms":1e18}]`), run(`"bucket_ms":15.625,"buckets":[{"t_ms":0,"ok":-1}]`),
		run(`"bucket_ms":15.625,"retry_after_pauses":[{"from_ms":10,"to_ms":5}]`), run(`"bucket_ms":15.625,"waves":[{"wave":0}]`),
		run(`"bucket_ms":15.625,"pace":[{"t_ms":-1,"rate":2}]`),
		`{"format":1,"kind":"polarity-bulk timeline","runs":[{"start":"2025-03-01T09:01:00Z","end":"2025-03-01T09:00:00Z","bucket_ms":15.625}]}`,
		`{"format":1,"kind":"polarity-bulk timeline","runs":[{"end":"2025-03-01T09:00:00Z","bucket_ms":15.625}]}`, // found by FuzzTimeline: a span of 292 years
		`{"format":1,"kind":"polarity-bulk timeline","runs":[{"start":"2023-03-01T09:00:00Z","end":"2025-03-01T09:00:00Z","bucket_ms":15.625}]}`,
	} {
		if _, _, err := ReadTimeline(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadTimeline(%s) succeeded", bad)
		}
	}
}

// TestRewriteHTML: show --html redraws report.html from the report directory, byte for byte
// as apply wrote it; without a readable timeline.json it draws the rest and says why.
func TestRewriteHTML(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDir(dir, NewResults(fixtureWithTimelines()), false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, HTMLFile)
	written, _ := os.ReadFile(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if note, err := RewriteHTML(dir); err != nil || note != "" {
		t.Fatalf("RewriteHTML: %q, %v", note, err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, written) {
		t.Error("the rewritten report.html differs from the one apply wrote")
	}

	for name, content := range map[string]string{"absent": "", "corrupt": `{"format":1,"kind":"polarity-bulk timeline","runs":[{"start":"yesterday"}]}`} {
		tl := filepath.Join(dir, TimelineFile)
		if content == "" {
			_ = os.Remove(tl)
		} else if err := os.WriteFile(tl, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		note, err := RewriteHTML(dir)
		if err != nil {
			t.Fatalf("%s timeline: %v", name, err)
		}
		page, _ := os.ReadFile(path)
		if strings.Contains(string(page), "<svg") {
			t.Errorf("%s timeline: a chart was drawn", name)
		}
		want := "No timeline was recorded"
		if name == "corrupt" {
			want = "No timeline is drawn: timeline.json could not be read"
			if !strings.Contains(note, "timeline.json could not be read") {
				t.Errorf("note %q", note)
			}
		}
		if !strings.Contains(string(page), want) {
			t.Errorf("%s timeline: the page does not say %q", name, want)
		}
		if cards, _, _ := countsOf(t, string(page)); cards["failed"] != 2 {
			t.Errorf("%s timeline: counts %v", name, cards)
		}
	}

	// Not a report directory, or results.json of the wrong kind: an error, nothing written.
	empty := t.TempDir()
	if _, err := RewriteHTML(empty); err == nil {
		t.Error("RewriteHTML of an empty directory succeeded")
	}
	var plan bytes.Buffer
	if err := PlanJSON(&plan, NewPlanFile(planMeta(), fixturePlan())); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, ResultsJSONFile), plan.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := RewriteHTML(empty); err == nil || !strings.Contains(err.Error(), "not a results file") {
		t.Errorf("RewriteHTML over a plan.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(empty, HTMLFile)); err == nil {
		t.Error("report.html was written from a bad results.json")
	}
}

// FuzzTimeline: whatever a timeline.json holds, reading it either fails or gives timelines
// the chart draws without a panic or a NaN, in bounded size.
func FuzzTimeline(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, and a big one takes it minutes.
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	small := bulk.Timeline{Start: start, End: start.Add(3 * time.Second), Width: time.Second / 64, Rate: 5,
		Buckets: []bulk.Bucket{
			{At: 0, OK: 2, LatencyMin: time.Millisecond, LatencyMax: 3 * time.Millisecond, LatencySum: 4 * time.Millisecond},
			{At: time.Second, Throttled: 1, Retries: 1, LatencyMin: time.Millisecond, LatencyMax: time.Millisecond, LatencySum: time.Millisecond},
		},
		Pauses: []bulk.Span{{From: time.Second, To: 2 * time.Second}},
		Waves:  []bulk.Wave{{Index: 1, Last: 1, To: time.Second, Integrations: 1}, {Index: 2, Last: 3, From: time.Second, To: 3 * time.Second, Integrations: 4, Failed: 1, Halted: true}},
		Pace:   []bulk.PaceSample{{At: 0, Rate: 2}, {At: time.Second, Rate: 4}},
	}
	var b bytes.Buffer
	if err := TimelineJSON(&b, []bulk.Timeline{small}, 1); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"format":1,"kind":"polarity-bulk timeline","runs":[{"start":"2025-03-01T09:00:00Z","end":"2025-03-01T09:00:00Z","bucket_ms":0.001,"buckets":[{"t_ms":31536000000}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		runs, _, err := ReadTimeline(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, tl := range runs {
			svg := string(drawTimeline(tl, "f").SVG)
			if strings.Contains(svg, "NaN") || len(svg) > 2<<20 {
				t.Fatalf("chart of %d bytes, NaN %v", len(svg), strings.Contains(svg, "NaN"))
			}
		}
	})
}
