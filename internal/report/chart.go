package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The timeline chart's geometry, in SVG user units: the SVG scales to the page's width.
const (
	chartW     = 960
	chartLeft  = 60 // room for the y axis labels
	chartRight = 16
	plotW      = chartW - chartLeft - chartRight
	labelH     = 22 // a panel's title above it
	waveH      = 22
	rateH      = 150
	latencyH   = 110
	retryH     = 46
	axisH      = 20
	// maxBins bounds the bars drawn across the chart, whatever the run's length: the
	// recorded buckets are added up into bins of a power-of-two multiple of their width,
	// so every bin holds whole buckets.
	maxBins = 160
)

// series of the requests panel, bottom to top: CSS class, legend label, count.
var outcomeSeries = []struct {
	class, short, label string
	count               func(bulk.Bucket) int
}{
	{"ok", "2xx", "2xx", func(b bulk.Bucket) int { return b.OK }},
	{"ce", "4xx", "4xx (not 429)", func(b bulk.Bucket) int { return b.ClientError }},
	{"th", "429", "429 too many requests", func(b bulk.Bucket) int { return b.Throttled }},
	{"se", "5xx", "5xx", func(b bulk.Bucket) int { return b.ServerError }},
	{"na", "no answer", "no answer (timeout, network)", func(b bulk.Bucket) int { return b.NoAnswer }},
}

// timelineChart is one run's chart: the SVG, its legend and a line of totals.
type timelineChart struct {
	SVG    template.HTML // markup built here, from numbers and fixed labels (text escaped)
	Legend []legendItem
	Stats  []string
}

type legendItem struct{ Class, Label string }

// chartSpan is how long a timeline's chart runs: to its end, or to the last thing recorded
// when that came later; at least a second.
func chartSpan(tl bulk.Timeline) time.Duration {
	d := tl.End.Sub(tl.Start)
	if n := len(tl.Buckets); n > 0 {
		d = max(d, tl.Buckets[n-1].At+tl.Width)
	}
	for _, p := range tl.Pauses {
		d = max(d, p.To)
	}
	for _, w := range tl.Waves {
		d = max(d, w.To)
	}
	if n := len(tl.Pace); n > 0 {
		d = max(d, tl.Pace[n-1].At)
	}
	return max(d, time.Second)
}

// bins adds the buckets up into at most maxBins bins of equal width, at least least wide.
func bins(tl bulk.Timeline, span, least time.Duration) (time.Duration, []bulk.Bucket) {
	w := tl.Width
	if w <= 0 {
		w = time.Second / 64
	}
	for span/w >= maxBins || w < least {
		w *= 2
	}
	out := make([]bulk.Bucket, int(span/w)+1)
	for _, b := range tl.Buckets {
		i := int(b.At / w)
		if i >= len(out) {
			out = append(out, make([]bulk.Bucket, i+1-len(out))...)
		}
		out[i].Add(b)
	}
	for i := range out {
		out[i].At = time.Duration(i) * w
	}
	return w, out
}

// svgBuilder writes SVG markup.
type svgBuilder struct{ strings.Builder }

func (b *svgBuilder) f(format string, a ...any) { fmt.Fprintf(&b.Builder, format, a...) }

// n formats a coordinate or value compactly: at most one decimal, no trailing zero.
func n(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// niceCeil returns a round number at or above v and the step of about four ticks up to it.
func niceCeil(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.25
	}
	raw := v / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

// drawTimeline renders one run's timeline; id makes the SVG's element ids unique on the page.
//
// Rates (requests and retries per second) are drawn in bins of at least a second, so that
// one request in a 20 ms bin is not drawn as 50 per second, and the time axis runs to the end
// of the last such bin; latency, which means the same at any width, in bins as narrow as the
// recorded buckets and the chart's width allow.
func drawTimeline(tl bulk.Timeline, id string) timelineChart {
	span := chartSpan(tl)
	bw, bs := bins(tl, span, time.Second)
	span = (span + bw - 1) / bw * bw
	lw, ls := bins(tl, span, 0)
	secs := bw.Seconds()
	x := func(d time.Duration) float64 { return chartLeft + float64(d)/float64(span)*plotW }
	barOf := func(w time.Duration) func(time.Duration) (float64, float64) {
		return func(d time.Duration) (float64, float64) {
			x0, x1 := x(d), x(min(d+w, span))
			wd := x1 - x0
			if wd > 3 {
				wd-- // a gap between bars
			}
			return x0, max(wd, 0.8)
		}
	}
	bar, latBar := barOf(bw), barOf(lw)

	var total bulk.Bucket
	for _, b := range bs {
		total.Add(b)
	}
	var c timelineChart
	var s svgBuilder
	y := 4.0

	// Layout first: the panels present and their tops.
	hasWaves := len(tl.Waves) > 0
	var waveTop, rateTop, latTop, retryTop, axisTop float64
	if hasWaves {
		waveTop = y + labelH
		y = waveTop + waveH
	}
	rateTop = y + labelH
	y = rateTop + rateH
	latTop = y + labelH
	y = latTop + latencyH
	retryTop = y + labelH
	y = retryTop + retryH
	axisTop = y
	height := axisTop + axisH

	s.f(`<svg class="tl" viewBox="0 0 %d %s" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg">`, chartW, n(height), id)
	s.f(`<title id="%s-t">Timeline: %d requests over %s</title>`, id, total.Attempts(), fmtDuration(span))

	// Retry-After pauses, behind everything, across the three panels.
	plotTop, plotBottom := rateTop, retryTop+retryH
	for _, p := range displayPauses(tl.Pauses, x) {
		x0, x1 := x(p.From), x(p.To)
		what := "paused by Retry-After for " + fmtDuration(p.paused)
		if p.count > 1 {
			what += fmt.Sprintf(" in %d pauses", p.count)
		}
		s.f(`<rect class="pause" x="%s" y="%s" width="%s" height="%s"><title>%s (%s–%s)</title></rect>`,
			n(x0), n(plotTop), n(max(x1-x0, 1.5)), n(plotBottom-plotTop), what, clock(p.From), clock(p.To))
	}
	// Waves: their boundaries across the three panels, and a strip of their own. Waves too
	// narrow to see apart are drawn as one.
	waves := displayWaves(tl.Waves, x)
	for _, w := range waves {
		s.f(`<line class="wline" x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(x(w.From)), n(x(w.From)), n(plotTop), n(plotBottom))
	}
	if hasWaves {
		panelLabel(&s, waveTop, "Waves")
		for _, w := range waves {
			x0, x1 := x(w.From), x(w.To)
			wd := max(x1-x0, 2)
			class := "wave"
			switch {
			case w.Halted:
				class = "wave bad"
			case w.Failed > 0:
				class = "wave warn"
			}
			name := "wave " + strconv.Itoa(w.Index)
			if w.Last > w.Index {
				name = fmt.Sprintf("waves %d–%d", w.Index, w.Last)
			}
			what := fmt.Sprintf("%s: %s, %d failed, %s", name, nOf(w.Integrations, "integration", "integrations"), w.Failed, fmtDuration(w.To-w.From))
			if w.Halted {
				what += "; the run stopped here"
			}
			s.f(`<rect class="%s" x="%s" y="%s" width="%s" height="%d"><title>%s</title></rect>`, class, n(x0), n(waveTop), n(wd), waveH, html.EscapeString(what))
			label := ""
			switch {
			case wd >= 130:
				label = fmt.Sprintf("%s · %d", name, w.Integrations)
				if w.Failed > 0 {
					label += fmt.Sprintf(" · %d failed", w.Failed)
				}
			case wd >= 56 && w.Last == w.Index || wd >= 90:
				label = name
			case wd >= 16 && w.Last == w.Index:
				label = strconv.Itoa(w.Index)
			}
			if label != "" {
				s.f(`<text class="wt" x="%s" y="%s">%s</text>`, n(x0+4), n(waveTop+15), html.EscapeString(label))
			}
		}
	}

	// Requests per second, stacked by outcome.
	maxRate := 0.0
	for _, b := range bs {
		maxRate = max(maxRate, float64(b.Attempts())/secs)
	}
	for _, p := range tl.Pace {
		maxRate = max(maxRate, p.Rate)
	}
	if tl.Rate > 0 && len(tl.Pace) == 0 {
		maxRate = max(maxRate, tl.Rate)
	}
	rateMax, rateStep := niceCeil(maxRate)
	ry := func(v float64) float64 { return rateTop + rateH - v/rateMax*rateH }
	panelLabel(&s, rateTop, "Requests per second, by outcome")
	yAxis(&s, rateTop, rateH, rateMax, rateStep, ry, func(v float64) string { return n(v) + "/s" })
	for _, b := range bs {
		if b.Attempts() == 0 {
			continue
		}
		x0, w := bar(b.At)
		s.f(`<g><title>%s</title>`, html.EscapeString(binText(b, bw)))
		acc := 0
		for _, ser := range outcomeSeries {
			k := ser.count(b)
			if k == 0 {
				continue
			}
			y0, y1 := ry(float64(acc+k)/secs), ry(float64(acc)/secs)
			s.f(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"/>`, ser.class, n(x0), n(y0), n(w), n(max(y1-y0, 0.6)))
			acc += k
		}
		s.f(`</g>`)
	}
	if tl.Rate > 0 && len(tl.Pace) == 0 {
		ly := ry(tl.Rate)
		s.f(`<line class="limit" x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, n(ly), n(ly))
		s.f(`<text class="note" x="%d" y="%s" text-anchor="end">--rate %s/s</text>`, chartW-chartRight-2, n(ly-4), n(tl.Rate))
	}
	if len(tl.Pace) > 0 {
		var d strings.Builder
		pace := displayPace(tl.Pace, x)
		for i, p := range pace {
			end := span
			if i+1 < len(pace) {
				end = pace[i+1].At
			}
			if i == 0 {
				fmt.Fprintf(&d, "M%s %s", n(x(p.At)), n(ry(p.Rate)))
			} else {
				fmt.Fprintf(&d, "V%s", n(ry(p.Rate)))
			}
			fmt.Fprintf(&d, "H%s", n(x(end)))
		}
		s.f(`<path class="pace" d="%s"><title>pace of --rate auto</title></path>`, d.String())
	}

	// Latency: each bin's range (min to max) and mean.
	var means []float64
	latMax, latMin := 0.0, math.Inf(1)
	for _, b := range ls {
		if b.Attempts() == 0 {
			continue
		}
		means = append(means, ms(b.LatencySum)/float64(b.Attempts()))
		latMax = max(latMax, ms(b.LatencyMax))
		latMin = min(latMin, ms(b.LatencyMin))
	}
	logScale := false
	var ly func(float64) float64
	latLabel := "Latency of each attempt (ms): range and mean"
	if len(means) > 0 {
		slices.Sort(means)
		median := means[(len(means)-1)/2]
		logScale = median > 0 && latMax/median > 25
	}
	if logScale {
		lo := math.Pow(10, math.Floor(math.Log10(max(latMin, 0.1))))
		hi := math.Pow(10, math.Ceil(math.Log10(latMax)))
		if hi <= lo {
			hi = lo * 10
		}
		ly = func(v float64) float64 {
			v = max(v, lo)
			return latTop + latencyH - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*latencyH
		}
		latLabel += " · log scale"
		panelLabel(&s, latTop, latLabel)
		for v := lo; v <= hi*1.0001; v *= 10 {
			gridLine(&s, ly(v), fmtMS(v))
		}
	} else {
		top, step := niceCeil(latMax)
		ly = func(v float64) float64 { return latTop + latencyH - v/top*latencyH }
		panelLabel(&s, latTop, latLabel)
		yAxis(&s, latTop, latencyH, top, step, ly, fmtMS)
	}
	var mean strings.Builder
	run := 0 // bins in the current stretch of the mean line
	for i, b := range ls {
		if b.Attempts() == 0 {
			run = 0
			continue
		}
		x0, w := latBar(b.At)
		y0, y1 := ly(ms(b.LatencyMax)), ly(ms(b.LatencyMin))
		s.f(`<rect class="band" x="%s" y="%s" width="%s" height="%s"/>`, n(x0), n(y0), n(w), n(max(y1-y0, 1)))
		my := ly(ms(b.LatencySum) / float64(b.Attempts()))
		lonely := (i == 0 || ls[i-1].Attempts() == 0) && (i+1 == len(ls) || ls[i+1].Attempts() == 0)
		switch {
		case lonely:
			fmt.Fprintf(&mean, "M%s %sh%s", n(x0), n(my), n(w))
		case run == 0:
			fmt.Fprintf(&mean, "M%s %s", n(x0+w/2), n(my))
		default:
			fmt.Fprintf(&mean, "L%s %s", n(x0+w/2), n(my))
		}
		run++
	}
	if mean.Len() > 0 {
		s.f(`<path class="mean" d="%s"/>`, mean.String())
	}
	if len(means) == 0 {
		s.f(`<text class="note" x="%d" y="%s">no requests were sent</text>`, chartLeft+6, n(latTop+latencyH/2))
	}

	// Retries per second.
	maxRetry := 0.0
	for _, b := range bs {
		maxRetry = max(maxRetry, float64(b.Retries)/secs)
	}
	retryMax, retryStep := niceCeil(maxRetry)
	retryStep = max(retryStep, retryMax/2) // two ticks fit this low panel
	yr := func(v float64) float64 { return retryTop + retryH - v/retryMax*retryH }
	panelLabel(&s, retryTop, "Retries per second · shaded: paused by Retry-After")
	yAxis(&s, retryTop, retryH, retryMax, retryStep, yr, func(v float64) string { return n(v) + "/s" })
	for _, b := range bs {
		if b.Retries == 0 {
			continue
		}
		x0, w := bar(b.At)
		y0 := yr(float64(b.Retries) / secs)
		s.f(`<rect class="rt" x="%s" y="%s" width="%s" height="%s"/>`, n(x0), n(y0), n(w), n(max(retryTop+retryH-y0, 0.6)))
	}
	if total.Retries == 0 {
		s.f(`<text class="note" x="%d" y="%s">no retries</text>`, chartLeft+6, n(retryTop+retryH/2+4))
	}

	// The time axis.
	s.f(`<line class="axis" x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, n(axisTop), n(axisTop))
	step := timeStep(span)
	for t := time.Duration(0); t <= span; t += step {
		tx := x(t)
		s.f(`<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(tx), n(tx), n(axisTop), n(axisTop+4))
		anchor := "middle"
		if t == 0 {
			anchor = "start"
		}
		s.f(`<text x="%s" y="%s" text-anchor="%s">%s</text>`, n(tx), n(axisTop+15), anchor, clock(t))
	}
	s.f(`</svg>`)
	c.SVG = template.HTML(s.String())

	// Legend: only what the chart shows.
	for _, ser := range outcomeSeries {
		if ser.count(total) > 0 {
			c.Legend = append(c.Legend, legendItem{ser.class, ser.label})
		}
	}
	if tl.Rate > 0 && len(tl.Pace) == 0 {
		c.Legend = append(c.Legend, legendItem{"limit", "--rate limit"})
	}
	if len(tl.Pace) > 0 {
		c.Legend = append(c.Legend, legendItem{"pace", "pace of --rate auto"})
	}
	c.Legend = append(c.Legend, legendItem{"band", "latency range"}, legendItem{"mean", "latency mean"})
	if total.Retries > 0 {
		c.Legend = append(c.Legend, legendItem{"rt", "retries"})
	}
	if len(tl.Pauses) > 0 {
		c.Legend = append(c.Legend, legendItem{"pause", "Retry-After pause"})
	}
	if hasWaves {
		c.Legend = append(c.Legend, legendItem{"wave", "wave"})
		failed, halted := false, false
		for _, w := range tl.Waves {
			failed = failed || w.Failed > 0 && !w.Halted
			halted = halted || w.Halted
		}
		if failed {
			c.Legend = append(c.Legend, legendItem{"wave warn", "wave with failures"})
		}
		if halted {
			c.Legend = append(c.Legend, legendItem{"wave bad", "wave that stopped the run"})
		}
	}

	// Totals.
	var parts []string
	for _, ser := range outcomeSeries {
		if k := ser.count(total); k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, ser.short))
		}
	}
	line := nOf(total.Attempts(), "request", "requests")
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	c.Stats = append(c.Stats, line, nOf(total.Retries, "retry", "retries"))
	if len(tl.Pauses) > 0 {
		var paused time.Duration
		for _, p := range tl.Pauses {
			paused += p.To - p.From
		}
		c.Stats = append(c.Stats, fmt.Sprintf("paused %s by Retry-After", fmtDuration(paused)))
	}
	if total.Attempts() > 0 {
		c.Stats = append(c.Stats, fmt.Sprintf("latency mean %s, max %s",
			fmtMS(ms(total.LatencySum)/float64(total.Attempts())), fmtMS(ms(total.LatencyMax))),
			fmt.Sprintf("peak %s/s over %s", n(maxBinRate(bs, secs)), fmtDuration(bw)))
	}
	if len(tl.Waves) > 0 {
		c.Stats = append(c.Stats, nOf(tl.Waves[len(tl.Waves)-1].Last, "wave", "waves"))
	}
	return c
}

func maxBinRate(bs []bulk.Bucket, secs float64) float64 {
	m := 0.0
	for _, b := range bs {
		m = max(m, float64(b.Attempts())/secs)
	}
	return m
}

// binText describes a bin for its tooltip.
func binText(b bulk.Bucket, w time.Duration) string {
	var parts []string
	for _, ser := range outcomeSeries {
		if k := ser.count(b); k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, ser.short))
		}
	}
	t := fmt.Sprintf("%s–%s: %s", clock(b.At), clock(b.At+w), strings.Join(parts, ", "))
	if b.Retries > 0 {
		t += "; " + nOf(b.Retries, "retry", "retries")
	}
	return t + fmt.Sprintf("; %s–%s, mean %s", fmtMS(ms(b.LatencyMin)), fmtMS(ms(b.LatencyMax)), fmtMS(ms(b.LatencySum)/float64(b.Attempts())))
}

func panelLabel(s *svgBuilder, top float64, text string) {
	s.f(`<text class="lbl" x="%d" y="%s">%s</text>`, chartLeft, n(top-7), html.EscapeString(text))
}

// yAxis draws a panel's grid lines and labels from 0 to top.
func yAxis(s *svgBuilder, top, h, vmax, step float64, y func(float64) float64, label func(float64) string) {
	if step <= 0 {
		step = vmax
	}
	for v := 0.0; v <= vmax*1.0001; v += step {
		gridLine(s, y(v), label(v))
	}
}

func gridLine(s *svgBuilder, y float64, label string) {
	s.f(`<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, n(y), n(y))
	s.f(`<text x="%d" y="%s" text-anchor="end">%s</text>`, chartLeft-6, n(y+4), html.EscapeString(label))
}

// timeStep is a round tick interval that gives at most about eight ticks.
func timeStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if span/s <= 8 {
			return s
		}
	}
	return span / 8
}

// clock formats an offset as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMS formats milliseconds for people: "0.4 ms", "85 ms", "1.2 s".
func fmtMS(v float64) string {
	switch {
	case v >= 10_000:
		return n(math.Round(v/1000)) + " s"
	case v >= 1000:
		return n(v/1000) + " s"
	case v >= 10:
		return n(math.Round(v)) + " ms"
	}
	return n(v) + " ms"
}

// fmtDuration formats a duration for people: "850 ms", "12.3 s", "3m 12s", "1h 02m".
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmtMS(ms(d))
	case d < time.Minute:
		return n(d.Seconds()) + " s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm %02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh %02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// nOf says "1 retry" or "2 retries".
func nOf(k int, one, many string) string {
	if k == 1 {
		return "1 " + one
	}
	return strconv.Itoa(k) + " " + many
}

// A pause as drawn: pauses less than a pixel apart are drawn as one.
type shownPause struct {
	bulk.Span
	paused time.Duration
	count  int
}

func displayPauses(ps []bulk.Span, x func(time.Duration) float64) []shownPause {
	var out []shownPause
	for _, p := range ps {
		if k := len(out); k > 0 && x(p.From)-x(out[k-1].To) < 1 {
			out[k-1].To = max(out[k-1].To, p.To)
			out[k-1].paused += p.To - p.From
			out[k-1].count++
			continue
		}
		out = append(out, shownPause{p, p.To - p.From, 1})
	}
	return out
}

// displayWaves joins neighbouring waves until each drawn one is a few pixels wide: thousands
// of one-integration waves would otherwise be thousands of invisible rectangles.
func displayWaves(ws []bulk.Wave, x func(time.Duration) float64) []bulk.Wave {
	var out []bulk.Wave
	for _, w := range ws {
		if k := len(out); k > 0 && x(w.To)-x(out[k-1].From) < 6 {
			g := &out[k-1]
			g.Last, g.To = w.Last, max(g.To, w.To)
			g.Integrations += w.Integrations
			g.Failed += w.Failed
			g.Halted = g.Halted || w.Halted
			continue
		}
		out = append(out, w)
	}
	return out
}

// displayPace keeps one pace sample per half pixel, the latest.
func displayPace(ps []bulk.PaceSample, x func(time.Duration) float64) []bulk.PaceSample {
	var out []bulk.PaceSample
	for _, p := range ps {
		if k := len(out); k > 0 && x(p.At)-x(out[k-1].At) < 0.5 {
			out[k-1].Rate = p.Rate
			continue
		}
		out = append(out, p)
	}
	return out
}
