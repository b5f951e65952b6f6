package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// route dispatches an API request that survived the faults.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte, who principal, now time.Time) {
	p := r.URL.Path
	switch {
	case p == "/api/users/login":
		if allow(w, r, http.MethodPost) {
			s.login(w, body, now)
		}
	case p == "/api/users/refresh":
		if allow(w, r, http.MethodGet) {
			s.refresh(w, who, now)
		}
	case p == "/api/users/logout":
		if allow(w, r, http.MethodPost) {
			s.logout(w, who)
		}
	case p == "/api/integrations":
		if allow(w, r, http.MethodGet) && authorized(w, who) {
			s.listIntegrations(w, r, who)
		}
	case strings.HasPrefix(p, "/api/integrations/") && !strings.Contains(p[len("/api/integrations/"):], "/"):
		if allow(w, r, http.MethodGet) && authorized(w, who) {
			s.getIntegration(w, strings.TrimPrefix(p, "/api/integrations/"), who)
		}
	case p == "/api/openapi":
		if allow(w, r, http.MethodGet) {
			s.mu.Lock()
			cfg := s.cfg
			s.mu.Unlock()
			s.serveOpenAPI(w, cfg)
		}
	case p == "/api/integration-options":
		if allow(w, r, http.MethodPatch) && authorized(w, who) {
			s.patchOptions(w, r, body, who)
		}
	case strings.HasPrefix(p, "/api/integration-options/") && !strings.Contains(p[len("/api/integration-options/"):], "/"):
		if allow(w, r, http.MethodGet) && authorized(w, who) {
			s.getOption(w, strings.TrimPrefix(p, "/api/integration-options/"), who)
		}
	default:
		writeErrors(w, http.StatusNotFound, apiError{Title: "Not Found", Detail: fmt.Sprintf("no route for %s %s", r.Method, p)})
	}
}

// allow answers 405 unless the request uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeErrors(w, http.StatusMethodNotAllowed, apiError{Title: "Method Not Allowed", Detail: fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method)})
	return false
}

// authorized answers 401 unless the request carries a live login token or an API key.
func authorized(w http.ResponseWriter, who principal) bool {
	var detail string
	switch who.kind {
	case AuthToken, AuthAPIKey:
		return true
	case AuthNone:
		detail = "missing Authorization: Bearer header"
	case AuthExpired:
		detail = "token expired"
	default:
		detail = "invalid token"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="polarity"`)
	writeErrors(w, http.StatusUnauthorized, apiError{Title: "Unauthorized", Detail: detail})
	return false
}

func (s *Server) login(w http.ResponseWriter, body []byte, now time.Time) {
	var in struct {
		Identification *string `json:"identification"`
		Password       *string `json:"password"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Identification == nil || in.Password == nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: `body must be {"identification": "<user>", "password": "<password>"}`})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if *in.Identification != s.cfg.Username || *in.Password != s.cfg.Password {
		writeErrors(w, http.StatusUnauthorized, apiError{Title: "Unauthorized", Detail: "invalid username or password"})
		return
	}
	s.writeSessionLocked(w, now)
}

// writeSessionLocked issues a token and answers with the login/refresh document.
func (s *Server) writeSessionLocked(w http.ResponseWriter, now time.Time) {
	tok, exp := s.issueTokenLocked(now)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"token":           tok,
		"expiration_time": exp.Unix(),
		"users": map[string]any{
			"type": "users",
			"id":   "1",
			"attributes": map[string]any{
				"username":  s.cfg.Username,
				"full-name": "Polarity Fake Admin",
				"email":     s.cfg.Username + "@polarity-fake.invalid",
				"is-admin":  true,
			},
		},
	}})
}

// sessionOnly admits a request that only a login session may make (refresh, logout): an API
// key is refused with 400 ("api keys cannot <what>"), anything else unauthorized with 401.
func sessionOnly(w http.ResponseWriter, who principal, what string) bool {
	if who.kind == AuthAPIKey {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: "api keys cannot " + what})
		return false
	}
	return authorized(w, who)
}

// refresh issues a new token for a live login token. The old token stays valid until its
// own expiry, as a JWT would.
func (s *Server) refresh(w http.ResponseWriter, who principal, now time.Time) {
	if !sessionOnly(w, who, "be refreshed") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[who.token]; !ok { // logged out while this request waited
		authorized(w, principal{kind: AuthInvalid})
		return
	}
	s.writeSessionLocked(w, now)
}

func (s *Server) logout(w http.ResponseWriter, who principal) {
	if !sessionOnly(w, who, "log out") {
		return
	}
	s.mu.Lock()
	delete(s.tokens, who.token)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]any{"message": "logged out"}})
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request, who principal) {
	q := r.URL.Query()
	size, number := DefaultPageSize, 1
	var errs []apiError
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page[size]", &size}, {"page[number]", &number}} {
		if !q.Has(p.name) {
			continue
		}
		n, err := strconv.Atoi(q.Get(p.name))
		if err != nil || n < 1 {
			errs = append(errs, apiError{Title: "Invalid query parameter", Detail: fmt.Sprintf("%s must be a positive integer", p.name), Source: &errSource{Parameter: p.name}})
			continue
		}
		*p.dst = n
	}
	size = min(size, MaxPageSize)
	const statusFilter = "filter[integration.status]"
	wantErrors, bad := s.errorsFilter(q)
	if errs = append(errs, bad...); len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*Integration
	for i := range s.integrations {
		in := &s.integrations[i]
		switch {
		case !who.allows(in.ID):
		case q.Has(statusFilter) && in.Status != q.Get(statusFilter):
		case wantErrors != nil && (len(in.Errors) > 0) != *wantErrors:
		default:
			match = append(match, in)
		}
	}
	total := len(match)
	from := min(total, (number-1)*size)
	to := min(total, from+size)
	data := []any{}
	included := []any{}
	for _, in := range match[from:to] {
		res, inc := s.integrationResourceLocked(in)
		data = append(data, res)
		included = append(included, inc...)
	}
	last := max(1, (total+size-1)/size)
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page[number]", strconv.Itoa(n))
		v.Set("page[size]", strconv.Itoa(size))
		return "/api/integrations?" + v.Encode()
	}
	links := map[string]any{"self": link(number), "first": link(1), "last": link(last)}
	if number > 1 {
		links["prev"] = link(min(number-1, last))
	}
	if number < last {
		links["next"] = link(number + 1)
	}
	doc := map[string]any{"data": data, "meta": map[string]any{"page": map[string]any{"total": total}}, "links": links}
	if s.cfg.OptionsIn == OptionsIncluded {
		doc["included"] = included
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) getIntegration(w http.ResponseWriter, id string, who principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		writeErrors(w, http.StatusNotFound, apiError{Title: "Not Found", Detail: fmt.Sprintf("integration %s not found", id)})
		return
	}
	if !who.allows(id) {
		writeErrors(w, http.StatusForbidden, forbidden(id))
		return
	}
	res, inc := s.integrationResourceLocked(&s.integrations[i])
	doc := map[string]any{"data": res}
	if s.cfg.OptionsIn == OptionsIncluded {
		doc["included"] = inc
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) getOption(w http.ResponseWriter, optionID string, who principal) {
	id, key, _ := strings.Cut(optionID, "-")
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok || s.integrations[i].option(key) == nil {
		writeErrors(w, http.StatusNotFound, apiError{Title: "Not Found", Detail: fmt.Sprintf("integration option %s not found", optionID)})
		return
	}
	if !who.allows(id) {
		writeErrors(w, http.StatusForbidden, forbidden(id))
		return
	}
	in := &s.integrations[i]
	writeJSON(w, http.StatusOK, map[string]any{"data": s.optionResourceLocked(in, in.option(key))})
}

func forbidden(id string) apiError {
	return apiError{Title: "Forbidden", Detail: fmt.Sprintf("api key has no access to integration %s", id)}
}

// integrationResourceLocked renders an integration and, in OptionsIncluded mode, the option
// resources that belong in "included".
func (s *Server) integrationResourceLocked(in *Integration) (map[string]any, []any) {
	attrs := map[string]any{
		"name":          in.Name,
		"acronym":       in.Acronym,
		"description":   in.Description,
		"status":        in.Status,
		"version":       in.Version,
		"entity-types":  nonNil(in.EntityTypes),
		"autosubscribe": in.Autosubscribe,
	}
	res := map[string]any{"type": "integrations", "id": in.ID, "attributes": attrs}
	if s.cfg.OptionsIn == OptionsAttributes {
		flat := make([]any, len(in.Options))
		for i := range in.Options {
			a := s.optionAttrsLocked(in, &in.Options[i])
			a["id"] = optionID(in.ID, in.Options[i].Key)
			flat[i] = a
		}
		attrs["integration-options"] = flat
		return res, nil
	}
	refs := make([]any, len(in.Options))
	included := make([]any, len(in.Options))
	for i := range in.Options {
		o := &in.Options[i]
		refs[i] = map[string]any{"type": s.cfg.OptionResourceType, "id": optionID(in.ID, o.Key)}
		included[i] = s.optionResourceLocked(in, o)
	}
	res["relationships"] = map[string]any{"integration-options": map[string]any{"data": refs}}
	return res, included
}

func (s *Server) optionResourceLocked(in *Integration, o *Option) map[string]any {
	return map[string]any{
		"type":       s.cfg.OptionResourceType,
		"id":         optionID(in.ID, o.Key),
		"attributes": s.optionAttrsLocked(in, o),
	}
}

// optionAttrsLocked renders an option's attributes, applying the password mode.
func (s *Server) optionAttrsLocked(in *Integration, o *Option) map[string]any {
	a := map[string]any{
		"key":            o.Key,
		"name":           o.Name,
		"description":    o.Description,
		s.cfg.KindAttr:   o.Type,
		"admin-only":     o.AdminOnly,
		"user-can-edit":  o.UserCanEdit,
		"integration-id": in.ID,
		"value":          o.Value,
	}
	if o.Type == KindSelect {
		a["options"] = nonNil(o.Options)
		a["multiple"] = o.Multiple
	}
	if o.Type == KindPassword {
		switch s.cfg.Passwords {
		case PasswordsAbsent:
			delete(a, "value")
		case PasswordsMasked:
			if !bytes.Equal(o.Value, []byte("null")) && !bytes.Equal(o.Value, []byte(`""`)) {
				a["value"] = MaskedPassword
			}
		}
	}
	return a
}

func optionID(integrationID, key string) string { return integrationID + "-" + key }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// patchItem is one validated entry of a PATCH body.
type patchItem struct {
	index         int
	id            string
	integrationID string
	key           string
	attrs         map[string]json.RawMessage
}

// patchOptions updates options of one integration, all or nothing. Checks run in this
// order, each stopping the request with every problem of its stage: media type (415),
// document shape (400), one integration per request (400), unknown integration or option
// (404), API key scope (403), integration not running (400), values and permissions (422).
func (s *Server) patchOptions(w http.ResponseWriter, r *http.Request, body []byte, who principal) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != MediaType {
		writeErrors(w, http.StatusUnsupportedMediaType, apiError{Title: "Unsupported Media Type", Detail: "Content-Type must be " + MediaType})
		return
	}
	items, errs := parsePatch(body)
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	for _, it := range items[1:] {
		if it.integrationID != items[0].integrationID {
			writeErrors(w, http.StatusBadRequest, apiError{
				Title:  "Bad Request",
				Detail: fmt.Sprintf("all options of one request must belong to one integration: %s and %s", items[0].integrationID, it.integrationID),
				Source: pointer(fmt.Sprintf("/data/%d/id", it.index)),
			})
			return
		}
	}
	if !s.waitHold(r) {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	in, status, errs := s.patchTargetLocked(items, who)
	if len(errs) > 0 {
		writeErrors(w, status, errs...)
		return
	}
	// Validate against a working copy so that a later item sees earlier items' effect and
	// nothing is stored unless every item passes.
	work := in.clone()
	var invalid []apiError
	for _, it := range items {
		invalid = append(invalid, applyItem(work.option(it.key), it)...)
	}
	if len(invalid) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, invalid...)
		return
	}
	*in = work
	s.applyHealthLocked(in)
	if s.cfg.PatchStatus == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	data := make([]any, len(items))
	for i, it := range items {
		data[i] = s.optionResourceLocked(in, in.option(it.key))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// patchTargetLocked returns the integration a PATCH's items belong to, or the status and
// errors that refuse it: an unknown option (404, every one listed), an integration the
// credential may not touch (403), or one that is not running (400).
func (s *Server) patchTargetLocked(items []patchItem, who principal) (*Integration, int, []apiError) {
	var notFound []apiError
	for _, it := range items {
		if i, ok := s.index[it.integrationID]; !ok || s.integrations[i].option(it.key) == nil {
			notFound = append(notFound, apiError{Title: "Not Found", Detail: fmt.Sprintf("integration option %s not found", it.id), Source: pointer(fmt.Sprintf("/data/%d/id", it.index))})
		}
	}
	if len(notFound) > 0 {
		return nil, http.StatusNotFound, notFound
	}
	in := &s.integrations[s.index[items[0].integrationID]]
	if !who.allows(in.ID) {
		return nil, http.StatusForbidden, []apiError{forbidden(in.ID)}
	}
	if in.Status != StatusRunning {
		return nil, http.StatusBadRequest, []apiError{{Title: "Failed to update integration options", Detail: "Integration is not running"}}
	}
	return in, 0, nil
}

// applyItem checks one item's attributes against option o and, when all of them pass,
// stores them in o. It returns the item's problems, each pointing at its attribute.
func applyItem(o *Option, it patchItem) []apiError {
	at := fmt.Sprintf("/data/%d/attributes/", it.index)
	next := *o
	var invalid []apiError
	permsOK := true
	for _, perm := range []struct {
		name string
		dst  *bool
	}{{"admin-only", &next.AdminOnly}, {"user-can-edit", &next.UserCanEdit}} {
		raw, present := it.attrs[perm.name]
		if !present {
			continue
		}
		if err := json.Unmarshal(raw, perm.dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			invalid = append(invalid, apiError{Title: "Invalid attribute", Detail: perm.name + " must be true or false", Source: pointer(at + perm.name)})
			permsOK = false
		}
	}
	if raw, present := it.attrs["value"]; present {
		v, problem := checkValue(o, raw)
		if problem != "" {
			invalid = append(invalid, apiError{Title: "Invalid option value", Detail: fmt.Sprintf("%s: %s", it.key, problem), Source: pointer(at + "value")})
		}
		next.Value = v
	}
	if permsOK && next.AdminOnly && next.UserCanEdit {
		invalid = append(invalid, apiError{Title: "Invalid permissions", Detail: fmt.Sprintf("%s: admin-only and user-can-edit cannot both be true", it.key), Source: pointer(at + "user-can-edit")})
	}
	if len(invalid) == 0 {
		*o = next
	}
	return invalid
}

// parsePatch checks the PATCH document's shape and reports every structural problem.
func parsePatch(body []byte) ([]patchItem, []apiError) {
	bad := func(detail, ptr string) []apiError {
		e := apiError{Title: "Bad Request", Detail: detail}
		if ptr != "" {
			e.Source = pointer(ptr)
		}
		return []apiError{e}
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, bad("body is not a JSON object: "+err.Error(), "")
	}
	var raw []json.RawMessage
	if d, ok := doc["data"]; !ok || json.Unmarshal(d, &raw) != nil || raw == nil {
		return nil, bad("data must be an array of integration-option resources", "/data")
	}
	if len(raw) == 0 {
		return nil, bad("data must not be empty", "/data")
	}
	var items []patchItem
	var errs []apiError
	for i, r := range raw {
		var res struct {
			ID         *string                    `json:"id"`
			Type       *string                    `json:"type"`
			Attributes map[string]json.RawMessage `json:"attributes"`
		}
		at := fmt.Sprintf("/data/%d", i)
		if err := json.Unmarshal(r, &res); err != nil || bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
			errs = append(errs, bad("each entry must be a resource object with id, type and attributes", at)...)
			continue
		}
		if res.ID == nil || *res.ID == "" {
			errs = append(errs, bad("id must be a string \"<integration id>-<option key>\"", at+"/id")...)
			continue
		}
		if res.Type == nil || *res.Type != TypeSingular && *res.Type != TypePlural {
			errs = append(errs, bad(fmt.Sprintf("type must be %q", TypeSingular), at+"/type")...)
			continue
		}
		integrationID, key, _ := strings.Cut(*res.ID, "-")
		items = append(items, patchItem{index: i, id: *res.ID, integrationID: integrationID, key: key, attrs: res.Attributes})
	}
	return items, errs
}

// waitHold blocks a PATCH while HoldPatches is in force. It reports false when the client
// gave up meanwhile.
func (s *Server) waitHold(r *http.Request) bool {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold == nil {
		return true
	}
	select {
	case <-hold:
		return true
	case <-s.done:
		return true
	case <-r.Context().Done():
		return false
	}
}
