package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"polarity-bulk": main,
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: the real binary's exit codes,
// output and files, against a polarity-fake started for each script on 127.0.0.1.
//
// Each script gets POLARITY_URL and POLARITY_API_KEY for its own fake, and the command
//
//	fake requests [METHOD] N      exactly N requests (of METHOD) were received
//	fake reset                    forget the requests received so far
//	fake value ID KEY JSON        the server holds JSON as the option's value
//	fake perm ID KEY PERMISSION   the server holds the permission (lock-hide, ...)
//	fake drift ID KEY JSON        change an option behind the tool's back
//	fake status ID STATUS         start or stop an integration
//	fake install NEW_ID FROM_ID   install a copy of FROM_ID under the id NEW_ID
//	fake uninstall ID             remove an integration
//	fake every KIND PERMISSION    every option of that kind holds the permission
//	fake patchedonce N            N PATCHes were received, one per integration
//	fake faults JSON              switch faults on (a fake.Faults in JSON)
//	fake config FLAG VALUE        a setting of the running fake, as its command-line flag sets it
//	                              (passwords clear, patch-status 204, options-in attributes, ...)
//	fake patched ID [N]           ID got N PATCHes (default 1)
//
// and "nosecret SECRET PATH..." fails when any file (or any file below a directory) holds
// SECRET, and "release ..." builds and serves a release for the setup action (release_test.go).
// REPO is the repository's root.
func TestScripts(t *testing.T) {
	fixture := filepath.Join("..", "..", "testdata", "fixtures", "integrations.json")
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		// -update rewrites the files a script compares with "cmp stdout FILE" from what the
		// binary printed, as it does the renderers' golden files: read the diff before
		// committing it.
		UpdateScripts: testkit.Updating(),
		Setup: func(env *testscript.Env) error {
			fix, err := fake.LoadFixture(fixture)
			if err != nil {
				return err
			}
			srv, err := fake.New(fix, fake.Config{})
			if err != nil {
				return err
			}
			hs, stop, err := testkit.ServeFake(srv, nil)
			if err != nil {
				return err
			}
			env.Defer(stop)
			env.Values["fake"] = srv
			env.Values["release"] = new(releaseServer)
			env.Setenv("POLARITY_URL", hs.URL)
			env.Setenv("POLARITY_API_KEY", "polarity-fake-api-key")
			env.Setenv("NO_COLOR", "1")
			// Under -race every process sleeps 1s at exit by default: scripts run dozens.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			env.Setenv("FIXTURE", mustAbs(fixture))
			env.Setenv("REPO", mustAbs(filepath.Join("..", "..")))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fake":      cmdFake,
			"nosecret":  cmdNoSecret,
			"jsonlines": cmdJSONLines,
			"release":   cmdRelease,
		},
	})
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func cmdFake(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value("fake").(*fake.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: fake requests|reset|value|perm|drift|status|faults|config|patched ...")
	}
	check := func(ok bool, format string, a ...any) {
		if ok == neg {
			if neg {
				ts.Fatalf("unexpectedly true: "+format, a...)
			}
			ts.Fatalf(format, a...)
		}
	}
	switch args[0] {
	case "requests":
		method := ""
		if len(args) == 3 {
			method = args[1]
		}
		want, err := strconv.Atoi(args[len(args)-1])
		ts.Check(err)
		got := 0
		for _, r := range srv.Requests() {
			if method == "" || r.Method == method {
				got++
			}
		}
		check(got == want, "%d %s requests received, want %d", got, method, want)
	case "reset":
		srv.ResetRequests()
	case "patched":
		want := 1
		if len(args) == 3 {
			n, err := strconv.Atoi(args[2])
			ts.Check(err)
			want = n
		}
		got := 0
		for _, r := range srv.Requests() {
			if r.Method == http.MethodPatch && strings.Contains(string(r.Body), `"`+args[1]+`-`) {
				got++
			}
		}
		check(got == want, "%s got %d PATCHes, want %d", args[1], got, want)
	case "value", "perm":
		if len(args) != 4 {
			ts.Fatalf("usage: fake %s ID KEY WANT", args[0])
		}
		in, ok := srv.Integration(args[1])
		if !ok {
			ts.Fatalf("no integration %s", args[1])
		}
		for _, o := range in.Options {
			if o.Key != args[2] {
				continue
			}
			if args[0] == "value" {
				check(testkit.SameJSON(o.Value, []byte(args[3])), "%s %s holds %s, want %s", args[1], args[2], o.Value, args[3])
			} else {
				got := permission(o.AdminOnly, o.UserCanEdit)
				check(got == args[3], "%s %s has permission %s, want %s", args[1], args[2], got, args[3])
			}
			return
		}
		ts.Fatalf("integration %s has no option %s", args[1], args[2])
	case "drift":
		ts.Check(srv.SetOption(args[1], args[2], json.RawMessage(args[3])))
	case "status":
		ts.Check(srv.SetStatus(args[1], args[2]))
	case "install":
		// install NEW_ID FROM_ID: a copy of FROM_ID, as when a second copy of an integration
		// is installed.
		in, ok := srv.Integration(args[2])
		if !ok {
			ts.Fatalf("no integration %s", args[2])
		}
		in.ID = args[1]
		ts.Check(srv.Install(in))
	case "uninstall":
		ts.Check(srv.Uninstall(args[1]))
	case "every":
		// every KIND PERMISSION: every option of that kind, in every integration, holds it.
		n := 0
		for _, in := range srv.State() {
			for _, o := range in.Options {
				if string(o.Type) != args[1] {
					continue
				}
				n++
				got := permission(o.AdminOnly, o.UserCanEdit)
				check(got == args[2], "%s %s has permission %s, want %s", in.ID, o.Key, got, args[2])
			}
		}
		if n == 0 {
			ts.Fatalf("no option of kind %s", args[1])
		}
	case "patchedonce":
		// patchedonce N: exactly N PATCHes were received, each for a different integration.
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		per := map[string]int{}
		total := 0
		for _, r := range srv.Requests() {
			if r.Method != http.MethodPatch {
				continue
			}
			total++
			var body struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			ts.Check(json.Unmarshal(r.Body, &body))
			ids := map[string]bool{}
			for _, d := range body.Data {
				id, _, _ := strings.Cut(d.ID, "-")
				ids[id] = true
			}
			check(len(ids) == 1, "a PATCH for %d integrations", len(ids))
			for id := range ids {
				per[id]++
			}
		}
		for id, k := range per {
			check(k == 1, "%s got %d PATCHes", id, k)
		}
		check(total == want && len(per) == want, "%d PATCHes for %d integrations, want %d", total, len(per), want)
	case "faults":
		var f fake.Faults
		ts.Check(json.Unmarshal([]byte(args[1]), &f))
		ts.Check(srv.SetFaults(f))
	case "config":
		if len(args) != 3 {
			ts.Fatalf("usage: fake config FLAG VALUE (a polarity-fake flag, e.g. passwords clear)")
		}
		cfg, err := fake.SetFlag(srv.Config(), args[1], args[2])
		ts.Check(err)
		ts.Check(srv.SetConfig(cfg))
	default:
		ts.Fatalf("unknown fake command %s", args[0])
	}
}

func permission(adminOnly, userCanEdit bool) string {
	switch {
	case adminOnly && !userCanEdit:
		return "lock-hide"
	case !adminOnly && !userCanEdit:
		return "lock-show"
	case !adminOnly && userCanEdit:
		return "user-provides"
	}
	return "invalid"
}

func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: nosecret SECRET PATH...")
	}
	secret := testkit.Secret{Name: "SECRET", Marker: args[0]}
	for _, p := range args[1:] {
		places, err := testkit.Files(ts.MkAbs(p), nil)
		ts.Check(err)
		for _, l := range testkit.Search(places, []testkit.Secret{secret}) {
			ts.Fatalf("%s holds the secret", filepath.Join(p, l.Place))
		}
	}
}

// cmdJSONLines: jsonlines FILE [KIND...] checks that every line of FILE (stderr, stdout or a
// file) is one JSON object with time, level and msg, and that each KIND is the "kind" of at
// least one of them.
func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: jsonlines FILE [KIND...]")
	}
	text := strings.TrimSuffix(ts.ReadFile(args[0]), "\n")
	if text == "" {
		ts.Fatalf("%s is empty", args[0])
	}
	kinds := map[string]int{}
	for i, line := range strings.Split(text, "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			ts.Fatalf("%s line %d is not a JSON object: %q", args[0], i+1, line)
		}
		for _, f := range []string{"time", "level", "msg"} {
			if _, ok := e[f].(string); !ok {
				ts.Fatalf("%s line %d has no %s: %q", args[0], i+1, f, line)
			}
		}
		k, _ := e["kind"].(string)
		kinds[k]++
	}
	for _, k := range args[1:] {
		if kinds[k] == 0 {
			ts.Fatalf("%s has no line of kind %q (kinds: %v)", args[0], k, kinds)
		}
	}
}
