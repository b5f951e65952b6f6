package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/pace"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// countFlag is -v: each use raises the verbosity.
type countFlag int

func (c *countFlag) String() string   { return strconv.Itoa(int(*c)) }
func (c *countFlag) IsBoolFlag() bool { return true }
func (c *countFlag) Set(s string) error {
	if b, err := strconv.ParseBool(s); err == nil {
		if b {
			*c++
		}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a level such as -v, -v -v or -v=2")
	}
	*c = countFlag(n)
	return nil
}

type logFlags struct {
	verbose countFlag
	format  string
	level   slog.LevelVar // the logger's level, lowered while the progress bar is on screen
}

// viewFlags say how a plan is shown on stdout (plan, apply, show).
type viewFlags struct {
	noColor, expand, showUnchanged bool
}

func addViewFlags(fs *flag.FlagSet) *viewFlags {
	v := &viewFlags{}
	fs.BoolVar(&v.noColor, "no-color", false, "no colour in the diff (also: NO_COLOR set)")
	fs.BoolVar(&v.expand, "expand", false, "one block per integration: do not group the same change made on 3 or more integrations")
	fs.BoolVar(&v.showUnchanged, "show-unchanged", false, "list the integrations with nothing to change (by default they are counted)")
	return v
}

// options are the text plan's layout for w.
func (v *viewFlags) options(stdio Stdio, w io.Writer) report.TextOptions {
	return report.TextOptions{Color: color(stdio, w, v.noColor), Expand: v.expand, ShowUnchanged: v.showUnchanged}
}

func addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{}
	fs.Var(&lf.verbose, "v", "more log output on stderr: -v for progress detail, -v -v for every request")
	fs.StringVar(&lf.format, "log-format", "text", "log format on stderr: text or json")
	return lf
}

// logger builds the stderr logger. By default only warnings are logged; no level ever logs a
// secret, because nothing secret is ever handed to it.
func (lf *logFlags) logger(stdio Stdio) (*slog.Logger, error) {
	level := slog.LevelWarn
	switch {
	case lf.verbose >= 2:
		level = slog.LevelDebug
	case lf.verbose == 1:
		level = slog.LevelInfo
	}
	lf.level.Set(level)
	opts := &slog.HandlerOptions{Level: &lf.level}
	switch lf.format {
	case "text":
		return slog.New(slog.NewTextHandler(stdio.Err, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stdio.Err, opts)), nil
	}
	return nil, usageError("use --log-format text or --log-format json", "unknown log format %q", lf.format)
}

// hush silences all but errors until the returned func restores the level: log lines would
// tear the progress bar, and what they would say (retries, waits) ends up in the report.
func (lf *logFlags) hush() (restore func()) {
	prev := lf.level.Level()
	lf.level.Set(slog.LevelError)
	return func() { lf.level.Set(prev) }
}

// connFlags are the flags of every command that talks to a server.
type connFlags struct {
	url          string
	apiKeyFile   string
	passwordFile string
	caCert       string
	insecure     bool
	timeout      time.Duration
	rate         rateValue
	maxRate      float64
	burst        int
	retries      int
	maxWait      time.Duration
	// onAttempt, when set, sees every HTTP attempt (apply records report.html's timeline).
	onAttempt func(api.Attempt)
	// concurrency is the caller's --concurrency, for --rate auto's latency guard; 0 means
	// one request at a time (plan, export).
	concurrency int
}

// rateValue is --rate: requests per second, or auto.
type rateValue struct {
	auto   bool
	perSec float64
}

func (r *rateValue) String() string {
	if r.auto {
		return "auto"
	}
	return strconv.FormatFloat(r.perSec, 'g', -1, 64)
}

func (r *rateValue) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		*r = rateValue{auto: true}
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return errors.New("want a positive number of requests per second, or auto")
	}
	*r = rateValue{perSec: v}
	return nil
}

func addConnFlags(fs *flag.FlagSet) *connFlags {
	c := &connFlags{}
	d := api.DefaultConfig() // the client's defaults are the flags' defaults
	fs.StringVar(&c.url, "url", "", "Polarity server URL, e.g. https://polarity.example.com (default $POLARITY_URL)")
	fs.StringVar(&c.apiKeyFile, "api-key-file", "", "read the API key or token from this `FILE` instead of $POLARITY_API_KEY")
	fs.StringVar(&c.passwordFile, "password-file", "", "read the password of $POLARITY_USERNAME from this `FILE` instead of $POLARITY_PASSWORD")
	fs.StringVar(&c.caCert, "ca-cert", "", "trust the CA certificates in this PEM `FILE` too")
	fs.BoolVar(&c.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate (unsafe; prints a warning)")
	fs.DurationVar(&c.timeout, "timeout", d.Timeout, "time limit of each request")
	c.rate = rateValue{perSec: d.Rate}
	fs.Var(&c.rate, "rate", "`RATE` in requests per second over all requests, GETs included, or auto: find the server's pace (see --max-rate)")
	fs.Float64Var(&c.maxRate, "max-rate", pace.DefaultMax, "with --rate auto, the highest rate in requests per second")
	fs.IntVar(&c.burst, "burst", d.Burst, "requests that may be sent at once above the rate")
	fs.IntVar(&c.retries, "retries", d.MaxAttempts-1, "retries of a request after a network error, timeout, 429, 502, 503 or 504")
	fs.DurationVar(&c.maxWait, "max-wait", d.MaxWait, "longest pause a server may ask for (Retry-After); requests it asks to wait longer fail")
	return c
}

// config resolves the connection settings from flags, environment and credential files.
// Credentials never come from a flag's value, so they never show in a process listing.
func (c *connFlags) config(stdio Stdio, log *slog.Logger) (api.Config, error) {
	cfg := api.Config{
		URL: c.url, CACertFile: c.caCert, InsecureSkipVerify: c.insecure,
		Timeout: c.timeout, Rate: c.rate.perSec, Burst: c.burst, MaxAttempts: 1 + c.retries, MaxWait: c.maxWait,
		Logger: log, UserAgent: "polarity-bulk/" + toolVersion(), OnAttempt: c.onAttempt,
	}
	if cfg.URL == "" {
		cfg.URL = stdio.getenv("POLARITY_URL")
	}
	if cfg.URL == "" {
		return cfg, usageError("pass --url https://your-polarity-server or set POLARITY_URL", "no server URL")
	}
	switch {
	case c.timeout <= 0:
		return cfg, usageError("use a positive duration such as --timeout 30s", "--timeout must be positive")
	case !c.rate.auto && c.rate.perSec <= 0:
		return cfg, usageError("use a positive rate such as --rate 5, or --rate auto", "--rate must be positive")
	case c.maxRate <= 0 || math.IsInf(c.maxRate, 0) || math.IsNaN(c.maxRate):
		return cfg, usageError("use a positive rate such as --max-rate 50", "--max-rate must be positive")
	case c.burst < 1:
		return cfg, usageError("use --burst 1 or more", "--burst must be at least 1")
	case c.retries < 0:
		return cfg, usageError("use --retries 0 to never retry", "--retries must not be negative")
	case c.maxWait <= 0:
		return cfg, usageError("use a positive duration such as --max-wait 10m", "--max-wait must be positive")
	}
	if c.rate.auto {
		cfg.Auto = c.autoPace(stdio, cfg.URL, log)
	}
	var err error
	if c.apiKeyFile != "" {
		if cfg.APIKey, err = readSecretFile(c.apiKeyFile, log); err != nil {
			return cfg, err
		}
	} else {
		cfg.APIKey = stdio.getenv("POLARITY_API_KEY")
	}
	if cfg.APIKey == "" {
		cfg.Username = stdio.getenv("POLARITY_USERNAME")
		if c.passwordFile != "" {
			if cfg.Password, err = readSecretFile(c.passwordFile, log); err != nil {
				return cfg, err
			}
		} else {
			cfg.Password = stdio.getenv("POLARITY_PASSWORD")
		}
		if cfg.Username == "" || cfg.Password == "" {
			return cfg, usageError("set POLARITY_API_KEY (or --api-key-file), or POLARITY_USERNAME with POLARITY_PASSWORD (or --password-file)", "no credentials")
		}
	}
	if c.insecure {
		log.Warn("TLS certificate verification is off (--insecure-skip-tls-verify): anyone on the path can read the credentials")
	}
	return cfg, nil
}

// autoPace is --rate auto's start: what an earlier run learned about the server, from the
// cache, or a cold start. A cache that cannot be read is a cold start, never an error.
func (c *connFlags) autoPace(stdio Stdio, serverURL string, log *slog.Logger) *api.AutoPace {
	a := &api.AutoPace{Max: c.maxRate, Concurrency: max(1, c.concurrency)}
	dir, err := userCacheDir(stdio.getenv)
	if err != nil {
		log.Info("--rate auto starts cold: no cache directory", "err", err.Error())
		return a
	}
	if l, ok := loadLearned(dir, serverURL); ok {
		a.Start, a.StartIsLimit = l.Rate, l.Limit
		log.Info("--rate auto starts from the rate learned for this server", "rate", l.Rate, "limit", l.Limit, "learned", l.Updated)
	}
	return a
}

// client builds the API client.
func (c *connFlags) client(stdio Stdio, log *slog.Logger) (*api.Client, error) {
	return c.clientWith(stdio, log, nil)
}

// clientWith builds the API client with the settings mod adds to the flags' (probe's
// observer).
func (c *connFlags) clientWith(stdio Stdio, log *slog.Logger, mod func(*api.Config)) (*api.Client, error) {
	cfg, err := c.config(stdio, log)
	if err != nil {
		return nil, err
	}
	if mod != nil {
		mod(&cfg)
	}
	return newClient(cfg)
}

// newClient builds the API client from resolved settings.
func newClient(cfg api.Config) (*api.Client, error) {
	cl, err := api.New(cfg)
	var ce *api.ConfigError
	switch {
	case errors.As(err, &ce) && ce.Hint != "":
		// api.New refuses settings, not servers (a bad URL, plain http off loopback, an
		// unreadable --ca-cert): a usage error, with the client's own hint.
		return nil, &exitError{code: ExitUsage, err: ce.Err, hint: ce.Hint}
	case err != nil:
		return nil, &exitError{code: ExitUsage, err: err, hint: "check --url and --ca-cert"}
	}
	return cl, nil
}

// credentials lists the secrets cfg authenticates with and where each comes from, for the
// check that no ${NAME} cell writes one into an option; and the one that keys the digests of
// the ${NAME} values.
func (c *connFlags) credentials(cfg api.Config) ([]sheet.Credential, secret.Credential) {
	if cfg.APIKey != "" {
		src := "POLARITY_API_KEY"
		if c.apiKeyFile != "" {
			src = "--api-key-file " + c.apiKeyFile
		}
		return []sheet.Credential{{Source: src, Value: cfg.APIKey}}, secret.Credential{Secret: cfg.APIKey}
	}
	src := "POLARITY_PASSWORD"
	if c.passwordFile != "" {
		src = "--password-file " + c.passwordFile
	}
	return []sheet.Credential{{Source: src, Value: cfg.Password}}, secret.Credential{Secret: cfg.Password, Password: true}
}

// envCredentials are the credentials the environment holds, for validate, which takes no
// credential flags.
func envCredentials(stdio Stdio) []sheet.Credential {
	var out []sheet.Credential
	for _, name := range []string{"POLARITY_API_KEY", "POLARITY_PASSWORD"} {
		if v := stdio.getenv(name); v != "" {
			out = append(out, sheet.Credential{Source: name, Value: v})
		}
	}
	return out
}

// readSecretFile reads a credential file, and warns when users other than its owner may
// read or change it: whoever reads it can act as the tool on the server.
func readSecretFile(path string, log *slog.Logger) (string, error) {
	b, err := readFileLimited(path, 1<<16)
	if err != nil {
		return "", usageError("the file must hold the secret alone on one line", "read credential file: %v", err)
	}
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		log.Warn(fmt.Sprintf("credential file %s is open to other users (mode %04o): run chmod 600 %s", path, fi.Mode().Perm(), path))
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", usageError("the file must hold the secret alone on one line", "credential file %s is empty", path)
	}
	return s, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// sameServer reports whether two server URLs name the same server: scheme and host in any
// case, the default port spelled or not, a trailing slash or not.
func sameServer(a, b string) bool { return serverKey(a) == serverKey(b) }

func serverKey(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.TrimSpace(raw), "/")
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == map[string]string{"http": "80", "https": "443"}[scheme] {
		port = ""
	}
	if port != "" || strings.Contains(host, ":") {
		host = net.JoinHostPort(host, port) // [::1]:8080, or [::1]: for the default port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// resolvedURL is the server URL as plans and reports record it: without any user:password@.
func (c *connFlags) resolvedURL(stdio Stdio) string {
	raw := c.url
	if raw == "" {
		raw = stdio.getenv("POLARITY_URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
