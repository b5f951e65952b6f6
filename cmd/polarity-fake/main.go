// Command polarity-fake is a local Polarity v5 server for demos and tests; see
// polarity-fake --help and package internal/fake.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := fake.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
