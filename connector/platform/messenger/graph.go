package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// sendRequest is the body of POST /{page-id}/messages for a text reply.
type sendRequest struct {
	Recipient     recipient `json:"recipient"`
	MessagingType string    `json:"messaging_type"`
	Message       struct {
		Text string `json:"text"`
	} `json:"message"`
}

// recipient names the user: by PSID, or by user_ref for a guest of the
// chat plugin.
type recipient struct {
	ID      string `json:"id,omitempty"`
	UserRef string `json:"user_ref,omitempty"`
}

// Send sends text to the Messenger user to (a PSID, or the user_ref of a
// chat plugin guest) as a RESPONSE message (within the 24-hour window) and
// returns the new message's id (mid). A refusal is a *GraphError: it wraps
// ErrUserBlocked when the user blocked the Page, ErrTransient when worth
// retrying (see IsTransient) and platform.ErrSendRejected otherwise; a
// network failure wraps ErrTransient.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	if to == "" {
		return "", errors.New("messenger: send: empty recipient")
	}
	if text == "" {
		return "", errors.New("messenger: send: empty text")
	}
	req := sendRequest{MessagingType: "RESPONSE"}
	if meta.IsNumericID(to) {
		req.Recipient.ID = to
	} else {
		req.Recipient.UserRef = to
	}
	req.Message.Text = text
	status, body, err := a.graph.Call(ctx, http.MethodPost, a.pagePath("messages"), nil, req)
	if err != nil {
		return "", fmt.Errorf("messenger: send: %w", err)
	}
	if ge := meta.ResponseError(status, body, meta.MessagingRules); ge != nil {
		return "", fmt.Errorf("messenger: send: %w", ge)
	}
	var resp struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("messenger: send: unreadable response (HTTP %d): %w", status, err)
	}
	if resp.MessageID == "" {
		return "", fmt.Errorf("messenger: send: response (HTTP %d) has no message_id", status)
	}
	return resp.MessageID, nil
}

// Block blocks user (a PSID) from the Page with POST /{page-id}/blocked: the
// user can no longer message the Page or interact with its content. A
// refusal is a *GraphError; a user that is not a PSID (a chat plugin guest)
// can not be blocked and is refused before any call.
func (a *Adapter) Block(ctx context.Context, user string) error {
	if err := checkPSID(user); err != nil {
		return fmt.Errorf("messenger: block: %w", err)
	}
	// The edge takes a list of PSIDs; the answer maps each to whether it
	// is now blocked: {"<psid>": true}.
	payload := struct {
		PSID []json.Number `json:"psid"`
	}{PSID: []json.Number{json.Number(user)}}
	status, body, err := a.graph.Call(ctx, http.MethodPost, a.pagePath("blocked"), nil, payload)
	if err != nil {
		return fmt.Errorf("messenger: block: %w", err)
	}
	if ge := meta.ResponseError(status, body, meta.MessagingRules); ge != nil {
		return fmt.Errorf("messenger: block: %w", ge)
	}
	var result map[string]json.RawMessage
	if err := json.Unmarshal(body, &result); err != nil {
		return fmt.Errorf("messenger: block: unreadable response (HTTP %d): %w", status, err)
	}
	if v, ok := result[user]; ok && string(v) != "true" && string(v) != `"true"` {
		return fmt.Errorf("messenger: block: %w", &GraphError{
			HTTPStatus: status,
			Message:    "the Page could not block the user",
			Class:      meta.Rejected,
		})
	}
	return nil
}

// Unblock lifts a block set with Block, with DELETE /{page-id}/blocked.
func (a *Adapter) Unblock(ctx context.Context, user string) error {
	if err := checkPSID(user); err != nil {
		return fmt.Errorf("messenger: unblock: %w", err)
	}
	status, body, err := a.graph.Call(ctx, http.MethodDelete, a.pagePath("blocked"), url.Values{"psid": {user}}, nil)
	if err != nil {
		return fmt.Errorf("messenger: unblock: %w", err)
	}
	if ge := meta.ResponseError(status, body, meta.MessagingRules); ge != nil {
		return fmt.Errorf("messenger: unblock: %w", ge)
	}
	if ok, found := meta.SuccessFlag(body); found && !ok {
		return fmt.Errorf("messenger: unblock: %w", &GraphError{
			HTTPStatus: status,
			Message:    "the Page could not unblock the user",
			Class:      meta.Rejected,
		})
	}
	return nil
}

// pagePath is the path of an edge of the channel's Page.
func (a *Adapter) pagePath(edge string) string {
	return url.PathEscape(a.pageID) + "/" + edge
}

// checkPSID refuses an empty user, and one that is not a PSID (wrapping
// platform.ErrSendRejected: retrying can not help).
func checkPSID(user string) error {
	switch {
	case user == "":
		return errors.New("empty user")
	case !meta.IsNumericID(user):
		return fmt.Errorf("%w: user %q is not a PSID (a chat plugin guest can not be blocked)", platform.ErrSendRejected, platform.Clip(user, 60))
	}
	return nil
}
