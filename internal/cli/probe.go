package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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

func runProbe(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "probe", "probe [flags]", probeExample)
	conn, lf := addConnFlags(fs), addLogFlags(fs)
	writeCheck := fs.String("write-check", "", "send the current value and permission of `OPTION_ID` (<integration id>-<option key>) back unchanged, to learn how PATCH is answered (asks first)")
	yes := fs.Bool("yes", false, "send the --write-check without asking (required without a terminal)")
	out := fs.String("out", "", "write the findings with every value removed (shapes only) to `probe.json`, fit for a bug report")
	asJSON := fs.Bool("json", false, "print the findings as JSON on stdout instead of text")
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("probe takes no FILE; see 'polarity-bulk probe --help'", "probe: unexpected argument %q", pos[0])
	}
	if *writeCheck != "" {
		if id, key, ok := bulk.SplitOptionID(*writeCheck); !ok || id == "" || key == "" {
			return usageError("an option id is the integration id, a dash and the option key, e.g. virustotal_node_18_1725278818-blocklist", "--write-check %q is not an option id", *writeCheck)
		}
		if !*yes && !canAsk(stdio) {
			return usageError("add --yes to send the write check without a terminal", "probe: no terminal to confirm the write check on, and --yes was not given: nothing was sent")
		}
	}
	log, err := lf.logger(stdio)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	var exchanges []api.Exchange
	cl, err := conn.clientWith(stdio, log, func(c *api.Config) {
		c.Observe = func(x api.Exchange) {
			mu.Lock()
			exchanges = append(exchanges, x)
			mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	s := &session{client: cl, log: log, server: conn.resolvedURL(stdio)}
	defer s.close()

	obs := probe.Observations{
		Tool: toolVersion(), Server: s.server, Insecure: conn.insecure,
		Timeout: conn.timeout, Rate: conn.rate.perSec,
	}
	if u, err := url.Parse(s.server); err == nil {
		obs.Scheme = u.Scheme
	}
	if err := probeReads(ctx, cl, &obs); err != nil {
		return err
	}
	if conn.rate.auto {
		obs.Rate = cl.Pace().Rate // the rate --rate auto reached
	}
	if *writeCheck != "" && obs.FirstErr == nil && obs.AllErr == nil {
		w, err := probeWrite(ctx, cl, obs.All, *writeCheck, *yes, s.server, stdio)
		if err != nil {
			return err
		}
		obs.Write = w
	}
	obs.Now, obs.Auth, obs.Shapes = time.Now(), cl.Auth(), cl.Shapes()
	mu.Lock()
	obs.Exchanges = slices.Clone(exchanges)
	mu.Unlock()
	rep := probe.Evaluate(obs)

	if *asJSON {
		err = report.ProbeJSON(stdio.Out, rep)
	} else {
		err = report.ProbeText(stdio.Out, rep)
	}
	if err != nil {
		return err
	}
	if *out != "" {
		if err := report.WriteFile(*out, 0o644, func(w io.Writer) error { return report.ProbeJSON(w, rep.Public()) }); err != nil {
			return failure("", fmt.Errorf("write probe report: %w", err))
		}
		fmt.Fprintf(stdio.Err, "probe report written to %s: shapes and counts only (no value, id, name or secret), fit to attach to a bug report\n", *out)
	}
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
