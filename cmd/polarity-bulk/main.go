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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the defaults come back, so a second Ctrl-C exits at once.
	go func() { <-ctx.Done(); stop() }()
	os.Exit(cli.Main(ctx, os.Args[1:], cli.OSStdio()))
}
