package testkit

import (
	"encoding/json"
	"os"
	"testing"
)

// Results is results.json as the tests read it: the fields they check, declared here and not
// taken from internal/report, so that a test reads the file's contract and not the product's
// own idea of it.
type Results struct {
	Stopped    string `json:"stopped"`
	RolledBack bool   `json:"rolled_back"`
	Waves      []struct {
		Number       int      `json:"number"`
		Status       string   `json:"status"`
		Integrations []string `json:"integrations"`
		Failed       int      `json:"failed"`
		ErrorsKnown  bool     `json:"errors_known"`
		Health       []struct {
			ID       string   `json:"id"`
			Healthy  bool     `json:"healthy"`
			Problems []string `json:"problems"`
		} `json:"health"`
	} `json:"waves"`
	Integrations []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Error   string `json:"error"`
		Options []struct {
			Key      string          `json:"option_key"`
			Status   string          `json:"status"`
			Rollback string          `json:"rollback"`
			Verified json.RawMessage `json:"verified"`
		} `json:"options"`
	} `json:"integrations"`
}

// ReadResults reads the results.json at path; it fails the test when it cannot.
func ReadResults(t testing.TB, path string) Results {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// WaveStatuses lists the waves' statuses in order.
func (r Results) WaveStatuses() []string {
	var out []string
	for _, w := range r.Waves {
		out = append(out, w.Status)
	}
	return out
}

// StatusOf is integration id's status, "" when results.json does not list it.
func (r Results) StatusOf(id string) string {
	for _, in := range r.Integrations {
		if in.ID == id {
			return in.Status
		}
	}
	return ""
}
