package api

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
)

// errorsServer serves n integrations, those in errs reporting integration errors; mode says
// how it treats the errors filter: honour, ignore or refuse.
type errorsServer struct {
	n        int
	errs     map[int]bool
	mode     string
	requests atomic.Int64
}

func (s *errorsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	q := r.URL.Query()
	f, filtered := q.Get("filter[integration.integration-errors]"), q.Has("filter[integration.integration-errors]")
	if filtered && s.mode == "refuse" {
		writeJSON(w, 400, map[string]any{"errors": []any{map[string]any{"status": "400", "title": "Invalid query parameter"}}})
		return
	}
	data := []any{}
	for i := range s.n {
		if filtered && s.mode == "honour" && s.errs[i] != (f == "true") {
			continue
		}
		data = append(data, map[string]any{"id": fmt.Sprintf("int_%04d", i), "type": "integrations",
			"attributes": map[string]any{"name": fmt.Sprintf("Integration %d", i), "status": "running"}})
	}
	writeJSON(w, 200, map[string]any{"data": data, "meta": map[string]any{"page": map[string]any{"total": len(data)}}})
}

// TestWithErrors: the errors filter tells which integrations report errors in one request;
// a server that refuses it or ignores it is told apart from one whose integrations all
// report errors, at the cost of one more request, and only when the first answer lists every
// integration.
func TestWithErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		errs     []int
		mode     string
		listed   bool // an unfiltered listing was read first
		want     []string
		known    bool
		requests int64 // for WithErrors alone
	}{
		{"honoured, after a listing", []int{1, 3}, "honour", true, []string{"int_0001", "int_0003"}, true, 1},
		{"honoured, none", nil, "honour", true, []string{}, true, 1},
		{"honoured, no listing seen", []int{1, 3}, "honour", false, []string{"int_0001", "int_0003"}, true, 2},
		{"honoured, every one", []int{0, 1, 2, 3, 4}, "honour", true, []string{"int_0000", "int_0001", "int_0002", "int_0003", "int_0004"}, true, 2},
		{"ignored", []int{1}, "ignore", true, nil, false, 2},
		{"refused", []int{1}, "refuse", true, nil, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := map[int]bool{}
			for _, i := range tc.errs {
				errs[i] = true
			}
			s := &errorsServer{n: 5, errs: errs, mode: tc.mode}
			c := memClient(t, s, nil)
			if tc.listed {
				if _, err := c.Integrations(t.Context(), false); err != nil {
					t.Fatal(err)
				}
			}
			before := s.requests.Load()
			ids, known, err := c.WithErrors(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(maps.Keys(ids))
			if known != tc.known || tc.want != nil && !slices.Equal(got, tc.want) || tc.want == nil && len(got) > 0 {
				t.Errorf("ids %v known %v, want %v %v", got, known, tc.want, tc.known)
			}
			if n := s.requests.Load() - before; n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}
