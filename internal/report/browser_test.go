package report

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// browser finds a Chromium to load report.html in: Debian's chromium (what .ci/run installs)
// or chromium-headless-shell, or $POLARITY_BULK_CHROMIUM.
func browser() string {
	for _, name := range []string{os.Getenv("POLARITY_BULK_CHROMIUM"), "chromium", "chromium-headless-shell", "chromium-browser", "headless-shell", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserEvents is what the page did that it must not: every request, console message of
// warning or error level, uncaught exception and log entry of warning or error level.
type browserEvents struct {
	mu       sync.Mutex
	requests []string
	ids      []network.RequestID
	blocked  map[network.RequestID]network.BlockedReason
	problems []string
}

func (b *browserEvents) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, e.Request.URL)
		b.ids = append(b.ids, e.RequestID)
	case *network.EventLoadingFailed:
		if b.blocked == nil {
			b.blocked = map[network.RequestID]network.BlockedReason{}
		}
		b.blocked[e.RequestID] = e.BlockedReason
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+e.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			b.problems = append(b.problems, fmt.Sprintf("log %s (%s): %s", e.Entry.Level, e.Entry.Source, e.Entry.Text))
		}
	}
}

// TestHTMLInChromium loads report.html from a file:// URL in headless Chromium, for the
// fixture (failures, retries, Retry-After pauses, waves, a --rate auto resume) and for 1,000
// integrations. The page must make no request but its own, log no console error or warning,
// throw nothing and break no rule of its Content-Security-Policy; its counts must be
// results.json's; its filter and sort must work; it must print. With
// $POLARITY_BULK_SCREENSHOTS set to a directory, it saves a full-page screenshot and the PDF
// of each page there, to look at.
func TestHTMLInChromium(t *testing.T) {
	exe := browser()
	if exe == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found, and CI must run this test: .ci/run installs Debian's chromium package")
		}
		t.Skip("no Chromium found (apt-get install chromium, or set POLARITY_BULK_CHROMIUM): report.html is not loaded in a browser")
	}
	shots := os.Getenv("POLARITY_BULK_SCREENSHOTS")
	big := bigRun(bigPlan(1000, 2))
	big.Timelines = []bulk.Timeline{syntheticTimeline(big.Started, false)}
	pages := []struct {
		name string
		run  Run
	}{{"fixture", fixtureWithTimelines()}, {"big", big}}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()

	for _, pg := range pages {
		t.Run(pg.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteDir(dir, NewResults(pg.run), false); err != nil {
				t.Fatal(err)
			}
			url := "file://" + filepath.ToSlash(filepath.Join(dir, HTMLFile))
			bctx, cancelTab := chromedp.NewContext(actx)
			defer cancelTab()
			var ev browserEvents
			if err := chromedp.Listen(bctx, ev.listen); err != nil {
				t.Fatalf("start %s: %v", exe, err)
			}
			// A script the browser runs before the page's own (DevTools scripts are not
			// subject to the page's policy) records every policy violation.
			if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `window.__csp=[];document.addEventListener("securitypolicyviolation",e=>window.__csp.push(e.violatedDirective+" "+e.blockedURI));`,
			}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("#rows"))); err != nil {
				t.Fatal(err)
			}

			// The counts the page shows are results.json's.
			var res struct {
				Totals struct{ Integrations, Rows map[string]int } `json:"totals"`
			}
			data, err := os.ReadFile(filepath.Join(dir, ResultsJSONFile))
			if err != nil || json.Unmarshal(data, &res) != nil {
				t.Fatalf("results.json: %v", err)
			}
			shown, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]int](`(() => {
				const m = {};
				for (const e of document.querySelectorAll("[data-count]")) m["card:" + e.dataset.count] = +e.textContent;
				for (const e of document.querySelectorAll("[data-row-count]")) m["rows:" + e.dataset.rowCount] = +e.textContent;
				for (const r of document.getElementById("rows").rows) { m["table:" + r.dataset.status] = (m["table:" + r.dataset.status] || 0) + 1; m["table:total"] = (m["table:total"] || 0) + 1 }
				m.svg = document.querySelectorAll("svg.tl").length;
				return m })()`))
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range []string{"total", "applied", "unchanged", "failed", "not-attempted"} {
				want := res.Totals.Integrations[st]
				if shown["card:"+st] != want || shown["table:"+st] != want || shown["rows:"+st] != res.Totals.Rows[st] {
					t.Errorf("%s: page shows %d (table %d, rows %d); results.json %d (rows %d)",
						st, shown["card:"+st], shown["table:"+st], shown["rows:"+st], want, res.Totals.Rows[st])
				}
			}
			if shown["svg"] != len(pg.run.Timelines) {
				t.Errorf("%d timeline charts drawn, want %d", shown["svg"], len(pg.run.Timelines))
			}

			// The script: untick "applied", filter by text, sort by outcome.
			visible := func() (int, string) {
				t.Helper()
				v, err := chromedp.Run(bctx, chromedp.Evaluate[[]any](`[[...document.getElementById("rows").rows].filter(r => !r.hidden).length, document.getElementById("shown").textContent]`))
				if err != nil {
					t.Fatal(err)
				}
				return int(v[0].(float64)), v[1].(string)
			}
			total, applied := res.Totals.Integrations["total"], res.Totals.Integrations["applied"]
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#filter input[value="applied"]`))); err != nil {
				t.Fatal(err)
			}
			if n, label := visible(); n != total-applied || label != fmt.Sprint(total-applied) {
				t.Errorf("without applied: %d rows shown (says %q), want %d", n, label, total-applied)
			}
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#filter input[value="applied"]`))); err != nil {
				t.Fatal(err)
			}
			lastFailed := "" // an id no other row's text contains
			for _, in := range pg.run.results() {
				if in.Status == bulk.StatusFailed {
					lastFailed = in.ID
				}
			}
			if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#q"), lastFailed)); err != nil {
				t.Fatal(err)
			}
			if n, _ := visible(); n != 1 {
				t.Errorf("filtering by %s shows %d rows, want 1", lastFailed, n)
			}
			if err := chromedp.Do(bctx,
				chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById("q"); e.value = ""; e.dispatchEvent(new Event("input")) })()`),
				chromedp.Click(chromedp.CSS(`th:nth-child(3)`))); err != nil {
				t.Fatal(err)
			}
			if n, _ := visible(); n != total {
				t.Errorf("with the filter emptied, %d rows shown, want %d", n, total)
			}
			if first, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("rows").rows[0].dataset.status`)); err != nil || first != "failed" {
				t.Errorf("sorted by outcome, the first row is %q (%v), want a failed one", first, err)
			}
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`th:nth-child(1)`))); err != nil { // back to plan order
				t.Fatal(err)
			}

			// Printing: the fixture's page (the big one prints 1,000 rows, too slow to do every time).
			var pdf []byte
			if pg.name == "fixture" || shots != "" {
				pdf, err = chromedp.Run(bctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
				if err != nil || len(pdf) < 1000 {
					t.Errorf("printing: %d bytes, %v", len(pdf), err)
				}
			}
			if shots != "" {
				png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				for name, b := range map[string][]byte{pg.name + ".png": png, pg.name + ".pdf": pdf} {
					if err := os.WriteFile(filepath.Join(shots, name), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}

			csp, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.__csp`))
			if err != nil {
				t.Fatal(err)
			}
			// A canary proves the listener hears the console: an error the test logs itself
			// must arrive, and then be the only one.
			const canary = "polarity-bulk-browser-test-canary"
			if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`console.error("`+canary+`")`)); err != nil {
				t.Fatal(err)
			}
			heard := false
			for deadline := time.Now().Add(10 * time.Second); !heard && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				ev.mu.Lock()
				for i, p := range ev.problems {
					if strings.Contains(p, canary) {
						ev.problems = append(ev.problems[:i], ev.problems[i+1:]...)
						heard = true
						break
					}
				}
				ev.mu.Unlock()
			}
			if !heard {
				t.Error("the console listener did not hear the test's own console.error: it proves nothing")
			}
			ev.mu.Lock()
			defer ev.mu.Unlock()
			for _, r := range ev.requests {
				if r != url {
					t.Errorf("the page requested %s", r)
				}
			}
			if len(ev.requests) == 0 {
				t.Error("no request seen at all, not even the page's own: the listener saw nothing")
			}
			for _, p := range ev.problems {
				t.Errorf("the browser reported %s", p)
			}
			for _, v := range csp {
				t.Errorf("Content-Security-Policy violation: %s", v)
			}
			t.Logf("%s: %d bytes; requests %v; %d console problems; %d policy violations; PDF %d bytes",
				pg.name, fileSize(t, filepath.Join(dir, HTMLFile)), ev.requests, len(ev.problems), len(csp), len(pdf))
			if pg.name != "fixture" {
				return
			}
			// The policy itself: an image slipped into the page (were some text ever to carry
			// one) is refused before it leaves (DevTools announces it, then reports it blocked).
			nreq := len(ev.requests)
			ev.mu.Unlock()
			if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`(() => { const i = document.createElement("img"); i.src = "http://127.0.0.1:9/leak.png"; document.body.append(i) })()`)); err != nil {
				t.Fatal(err)
			}
			var blocked []string
			for deadline := time.Now().Add(10 * time.Second); len(blocked) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if blocked, err = chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.__csp`)); err != nil {
					t.Fatal(err)
				}
			}
			var reason network.BlockedReason
			for deadline := time.Now().Add(10 * time.Second); reason == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				ev.mu.Lock()
				if len(ev.ids) == nreq+1 {
					reason = ev.blocked[ev.ids[nreq]]
				}
				ev.mu.Unlock()
			}
			ev.mu.Lock()
			if len(blocked) != 1 || !strings.HasPrefix(blocked[0], "img-src") || reason != network.BlockedReasonCsp {
				t.Errorf("an injected image: violations %v, requests %v, blocked %q; want it refused by img-src before it left", blocked, ev.requests[nreq:], reason)
			}
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
