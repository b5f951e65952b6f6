package sheet

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestReadMillionRows checks that a 1,000,000-row file (72 MB) validates in well under 600 MB.
// It takes a few seconds and several hundred MB, so it runs only when asked:
//
//	SHEET_1M=1 go test -run ReadMillionRows -v ./internal/sheet
//
// SHEET_1M=tee reads through an io.TeeReader hashing the input, as the CLI does.
// (not under -race, whose own memory would be measured too). It reads from a file, as the CLI
// does, and measures the heap the Go runtime obtained (HeapSys), which bounds the peak heap.
func TestReadMillionRows(t *testing.T) {
	if os.Getenv("SHEET_1M") == "" {
		t.Skip("set SHEET_1M=1 to run")
	}
	path := filepath.Join(t.TempDir(), "big.csv")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(out, 1_000_000)
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if os.Getenv("SHEET_1M") == "tee" {
		r = io.TeeReader(f, sha256.New())
	}
	start := time.Now()
	rows, ps, err := Read("big.csv", r, benchEnv)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil || len(ps) != 0 || len(rows) != 1_000_000 {
		t.Fatalf("%d rows, %d problems, err %v", len(rows), len(ps), err)
	}
	grew := (after.HeapSys - before.HeapSys) >> 20
	t.Logf("1,000,000 rows in %v; heap obtained %d MB, in use %d MB", took, grew, after.HeapInuse>>20)
	if grew > 500 {
		t.Errorf("heap grew by %d MB, want well under 600 MB", grew)
	}
	runtime.KeepAlive(rows)
}
