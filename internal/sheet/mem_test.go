package sheet

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkReadMillionRows reads a 1,000,000-row file (72 MB) from disk, as the CLI does,
// through an io.TeeReader hashing the input, and reports the heap the Go runtime obtained
// (HeapSys, which bounds the peak heap) beside the time. The target is well under 600 MB; the
// whole-process figure (peak RSS) is polarity-bench's validate section.
//
//	go test -run '^$' -bench ReadMillionRows -benchtime 1x ./internal/sheet
func BenchmarkReadMillionRows(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.csv")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	writeFile(out, 1_000_000)
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rows, ps, err := Read("big.csv", io.TeeReader(f, sha256.New()), benchEnv)
		f.Close()
		runtime.ReadMemStats(&after)
		if err != nil || len(ps) != 0 || len(rows) != 1_000_000 {
			b.Fatalf("%d rows, %d problems, err %v", len(rows), len(ps), err)
		}
		b.ReportMetric(float64((after.HeapSys-before.HeapSys)>>20), "heap-MB")
		runtime.KeepAlive(rows)
	}
}
