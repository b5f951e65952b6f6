// Command polarity-bulk rolls out integration-option changes to a Polarity server from a CSV
// file: validate, plan (the dry run), apply, export. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/polarity-bulk/polarity-bulk/internal/cli"
)

func main() {
	// A hang-up (the terminal or the SSH session went away) ends a run as Ctrl-C does: with
	// the full report. A closed stdout or stderr gives EPIPE to the write instead of killing
	// the process (Go's default for fds 1 and 2), and the cli stops writing to it.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// After the first signal the defaults come back, so a second Ctrl-C exits at once.
	go func() { <-ctx.Done(); stop() }()
	os.Exit(cli.Main(ctx, os.Args[1:], cli.OSStdio()))
}
