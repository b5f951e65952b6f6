package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// setting is one --concurrency / --rate pair.
type setting struct {
	concurrency int
	rate        float64
}

func (s setting) String() string {
	return fmt.Sprintf("--concurrency %d --rate %g", s.concurrency, s.rate)
}

// standardSettings are the throughput runs: each side of the bound (rate-bound,
// concurrency-bound) and the CLI's defaults with --full. Burst stays at its default of 1.
func standardSettings(full bool) []setting {
	s := []setting{{4, 50}, {8, 100}, {4, 1000}, {16, 1000}}
	if full {
		s = append([]setting{{4, 5}, {1, 1000}}, s...)
		s = append(s, setting{32, 1000})
	}
	return s
}

// parseSettings reads CONCURRENCYxRATE,... as --settings takes it.
func parseSettings(s string) ([]setting, error) {
	var out []setting
	for _, part := range strings.Split(s, ",") {
		c, r, ok := strings.Cut(strings.TrimSpace(part), "x")
		conc, err1 := strconv.Atoi(c)
		rate, err2 := strconv.ParseFloat(r, 64)
		if !ok || err1 != nil || err2 != nil || conc < 1 || rate <= 0 {
			return nil, fmt.Errorf("%q: want CONCURRENCYxRATE, e.g. 16x1000", part)
		}
		out = append(out, setting{conc, rate})
	}
	return out, nil
}

// ideal is the time N PATCHes take at best: N / min(rate, concurrency / latency).
func (s setting) ideal(n int, latency time.Duration) time.Duration {
	perSec := min(s.rate, float64(s.concurrency)/latency.Seconds())
	return time.Duration(float64(n) / perSec * float64(time.Second))
}

// concurrencyBound reports whether concurrency / latency, not the rate, is the bound.
func (s setting) concurrencyBound(latency time.Duration) bool {
	return float64(s.concurrency)/latency.Seconds() < s.rate
}

func (s setting) bound(latency time.Duration) string {
	if s.concurrencyBound(latency) {
		return fmt.Sprintf("concurrency %g/s", float64(s.concurrency)/latency.Seconds())
	}
	return fmt.Sprintf("rate %g/s", s.rate)
}

// applyRun is one measured run against a fresh server.
type applyRun struct {
	child
	span    time.Duration // first PATCH in to last PATCH answered, at the server
	patches int
	conns   int64
}

func throughput(ctx context.Context, cfg config, out io.Writer) error {
	n, lat := cfg.integrations, cfg.latency
	fix := fake.Synthetic(n, cfg.seed)
	file := filepath.Join(cfg.tmp, "throughput.csv")
	changed, err := rolloutFile(file, fix, func(int) (bool, bool) { return true, true })
	if err != nil {
		return err
	}
	fc := fake.Config{Faults: fake.Faults{Latency: lat}}

	// The fixed cost of an apply: plan alone, same file, same server, for the CPU figures.
	fmt.Fprintln(cfg.log, "throughput: plan (fixed cost)")
	planRun, err := against(ctx, cfg, fix, fc, func(s *server) []string {
		return append([]string{"plan", file}, s.connArgs()...)
	})
	if err != nil {
		return err
	}

	me, err := self()
	if err != nil {
		return err
	}
	// plain runs the plain net/http client of the baselines with the given number of workers,
	// sending the very PATCHes polarity-bulk sent.
	bodies := filepath.Join(cfg.tmp, "bodies.jsonl")
	plain := func(workers int) (applyRun, error) {
		r, err := againstBin(ctx, cfg, me, fix, fc, func(s *server) []string {
			args := []string{modeSequential, "-url", s.url, "-bodies", bodies, "-workers", strconv.Itoa(workers)}
			if s.caFile != "" {
				args = append(args, "-ca-cert", s.caFile)
			}
			return args
		})
		if err == nil && r.patches != changed {
			err = fmt.Errorf("plain client, %d workers: %d PATCHes answered, want %d", workers, r.patches, changed)
		}
		return r, err
	}

	apply := func(bin string, i int, st setting) (applyRun, error) {
		r, err := againstBin(ctx, cfg, bin, fix, fc, func(s *server) []string {
			args := []string{"apply", file, "--yes", "--no-verify",
				"--concurrency", strconv.Itoa(st.concurrency), "--rate", strconv.FormatFloat(st.rate, 'g', -1, 64),
				"--report-dir", filepath.Join(cfg.tmp, fmt.Sprintf("report-%d-%t", i, bin == cfg.bin))}
			return append(args, s.connArgs()...)
		}, func(s *server) error {
			if i == 0 && bin == cfg.bin {
				return saveBodies(s.fake, bodies)
			}
			return nil
		})
		if err == nil && r.patches != changed {
			err = fmt.Errorf("%s: %d PATCHes answered, want %d", st, r.patches, changed)
		}
		return r, err
	}

	var runs, compared, controls []applyRun
	for i, st := range cfg.settings {
		fmt.Fprintf(cfg.log, "throughput: apply %s (ideal %s)\n", st, st.ideal(changed, lat).Round(time.Millisecond))
		var r, cmp applyRun
		var err error
		// With --compare, the two binaries take turns going first, so that neither always
		// meets the machine in the same state.
		if cfg.compare != "" && i%2 == 1 {
			fmt.Fprintf(cfg.log, "throughput: apply %s with %s\n", st, cfg.compare)
			if cmp, err = apply(cfg.compare, i, st); err != nil {
				return err
			}
		}
		if r, err = apply(cfg.bin, i, st); err != nil {
			return err
		}
		if cfg.compare != "" && i%2 == 0 {
			fmt.Fprintf(cfg.log, "throughput: apply %s with %s\n", st, cfg.compare)
			if cmp, err = apply(cfg.compare, i, st); err != nil {
				return err
			}
		}
		runs = append(runs, r)
		compared = append(compared, cmp)
		var control applyRun
		if st.concurrencyBound(lat) {
			fmt.Fprintf(cfg.log, "throughput: plain net/http client, %d goroutines\n", st.concurrency)
			if control, err = plain(st.concurrency); err != nil {
				return err
			}
		}
		controls = append(controls, control)
	}

	fmt.Fprintf(cfg.log, "throughput: sequential client (ideal %s)\n", (time.Duration(changed) * lat).Round(time.Millisecond))
	seq, err := plain(1)
	if err != nil {
		return err
	}

	scheme := "http"
	if cfg.tls {
		scheme = "https"
	}
	fmt.Fprintf(out, "\n1. apply throughput: %d integrations, one PATCH each (3 options), fake latency %s on every request, %s on 127.0.0.1, --no-verify, --burst 1\n",
		changed, lat, scheme)
	fmt.Fprintln(out, "   PATCH phase = first PATCH received to last PATCH answered, at the server; ideal = N / min(rate, concurrency/latency)")
	fmt.Fprintln(out, "   plain Go client = the same PATCHes from N goroutines over net/http, no rate limiter: the best this machine does at that concurrency")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   client\tbound\tideal\tPATCH phase\tideal/actual\ttarget ≥0.95\tspeed-up vs sequential\twhole command\tTCP conns\t")
	row := func(name, bound string, ideal time.Duration, r applyRun, target bool) {
		ratio := ideal.Seconds() / r.span.Seconds()
		verdict := ""
		if target {
			verdict = mark(ratio >= 0.95)
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%.3f\t%s\t%.1f×\t%s\t%d\t\n", name, bound, secs(ideal), secs(r.span), ratio, verdict,
			seq.span.Seconds()/r.span.Seconds(), secs(r.wall), r.conns)
	}
	for i, st := range cfg.settings {
		ideal := st.ideal(changed, lat)
		row("polarity-bulk "+st.String(), st.bound(lat), ideal, runs[i], true)
		if cfg.compare != "" {
			row("  --compare binary, same flags", st.bound(lat), ideal, compared[i], true)
		}
		if st.concurrencyBound(lat) {
			row(fmt.Sprintf("plain Go client, %d goroutines", st.concurrency), st.bound(lat), ideal, controls[i], false)
		}
	}
	row("sequential net/http loop", "latency", time.Duration(changed)*lat, seq, false)
	tw.Flush()
	for _, st := range cfg.settings {
		if rounds := (changed + st.concurrency - 1) / st.concurrency; st.concurrencyBound(lat) && changed%st.concurrency != 0 {
			best := time.Duration(rounds) * lat
			fmt.Fprintf(out, "   note: --concurrency %d needs ceil(%d/%d) = %d rounds of %s = %s, so no client can do better than %.3f of that ideal\n",
				st.concurrency, changed, st.concurrency, rounds, lat, secs(best), st.ideal(changed, lat).Seconds()/best.Seconds())
		}
	}

	fmt.Fprintf(out, "\n4. client CPU time per PATCH (user+system from rusage of the client process; the fake runs in another process)\n")
	fmt.Fprintf(out, "   whole run = the apply process's CPU / PATCHes; marginal = (apply − plan of the same file) / PATCHes; plan alone: %s CPU, %s peak RSS\n",
		ms(planRun.cpu), mb(planRun.maxRSS))
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   client\tPATCHes/s\tCPU whole run\tper PATCH, whole run\tper PATCH, marginal\tpeak RSS\t")
	cpuRow := func(name string, r applyRun, marginal string) {
		fmt.Fprintf(tw, "   %s\t%.0f\t%s\t%s\t%s\t%s\t\n", name, float64(changed)/r.span.Seconds(),
			ms(r.cpu), ms(r.cpu/time.Duration(changed)), marginal, mb(r.maxRSS))
	}
	for i, st := range cfg.settings {
		r := runs[i]
		cpuRow("polarity-bulk "+st.String(), r, ms((r.cpu-planRun.cpu)/time.Duration(changed)))
		if cfg.compare != "" {
			cpuRow("  --compare binary, same flags", compared[i], ms((compared[i].cpu-planRun.cpu)/time.Duration(changed)))
		}
		if st.concurrencyBound(lat) {
			cpuRow(fmt.Sprintf("plain Go client, %d goroutines", st.concurrency), controls[i], "")
		}
	}
	cpuRow("sequential net/http loop", seq, "")
	tw.Flush()
	return nil
}

// against runs polarity-bulk against a fresh server holding fix.
func against(ctx context.Context, cfg config, fix *fake.Fixture, fc fake.Config, args func(*server) []string, after ...func(*server) error) (applyRun, error) {
	return againstBin(ctx, cfg, cfg.bin, fix, fc, args, after...)
}

// againstBin runs bin against a fresh server holding fix, authenticated by the fake's API key.
func againstBin(ctx context.Context, cfg config, bin string, fix *fake.Fixture, fc fake.Config, args func(*server) []string, after ...func(*server) error) (applyRun, error) {
	s, err := startServer(cfg, fix, fc)
	if err != nil {
		return applyRun{}, err
	}
	defer s.close()
	env := []string{"POLARITY_URL=" + s.url, "POLARITY_API_KEY=" + fake.DefaultAPIKey}
	c, err := runChild(ctx, bin, args(s), env)
	if err != nil {
		return applyRun{}, err
	}
	for _, f := range after {
		if err := f(s); err != nil {
			return applyRun{}, err
		}
	}
	span, patches := s.meter.patchSpan()
	return applyRun{child: c, span: span, patches: patches, conns: s.meter.conns.Load()}, nil
}

// saveBodies writes the PATCH bodies the server received, one a line, for the sequential
// client to send the very same requests.
func saveBodies(fs *fake.Server, path string) error {
	var b bytes.Buffer
	for _, r := range fs.Requests() {
		if r.Method != "PATCH" {
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, r.Body); err != nil {
			return err
		}
		b.Write(compact.Bytes())
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// rolloutFile writes a CSV for integrations of fix: pick says whether an integration is in the
// file, and whether its rows change anything. A changed integration gets a new url, a new
// maxResults and a permission-only change of minimumSeverity (three options, one PATCH); an
// unchanged one gets the same three rows with what the server already holds. It returns the
// number of integrations changed.
func rolloutFile(path string, fix *fake.Fixture, pick func(i int) (touch, change bool)) (int, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"integration_id", "option_key", "value", "permission"})
	changed := 0
	for i, in := range fix.Integrations {
		touch, change := pick(i)
		if !touch {
			continue
		}
		var url string
		var maxResults float64
		for _, o := range in.Options {
			switch o.Key {
			case "url":
				json.Unmarshal(o.Value, &url)
			case "maxResults":
				json.Unmarshal(o.Value, &maxResults)
			}
		}
		perm := "user-provides" // as the fixture has it
		if change {
			changed++
			url = fmt.Sprintf("https://bench-%d.example.invalid/api/v2", i)
			maxResults = math.Mod(maxResults, 1000) + 1
			perm = "lock-show"
		}
		w.Write([]string{in.ID, "url", url, ""})
		w.Write([]string{in.ID, "maxResults", strconv.FormatFloat(maxResults, 'f', -1, 64), ""})
		w.Write([]string{in.ID, "minimumSeverity", "", perm})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	return changed, os.WriteFile(path, b.Bytes(), 0o644)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
