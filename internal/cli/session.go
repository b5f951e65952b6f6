package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/plan"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
	"github.com/polarity-bulk/polarity-bulk/internal/sheet"
)

// session is a validated file planned against a live server: what plan prints and apply
// sends. Both commands build it the same way, so the dry run and the real run agree.
type session struct {
	in     *input
	client *api.Client
	log    *slog.Logger
	server string
	plan   bulk.Plan
	// cred keys the digests of the ${NAME} values: the credential the client authenticates
	// with.
	cred secret.Credential
}

// selection is the flags that choose integrations and options, as export and describe take
// them (describe has no --option-key).
type selection struct{ ids, names, keys, kinds repeated }

// readSelected is how export and describe read the server once their flags are parsed: the
// filter of their selection (refused before anything is sent), a session, and the
// integrations and options the filter selects (among the running integrations only, with
// runningOnly). The caller closes the session (log out); after an error there is none.
func readSelected(ctx context.Context, stdio Stdio, cf *connFlags, lf *logFlags, sel selection, runningOnly bool) (*filter, *session, []bulk.Integration, error) {
	f, err := newFilter(sel.ids, sel.names, sel.keys, sel.kinds)
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := lf.logger(stdio)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := cf.client(stdio, log)
	if err != nil {
		return nil, nil, nil, err
	}
	s := &session{client: cl, log: log}
	all, err := cl.Integrations(ctx, runningOnly)
	if err != nil {
		s.close()
		return nil, nil, nil, serverError(err)
	}
	log.Info("read server state", "integrations", len(all), "requests", cl.Requests())
	return f, s, f.options(f.integrations(all)), nil
}

// prepare validates the file offline first (nothing is sent while it has problems), then reads
// the server's state and plans. Problems found against the server come back as bulk.Problems.
//
// rec is set when the file's path came from a journal or a saved plan, not from the command
// line (see readInput). before, when not nil, runs once the file is read and the client is
// built, before the first request: what it refuses is refused with nothing sent.
//
// One round (SPEC.md section 2): when the file has offline problems, the rows that passed
// are still planned against the server (which only reads), and its problems come back with
// the offline ones in line order; nothing is sent. That is skipped when nothing can come of
// it: no row passed (a bad header), the offline list is capped already, the file's path
// came from a record, or what before checks refuses.
func prepare(ctx context.Context, src source, cf *connFlags, log *slog.Logger, stdio Stdio, before func(*session) error) (*session, error) {
	in, err := readAll(src, stdio)
	if err != nil {
		return nil, err
	}
	if src.rec == nil {
		backupNotice(src.path, stdio)
	}
	offline := in.Problems
	if len(offline) > 0 && (src.rec != nil || len(in.Rows) == 0 || capped(offline)) {
		return nil, offline
	}
	in.logRead(log)
	cfg, err := cf.config(stdio, log)
	if err != nil {
		return nil, orOffline(offline, err)
	}
	creds, key := cf.credentials(cfg)
	if probs := sheet.CheckCredentials(in.Name, in.Rows, creds); len(probs) > 0 {
		return nil, merge(in.Name, offline, probs) // such a row is not planned: it names a credential
	}
	cl, err := newClient(cfg)
	if err != nil {
		return nil, orOffline(offline, err)
	}
	s := &session{in: in, client: cl, log: log, server: cf.resolvedURL(stdio), cred: key}
	if before != nil {
		if err := before(s); err != nil {
			return nil, orOffline(offline, err)
		}
	}
	ids, byName := named(in.Rows)
	state, err := readState(ctx, cl, ids, byName, log)
	if err != nil {
		s.close()
		if len(offline) > 0 {
			log.Warn("the server-aware checks did not run", "err", err)
		}
		return nil, orOffline(offline, err)
	}
	p, probs := plan.Build(in.Name, in.Rows, state)
	if len(probs.Fatal()) > 0 || len(offline) > 0 {
		s.close()
		return nil, merge(in.Name, offline, probs)
	}
	n := p.Count()
	log.Info("planned", "integrations", n.Integrations, "integrations to update", n.Changed,
		"options to update", n.Updates, "options unchanged", n.Unchanged, "warnings", len(p.Warnings))
	con := consoleOf(stdio)
	for _, w := range probs {
		con.problem(w)
	}
	// One list of warnings, the reader's and the planner's in line order, goes with the plan
	// into every output: the stdout plan, plan.json, plan.md, results.json, summary.md.
	p.Warnings = append(slices.Clone(in.Warnings), p.Warnings...)
	slices.SortStableFunc(p.Warnings, func(a, b bulk.Problem) int { return cmp.Compare(a.Line, b.Line) })
	s.plan = p
	return s, nil
}

// capped reports whether a list of problems was cut (it ends with "... and N more").
func capped(ps bulk.Problems) bool {
	return len(ps) > 0 && strings.HasPrefix(ps[len(ps)-1].Msg, "... and ")
}

// orOffline is err, or the offline problems when there are any: they are what the user
// fixes first, and the server-aware checks could not run.
func orOffline(offline bulk.Problems, err error) error {
	if len(offline) > 0 {
		return offline
	}
	return err
}

// merge puts the offline and the server-aware problems into one list in line order (the
// file's own first), capped as each list is.
func merge(file string, offline, server bulk.Problems) bulk.Problems {
	var closing bulk.Problems
	all := make(bulk.Problems, 0, len(offline)+len(server))
	for _, ps := range []bulk.Problems{offline, server} {
		if capped(ps) {
			closing, ps = append(closing, ps[len(ps)-1]), ps[:len(ps)-1]
		}
		all = append(all, ps...)
	}
	slices.SortStableFunc(all, func(a, b bulk.Problem) int { return cmp.Compare(a.Line, b.Line) })
	all = all.Cap(file, plan.MaxProblems)
	if len(closing) == 0 {
		return all
	}
	// Fold the lists' own closing counts into one.
	n, fatal := 0, 0
	if capped(all) {
		last := all[len(all)-1]
		all = all[:len(all)-1]
		fmt.Sscanf(last.Msg, "... and %d more", &n)
		fatal = last.Omitted
	}
	for _, c := range closing {
		m := 0
		fmt.Sscanf(c.Msg, "... and %d more", &m)
		n, fatal = n+m, fatal+c.Omitted
	}
	return append(all, bulk.Problem{File: file, Msg: fmt.Sprintf("... and %d more problems not shown", n), Warning: fatal == 0, Omitted: fatal})
}

// close logs out, even after an interrupt, within a short time.
func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.client.Close(ctx); err != nil {
		s.log.Warn("log out", "err", err)
	}
}

// named returns the distinct integration ids the rows name, and whether any row names its
// integration by name alone or by a pattern (then every integration is read: the list
// endpoint's pages, the same requests as a file that names one integration by name).
func named(rows []bulk.Row) (ids []string, byName bool) {
	seen := map[string]bool{}
	for _, r := range rows {
		switch {
		case r.IntegrationID == "" || bulk.IsPattern(r.IntegrationID):
			byName = true
		case !seen[r.IntegrationID]:
			seen[r.IntegrationID] = true
			ids = append(ids, r.IntegrationID)
		}
	}
	return ids, byName
}

// readState reads the integrations with the given ids (all of them when some are named by
// name), with as few requests as the API allows (see api.Client.ReadIDs).
func readState(ctx context.Context, cl *api.Client, ids []string, byName bool, log *slog.Logger) ([]bulk.Integration, error) {
	var state []bulk.Integration
	var err error
	if byName {
		state, err = cl.Integrations(ctx, false)
	} else {
		state, err = cl.ReadIDs(ctx, ids)
		if err == nil && len(ids) == 1 && len(state) == 0 {
			// The one id, read alone, is not on the server: the planner suggests the ids it
			// may be a typo of, which needs the list (read on this path of problems only;
			// for more ids ReadIDs read the list already).
			state, err = cl.Integrations(ctx, false)
		}
	}
	if err != nil {
		return nil, serverError(err)
	}
	log.Info("read server state", "integrations", len(state), "requests", cl.Requests())
	return state, nil
}

// serverError gives a failed read a hint that fits its cause.
func serverError(err error) error {
	var badCert *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted while reading the server's state: nothing was sent")}
	case errors.Is(err, api.ErrAuth):
		return failure("check POLARITY_API_KEY (or the username and password): the server refused them", err)
	case errors.Is(err, api.ErrForbidden):
		return failure("the account or API key lacks rights to these integrations: an API key is scoped to chosen integrations", err)
	case errors.As(err, &badCert):
		return failure("the server's TLS certificate is not trusted: pass the CA that signed it with --ca-cert FILE, and use the host name the certificate names in --url", err)
	}
	return failure("check --url and that the server is reachable; -v -v logs every request", err)
}

// envValues are the resolved values of the ${NAME} cells, by CSV line: what the keyed digests
// cover. Literals need none: the file's SHA-256 covers them.
func envValues(rows []bulk.Row) map[int]string {
	out := map[int]string{}
	for _, r := range rows {
		if r.Value.Env != "" {
			out[r.Line] = r.Value.Text
		}
	}
	return out
}

// checkDigests compares the ${NAME} values of s with the digests rec recorded (what is "the
// run in DIR" or "the plan"). It refuses values that differ, naming their rows, never the
// values; and values it cannot compare (another credential, or no digests recorded) unless
// allowUnverified, in which case it warns and reports verified false.
func checkDigests(s *session, rec *secret.Digests, what, hint string, allowUnverified bool) (verified bool, err error) {
	values := envValues(s.in.Rows)
	if len(values) == 0 {
		return true, nil
	}
	why := "it records no digests of its ${NAME} values (made by an older polarity-bulk)"
	if rec != nil {
		same, differ, err := rec.Same(s.cred, values)
		switch {
		case err != nil:
			why = "its digests of the ${NAME} values cannot be read (" + err.Error() + ")"
		case same && len(differ) == 0:
			return true, nil
		case same:
			env := map[int]string{}
			for _, r := range s.in.Rows {
				env[r.Line] = r.Value.Env
			}
			var lines []string
			for _, l := range differ {
				lines = append(lines, fmt.Sprintf("%s:%d: value: ${%s}", s.in.Name, l, env[l]))
			}
			return false, failure(hint, fmt.Errorf("%d ${NAME} %s from what %s used (compared by keyed digests; the values are never shown); nothing was sent:\n  %s",
				len(differ), bulk.Plural(len(differ), "value differs", "values differ"), what, strings.Join(lines, "\n  ")))
		default:
			why = "it was made with another credential (API key or password), so its digests of the ${NAME} values cannot be compared"
		}
	}
	if !allowUnverified {
		return false, failure("use the credential it was made with, or pass --allow-unverified-values to go on without the comparison",
			fmt.Errorf("cannot tell whether the ${NAME} values are the ones %s used: %s; nothing was sent", what, why))
	}
	s.log.Warn(fmt.Sprintf("--allow-unverified-values: the ${NAME} values are not compared with the ones %s used: %s", what, why))
	return false, nil
}
