package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Effect is what an Unhealthy rule does to an integration.
type Effect string

// The effects of a change that breaks an integration.
const (
	// EffectErrors: the integration reports an integration error (as one with a broken API
	// key does once it has tried it), seen through filter[integration.integration-errors].
	EffectErrors Effect = "errors"
	// EffectStop: the integration stops (status "stopped"), and refuses option changes.
	EffectStop Effect = "stop"
)

// Unhealthy is a change that makes an integration unhealthy, so that a client's health check
// can be tested: after a PATCH that leaves option Key with the value Value, the integration
// gets Effect. Value is compared as a CSV cell writes it: a string's text, else the JSON text.
// Integration, when set, limits the rule to that integration.
type Unhealthy struct {
	Integration string `json:"integration,omitempty"`
	Key         string `json:"key"`
	Value       string `json:"value"`
	Effect      Effect `json:"effect"`
}

// ruleError is the integration error an EffectErrors rule gives: recognisable, so that the
// error goes away again when a later PATCH no longer matches the rule.
func ruleError(u Unhealthy) string {
	return fmt.Sprintf("polarity-fake: option %s is %q: the integration fails its lookups", u.Key, u.Value)
}

// ParseUnhealthy reads a --unhealthy flag: KEY=VALUE:EFFECT, e.g. apiKey=broken-key:errors.
func ParseUnhealthy(s string) (Unhealthy, error) {
	i := strings.LastIndex(s, ":")
	kv, eff := s, ""
	if i >= 0 {
		kv, eff = s[:i], s[i+1:]
	}
	key, value, ok := strings.Cut(kv, "=")
	u := Unhealthy{Key: key, Value: value, Effect: Effect(eff)}
	if !ok || key == "" {
		return u, fmt.Errorf("--unhealthy %q: want KEY=VALUE:errors or KEY=VALUE:stop", s)
	}
	return u, u.validate()
}

func (u Unhealthy) validate() error {
	if u.Key == "" {
		return fmt.Errorf("unhealthy rule: no option key")
	}
	if u.Effect != EffectErrors && u.Effect != EffectStop {
		return fmt.Errorf("unhealthy rule %s=%s: effect %q: want errors or stop", u.Key, u.Value, u.Effect)
	}
	return nil
}

// matches reports whether the rule holds for in.
func (u Unhealthy) matches(in *Integration) bool {
	if u.Integration != "" && u.Integration != in.ID {
		return false
	}
	o := in.option(u.Key)
	return o != nil && cellText(o.Value) == u.Value
}

// cellText is a value as a CSV cell writes it.
func cellText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// applyHealthLocked gives in the effects of the rules that hold for it after a change, and
// takes back the errors of rules that no longer do.
func (s *Server) applyHealthLocked(in *Integration) {
	kept := in.Errors[:0:0]
	for _, e := range in.Errors {
		if !strings.HasPrefix(e, "polarity-fake: option ") {
			kept = append(kept, e)
		}
	}
	in.Errors = kept
	for _, u := range s.cfg.Unhealthy {
		if !u.matches(in) {
			continue
		}
		switch u.Effect {
		case EffectErrors:
			in.Errors = append(in.Errors, ruleError(u))
		case EffectStop:
			in.Status = StatusStopped
		}
	}
}

// ErrorsFilterMode says how the list endpoint treats filter[integration.integration-errors]
// (polarity-api.md documents the filter; a server may still not know it).
type ErrorsFilterMode string

// The ways a server may treat the errors filter.
const (
	ErrorsFilterHonour ErrorsFilterMode = "honour"
	ErrorsFilterIgnore ErrorsFilterMode = "ignore" // lists every integration, as if unfiltered
	ErrorsFilterRefuse ErrorsFilterMode = "refuse" // 400 Invalid query parameter
)

// SetUnhealthy replaces the rules that make integrations unhealthy after a change.
func (s *Server) SetUnhealthy(rules ...Unhealthy) error {
	for _, u := range rules {
		if err := u.validate(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.cfg.Unhealthy = append([]Unhealthy(nil), rules...)
	s.mu.Unlock()
	return nil
}

// errorsFilter reads filter[integration.integration-errors] as the server's ErrorsFilter
// mode says: the integrations wanted (nil: all), or the refusal.
func (s *Server) errorsFilter(q url.Values) (*bool, []apiError) {
	const name = "filter[integration.integration-errors]"
	if !q.Has(name) {
		return nil, nil
	}
	switch s.Config().ErrorsFilter {
	case ErrorsFilterRefuse:
		return nil, []apiError{{Title: "Invalid query parameter", Detail: "unknown filter " + name, Source: &errSource{Parameter: name}}}
	case ErrorsFilterIgnore:
		return nil, nil
	}
	b, err := strconv.ParseBool(q.Get(name))
	if err != nil {
		return nil, []apiError{{Title: "Invalid query parameter", Detail: name + " must be true or false", Source: &errSource{Parameter: name}}}
	}
	return &b, nil
}

// controlUnhealthy answers POST /_fake/unhealthy (add a rule; the answer lists the rules) and
// DELETE (drop them all).
func (s *Server) controlUnhealthy(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.mu.Lock()
		s.cfg.Unhealthy = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var u Unhealthy
	if !decodeControl(w, r, &u) {
		return
	}
	if err := u.validate(); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: err.Error()})
		return
	}
	s.mu.Lock()
	s.cfg.Unhealthy = append(s.cfg.Unhealthy, u)
	rules := append([]Unhealthy(nil), s.cfg.Unhealthy...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"unhealthy": rules})
}
