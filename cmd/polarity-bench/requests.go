package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// The requests run: a file touching every fourth of 2,000 integrations, a tenth of them
// already as asked.
const (
	reqIntegrations = 2000
	reqEvery        = 4
	reqSameEvery    = 10
)

// tally counts the requests a server received, by kind.
type tally struct {
	list, get, patch, login, refresh, logout, other int
}

func (t tally) total() int {
	return t.list + t.get + t.patch + t.login + t.refresh + t.logout + t.other
}

func (t tally) String() string {
	parts := []string{fmt.Sprintf("%d list", t.list), fmt.Sprintf("%d PATCH", t.patch)}
	for _, p := range []struct {
		n    int
		name string
	}{{t.get, "single GET"}, {t.login, "login"}, {t.refresh, "refresh"}, {t.logout, "logout"}, {t.other, "other"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	return strings.Join(parts, " + ")
}

func count(reqs []fake.Request) tally {
	var t tally
	for _, r := range reqs {
		switch {
		case r.Method == "GET" && r.Path == "/api/integrations":
			t.list++
		case r.Method == "GET" && strings.HasPrefix(r.Path, "/api/integrations/"):
			t.get++
		case r.Method == "PATCH" && r.Path == "/api/integration-options":
			t.patch++
		case r.Path == "/api/users/login":
			t.login++
		case r.Path == "/api/users/refresh":
			t.refresh++
		case r.Path == "/api/users/logout":
			t.logout++
		default:
			t.other++
		}
	}
	return t
}

func requests(ctx context.Context, cfg config, out io.Writer) error {
	fix := fake.Synthetic(reqIntegrations, cfg.seed)
	file := filepath.Join(cfg.tmp, "requests.csv")
	touched := 0
	changed, err := rolloutFile(file, fix, func(i int) (bool, bool) {
		if i%reqEvery != 0 {
			return false, false
		}
		touched++
		return true, (i/reqEvery)%reqSameEvery != reqSameEvery-1
	})
	if err != nil {
		return err
	}
	// The fewest list pages the server allows: it caps page[size] at fake.MaxPageSize.
	pages := (reqIntegrations + fake.MaxPageSize - 1) / fake.MaxPageSize

	type runSpec struct {
		name    string
		args    []string
		minimum int
	}
	fast := []string{"--concurrency", "8", "--rate", "10000"}
	specs := []runSpec{
		{"plan", []string{"plan", file}, pages},
		{"apply --no-verify", append([]string{"apply", file, "--yes", "--no-verify"}, fast...), pages + changed},
		{"apply (read-back verify)", append([]string{"apply", file, "--yes"}, fast...), 2*pages + changed},
	}
	auths := []struct {
		name string
		env  []string
		cost int // login + logout
	}{
		{"API key", []string{"POLARITY_API_KEY=" + fake.DefaultAPIKey}, 0},
		{"username/password", []string{"POLARITY_USERNAME=" + fake.DefaultUsername, "POLARITY_PASSWORD=" + fake.DefaultPassword}, 2},
	}

	fmt.Fprintf(out, "\n2. requests sent: a file touching %d of %d integrations (3 options each), %d of them with changes; list pages hold at most %d\n",
		touched, reqIntegrations, changed, fake.MaxPageSize)
	fmt.Fprintf(out, "   minimum = %d list pages (+ %d more to read back) + one PATCH per changed integration + login and logout with a password\n", pages, pages)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   command\tauth\tsent\tminimum\ttarget =\tsent, by kind\t")
	runs := 0
	for _, sp := range specs {
		for _, au := range auths {
			fmt.Fprintf(cfg.log, "requests: %s, %s\n", sp.name, au.name)
			s, err := startServer(cfg, fix, fake.Config{})
			if err != nil {
				return err
			}
			args := append([]string{}, sp.args...)
			if sp.name != "plan" {
				runs++
				args = append(args, "--report-dir", filepath.Join(cfg.tmp, fmt.Sprintf("requests-report-%d", runs)))
			}
			args = append(args, s.connArgs()...)
			env := append([]string{"POLARITY_URL=" + s.url}, au.env...)
			_, err = runChild(ctx, cfg.bin, args, env)
			t := count(s.fake.Requests())
			s.close()
			if err != nil {
				return err
			}
			min := sp.minimum + au.cost
			fmt.Fprintf(tw, "   %s\t%s\t%d\t%d\t%s\t%s\t\n", sp.name, au.name, t.total(), min, mark(t.total() == min), t)
		}
	}
	tw.Flush()
	return nil
}
