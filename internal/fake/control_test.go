package fake

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// control runs one control request in process and returns status and body.
func control(t *testing.T, srv *Server, method, target, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func TestControlEndpoints(t *testing.T) {
	srv := newTiny(t, Config{})
	call(t, srv, "GET", "/api/integrations", tinyKey, "")

	code, body := control(t, srv, "GET", "/_fake/requests", "")
	var reqs []map[string]any
	if err := json.Unmarshal([]byte(body), &reqs); code != 200 || err != nil || len(reqs) != 1 || reqs[0]["path"] != "/api/integrations" {
		t.Errorf("requests: %d %s", code, body)
	}
	if code, _ := control(t, srv, "DELETE", "/_fake/requests", ""); code != 204 || len(srv.Requests()) != 0 {
		t.Errorf("delete requests: %d", code)
	}

	code, body = control(t, srv, "POST", "/_fake/drift", `{"integration":"`+alpha+`","key":"maxAge","value":12}`)
	if code != 200 || optionValue(t, srv, alpha, "maxAge") != "12" {
		t.Errorf("drift: %d %s", code, body)
	}
	code, _ = control(t, srv, "POST", "/_fake/drift", `{"integration":"`+alpha+`","key":"url","value":null,"admin-only":false}`)
	in, _ := srv.Integration(alpha)
	if o := in.option("url"); code != 200 || string(o.Value) != "null" || o.AdminOnly {
		t.Errorf("drift null + permission: %d %s %v", code, o.Value, o.AdminOnly)
	}
	code, _ = control(t, srv, "POST", "/_fake/drift", `{"integration":"`+alpha+`","key":"enabled","user-can-edit":true}`)
	if in, _ := srv.Integration(alpha); code != 200 || !in.option("enabled").UserCanEdit || string(in.option("enabled").Value) != "true" {
		t.Errorf("permission-only drift: %d", code)
	}
	for _, bad := range []string{
		`{"integration":"` + alpha + `","key":"maxAge","value":"x"}`,
		`{"integration":"` + alpha + `","key":"nope","value":1}`,
		`{"integration":"` + alpha + `","key":"nope"}`,
		`{"integration":"` + alpha + `","key":"url","admin-only":true,"user-can-edit":true}`,
		`{"integration":"` + alpha + `","colour":1}`,
		`{`,
	} {
		if code, _ := control(t, srv, "POST", "/_fake/drift", bad); code != 400 {
			t.Errorf("drift %s: %d", bad, code)
		}
	}

	code, body = control(t, srv, "POST", "/_fake/status", `{"integration":"`+alpha+`","status":"stopped"}`)
	if in, _ := srv.Integration(alpha); code != 200 || in.Status != StatusStopped {
		t.Errorf("status: %d %s", code, body)
	}
	if code, _ := control(t, srv, "POST", "/_fake/status", `{"integration":"nope","status":"stopped"}`); code != 400 {
		t.Errorf("status of unknown: %d", code)
	}

	code, body = control(t, srv, "GET", "/_fake/state", "")
	var st Fixture
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || len(st.Integrations) != 3 || st.Integrations[0].Status != StatusStopped {
		t.Errorf("state: %d %v", code, err)
	}
	// The state dump is itself a valid fixture, with secrets in clear.
	if err := st.Validate(); err != nil || string(st.Integrations[0].option("apiKey").Value) != `"alpha-secret"` {
		t.Errorf("state as fixture: %v", err)
	}

	tok := get(t, login(t, srv, "tester", "tester-password").doc, "data", "token").(string)
	if code, _ := control(t, srv, "POST", "/_fake/expire-tokens", ""); code != 204 {
		t.Errorf("expire-tokens: %d", code)
	}
	if r := call(t, srv, "GET", "/api/integrations", tok, ""); r.status != 401 {
		t.Errorf("token after expire-tokens: %d", r.status)
	}

	code, body = control(t, srv, "PUT", "/_fake/faults", `{"latency":"20ms","fail-rate":0.5,"faults-on":"patch","seed":3}`)
	f := srv.Config().Faults
	if code != 200 || f.Latency.Milliseconds() != 20 || f.FailRate != 0.5 || f.On != FaultsOnPatch || f.Seed != 3 || f.FailStatus != 503 {
		t.Errorf("put faults: %d %s %+v", code, body, f)
	}
	code, body = control(t, srv, "GET", "/_fake/faults", "")
	if code != 200 || !strings.Contains(body, `"latency": "20ms"`) || !strings.Contains(body, `"faults-on": "patch"`) {
		t.Errorf("get faults: %s", body)
	}
	for _, bad := range []string{`{"latency":"soon"}`, `{"fail-rate":2}`, `{"faults-on":"get"}`} {
		if code, _ := control(t, srv, "PUT", "/_fake/faults", bad); code != 400 {
			t.Errorf("faults %s: %d", bad, code)
		}
	}

	code, body = control(t, srv, "GET", "/_fake/stats", "")
	if code != 200 || !strings.Contains(body, `"max-in-flight"`) {
		t.Errorf("stats: %s", body)
	}
	if code, _ := control(t, srv, "GET", "/_fake/nothing", ""); code != 404 {
		t.Errorf("unknown control: %d", code)
	}
	if len(srv.Requests()) != 2 { // the login and the 401, nothing from /_fake/
		t.Errorf("%d requests recorded", len(srv.Requests()))
	}
}

// TestControlInstall: an integration installed behind the clients' back is listed last and
// can be changed; a copy under a taken id or with a broken option is refused; uninstalling
// removes it and keeps the others reachable by id.
func TestControlInstall(t *testing.T) {
	srv := newTiny(t, Config{})
	src, _ := srv.Integration(alpha)
	src.ID, src.Name = "alpha_copy_2", "Alpha Copy"
	body, _ := json.Marshal(src)
	if code, out := control(t, srv, "POST", "/_fake/install", string(body)); code != 204 {
		t.Fatalf("install: %d %s", code, out)
	}
	st := srv.State()
	if last := st[len(st)-1]; last.ID != "alpha_copy_2" || len(last.Options) != len(src.Options) {
		t.Fatalf("installed integration not last: %+v", last)
	}
	if err := srv.SetOption("alpha_copy_2", "maxAge", json.RawMessage(`7`)); err != nil {
		t.Errorf("set an option of the installed integration: %v", err)
	}
	if code, _ := control(t, srv, "POST", "/_fake/install", string(body)); code != 400 {
		t.Errorf("install under a taken id: %d", code)
	}
	bad := src
	bad.ID = "alpha-dash"
	if err := srv.Install(bad); err == nil {
		t.Errorf("an id with a dash installed")
	}
	if code, out := control(t, srv, "POST", "/_fake/uninstall", `{"integration":"`+alpha+`"}`); code != 204 {
		t.Fatalf("uninstall: %d %s", code, out)
	}
	if _, ok := srv.Integration(alpha); ok {
		t.Errorf("%s still there", alpha)
	}
	if _, ok := srv.Integration("alpha_copy_2"); !ok || len(srv.State()) != len(st)-1 {
		t.Errorf("uninstall lost another integration")
	}
	if code, _ := control(t, srv, "POST", "/_fake/uninstall", `{"integration":"nope"}`); code != 400 {
		t.Errorf("uninstall of an unknown id: %d", code)
	}
}
