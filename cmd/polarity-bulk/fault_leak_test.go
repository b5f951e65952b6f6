package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// canary returns a secret no output has any business holding: distinctive, random, and of
// plain characters so that it reads the same escaped in JSON, CSV, XML or a URL.
func canary(kind string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "leak-canary-" + kind + "-" + hex.EncodeToString(b)
}

// echoServer answers some PATCHes and logins the way a careless server or gateway does: with
// the request body, secrets and all, in its error.
func echoServer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		b := string(body)
		echo := func(status int, ct, text string) {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, text)
		}
		jsonErr := func(status int, detail string) string {
			doc, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
				"status": fmt.Sprint(status), "title": "Invalid option value: " + detail,
				"detail": "the server refused " + detail,
				"source": map[string]string{"pointer": "/data/0/attributes/value"},
				"meta":   map[string]any{"errors": []string{"nested: " + detail}},
			}}})
			return string(doc)
		}
		switch {
		case r.URL.Path == "/api/users/login" && !strings.Contains(b, `"password":"leak-canary-login-`):
			echo(http.StatusUnauthorized, fake.MediaType, jsonErr(401, "login "+b))
		case r.Method != http.MethodPatch:
			h.ServeHTTP(w, r)
		case strings.Contains(b, "crowdstrike_"):
			echo(http.StatusUnprocessableEntity, fake.MediaType, jsonErr(422, b))
		case strings.Contains(b, "slack_"):
			echo(http.StatusOK, "text/html", "<html>saved "+b+"</html>")
		case strings.Contains(b, "urlhaus_"):
			echo(http.StatusServiceUnavailable, "text/plain", "upstream failed on "+b)
		case strings.Contains(b, "alienvault_"):
			echo(http.StatusOK, "application/json", `{"data": [`+b)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// TestLeak runs validate, plan (--out, --markdown, $GITHUB_STEP_SUMMARY), apply, apply
// --resume, apply --plan (stale by then) and export at the highest verbosity, in both log
// formats, with an API key (from the environment or a file) or a login password (from the
// environment or a file), against a fake that injects 503s, serves the stored passwords in
// clear or masked, and echoes request bodies back in its errors. Then it searches stdout,
// stderr and every file the tool wrote for every secret: the API key, the passwords (right
// and wrong), the password options' values old and new, the ${NAME} values, and login tokens.
// None may appear.
func TestLeak(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		login     bool
		file      bool // credential from --api-key-file / --password-file
		format    string
		passwords fake.PasswordMode
	}{
		{"api-key-env-text-clear", false, false, "text", fake.PasswordsClear},
		{"api-key-file-json-masked", false, true, "json", fake.PasswordsMasked},
		{"login-env-json-clear", true, false, "json", fake.PasswordsClear},
		{"login-file-text-absent", true, true, "text", fake.PasswordsAbsent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			leakRun(t, tc.login, tc.file, tc.format, tc.passwords)
		})
	}
}

func leakRun(t *testing.T, login, fromFile bool, format string, passwords fake.PasswordMode) {
	secrets := map[string]string{} // name -> secret
	add := func(name string) string {
		s := canary(name)
		secrets[name] = s
		return s
	}
	apiKey, password, wrong := add("apikey"), add("login"), add("wrongpw")
	envText, envPW := add("env-text"), add("env-pw")

	fix := loadFixture(t)
	for i := range fix.Integrations {
		for j := range fix.Integrations[i].Options {
			o := &fix.Integrations[i].Options[j]
			if o.Type == fake.KindPassword {
				o.Value = mustRaw(add(fmt.Sprintf("stored-%d-%d", i, j)))
			}
		}
	}
	fe := startFake(t, fix, fake.Config{
		Username: "leakadmin", Password: password, APIKeys: []fake.APIKey{{Key: apiKey}},
		Passwords: passwords, Faults: fake.Faults{Seed: 12, FailRate: 0.2},
	}, echoServer)

	dir := t.TempDir()
	const (
		vt       = "virustotal_node_18_1725278818"
		abuse    = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
		cs       = "crowdstrike_4_2_0_node_18_a3c9e1f042_1725350000"
		slack    = "slack_3_2_5_node_18_0b6f4e2a91_1725370000"
		urlhaus  = "urlhaus_3_1_0_node_18_2f3e4d5c6b_1725400000"
		sn       = "servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000"
		misp     = "misp_3_2_0_node_18_4a5b6c7d8e_1725420000"
		otx      = "alienvault_otx_3_2_1_node_18_0a1b2c3d4e_1725460000"
		splunkID = "splunk_3_8_2_node_18_1d2c3b4a5f_1725440000"
	)
	rows := []intent{
		{id: vt, key: "apiKey", cell: add("literal-vt"), perm: "lock-hide"},
		{id: vt, key: "blocklist", cell: "${LEAK_ENV_TEXT}"},
		{id: abuse, key: "apiKey", cell: "${LEAK_ENV_PW}"},
		{id: abuse, key: "maxAge", cell: "366"}, // refused by the server: the whole PATCH fails
		{id: cs, key: "secret", cell: add("literal-cs")},
		{id: slack, key: "userToken", cell: add("literal-slack"), perm: "lock-hide"},
		{id: urlhaus, key: "authKey", cell: "${LEAK_ENV_PW}"},
		{id: sn, key: "password", cell: add("literal-sn")}, // stopped integration
		{id: misp, key: "apiKey", cell: add("literal-misp")},
		{id: otx, key: "apiKey", cell: add("literal-otx")},
		{id: splunkID, key: "apiToken", cell: "json:" + string(mustRaw(add("json-splunk")))},
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	inputs := []string{"changes.csv"}

	env := fe.env(dir, "LEAK_ENV_TEXT="+envText, "LEAK_ENV_PW="+envPW, "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "step-summary.md"))
	var cred []string
	switch {
	case login && fromFile:
		writeSecret(t, filepath.Join(dir, "pw.txt"), password)
		env = append(env, "POLARITY_USERNAME=leakadmin")
		cred = []string{"--password-file", "pw.txt"}
		inputs = append(inputs, "pw.txt")
	case login:
		env = append(env, "POLARITY_USERNAME=leakadmin", "POLARITY_PASSWORD="+password)
	case fromFile:
		writeSecret(t, filepath.Join(dir, "key.txt"), apiKey)
		cred = []string{"--api-key-file", "key.txt"}
		inputs = append(inputs, "key.txt")
	default:
		env = append(env, "POLARITY_API_KEY="+apiKey)
	}
	verbose := []string{"-v", "-v", "--log-format", format, "--retries", "4", "--rate", "100"}
	flags := func(args ...string) []string { return slices.Concat(args, cred, verbose) }

	runs := &leakRuns{t: t, dir: dir}
	step := func(want int, args ...string) { t.Helper(); runs.step(env, want, args...) }
	step(0, "validate", "changes.csv", "-v", "-v", "--log-format", format)
	step(0, flags("plan", "changes.csv", "--out", "plan.json", "--markdown", "plan.md")...)
	step(1, flags("apply", "changes.csv", "--yes", "--report-dir", "rep")...)
	step(1, flags("apply", "--resume", "rep", "--yes")...)
	step(1, flags("apply", "--plan", "plan.json", "--yes", "--report-dir", "rep2")...)
	step(0, flags("export", "--out", "export.csv")...)
	step(0, flags("export")...)
	if login {
		// A wrong password, which the server echoes back in its 401.
		bad := slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, "POLARITY_PASSWORD=") })
		args := flags("plan", "changes.csv")
		if fromFile {
			writeSecret(t, filepath.Join(dir, "wrong.txt"), wrong)
			inputs = append(inputs, "wrong.txt")
			args = slices.Concat([]string{"plan", "changes.csv", "--password-file", "wrong.txt"}, verbose)
		} else {
			bad = append(bad, "POLARITY_PASSWORD="+wrong)
		}
		runs.step(bad, 1, args...)
	}

	// Where to look: every output and every file the tool wrote.
	// export prints text options as they are, and the run set one to ${LEAK_ENV_TEXT}: there,
	// and only there, that value is expected.
	places, exports := runs.places()
	exports["export.csv"] = true
	written, err := testkit.Files(dir, func(rel string) bool { return slices.Contains(inputs, rel) })
	if err != nil {
		t.Fatal(err)
	}
	files := len(written)
	places = append(places, written...)
	for _, must := range []string{"plan.json", "plan.md", "step-summary.md", "export.csv", "rep/journal.jsonl", "rep/results.json", "rep/results.csv", "rep/failed.csv", "rep/backup.csv", "rep/summary.md", "rep/junit.xml", "rep/report.html", "rep/timeline.json"} {
		if !slices.ContainsFunc(places, func(p testkit.Place) bool { return p.Name == must }) {
			t.Errorf("%s was not written: the search would miss it", must)
		}
	}
	// Each canary's random suffix is what is searched for, and any login token by its prefix.
	needles := []testkit.Secret{{Name: "a login token", Marker: "pft_"}}
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		s := secrets[name]
		needles = append(needles, testkit.Secret{Name: name, Marker: s[strings.LastIndex(s, "-")+1:]})
	}
	// The page people open counts what results.json counts (and, below, holds no secret).
	checkHTMLCounts(t, filepath.Join(dir, "rep"))
	found := 0
	for _, l := range testkit.Search(places, needles) {
		if l.Secret == "env-text" && exports[l.Place] {
			continue
		}
		found++
		t.Error(l)
	}
	t.Logf("%d secrets searched for in %d runs' stdout and stderr and %d files: %d found; faults %v",
		len(secrets), len(runs.outputs), files, found, faultCounts(fe.srv))
}

// leakRuns runs polarity-bulk in one directory and keeps every run's outcome: each stdout
// and stderr is a place no secret may be found in.
type leakRuns struct {
	t       *testing.T
	dir     string
	args    [][]string
	outputs []outcome
}

// step runs args with env and checks the exit code.
func (r *leakRuns) step(env []string, want int, args ...string) {
	r.t.Helper()
	o := run(r.t, r.dir, env, args...)
	mustCode(r.t, o, want, strings.Join(args, " "))
	r.args, r.outputs = append(r.args, args), append(r.outputs, o)
}

// places names each run's stdout and stderr by its first three arguments; exports holds the
// names of export's stdout.
func (r *leakRuns) places() (places []testkit.Place, exports map[string]bool) {
	exports = map[string]bool{}
	for i, o := range r.outputs {
		args := r.args[i]
		name := strings.Join(args[:min(3, len(args))], " ")
		if args[0] == "export" {
			exports[name+": stdout"] = true
		}
		places = append(places, testkit.Place{Name: name + ": stdout", Text: o.stdout}, testkit.Place{Name: name + ": stderr", Text: o.stderr})
	}
	return places, exports
}

func writeSecret(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// hostileEcho answers the PATCH of synthetic integration n in the n-th of eight ways a
// careless server echoes what it got: as it is, in encoding/json's HTML-safe JSON, in
// JSON.stringify's plain JSON (a Node server: `detail: "invalid: " + JSON.stringify(attrs)`),
// in ASCII-only JSON with \u escapes (Python, PHP), in nested meta.errors three deep, in a
// proxy's text page, in an HTML page, and in the Content-Type header; the eighth is applied,
// and the read-back that follows it is redirected in a loop whose Location carries the value
// last sent.
// Every echo also carries the request's Authorization header, and logout answers 500 with
// the token in it.
func hostileEcho(h http.Handler) http.Handler {
	var mu sync.Mutex
	lastPatch := false // a PATCH was applied since the last read
	lastValue := ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		auth := r.Header.Get("Authorization")
		mu.Lock()
		afterPatch, value := lastPatch, lastValue
		if r.Method == http.MethodGet {
			lastPatch = false // only the first read after an applied PATCH loops
		}
		mu.Unlock()
		switch {
		case r.URL.Path == "/api/users/logout":
			writeEcho(w, 500, fake.MediaType, jsonAPIError("logout failed for "+auth+" "+testkit.JSStringify(auth, false), ""))
			return
		case r.Method == http.MethodGet && afterPatch && r.URL.Query().Get("loop") == "":
			http.Redirect(w, r, r.URL.Path+"?loop="+url.QueryEscape(value+auth), http.StatusFound)
			return
		case r.Method == http.MethodGet && r.URL.Query().Get("loop") != "":
			http.Redirect(w, r, r.URL.Path+"?loop="+url.QueryEscape(r.URL.Query().Get("loop"))+"x", http.StatusFound)
			return
		case r.Method != http.MethodPatch:
			h.ServeHTTP(w, r)
			return
		}
		var doc struct {
			Data []struct {
				ID         string                     `json:"id"`
				Attributes map[string]json.RawMessage `json:"attributes"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &doc)
		if len(doc.Data) == 0 {
			h.ServeHTTP(w, r)
			return
		}
		var v string
		_ = json.Unmarshal(doc.Data[0].Attributes["value"], &v)
		mu.Lock()
		lastValue = v
		mu.Unlock()
		var n int
		fmt.Sscanf(doc.Data[0].ID, "synthetic_%d", &n)
		goJSON, _ := json.Marshal(map[string]string{"value": v})
		js, ascii := testkit.JSStringify(v, false), testkit.JSStringify(v, true)
		with := " (key " + auth + ")"
		switch n % 8 {
		case 0:
			writeEcho(w, 422, fake.MediaType, jsonAPIError("Invalid value "+v+with, `invalid: {"value":`+js+`}`))
		case 1:
			writeEcho(w, 422, fake.MediaType, jsonAPIError("Invalid value", "invalid: "+string(goJSON)+with))
		case 2:
			writeEcho(w, 422, fake.MediaType, jsonAPIError("Invalid value", "invalid: {\"value\": "+ascii+"}"+testkit.JSStringify(with, true)))
		case 3:
			doc, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
				"title": "Validation failed",
				"meta": map[string]any{"errors": []any{
					"bare " + js + with,
					map[string]any{"detail": string(goJSON), "meta": map[string]any{"errors": []any{
						map[string]any{"title": "deeper " + ascii + with},
					}}},
				}},
			}}})
			writeEcho(w, 400, fake.MediaType, string(doc))
		case 4:
			writeEcho(w, 400, "text/plain", "upstream refused "+v+" "+js+with)
		case 5:
			writeEcho(w, 200, "text/html", "<html>saved "+html.EscapeString(v)+" "+v+with+"</html>")
		case 6:
			writeEcho(w, 200, "text/html; note="+url.QueryEscape(v)+"; also="+testkit.JSStringify(v+auth, true), "{}")
		default:
			mu.Lock()
			lastPatch = true // the read-back that follows is redirected in a loop
			mu.Unlock()
			h.ServeHTTP(w, r)
		}
	})
}

func writeEcho(w http.ResponseWriter, status int, ct, body string) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func jsonAPIError(title, detail string) string {
	doc, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"status": "422", "title": title, "detail": detail,
		"source": map[string]string{"pointer": "/data/0/attributes/value"},
	}}})
	return string(doc)
}

// TestLeakHostileSecrets plants 46 hostile secrets (quotes, backslashes, <>&, unicode of
// every width, control characters, escape look-alikes, formulas, very long values, values
// that are a prefix of another) as ${NAME} values and CSV literals, with a hostile API key or
// login password, against a server that echoes every value and credential back in every
// form and place hostileEcho lists. validate, plan (--out, --markdown, the step summary),
// apply, apply --resume, apply --plan and export run at -v -v in text and JSON logs. No
// stdout, stderr, log line, plan, report file or journal may hold any part of any secret:
// each secret carries a random marker that reads the same in every encoding, and the marker
// is what is searched for.
func TestLeakHostileSecrets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		login     bool
		format    string
		passwords fake.PasswordMode
	}{
		{"api-key-text-clear", false, "text", fake.PasswordsClear},
		{"login-json-masked", true, "json", fake.PasswordsMasked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hostileLeakRun(t, tc.login, tc.format, tc.passwords)
		})
	}
}

func hostileLeakRun(t *testing.T, login bool, format string, passwords fake.PasswordMode) {
	secrets := testkit.Hostile()
	key := testkit.Secret{Name: "api key", Marker: testkit.NewMarker()}
	key.Value = `key"<&>\'` + key.Marker + `%41&amp;` // a header value: no control characters
	pw := testkit.Secret{Name: "password", Marker: testkit.NewMarker()}
	pw.Value = "pw\"\\<>&\n\tü🔑" + pw.Marker + "\u2028'"
	fix := fake.Synthetic(len(secrets)+6, 11)
	cfg := fake.Config{Passwords: passwords, Username: "hostile", Password: pw.Value, APIKeys: []fake.APIKey{{Key: key.Value}}}
	fe := startFake(t, fix, cfg, hostileEcho)

	dir := t.TempDir()
	env := fe.env(dir, "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "step-summary.md"))
	if login {
		env = append(env, "POLARITY_USERNAME=hostile", "POLARITY_PASSWORD="+pw.Value)
	} else {
		env = append(env, "POLARITY_API_KEY="+key.Value)
	}
	var rows []intent
	for i, s := range secrets {
		name := fmt.Sprintf("HOSTILE_%02d", i)
		env = append(env, name+"="+s.Value)
		perm := ""
		if i%3 == 0 {
			perm = "lock-hide"
		}
		rows = append(rows, intent{id: fix.Integrations[i].ID, key: "apiKey", cell: "${" + name + "}", perm: perm})
	}
	// Literal cells too, in the CSV's own quoting (values that a CSV file can hold).
	for i, name := range []string{"quotes", "script", "csv-breaker", "newlines", "formula-equals", "has-prefix"} {
		for _, s := range secrets {
			if s.Name == name {
				rows = append(rows, intent{id: fix.Integrations[len(secrets)+i].ID, key: "apiKey", cell: s.Value})
			}
		}
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)

	verbose := []string{"-v", "-v", "--log-format", format, "--rate", "200", "--retries", "1"}
	runs := &leakRuns{t: t, dir: dir}
	step := func(want int, args ...string) { t.Helper(); runs.step(env, want, args...) }
	step(0, "validate", "changes.csv", "-v", "-v", "--log-format", format)
	step(0, slices.Concat([]string{"plan", "changes.csv", "--out", "plan.json", "--markdown", "plan.md"}, verbose)...)
	step(1, slices.Concat([]string{"apply", "--plan", "plan.json", "--yes", "--report-dir", "rep"}, verbose)...)
	step(1, slices.Concat([]string{"apply", "--resume", "rep", "--yes"}, verbose)...)
	step(1, slices.Concat([]string{"apply", "changes.csv", "--yes", "--report-dir", "rep2"}, verbose)...)
	step(0, slices.Concat([]string{"export", "--out", "export.csv"}, verbose)...)

	places, _ := runs.places()
	written, err := testkit.Files(dir, func(rel string) bool { return filepath.Base(rel) == "changes.csv" })
	if err != nil {
		t.Fatal(err)
	}
	places = append(places, written...)
	for _, must := range []string{"plan.json", "plan.md", "step-summary.md", "export.csv", "rep/journal.jsonl", "rep/results.json",
		"rep/results.csv", "rep/failed.csv", "rep/backup.csv", "rep/summary.md", "rep/junit.xml", "rep2/journal.jsonl", "rep2/results.json"} {
		if !slices.ContainsFunc(places, func(p testkit.Place) bool { return p.Name == must }) {
			t.Errorf("%s was not written: the search would miss it", must)
		}
	}
	all := append(slices.Clone(secrets), key, pw)
	leaks := testkit.Search(places, all)
	for _, l := range leaks {
		t.Error(l)
	}
	found, bytesSearched := len(leaks), 0
	for _, p := range places {
		bytesSearched += len(p.Text)
	}
	// The server did echo: the test is not vacuous.
	stderr := ""
	for _, o := range runs.outputs {
		stderr += o.stderr
	}
	for _, want := range []string{"(redacted)", "refused by the server", "bad response", "stopped after 5 redirects"} {
		if !strings.Contains(stderr+readFile(t, filepath.Join(dir, "rep", "results.json")), want) {
			t.Errorf("no %q anywhere: the echoes were not exercised", want)
		}
	}
	t.Logf("%d secrets searched for in %d places (%d runs' stdout and stderr, and every file; %d bytes): %d found",
		len(all), len(places), len(runs.outputs), bytesSearched, found)
}

// TestRedactionKeepsWhatTheUserSent: a server that refuses a PATCH and quotes the whole
// request back (the way JSON.stringify writes it) has its message kept, with the URL the user
// sent readable, and only the sensitive value of the same PATCH removed (issue 11, item 9).
// A formula-like value stays neutralised in the CSV files.
func TestRedactionKeepsWhatTheUserSent(t *testing.T) {
	t.Parallel()
	const cs = "crowdstrike_4_2_0_node_18_a3c9e1f042_1725350000"
	refuse := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPatch {
				h.ServeHTTP(w, r)
				return
			}
			var doc struct {
				Data []struct {
					Attributes map[string]any `json:"attributes"`
				} `json:"data"`
			}
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &doc)
			var attrs []string
			for _, d := range doc.Data {
				v, _ := d.Attributes["value"].(string)
				attrs = append(attrs, `{"value":`+testkit.JSStringify(v, false)+`}`)
			}
			writeEcho(w, 422, fake.MediaType, jsonAPIError("Invalid URL", strings.Join(attrs, ", ")+" is not a valid URL"))
		})
	}
	fe := startFake(t, loadFixture(t), fake.Config{}, refuse)
	dir := t.TempDir()
	secretValue := `cs-"secret"-<` + testkit.NewMarker() + `>`
	rows := []intent{
		{id: cs, key: "url", cell: "https://not a url.example/<path>&q=1"},
		{id: cs, key: "uiUrl", cell: "=HYPERLINK(\"https://evil.example\")"},
		{id: cs, key: "secret", cell: "${CS_SECRET}"},
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	o := run(t, dir, fe.env(dir, append(apiKeyEnv, "CS_SECRET="+secretValue)...), "apply", "changes.csv", "--yes", "--report-dir", "rep")
	mustCode(t, o, 1, "apply refused by the server")
	results := readFile(t, filepath.Join(dir, "rep", "results.csv"))
	if !strings.Contains(results, `https://not a url.example/<path>&q=1`) || !strings.Contains(results, `HYPERLINK(\""https://evil.example\"")`) {
		t.Errorf("the values the user sent are not in the server's message:\n%s", results)
	}
	if strings.Contains(results+o.stderr+o.stdout+readFile(t, filepath.Join(dir, "rep", "journal.jsonl")), secretValue[len(secretValue)-23:]) {
		t.Errorf("the sensitive value leaked:\n%s", results)
	}
	if !strings.Contains(results, "(redacted)") {
		t.Errorf("the sensitive value was not echoed, so not redacted:\n%s", results)
	}
	for _, rec := range readCSVFile(t, filepath.Join(dir, "rep", "failed.csv")) {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("failed.csv cell starts like a formula: %q", cell)
			}
		}
	}
}

// checkHTMLCounts checks that a report directory's report.html shows the counts of its
// results.json: the header's cards, the input rows line, and the table's rows by status.
func checkHTMLCounts(t *testing.T, dir string) {
	t.Helper()
	var res struct {
		Totals struct{ Integrations, Rows map[string]int } `json:"totals"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "results.json"))), &res); err != nil {
		t.Fatal(err)
	}
	page := readFile(t, filepath.Join(dir, "report.html"))
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`data-(count|row-count)="([a-z-]+)">(\d+)<`).FindAllStringSubmatch(page, -1) {
		got[m[1]+":"+m[2]], _ = strconv.Atoi(m[3])
	}
	for _, m := range regexp.MustCompile(`<tr class="[a-z-]+" data-status="([a-z-]+)">`).FindAllStringSubmatch(page, -1) {
		got["table:"+m[1]]++
		got["table:total"]++
	}
	for _, st := range []string{"total", "applied", "unchanged", "failed", "not-attempted"} {
		want := res.Totals.Integrations[st]
		if got["count:"+st] != want || got["table:"+st] != want || got["row-count:"+st] != res.Totals.Rows[st] {
			t.Errorf("%s/report.html: %s: header %d, table %d, rows %d; results.json %d, rows %d", filepath.Base(dir), st,
				got["count:"+st], got["table:"+st], got["row-count:"+st], want, res.Totals.Rows[st])
		}
	}
}
