package sheet

import (
	"crypto/sha256"
	"encoding/csv"
	"io"
	"os"
	"testing"
)

// BenchmarkReadFile reads the file $SHEET_BENCH_FILE as the CLI does (through a TeeReader
// hashing it), for profiles of a real-sized input such as polarity-bench's validate file:
//
//	go run ./cmd/polarity-bench --only validate --keep
//	SHEET_BENCH_FILE=/tmp/polarity-bench-.../validate.csv go test -run - -bench ReadFile -cpuprofile cpu.out ./internal/sheet
func BenchmarkReadFile(b *testing.B) {
	path := os.Getenv("SHEET_BENCH_FILE")
	if path == "" {
		b.Skip("set SHEET_BENCH_FILE to a CSV file")
	}
	env := func(string) (string, bool) { return "bench-secret-value", true }
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rows, ps, err := Read("bench.csv", io.TeeReader(f, sha256.New()), env)
		f.Close()
		if err != nil || len(ps) != 0 {
			b.Fatalf("%d rows, problems %v, err %v", len(rows), ps, err)
		}
		b.ReportMetric(float64(len(rows)), "rows")
	}
}

// BenchmarkBareFile reads $SHEET_BENCH_FILE with encoding/csv alone: the floor under
// BenchmarkReadFile.
func BenchmarkBareFile(b *testing.B) {
	path := os.Getenv("SHEET_BENCH_FILE")
	if path == "" {
		b.Skip("set SHEET_BENCH_FILE to a CSV file")
	}
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(f)
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}
