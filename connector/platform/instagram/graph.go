package instagram

import (
	"context"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// product is what sets Instagram Messaging apart among the Meta products:
// Graph API calls go to the linked Page, webhook entries name the
// Instagram account, and the native block is the Moderate Conversations
// API.
var product = &meta.Product{
	Platform:         PlatformName,
	AccountField:     "AccountID",
	Object:           Object,
	ErrInvalidConfig: ErrInvalidConfig,
	Block:            moderate,
	SendBody:         sendBody,
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

// ErrNoAccessToken is wrapped by Send, Block and Unblock on a channel
// configured without a Page access token. It is permanent (not transient)
// until the configuration changes.
var ErrNoAccessToken = meta.ErrNoAccessToken

// ErrTransient is wrapped by Send, Block and Unblock errors worth retrying
// later: rate limits, Graph API server errors and network failures.
// Permanent refusals wrap platform.ErrSendRejected instead.
var ErrTransient = meta.ErrTransient

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return meta.IsTransient(err) }

// ErrUserBlocked is wrapped by a send refused because the user blocked
// the account or can not be reached (error 551). It wraps
// platform.ErrSendRejected.
var ErrUserBlocked = meta.ErrUserBlocked

// GraphError is an error answered by the Graph API: a refused send, block
// or unblock. See meta.GraphError.
type GraphError = meta.GraphError
