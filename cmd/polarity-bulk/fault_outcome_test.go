package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// TestFaultOutcomeOnScreen: three integrations fail for three different reasons (issue 16):
// the server refuses a value (422), refuses a stopped integration (422, not running), and
// answers 503 to every attempt at a third. stderr names each failed integration with its
// line and the server's reason, gives the fix-failed.csv hint for the two refusals and the
// --resume hint for the 503, and says nothing of the integration that was applied. show on the
// report directory prints the same outcome.
func TestFaultOutcomeOnScreen(t *testing.T) {
	const (
		abuse  = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
		sn     = "servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000"
		shodan = "shodan_3_3_2_node_18_9a8b7c6d5e_1725390000"
		splunk = "splunk_3_8_2_node_18_1d2c3b4a5f_1725440000"
	)
	// Every PATCH of Shodan's options is answered 503, the way an overloaded proxy would.
	unavailable := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte(shodan)) {
					http.Error(w, `{"errors":[{"status":"503","title":"Service Unavailable"}]}`, http.StatusServiceUnavailable)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	fe := startFake(t, loadFixture(t), fake.Config{}, unavailable)
	dir := t.TempDir()
	rows := []intent{
		{id: abuse, key: "maxAge", cell: "366"},              // line 2: the server's range is 1-365
		{id: sn, key: "url", cell: "https://new.sn.example"}, // line 3: ServiceNow is stopped
		{id: shodan, key: "maxConcurrent", cell: "3"},        // line 4: 503 after every retry
		{id: splunk, key: "searchString", cell: "index=security"},
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	o := run(t, dir, fe.env(dir, apiKeyEnv...), "apply", "changes.csv", "--yes", "--report-dir", "rep", "--rate", "100", "--retries", "2")
	mustCode(t, o, 1, "apply with three failures")
	t.Logf("stderr:\n%s", o.stderr)
	for _, want := range []string{
		"polarity-bulk: 3 integrations failed:\n",
		"  " + abuse + " (AbuseIPDB), line 2: ",
		"  " + sn + " (ServiceNow), line 3: ",
		"Integration is not running",
		"  " + shodan + " (Shodan), line 4: ",
		"503",
		"hint: 2 of them were refused for a reason a retry does not change (a value, the integration's state, the rights): fix their rows in " + filepath.Join("rep", "failed.csv") + ", then apply that file\n",
		"hint: 1 of them failed for a reason that may pass (no answer, a timeout, 429 or 5xx after every retry): continue with 'polarity-bulk apply --resume rep --yes'\n",
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	// The server's reason for the refused value is the server's own text.
	if !strings.Contains(lineOf(o.stderr, abuse), "maxAge") {
		t.Errorf("the refused value's line does not name the option: %q", lineOf(o.stderr, abuse))
	}
	if strings.Contains(o.stderr, splunk) {
		t.Errorf("stderr names the integration that was applied:\n%s", o.stderr)
	}

	// show DIR prints the outcome as apply did: the totals apply printed last on stdout, then
	// stderr's failures.
	shown := run(t, dir, fe.env(dir), "show", "rep")
	mustCode(t, shown, 0, "show rep")
	totals := o.stdout[strings.LastIndex(o.stdout, "\n1 applied"):]
	failures := o.stderr[strings.Index(o.stderr, "polarity-bulk: 3 integrations failed:"):] // after the retries' log lines
	if want := totals + failures; shown.stdout != want {
		t.Errorf("show rep printed\n%s\nwant what apply printed\n%s", shown.stdout, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "rep", "failed.csv")); err != nil {
		t.Error(err)
	}
}

// lineOf is the line of s that mentions sub.
func lineOf(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
