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
{"integration","status"}, POST/DELETE /_fake/unhealthy {"integration","key","value","effect"},
POST /_fake/expire-tokens, GET/PUT /_fake/faults, GET /_fake/stats.

Flags:
`

// options is polarity-fake's command line. The string fields are converted into cfg after
// parsing.
type options struct {
	cfg                            Config
	apiKeys                        stringList
	addr, fixture                  string
	synthetic                      int
	quiet                          bool
	optionsIn, passwords, faultsOn string
}

// flags defines polarity-fake's flags over o.
func (o *options) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("polarity-fake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := &o.cfg
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen `address`, e.g. 127.0.0.1:8443 (port 0 picks a free port)")
	fs.StringVar(&o.fixture, "fixture", "", "fixture `file` of integrations, e.g. testdata/fixtures/integrations.json")
	fs.IntVar(&o.synthetic, "synthetic", 0, "add `N` generated integrations for load tests, e.g. 5000")
	fs.BoolVar(&o.quiet, "quiet", false, "do not log requests on stderr, e.g. --quiet")
	fs.Uint64Var(&cfg.Faults.Seed, "seed", 1, "seed for random faults, synthetic integrations and tokens, e.g. 42")
	fs.StringVar(&cfg.Username, "user", "", "login user name (default: fixture's, else admin), e.g. alice")
	fs.StringVar(&cfg.Password, "password", "", "login password (default: fixture's, else polarity-fake-password), e.g. s3cret")
	fs.Var(&o.apiKeys, "api-key", "accepted API `key`, repeatable (default: fixture's, else polarity-fake-api-key), e.g. my-key")
	fs.DurationVar(&cfg.TokenLifetime, "token-lifetime", DefaultTokenLifetime, "lifetime of login tokens, e.g. 2s")
	fs.StringVar(&o.optionsIn, "options-in", string(OptionsIncluded), "where options appear: included (top-level included array) or attributes (integration-options attribute), e.g. attributes")
	fs.StringVar(&cfg.OptionResourceType, "option-resource-type", TypeSingular, "JSON:API type of option resources: integration-option or integration-options, e.g. integration-options")
	fs.StringVar(&cfg.KindAttr, "kind-attr", KindAttrOption, "attribute carrying an option's kind: option-type or type, e.g. type")
	fs.StringVar(&o.passwords, "passwords", string(PasswordsMasked), "password values served clear, masked (\"********\") or absent, e.g. clear")
	fs.IntVar(&cfg.PatchStatus, "patch-status", 200, "PATCH success status: 200 (updated resources) or 204 (no body), e.g. 204")
	fs.StringVar(&cfg.OpenAPI, "openapi", OpenAPIOn, "GET /api/openapi serves an OpenAPI document of the fake (on) or answers 404 (off), e.g. off")
	fs.StringVar(&cfg.OpenAPIPatchType, "openapi-patch-type", "", "the only resource type the OpenAPI document declares for PATCH /api/integration-options (default: both accepted types), e.g. integration-options")
	fs.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to each API request, e.g. 50ms")
	fs.Float64Var(&cfg.Faults.RateLimit, "rate-limit", 0, "API requests per second before 429 + Retry-After (0: no limit), e.g. 20")
	fs.IntVar(&cfg.Faults.RateBurst, "rate-burst", 0, "rate-limit token bucket size: how far above the rate a client may burst (0: ceil of --rate-limit, one second's worth), e.g. 1")
	fs.BoolVar(&cfg.Faults.RateLimitHeaders, "rate-limit-headers", false, "send RateLimit-Policy and RateLimit headers (IETF draft) with --rate-limit, e.g. --rate-limit-headers")
	fs.BoolVar(&cfg.Faults.RetryAfterDate, "retry-after-date", false, "send Retry-After as an HTTP-date instead of seconds, e.g. --retry-after-date")
	fs.Float64Var(&cfg.Faults.FailRate, "fail-rate", 0, "share of API requests answered --fail-status, e.g. 0.3")
	fs.IntVar(&cfg.Faults.FailStatus, "fail-status", 503, "status of injected failures (5xx), e.g. 502")
	fs.Float64Var(&cfg.Faults.DropRate, "drop-rate", 0, "share of API requests whose connection is closed unanswered, e.g. 0.1")
	fs.Float64Var(&cfg.Faults.HangRate, "hang-rate", 0, "share of API requests never answered until the client gives up, e.g. 0.1")
	fs.StringVar(&o.faultsOn, "faults-on", string(FaultsOnAll), "requests the faults apply to: all or patch, e.g. patch")
	fs.Func("unhealthy", "after a PATCH leaves option KEY at VALUE, the integration reports integration errors (EFFECT errors) or stops (stop); repeatable: `KEY=VALUE:EFFECT`, e.g. apiKey=broken-key:errors", func(v string) error {
		u, err := ParseUnhealthy(v)
		cfg.Unhealthy = append(cfg.Unhealthy, u)
		return err
	})
	fs.Func("errors-filter", "`MODE` of filter[integration.integration-errors]: honour, ignore (list everything) or refuse (400) (default honour), e.g. ignore", func(v string) error {
		cfg.ErrorsFilter = ErrorsFilterMode(v)
		return nil
	})
	return fs
}

// usage writes polarity-fake --help: the head, then every flag with its example.
func usage(w io.Writer, fs *flag.FlagSet) {
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

// parse reads args into o. It returns flag.ErrHelp for --help; any other error is a usage
// error.
func (o *options) parse(args []string) error {
	fs := o.flags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.cfg.OptionsIn, o.cfg.Passwords, o.cfg.Faults.On = Placement(o.optionsIn), PasswordMode(o.passwords), FaultScope(o.faultsOn)
	for _, k := range o.apiKeys {
		o.cfg.APIKeys = append(o.cfg.APIKeys, APIKey{Key: k})
	}
	if o.fixture == "" && o.synthetic == 0 {
		return errors.New("no integrations: give --fixture FILE, --synthetic N or both")
	}
	if o.synthetic < 0 {
		return errors.New("--synthetic must not be negative")
	}
	return nil
}

// SetFlag returns cfg with one setting changed the way polarity-fake's flag of that name
// sets it (--passwords clear, --patch-status 204, --latency 50ms, ...), so that tests and
// scripts switch a running fake with the words of its command line. The flags that are not
// settings of a running server (--addr, --fixture, --synthetic, --quiet, --api-key) are
// refused.
func SetFlag(cfg Config, name, value string) (Config, error) {
	switch name {
	case "addr", "fixture", "synthetic", "quiet", "api-key":
		return cfg, fmt.Errorf("--%s is not a setting of a running server", name)
	}
	var o options
	fs := o.flags() // sets the defaults: cfg replaces them below, in the same fields
	o.cfg = cfg
	o.optionsIn, o.passwords, o.faultsOn = string(cfg.OptionsIn), string(cfg.Passwords), string(cfg.Faults.On)
	if err := fs.Set(name, value); err != nil {
		return cfg, fmt.Errorf("--%s %s: %w", name, value, err)
	}
	o.cfg.OptionsIn, o.cfg.Passwords, o.cfg.Faults.On = Placement(o.optionsIn), PasswordMode(o.passwords), FaultScope(o.faultsOn)
	return o.cfg, nil
}

// integrations loads the fixture, if any, and appends the synthetic integrations.
func (o *options) integrations() (*Fixture, error) {
	fix := &Fixture{}
	if o.fixture != "" {
		var err error
		if fix, err = LoadFixture(o.fixture); err != nil {
			return nil, err
		}
	}
	fix.Integrations = append(fix.Integrations, Synthetic(o.synthetic, o.cfg.Faults.Seed).Integrations...)
	return fix, nil
}

// Main runs polarity-fake with args (without the program name) until ctx is done, and returns
// the exit code: 0 after a clean shutdown or --help, 2 for a usage error, 1 otherwise.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usageErr := func(err error) int {
		fmt.Fprintf(stderr, "polarity-fake: %v\nhint: run polarity-fake --help\n", err)
		return 2
	}
	var o options
	if err := o.parse(args); errors.Is(err, flag.ErrHelp) {
		usage(stdout, o.flags())
		return 0
	} else if err != nil {
		return usageErr(err)
	}
	fix, err := o.integrations()
	if err != nil {
		fmt.Fprintf(stderr, "polarity-fake: %v\n", err)
		return 1
	}
	if !o.quiet {
		o.cfg.Log = stderr
	}
	srv, err := New(fix, o.cfg)
	if err != nil {
		return usageErr(err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "polarity-fake: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintln(stdout, base)
	got := srv.Config()
	fmt.Fprintf(stderr, "polarity-fake: serving %d integrations at %s (user %q, password %q, api key %q)\n",
		len(fix.Integrations), base, got.Username, got.Password, got.APIKeys[0].Key)
	if err := serve(ctx, srv, ln); err != nil {
		fmt.Fprintf(stderr, "polarity-fake: %v\n", err)
		return 1
	}
	return 0
}

// serve serves srv on ln until ctx is done, then shuts down.
func serve(ctx context.Context, srv *Server, ln net.Listener) error {
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Release hanging and held requests first: Shutdown waits for active handlers.
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	return nil
}
