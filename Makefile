# polarity-bulk — see README.md. Every target works on a fresh machine with Go 1.26.
GO      ?= go
BIN     ?= bin
PKGS    := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REV     ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/polarity-bulk/polarity-bulk/internal/cli.Version=$(VERSION) \
           -X github.com/polarity-bulk/polarity-bulk/internal/cli.Revision=$(REV)
FUZZTIME ?= 20s

.PHONY: all build test lint bench fuzz demo clean

all: lint test build

## build: both binaries into ./bin
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/polarity-bulk ./cmd/polarity-fake

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: the benchmark table (see README "Performance"), then the Go benchmarks
bench: build
	$(GO) run ./cmd/polarity-bench --bin $(BIN)/polarity-bulk
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## fuzz: each fuzz target for FUZZTIME (crashers land in the package's testdata/fuzz: keep them as seeds)
FUZZ := ./internal/sheet:FuzzRead ./internal/plan:FuzzConvert ./internal/api:FuzzIntegrations \
        ./internal/api:FuzzIntegration ./internal/api:FuzzPatchAnswer ./internal/api:FuzzLogin \
        ./internal/api:FuzzRetryAfter
fuzz:
	@set -e; for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; done

## demo: validate, plan and apply examples/demo.csv against a local polarity-fake
demo: build
	@BIN=$(BIN) bash examples/demo.sh

clean:
	rm -rf $(BIN) reports
