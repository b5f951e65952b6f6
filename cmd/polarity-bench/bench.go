package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

const usageText = `polarity-bench measures polarity-bulk against an in-process polarity-fake.

Usage:
  go run ./cmd/polarity-bench [flags]

Example:
  go run ./cmd/polarity-bench                          # quick table, a few minutes
  go run ./cmd/polarity-bench --full                   # more settings, the defaults included
  go run ./cmd/polarity-bench --bin bin/polarity-bulk --only validate
  go run ./cmd/polarity-bench --only throughput --settings 16x1000 --compare /tmp/polarity-bulk-before
  go run ./cmd/polarity-bench --only unknown --limits 20      # --rate auto against a limit it is not told

Flags:
`

// config is one benchmark run's settings.
type config struct {
	full         bool
	bin          string
	compare      string // a second polarity-bulk, run beside bin in the throughput section
	settings     []setting
	latency      time.Duration
	integrations int
	rows         int
	reps         int
	only         map[string]bool
	seed         uint64
	tls          bool
	keep         bool
	limits       []float64 // the unknown-limit section's server limits
	log          io.Writer // progress lines, stderr
	tmp          string
}

// sections are the parts of the table, in order; --only picks some.
var sections = []string{"throughput", "requests", "validate", "unknown"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Hidden modes: this binary re-run as a child, so that the baselines' CPU time and peak
	// memory are measured exactly as polarity-bulk's are.
	if len(args) > 0 {
		switch args[0] {
		case modeBareCSV:
			return bareCSV(args[1:], stdout, stderr)
		case modeSequential:
			return sequential(ctx, args[1:], stdout, stderr)
		case modeMeasure:
			return measureChild(ctx, args[1:], stderr)
		}
	}

	fs := flag.NewFlagSet("polarity-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	cfg := config{log: stderr}
	var only, sets string
	fs.BoolVar(&cfg.full, "full", false, "more throughput settings (the defaults --concurrency 4 --rate 5 and --concurrency 1 included) and 5 validate repetitions")
	fs.StringVar(&cfg.bin, "bin", "", "the polarity-bulk binary to measure (default: go build one from this module into a temporary directory)")
	fs.StringVar(&cfg.compare, "compare", "", "another polarity-bulk `binary` (say, before a change) to run beside --bin in each throughput setting")
	fs.DurationVar(&cfg.latency, "latency", 50*time.Millisecond, "latency the fake server adds to every request")
	fs.IntVar(&cfg.integrations, "integrations", 500, "integrations applied in the throughput runs")
	fs.IntVar(&cfg.rows, "rows", 1_000_000, "rows of the validate file (100 options per integration)")
	fs.IntVar(&cfg.reps, "reps", 0, "repetitions of each validate measurement; the fastest counts (default 3, 5 with --full)")
	fs.StringVar(&sets, "settings", "", "throughput settings to run instead of the standard ones, as CONCURRENCYxRATE,... e.g. 16x1000,4x50")
	fs.StringVar(&only, "only", "", "comma-separated sections to run: "+strings.Join(sections, ", ")+" (default all)")
	fs.Uint64Var(&cfg.seed, "seed", 7, "seed of the synthetic integrations")
	fs.BoolVar(&cfg.tls, "tls", false, "serve the fake over HTTPS (loopback, a test certificate) as a real server would")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (files, reports) and print its path")
	limits := fs.String("limits", "5,10,20,60", "server rate limits (requests/s) of the unknown-limit section, comma-separated")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "polarity-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.reps == 0 {
		cfg.reps = 3
		if cfg.full {
			cfg.reps = 5
		}
	}
	if cfg.integrations < 1 || cfg.rows < 100 || cfg.reps < 1 || cfg.latency <= 0 {
		fmt.Fprintln(stderr, "polarity-bench: --integrations, --reps and --latency must be positive, --rows at least 100")
		return 2
	}
	var err error
	if cfg.limits, err = parseLimits(*limits); err != nil {
		fmt.Fprintf(stderr, "polarity-bench: --limits: %v\n", err)
		return 2
	}
	cfg.settings = standardSettings(cfg.full)
	if sets != "" {
		if cfg.settings, err = parseSettings(sets); err != nil {
			fmt.Fprintf(stderr, "polarity-bench: --settings: %v\n", err)
			return 2
		}
	}
	cfg.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(sections, s) {
			fmt.Fprintf(stderr, "polarity-bench: unknown section %q (want %s)\n", s, strings.Join(sections, ", "))
			return 2
		}
		cfg.only[s] = true
	}
	if len(cfg.only) == 0 {
		for _, s := range sections {
			cfg.only[s] = true
		}
	}
	if err := bench(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "polarity-bench: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, cfg config, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "polarity-bench-")
	if err != nil {
		return err
	}
	cfg.tmp = tmp
	if cfg.keep {
		defer fmt.Fprintf(cfg.log, "kept %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(tmp, "polarity-bulk")
		fmt.Fprintln(cfg.log, "building polarity-bulk ...")
		build := exec.CommandContext(ctx, "go", "build", "-o", cfg.bin, "github.com/polarity-bulk/polarity-bulk/cmd/polarity-bulk")
		build.Stdout, build.Stderr = cfg.log, cfg.log
		if err := build.Run(); err != nil {
			return fmt.Errorf("build polarity-bulk (run from the module, or pass --bin): %w", err)
		}
	} else if cfg.bin, err = filepath.Abs(cfg.bin); err != nil {
		return err
	}
	if cfg.compare != "" {
		if cfg.compare, err = filepath.Abs(cfg.compare); err != nil {
			return err
		}
	}

	fmt.Fprintln(out, "polarity-bench")
	machine(out, cfg)
	if cfg.only["throughput"] {
		if err := throughput(ctx, cfg, out); err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
	}
	if cfg.only["requests"] {
		if err := requests(ctx, cfg, out); err != nil {
			return fmt.Errorf("requests: %w", err)
		}
	}
	if cfg.only["validate"] {
		if err := validate(ctx, cfg, out); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
	}
	if cfg.only["unknown"] {
		if err := unknown(ctx, cfg, out); err != nil {
			return fmt.Errorf("unknown limit: %w", err)
		}
	}
	return nil
}

// machine prints what the figures were measured on.
func machine(w io.Writer, cfg config) {
	model := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = string(bytes.TrimSpace(b))
	}
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s/%s, kernel %s, %s, load average %s at start\n",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, kernel, runtime.Version(), load)
	fmt.Fprintf(w, "binary:  %s\n", cfg.bin)
	if cfg.compare != "" {
		fmt.Fprintf(w, "compare: %s\n", cfg.compare)
	}
}
