package apply

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// The journal in testdata/journal-v1 was written by polarity-bulk f3e2cb5 (format 1), from a
// run of prev.csv against polarity-fake killed while Wikipedia's PATCH was in flight:
// AbuseIPDB, CrowdStrike and Shodan applied, ServiceNow failed (stopped), Slack and
// VirusTotal unchanged, Wikipedia sent without an outcome, GreyNoise not reached.
const (
	v1Dir       = "testdata/journal-v1"
	v1AbuseIPDB = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
	v1Wikipedia = "wikipedia_3_1_2_node_18_9e8d7c6b5a_1725480000"
)

// TestReadJournalFormat1: a journal of the previous format is read as it was meant: the
// applied integrations with their options and the values they replaced, the state before
// the in-flight one, and its header.
func TestReadJournalFormat1(t *testing.T) {
	h, done, err := ReadJournal(v1Dir)
	if err != nil {
		t.Fatal(err)
	}
	if h.Journal != 1 || h.Input != "prev.csv" || h.SHA256 != "ddd7ff09c037f195e8a5ff6af98f2e65ea4cef0e7a7197544cad32586f1f872f" || h.ValueDigests == nil || h.ValueDigests.Values["2"] == "" {
		t.Errorf("header %+v", h)
	}
	ids := make([]string, 0, len(done))
	for id := range done {
		ids = append(ids, strings.SplitN(id, "_", 2)[0])
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"abuseipdb", "crowdstrike", "shodan"}) {
		t.Fatalf("done %v, want abuseipdb, crowdstrike and shodan", ids)
	}
	a := done[v1AbuseIPDB]
	if a.Name != "AbuseIPDB" || a.Status != bulk.StatusApplied || a.HTTPStatus != 200 || a.Attempts != 1 || a.Duration <= 0 || len(a.Options) != 2 {
		t.Fatalf("AbuseIPDB %+v", a)
	}
	key, age := a.Options[0], a.Options[1]
	if key.Key != "apiKey" || !key.Sensitive || key.Kind != bulk.KindPassword || !key.Unreadable || !key.PermissionChanges ||
		key.AfterPermission != (bulk.Permission{AdminOnly: true}) || key.BeforePermission != (bulk.Permission{UserCanEdit: true}) || key.Current.Present() {
		t.Errorf("apiKey %+v", key)
	}
	if age.Key != "maxAge" || age.Line != 3 || age.Before != "365" || age.After != "90" || age.Status != bulk.StatusApplied ||
		string(age.Current.Bytes()) != "365" || age.Action != bulk.ActionUpdate || !age.ValueChanges {
		t.Errorf("maxAge %+v (previous %s)", age, age.Current.Bytes())
	}
	before, err := ReadBefore(v1Dir)
	if err != nil {
		t.Fatal(err)
	}
	if w := before[v1Wikipedia]["maxResults"]; string(w.Current.Bytes()) != "3.5" || w.Before != "3.5" {
		t.Errorf("the in-flight Wikipedia's state before: %+v", w)
	}
	if _, ok := before["greynoise_3_5_0_node_18_c1d2e3f4a5_1725380000"]; ok {
		t.Error("GreyNoise was never reached, yet has a state before")
	}
}

// TestJournalFormatRefused: a journal of a format this build does not know is refused with
// its format named, not misread; one that is not a journal at all says so.
func TestJournalFormatRefused(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{`{"polarity_bulk_journal":99,"input":"c.csv","input_sha256":"ab","server":"http://127.0.0.1"}`, "format 99, written by a newer polarity-bulk; this one reads formats 1 to 2"},
		{`{"polarity_bulk_journal":-1}`, "format -1"},
		{`{"input":"c.csv"}`, "not a polarity-bulk journal"},
		{`["not", "an", "object"]`, "not a polarity-bulk journal"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, JournalName), []byte(tc.header+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := ReadJournal(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.header, err, tc.want)
		}
		if strings.Contains(tc.want, "format") && !errors.Is(err, ErrJournalFormat) {
			t.Errorf("%s: %v is not ErrJournalFormat", tc.header, err)
		}
	}
}

// TestJournalWireIsItsOwn: the journal is written by its wire types, in the current format,
// and reads back as it was written; no value sent is on it.
func TestJournalWireIsItsOwn(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, JournalHeader{Input: "in.csv", SHA256: "abc", Server: "http://127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	r := bulk.Settle(target("a", true), bulk.StatusApplied, "")
	r.HTTPStatus, r.Attempts, r.Duration = 200, 2, 1500
	r.Options[0].Verified, r.Options[2].Verified = bulk.VerifyUnknown, bulk.VerifyOK
	r.Options[2].Merged = []int{7, 9}
	if err := j.Record(r); err != nil {
		t.Fatal(err)
	}
	j.Close()
	b, _ := os.ReadFile(filepath.Join(dir, JournalName))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var head map[string]any
	if json.Unmarshal([]byte(lines[0]), &head) != nil || head["polarity_bulk_journal"] != float64(JournalFormat) {
		t.Fatalf("header %s", lines[0])
	}
	// The values sent are never on it; the value replaced only in "previous", for backup.csv.
	result, previous, _ := strings.Cut(lines[1], `"previous":`)
	for _, v := range []string{`"k"`, `"u"`, `"old"`} {
		if strings.Contains(result, v) {
			t.Errorf("the entry's result holds the value %s: %s", v, lines[1])
		}
	}
	if previous != `{"apiKey":"old"}}` {
		t.Errorf("previous: %s", previous)
	}
	_, done, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := done["a"]
	// The values themselves are not on the wire; the previous one comes back from Previous.
	want := r
	for i := range want.Options {
		want.Options[i].Send = bulk.Payload{}
		if want.Options[i].Action != bulk.ActionUpdate {
			want.Options[i].Current = bulk.Payload{}
		}
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) || string(got.Options[0].Current.Bytes()) != `"old"` || got.Options[0].Verified != bulk.VerifyUnknown {
		t.Errorf("read back\n%s\nwant\n%s", gj, wj)
	}
}

// TestJournalSelectors: the header keeps what each selector row expanded to, under its own
// wire names, and reads it back for a resume to compare.
func TestJournalSelectors(t *testing.T) {
	dir := t.TempDir()
	sel := []bulk.Expansion{{Line: 2, Selector: "integration_id *, option_key apiKey", Integrations: []string{"a_1", "b_2"}}}
	j, err := OpenJournal(dir, JournalHeader{Input: "in.csv", SHA256: "abc", Server: "http://127.0.0.1", Selectors: sel}, false)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	b, _ := os.ReadFile(filepath.Join(dir, JournalName))
	if head, _, _ := strings.Cut(string(b), "\n"); !strings.Contains(head, `"selectors":[{"line":2,"selector":"integration_id *, option_key apiKey","integration_ids":["a_1","b_2"]}]`) {
		t.Errorf("header %s", head)
	}
	h, _, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Selectors) != 1 || h.Selectors[0].Line != 2 || h.Selectors[0].Selector != sel[0].Selector || !slices.Equal(h.Selectors[0].Integrations, sel[0].Integrations) {
		t.Errorf("read back %+v", h.Selectors)
	}
}
