package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/cli"
	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

const fixturePath = "../../testdata/fixtures/integrations.json"

// result is what one in-process run of the command line left behind.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line in-process with the given environment and standard input, no
// terminal, and NO_COLOR set.
func run(t *testing.T, env map[string]string, stdin []byte, args ...string) result {
	t.Helper()
	return runWith(t, env, stdin, false, args...)
}

// runWith is run, on a terminal or not.
func runWith(t *testing.T, env map[string]string, stdin []byte, terminal bool, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	vars := map[string]string{"NO_COLOR": "1"}
	for k, v := range env {
		vars[k] = v
	}
	stdio := cli.Stdio{
		In:  bytes.NewReader(stdin),
		Out: &out, Err: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Terminal:  func(any) bool { return terminal },
	}
	code := cli.Main(context.Background(), args, stdio)
	return result{code, out.String(), errOut.String()}
}

// startFake serves a polarity-fake on 127.0.0.1 for the test and returns it with the
// environment that points the tool at it.
func startFake(t *testing.T, fix *fake.Fixture, cfg fake.Config) (*fake.Server, map[string]string) {
	t.Helper()
	srv, err := fake.New(fix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := testkit.StartFake(t, srv, nil)
	return srv, map[string]string{"POLARITY_URL": hs.URL, "POLARITY_API_KEY": fake.DefaultAPIKey}
}

func loadFixture(t *testing.T) *fake.Fixture {
	t.Helper()
	fix, err := fake.LoadFixture(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	return fix
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// crlf turns a file written with \n into one with \r\n line ends, quoted line breaks
// included, as Excel on Windows writes it.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const bom = "\xef\xbb\xbf"

// TestValidateBOMAndCRLF: a BOM and CRLF line ends, from a file and from standard input,
// with a quoted multi-line cell; problems after that cell carry their physical line.
func TestValidateBOMAndCRLF(t *testing.T) {
	t.Parallel()
	good := bom + crlf(`Integration ID,Option-Key,VALUE,permission
virustotal_node_18_1725278818,blocklist,"8.8.8.8,
1.1.1.1",lock-hide
abuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,90,
`)
	dir := t.TempDir()
	path := writeFile(t, dir, "excel.csv", []byte(good))

	r := run(t, nil, nil, "validate", path)
	wantCode(t, r, 0)
	if want := path + ": valid: 2 rows, 2 integrations, 2 options (offline checks; 'plan' checks them against the server)\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if r.stderr != "" {
		t.Errorf("stderr %q, want none", r.stderr)
	}

	r = run(t, nil, []byte(good), "validate", "-")
	wantCode(t, r, 0)
	if want := "<stdin>: valid: 2 rows, 2 integrations, 2 options (offline checks; 'plan' checks them against the server)\n"; r.stdout != want {
		t.Errorf("stdin: stdout %q, want %q", r.stdout, want)
	}

	bad := bom + crlf(`integration_id,option_key,value,permission
virustotal_node_18_1725278818,blocklist,"8.8.8.8,
1.1.1.1,
9.9.9.9",lock-everything
,maxAge,90,
abuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,${UNSET_IN_TEST},
`)
	r = run(t, nil, []byte(bad), "validate", "-")
	wantCode(t, r, cli.ExitInvalid)
	want := `<stdin>:4: permission: unknown permission "lock-everything": use lock-hide, lock-show or user-provides
<stdin>:5: row has neither integration_id nor integration_name: fill in one of them
<stdin>:6: value: environment variable UNSET_IN_TEST is not set: set it before running (export UNSET_IN_TEST=...), or in CI add it to the job's environment
polarity-bulk: 3 problems in the input; nothing was sent to the server
`
	if r.stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want none", r.stdout)
	}
}

// TestValidateUTF16: a UTF-16 file (Excel's "Unicode text") is named as such.
func TestValidateUTF16(t *testing.T) {
	t.Parallel()
	r := run(t, nil, []byte("\xff\xfei\x00n\x00"), "validate", "-")
	wantCode(t, r, cli.ExitInvalid)
	if !strings.HasPrefix(r.stderr, "<stdin>: file is UTF-16 encoded: save it as UTF-8") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestPlanBOMAndCRLF: a BOM + CRLF file plans against the server like its LF twin; the
// quoted line break arrives as \n, not \r\n.
func TestPlanBOMAndCRLF(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{})
	lf := `integration_id,option_key,value
splunk_3_8_2_node_18_1d2c3b4a5f_1725440000,searchString,"index=main
| head 5"
`
	want := run(t, env, []byte(lf), "plan", "-")
	wantCode(t, want, 0)
	if !strings.Contains(want.stdout, `"index=main TERM({{ENTITY}}) | head 10" → "index=main\n| head 5"  [line 2]`) {
		t.Fatalf("LF plan:\n%s", want.stdout)
	}
	got := run(t, env, []byte(bom+crlf(lf)), "plan", "-")
	wantCode(t, got, 0)
	if got.stdout != want.stdout {
		t.Errorf("BOM+CRLF plan:\n%s\nLF plan:\n%s", got.stdout, want.stdout)
	}
}

// TestExitCodes checks the exact exit code of each outcome the testscripts can only tell
// from zero.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{})
	change := []byte("integration_id,option_key,value\nabuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,90\n")
	same := []byte("integration_id,option_key,value\nabuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,365\n")
	unknownKey := []byte("integration_id,option_key,value\nabuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxage,90\n")
	badCSV := []byte("integration_id,option_key,value\nabuseipdb_3_3_4_node_18_71ff23754e_1725342515,,90\n")
	down := map[string]string{"POLARITY_URL": "http://127.0.0.1:1", "POLARITY_API_KEY": "k"}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		stdin []byte
		args  []string
		code  int
	}{
		{"validate valid", nil, change, []string{"validate", "-"}, cli.ExitOK},
		{"validate invalid", nil, badCSV, []string{"validate", "-"}, cli.ExitInvalid},
		{"validate missing file", nil, nil, []string{"validate", "no-such-file.csv"}, cli.ExitInvalid},
		{"validate no FILE", nil, nil, []string{"validate"}, cli.ExitUsage},
		{"validate two FILEs", nil, nil, []string{"validate", "a.csv", "b.csv"}, cli.ExitUsage},
		{"validate unknown flag", nil, nil, []string{"validate", "--frobnicate", "-"}, cli.ExitUsage},
		{"validate --help", nil, nil, []string{"validate", "--help"}, cli.ExitOK},
		{"plan changes", env, change, []string{"plan", "-"}, cli.ExitOK},
		{"plan changes detailed", env, change, []string{"plan", "--detailed-exitcode", "-"}, cli.ExitChanges},
		{"plan no changes detailed", env, same, []string{"plan", "-", "--detailed-exitcode"}, cli.ExitOK},
		{"plan unknown key", env, unknownKey, []string{"plan", "--detailed-exitcode", "-"}, cli.ExitInvalid},
		{"plan invalid csv", env, badCSV, []string{"plan", "-"}, cli.ExitInvalid},
		{"plan no url", map[string]string{"POLARITY_API_KEY": "k"}, change, []string{"plan", "-"}, cli.ExitUsage},
		{"plan server down", down, change, []string{"plan", "--retries", "0", "-"}, cli.ExitFailure},
		{"export unknown id", env, nil, []string{"export", "--integration-id", "nope_1"}, cli.ExitFailure},
	} {
		r := run(t, tc.env, tc.stdin, tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.name, r.code, tc.code, r.stdout, r.stderr)
		}
	}
}

// TestPlanReadsStateWithOneListRequest: a file that touches 500 of 1,000 integrations is
// planned from one request, the list endpoint with page[size]=1000, and no per-integration
// GET; by id or by name.
func TestPlanReadsStateWithOneListRequest(t *testing.T) {
	t.Parallel()
	fix := fake.Synthetic(1000, 1)
	var byID, byName strings.Builder
	byID.WriteString("integration_id,option_key,value\n")
	byName.WriteString("integration_name,option_key,value\n")
	for i := 0; i < len(fix.Integrations); i += 2 {
		in := fix.Integrations[i]
		fmt.Fprintf(&byID, "%s,url,https://new-%d.example.invalid\n", in.ID, i)
		fmt.Fprintf(&byName, "%s,url,https://new-%d.example.invalid\n", strings.ToUpper(in.Name), i)
	}
	for _, tc := range []struct {
		name string
		csv  string
	}{{"by id", byID.String()}, {"by name", byName.String()}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := startFake(t, fix, fake.Config{})
			r := run(t, env, []byte(tc.csv), "plan", "--rate", "1000", "--detailed-exitcode", "-")
			wantCode(t, r, cli.ExitChanges)
			if want := "Plan: 500 integrations to update, 0 unchanged; 500 options to update, 0 unchanged.\n"; !strings.HasPrefix(r.stdout, want) {
				t.Errorf("stdout starts %q, want %q", firstLine(r.stdout), want)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				for _, q := range reqs {
					t.Logf("%s %s?%s", q.Method, q.Path, q.Query)
				}
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			q := reqs[0]
			query, err := url.ParseQuery(q.Query)
			if err != nil {
				t.Fatal(err)
			}
			if q.Method != http.MethodGet || q.Path != "/api/integrations" || query.Get("page[size]") != "1000" || query.Get("page[number]") != "1" {
				t.Errorf("request %s %s?%s, want GET /api/integrations?page[size]=1000&page[number]=1", q.Method, q.Path, q.Query)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestPlanReadsStateByID: a file that names one integration by id reads it with one GET of
// that integration; two integrations take one list request; a missing id is an input error
// found with that one GET, then the list is read for the ids it may be a typo of.
func TestPlanReadsStateByID(t *testing.T) {
	t.Parallel()
	fix := loadFixture(t)
	const abuse = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
	for _, tc := range []struct {
		name     string
		csv      string
		code     int
		path     string
		then     string // a second GET, of the list
		stderrRE string
	}{
		{
			name: "one id",
			csv:  "integration_id,option_key,value\n" + abuse + ",maxAge,90\n" + abuse + ",minScore,10\n",
			code: cli.ExitOK, path: "/api/integrations/" + abuse,
		},
		{
			name: "two ids",
			csv:  "integration_id,option_key,value\n" + abuse + ",maxAge,90\nwikipedia_3_1_2_node_18_9e8d7c6b5a_1725480000,maxResults,5\n",
			code: cli.ExitOK, path: "/api/integrations",
		},
		{
			name: "one name",
			csv:  "integration_name,option_key,value\nAbuseIPDB,maxAge,90\n",
			code: cli.ExitOK, path: "/api/integrations",
		},
		{
			name: "missing id",
			csv:  "integration_id,option_key,value\nnot_there_1,maxAge,90\n",
			code: cli.ExitInvalid, path: "/api/integrations/not_there_1", then: "/api/integrations",
			stderrRE: `(?m)^<stdin>:2: integration_id: no integration not_there_1 on the server: check the id with 'polarity-bulk export', or use integration_name$`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, env := startFake(t, fix, fake.Config{})
			r := run(t, env, []byte(tc.csv), "plan", "-")
			wantCode(t, r, tc.code)
			if tc.stderrRE != "" && !regexp.MustCompile(tc.stderrRE).MatchString(r.stderr) {
				t.Errorf("stderr %q does not match %s", r.stderr, tc.stderrRE)
			}
			reqs := srv.Requests()
			if tc.then != "" && len(reqs) == 2 && reqs[1].Method == http.MethodGet && reqs[1].Path == tc.then {
				reqs = reqs[:1]
			}
			if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != tc.path {
				for _, q := range reqs {
					t.Logf("%s %s?%s", q.Method, q.Path, q.Query)
				}
				t.Fatalf("%d requests, want exactly one GET %s", len(reqs), tc.path)
			}
		})
	}
}

// TestExportIncludeSecretsFileMode: --include-secrets --out writes the passwords to a file
// only its owner can read; without it the file holds no password and is 0644.
func TestExportIncludeSecretsFileMode(t *testing.T) {
	t.Parallel()
	_, env := startFake(t, loadFixture(t), fake.Config{Passwords: fake.PasswordsClear})
	dir := t.TempDir()
	secret := "abuse-0c1d2e3f4a5b6c7d8e9f"
	for _, tc := range []struct {
		name    string
		args    []string
		mode    os.FileMode
		secrets bool
	}{
		{"with secrets", []string{"--include-secrets"}, 0o600, true},
		{"without", nil, 0o644, false},
	} {
		out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".csv")
		r := run(t, env, nil, append([]string{"export", "--out", out}, tc.args...)...)
		wantCode(t, r, 0)
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.mode {
			t.Errorf("%s: mode %v, want %v", tc.name, fi.Mode().Perm(), tc.mode)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(secret)); got != tc.secrets {
			t.Errorf("%s: file holds the AbuseIPDB key: %v, want %v", tc.name, got, tc.secrets)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%s: the key is on stdout or stderr", tc.name)
		}
	}
	// Nothing but the two files: no temporary file is left behind.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Errorf("%d files in the output directory, want 2", len(ents))
	}
}

// TestPlanGolden compares the stdout diff, plan.json and plan.md of the real command line
// against the fixture with testdata/plan.*.golden; -update rewrites them. The server URL,
// the creation time and the tool version are normalised. The step summary gets exactly
// plan.md, appended.
func TestPlanGolden(t *testing.T) {
	// Not parallel: it changes directory so that the plan records a stable input path.
	csv, err := os.ReadFile(filepath.Join("testdata", "plan.csv"))
	if err != nil {
		t.Fatal(err)
	}
	fix := loadFixture(t)
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	writeFile(t, dir, "plan.csv", csv)
	const earlier = "## earlier step\n"
	writeFile(t, dir, "summary.md", []byte(earlier))

	for _, passwords := range []fake.PasswordMode{fake.PasswordsMasked, fake.PasswordsClear} {
		t.Run(string(passwords), func(t *testing.T) {
			srv, env := startFake(t, fix, fake.Config{Passwords: passwords})
			env["CS_SECRET"] = "cs-secret-from-the-environment-31337"
			env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "summary.md")
			if err := os.WriteFile("summary.md", []byte(earlier), 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, env, nil, "plan", "plan.csv", "--out", "plan.json", "--markdown", "plan.md", "--detailed-exitcode")
			wantCode(t, r, cli.ExitChanges)
			if want := "plan written to plan.json: apply it with 'polarity-bulk apply --plan plan.json'\n"; r.stderr != want {
				t.Errorf("stderr %q, want %q", r.stderr, want)
			}
			planJSON, err := os.ReadFile("plan.json")
			if err != nil {
				t.Fatal(err)
			}
			planMD, err := os.ReadFile("plan.md")
			if err != nil {
				t.Fatal(err)
			}
			summary, err := os.ReadFile("summary.md")
			if err != nil {
				t.Fatal(err)
			}
			if string(summary) != earlier+string(planMD) {
				t.Errorf("step summary is not the earlier text followed by plan.md:\n%s", summary)
			}
			for _, secret := range []string{
				env["CS_SECRET"], fake.DefaultAPIKey,
				"new-abuse-key-literal-2468", "vt-3f6a1c0b9e2d4f58a7c1e0d9b8a7f6e5",
				"abuse-0c1d2e3f4a5b6c7d8e9f", "cs-secret-7f8e9d0c1b2a",
			} {
				for name, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "plan.json": string(planJSON), "plan.md": string(planMD)} {
					if strings.Contains(s, secret) {
						t.Errorf("%s holds the secret %q", name, secret)
					}
				}
			}
			norm := normaliser(t, env["POLARITY_URL"])
			testkit.Golden(t, filepath.Join(wd, "testdata", "plan-"+string(passwords)+".txt.golden"), []byte(r.stdout))
			testkit.Golden(t, filepath.Join(wd, "testdata", "plan-"+string(passwords)+".json.golden"), norm(planJSON))
			testkit.Golden(t, filepath.Join(wd, "testdata", "plan-"+string(passwords)+".md.golden"), norm(planMD))
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// normaliser replaces what changes from run to run: the server's URL, the creation time
// and the tool version.
func normaliser(t *testing.T, serverURL string) func([]byte) []byte {
	t.Helper()
	v := run(t, nil, nil, "version")
	fields := strings.Fields(v.stdout)
	if v.code != 0 || len(fields) < 2 {
		t.Fatalf("version: %q", v.stdout)
	}
	tool := fields[1]
	created := regexp.MustCompile(`"created": "[^"]+"`)
	mdTime := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`)
	// The value digests are keyed with a random salt.
	salt := regexp.MustCompile(`"salt": "[^"]+"`)
	digest := regexp.MustCompile(`"(key_check|\d+)": "[0-9a-f]{64}"`)
	return func(b []byte) []byte {
		b = salt.ReplaceAll(b, []byte(`"salt": "SALT"`))
		b = digest.ReplaceAll(b, []byte(`"$1": "DIGEST"`))
		s := strings.ReplaceAll(string(b), serverURL, "http://127.0.0.1:PORT")
		s = strings.ReplaceAll(s, `"tool": "`+tool+`"`, `"tool": "VERSION"`)
		s = strings.ReplaceAll(s, " · "+tool+" · ", " · VERSION · ")
		s = created.ReplaceAllString(s, `"created": "TIME"`)
		s = mdTime.ReplaceAllString(s, "TIME UTC")
		return []byte(s)
	}
}

// TestSessionLogInAndOut: with a username and password, plan and export log in, read, and
// log out at the end; an invalid file is refused before the login.
func TestSessionLogInAndOut(t *testing.T) {
	t.Parallel()
	srv, env := startFake(t, loadFixture(t), fake.Config{})
	delete(env, "POLARITY_API_KEY")
	env["POLARITY_USERNAME"] = fake.DefaultUsername
	env["POLARITY_PASSWORD"] = fake.DefaultPassword
	const abuse = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{
			name:  "plan",
			stdin: "integration_id,option_key,value\n" + abuse + ",maxAge,90\n",
			args:  []string{"plan", "-"},
			want:  []string{"POST /api/users/login", "GET /api/integrations/" + abuse, "POST /api/users/logout"},
		},
		{
			name: "export",
			args: []string{"export", "--integration-name", "wikipedia"},
			want: []string{"POST /api/users/login", "GET /api/integrations", "POST /api/users/logout"},
		},
		{
			name:  "invalid file",
			stdin: "integration_id,option_key,value\n" + abuse + ",,90\n",
			args:  []string{"plan", "-"},
			code:  cli.ExitInvalid,
		},
	} {
		srv.ResetRequests()
		r := run(t, env, []byte(tc.stdin), tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: exit code %d, want %d\nstderr:\n%s", tc.name, r.code, tc.code, r.stderr)
		}
		var got []string
		for _, q := range srv.Requests() {
			got = append(got, q.Method+" "+q.Path)
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: requests\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
		if strings.Contains(r.stdout+r.stderr, fake.DefaultPassword) {
			t.Errorf("%s: the password is on stdout or stderr", tc.name)
		}
	}
}

// TestResumeAsksForTheJournalsServer: without --url, and with POLARITY_URL not naming the
// journal's server, a resume on a terminal asks before sending the credentials there; "no"
// (or anything but "yes") sends nothing.
func TestResumeAsksForTheJournalsServer(t *testing.T) {
	srv, env := startFake(t, loadFixture(t), fake.Config{})
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, dir, "c.csv", []byte("integration_id,option_key,value\n"+
		"abuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,90\n"+
		"servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000,url,https://sn.example.com\n"))
	wantCode(t, run(t, env, nil, "apply", "c.csv", "--yes", "--report-dir", "rep"), cli.ExitFailure)
	noURL := map[string]string{"POLARITY_API_KEY": env["POLARITY_API_KEY"]}

	onTerminal := func(answer string) result {
		var out, errOut bytes.Buffer
		stdio := cli.Stdio{
			In: strings.NewReader(answer), Out: &out, Err: &errOut,
			LookupEnv: func(k string) (string, bool) { v, ok := noURL[k]; return v, ok },
			Terminal:  func(any) bool { return true },
		}
		code := cli.Main(context.Background(), []string{"apply", "--resume", "rep", "--yes", "--no-color"}, stdio)
		return result{code, out.String(), errOut.String()}
	}
	srv.ResetRequests()
	r := onTerminal("no\n")
	wantCode(t, r, cli.ExitFailure)
	if !strings.Contains(r.stderr, `The journal in rep names the server "`+env["POLARITY_URL"]+`" (POLARITY_URL is not set).`) ||
		!strings.Contains(r.stderr, "resume cancelled: nothing was sent") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests after 'no'", n)
	}
	r = onTerminal("yes\n")
	wantCode(t, r, cli.ExitFailure) // ServiceNow is stopped: it fails again
	if !strings.Contains(r.stdout, "resuming rep: 1 integration already applied") {
		t.Errorf("after 'yes':\n%s\n%s", r.stdout, r.stderr)
	}
	if n := len(srv.Requests()); n == 0 {
		t.Error("no request after 'yes'")
	}
}
