package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// HTML writes report.html: one self-contained page for people (SPEC.md section 4). It is
// rendered from results.json's content and timeline.json's, so show --html redraws the same
// page from the files, and it holds nothing those files do not: no secret ever reaches it.
//
// The page makes no network request: its style and its one short script are inline, allowed
// by a Content-Security-Policy that names their hashes and allows nothing else (no image, no
// font, no connection), so not even text that slipped through could load anything. Charts are
// inline SVG drawn here. Printing shows every row and hides the filter controls.
func HTML(w io.Writer, v *Results) error {
	tf := newTimelineFile(v.timelines, v.timelinesDropped)
	return renderHTML(w, v, tf.timelines(), tf.Dropped, "")
}

// htmlLimits cut what the table shows of each integration (results.json has it whole), so
// that the page stays small: SPEC.md allows 1.5 MB for 1,000 integrations. The page is drawn
// with the first level that fits the budget; a typical rollout fits the first.
type htmlLimits struct {
	options, value, errText int // options listed per integration; runes of a value, an error
}

var htmlLevels = []htmlLimits{{math.MaxInt, 80, 400}, {4, 48, 240}, {2, 32, 160}, {0, 0, 120}}

// htmlBudget is the page size allowed per 1,000 integrations (at least that much in all),
// with room left under SPEC.md's 1.5 MB.
const htmlBudget = 1_400_000

type htmlPage struct {
	Title, Verdict, VerdictText, Summary string
	CSS                                  template.CSS
	JS                                   template.JS
	CSP                                  string
	F                                    *Results
	Started, Finished, Duration          string
	Counts                               []htmlCount
	RowCounts                            []htmlCount
	Charts                               []htmlChart
	TimelineNote                         string
	Rows                                 []htmlRow
	Flags                                [][2]string
}

type htmlCount struct {
	Status, Label string
	N             int
}

type htmlChart struct {
	Title string
	timelineChart
}

type htmlRow struct {
	N                int
	ID, Name, Status string
	Rank             int // sorts the outcome column: failures first
	HTTP, Attempts   int
	DurationMS       float64
	Duration, Error  string
	Options          []htmlOption
	Unchanged, More  int // options already as asked; changed options not listed
}

type htmlOption struct {
	Key, Lines, Status, Change, Perm, Verified, Error string
}

// statusRank orders outcomes by how much they need a reader's attention.
var statusRank = map[bulk.Status]int{
	bulk.StatusFailed: 0, bulk.StatusNotAttempted: 1, bulk.StatusRolledBack: 2, bulk.StatusApplied: 3, bulk.StatusUnchanged: 4,
}

// renderHTML renders the page from results.json's content and the runs' timelines; note, when
// not empty, says why no timeline is drawn.
func renderHTML(w io.Writer, f *Results, runs []bulk.Timeline, dropped int, note string) error {
	budget := htmlBudget * max(1, len(f.Integrations)/1000)
	charts := drawCharts(runs, dropped)
	var page []byte
	for _, lim := range htmlLevels {
		var err error
		if page, err = renderPage(f, charts, len(runs), dropped, note, lim); err != nil {
			return err
		}
		if len(page) <= budget {
			break
		}
	}
	_, err := w.Write(page)
	return err
}

// drawCharts draws the runs' timelines.
func drawCharts(runs []bulk.Timeline, dropped int) []htmlChart {
	var out []htmlChart
	for i, tl := range runs {
		c := drawTimeline(tl, "tl"+strconv.Itoa(i+1))
		title := "Started " + stamp(tl.Start) + ", " + fmtDuration(tl.End.Sub(tl.Start))
		if len(runs) > 1 || dropped > 0 {
			kind := "run"
			if i+dropped > 0 {
				kind = "--resume"
			}
			title = fmt.Sprintf("Run %d of %d (%s): %s", i+1+dropped, len(runs)+dropped, kind, title)
		}
		out = append(out, htmlChart{Title: title, timelineChart: c})
	}
	return out
}

func renderPage(f *Results, charts []htmlChart, runs, dropped int, note string, lim htmlLimits) ([]byte, error) {
	ints := f.Totals.Integrations
	p := htmlPage{
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS), CSP: pageCSP,
		F:        f,
		Started:  stamp(f.Started),
		Finished: stamp(f.Finished),
		Duration: fmtDuration(time.Duration(f.DurationMS * float64(time.Millisecond))),
	}
	p.Verdict, p.VerdictText, p.Summary = verdict(f.Interrupted, ints)
	p.Title = fmt.Sprintf("%s: polarity-bulk apply on %s, %s", p.VerdictText, f.Server, p.Started)
	p.Counts = counts(ints)
	p.RowCounts = counts(f.Totals.Rows)

	p.Charts = charts
	switch {
	case note != "":
		p.TimelineNote = note
	case runs == 0:
		p.TimelineNote = "No timeline was recorded for this report (it has no timeline.json)."
	case dropped > 0:
		p.TimelineNote = fmt.Sprintf("The timelines of the first %s into this directory are no longer kept.", nOf(dropped, "run", "runs"))
	}

	for i, in := range f.Integrations {
		row := htmlRow{
			N: i + 1, ID: printable(in.ID, 0), Name: printable(in.Name, 0), Status: string(in.Status),
			HTTP: in.HTTPStatus, Attempts: in.Attempts, DurationMS: in.DurationMS,
			Error: printable(in.Error, lim.errText), Rank: 2, // a status not ranked (rolled-back): between
		}
		if rk, ok := statusRank[in.Status]; ok {
			row.Rank = rk
		}
		if in.Attempts > 0 || in.DurationMS > 0 {
			row.Duration = fmtDuration(time.Duration(in.DurationMS * float64(time.Millisecond)))
		}
		for _, o := range in.Options {
			if o.Action != string(bulk.ActionUpdate) {
				row.Unchanged++
				continue
			}
			if len(row.Options) == lim.options {
				row.More++
				continue
			}
			ho := htmlOption{Key: printable(o.Key, 0), Lines: optionLines(o), Status: string(o.Status)}
			if o.ValueChanges {
				ho.Change = printable(o.Before, lim.value) + " → " + printable(o.After, lim.value)
				if o.Sensitive {
					ho.Change = "(sensitive) changes"
				}
			}
			if o.PermissionChanges {
				ho.Perm = o.PermissionBefore + " → " + o.PermissionAfter
			}
			switch o.Verified {
			case bulk.VerifyNone:
			case bulk.VerifyOK:
				ho.Verified = "verified"
			case bulk.VerifyMismatch:
				ho.Verified = "not verified: the server holds something else"
			default:
				ho.Verified = "verified " + string(o.Verified)
			}
			if o.Error != "" && o.Error != in.Error {
				ho.Error = printable(o.Error, lim.errText)
			}
			row.Options = append(row.Options, ho)
		}
		p.Rows = append(p.Rows, row)
	}
	for _, k := range sortedKeys(f.Flags) {
		p.Flags = append(p.Flags, [2]string{k, printable(f.Flags[k], 200)})
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render report.html: %w", err)
	}
	return b.Bytes(), nil
}

// verdict is the page's pass/fail header: its class, its word and its sentence.
func verdict(interrupted bool, ints bulk.Tally) (class, word, summary string) {
	switch {
	case interrupted:
		return "interrupted", "Interrupted",
			fmt.Sprintf("The run was interrupted: %d of %s not attempted.", ints.NotAttempted, nOf(ints.Total, "integration", "integrations"))
	case ints.Failed > 0 || ints.NotAttempted > 0 || ints.RolledBack > 0:
		summary = fmt.Sprintf("%d of %s failed, %d not attempted.", ints.Failed, nOf(ints.Total, "integration", "integrations"), ints.NotAttempted)
		if ints.RolledBack > 0 {
			summary += fmt.Sprintf(" --atomic rolled %s back.", nOf(ints.RolledBack, "integration", "integrations"))
		}
		return "failed", "Failed", summary
	}
	return "passed", "Passed", fmt.Sprintf("All %s applied or already as asked.", nOf(ints.Total, "integration", "integrations"))
}

func counts(t bulk.Tally) []htmlCount {
	c := []htmlCount{
		{"total", "total", t.Total},
		{string(bulk.StatusApplied), "applied", t.Applied},
		{string(bulk.StatusUnchanged), "unchanged", t.Unchanged},
		{string(bulk.StatusFailed), "failed", t.Failed},
		{string(bulk.StatusNotAttempted), "not attempted", t.NotAttempted},
	}
	if t.RolledBack > 0 {
		c = append(c, htmlCount{string(bulk.StatusRolledBack), "rolled back", t.RolledBack})
	}
	return c
}

// optionLines says "line 4" or "lines 4, 9": the option's line, then the lines merged into it.
func optionLines(o ResultOption) string { return linesText(append([]int{o.Line}, o.MergedLines...)) }

// stamp formats a time for the page, in UTC.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// cspHash is the Content-Security-Policy source that allows exactly this inline text.
func cspHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// pageCSP allows the page's own style and script and nothing else.
var pageCSP = "default-src 'none'; style-src " + cspHash(pageCSS) + "; script-src " + cspHash(pageJS) +
	"; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"

// pageJS filters the table by outcome and text and sorts it by a clicked column.
const pageJS = `const tb=document.getElementById("rows"),q=document.getElementById("q"),bx=[...document.querySelectorAll("#filter input")],hs=[...document.querySelectorAll("th[data-k]")];
function show(){const s=q.value.toLowerCase(),on=new Set(bx.filter(b=>b.checked).map(b=>b.value));let k=0;for(const r of tb.rows){r.hidden=!(on.has(r.dataset.status)&&r.textContent.toLowerCase().includes(s));k+=!r.hidden}document.getElementById("shown").textContent=k}
q.addEventListener("input",show);bx.forEach(b=>b.addEventListener("change",show));
hs.forEach(h=>h.addEventListener("click",()=>{const up=h.getAttribute("aria-sort")!=="ascending",i=h.cellIndex,num=h.dataset.k==="n",v=r=>r.cells[i].dataset.v??r.cells[i].textContent;hs.forEach(x=>x.removeAttribute("aria-sort"));h.setAttribute("aria-sort",up?"ascending":"descending");[...tb.rows].sort((a,b)=>(num?v(a)-v(b):v(a).localeCompare(v(b)))*(up?1:-1)).forEach(r=>tb.append(r))}));`

const pageCSS = `:root{--ok:#2f855a;--ce:#6b46c1;--th:#dd6b20;--se:#c53030;--na:#4a5568;--rt:#b7791f;--line:#e2e8f0;--muted:#5a6678}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:20px 24px 40px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1a202c;background:#fff}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:14px;margin:14px 0 4px}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.verdict{display:flex;gap:18px;align-items:center;padding:16px 20px;border-radius:8px;border:1px solid}
.verdict.passed{background:#f0fff4;border-color:#9ae6b4}.verdict.failed{background:#fff5f5;border-color:#feb2b2}.verdict.interrupted{background:#fffaf0;border-color:#fbd38d}
.badge{font-size:22px;font-weight:700;letter-spacing:.04em;text-transform:uppercase;padding:6px 14px;border-radius:6px;color:#fff}
.passed .badge{background:var(--ok)}.failed .badge{background:var(--se)}.interrupted .badge{background:var(--th)}
.meta{color:var(--muted);margin:2px 0 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0 6px}
.card{min-width:120px;padding:8px 14px;border:1px solid var(--line);border-radius:6px;border-left-width:5px}
.card b{display:block;font-size:24px}.card span{color:var(--muted)}
.card.applied{border-left-color:var(--ok)}.card.failed{border-left-color:var(--se)}.card.not-attempted{border-left-color:var(--th)}.card.unchanged{border-left-color:#a0aec0}.card.rolled-back{border-left-color:var(--th)}.card.total{border-left-color:#2b6cb0}
.rows{color:var(--muted);margin:0}.rows b{color:#1a202c}
.warn{background:#fffaf0;border:1px solid #fbd38d;border-radius:6px;padding:8px 14px}.warn li{margin:2px 0}
figure{margin:0 0 18px}figcaption{font-weight:600;margin-bottom:4px}
svg.tl{width:100%;height:auto;display:block;font:11px system-ui,sans-serif}
.tl text{fill:#4a5568}.tl .lbl{fill:#1a202c;font-weight:600;font-size:12px}.tl .note{fill:#4a5568;font-style:italic;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}.tl .wt{fill:#1a202c;font-size:11px}
.tl .ok{fill:var(--ok)}.tl .ce{fill:var(--ce)}.tl .th{fill:var(--th)}.tl .se{fill:var(--se)}.tl .na{fill:var(--na)}.tl .rt{fill:var(--rt)}
.tl .band{fill:#bee3f8}.tl .mean{fill:none;stroke:#2b6cb0;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
.tl .pace{fill:none;stroke:#0b7285;stroke-width:2.2}.tl .limit{stroke:#4a5568;stroke-dasharray:5 4}
.tl .pause{fill:#718096;fill-opacity:.22}.tl .grid{stroke:var(--line)}.tl .axis{stroke:#a0aec0}
.tl .wave{fill:#ebf8ff;stroke:#63b3ed}.tl .wave.warn{fill:#fefcbf;stroke:#d69e2e}.tl .wave.bad{fill:#fed7d7;stroke:#e53e3e}.tl .wline{stroke:#63b3ed;stroke-dasharray:2 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:0;margin:6px 0;color:var(--muted);font-size:12px}
.sw{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.sw.ok{background:var(--ok)}.sw.ce{background:var(--ce)}.sw.th{background:var(--th)}.sw.se{background:var(--se)}.sw.na{background:var(--na)}.sw.rt{background:var(--rt)}
.sw.band{background:#bee3f8}.sw.mean{height:3px;vertical-align:3px;background:#2b6cb0}.sw.pace{height:3px;vertical-align:3px;background:#0b7285}.sw.limit{height:0;vertical-align:4px;border-top:2px dashed #4a5568;border-radius:0}
.sw.pause{background:#718096;opacity:.35}.sw.wave{background:#ebf8ff;border:1px solid #63b3ed}.sw.wave.warn{background:#fefcbf;border-color:#d69e2e}.sw.wave.bad{background:#fed7d7;border-color:#e53e3e}
.stats{color:var(--muted);margin:2px 0;font-size:13px}
.controls{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:8px 0}
.controls input[type=search]{padding:5px 8px;min-width:260px;border:1px solid #cbd5e0;border-radius:4px;font:inherit}
#filter label{white-space:nowrap}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{background:#f7fafc;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);position:sticky;top:0}
th[data-k]{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap;color:#fff;background:#718096}
.st.applied{background:var(--ok)}.st.failed{background:var(--se)}.st.not-attempted{background:var(--th)}.st.unchanged{background:#a0aec0}.st.rolled-back{background:var(--th)}
tr.failed td{background:#fff8f8}
.id{color:var(--muted);word-break:break-all}
.err{color:#9b2c2c;word-break:break-word;max-width:380px}
ul.opts{margin:0;padding-left:16px}ul.opts li{margin:1px 0}.ln,.small{color:var(--muted);font-size:12px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
footer{margin-top:30px;color:var(--muted);font-size:12px}
@media print{
@page{size:A4 landscape;margin:12mm}
body{max-width:none;padding:0;font-size:11px}
.controls{display:none}
tr[hidden]{display:table-row}
th{position:static}
tr,figure,.verdict,.cards{break-inside:avoid}
h2,figcaption{break-after:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.err{max-width:none}
}`

var pageTemplate = template.Must(template.New("report.html").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{{.F.Tool}}">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<header class="verdict {{.Verdict}}">
<div class="badge" id="verdict">{{.VerdictText}}</div>
<div>
<h1>polarity-bulk apply on {{.F.Server}}</h1>
<p class="meta">{{.Summary}} Started {{.Started}}, took {{.Duration}}.</p>
</div>
</header>

<section aria-label="Counts">
<div class="cards">{{range .Counts}}
<div class="card {{.Status}}"><b data-count="{{.Status}}">{{.N}}</b><span>{{if eq .Status "total"}}integrations{{else}}{{.Label}}{{end}}</span></div>{{end}}
</div>
<p class="rows">Input rows:{{range $i, $c := .RowCounts}}{{if $i}},{{end}} <b data-row-count="{{$c.Status}}">{{$c.N}}</b> {{$c.Label}}{{end}}.</p>
</section>
{{with .F.Warnings}}
<h2>Warnings</h2>
<ul class="warn">{{range .}}<li>{{.}}</li>{{end}}</ul>
{{end}}
<h2>Timeline</h2>
{{range .Charts}}<figure>
<figcaption>{{.Title}}</figcaption>
{{.SVG}}
<ul class="legend">{{range .Legend}}<li><span class="sw {{.Class}}"></span>{{.Label}}</li>{{end}}</ul>
<p class="stats">{{range $i, $s := .Stats}}{{if $i}} · {{end}}{{$s}}{{end}}</p>
</figure>
{{end}}{{with .TimelineNote}}<p class="stats">{{.}}</p>{{end}}
<h2>Integrations</h2>
<div class="controls">
<input type="search" id="q" placeholder="Filter by id, name, option or error" aria-label="Filter the table">
<span id="filter">{{range .Counts}}{{if ne .Status "total"}}<label><input type="checkbox" value="{{.Status}}" checked> {{.Label}} ({{.N}})</label> {{end}}{{end}}</span>
<span class="small"><span id="shown">{{len .Rows}}</span> of {{len .Rows}} shown · click a column to sort</span>
</div>
<table>
<thead><tr><th data-k="n">#</th><th data-k="s">Integration</th><th data-k="s">Outcome</th><th data-k="n">HTTP</th><th data-k="n">Attempts</th><th data-k="n">Duration</th><th data-k="s">Error</th><th>Options changed</th></tr></thead>
<tbody id="rows">
{{range .Rows}}<tr class="{{.Status}}" data-status="{{.Status}}"><td class="num">{{.N}}</td><td>{{.Name}}<br><code class="id">{{.ID}}</code></td><td data-v="{{.Rank}}"><span class="st {{.Status}}">{{.Status}}</span></td><td class="num" data-v="{{.HTTP}}">{{if .HTTP}}{{.HTTP}}{{end}}</td><td class="num">{{.Attempts}}</td><td class="num" data-v="{{.DurationMS}}">{{.Duration}}</td><td class="err">{{.Error}}</td><td>{{if .Options}}<ul class="opts">{{range .Options}}<li><code>{{.Key}}</code> <span class="ln">{{.Lines}}</span>{{with .Change}} {{.}}{{end}}{{with .Perm}} <span class="small">permission {{.}}</span>{{end}}{{with .Verified}} <span class="small">({{.}})</span>{{end}}{{with .Error}}<br><span class="err">{{.}}</span>{{end}}</li>{{end}}</ul>{{end}}{{with .More}}<span class="small">and {{.}} more changed (see results.csv)</span><br>{{end}}{{with .Unchanged}}<span class="small">{{.}} already as asked</span>{{end}}</td></tr>
{{end}}</tbody>
</table>

<h2>Run</h2>
<dl class="kv">
<dt>server</dt><dd>{{.F.Server}}</dd>
<dt>input</dt><dd>{{.F.Input.Path}} <span class="small mono">sha256 {{.F.Input.SHA256}}</span></dd>
<dt>started</dt><dd>{{.Started}}</dd>
<dt>finished</dt><dd>{{.Finished}}{{if .F.Interrupted}} (interrupted){{end}}</dd>
<dt>tool</dt><dd>{{.F.Tool}}</dd>
{{range .Flags}}<dt>--{{index . 0}}</dt><dd class="mono">{{index . 1}}</dd>
{{end}}</dl>
<footer>Written by {{.F.Tool}}. Every value shown here is also in results.json and results.csv of this report directory; failed.csv holds the rows to fix and apply again. Secrets are never shown.</footer>
<script>{{.JS}}</script>
</body>
</html>
`))
