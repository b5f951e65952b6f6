package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/cli"
	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// v1Journal is a journal of format 1 as polarity-bulk f3e2cb5 wrote it (see
// internal/apply/journal_format_test.go), with the CSV it was written for.
const v1Journal = "../apply/testdata/journal-v1"

// copyV1Run lays out the killed run of the fixture in dir: prev.csv and rep/journal.jsonl,
// its header naming server instead of the port the run had.
func copyV1Run(t *testing.T, src, dir, server string) {
	t.Helper()
	csv, err := os.ReadFile(filepath.Join(src, "prev.csv"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "prev.csv", csv)
	j, err := os.ReadFile(filepath.Join(src, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(string(j), "\n")
	var h map[string]any
	if err := json.Unmarshal([]byte(head), &h); err != nil {
		t.Fatal(err)
	}
	h["server"] = server
	b, _ := json.Marshal(h)
	if err := os.MkdirAll(filepath.Join(dir, "rep"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "rep/journal.jsonl", append(append(b, '\n'), rest...))
}

// patchedIDs counts the PATCHes the fake received, by the first word of the integration id.
func patchedIDs(t *testing.T, srv *fake.Server) map[string]int {
	t.Helper()
	n := map[string]int{}
	for id, k := range patchCounts(t, srv) {
		n[strings.SplitN(id, "_", 2)[0]] += k
	}
	return n
}

// patchCounts counts the PATCHes the fake received, by integration id.
func patchCounts(t *testing.T, srv *fake.Server) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Method != "PATCH" {
			continue
		}
		var doc struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil || len(doc.Data) == 0 {
			t.Fatalf("PATCH body %s: %v", r.Body, err)
		}
		id, _, _ := strings.Cut(doc.Data[0].ID, "-")
		n[id]++
	}
	return n
}

// TestResumeFormat1Journal: a run killed under the previous journal format resumes with this
// build: what its journal records as applied is not sent again, the rest is sent once, the
// state before comes from the journal (backup.csv), and the journal it leaves is read again
// by the next resume.
func TestResumeFormat1Journal(t *testing.T) {
	srv, env := startFake(t, loadFixture(t), fake.Config{})
	env["FIX_KEY"] = "fixture-abuse-key-1" // the ${FIX_KEY} value of the killed run
	src, err := filepath.Abs(v1Journal)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	copyV1Run(t, src, dir, env["POLARITY_URL"])

	r := run(t, env, nil, "apply", "--resume", "rep", "--yes")
	wantCode(t, r, cli.ExitFailure) // ServiceNow is stopped: it fails again
	if !strings.Contains(r.stdout, "resuming rep: 3 integrations already applied will not be sent again") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	got := patchedIDs(t, srv)
	want := map[string]int{"wikipedia": 1, "servicenow": 1, "greynoise": 1}
	if len(got) != len(want) || got["wikipedia"] != 1 || got["servicenow"] != 1 || got["greynoise"] != 1 {
		t.Errorf("PATCHes by integration %v, want %v (AbuseIPDB, CrowdStrike and Shodan were applied by the killed run)", got, want)
	}
	res, _ := os.ReadFile(filepath.Join(dir, "rep", "results.csv"))
	for _, l := range []string{
		"2,abuseipdb_3_3_4_node_18_71ff23754e_1725342515,apiKey,applied,",
		"3,abuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,applied,",
		"4,crowdstrike_4_2_0_node_18_a3c9e1f042_1725350000,minimumSeverity,applied,",
		"7,servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000,shouldSearchString,failed,",
		"8,shodan_3_3_2_node_18_9a8b7c6d5e_1725390000,maxConcurrent,applied,",
		"9,wikipedia_3_1_2_node_18_9e8d7c6b5a_1725480000,maxResults,applied,",
		"10,greynoise_3_5_0_node_18_c1d2e3f4a5_1725380000,apiKey,applied,",
	} {
		if !strings.Contains(string(res), l) {
			t.Errorf("results.csv lacks %q:\n%s", l, res)
		}
	}
	backup, _ := os.ReadFile(filepath.Join(dir, "rep", "backup.csv"))
	for _, l := range []string{"abuseipdb_3_3_4_node_18_71ff23754e_1725342515,AbuseIPDB,maxAge,365,", "shodan_3_3_2_node_18_9a8b7c6d5e_1725390000,Shodan,maxConcurrent,10,", "wikipedia_3_1_2_node_18_9e8d7c6b5a_1725480000,Wikipedia,maxResults,3.5,"} {
		if !strings.Contains(string(backup), l) {
			t.Errorf("backup.csv lacks the state before %q:\n%s", l, backup)
		}
	}

	// The journal is now format 1 followed by this build's entries: read again as one.
	srv.ResetRequests()
	r = run(t, env, nil, "apply", "--resume", "rep", "--yes")
	wantCode(t, r, cli.ExitFailure)
	if got := patchedIDs(t, srv); len(got) != 1 || got["servicenow"] != 1 {
		t.Errorf("second resume: PATCHes %v, want only the failed ServiceNow again", got)
	}
}

// TestResumeRefusesANewerJournal: a journal of a format this build does not know is refused
// before anything is sent, naming the format.
func TestResumeRefusesANewerJournal(t *testing.T) {
	srv, env := startFake(t, loadFixture(t), fake.Config{})
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, dir, "c.csv", []byte("integration_id,option_key,value\nabuseipdb_3_3_4_node_18_71ff23754e_1725342515,maxAge,90\n"))
	if err := os.MkdirAll(filepath.Join(dir, "rep"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "rep/journal.jsonl", []byte(`{"polarity_bulk_journal":7,"input":"c.csv","input_sha256":"00","server":"`+env["POLARITY_URL"]+`"}`+"\n"))
	r := run(t, env, nil, "apply", "--resume", "rep", "--yes")
	wantCode(t, r, cli.ExitUsage)
	if !strings.Contains(r.stderr, "journal format not readable: it is in format 7, written by a newer polarity-bulk; this one reads formats 1 to 2: nothing was sent") ||
		!strings.Contains(r.stderr, "hint: continue that run with the polarity-bulk that wrote it") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for a journal that cannot be read", n)
	}
}
