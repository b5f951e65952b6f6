package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// TestResumeTrustsNoJournal: whoever can write a report directory chooses what its journal
// says. A journal naming another server gets no credentials unless the user names that
// server (--url, POLARITY_URL, or a yes on a terminal); a journal naming another file gets
// nothing read out of that file unless it hashes to the recorded SHA-256; and nothing of the
// file is echoed (issue 11, item 5).
func TestResumeTrustsNoJournal(t *testing.T) {
	t.Parallel()
	fe := startFake(t, loadFixture(t), fake.Config{}, nil)
	var mu sync.Mutex
	var stolen []string
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen = append(stolen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(thief.Close)

	dir := t.TempDir()
	rows := []intent{
		{id: "abuseipdb_3_3_4_node_18_71ff23754e_1725342515", key: "maxAge", cell: "90"},
		{id: "servicenow_3_4_0_node_18_8c7b6a5f4e_1725430000", key: "url", cell: "https://sn.example.com"}, // stopped: fails
	}
	writeCSV(t, filepath.Join(dir, "changes.csv"), rows)
	env := fe.env(dir, apiKeyEnv...)
	mustCode(t, run(t, dir, env, "apply", "changes.csv", "--yes", "--report-dir", "rep"), 1, "the partly failed run")
	journal := filepath.Join(dir, "rep", "journal.jsonl")
	original, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	// rewrite sets header fields of the journal, as someone who can write the directory could.
	rewrite := func(set map[string]string) {
		t.Helper()
		head, rest, _ := strings.Cut(string(original), "\n")
		var h map[string]any
		if err := json.Unmarshal([]byte(head), &h); err != nil {
			t.Fatal(err)
		}
		for k, v := range set {
			h[k] = v
		}
		b, _ := json.Marshal(h)
		if err := os.WriteFile(journal, []byte(string(b)+"\n"+rest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const topSecret = "TOPSECRET-first-line-of-a-private-file"
	if err := os.WriteFile(filepath.Join(dir, "private.txt"), []byte(topSecret+",x\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	noURL := (*fakeEnv)(nil).env(dir, apiKeyEnv...) // without POLARITY_URL

	for _, tc := range []struct {
		name   string
		header map[string]string
		env    []string
		args   []string
		code   int
		stderr []string
	}{
		{"journal names another server, no POLARITY_URL", map[string]string{"server": thief.URL}, noURL, nil, 2,
			[]string{`resume: the journal in rep names the server "` + thief.URL + `", and POLARITY_URL is not set: nothing was sent`,
				`hint: to continue that run, pass --url "` + thief.URL + `"`}},
		{"journal names another server than POLARITY_URL", map[string]string{"server": thief.URL}, env, nil, 2,
			[]string{`names the server "` + thief.URL + `", and POLARITY_URL is "` + fe.url + `": nothing was sent`}},
		{"journal names another server than --url", map[string]string{"server": thief.URL}, noURL, []string{"--url", fe.url}, 1,
			[]string{`resume: the run in rep was against "` + thief.URL + `", not "` + fe.url + `": nothing was sent`}},
		{"journal names a private file", map[string]string{"input": "private.txt"}, env, nil, 1,
			[]string{`the journal in rep names "private.txt" as its CSV file, but its SHA-256 is `, "nothing was read from it, nothing was sent",
				"hint: give the CSV file of that run or plan on the command line"}},
		{"journal names a named pipe", map[string]string{"input": "fifo.csv"}, env, nil, 1,
			[]string{`names "fifo.csv" as its CSV file, but it is not a regular file that can be read: nothing was read from it, nothing was sent`}},
		{"journal names a file that does not exist", map[string]string{"input": "gone.csv"}, env, nil, 3,
			[]string{`the journal in rep names "gone.csv" as its CSV file, which does not exist`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rewrite(tc.header)
			fe.srv.ResetRequests()
			o := run(t, dir, tc.env, append([]string{"apply", "--resume", "rep", "--yes"}, tc.args...)...)
			mustCode(t, o, tc.code, tc.name)
			for _, want := range tc.stderr {
				if !strings.Contains(o.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
				}
			}
			if strings.Contains(o.stderr+o.stdout, "TOPSECRET") || strings.Contains(o.stderr+o.stdout, "second line") {
				t.Errorf("the private file was echoed:\n%s", o.stderr)
			}
			if n := len(fe.srv.Requests()); n != 0 {
				t.Errorf("%d requests to the real server", n)
			}
		})
	}
	mu.Lock()
	if len(stolen) > 0 {
		t.Errorf("the server the journal named got requests: %q", stolen)
	}
	mu.Unlock()

	// The untouched journal: the resume goes on against its own server (POLARITY_URL), and
	// the file it names hashes as recorded.
	if err := os.WriteFile(journal, original, 0o644); err != nil {
		t.Fatal(err)
	}
	o := run(t, dir, env, "apply", "--resume", "rep", "--yes")
	mustCode(t, o, 1, "resume of the untouched journal (ServiceNow still refuses)")
	if !strings.Contains(o.stdout, "resuming rep: 1 integration already applied") {
		t.Errorf("stdout:\n%s", o.stdout)
	}
	sc := bufio.NewScanner(strings.NewReader(o.stderr))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "nothing was sent") {
			t.Errorf("refused: %s", sc.Text())
		}
	}
}
