package instagram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// sendRequest is the body of POST /{page-id}/messages for a text reply.
type sendRequest struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Message struct {
		Text string `json:"text"`
	} `json:"message"`
}

// Send sends text to the Instagram user to (an IGSID) and returns the new
// message's id. Instagram accepts replies within 24 hours of the user's
// last message and texts of up to 1000 bytes. A refusal is a *GraphError:
// it wraps ErrUserBlocked when the user blocked the account or can not be
// reached, ErrTransient when worth retrying (see IsTransient) and
// platform.ErrSendRejected otherwise; a network failure wraps ErrTransient.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	if to == "" {
		return "", errors.New("instagram: send: empty recipient")
	}
	if text == "" {
		return "", errors.New("instagram: send: empty text")
	}
	var req sendRequest
	req.Recipient.ID = to
	req.Message.Text = text
	status, body, err := a.graph.Call(ctx, http.MethodPost, a.pagePath("messages"), nil, req)
	if err != nil {
		return "", fmt.Errorf("instagram: send: %w", err)
	}
	if ge := meta.ResponseError(status, body, meta.MessagingRules); ge != nil {
		return "", fmt.Errorf("instagram: send: %w", ge)
	}
	var resp struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("instagram: send: unreadable response (HTTP %d): %w", status, err)
	}
	if resp.MessageID == "" {
		return "", fmt.Errorf("instagram: send: response (HTTP %d) has no message_id", status)
	}
	return resp.MessageID, nil
}

// Block blocks user (an IGSID) with the Moderate Conversations API: neither
// side can message the other, and the user no longer sees the account's
// profile, posts or stories. A conversation with the user must exist. A
// refusal is a *GraphError.
func (a *Adapter) Block(ctx context.Context, user string) error {
	if err := a.moderate(ctx, "block_user", user); err != nil {
		return fmt.Errorf("instagram: block: %w", err)
	}
	return nil
}

// Unblock lifts a block set with Block (action unblock_user).
func (a *Adapter) Unblock(ctx context.Context, user string) error {
	if err := a.moderate(ctx, "unblock_user", user); err != nil {
		return fmt.Errorf("instagram: unblock: %w", err)
	}
	return nil
}

// moderateRequest is the body of POST /{page-id}/moderate_conversations.
type moderateRequest struct {
	UserIDs []userID `json:"user_ids"`
	Actions []string `json:"actions"`
}

type userID struct {
	ID string `json:"id"`
}

// moderate applies action to one user; the API answers {"success": true}
// (sometimes "true").
func (a *Adapter) moderate(ctx context.Context, action, user string) error {
	if user == "" {
		return errors.New("empty user")
	}
	req := moderateRequest{UserIDs: []userID{{ID: user}}, Actions: []string{action}}
	status, body, err := a.graph.Call(ctx, http.MethodPost, a.pagePath("moderate_conversations"), nil, req)
	if err != nil {
		return err
	}
	if ge := meta.ResponseError(status, body, meta.MessagingRules); ge != nil {
		return ge
	}
	if ok, found := meta.SuccessFlag(body); found && !ok {
		return &GraphError{HTTPStatus: status, Message: "Instagram did not apply " + action, Class: meta.Rejected}
	}
	return nil
}

// pagePath is the path of an edge of the channel's Page.
func (a *Adapter) pagePath(edge string) string {
	return url.PathEscape(a.pageID) + "/" + edge
}
