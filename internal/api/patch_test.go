package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

var (
	lockHide     = bulk.Permission{AdminOnly: true}
	userProvides = bulk.Permission{UserCanEdit: true}
)

func payload(s string) bulk.Payload { return bulk.NewPayload(json.RawMessage(s)) }

// TestPatchBody checks the exact document sent: values left out when not present, flags
// left out when nil, false flags sent as false.
func TestPatchBody(t *testing.T) {
	var got []byte
	var method, path string
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path = r.Method, r.URL.Path
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	c := newKeyClient(t, ts.URL, nil)
	out, err := c.Patch(ctxT(t), "vt_1", []PatchItem{
		{Key: "apiKey", Value: payload(`"new-key"`), Permission: &lockHide},
		{Key: "maxAge", Value: payload(`30`)},
		{Key: "blocklist", Permission: &userProvides},
		{Key: "sev", Value: payload(`{"value":"Low","display":"Low"}`)},
		{Key: "clear", Value: payload(`null`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != (Outcome{HTTPStatus: 204, Attempts: 1, Answer: "empty"}) {
		t.Errorf("outcome %+v", out)
	}
	if method != "PATCH" || path != "/api/integration-options" {
		t.Errorf("%s %s", method, path)
	}
	want := `{"data":[
	 {"id":"vt_1-apiKey","type":"integration-option","attributes":{"value":"new-key","admin-only":true,"user-can-edit":false}},
	 {"id":"vt_1-maxAge","type":"integration-option","attributes":{"value":30}},
	 {"id":"vt_1-blocklist","type":"integration-option","attributes":{"admin-only":false,"user-can-edit":true}},
	 {"id":"vt_1-sev","type":"integration-option","attributes":{"value":{"value":"Low","display":"Low"}}},
	 {"id":"vt_1-clear","type":"integration-option","attributes":{"value":null}}]}`
	if !testkit.SameJSON(got, []byte(want)) {
		t.Errorf("sent %s\nwant %s", got, want)
	}
}

func TestPatchSuccessForms(t *testing.T) {
	cases := []struct {
		name string
		ct   string
		code int
		body string
		ok   bool
	}{
		{"204 empty", "", 204, "", true},
		{"200 empty", "", 200, "", true},
		{"200 json:api", "application/vnd.api+json", 200, `{"data":[{"id":"vt_1-k","type":"integration-option","attributes":{}}]}`, true},
		{"200 json", "application/json; charset=utf-8", 200, `{"data":[]}`, true},
		{"202", "application/json", 202, `{}`, true},
		{"200 html", "text/html", 200, "<html><body>Sign in</body></html>", false},
		{"200 empty html", "text/html", 200, "", false},
		{"200 broken json", "application/json", 200, `{"data":[`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ct != "" {
					w.Header().Set("Content-Type", tc.ct)
				}
				w.WriteHeader(tc.code)
				io.WriteString(w, tc.body)
			}))
			c := newKeyClient(t, ts.URL, nil)
			out, err := c.Patch(ctxT(t), "vt_1", []PatchItem{{Key: "k", Value: payload(`"v1234"`)}})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, ErrBadResponse) {
				t.Errorf("err = %v, want ErrBadResponse", err)
			}
			if out.HTTPStatus != tc.code || out.Attempts != 1 {
				t.Errorf("outcome %+v", out)
			}
		})
	}
}

// TestPatchRefused maps JSON:API error items, nested ones included, back to the options sent.
func TestPatchRefused(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 422, map[string]any{"errors": []any{
			map[string]any{"status": "422", "title": "Failed to update integration options", "detail": "Integration is not running"},
			map[string]any{"status": 422, "title": "Invalid value", "detail": "must be at most 365",
				"source": map[string]any{"pointer": "/data/1/attributes/value"},
				"meta": map[string]any{"errors": []any{
					map[string]any{"title": "Invalid choice", "source": map[string]any{"pointer": "/data/0"}},
					"a bare message",
				}}},
			map[string]any{"title": "Out of range", "source": map[string]any{"pointer": "/data/9/attributes/value"}},
		}})
	}))
	c := newKeyClient(t, ts.URL, nil)
	items := []PatchItem{{Key: "minimumSeverity", Value: payload(`"Low"`)}, {Key: "maxAge", Value: payload(`400`)}}
	out, err := c.Patch(ctxT(t), "abuseipdb_3_3_4_node_18_71ff23754e_1725342515", items)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	if out != (Outcome{HTTPStatus: 422, Attempts: 1}) || e.HTTPStatus != 422 {
		t.Errorf("outcome %+v, error status %d", out, e.HTTPStatus)
	}
	want := "patch integration abuseipdb_3_3_4_node_18_71ff23754e_1725342515: 422 unprocessable entity: " +
		"Failed to update integration options: Integration is not running: " +
		"option maxAge: Invalid value: must be at most 365: option minimumSeverity: Invalid choice: a bare message: Out of range"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if len(e.Items) != 5 {
		t.Fatalf("items %+v", e.Items)
	}
	if e.Items[1].Status != "422" || e.Items[1].Pointer != "/data/1/attributes/value" || e.Items[1].Key != "maxAge" {
		t.Errorf("item 1 = %+v", e.Items[1])
	}
	for i, want := range []struct {
		n  int
		ok bool
	}{{0, false}, {1, true}, {0, true}, {0, false}, {9, true}} {
		n, ok := e.ItemIndex(i)
		if n != want.n || ok != want.ok {
			t.Errorf("ItemIndex(%d) = %d, %v", i, n, ok)
		}
	}
	if _, ok := e.ItemIndex(7); ok {
		t.Error("ItemIndex out of range")
	}
	if got := strings.Join(e.Keys(), ","); got != "maxAge,minimumSeverity" {
		t.Errorf("keys %s", got)
	}
}

func TestPatchStatuses(t *testing.T) {
	cases := []struct {
		code int
		is   error
		want string
	}{
		{404, ErrNotFound, "patch integration vt_1: 404 not found"},
		{403, ErrForbidden, "patch integration vt_1: 403 forbidden"},
		{409, nil, "patch integration vt_1: 409 conflict"},
		{400, nil, "patch integration vt_1: 400 bad request"},
		{401, ErrAuth, "patch integration vt_1: 401 unauthorized: authentication refused"},
	}
	for _, tc := range cases {
		ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.code)
		}))
		c := newKeyClient(t, ts.URL, nil)
		out, err := c.Patch(ctxT(t), "vt_1", []PatchItem{{Key: "k", Permission: &lockHide}})
		if err == nil || err.Error() != tc.want || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%d: err = %v, want %q", tc.code, err, tc.want)
		}
		if out != (Outcome{HTTPStatus: tc.code, Attempts: 1}) {
			t.Errorf("%d: outcome %+v", tc.code, out)
		}
	}
}

// TestPatchRefusesBadItems: nothing is sent for items that cannot be right.
func TestPatchRefusesBadItems(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.URL)
	}))
	c := newKeyClient(t, ts.URL, nil)
	invalid := bulk.Permission{AdminOnly: true, UserCanEdit: true}
	cases := map[string][]PatchItem{
		"no options to change":              nil,
		"an option without a key":           {{Value: payload(`1`)}},
		"option k given twice":              {{Key: "k", Value: payload(`1`)}, {Key: "k", Value: payload(`2`)}},
		"option k: nothing to change":       {{Key: "k"}},
		"cannot both be true":               {{Key: "k", Permission: &invalid}},
		"option k: value is not valid JSON": {{Key: "k", Value: payload(`secret-not-json`)}},
	}
	for want, items := range cases {
		_, err := c.Patch(ctxT(t), "vt_1", items)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if _, err := c.Patch(ctxT(t), "", []PatchItem{{Key: "k", Permission: &lockHide}}); err == nil {
		t.Error("empty integration id accepted")
	}
}

// TestPatchRedirectNotFollowed: Go would turn a redirected PATCH into a GET that answers 200.
func TestPatchRedirectNotFollowed(t *testing.T) {
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/integration-options" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		if r.URL.Path == "/api/integrations/old" {
			http.Redirect(w, r, "/api/integrations/vt_1", http.StatusMovedPermanently)
			return
		}
		writeJSON(w, 200, integrationDoc("vt_1"))
	}))
	c := newKeyClient(t, ts.URL, nil)
	out, err := c.Patch(ctxT(t), "vt_1", []PatchItem{{Key: "k", Permission: &lockHide}})
	if err == nil || out.HTTPStatus != 302 {
		t.Errorf("redirected PATCH: %+v, %v", out, err)
	}
	// GETs follow redirects: the answer names vt_1, which is not what was asked.
	if _, err := c.Integration(ctxT(t), "old"); !errors.Is(err, ErrBadResponse) {
		t.Errorf("redirected GET: %v", err)
	}
}

// TestErrorsMemberIsAFailure: an answer that carries a JSON:API errors member is a refusal
// whatever its status, 2xx included, with the server's details pinned on the options its
// pointers name. An errors member that is null or an empty list is no error.
func TestErrorsMemberIsAFailure(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string // the error; empty: success
	}{
		{"200 not running", 200, `{"errors":[{"title":"Failed to update integration options","detail":"Integration is not running"}]}`,
			"patch integration vt_1: the server reported errors in a 200 ok answer: Failed to update integration options: Integration is not running"},
		{"201 with data and errors", 201, `{"data":[],"errors":[{"title":"Invalid value","source":{"pointer":"/data/1/attributes/value"}}]}`,
			"patch integration vt_1: the server reported errors in a 201 created answer: option maxAge: Invalid value"},
		{"200 errors of another shape", 200, `{"errors":{"detail":"nope"}}`,
			"patch integration vt_1: the server reported errors in a 200 ok answer: the answer holds an errors member the client cannot read"},
		{"200 errors null", 200, `{"data":[],"errors":null}`, ""},
		{"200 errors empty", 200, `{"data":[],"errors":[]}`, ""},
		{"200 errors inside data", 200, `{"data":[{"id":"vt_1-k","attributes":{"errors":["x"]}}]}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.api+json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			c := newKeyClient(t, ts.URL, nil)
			items := []PatchItem{{Key: "minimumSeverity", Value: payload(`"Low"`)}, {Key: "maxAge", Value: payload(`400`)}}
			out, err := c.Patch(ctxT(t), "vt_1", items)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v\nwant  %s", err, tc.want)
			}
			if out != (Outcome{HTTPStatus: tc.status, Attempts: 1}) {
				t.Errorf("outcome %+v", out)
			}
		})
	}

	// Reads too: a list answered 200 with errors is not an empty list.
	ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": []any{}, "errors": []any{map[string]any{"title": "Database unavailable"}}})
	}))
	c := newKeyClient(t, ts.URL, nil)
	_, err := c.Integrations(ctxT(t), false)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "list integrations: the server reported errors in a 200 ok answer: Database unavailable") {
		t.Fatalf("list: err = %v", err)
	}
}

// TestPatchAnswerLimit: the answer to a PATCH is read to MaxPatchBody at most, counted after
// decompression, so a gzip bomb costs a megabyte, not what it inflates to; reads keep the
// larger limit.
func TestPatchAnswerLimit(t *testing.T) {
	big := `{"data":[{"id":"vt_1-k","type":"integration-option","attributes":{"value":"` + strings.Repeat("a", MaxPatchBody) + `"}}]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, big)
	zw.Close()
	for _, compressed := range []bool{false, true} {
		ts := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.api+json")
			if compressed {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gz.Bytes())
				return
			}
			io.WriteString(w, big)
		}))
		c := newKeyClient(t, ts.URL, nil)
		_, err := c.Patch(ctxT(t), "vt_1", []PatchItem{{Key: "k", Permission: &lockHide}})
		if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), fmt.Sprintf("response too large (over %d bytes)", MaxPatchBody)) {
			t.Errorf("gzip %v: err = %v", compressed, err)
		}
	}
	if gz.Len() > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed", gz.Len())
	}
}
