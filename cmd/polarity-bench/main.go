// Command polarity-bench measures polarity-bulk against an in-process polarity-fake and prints
// the table of README "Performance": apply throughput against the ideal and against a
// sequential client, requests sent against the minimum, a 1,000,000-row validate against a
// bare encoding/csv read, client CPU time per PATCH, and --rate auto against a rate limit it
// is not told (cold, from a learned rate, and beside a fixed rate at the limit).
//
// Every polarity-bulk run is a child process of the built binary, so its CPU time and peak
// memory come from the kernel's rusage and exclude the fake server, which runs in this
// process. Figures that are compared are measured side by side in the same run: on a shared
// machine only their ratios mean something.
//
//	go run ./cmd/polarity-bench              # the quick table, a few minutes on 2 cores
//	go run ./cmd/polarity-bench --full       # more settings, the defaults included
//	go run ./cmd/polarity-bench --only throughput --settings 16x1000 --compare OLD-BINARY
//
// --compare runs a second polarity-bulk binary beside the first in every throughput setting,
// taking turns, which is how a change's before and after are measured side by side.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
