package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"
)

// optionsPerIntegration is the validate file's shape: rows / 100 integrations × 100 options.
const optionsPerIntegration = 100

// Targets of the validate run.
const (
	validateMaxRatio = 4.0
	validateMaxRSS   = 600 << 20
)

func validate(ctx context.Context, cfg config, out io.Writer) error {
	file := filepath.Join(cfg.tmp, "validate.csv")
	fmt.Fprintf(cfg.log, "validate: writing %d rows\n", cfg.rows)
	size, err := bigFile(file, cfg.rows)
	if err != nil {
		return err
	}
	me, err := self()
	if err != nil {
		return err
	}
	env := []string{"BENCH_SECRET=bench-secret-value"}
	want := fmt.Sprintf("valid: %d rows", cfg.rows)

	// Alternate the two, so that a noisy neighbour slows both alike; the fastest run of each
	// counts, and its peak memory with it.
	var bare, val []child
	for i := range cfg.reps {
		fmt.Fprintf(cfg.log, "validate: bare encoding/csv read %d/%d\n", i+1, cfg.reps)
		b, err := runChild(ctx, me, []string{modeBareCSV, file}, nil)
		if err != nil {
			return err
		}
		if got := string(bytes.TrimSpace(b.stdout)); got != strconv.Itoa(cfg.rows+1) {
			return fmt.Errorf("bare read counted %s records, want %d", got, cfg.rows+1)
		}
		bare = append(bare, b)
		fmt.Fprintf(cfg.log, "validate: polarity-bulk validate %d/%d\n", i+1, cfg.reps)
		v, err := runChild(ctx, cfg.bin, []string{"validate", file}, env)
		if err != nil {
			return err
		}
		if !bytes.Contains(v.stdout, []byte(want)) {
			return fmt.Errorf("validate said %q, want %q", bytes.TrimSpace(v.stdout), want)
		}
		val = append(val, v)
	}
	b, v := fastest(bare), fastest(val)
	ratio := v.wall.Seconds() / b.wall.Seconds()
	cpuRatio := v.cpu.Seconds() / b.cpu.Seconds()

	fmt.Fprintf(out, "\n3. validate of a %d-row CSV (%d integrations × %d options, %.0f MB), child processes, fastest of %d alternating runs each\n",
		cfg.rows, cfg.rows/optionsPerIntegration, optionsPerIntegration, float64(size)/1e6, cfg.reps)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   run\twall\tto bare read\ttarget ≤4×\tCPU\tCPU to bare read\tpeak RSS\ttarget <600 MB\t")
	fmt.Fprintf(tw, "   bare encoding/csv read\t%s\t1.00×\t\t%s\t1.00×\t%s\t\t\n", secs(b.wall), secs(b.cpu), mb(b.maxRSS))
	fmt.Fprintf(tw, "   polarity-bulk validate\t%s\t%.2f×\t%s\t%s\t%.2f×\t%s\t%s\t\n", secs(v.wall), ratio,
		mark(ratio <= validateMaxRatio), secs(v.cpu), cpuRatio, mb(v.maxRSS), mark(v.maxRSS < validateMaxRSS))
	tw.Flush()
	fmt.Fprintf(out, "   all runs (wall): bare %s; validate %s\n", walls(bare), walls(val))
	return nil
}

func fastest(cs []child) child {
	best := cs[0]
	for _, c := range cs[1:] {
		if c.wall < best.wall {
			best = c
		}
	}
	return best
}

func walls(cs []child) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2f", c.wall.Seconds())
	}
	return s + " s"
}

// bigFile writes rows valid rows in the shape of a large rollout: every kind of value cell
// (literal text, numbers, booleans, json:, ${NAME}, multi-select lists, quoted commas, empty
// = keep), permission words, an integration name now and then, a comment now and then.
func bigFile(path string, rows int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("integration_id,integration_name,option_key,value,permission,comment\n")
	perms := []string{"lock-hide", "lock-show", "user-provides", ""}
	start := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC).Unix()
	for r := range rows {
		i, j := r/optionsPerIntegration, r%optionsPerIntegration
		id := fmt.Sprintf("bench_%05d_node_18_%010x_%d", i, uint64(i)*0x9e3779b97f&0xffffffffff, start+int64(i))
		name := ""
		if j == 0 {
			name = fmt.Sprintf("Bench %05d", i)
		}
		var value string
		switch j % 10 {
		case 0:
			value = fmt.Sprintf("https://host-%d.example.invalid/api/v%d", i, j)
		case 1:
			value = strconv.Itoa(r % 1000)
		case 2:
			value = strconv.FormatBool(r%2 == 0)
		case 3:
			value = `"json:{""value"":""low"",""display"":""Low""}"`
		case 4:
			value = "${BENCH_SECRET}"
		case 5:
			value = "" // keep the value, change the permission
		case 6:
			value = "malware; phishing; c2"
		case 7:
			value = "json:" + strconv.Itoa(r)
		case 8:
			value = fmt.Sprintf(`"a-%d.example.com, b-%d.example.com"`, i, j)
		default:
			value = fmt.Sprintf("team-%d-rotated-value-%d", i, j)
		}
		perm := perms[j%len(perms)]
		if value == "" && perm == "" {
			perm = "lock-hide"
		}
		comment := ""
		if j%50 == 0 {
			comment = "rotated 2025-01"
		}
		fmt.Fprintf(w, "%s,%s,option%03d,%s,%s,%s\n", id, name, j, value, perm, comment)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	// On disk before the measurements, so that write-back does not land in one of them.
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return fi.Size(), f.Close()
}
