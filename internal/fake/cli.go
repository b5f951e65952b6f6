package fake

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// usageHead introduces polarity-fake --help; the flag list follows it.
const usageHead = `usage: polarity-fake [flags]

A local Polarity v5 server for demos and tests. It prints its base URL on the first line of
stdout, logs one line per API request on stderr, and serves until SIGINT or SIGTERM.

  polarity-fake --addr 127.0.0.1:0 --fixture testdata/fixtures/integrations.json
  curl -sg -X POST $URL/api/users/login -H 'Content-Type: application/vnd.api+json' \
    -d '{"identification":"admin","password":"polarity-fake-password"}'
  curl -sg -H 'Authorization: Bearer polarity-fake-api-key' "$URL/api/integrations?page[size]=5"

Default credentials: user "admin", password "polarity-fake-password", API key
"polarity-fake-api-key". A fixture's "username", "password" and "api-keys" replace them;
--user, --password and --api-key replace those.

Control endpoints (no auth, no faults, not recorded): GET/DELETE /_fake/requests,
GET /_fake/state, POST /_fake/drift {"integration","key","value"}, POST /_fake/status
{"integration","status"}, POST /_fake/expire-tokens, GET/PUT /_fake/faults, GET /_fake/stats.

Flags:
`

// Main runs polarity-fake with args (without the program name) until ctx is done, and returns
// the exit code: 0 after a clean shutdown or --help, 2 for a usage error, 1 otherwise.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("polarity-fake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		cfg                            Config
		apiKeys                        stringList
		addr                           = fs.String("addr", "127.0.0.1:0", "listen `address`, e.g. 127.0.0.1:8443 (port 0 picks a free port)")
		fixture                        = fs.String("fixture", "", "fixture `file` of integrations, e.g. testdata/fixtures/integrations.json")
		synthetic                      = fs.Int("synthetic", 0, "add `N` generated integrations for load tests, e.g. 5000")
		quiet                          = fs.Bool("quiet", false, "do not log requests on stderr, e.g. --quiet")
		optionsIn, passwords, faultsOn string
	)
	fs.Uint64Var(&cfg.Faults.Seed, "seed", 1, "seed for random faults, synthetic integrations and tokens, e.g. 42")
	fs.StringVar(&cfg.Username, "user", "", "login user name (default: fixture's, else admin), e.g. alice")
	fs.StringVar(&cfg.Password, "password", "", "login password (default: fixture's, else polarity-fake-password), e.g. s3cret")
	fs.Var(&apiKeys, "api-key", "accepted API `key`, repeatable (default: fixture's, else polarity-fake-api-key), e.g. my-key")
	fs.DurationVar(&cfg.TokenLifetime, "token-lifetime", DefaultTokenLifetime, "lifetime of login tokens, e.g. 2s")
	fs.StringVar(&optionsIn, "options-in", string(OptionsIncluded), "where options appear: included (top-level included array) or attributes (integration-options attribute), e.g. attributes")
	fs.StringVar(&cfg.OptionResourceType, "option-resource-type", TypeSingular, "JSON:API type of option resources: integration-option or integration-options, e.g. integration-options")
	fs.StringVar(&cfg.KindAttr, "kind-attr", KindAttrOption, "attribute carrying an option's kind: option-type or type, e.g. type")
	fs.StringVar(&passwords, "passwords", string(PasswordsMasked), "password values served clear, masked (\"********\") or absent, e.g. clear")
	fs.IntVar(&cfg.PatchStatus, "patch-status", 200, "PATCH success status: 200 (updated resources) or 204 (no body), e.g. 204")
	fs.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to each API request, e.g. 50ms")
	fs.Float64Var(&cfg.Faults.RateLimit, "rate-limit", 0, "API requests per second before 429 + Retry-After (0: no limit), e.g. 20")
	fs.IntVar(&cfg.Faults.RateBurst, "rate-burst", 0, "rate-limit bucket size (0: ceil of --rate-limit), e.g. 1")
	fs.BoolVar(&cfg.Faults.RetryAfterDate, "retry-after-date", false, "send Retry-After as an HTTP-date instead of seconds, e.g. --retry-after-date")
	fs.Float64Var(&cfg.Faults.FailRate, "fail-rate", 0, "share of API requests answered --fail-status, e.g. 0.3")
	fs.IntVar(&cfg.Faults.FailStatus, "fail-status", 503, "status of injected failures (5xx), e.g. 502")
	fs.Float64Var(&cfg.Faults.DropRate, "drop-rate", 0, "share of API requests whose connection is closed unanswered, e.g. 0.1")
	fs.Float64Var(&cfg.Faults.HangRate, "hang-rate", 0, "share of API requests never answered until the client gives up, e.g. 0.1")
	fs.StringVar(&faultsOn, "faults-on", string(FaultsOnAll), "requests the faults apply to: all or patch, e.g. patch")

	usage := func(w io.Writer) {
		fmt.Fprint(w, usageHead)
		fs.VisitAll(func(f *flag.Flag) {
			name, text := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if name != "" {
				line += " " + name
			}
			fmt.Fprintf(w, "%s\n      %s", line, text)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
	usageErr := func(err error) int {
		fmt.Fprintf(stderr, "polarity-fake: %v\nhint: run polarity-fake --help\n", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg.OptionsIn, cfg.Passwords, cfg.Faults.On = Placement(optionsIn), PasswordMode(passwords), FaultScope(faultsOn)
	for _, k := range apiKeys {
		cfg.APIKeys = append(cfg.APIKeys, APIKey{Key: k})
	}
	if *fixture == "" && *synthetic == 0 {
		return usageErr(errors.New("no integrations: give --fixture FILE, --synthetic N or both"))
	}
	if *synthetic < 0 {
		return usageErr(errors.New("--synthetic must not be negative"))
	}

	fix := &Fixture{}
	if *fixture != "" {
		var err error
		if fix, err = LoadFixture(*fixture); err != nil {
			fmt.Fprintf(stderr, "polarity-fake: %v\n", err)
			return 1
		}
	}
	fix.Integrations = append(fix.Integrations, Synthetic(*synthetic, cfg.Faults.Seed).Integrations...)
	if !*quiet {
		cfg.Log = stderr
	}
	srv, err := New(fix, cfg)
	if err != nil {
		return usageErr(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "polarity-fake: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintln(stdout, base)
	got := srv.Config()
	fmt.Fprintf(stderr, "polarity-fake: serving %d integrations at %s (user %q, password %q, api key %q)\n",
		len(fix.Integrations), base, got.Username, got.Password, got.APIKeys[0].Key)

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "polarity-fake: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	// Release hanging and held requests first: Shutdown waits for active handlers.
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	return 0
}
