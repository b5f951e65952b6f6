package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// pagingServer serves n integrations from GET /api/integrations.
type pagingServer struct {
	n          int
	cap        int  // largest page served; 0 = no cap
	total      bool // send meta.page.total (items)
	pageTotal  bool // send meta.page.total as a page count instead
	ignore     bool // ignore paging: always send everything
	refuseOver int  // answer 400 to page[size] above this; 0 = never
	stopped    map[int]bool
	requests   atomic.Int64
}

func (s *pagingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path != "/api/integrations" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	size, _ := strconv.Atoi(q.Get("page[size]"))
	page, _ := strconv.Atoi(q.Get("page[number]"))
	if size < 1 || page < 1 {
		writeJSON(w, 400, map[string]any{"errors": []any{map[string]any{"status": "400", "title": "bad paging"}}})
		return
	}
	if s.refuseOver > 0 && size > s.refuseOver {
		writeJSON(w, 400, map[string]any{"errors": []any{map[string]any{"status": "400", "title": "page size too large"}}})
		return
	}
	if s.cap > 0 && size > s.cap {
		size = s.cap
	}
	running := q.Get("filter[integration.status]") == "running"
	var ids []int
	for i := range s.n {
		if running && s.stopped[i] {
			continue
		}
		ids = append(ids, i)
	}
	from, to := (page-1)*size, page*size
	if s.ignore {
		from, to = 0, len(ids)
	}
	from, to = min(from, len(ids)), min(to, len(ids))
	data := []any{}
	for _, i := range ids[from:to] {
		status := "running"
		if s.stopped[i] {
			status = "stopped"
		}
		data = append(data, map[string]any{"id": fmt.Sprintf("int_%04d", i), "type": "integrations",
			"attributes": map[string]any{"name": fmt.Sprintf("Integration %d", i), "status": status}})
	}
	doc := map[string]any{"data": data}
	switch {
	case s.total:
		doc["meta"] = map[string]any{"page": map[string]any{"total": len(ids)}}
	case s.pageTotal:
		doc["meta"] = map[string]any{"page": map[string]any{"total": (len(ids) + size - 1) / size}}
	}
	writeJSON(w, 200, doc)
}

// TestPaging reads 1,000 integrations (and other counts) with the fewest pages each server
// shape allows, and every integration exactly once.
func TestPaging(t *testing.T) {
	cases := []struct {
		name string
		srv  *pagingServer
		want int // requests
	}{
		{"1000 with total: one page", &pagingServer{n: 1000, total: true}, 1},
		{"1000 without total: one page and an empty one", &pagingServer{n: 1000}, 2},
		{"1000 with page-count total", &pagingServer{n: 1000, pageTotal: true}, 1},
		{"2500 with page-count total", &pagingServer{n: 2500, pageTotal: true}, 3},
		{"2500 with total", &pagingServer{n: 2500, total: true}, 3},
		{"2500 without total", &pagingServer{n: 2500}, 3},
		{"37 with total", &pagingServer{n: 37, total: true}, 1},
		{"37 without total: short first page is probed once", &pagingServer{n: 37}, 2},
		{"none", &pagingServer{n: 0}, 1},
		{"capped at 100 with total", &pagingServer{n: 1000, cap: 100, total: true}, 10},
		{"capped at 100 with total, 250", &pagingServer{n: 250, cap: 100, total: true}, 3},
		{"capped at 100 without total", &pagingServer{n: 1000, cap: 100}, 11},
		{"capped at 300 with page-count total", &pagingServer{n: 1000, cap: 300, pageTotal: true}, 4},
		{"paging ignored, 1500", &pagingServer{n: 1500, ignore: true}, 1},
		{"paging ignored, 500", &pagingServer{n: 500, ignore: true}, 2},
		{"size over 300 refused", &pagingServer{n: 1000, refuseOver: 300, total: true}, 1 + 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			ts := newTestServer(t, srv)
			c := newKeyClient(t, ts.URL, nil)
			all, err := c.Integrations(ctxT(t), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != srv.n {
				t.Fatalf("read %d integrations, want %d", len(all), srv.n)
			}
			for i, in := range all {
				if in.ID != fmt.Sprintf("int_%04d", i) {
					t.Fatalf("integration %d is %s", i, in.ID)
				}
			}
			if got := srv.requests.Load(); got != int64(tc.want) || c.Requests() != got {
				t.Errorf("requests = %d (client counted %d), want %d", got, c.Requests(), tc.want)
			}
		})
	}
}

func TestPagingRunningOnly(t *testing.T) {
	srv := &pagingServer{n: 10, total: true, stopped: map[int]bool{3: true, 7: true}}
	ts := newTestServer(t, srv)
	c := newKeyClient(t, ts.URL, nil)
	all, err := c.Integrations(ctxT(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 8 {
		t.Fatalf("got %d running integrations", len(all))
	}
	// A server that ignores the filter is filtered here.
	srv.stopped = map[int]bool{1: true}
	noFilter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("filter[integration.status]")
		r.URL.RawQuery = q.Encode()
		srv.ServeHTTP(w, r)
	})
	c2 := newKeyClient(t, newTestServer(t, noFilter).URL, nil)
	all, err = c2.Integrations(ctxT(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 9 {
		t.Fatalf("got %d running integrations, want 9", len(all))
	}
}

func TestIntegrationNotFound(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"errors": []any{map[string]any{"status": "404", "title": "Not Found", "detail": "no such integration"}}})
	}))
	c := newKeyClient(t, ts.URL, nil)
	_, err := c.Integration(ctxT(t), "nope_1")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if got, want := err.Error(), "get integration nope_1: 404 not found: Not Found: no such integration"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if c.Requests() != 1 {
		t.Errorf("404 retried: %d requests", c.Requests())
	}
}

// TestIntegrationPathEscaped: an id is one path segment whatever it holds, under the prefix.
func TestIntegrationPathEscaped(t *testing.T) {
	var got string
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		writeJSON(w, 200, integrationDoc("a/b c"))
	}))
	c := newKeyClient(t, ts.URL+"/my%20polarity", nil)
	if _, err := c.Integration(ctxT(t), "a/b c"); err != nil {
		t.Fatal(err)
	}
	if got != "/my%20polarity/api/integrations/a%2Fb%20c" {
		t.Errorf("path %s", got)
	}
}

// TestEndlessPages: a server that invents new integrations on every page is stopped once the
// client has read its cap of integrations, with an error that says why, instead of paging on
// until memory runs out. The cap is lowered here; MaxIntegrations is 100,000.
func TestEndlessPages(t *testing.T) {
	var requests atomic.Int64
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
		data := make([]any, size)
		for i := range data {
			data[i] = map[string]any{"id": fmt.Sprintf("int_%d_%d", n, i), "type": "integrations",
				"attributes": map[string]any{"name": "Endless", "status": "running"}}
		}
		writeJSON(w, 200, map[string]any{"data": data})
	}))
	c := newKeyClient(t, ts.URL, nil)
	c.maxIntegrations = 2500
	_, err := c.Integrations(ctxT(t), false)
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "the server listed more than 2500 integrations") {
		t.Fatalf("err = %v", err)
	}
	if got := requests.Load(); got != 3 {
		t.Errorf("%d pages read, want 3 (the one that passed the cap included)", got)
	}
	if MaxIntegrations != 100_000 {
		t.Errorf("MaxIntegrations = %d", MaxIntegrations)
	}
}
