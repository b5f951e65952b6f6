package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/probe"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const probeExample = `The first contact with a server: connects and authenticates as plan does, reads a few
bounded answers, and says what works before anything is changed. Each finding is ok, problem
or unknown, with a hint: TLS, auth, API version, the integrations the credentials see, where
options come back and how password values do (counts, never values), paging, latency,
rate-limit headers, and whether the server's OpenAPI document agrees with the PATCH the client
sends. Reads only, unless --write-check.

Exit 0 when plan and apply can work, 1 when a problem stands in the way.

Examples:
  export POLARITY_URL=https://polarity.example.com POLARITY_API_KEY=...
  polarity-bulk probe
  polarity-bulk probe --out probe.json        # shapes only: attach it to a bug report
  polarity-bulk probe --write-check virustotal_node_18_1725278818-blocklist`

// probeSingleReads is how many times probe reads one integration by id: enough for a median
// latency, few enough to stay a handful of requests.
const probeSingleReads = 3

// probeCmd is one probe, in the shape of applyCmd: parse reads and checks the flags,
// prepare makes the client (which records every exchange, for the findings) and the session,
// run makes the reads and the write check, evaluates and prints the findings.
type probeCmd struct {
	stdio      Stdio
	conn       *connFlags
	lf         *logFlags
	writeCheck string // the option id of --write-check, or ""
	yes        bool
	out        string // --out probe.json, or ""
	asJSON     bool

	log *slog.Logger
	cl  *api.Client
	s   *session

	mu        sync.Mutex
	exchanges []api.Exchange // every request and answer, as the client saw them
}

func runProbe(ctx context.Context, args []string, stdio Stdio) error {
	c := &probeCmd{stdio: stdio}
	defer c.close()
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.prepare(); err != nil {
		return err
	}
	return c.run(ctx)
}

// close logs the session out, when prepare opened one.
func (c *probeCmd) close() {
	if c.s != nil {
		c.s.close()
	}
}

// parse reads the flags and checks what needs nothing but them: nothing is sent before.
func (c *probeCmd) parse(args []string) error {
	fs := newFlagSet(c.stdio, "probe", "probe [flags]", probeExample)
	c.conn, c.lf = addConnFlags(fs), addLogFlags(fs)
	fs.StringVar(&c.writeCheck, "write-check", "", "send the current value and permission of `OPTION_ID` (<integration id>-<option key>) back unchanged, to learn how PATCH is answered (asks first)")
	fs.BoolVar(&c.yes, "yes", false, "send the --write-check without asking (required without a terminal)")
	fs.StringVar(&c.out, "out", "", "write the findings with every value removed (shapes only) to `probe.json`, fit for a bug report")
	fs.BoolVar(&c.asJSON, "json", false, "print the findings as JSON on stdout instead of text")
	if err := noFile(fs, args, c.stdio, "probe takes no FILE; see 'polarity-bulk probe --help'"); err != nil {
		return err
	}
	if c.writeCheck != "" {
		if id, key, ok := bulk.SplitOptionID(c.writeCheck); !ok || id == "" || key == "" {
			return usageError("an option id is the integration id, a dash and the option key, e.g. virustotal_node_18_1725278818-blocklist", "--write-check %q is not an option id", c.writeCheck)
		}
		if !c.yes && !canAsk(c.stdio) {
			return usageError("add --yes to send the write check without a terminal", "probe: no terminal to confirm the write check on, and --yes was not given: nothing was sent")
		}
	}
	var err error
	c.log, err = c.lf.logger(c.stdio)
	return err
}

// prepare makes the client, which records every exchange, and the session.
func (c *probeCmd) prepare() error {
	cl, err := c.conn.clientWith(c.stdio, c.log, func(cfg *api.Config) { cfg.Observe = c.record })
	if err != nil {
		return err
	}
	c.cl = cl
	c.s = &session{client: cl, log: c.log, server: c.conn.resolvedURL(c.stdio)}
	return nil
}

// record keeps one exchange; the client calls it from its requests' goroutines.
func (c *probeCmd) record(x api.Exchange) {
	c.mu.Lock()
	c.exchanges = append(c.exchanges, x)
	c.mu.Unlock()
}

// run probes, prints the findings (and writes --out) and fails when a problem stands in the
// way of plan and apply.
func (c *probeCmd) run(ctx context.Context) error {
	obs, err := c.observations(ctx)
	if err != nil {
		return err
	}
	rep := probe.Evaluate(obs)
	if err := c.print(rep); err != nil {
		return err
	}
	return probeProblems(rep)
}

// observations makes the reads (probeReads) and the --write-check, and gathers what they saw.
func (c *probeCmd) observations(ctx context.Context) (probe.Observations, error) {
	obs := probe.Observations{
		Tool: toolVersion(), Server: c.s.server, Insecure: c.conn.insecure,
		Timeout: c.conn.timeout, Rate: c.conn.rate.perSec,
	}
	if u, err := url.Parse(c.s.server); err == nil {
		obs.Scheme = u.Scheme
	}
	if err := probeReads(ctx, c.cl, &obs); err != nil {
		return obs, err
	}
	if c.conn.rate.auto {
		obs.Rate = c.cl.Pace().Rate // the rate --rate auto reached
	}
	if c.writeCheck != "" && obs.FirstErr == nil && obs.AllErr == nil {
		w, err := probeWrite(ctx, c.cl, obs.All, c.writeCheck, c.yes, c.s.server, c.stdio)
		if err != nil {
			return obs, err
		}
		obs.Write = w
	}
	obs.Now, obs.Auth, obs.Shapes = time.Now(), c.cl.Auth(), c.cl.Shapes()
	c.mu.Lock()
	obs.Exchanges = slices.Clone(c.exchanges)
	c.mu.Unlock()
	return obs, nil
}

// print writes the findings on stdout (text or --json) and, with --out, their public part.
func (c *probeCmd) print(rep probe.Report) error {
	var err error
	if c.asJSON {
		err = report.ProbeJSON(c.stdio.Out, rep)
	} else {
		err = report.ProbeText(c.stdio.Out, rep)
	}
	if err != nil || c.out == "" {
		return err
	}
	if err := report.WriteFile(c.out, 0o644, func(w io.Writer) error { return report.ProbeJSON(w, rep.Public()) }); err != nil {
		return failure("", fmt.Errorf("write probe report: %w", err))
	}
	fmt.Fprintf(c.stdio.Err, "probe report written to %s: shapes and counts only (no value, id, name or secret), fit to attach to a bug report\n", c.out)
	return nil
}

// probeProblems is probe's verdict: nil, or a failure naming every check with a problem and
// the first problem's hint.
func probeProblems(rep probe.Report) error {
	probs := rep.Problems()
	if len(probs) == 0 {
		return nil
	}
	names := make([]string, len(probs))
	hint := ""
	for i, f := range probs {
		names[i] = f.Check
		if hint == "" {
			hint = f.Hint
		}
	}
	if hint == "" {
		hint = "see the findings above"
	}
	return failure(hint, fmt.Errorf("probe: %d %s: %s", len(probs), bulk.Plural(len(probs), "problem", "problems"), strings.Join(names, ", ")))
}

// probeReads makes the read-only requests: the first page of integrations (as plan's first
// request), every page when there are more (plan's read path), two pages of size 2 (does the
// server honour page[size] and page[number]?), a few reads of one integration by id (plan's
// path for a file naming one id, and latency samples), and the OpenAPI document. It stops
// after a first contact that fails: nothing more can be learned. Only an interrupt is an
// error.
func probeReads(ctx context.Context, cl *api.Client, obs *probe.Observations) error {
	sizes := api.PageSizes()
	for i, size := range sizes {
		p, err := cl.IntegrationsPage(ctx, size, 1)
		if err != nil && i+1 < len(sizes) && api.RefusedPageSize(err) {
			obs.RefusedSizes = append(obs.RefusedSizes, size)
			continue
		}
		obs.FirstSize, obs.FirstPage, obs.FirstErr = size, p, err
		break
	}
	if err := interrupted(ctx); err != nil || obs.FirstErr != nil {
		return err
	}
	p1 := obs.FirstPage
	if p1.Total > len(p1.Integrations) || (p1.Total < 0 && len(p1.Integrations) >= obs.FirstSize) {
		obs.All, obs.AllErr = cl.Integrations(ctx, false)
	} else {
		obs.All = p1.Integrations
	}
	if err := interrupted(ctx); err != nil || obs.AllErr != nil {
		return err
	}
	if len(obs.All) >= 3 {
		for n := 1; n <= 2; n++ {
			p, err := cl.IntegrationsPage(ctx, 2, n)
			if err != nil {
				obs.SmallPagesErr = err
				break
			}
			obs.SmallPages = append(obs.SmallPages, p)
		}
	}
	if len(obs.All) > 0 {
		for range probeSingleReads {
			in, err := cl.Integration(ctx, obs.All[0].ID)
			if err != nil {
				obs.SingleErr = err
				break
			}
			obs.Single = append(obs.Single, in)
		}
	}
	if err := interrupted(ctx); err != nil {
		return err
	}
	obs.OpenAPI, obs.OpenAPIErr = cl.OpenAPI(ctx)
	return interrupted(ctx)
}

func interrupted(ctx context.Context) error {
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("probe interrupted: nothing was sent")}
	}
	return nil
}

// probeWrite runs --write-check: it sends the option's current value and permission back
// unchanged, then reads the option back. It refuses, before sending anything, an option it
// cannot send back as it is: unknown, of a stopped integration (the server refuses those), or
// whose value the server does not show (sending a mask back would overwrite the secret).
func probeWrite(ctx context.Context, cl *api.Client, all []bulk.Integration, optionID string, yes bool, server string, stdio Stdio) (*probe.WriteCheck, error) {
	id, key, _ := bulk.SplitOptionID(optionID)
	i := slices.IndexFunc(all, func(in bulk.Integration) bool { return in.ID == id })
	if i < 0 {
		return nil, usageError("give an integration the credentials see: 'polarity-bulk export' lists them with their options",
			"--write-check: no integration %s among the %d the credentials see: nothing was sent", id, len(all))
	}
	in := all[i]
	opt, ok := in.Option(key)
	if !ok {
		keys := make([]string, len(in.Options))
		for j, o := range in.Options {
			keys[j] = o.Key
		}
		return nil, usageError("option keys are case-sensitive; its options are "+strings.Join(keys, ", "),
			"--write-check: integration %s has no option %q: nothing was sent", id, key)
	}
	if !in.Running() {
		return nil, usageError("pick an option of a running integration: the server refuses changes to one that is not running",
			"--write-check: integration %s is %q, not running: nothing was sent", id, in.Status)
	}
	if !opt.Readable {
		return nil, usageError("pick an option whose value the server shows (not a masked or hidden password)",
			"--write-check: the server does not show the current value of %s, so it cannot be sent back unchanged: nothing was sent", optionID)
	}
	if !yes {
		ok, err := ask(ctx, stdio, fmt.Sprintf("\nSend option %s on %s back unchanged (its current value and permission)? Only 'yes' is accepted: ", optionID, server))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &exitError{code: ExitFailure, err: errors.New("write check cancelled: nothing was sent")}
		}
	}
	flags := opt.Permission
	outcome, err := cl.Patch(ctx, id, []api.PatchItem{{Key: key, Value: bulk.NewPayload(opt.Value), Permission: &flags, Sensitive: opt.Sensitive()}})
	w := &probe.WriteCheck{Key: key, Kind: string(opt.Kind), Outcome: outcome, Err: err, Answer: outcome.Answer, Before: opt}
	if err != nil {
		if ctx.Err() != nil {
			return nil, &exitError{code: ExitInterrupted, err: errors.New("probe interrupted during the write check: it sent the option's current state, which changes nothing")}
		}
		return w, nil
	}
	back, err := cl.Integration(ctx, id)
	if err != nil {
		w.ReadBackErr = err
		return w, nil
	}
	if o, ok := back.Option(key); ok {
		w.ReadBack = &o
	}
	return w, nil
}

// canAsk reports whether there is a terminal to ask on.
func canAsk(stdio Stdio) bool { return stdio.Terminal(stdio.In) && stdio.Terminal(stdio.Err) }
