package standin

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// DefaultAgentID and DefaultAgentName are the Salesforce user an
// AgentEdit without a user is made by.
const (
	DefaultAgentID   = "005000000000002AAA"
	DefaultAgentName = "Support Agent"
)

// ErrAgentEdit is wrapped by the errors EditAsAgent returns.
var ErrAgentEdit = errors.New("standin: agent edit refused")

// AgentEdit is a change a support agent makes to a record in Salesforce
// (from a record page, a list view or a flow), for tests.
type AgentEdit struct {
	// Object is the object's API name, such as "Chat_Conversation__c".
	Object string `json:"object"`
	// ExternalID names the record by its external id value; or ID by its
	// record id.
	ExternalID string `json:"externalId,omitempty"`
	ID         string `json:"id,omitempty"`
	// Fields are the values set, by field name (null clears a field).
	Fields map[string]any `json:"fields"`
	// UserID and UserName are the agent; DefaultAgentID and
	// DefaultAgentName when empty.
	UserID   string `json:"userId,omitempty"`
	UserName string `json:"userName,omitempty"`
}

var agentIDPattern = regexp.MustCompile(`^005[0-9A-Za-z]{15}$`)

// EditAsAgent changes a record as an agent would: the fields are set, the
// record's SystemModstamp becomes now and its LastModifiedById the agent.
// The field names must exist; their values are stored as given, without
// the checks of the API (an agent can set a picklist value an admin added,
// for example). It returns the record as it is after the edit.
func (s *Server) EditAsAgent(e AgentEdit) (Record, error) {
	o := s.schema[strings.ToLower(e.Object)]
	if o == nil {
		return Record{}, fmt.Errorf("%w: no object %q", ErrAgentEdit, e.Object)
	}
	if e.UserID == "" {
		e.UserID = DefaultAgentID
	}
	if e.UserName == "" {
		e.UserName = DefaultAgentName
	}
	if !agentIDPattern.MatchString(e.UserID) {
		return Record{}, fmt.Errorf("%w: userId %q is not an 18-character user id (005...)", ErrAgentEdit, e.UserID)
	}
	if len(e.Fields) == 0 {
		return Record{}, fmt.Errorf("%w: no fields to set", ErrAgentEdit)
	}
	values := map[string]any{}
	for k, v := range e.Fields {
		canon, ok := o.fields[strings.ToLower(k)]
		if !ok || canon == o.externalID {
			return Record{}, fmt.Errorf("%w: %s has no field %q an agent can edit", ErrAgentEdit, o.name, k)
		}
		if !isScalar(v) {
			return Record{}, fmt.Errorf("%w: %s: want a JSON scalar", ErrAgentEdit, k)
		}
		if f, isFloat := v.(float64); isFloat {
			v = json.Number(fmt.Sprint(f))
		}
		values[canon] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[o.name]
	r := t.byExt[e.ExternalID]
	if e.ID != "" {
		r = t.byID[e.ID]
	}
	if r == nil {
		return Record{}, fmt.Errorf("%w: %s has no record %q", ErrAgentEdit, o.name, e.ExternalID+e.ID)
	}
	for k, v := range values {
		if v == nil {
			delete(r.Fields, k)
		} else {
			r.Fields[k] = v
		}
	}
	s.users[e.UserID] = e.UserName
	s.touchLocked(r, e.UserID, nil)
	s.stats.AgentEdits++
	c := *r
	c.Fields = maps.Clone(r.Fields)
	return c, nil
}

// touchLocked stamps a write on r: SystemModstamp now (to the second, as
// Salesforce keeps it) and LastModifiedById user. With a journal, an undo
// step is appended. The caller holds s.mu.
func (s *Server) touchLocked(r *Record, user string, journal *[]func()) {
	before, beforeBy := r.SystemModstamp, r.LastModifiedByID
	r.SystemModstamp = s.now().UTC().Truncate(time.Second)
	r.LastModifiedByID = user
	if journal != nil {
		*journal = append(*journal, func() { r.SystemModstamp, r.LastModifiedByID = before, beforeBy })
	}
}

// agentRoutes serves the agent hook over HTTP, for tests against the
// cmd/sfstandin process:
//
//	POST /__standin/agent-edits   an AgentEdit -> the record
func (s *Server) agentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /__standin/agent-edits", func(w http.ResponseWriter, r *http.Request) {
		var e AgentEdit
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			adminError(w, http.StatusBadRequest, fmt.Errorf("invalid JSON body: %w", err))
			return
		}
		rec, err := s.EditAsAgent(e)
		if err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
}
