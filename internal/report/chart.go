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
//
// The parts are drawn back to front, each by its own method: the Retry-After pauses behind
// everything, the waves, the three panels (requests, latency, retries), the time axis.
func drawTimeline(tl bulk.Timeline, id string) timelineChart {
	c := newChart(tl)
	c.s.f(`<svg class="tl" viewBox="0 0 %d %s" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg">`, chartW, n(c.height), id)
	c.s.f(`<title id="%s-t">Timeline: %d requests over %s</title>`, id, c.total.Attempts(), fmtDuration(c.span))
	c.pauses()
	c.waves()
	c.requests()
	c.latency()
	c.retries()
	c.timeAxis()
	c.s.f(`</svg>`)
	return timelineChart{SVG: template.HTML(c.s.String()), Legend: c.legend(), Stats: c.stats()}
}

// chart is one timeline as it is drawn: its bins, the layout of its panels, the markup so far.
type chart struct {
	tl    bulk.Timeline
	span  time.Duration // the time axis: the run, rounded up to whole rate bins
	bw    time.Duration // the rate bins' width, at least a second
	bs    []bulk.Bucket // the rate bins
	lw    time.Duration // the latency bins' width
	ls    []bulk.Bucket // the latency bins
	secs  float64       // bw in seconds
	total bulk.Bucket   // every bin added up

	// The panels' tops (waveTop only when the run has waves), the time axis's, the height.
	waveTop, rateTop, latTop, retryTop, axisTop, height float64

	s svgBuilder
}

// newChart bins the timeline and lays out the panels present.
func newChart(tl bulk.Timeline) *chart {
	c := &chart{tl: tl, span: chartSpan(tl)}
	c.bw, c.bs = bins(tl, c.span, time.Second)
	c.span = (c.span + c.bw - 1) / c.bw * c.bw
	c.lw, c.ls = bins(tl, c.span, 0)
	c.secs = c.bw.Seconds()
	for _, b := range c.bs {
		c.total.Add(b)
	}
	y := 4.0
	if len(tl.Waves) > 0 {
		c.waveTop = y + labelH
		y = c.waveTop + waveH
	}
	c.rateTop = y + labelH
	y = c.rateTop + rateH
	c.latTop = y + labelH
	y = c.latTop + latencyH
	c.retryTop = y + labelH
	c.axisTop = c.retryTop + retryH
	c.height = c.axisTop + axisH
	return c
}

// x is where offset d lies on the time axis.
func (c *chart) x(d time.Duration) float64 { return chartLeft + float64(d)/float64(c.span)*plotW }

// bar is the left edge and the width of the bar of a bin w wide that starts at d.
func (c *chart) bar(d, w time.Duration) (float64, float64) {
	x0, x1 := c.x(d), c.x(min(d+w, c.span))
	wd := x1 - x0
	if wd > 3 {
		wd-- // a gap between bars
	}
	return x0, max(wd, 0.8)
}

// fixedRate says whether the run had a fixed --rate to draw as a line (--rate auto has a pace).
func (c *chart) fixedRate() bool { return c.tl.Rate > 0 && len(c.tl.Pace) == 0 }

// pauses shades the Retry-After pauses across the three panels.
func (c *chart) pauses() {
	top, bottom := c.rateTop, c.retryTop+retryH
	for _, p := range displayPauses(c.tl.Pauses, c.x) {
		x0, x1 := c.x(p.From), c.x(p.To)
		what := "paused by Retry-After for " + fmtDuration(p.paused)
		if p.count > 1 {
			what += fmt.Sprintf(" in %d pauses", p.count)
		}
		c.s.f(`<rect class="pause" x="%s" y="%s" width="%s" height="%s"><title>%s (%s–%s)</title></rect>`,
			n(x0), n(top), n(max(x1-x0, 1.5)), n(bottom-top), what, clock(p.From), clock(p.To))
	}
}

// waves draws the waves' boundaries across the three panels and a strip of their own. Waves
// too narrow to see apart are drawn as one.
func (c *chart) waves() {
	waves := displayWaves(c.tl.Waves, c.x)
	top, bottom := c.rateTop, c.retryTop+retryH
	for _, w := range waves {
		c.s.f(`<line class="wline" x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(c.x(w.From)), n(c.x(w.From)), n(top), n(bottom))
	}
	if len(c.tl.Waves) == 0 {
		return
	}
	panelLabel(&c.s, c.waveTop, "Waves")
	for _, w := range waves {
		c.wave(w)
	}
}

// wave draws one wave (or neighbours drawn as one) on the strip, with its tooltip and as much
// of a label as fits.
func (c *chart) wave(w bulk.Wave) {
	x0, x1 := c.x(w.From), c.x(w.To)
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
	c.s.f(`<rect class="%s" x="%s" y="%s" width="%s" height="%d"><title>%s</title></rect>`, class, n(x0), n(c.waveTop), n(wd), waveH, html.EscapeString(what))
	if label := waveLabel(w, name, wd); label != "" {
		c.s.f(`<text class="wt" x="%s" y="%s">%s</text>`, n(x0+4), n(c.waveTop+15), html.EscapeString(label))
	}
}

// waveLabel is what fits on a wave drawn wd wide: its name, integrations and failures, its
// name, its number, or nothing.
func waveLabel(w bulk.Wave, name string, wd float64) string {
	switch {
	case wd >= 130:
		label := fmt.Sprintf("%s · %d", name, w.Integrations)
		if w.Failed > 0 {
			label += fmt.Sprintf(" · %d failed", w.Failed)
		}
		return label
	case wd >= 56 && w.Last == w.Index || wd >= 90:
		return name
	case wd >= 16 && w.Last == w.Index:
		return strconv.Itoa(w.Index)
	}
	return ""
}

// requests draws the requests panel: requests per second stacked by outcome, with the line of
// a fixed --rate or the pace of --rate auto.
func (c *chart) requests() {
	maxRate := maxBinRate(c.bs, c.secs)
	for _, p := range c.tl.Pace {
		maxRate = max(maxRate, p.Rate)
	}
	if c.fixedRate() {
		maxRate = max(maxRate, c.tl.Rate)
	}
	rateMax, rateStep := niceCeil(maxRate)
	ry := func(v float64) float64 { return c.rateTop + rateH - v/rateMax*rateH }
	panelLabel(&c.s, c.rateTop, "Requests per second, by outcome")
	yAxis(&c.s, c.rateTop, rateH, rateMax, rateStep, ry, func(v float64) string { return n(v) + "/s" })
	for _, b := range c.bs {
		if b.Attempts() == 0 {
			continue
		}
		x0, w := c.bar(b.At, c.bw)
		c.s.f(`<g><title>%s</title>`, html.EscapeString(binText(b, c.bw)))
		acc := 0
		for _, ser := range outcomeSeries {
			k := ser.count(b)
			if k == 0 {
				continue
			}
			y0, y1 := ry(float64(acc+k)/c.secs), ry(float64(acc)/c.secs)
			c.s.f(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"/>`, ser.class, n(x0), n(y0), n(w), n(max(y1-y0, 0.6)))
			acc += k
		}
		c.s.f(`</g>`)
	}
	if c.fixedRate() {
		ly := ry(c.tl.Rate)
		c.s.f(`<line class="limit" x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, n(ly), n(ly))
		c.s.f(`<text class="note" x="%d" y="%s" text-anchor="end">--rate %s/s</text>`, chartW-chartRight-2, n(ly-4), n(c.tl.Rate))
	}
	if len(c.tl.Pace) > 0 {
		c.pace(ry)
	}
}

// pace draws the pace of --rate auto as steps, on the requests panel's scale ry.
func (c *chart) pace(ry func(float64) float64) {
	var d strings.Builder
	pace := displayPace(c.tl.Pace, c.x)
	for i, p := range pace {
		end := c.span
		if i+1 < len(pace) {
			end = pace[i+1].At
		}
		if i == 0 {
			fmt.Fprintf(&d, "M%s %s", n(c.x(p.At)), n(ry(p.Rate)))
		} else {
			fmt.Fprintf(&d, "V%s", n(ry(p.Rate)))
		}
		fmt.Fprintf(&d, "H%s", n(c.x(end)))
	}
	c.s.f(`<path class="pace" d="%s"><title>pace of --rate auto</title></path>`, d.String())
}

// latency draws the latency panel: each bin's range (min to max) and the line of the means.
func (c *chart) latency() {
	ly, sent := c.latencyScale()
	var mean strings.Builder
	run := 0 // bins in the current stretch of the mean line
	for i, b := range c.ls {
		if b.Attempts() == 0 {
			run = 0
			continue
		}
		x0, w := c.bar(b.At, c.lw)
		y0, y1 := ly(ms(b.LatencyMax)), ly(ms(b.LatencyMin))
		c.s.f(`<rect class="band" x="%s" y="%s" width="%s" height="%s"/>`, n(x0), n(y0), n(w), n(max(y1-y0, 1)))
		my := ly(ms(b.LatencySum) / float64(b.Attempts()))
		lonely := (i == 0 || c.ls[i-1].Attempts() == 0) && (i+1 == len(c.ls) || c.ls[i+1].Attempts() == 0)
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
		c.s.f(`<path class="mean" d="%s"/>`, mean.String())
	}
	if !sent {
		c.s.f(`<text class="note" x="%d" y="%s">no requests were sent</text>`, chartLeft+6, n(c.latTop+latencyH/2))
	}
}

// latencyScale draws the latency panel's label and grid and returns its scale, and whether
// any attempt was made. The scale is logarithmic when the slowest bin is more than 25 times
// the median bin's mean: one timeout would otherwise flatten every other bin to the axis.
func (c *chart) latencyScale() (func(float64) float64, bool) {
	var means []float64
	latMax, latMin := 0.0, math.Inf(1)
	for _, b := range c.ls {
		if b.Attempts() == 0 {
			continue
		}
		means = append(means, ms(b.LatencySum)/float64(b.Attempts()))
		latMax = max(latMax, ms(b.LatencyMax))
		latMin = min(latMin, ms(b.LatencyMin))
	}
	logScale := false
	latLabel := "Latency of each attempt (ms): range and mean"
	if len(means) > 0 {
		slices.Sort(means)
		median := means[(len(means)-1)/2]
		logScale = median > 0 && latMax/median > 25
	}
	if !logScale {
		top, step := niceCeil(latMax)
		ly := func(v float64) float64 { return c.latTop + latencyH - v/top*latencyH }
		panelLabel(&c.s, c.latTop, latLabel)
		yAxis(&c.s, c.latTop, latencyH, top, step, ly, fmtMS)
		return ly, len(means) > 0
	}
	lo := math.Pow(10, math.Floor(math.Log10(max(latMin, 0.1))))
	hi := math.Pow(10, math.Ceil(math.Log10(latMax)))
	if hi <= lo {
		hi = lo * 10
	}
	ly := func(v float64) float64 {
		v = max(v, lo)
		return c.latTop + latencyH - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*latencyH
	}
	panelLabel(&c.s, c.latTop, latLabel+" · log scale")
	for v := lo; v <= hi*1.0001; v *= 10 {
		gridLine(&c.s, ly(v), fmtMS(v))
	}
	return ly, true
}

// retries draws the retries panel: retries per second.
func (c *chart) retries() {
	maxRetry := 0.0
	for _, b := range c.bs {
		maxRetry = max(maxRetry, float64(b.Retries)/c.secs)
	}
	retryMax, retryStep := niceCeil(maxRetry)
	retryStep = max(retryStep, retryMax/2) // two ticks fit this low panel
	bottom := c.retryTop + retryH
	yr := func(v float64) float64 { return bottom - v/retryMax*retryH }
	panelLabel(&c.s, c.retryTop, "Retries per second · shaded: paused by Retry-After")
	yAxis(&c.s, c.retryTop, retryH, retryMax, retryStep, yr, func(v float64) string { return n(v) + "/s" })
	for _, b := range c.bs {
		if b.Retries == 0 {
			continue
		}
		x0, w := c.bar(b.At, c.bw)
		y0 := yr(float64(b.Retries) / c.secs)
		c.s.f(`<rect class="rt" x="%s" y="%s" width="%s" height="%s"/>`, n(x0), n(y0), n(w), n(max(bottom-y0, 0.6)))
	}
	if c.total.Retries == 0 {
		c.s.f(`<text class="note" x="%d" y="%s">no retries</text>`, chartLeft+6, n(c.retryTop+retryH/2+4))
	}
}

// timeAxis draws the time axis with its ticks.
func (c *chart) timeAxis() {
	top := c.axisTop
	c.s.f(`<line class="axis" x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, n(top), n(top))
	step := timeStep(c.span)
	for t := time.Duration(0); t <= c.span; t += step {
		tx := c.x(t)
		c.s.f(`<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(tx), n(tx), n(top), n(top+4))
		anchor := "middle"
		if t == 0 {
			anchor = "start"
		}
		c.s.f(`<text x="%s" y="%s" text-anchor="%s">%s</text>`, n(tx), n(top+15), anchor, clock(t))
	}
}

// legend lists only what the chart shows.
func (c *chart) legend() []legendItem {
	var l []legendItem
	for _, ser := range outcomeSeries {
		if ser.count(c.total) > 0 {
			l = append(l, legendItem{ser.class, ser.label})
		}
	}
	if c.fixedRate() {
		l = append(l, legendItem{"limit", "--rate limit"})
	}
	if len(c.tl.Pace) > 0 {
		l = append(l, legendItem{"pace", "pace of --rate auto"})
	}
	l = append(l, legendItem{"band", "latency range"}, legendItem{"mean", "latency mean"})
	if c.total.Retries > 0 {
		l = append(l, legendItem{"rt", "retries"})
	}
	if len(c.tl.Pauses) > 0 {
		l = append(l, legendItem{"pause", "Retry-After pause"})
	}
	if len(c.tl.Waves) == 0 {
		return l
	}
	l = append(l, legendItem{"wave", "wave"})
	failed, halted := false, false
	for _, w := range c.tl.Waves {
		failed = failed || w.Failed > 0 && !w.Halted
		halted = halted || w.Halted
	}
	if failed {
		l = append(l, legendItem{"wave warn", "wave with failures"})
	}
	if halted {
		l = append(l, legendItem{"wave bad", "wave that stopped the run"})
	}
	return l
}

// stats is the chart's line of totals.
func (c *chart) stats() []string {
	var parts []string
	for _, ser := range outcomeSeries {
		if k := ser.count(c.total); k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, ser.short))
		}
	}
	line := nOf(c.total.Attempts(), "request", "requests")
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	st := []string{line, nOf(c.total.Retries, "retry", "retries")}
	if len(c.tl.Pauses) > 0 {
		var paused time.Duration
		for _, p := range c.tl.Pauses {
			paused += p.To - p.From
		}
		st = append(st, fmt.Sprintf("paused %s by Retry-After", fmtDuration(paused)))
	}
	if c.total.Attempts() > 0 {
		st = append(st, fmt.Sprintf("latency mean %s, max %s",
			fmtMS(ms(c.total.LatencySum)/float64(c.total.Attempts())), fmtMS(ms(c.total.LatencyMax))),
			fmt.Sprintf("peak %s/s over %s", n(maxBinRate(c.bs, c.secs)), fmtDuration(c.bw)))
	}
	if len(c.tl.Waves) > 0 {
		st = append(st, nOf(c.tl.Waves[len(c.tl.Waves)-1].Last, "wave", "waves"))
	}
	return st
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

// nOf says "1 retry" or "2 retries" (the word chosen by bulk.Plural).
func nOf(k int, one, many string) string { return strconv.Itoa(k) + " " + bulk.Plural(k, one, many) }

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
