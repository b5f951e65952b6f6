# polarity-bulk — see README.md. Every target works on a fresh machine with Go 1.26.
GO      ?= go
BIN     ?= bin
PKGS    := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REV     ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/polarity-bulk/polarity-bulk/internal/cli.Version=$(VERSION) \
           -X github.com/polarity-bulk/polarity-bulk/internal/cli.Revision=$(REV)
FUZZTIME ?= 20s
# Release and CI tools, run from the Go module proxy at pinned versions (nothing to install;
# the first run downloads and builds them, later runs use the build cache).
GORELEASER ?= $(GO) run github.com/goreleaser/goreleaser/v2@v2.15.1
ACTIONLINT ?= $(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# GoReleaser reads the git remote even for a snapshot, and without one stamps the commit
# "none": a clone without a remote gets this repository's URL for the run (nothing is changed).
GIT_REMOTE_ENV := $(if $(shell git remote 2>/dev/null),,GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/polarity-bulk/polarity-bulk.git)
CI_SCRIPTS := .ci/run .ci/check-dist.sh .github/actions/setup-polarity-bulk/install.sh \
              examples/demo.sh examples/github-actions/*.sh

.PHONY: all build test lint lint-ci bench fuzz demo dist release clean

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

## lint-ci: actionlint on the workflows (with shellcheck on their run: steps) and shellcheck
## on the action's and the examples' scripts (shellcheck: apt-get install shellcheck)
# actionlint v1.7.12 predates concurrency's "queue" key (GitHub, 2026-05-07): that one message
# is ignored, every other check (expressions, the local action's inputs, shellcheck) stays on.
lint-ci:
	@command -v shellcheck >/dev/null || { echo "lint-ci needs shellcheck (apt-get install shellcheck, brew install shellcheck)"; exit 1; }
	$(ACTIONLINT) -ignore 'unexpected key "queue" for "concurrency" section' .github/workflows/*.yml examples/github-actions/*.yml
	shellcheck $(CI_SCRIPTS)

## dist: a snapshot release in dist/, as a tag would make it (every platform, checksums.txt),
## checked by installing it with the setup action
dist:
	$(GIT_REMOTE_ENV) $(GORELEASER) check
	$(GIT_REMOTE_ENV) $(GORELEASER) release --snapshot --clean
	bash .ci/check-dist.sh dist

## release: the release of the current tag, published as a draft, checked like dist, then made
## public (needs GITHUB_TOKEN and gh; .github/workflows/release.yml runs it on a pushed tag)
release:
	$(GORELEASER) release --clean
	bash .ci/check-dist.sh dist
	gh release edit "$$(git describe --tags --exact-match)" --draft=false

## bench: the benchmark table (see README "Performance"), then the Go benchmarks
bench: build
	$(GO) run ./cmd/polarity-bench --bin $(BIN)/polarity-bulk
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## fuzz: each fuzz target for FUZZTIME (crashers land in the package's testdata/fuzz: keep them as seeds)
FUZZ := ./internal/sheet:FuzzRead ./internal/plan:FuzzConvert ./internal/api:FuzzIntegrations \
        ./internal/api:FuzzIntegration ./internal/api:FuzzPatchAnswer ./internal/api:FuzzLogin \
        ./internal/api:FuzzRetryAfter ./internal/report:FuzzTimeline
fuzz:
	@set -e; for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; done

## demo: validate, plan and apply examples/demo.csv against a local polarity-fake
demo: build
	@BIN=$(BIN) bash examples/demo.sh

clean:
	rm -rf $(BIN) reports dist
