package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// ConversationList answers GET .../conversations.
type ConversationList struct {
	Conversations []Conversation `json:"conversations"`
	// NextAfter is the after of the next page; absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "state", "channel", "contact", "updated_since", "after", "limit")
	if !ok {
		return
	}
	var f store.ConversationFilter
	if f.Channel, ok = a.channelFilter(w, r, q); !ok {
		return
	}
	for _, v := range q["state"] {
		for _, part := range strings.Split(v, ",") {
			s, err := statemachine.Parse(part)
			if err != nil {
				httpx.WriteError(w, r, http.StatusBadRequest, "invalid_state", "state: "+err.Error())
				return
			}
			f.States = f.States.With(s)
		}
	}
	if v := q.Get("contact"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("contact %q must be a contact id (a positive number)", v))
			return
		}
		f.ContactID = n
	}
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("updated_since %q must be an RFC 3339 time such as 2026-11-21T09:00:00Z", v))
			return
		}
		f.UpdatedSince = t
	}
	if f.AfterID, f.Limit, ok = paging(w, r, q); !ok {
		return
	}
	cs, err := a.Manager.Conversations(r.Context(), r.PathValue("tenant"), f)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := ConversationList{Conversations: []Conversation{}}
	for _, c := range cs {
		out.Conversations = append(out.Conversations, conversationBody(c))
	}
	if len(cs) > 0 {
		out.NextAfter = nextAfter(len(cs), f.Limit, cs[len(cs)-1].ID)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "conversation")
	if !ok {
		return
	}
	d, err := a.Manager.Conversation(r.Context(), r.PathValue("tenant"), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	body := conversationDetailBody(d)
	items, err := a.Store.ListMedia(r.Context(), store.MediaFilter{ConversationID: id, Limit: store.MaxPage})
	if err != nil {
		fail(w, r, fmt.Errorf("conversation %d: media: %w", id, err))
		return
	}
	byMessage := map[int64]store.MediaItem{}
	for _, it := range items {
		byMessage[it.MessageID] = it
	}
	for i := range body.Messages {
		if it, ok := byMessage[body.Messages[i].ID]; ok {
			body.Messages[i].Media = &MessageMedia{ID: it.ID, Status: it.StatusText(), Size: it.Size, ContentType: it.ContentType,
				FileName: it.FileName, FileID: it.ContentDocumentID}
		}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// DetailsRequest is the body of PUT .../details/: the one action is
// change_state, with a state by number or name and an optional reason.
type DetailsRequest struct {
	Action string          `json:"action"`
	State  json.RawMessage `json:"state"`
	Reason string          `json:"reason"`
}

const detailsWant = `{"action": "change_state", "state": 4, "reason": "spam"}`

func (a *API) updateDetails(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "conversation")
	if !ok {
		return
	}
	var req DetailsRequest
	if !decode(w, r, &req, detailsWant, false) {
		return
	}
	if req.Action != "change_state" {
		httpx.WriteError(w, r, http.StatusBadRequest, "unknown_action",
			fmt.Sprintf("action %q is not known: the valid actions are change_state", req.Action))
		return
	}
	if len(req.State) == 0 || string(req.State) == "null" {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_state", "state is required: valid states are "+statemachine.ValidStates())
		return
	}
	var to statemachine.State
	if err := json.Unmarshal(req.State, &to); err != nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_state", "state: "+err.Error())
		return
	}
	p := principalOf(r)
	res, err := a.Manager.ChangeState(r.Context(), p.Name, r.PathValue("tenant"), id, to, req.Reason)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, StateChanged{Conversation: conversationBody(res.Conversation), Changed: res.Changed})
}

// ReplyRequest is the body of POST .../messages.
type ReplyRequest struct {
	Text string `json:"text"`
}

// ReplyAnswer answers POST .../messages.
type ReplyAnswer struct {
	Message Message `json:"message"`
}

func (a *API) reply(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "conversation")
	if !ok {
		return
	}
	var req ReplyRequest
	if !decode(w, r, &req, `{"text": "hello"}`, false) {
		return
	}
	m, err := a.Manager.Reply(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id, req.Text)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, ReplyAnswer{Message: messageBody(m)})
}
