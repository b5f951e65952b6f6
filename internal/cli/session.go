package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/api"
	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/plan"
)

// session is a validated file planned against a live server: what plan prints and apply
// sends. Both commands build it the same way, so the dry run and the real run agree.
type session struct {
	in     *input
	client *api.Client
	log    *slog.Logger
	server string
	plan   bulk.Plan
}

// fewIDs is the largest number of integrations read one GET each rather than through the
// list endpoint: one list page holds hundreds, so more single reads would cost more requests.
const fewIDs = 1

// prepare validates the file offline first (nothing is sent while it has problems), then reads
// the server's state and plans. Problems found against the server come back as bulk.Problems.
func prepare(ctx context.Context, file string, cf *connFlags, log *slog.Logger, stdio Stdio) (*session, error) {
	in, err := readInput(file, stdio)
	if err != nil {
		return nil, err
	}
	cl, err := cf.client(stdio, log)
	if err != nil {
		return nil, err
	}
	s := &session{in: in, client: cl, log: log, server: cf.resolvedURL(stdio)}
	ids, byName := named(in.Rows)
	state, err := readState(ctx, cl, ids, byName, log)
	if err != nil {
		s.close()
		return nil, err
	}
	p, probs := plan.Build(in.Name, in.Rows, state)
	if len(probs.Fatal()) > 0 {
		s.close()
		return nil, probs
	}
	for _, w := range probs {
		fmt.Fprintln(stdio.Err, w.Error())
	}
	s.plan = p
	return s, nil
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
// integration by name alone.
func named(rows []bulk.Row) (ids []string, byName bool) {
	seen := map[string]bool{}
	for _, r := range rows {
		switch {
		case r.IntegrationID == "":
			byName = true
		case !seen[r.IntegrationID]:
			seen[r.IntegrationID] = true
			ids = append(ids, r.IntegrationID)
		}
	}
	return ids, byName
}

// readState reads the integrations with the given ids (all of them when some are named by
// name): the list endpoint, whose pages hold hundreds of integrations, unless very few ids
// are wanted.
func readState(ctx context.Context, cl *api.Client, ids []string, byName bool, log *slog.Logger) ([]bulk.Integration, error) {
	if !byName && len(ids) <= fewIDs {
		var out []bulk.Integration
		for _, id := range ids {
			in, err := cl.Integration(ctx, id)
			if errors.Is(err, api.ErrNotFound) {
				continue // the planner reports the missing id with its line
			}
			if err != nil {
				return nil, serverError(err)
			}
			out = append(out, in)
		}
		return out, nil
	}
	all, err := cl.Integrations(ctx, false)
	if err != nil {
		return nil, serverError(err)
	}
	log.Info("read server state", "integrations", len(all), "requests", cl.Requests())
	return all, nil
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
