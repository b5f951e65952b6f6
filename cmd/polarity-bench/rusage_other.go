//go:build !unix

package main

import (
	"os"
	"time"
)

// usageOf reads a finished child's CPU time; peak memory is not measured off Unix.
func usageOf(ps *os.ProcessState) (cpu time.Duration, maxRSS int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
