package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func login(t *testing.T, h http.Handler, user, password string) reply {
	t.Helper()
	return call(t, h, http.MethodPost, "/api/users/login", "", fmt.Sprintf(`{"identification":%q,"password":%q}`, user, password))
}

func TestLogin(t *testing.T) {
	clk := newClock()
	srv := newTiny(t, Config{Now: clk.Now, TokenLifetime: 2 * time.Second})

	r := login(t, srv, "tester", "tester-password")
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	tok, _ := get(t, r.doc, "data", "token").(string)
	exp, _ := get(t, r.doc, "data", "expiration_time").(float64)
	if tok == "" || int64(exp) != clk.Now().Add(2*time.Second).Unix() {
		t.Errorf("token %q expiration_time %v", tok, exp)
	}
	if get(t, r.doc, "data", "users", "attributes", "username") != "tester" {
		t.Errorf("users: %s", r.raw)
	}
	if r := call(t, srv, "GET", "/api/integrations", tok, ""); r.status != http.StatusOK {
		t.Errorf("with token: %d", r.status)
	}

	for _, tt := range []struct {
		name, body string
		want       int
	}{
		{"wrong password", `{"identification":"tester","password":"nope"}`, 401},
		{"default user replaced by fixture", `{"identification":"admin","password":"polarity-fake-password"}`, 401},
		{"not json", `{`, 400},
		{"missing password", `{"identification":"tester"}`, 400},
		{"array", `[]`, 400},
	} {
		r := call(t, srv, "POST", "/api/users/login", "", tt.body)
		if r.status != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, r.status, tt.want)
		}
		if e := errorsOf(t, r); e[0][0] != fmt.Sprint(tt.want) {
			t.Errorf("%s: error status %q", tt.name, e[0][0])
		}
	}
	if r := call(t, srv, "GET", "/api/users/login", "", ""); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("GET login: %d Allow %q", r.status, r.header.Get("Allow"))
	}

	clk.Advance(2 * time.Second)
	r = call(t, srv, "GET", "/api/integrations", tok, "")
	if e := errorsOf(t, r); r.status != 401 || e[0][2] != "token expired" {
		t.Errorf("expired: %d %v", r.status, e)
	}
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if got := srv.Requests(); got[len(got)-1].Auth != AuthExpired {
		t.Errorf("recorded auth %q", got[len(got)-1].Auth)
	}
}

func TestDefaultAndOverriddenCredentials(t *testing.T) {
	srv, err := New(&Fixture{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r := login(t, srv, DefaultUsername, DefaultPassword); r.status != 200 {
		t.Errorf("default login: %d", r.status)
	}
	if r := call(t, srv, "GET", "/api/integrations", DefaultAPIKey, ""); r.status != 200 {
		t.Errorf("default api key: %d", r.status)
	}
	// Config beats the fixture.
	srv = newTiny(t, Config{Username: "u", Password: "p", APIKeys: []APIKey{{Key: "k"}}})
	if r := login(t, srv, "u", "p"); r.status != 200 {
		t.Errorf("config login: %d", r.status)
	}
	if r := login(t, srv, "tester", "tester-password"); r.status != 401 {
		t.Errorf("fixture login after override: %d", r.status)
	}
	if r := call(t, srv, "GET", "/api/integrations", tinyKey, ""); r.status != 401 {
		t.Errorf("fixture key after override: %d", r.status)
	}
}

func TestRefreshAndLogout(t *testing.T) {
	clk := newClock()
	srv := newTiny(t, Config{Now: clk.Now, TokenLifetime: time.Minute})
	tok := get(t, login(t, srv, "tester", "tester-password").doc, "data", "token").(string)

	clk.Advance(30 * time.Second)
	r := call(t, srv, "GET", "/api/users/refresh", tok, "")
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	tok2 := get(t, r.doc, "data", "token").(string)
	if tok2 == tok || int64(get(t, r.doc, "data", "expiration_time").(float64)) != clk.Now().Add(time.Minute).Unix() {
		t.Errorf("refresh gave %s", r.raw)
	}

	// Each step in order, with the status it must get; advance moves the clock first.
	for _, st := range []struct {
		what, method, path, auth string
		advance                  time.Duration
		want                     int
	}{
		{"logout", "POST", "/api/users/logout", tok2, 0, 200},
		{"after logout", "GET", "/api/integrations", tok2, 0, 401},
		{"refresh after logout", "GET", "/api/users/refresh", tok2, 0, 401},
		// The first token was not logged out and lives until its own expiry.
		{"old token", "GET", "/api/integrations", tok, 0, 200},
		{"refresh of expired token", "GET", "/api/users/refresh", tok, 30 * time.Second, 401},
		{"refresh with api key", "GET", "/api/users/refresh", tinyKey, 0, 400},
		{"logout with api key", "POST", "/api/users/logout", tinyKey, 0, 400},
		{"logout without token", "POST", "/api/users/logout", "", 0, 401},
	} {
		clk.Advance(st.advance)
		if r := call(t, srv, st.method, st.path, st.auth, ""); r.status != st.want {
			t.Errorf("%s: %d", st.what, r.status)
		}
	}

	tok3 := get(t, login(t, srv, "tester", "tester-password").doc, "data", "token").(string)
	srv.ExpireTokens()
	if r := call(t, srv, "GET", "/api/integrations", tok3, ""); r.status != 401 {
		t.Errorf("after ExpireTokens: %d", r.status)
	}
}

func TestAuthRequired(t *testing.T) {
	srv := newTiny(t, Config{})
	for _, target := range []string{"/api/integrations", "/api/integrations/" + alpha, "/api/integration-options/" + alpha + "-url"} {
		for _, auth := range []string{"", "bogus"} {
			if r := call(t, srv, "GET", target, auth, ""); r.status != 401 {
				t.Errorf("GET %s auth %q: %d", target, auth, r.status)
			}
		}
	}
	if r := call(t, srv, "PATCH", "/api/integration-options", "", patchBody([2]string{alpha + "-url", `{"value":"x"}`})); r.status != 401 {
		t.Errorf("PATCH without auth: %d", r.status)
	}
	if optionValue(t, srv, alpha, "url") != `"https://alpha.example.invalid"` {
		t.Error("unauthenticated PATCH changed state")
	}
}

func ids(t *testing.T, r reply) []string {
	t.Helper()
	var out []string
	for _, d := range get(t, r.doc, "data").([]any) {
		out = append(out, get(t, d, "id").(string))
	}
	return out
}

func TestListIntegrations(t *testing.T) {
	srv := newTiny(t, Config{})
	tests := []struct {
		query string
		ids   []string
		total int
	}{
		{"", []string{alpha, beta, alpha2}, 3},
		{"?page[size]=2", []string{alpha, beta}, 3},
		{"?page[size]=2&page[number]=2", []string{alpha2}, 3},
		{"?page[size]=2&page[number]=3", nil, 3},
		{"?page[size]=5000", []string{alpha, beta, alpha2}, 3},
		{"?filter[integration.status]=running", []string{alpha, alpha2}, 2},
		{"?filter[integration.status]=stopped", []string{beta}, 1},
		{"?filter[integration.integration-errors]=true", []string{alpha2}, 1},
		{"?filter[integration.integration-errors]=false&filter[integration.status]=running&page[size]=1", []string{alpha}, 1},
	}
	for _, tt := range tests {
		r := call(t, srv, "GET", "/api/integrations"+tt.query, tinyKey, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tt.query, r.status, r.raw)
		}
		if got := ids(t, r); !slices.Equal(got, tt.ids) {
			t.Errorf("%s: ids %v, want %v", tt.query, got, tt.ids)
		}
		if got := get(t, r.doc, "meta", "page", "total"); got != float64(tt.total) {
			t.Errorf("%s: total %v, want %d", tt.query, got, tt.total)
		}
		if r.header.Get("Content-Type") != MediaType {
			t.Errorf("%s: Content-Type %q", tt.query, r.header.Get("Content-Type"))
		}
	}

	r := call(t, srv, "GET", "/api/integrations?page[size]=1&page[number]=2", tinyKey, "")
	for rel, page := range map[string]string{"first": "1", "prev": "1", "self": "2", "next": "3", "last": "3"} {
		link, _ := get(t, r.doc, "links", rel).(string)
		if !strings.Contains(link, "page%5Bnumber%5D="+page+"&") {
			t.Errorf("links.%s = %q, want page %s", rel, link, page)
		}
	}
	// Options of the page's integrations only, in order.
	var inc []string
	for _, o := range get(t, r.doc, "included").([]any) {
		inc = append(inc, get(t, o, "id").(string))
	}
	if !slices.Equal(inc, []string{beta + "-apiKey"}) {
		t.Errorf("included = %v", inc)
	}

	for _, q := range []string{"page[size]=0", "page[number]=x", "page[number]=-1", "filter[integration.integration-errors]=maybe"} {
		r := call(t, srv, "GET", "/api/integrations?"+q, tinyKey, "")
		if r.status != 400 {
			t.Errorf("%s: %d", q, r.status)
		}
		errorsOf(t, r)
	}
	if r := call(t, srv, "POST", "/api/integrations", tinyKey, "{}"); r.status != 405 {
		t.Errorf("POST list: %d", r.status)
	}
}

func TestPageSizeCap(t *testing.T) {
	srv, err := New(Synthetic(MaxPageSize+5, 1), Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, srv, "GET", "/api/integrations?page[size]=100000", DefaultAPIKey, "")
	if n := len(get(t, r.doc, "data").([]any)); n != MaxPageSize {
		t.Errorf("page of %d, want the cap %d", n, MaxPageSize)
	}
	if got := get(t, r.doc, "meta", "page", "total"); got != float64(MaxPageSize+5) {
		t.Errorf("total %v", got)
	}
	r = call(t, srv, "GET", "/api/integrations", DefaultAPIKey, "")
	if n := len(get(t, r.doc, "data").([]any)); n != DefaultPageSize {
		t.Errorf("default page of %d", n)
	}
}

func TestGetIntegrationAndOption(t *testing.T) {
	srv := newTiny(t, Config{})
	r := call(t, srv, "GET", "/api/integrations/"+alpha, tinyKey, "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	wantAttrs := map[string]any{
		"name": "Alpha", "acronym": "A", "description": "", "status": "running", "version": "1.0.0",
		"entity-types": []any{"IPv4"}, "autosubscribe": false,
	}
	if got := get(t, r.doc, "data", "attributes"); !reflect.DeepEqual(got, wantAttrs) {
		t.Errorf("attributes = %v", got)
	}
	if get(t, r.doc, "data", "type") != "integrations" {
		t.Errorf("type %v", get(t, r.doc, "data", "type"))
	}
	refs := get(t, r.doc, "data", "relationships", "integration-options", "data").([]any)
	inc := get(t, r.doc, "included").([]any)
	if len(refs) != 6 || len(inc) != 6 {
		t.Fatalf("%d refs, %d included", len(refs), len(inc))
	}
	for i := range refs {
		if !reflect.DeepEqual(refs[i], map[string]any{"type": TypeSingular, "id": get(t, inc[i], "id")}) {
			t.Errorf("ref %v does not match included %v", refs[i], get(t, inc[i], "id"))
		}
	}
	sel := get(t, inc, 4).(map[string]any)
	wantSel := map[string]any{
		"type": TypeSingular, "id": alpha + "-severity",
		"attributes": map[string]any{
			"key": "severity", "name": "Severity", "description": "", "option-type": "select",
			"value":      map[string]any{"value": "low", "display": "Low"},
			"admin-only": false, "user-can-edit": true, "integration-id": alpha, "multiple": false,
			"options": []any{
				map[string]any{"value": "low", "display": "Low"},
				map[string]any{"value": "high", "display": "High"},
				map[string]any{"value": "score,desc", "display": "Best First"},
			},
		},
	}
	if !reflect.DeepEqual(sel, wantSel) {
		t.Errorf("select option =\n%v\nwant\n%v", sel, wantSel)
	}

	r = call(t, srv, "GET", "/api/integration-options/"+alpha+"-maxAge", tinyKey, "")
	if r.status != 200 || get(t, r.doc, "data", "attributes", "value") != float64(30) || get(t, r.doc, "data", "id") != alpha+"-maxAge" {
		t.Errorf("option: %d %s", r.status, r.raw)
	}

	for _, target := range []string{
		"/api/integrations/nope", "/api/integrations/" + alpha + "/x",
		"/api/integration-options/" + alpha + "-nope", "/api/integration-options/" + alpha,
		"/api/integration-options/nope-url", "/api/nothing", "/",
	} {
		r := call(t, srv, "GET", target, tinyKey, "")
		if r.status != 404 || r.header.Get("Content-Type") != MediaType {
			t.Errorf("GET %s: %d %q", target, r.status, r.header.Get("Content-Type"))
		}
		errorsOf(t, r)
	}
}

func TestScopedAPIKey(t *testing.T) {
	srv := newTiny(t, Config{})
	const key = "tiny-scoped-key"
	r := call(t, srv, "GET", "/api/integrations", key, "")
	if got := ids(t, r); !slices.Equal(got, []string{alpha}) || get(t, r.doc, "meta", "page", "total") != float64(1) {
		t.Errorf("scoped list: %v", got)
	}
	for _, target := range []string{"/api/integrations/" + alpha2, "/api/integration-options/" + alpha2 + "-apiKey"} {
		if r := call(t, srv, "GET", target, key, ""); r.status != 403 {
			t.Errorf("GET %s: %d", target, r.status)
		}
	}
	if r := call(t, srv, "PATCH", "/api/integration-options", key, patchBody([2]string{alpha2 + "-apiKey", `{"value":"x"}`})); r.status != 403 {
		t.Errorf("PATCH out of scope: %d", r.status)
	}
	if r := call(t, srv, "PATCH", "/api/integration-options", key, patchBody([2]string{alpha + "-apiKey", `{"value":"x"}`})); r.status != 200 {
		t.Errorf("PATCH in scope: %d", r.status)
	}
}

func TestPatchSuccess(t *testing.T) {
	srv := newTiny(t, Config{Passwords: PasswordsClear})
	body := patchBody(
		[2]string{alpha + "-url", `{"value":"https://new.example","admin-only":false,"user-can-edit":false}`},
		[2]string{alpha + "-severity", `{"value":{"value":"score,desc","display":"Best First"}}`},
		[2]string{alpha + "-statuses", `{"value":[{"value":"in_progress","display":"In Progress"},{"value":"new","display":"New"}]}`},
		[2]string{alpha + "-enabled", `{"value":false,"admin-only":true}`},
		[2]string{alpha + "-maxAge", `{"value":365}`},
		[2]string{alpha + "-apiKey", `{"value":null}`},
	)
	r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, body)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if got := ids(t, r); len(got) != 6 || got[0] != alpha+"-url" || got[5] != alpha+"-apiKey" {
		t.Errorf("response ids %v", got)
	}
	if v := get(t, r.doc, "data", 0, "attributes", "value"); v != "https://new.example" {
		t.Errorf("response value %v", v)
	}
	want := map[string]string{
		"url":      `"https://new.example"`,
		"severity": `{"value":"score,desc","display":"Best First"}`,
		"statuses": `[{"value":"in_progress","display":"In Progress"},{"value":"new","display":"New"}]`,
		"enabled":  `false`,
		"maxAge":   `365`,
		"apiKey":   `null`,
	}
	for k, v := range want {
		if got := optionValue(t, srv, alpha, k); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	in, _ := srv.Integration(alpha)
	if o := in.option("url"); o.AdminOnly || o.UserCanEdit {
		t.Errorf("url permissions %v/%v, want false/false", o.AdminOnly, o.UserCanEdit)
	}
	if o := in.option("enabled"); !o.AdminOnly || o.UserCanEdit {
		t.Errorf("enabled permissions %v/%v, want true/false", o.AdminOnly, o.UserCanEdit)
	}
	// Left-out attributes keep their values.
	if o := in.option("severity"); o.AdminOnly || !o.UserCanEdit {
		t.Errorf("severity permissions changed: %v/%v", o.AdminOnly, o.UserCanEdit)
	}
	r = call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-maxAge", `{"user-can-edit":true,"admin-only":false}`}))
	if r.status != 200 || optionValue(t, srv, alpha, "maxAge") != "365" {
		t.Errorf("permission-only PATCH: %d, value %s", r.status, optionValue(t, srv, alpha, "maxAge"))
	}
	// The plural resource type and unknown attributes are accepted.
	r = call(t, srv, "PATCH", "/api/integration-options", tinyKey,
		`{"data":[{"id":"`+alpha+`-url","type":"integration-options","attributes":{"value":"u2","key":"url","name":"whatever"}}]}`)
	if r.status != 200 || optionValue(t, srv, alpha, "url") != `"u2"` {
		t.Errorf("plural type: %d %s", r.status, r.raw)
	}
}

func TestPatch204(t *testing.T) {
	srv := newTiny(t, Config{PatchStatus: 204})
	req := patchBody([2]string{alpha + "-url", `{"value":"x"}`})
	r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, req)
	if r.status != 204 || len(r.raw) != 0 {
		t.Errorf("%d %q", r.status, r.raw)
	}
	if optionValue(t, srv, alpha, "url") != `"x"` {
		t.Error("not stored")
	}
}

func TestPatchErrors(t *testing.T) {
	one := func(key, attrs string) string { return patchBody([2]string{alpha + "-" + key, attrs}) }
	tests := []struct {
		name     string
		ct       string // Content-Type; "" means MediaType
		body     string
		status   int
		title    string
		pointers []string
	}{
		{"no content type", "none", one("url", `{"value":"x"}`), 415, "Unsupported Media Type", nil},
		{"json content type", "application/json", one("url", `{"value":"x"}`), 415, "Unsupported Media Type", nil},
		{"not json", "", `{"data":`, 400, "Bad Request", nil},
		{"data object", "", `{"data":{"id":"` + alpha + `-url","type":"integration-option","attributes":{"value":"x"}}}`, 400, "Bad Request", []string{"/data"}},
		{"data missing", "", `{}`, 400, "Bad Request", []string{"/data"}},
		{"data empty", "", `{"data":[]}`, 400, "Bad Request", []string{"/data"}},
		{"no id, bad type", "", `{"data":[{"type":"integration-option"},{"id":"` + alpha + `-url","type":"options"},{"id":"` + alpha + `-url"},7]}`, 400, "Bad Request",
			[]string{"/data/0/id", "/data/1/type", "/data/2/type", "/data/3"}},
		{"two integrations", "", patchBody([2]string{alpha + "-url", `{"value":"x"}`}, [2]string{alpha2 + "-apiKey", `{"value":"y"}`}), 400, "Bad Request", []string{"/data/1/id"}},
		{"unknown options", "", patchBody([2]string{alpha + "-nope", `{"value":"x"}`}, [2]string{alpha + "-url", `{"value":"x"}`}, [2]string{alpha + "-gone", `{}`}), 404, "Not Found", []string{"/data/0/id", "/data/2/id"}},
		{"unknown integration", "", patchBody([2]string{"zeta_node_18_1-url", `{"value":"x"}`}), 404, "Not Found", []string{"/data/0/id"}},
		{"id without dash", "", patchBody([2]string{alpha, `{"value":"x"}`}), 404, "Not Found", []string{"/data/0/id"}},
		{"stopped", "", patchBody([2]string{beta + "-apiKey", `{"value":"x"}`}), 400, "Failed to update integration options", nil},
		{"true/true", "", one("url", `{"user-can-edit":true}`), 422, "Invalid permissions", []string{"/data/0/attributes/user-can-edit"}},
		{"permission not bool", "", one("url", `{"admin-only":"yes","user-can-edit":null}`), 422, "Invalid attribute",
			[]string{"/data/0/attributes/admin-only", "/data/0/attributes/user-can-edit"}},
		{"bad values, all reported", "", patchBody(
			[2]string{alpha + "-url", `{"value":5}`},
			[2]string{alpha + "-apiKey", `{"value":false}`},
			[2]string{alpha + "-enabled", `{"value":"true"}`},
			[2]string{alpha + "-maxAge", `{"value":366,"admin-only":true,"user-can-edit":true}`},
			[2]string{alpha + "-severity", `{"value":{"value":"medium","display":"Medium"}}`},
			[2]string{alpha + "-statuses", `{"value":{"value":"new","display":"New"}}`},
		), 422, "Invalid option value", []string{
			"/data/0/attributes/value", "/data/1/attributes/value", "/data/2/attributes/value",
			"/data/3/attributes/value", "/data/3/attributes/user-can-edit",
			"/data/4/attributes/value", "/data/5/attributes/value",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTiny(t, Config{})
			before := srv.State()
			req, _ := http.NewRequest("PATCH", "/api/integration-options", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+tinyKey)
			switch tt.ct {
			case "":
				req.Header.Set("Content-Type", MediaType)
			case "none":
			default:
				req.Header.Set("Content-Type", tt.ct)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			r := decode(t, rec.Code, rec.Header(), rec.Body.Bytes())
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.raw)
			}
			errs := errorsOf(t, r)
			if errs[0][1] != tt.title || errs[0][0] != fmt.Sprint(tt.status) {
				t.Errorf("first error %v, want status %d title %q", errs[0], tt.status, tt.title)
			}
			var ptrs []string
			for _, e := range errs {
				if e[3] != "" {
					ptrs = append(ptrs, e[3])
				}
			}
			if !slices.Equal(ptrs, tt.pointers) {
				t.Errorf("pointers %v, want %v", ptrs, tt.pointers)
			}
			if tt.name == "stopped" && errs[0][2] != "Integration is not running" {
				t.Errorf("detail %q", errs[0][2])
			}
			if !reflect.DeepEqual(srv.State(), before) {
				t.Error("a refused PATCH changed the state")
			}
		})
	}
}

// TestPatchAllOrNothing: one bad entry keeps the good ones from being stored.
func TestPatchAllOrNothing(t *testing.T) {
	srv := newTiny(t, Config{})
	r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody(
		[2]string{alpha + "-url", `{"value":"changed"}`},
		[2]string{alpha + "-maxAge", `{"value":0}`},
	))
	if r.status != 422 || optionValue(t, srv, alpha, "url") != `"https://alpha.example.invalid"` {
		t.Errorf("%d, url %s", r.status, optionValue(t, srv, alpha, "url"))
	}
	// A later entry sees an earlier one's effect: lifting admin-only first makes
	// user-can-edit legal.
	srv.SetPermissions(alpha, "url", true, false)
	r = call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody(
		[2]string{alpha + "-url", `{"admin-only":false}`},
		[2]string{alpha + "-url", `{"user-can-edit":true}`},
	))
	in, _ := srv.Integration(alpha)
	if o := in.option("url"); r.status != 200 || o.AdminOnly || !o.UserCanEdit {
		t.Errorf("%d %s", r.status, r.raw)
	}
}

func TestShapeSwitches(t *testing.T) {
	// alpha's options in order: apiKey, url, enabled, maxAge, severity, statuses.
	t.Run("attributes, plural, type", func(t *testing.T) {
		srv := newTiny(t, Config{OptionsIn: OptionsAttributes, OptionResourceType: TypePlural, KindAttr: KindAttrType})
		r := call(t, srv, "GET", "/api/integrations/"+alpha, tinyKey, "")
		if _, ok := r.doc["included"]; ok {
			t.Error("included present in attributes mode")
		}
		if rel := get(t, r.doc, "data", "relationships"); rel != nil {
			t.Errorf("relationships present: %v", rel)
		}
		opts := get(t, r.doc, "data", "attributes", "integration-options").([]any)
		if len(opts) != 6 {
			t.Fatalf("%d options", len(opts))
		}
		o := opts[3].(map[string]any)
		want := map[string]any{"id": alpha + "-maxAge", "key": "maxAge", "name": "Max Age", "description": "", "type": "number",
			"value": float64(30), "admin-only": true, "user-can-edit": false, "integration-id": alpha}
		if !reflect.DeepEqual(o, want) {
			t.Errorf("flat option %v", o)
		}
		r = call(t, srv, "GET", "/api/integrations", tinyKey, "")
		if _, ok := r.doc["included"]; ok {
			t.Error("included present in list")
		}
		r = call(t, srv, "GET", "/api/integration-options/"+alpha+"-maxAge", tinyKey, "")
		if get(t, r.doc, "data", "type") != TypePlural || get(t, r.doc, "data", "attributes", "type") != "number" {
			t.Errorf("option: %s", r.raw)
		}
	})
	t.Run("included plural", func(t *testing.T) {
		srv := newTiny(t, Config{OptionResourceType: TypePlural})
		r := call(t, srv, "GET", "/api/integrations/"+alpha, tinyKey, "")
		if get(t, r.doc, "data", "relationships", "integration-options", "data", 0, "type") != TypePlural ||
			get(t, r.doc, "included", 0, "type") != TypePlural {
			t.Errorf("%s", r.raw)
		}
	})
	passwords := func(t *testing.T, mode PasswordMode) (withValue, emptyValue, nullValue any, present bool) {
		srv := newTiny(t, Config{Passwords: mode})
		val := func(id string) (any, bool) {
			r := call(t, srv, "GET", "/api/integration-options/"+id+"-apiKey", tinyKey, "")
			v, ok := get(t, r.doc, "data", "attributes").(map[string]any)["value"]
			return v, ok
		}
		withValue, present = val(alpha)
		emptyValue, _ = val(beta)
		nullValue, _ = val(alpha2)
		// PATCH answers use the same mode.
		r := call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-apiKey", `{"value":"new-secret"}`}))
		v, ok := get(t, r.doc, "data", 0, "attributes").(map[string]any)["value"]
		if ok != present || (ok && mode == PasswordsMasked && v != MaskedPassword) || (ok && mode == PasswordsClear && v != "new-secret") {
			t.Errorf("PATCH answer value %v %v", v, ok)
		}
		if optionValue(t, srv, alpha, "apiKey") != `"new-secret"` {
			t.Error("state is masked")
		}
		// Non-password values are never masked.
		r = call(t, srv, "GET", "/api/integration-options/"+alpha+"-url", tinyKey, "")
		if get(t, r.doc, "data", "attributes", "value") != "https://alpha.example.invalid" {
			t.Errorf("text value in mode %s: %s", mode, r.raw)
		}
		return
	}
	t.Run("passwords clear", func(t *testing.T) {
		w, e, n, ok := passwords(t, PasswordsClear)
		if w != "alpha-secret" || e != "" || n != nil || !ok {
			t.Errorf("%v %v %v %v", w, e, n, ok)
		}
	})
	t.Run("passwords masked", func(t *testing.T) {
		w, e, n, ok := passwords(t, PasswordsMasked)
		if w != MaskedPassword || e != "" || n != nil || !ok {
			t.Errorf("%v %v %v %v", w, e, n, ok)
		}
	})
	t.Run("passwords absent", func(t *testing.T) {
		if _, _, _, ok := passwords(t, PasswordsAbsent); ok {
			t.Error("value present")
		}
	})
}

func TestConfigValidation(t *testing.T) {
	bad := Config{
		OptionsIn: "nowhere", OptionResourceType: "opt", KindAttr: "kind", Passwords: "hidden", PatchStatus: 201,
		TokenLifetime: -time.Second,
		Faults:        Faults{On: "get", FailRate: 2, DropRate: -1, HangRate: 1.5, FailStatus: 404, Latency: -1, RateLimit: -1},
	}
	_, err := New(nil, bad)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"nowhere", `"opt"`, `"kind"`, "hidden", "201", "token lifetime", `"get"`, "fail rate", "drop rate", "hang rate", "404", "latency", "rate limit"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	srv := newTiny(t, Config{})
	if err := srv.SetFaults(Faults{FailRate: 3}); err == nil {
		t.Error("SetFaults accepted a fail rate of 3")
	}
	c := srv.Config()
	c.Passwords = PasswordsClear
	if err := srv.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	r := call(t, srv, "GET", "/api/integration-options/"+alpha+"-apiKey", tinyKey, "")
	if get(t, r.doc, "data", "attributes", "value") != "alpha-secret" {
		t.Errorf("SetConfig not applied: %s", r.raw)
	}
	if err := srv.SetConfig(Config{}); err == nil {
		t.Error("SetConfig accepted empty credentials")
	}
}

func TestRequestsRecorded(t *testing.T) {
	srv := newTiny(t, Config{})
	tok := get(t, login(t, srv, "tester", "tester-password").doc, "data", "token").(string)
	call(t, srv, "GET", "/api/integrations?page[size]=2", tok, "")
	body := patchBody([2]string{alpha + "-url", `{"value":"x"}`})
	call(t, srv, "PATCH", "/api/integration-options", tinyKey, body)
	call(t, srv, "GET", "/api/integrations", "junk", "")
	call(t, srv, "GET", "/_fake/state", "", "")

	got := srv.Requests()
	if len(got) != 4 {
		t.Fatalf("%d requests recorded, want 4 (control requests are not)", len(got))
	}
	want := []struct {
		method, path, query string
		auth                AuthKind
		status              int
	}{
		{"POST", "/api/users/login", "", AuthNone, 200},
		{"GET", "/api/integrations", "page[size]=2", AuthToken, 200},
		{"PATCH", "/api/integration-options", "", AuthAPIKey, 200},
		{"GET", "/api/integrations", "", AuthInvalid, 401},
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.method || g.Path != w.path || g.Query != w.query || g.Auth != w.auth || g.Status != w.status || !g.Done || g.Seq != i+1 {
			t.Errorf("request %d = %+v, want %+v", i, g, w)
		}
	}
	if string(got[2].Body) != body || got[2].ContentType != MediaType {
		t.Errorf("PATCH body %q content type %q", got[2].Body, got[2].ContentType)
	}
	srv.ResetRequests()
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d after reset", n)
	}
	call(t, srv, "GET", "/api/integrations", tinyKey, "")
	if got := srv.Requests(); got[0].Seq != 5 {
		t.Errorf("seq after reset = %d, want 5", got[0].Seq)
	}
	var decoded []map[string]any
	raw, _ := json.Marshal(srv.Requests())
	if err := json.Unmarshal(raw, &decoded); err != nil || decoded[0]["body"] != "" || decoded[0]["method"] != "GET" {
		t.Errorf("Request JSON %s", raw)
	}
}

func TestDriftAndStatus(t *testing.T) {
	srv := newTiny(t, Config{})
	if err := srv.SetOption(alpha, "maxAge", json.RawMessage(`7`)); err != nil {
		t.Fatal(err)
	}
	r := call(t, srv, "GET", "/api/integration-options/"+alpha+"-maxAge", tinyKey, "")
	if get(t, r.doc, "data", "attributes", "value") != float64(7) {
		t.Errorf("drift not served: %s", r.raw)
	}
	for _, err := range []error{
		srv.SetOption(alpha, "maxAge", json.RawMessage(`"7"`)),
		srv.SetOption(alpha, "nope", json.RawMessage(`1`)),
		srv.SetOption("nope", "maxAge", json.RawMessage(`1`)),
		srv.SetPermissions(alpha, "url", true, true),
		srv.SetStatus("nope", StatusStopped),
		srv.SetStatus(alpha, ""),
	} {
		if err == nil {
			t.Error("accepted")
		}
	}
	if err := srv.SetStatus(alpha, StatusStopped); err != nil {
		t.Fatal(err)
	}
	r = call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-url", `{"value":"x"}`}))
	if e := errorsOf(t, r); r.status != 400 || e[0][2] != "Integration is not running" {
		t.Errorf("%d %v", r.status, e)
	}
	srv.SetStatus(alpha, StatusRunning)
	r = call(t, srv, "PATCH", "/api/integration-options", tinyKey, patchBody([2]string{alpha + "-url", `{"value":"x"}`}))
	if r.status != 200 {
		t.Errorf("after restart: %d", r.status)
	}
}
