package instagram

import (
	"context"
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// product is what sets Instagram Messaging apart among the Meta products:
// Graph API calls go to the linked Page, webhook entries name the
// Instagram account, and the native block is the Moderate Conversations
// API.
var product = &meta.Product{
	Platform:         PlatformName,
	Object:           Object,
	DefaultGraphURL:  DefaultGraphURL,
	ErrInvalidConfig: ErrInvalidConfig,
	IDField:          "PageID",
	IDKey:            "page_id",
	AccountField:     "AccountID",
	CheckIDs: func(c meta.ChannelConfig) error {
		switch {
		case !meta.IsNumericID(c.ID):
			return fmt.Errorf("page_id %q is not a numeric Page id", c.ID)
		case c.AccountID != "" && !meta.IsNumericID(c.AccountID):
			return fmt.Errorf("account_id %q is not a numeric Instagram account id", c.AccountID)
		}
		return nil
	},
	Rules:      meta.MessagingRules,
	SendBody:   sendBody,
	SentID:     meta.MessageID,
	SentIDName: "message_id",
	Block:      moderate,
}

// sendRequest is the body of POST /{page-id}/messages for a text reply.
type sendRequest struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Message struct {
		Text string `json:"text"`
	} `json:"message"`
}

// sendBody is a text to the Instagram user to (an IGSID). Instagram
// accepts replies within 24 hours of the user's last message and texts of
// up to 1000 bytes.
func sendBody(to, text string) any {
	var req sendRequest
	req.Recipient.ID = to
	req.Message.Text = text
	return req
}

// moderateRequest is the body of POST /{page-id}/moderate_conversations.
type moderateRequest struct {
	UserIDs []userID `json:"user_ids"`
	Actions []string `json:"actions"`
}

type userID struct {
	ID string `json:"id"`
}

// moderate blocks (action block_user) or unblocks (unblock_user) user, an
// IGSID, with the Moderate Conversations API: neither side can message the
// other, and the user no longer sees the account's profile, posts or
// stories. A conversation with the user must exist. The API answers
// {"success": true} (sometimes "true").
func moderate(ctx context.Context, ch *meta.Channel, user string, block bool) error {
	if user == "" {
		return meta.ErrEmptyUser
	}
	action := "unblock_user"
	if block {
		action = "block_user"
	}
	req := moderateRequest{UserIDs: []userID{{ID: user}}, Actions: []string{action}}
	status, body, err := ch.Graph.CallIdempotent(ctx, http.MethodPost, ch.Path("moderate_conversations"), nil, req)
	return meta.CheckSuccess(status, body, err, meta.MessagingRules, "Instagram did not apply "+action)
}
