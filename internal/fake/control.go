package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// serveControl answers the /_fake/ endpoints, which need no auth, see no faults and are not
// recorded:
//
//	GET    /_fake/requests       recorded API requests (JSON array of Request)
//	DELETE /_fake/requests       forget them (ResetRequests)
//	GET    /_fake/state          {"integrations": [...]} in fixture format, values unmasked
//	POST   /_fake/drift          {"integration","key","value"?,"admin-only"?,"user-can-edit"?}
//	POST   /_fake/status         {"integration","status"}
//	POST   /_fake/install        an integration in fixture format: install it (Install)
//	POST   /_fake/uninstall      {"integration"}: remove it (Uninstall)
//	POST   /_fake/unhealthy      {"integration"?,"key","value","effect"}: a change that breaks (see Unhealthy)
//	DELETE /_fake/unhealthy      drop those rules
//	POST   /_fake/expire-tokens  invalidate every login token
//	GET    /_fake/faults         the current faults, in flag names
//	PUT    /_fake/faults         replace the faults (missing fields are zero)
//	GET    /_fake/stats          {"requests","in-flight","max-in-flight"}
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_fake/requests":
		writeJSON(w, http.StatusOK, s.Requests())
	case "DELETE /_fake/requests":
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_fake/state":
		writeJSON(w, http.StatusOK, Fixture{Integrations: s.State()})
	case "POST /_fake/drift":
		s.controlDrift(w, r)
	case "POST /_fake/status":
		var in struct {
			Integration string `json:"integration"`
			Status      string `json:"status"`
		}
		if !decodeControl(w, r, &in) {
			return
		}
		if err := s.SetStatus(in.Integration, in.Status); err != nil {
			writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: err.Error()})
			return
		}
		got, _ := s.Integration(in.Integration)
		writeJSON(w, http.StatusOK, got)
	case "POST /_fake/install", "POST /_fake/uninstall":
		s.controlInstall(w, r)
	case "POST /_fake/unhealthy", "DELETE /_fake/unhealthy":
		s.controlUnhealthy(w, r)
	case "POST /_fake/expire-tokens":
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_fake/faults":
		writeJSON(w, http.StatusOK, toWire(s.Config().Faults))
	case "PUT /_fake/faults":
		var in faultsWire
		if !decodeControl(w, r, &in) {
			return
		}
		f, err := in.faults()
		if err == nil {
			err = s.SetFaults(f)
		}
		if err != nil {
			writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, toWire(s.Config().Faults))
	case "GET /_fake/stats":
		s.mu.Lock()
		stats := map[string]int{"requests": len(s.requests), "in-flight": s.inFlight, "max-in-flight": s.maxInFlight}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, stats)
	default:
		writeErrors(w, http.StatusNotFound, apiError{Title: "Not Found", Detail: "no control endpoint " + route})
	}
}

func (s *Server) controlDrift(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Integration string          `json:"integration"`
		Key         string          `json:"key"`
		Value       json.RawMessage `json:"value"`
		AdminOnly   *bool           `json:"admin-only"`
		UserCanEdit *bool           `json:"user-can-edit"`
	}
	if !decodeControl(w, r, &in) {
		return
	}
	fail := func(err error) {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: err.Error()})
	}
	// A null value decodes to the 4-byte literal; only a missing one leaves Value empty.
	if len(in.Value) > 0 {
		if err := s.SetOption(in.Integration, in.Key, in.Value); err != nil {
			fail(err)
			return
		}
	}
	if in.AdminOnly != nil || in.UserCanEdit != nil {
		cur, ok := s.Integration(in.Integration)
		o := cur.option(in.Key)
		if !ok || o == nil {
			fail(fmt.Errorf("option %s-%s: unknown option", in.Integration, in.Key))
			return
		}
		adminOnly, userCanEdit := o.AdminOnly, o.UserCanEdit
		if in.AdminOnly != nil {
			adminOnly = *in.AdminOnly
		}
		if in.UserCanEdit != nil {
			userCanEdit = *in.UserCanEdit
		}
		if err := s.SetPermissions(in.Integration, in.Key, adminOnly, userCanEdit); err != nil {
			fail(err)
			return
		}
	}
	cur, ok := s.Integration(in.Integration)
	o := cur.option(in.Key)
	if !ok || o == nil {
		fail(fmt.Errorf("option %s-%s: unknown option", in.Integration, in.Key))
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// decodeControl decodes a control request body strictly, answering 400 on failure.
func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: "decode body: " + err.Error()})
		return false
	}
	return true
}

// faultsWire is Faults with the flag names and durations as strings ("50ms").
type faultsWire struct {
	Seed           uint64     `json:"seed"`
	On             FaultScope `json:"faults-on,omitempty"`
	Latency        string     `json:"latency,omitempty"`
	RateLimit      float64    `json:"rate-limit"`
	RateBurst      int        `json:"rate-burst"`
	RetryAfterDate bool       `json:"retry-after-date"`
	Headers        bool       `json:"rate-limit-headers"`
	FailRate       float64    `json:"fail-rate"`
	FailStatus     int        `json:"fail-status,omitempty"`
	DropRate       float64    `json:"drop-rate"`
	HangRate       float64    `json:"hang-rate"`
}

func toWire(f Faults) faultsWire {
	return faultsWire{
		Seed: f.Seed, On: f.On, Latency: f.Latency.String(), RateLimit: f.RateLimit, RateBurst: f.RateBurst,
		RetryAfterDate: f.RetryAfterDate, Headers: f.RateLimitHeaders, FailRate: f.FailRate, FailStatus: f.FailStatus,
		DropRate: f.DropRate, HangRate: f.HangRate,
	}
}

func (w faultsWire) faults() (Faults, error) {
	var lat time.Duration
	if w.Latency != "" {
		d, err := time.ParseDuration(w.Latency)
		if err != nil {
			return Faults{}, fmt.Errorf("latency: %w", err)
		}
		lat = d
	}
	return Faults{
		Seed: w.Seed, On: w.On, Latency: lat, RateLimit: w.RateLimit, RateBurst: w.RateBurst,
		RetryAfterDate: w.RetryAfterDate, RateLimitHeaders: w.Headers, FailRate: w.FailRate, FailStatus: w.FailStatus,
		DropRate: w.DropRate, HangRate: w.HangRate,
	}, nil
}

func (s *Server) controlInstall(w http.ResponseWriter, r *http.Request) {
	var in Integration
	var err error
	if r.URL.Path == "/_fake/install" {
		if !decodeControl(w, r, &in) {
			return
		}
		err = s.Install(in)
	} else {
		var req struct {
			Integration string `json:"integration"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		err = s.Uninstall(req.Integration)
	}
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad Request", Detail: err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
