package cli

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// Without a terminal, progress is a line every progressEvery, not a bar.
func TestProgressLinesWithoutTerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errOut testkit.Buffer
		stdio := Stdio{Err: &errOut, Terminal: func(any) bool { return false }}
		p := newProgress(stdio, 10, false)
		if p.bar != nil {
			t.Fatal("a bar without a terminal")
		}
		p.add(bulk.Result{Status: bulk.StatusApplied})
		p.add(bulk.Result{Status: bulk.StatusFailed})
		time.Sleep(progressEvery - time.Millisecond)
		synctest.Wait()
		if errOut.String() != "" {
			t.Fatalf("a line before %v: %q", progressEvery, errOut.String())
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		got := errOut.String()
		if !strings.HasPrefix(got, "progress: 2/10 integrations done, 1 failed, 0.4/s, ETA 20s\n") {
			t.Fatalf("progress line %q", got)
		}
		time.Sleep(progressEvery)
		synctest.Wait()
		if n := strings.Count(errOut.String(), "\n"); n != 2 {
			t.Fatalf("%d lines after two periods: %q", n, errOut.String())
		}
		p.finish()
		time.Sleep(3 * progressEvery)
		synctest.Wait()
		if n := strings.Count(errOut.String(), "\n"); n != 2 {
			t.Fatalf("lines after finish: %q", errOut.String())
		}
	})
}

// In a staged run the progress line names the wave being sent.
func TestProgressNamesTheWave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errOut testkit.Buffer
		stdio := Stdio{Err: &errOut, Terminal: func(any) bool { return false }}
		p := newProgress(stdio, 12, false)
		p.add(bulk.Result{Status: bulk.StatusApplied})
		p.setWave(2, 4)
		p.note("wave 1/4 passed: 1 integration, all healthy")
		time.Sleep(progressEvery)
		synctest.Wait()
		p.finish()
		want := "wave 1/4 passed: 1 integration, all healthy\nprogress: wave 2/4: 1/12 integrations done, 0 failed, 0.2/s, ETA 55s\n"
		if got := errOut.String(); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
}
