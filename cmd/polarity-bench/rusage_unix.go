//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// usageOf reads a finished child's CPU time and peak resident set size from its rusage.
func usageOf(ps *os.ProcessState) (cpu time.Duration, maxRSS int64) {
	cpu = ps.UserTime() + ps.SystemTime()
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return cpu, 0
	}
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" { // Linux and the BSDs count kilobytes, macOS bytes
		maxRSS *= 1024
	}
	return cpu, maxRSS
}
