package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// The unknown-limit run (SPEC.md section 3, "Pace"): polarity-fake enforces a token-bucket
// rate limit the client is not told; --rate auto must find it.
const (
	unknownPatches    = 1000
	unknownSlowLimit  = 5   // the limit that gets fewer PATCHes, so its runs take a minute
	unknownSlowN      = 300 // PATCHes at that limit
	unknownConc       = 8   // enough workers that concurrency/latency (160/s) is never the bound
	unknownMaxRate    = 100 // --max-rate, above every limit (its default, 50, is below 60)
	unknownFirstTimes = 2.0 // the first second may hold at most this many times the limit
)

// unknownRun is one apply against a limited server, measured at the server.
type unknownRun struct {
	name        string
	patches     int
	span        time.Duration // first PATCH received to last PATCH answered
	requests    int
	refused     int // answered 429
	firstSecond int // requests received in the first second of the run
	wall        time.Duration
	start       string  // how the pace started (results.json pace.start)
	startRate   float64 // results.json pace.start_rate
	learned     float64 // results.json pace.learned_rate
	target      func(r unknownRun, limit float64) (string, bool)
}

func (r unknownRun) share(limit float64) float64 {
	return float64(r.patches) / r.span.Seconds() / limit
}

func (r unknownRun) refusedShare() float64 { return float64(r.refused) / float64(max(1, r.requests)) }

// paceRecord is the part of results.json the table reads.
type paceRecord struct {
	Pace struct {
		Mode        string  `json:"mode"`
		Start       string  `json:"start"`
		StartRate   float64 `json:"start_rate"`
		LearnedRate float64 `json:"learned_rate"`
	} `json:"pace"`
}

func unknown(ctx context.Context, cfg config, out io.Writer) error {
	fix := fake.Synthetic(unknownPatches, cfg.seed)
	files := map[int]string{}
	for _, n := range []int{unknownPatches, unknownSlowN} {
		files[n] = filepath.Join(cfg.tmp, fmt.Sprintf("unknown-%d.csv", n))
		if _, err := rolloutFile(files[n], fix, func(i int) (bool, bool) { return i < n, i < n }); err != nil {
			return err
		}
	}
	lat := cfg.latency
	type row struct {
		limit float64
		runs  []unknownRun
	}
	var rows []row
	for i, limit := range cfg.limits {
		n := unknownPatches
		if limit == unknownSlowLimit {
			n = unknownSlowN
		}
		// Each limit gets a cache directory of its own: the cold run finds it empty, the
		// learned run finds what the cold run wrote.
		cache := filepath.Join(cfg.tmp, fmt.Sprintf("cache-%d", i))
		env := []string{"XDG_CACHE_HOME=" + cache, "HOME=" + cache}
		fc := fake.Config{Faults: fake.Faults{Latency: lat, RateLimit: limit}}
		auto := []string{"--rate", "auto", "--max-rate", strconv.Itoa(unknownMaxRate)}
		fixedRate := []string{"--rate", strconv.FormatFloat(limit, 'g', -1, 64)}
		coldTarget := func(r unknownRun, limit float64) (string, bool) {
			return "≥0.90, ≤3%", r.share(limit) >= 0.90 && r.refusedShare() <= 0.03 && float64(r.firstSecond) <= unknownFirstTimes*limit
		}
		learnedTarget := func(r unknownRun, limit float64) (string, bool) {
			return "≥0.95, ≤2%", r.share(limit) >= 0.95 && r.refusedShare() <= 0.02 && float64(r.firstSecond) <= unknownFirstTimes*limit
		}
		specs := []struct {
			name   string
			args   []string
			fc     fake.Config
			target func(unknownRun, float64) (string, bool)
		}{
			{"--rate auto, cold", auto, fc, coldTarget},
			{"--rate auto, learned", auto, fc, learnedTarget},
			{"--rate " + fixedRate[1] + " (fixed, at the limit)", fixedRate, fc, nil},
		}
		if cfg.full {
			hc := fc
			hc.Faults.RateLimitHeaders = true
			specs = append(specs, struct {
				name   string
				args   []string
				fc     fake.Config
				target func(unknownRun, float64) (string, bool)
			}{"--rate auto, cold, RateLimit headers", auto, hc, coldTarget})
		}
		addr := ""
		r := row{limit: limit}
		for j, sp := range specs {
			fmt.Fprintf(cfg.log, "unknown limit %g/s: %s (%d PATCHes)\n", limit, sp.name, n)
			if strings.Contains(sp.name, "headers") {
				// A cold start, so a cache of its own.
				e := filepath.Join(cfg.tmp, fmt.Sprintf("cache-%d-headers", i))
				env = []string{"XDG_CACHE_HOME=" + e, "HOME=" + e}
			}
			// The learned run must reach the same origin (scheme, host, port) the cold
			// run's rate was learned for: its server listens where the cold run's did.
			s, err := startServerAt(cfg, fix, sp.fc, addr)
			if err != nil {
				return err
			}
			if j == 0 {
				addr = s.ts.Listener.Addr().String()
			}
			report := filepath.Join(cfg.tmp, fmt.Sprintf("unknown-report-%d-%d", i, j))
			args := append([]string{"apply", files[n], "--yes", "--no-verify", "--concurrency", strconv.Itoa(unknownConc),
				"--report-dir", report}, sp.args...)
			args = append(args, s.connArgs()...)
			c, err := runChild(ctx, cfg.bin, args, append([]string{"POLARITY_URL=" + s.url, "POLARITY_API_KEY=" + fake.DefaultAPIKey}, env...))
			reqs := s.fake.Requests()
			span, patches := s.meter.patchSpan()
			s.close()
			if err != nil {
				return err
			}
			ur := unknownRun{name: sp.name, span: span, requests: len(reqs), wall: c.wall, target: sp.target}
			var firstPatch time.Time
			for _, q := range reqs {
				if q.Status == 429 {
					ur.refused++
				}
				if q.Method == "PATCH" && firstPatch.IsZero() {
					firstPatch = q.Time
				}
				if q.Method == "PATCH" && q.Status >= 200 && q.Status < 300 {
					ur.patches++
				}
			}
			// The first second of the run and the first second of its PATCHes: planning a
			// thousand integrations can take a second of its own on a busy machine.
			for _, from := range []time.Time{reqs[0].Time, firstPatch} {
				n := 0
				for _, q := range reqs {
					if !q.Time.Before(from) && q.Time.Sub(from) < time.Second {
						n++
					}
				}
				ur.firstSecond = max(ur.firstSecond, n)
			}
			if ur.patches != n {
				return fmt.Errorf("limit %g/s, %s: %d PATCHes accepted (%d answered), want %d", limit, sp.name, ur.patches, patches, n)
			}
			var rec paceRecord
			if b, err := os.ReadFile(filepath.Join(report, "results.json")); err == nil {
				_ = json.Unmarshal(b, &rec)
			}
			ur.start, ur.startRate, ur.learned = rec.Pace.Start, rec.Pace.StartRate, rec.Pace.LearnedRate
			r.runs = append(r.runs, ur)
		}
		rows = append(rows, r)
	}

	fmt.Fprintf(out, "\n5. unknown limit: polarity-fake limits every request with a token bucket (rate L/s, burst L, 429 + Retry-After) the client is not told;\n")
	fmt.Fprintf(out, "   %d PATCHes (%d at %d/s), --concurrency %d, fake latency %s, --no-verify; --rate auto runs with --max-rate %d\n",
		unknownPatches, unknownSlowN, unknownSlowLimit, unknownConc, lat, unknownMaxRate)
	fmt.Fprintln(out, "   throughput = PATCHes / PATCH phase (first PATCH received to last answered, at the server) / limit;")
	fmt.Fprintln(out, "   429s = share of all requests answered 429; first second = requests the server received in the first second of the run,")
	fmt.Fprintln(out, "   or of its PATCHes if more (target ≤ 2× the limit)")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   limit\tclient\tstarted at\tthroughput\t429s\tfirst second\trequests\tlearned\tPATCH phase\ttarget\t\t")
	for _, r := range rows {
		for k, u := range r.runs {
			limit := ""
			if k == 0 {
				limit = fmt.Sprintf("%g/s", r.limit)
			}
			started, learned := "", ""
			if u.start != "" {
				started = fmt.Sprintf("%s %.1f/s", u.start, u.startRate)
				learned = fmt.Sprintf("%.2f/s", u.learned)
			}
			want, verdict := "", ""
			if u.target != nil {
				var ok bool
				want, ok = u.target(u, r.limit)
				verdict = mark(ok)
			}
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%.3f\t%.1f%%\t%d\t%d\t%s\t%s\t%s\t%s\t\n", limit, u.name, started, u.share(r.limit),
				100*u.refusedShare(), u.firstSecond, u.requests, learned, secs(u.span), want, verdict)
		}
	}
	return tw.Flush()
}

// parseLimits reads --limits: comma-separated positive rates.
func parseLimits(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: want a positive rate", part)
		}
		out = append(out, v)
	}
	return out, nil
}
