package standin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is how an injected failure answers a /services/data call.
type Fault struct {
	// Status is the HTTP status. Default 503.
	Status int `json:"status"`
	// ErrorCode is the errorCode of the JSON body. Default by status:
	// SERVER_UNAVAILABLE for 503, UNKNOWN_EXCEPTION otherwise.
	ErrorCode string `json:"errorCode,omitempty"`
	// Message is the message of the JSON body. Default: a message like
	// Salesforce's for the code.
	Message string `json:"message,omitempty"`
	// HTML answers an HTML error page instead of a JSON body, as a load
	// balancer or maintenance page does.
	HTML bool `json:"html,omitempty"`
}

// faultState is the pending fault injection.
type faultState struct {
	next      int
	nextFault Fault
	all       *Fault
}

// FailNext makes the next n /services/data calls fail with f, before their
// token is even checked. It replaces an earlier FailNext.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.next, s.faults.nextFault = n, f
}

// FailAll makes every /services/data call fail with f until ClearFaults.
func (s *Server) FailAll(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.all = &f
}

// ClearFaults stops FailNext and FailAll.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faultState{}
}

// takeFault returns the fault the current call must answer, if any.
func (s *Server) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.faults.all != nil:
		s.stats.Faults++
		return *s.faults.all, true
	case s.faults.next > 0:
		s.faults.next--
		s.stats.Faults++
		return s.faults.nextFault, true
	}
	return Fault{}, false
}

// writeFault answers a call with an injected fault.
func writeFault(w http.ResponseWriter, f Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if f.HTML {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%s</h1>"+
			"<p>The server is temporarily unable to service your request. Please try again later.</p></body></html>\n",
			status, http.StatusText(status), http.StatusText(status))
		return
	}
	code, msg := f.ErrorCode, f.Message
	if code == "" {
		code = "UNKNOWN_EXCEPTION"
		if status == http.StatusServiceUnavailable {
			code = "SERVER_UNAVAILABLE"
		}
	}
	if msg == "" {
		switch code {
		case "SERVER_UNAVAILABLE":
			msg = "Server temporarily unavailable. Please try again later."
		case "UNKNOWN_EXCEPTION":
			msg = "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-123456789)"
		default:
			msg = http.StatusText(status)
		}
	}
	writeErrors(w, status, code, msg)
}

// SetLatency delays every /services/data call by d (0 for none). A call
// whose client goes away during the delay is dropped.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ExpireTokens invalidates every token issued so far: their next call gets
// 401 INVALID_SESSION_ID.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// RejectRule makes the stand-in refuse, permanently, every record of Object
// whose Field holds a string containing Contains: the record's upsert fails
// with StatusCode and Message, as a validation rule or trigger would.
type RejectRule struct {
	Object     string `json:"object"`
	Field      string `json:"field"`
	Contains   string `json:"contains"`
	StatusCode string `json:"statusCode"`
	Message    string `json:"message"`
}

// AddRejectRule installs a rule and returns its id for RemoveRejectRule.
// An empty StatusCode means FIELD_CUSTOM_VALIDATION_EXCEPTION and an empty
// Message a generic validation message.
func (s *Server) AddRejectRule(r RejectRule) int {
	if r.StatusCode == "" {
		r.StatusCode = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
	}
	if r.Message == "" {
		r.Message = "The record was rejected by a validation rule."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ruleSeq++
	s.rules[s.ruleSeq] = r
	return s.ruleSeq
}

// RemoveRejectRule lifts a rule; it reports whether the rule existed.
func (s *Server) RemoveRejectRule(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.rules[id]
	delete(s.rules, id)
	return ok
}

// ClearRejectRules lifts every rule.
func (s *Server) ClearRejectRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.rules)
}

// SetUsage sets the api-usage counter, for example to the daily limit to
// make the next call fail with REQUEST_LIMIT_EXCEEDED.
func (s *Server) SetUsage(used int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = max(used, 0)
}

// Usage returns the api-usage counter and its maximum.
func (s *Server) Usage() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage, s.opts.DailyLimit
}

// Reset clears the records, the counters and usage, the faults, the
// reject rules and the latency. Tokens already issued stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetData()
	s.usage = 0
	s.stats = Stats{}
	s.faults = faultState{}
	clear(s.rules)
	s.latency = 0
}

// adminRoutes registers the /__standin/ routes on mux.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /__standin/faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Mode  string `json:"mode"`
			Count int    `json:"count"`
			Fault
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		switch req.Mode {
		case "next":
			if req.Count <= 0 {
				adminError(w, http.StatusBadRequest, errors.New(`"count" must be positive with mode "next"`))
				return
			}
			s.FailNext(req.Count, req.Fault)
		case "all":
			s.FailAll(req.Fault)
		default:
			adminError(w, http.StatusBadRequest, errors.New(`"mode" must be "next" or "all"`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /__standin/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /__standin/latency", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Latency string `json:"latency"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.Latency)
		if err != nil || d < 0 {
			adminError(w, http.StatusBadRequest, errors.New(`"latency" must be a non-negative Go duration such as "250ms"`))
			return
		}
		s.SetLatency(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /__standin/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /__standin/rules", func(w http.ResponseWriter, r *http.Request) {
		var rule RejectRule
		if !decodeAdmin(w, r, &rule) {
			return
		}
		if rule.Object == "" || rule.Field == "" || rule.Contains == "" {
			adminError(w, http.StatusBadRequest, errors.New(`"object", "field" and "contains" are required`))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]int{"id": s.AddRejectRule(rule)})
	})
	mux.HandleFunc("DELETE /__standin/rules/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || !s.RemoveRejectRule(id) {
			adminError(w, http.StatusNotFound, errors.New("no such rule"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /__standin/rules", func(w http.ResponseWriter, r *http.Request) {
		s.ClearRejectRules()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /__standin/usage", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Used *int `json:"used"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		if req.Used == nil || *req.Used < 0 {
			adminError(w, http.StatusBadRequest, errors.New(`"used" must be a non-negative number`))
			return
		}
		s.SetUsage(*req.Used)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /__standin/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /__standin/records/{object}", func(w http.ResponseWriter, r *http.Request) {
		if s.schema[strings.ToLower(r.PathValue("object"))] == nil {
			adminError(w, http.StatusNotFound, fmt.Errorf("no object %q", r.PathValue("object")))
			return
		}
		writeJSON(w, http.StatusOK, s.Records(r.PathValue("object")))
	})
	mux.HandleFunc("GET /__standin/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
}

// decodeAdmin reads an admin request's JSON body, answering 400 when it is
// not valid.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, fmt.Errorf("invalid JSON body: %w", err))
		return false
	}
	return true
}

// adminError writes {"error": ...} for an admin route.
func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
