package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/store"
)

// ContactList answers GET .../contacts.
type ContactList struct {
	Contacts []Contact `json:"contacts"`
	// NextAfter is the after of the next page; absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "blocked", "tag", "channel", "search", "after", "limit")
	if !ok {
		return
	}
	f := store.ContactFilter{Tag: q.Get("tag"), Search: strings.TrimSpace(q.Get("search"))}
	if f.Channel, ok = a.channelFilter(w, r, q); !ok {
		return
	}
	if v := q.Get("blocked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("blocked %q must be true or false", v))
			return
		}
		f.Blocked = &b
	}
	if f.AfterID, f.Limit, ok = paging(w, r, q); !ok {
		return
	}
	cs, err := a.Manager.Contacts(r.Context(), r.PathValue("tenant"), f)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := ContactList{Contacts: []Contact{}}
	for _, c := range cs {
		out.Contacts = append(out.Contacts, contactBody(c))
	}
	if len(cs) > 0 {
		out.NextAfter = nextAfter(len(cs), f.Limit, cs[len(cs)-1].ID)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	d, err := a.Manager.Contact(r.Context(), r.PathValue("tenant"), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, contactDetailBody(d))
}

// TagsRequest is the body of PUT .../tags: the contact's tags, replacing
// the ones it has ([] removes them all).
type TagsRequest struct {
	Tags *[]string `json:"tags"`
}

func (a *API) setTags(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	var req TagsRequest
	if !decode(w, r, &req, `{"tags": ["vip", "b2b"]}`, false) {
		return
	}
	if req.Tags == nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_field", `tags is required (an array of strings; [] removes every tag)`)
		return
	}
	d, err := a.Manager.SetTags(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id, *req.Tags)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, contactDetailBody(d))
}

// NoteRequest is the body of POST .../notes and PUT .../notes/{note}.
type NoteRequest struct {
	Text string `json:"text"`
}

// NoteAnswer answers POST .../notes and PUT .../notes/{note}.
type NoteAnswer struct {
	Note Note `json:"note"`
}

func (a *API) addNote(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	var req NoteRequest
	if !decode(w, r, &req, `{"text": "prefers English"}`, false) {
		return
	}
	n, err := a.Manager.AddNote(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id, req.Text)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, NoteAnswer{Note: noteBody(n)})
}

func (a *API) editNote(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	note, ok := pathID(w, r, "note")
	if !ok {
		return
	}
	var req NoteRequest
	if !decode(w, r, &req, `{"text": "prefers English"}`, false) {
		return
	}
	n, err := a.Manager.EditNote(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id, note, req.Text)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, NoteAnswer{Note: noteBody(n)})
}

func (a *API) deleteNote(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	note, ok := pathID(w, r, "note")
	if !ok {
		return
	}
	if err := a.Manager.DeleteNote(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id, note); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// BlockRequest is the body of PUT .../block; every field is optional:
// inbound and outbound default to true.
type BlockRequest struct {
	Inbound  *bool  `json:"inbound"`
	Outbound *bool  `json:"outbound"`
	Note     string `json:"note"`
}

func (a *API) block(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	var req BlockRequest
	if !decode(w, r, &req, `{"inbound": true, "outbound": true, "note": "spam"}`, true) {
		return
	}
	br := manage.BlockRequest{Inbound: true, Outbound: true, Note: req.Note}
	if req.Inbound != nil {
		br.Inbound = *req.Inbound
	}
	if req.Outbound != nil {
		br.Outbound = *req.Outbound
	}
	res, err := a.Manager.Block(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id, br)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, blockAnswer(res))
}

func blockAnswer(res manage.BlockResult) BlockAnswer {
	c := contactBody(res.Contact)
	return BlockAnswer{Contact: c, NativeBlock: c.NativeBlock,
		BlockedConversations: ids(res.Blocked), UnblockedConversations: ids(res.Unblocked)}
}

func (a *API) unblock(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	res, err := a.Manager.Unblock(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, blockAnswer(res))
}

func (a *API) liftOptOut(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	c, err := a.Manager.LiftOptOut(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, OptOutAnswer{Contact: contactBody(c)})
}

// UnblockAllAnswer answers POST .../blocked-conversations/unblock-all.
type UnblockAllAnswer struct {
	UnblockedConversations []int64 `json:"unblocked_conversations"`
}

func (a *API) unblockAll(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	res, err := a.Manager.UnblockAll(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, UnblockAllAnswer{UnblockedConversations: ids(res.Unblocked)})
}

// DeleteAllAnswer answers POST .../blocked-conversations/delete-all.
type DeleteAllAnswer struct {
	DeletedConversations []int64 `json:"deleted_conversations"`
	DeletedMessages      int     `json:"deleted_messages"`
}

func (a *API) deleteAll(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "contact")
	if !ok {
		return
	}
	res, err := a.Manager.DeleteAll(r.Context(), principalOf(r).Name, r.PathValue("tenant"), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, DeleteAllAnswer{DeletedConversations: ids(res.Conversations), DeletedMessages: res.Messages})
}
