package messenger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// product is what sets Messenger apart among the Meta products: the
// defaults of a Page's channel (meta.Product), its send body and its
// block endpoint.
var product = &meta.Product{
	Platform:         PlatformName,
	Object:           Object,
	ErrInvalidConfig: ErrInvalidConfig,
	SendBody:         sendBody,
	Block:            block,
}

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

// sendBody is a text to the Messenger user to (a PSID, or the user_ref of
// a chat plugin guest) as a RESPONSE message (within the 24-hour window).
func sendBody(to, text string) any {
	req := sendRequest{MessagingType: "RESPONSE"}
	if meta.IsNumericID(to) {
		req.Recipient.ID = to
	} else {
		req.Recipient.UserRef = to
	}
	req.Message.Text = text
	return req
}

// block blocks user (a PSID) from the Page with POST /{page-id}/blocked:
// the user can no longer message the Page or interact with its content;
// unblock sends DELETE /{page-id}/blocked?psid=<PSID>. A user that is not
// a PSID (a chat plugin guest) can not be blocked and is refused before
// any call.
func block(ctx context.Context, ch *meta.Channel, user string, block bool) error {
	if err := checkPSID(user); err != nil {
		return err
	}
	if !block {
		status, body, err := ch.Graph.CallIdempotent(ctx, http.MethodDelete, ch.Path("blocked"), url.Values{"psid": {user}}, nil)
		return meta.CheckSuccess(status, body, err, meta.MessagingRules, "the Page could not unblock the user")
	}
	// The edge takes a list of PSIDs; the answer maps each to whether it
	// is now blocked: {"<psid>": true}.
	payload := struct {
		PSID []json.Number `json:"psid"`
	}{PSID: []json.Number{json.Number(user)}}
	status, body, err := ch.Graph.CallIdempotent(ctx, http.MethodPost, ch.Path("blocked"), nil, payload)
	if err != nil {
		return err
	}
	if ge := meta.ResponseError(status, body, meta.MessagingRules); ge != nil {
		return ge
	}
	var result map[string]json.RawMessage
	if err := json.Unmarshal(body, &result); err != nil {
		return fmt.Errorf("unreadable response (HTTP %d): %w", status, err)
	}
	if v, ok := result[user]; ok && string(v) != "true" && string(v) != `"true"` {
		return &GraphError{HTTPStatus: status, Message: "the Page could not block the user", Class: meta.Rejected}
	}
	return nil
}

// checkPSID refuses an empty user, and one that is not a PSID (wrapping
// platform.ErrSendRejected: retrying can not help).
func checkPSID(user string) error {
	switch {
	case user == "":
		return meta.ErrEmptyUser
	case !meta.IsNumericID(user):
		return fmt.Errorf("%w: user %q is not a PSID (a chat plugin guest can not be blocked)", platform.ErrSendRejected, platform.Clip(user, 60))
	}
	return nil
}
