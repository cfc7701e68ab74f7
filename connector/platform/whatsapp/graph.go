package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// ErrTransient is wrapped by Send, Block and Unblock errors worth retrying
// later: rate limits, Graph API server errors and network failures.
// Permanent refusals wrap platform.ErrSendRejected instead.
var ErrTransient = meta.ErrTransient

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return meta.IsTransient(err) }

// GraphError is an error answered by the Graph API: a refused send, block
// or unblock. It wraps platform.ErrSendRejected when permanent and
// ErrTransient when worth retrying (HTTP 408, 429 or 5xx, or a rate-limit
// or server-side code). See meta.GraphError.
type GraphError = meta.GraphError

// rules classify the Cloud API's errors. Transient: 2 service temporarily
// unavailable, 4 app rate limit, 80007 WABA rate limit, 130429 throughput
// limit, 131000 generic server error, 131016 service unavailable, 131056
// pair rate limit, 139103 block_users internal error; HTTP 408, 429 and
// 5xx whatever the code. No code marks a blocked user: WhatsApp does not
// say.
var rules = meta.Rules{
	TransientCodes: map[int]bool{
		2: true, 4: true, 80007: true, 130429: true, 131000: true,
		131016: true, 131056: true, 139103: true,
	},
}

// product is what sets the WhatsApp Cloud API apart among the Meta
// products.
var product = &meta.Product{
	Platform:         PlatformName,
	Object:           Object,
	DefaultGraphURL:  DefaultGraphURL,
	ErrInvalidConfig: ErrInvalidConfig,
	IDField:          "PhoneNumberID",
	IDKey:            "phone_number_id",
	CheckIDs: func(c meta.ChannelConfig) error {
		if strings.ContainsAny(c.ID, "/?#% \t\r\n") {
			return fmt.Errorf("phone_number_id %q has characters a phone number id never has", c.ID)
		}
		return nil
	},
	Rules:      &rules,
	SendBody:   sendBody,
	SentID:     sentID,
	SentIDName: "message id",
	Block:      blockUsers,
	Parse:      func(ch *meta.Channel, body []byte) ([]platform.Event, error) { return parse(ch.ID(), body) },
}

// sendRequest is the body of POST /{phone-number-id}/messages for a text.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Text             struct {
		Body string `json:"body"`
	} `json:"text"`
}

// sendBody is a text to the WhatsApp user to (a wa_id or phone number).
func sendBody(to, text string) any {
	req := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: "text"}
	req.Text.Body = text
	return req
}

// sentID reads the new message's id (wamid) from a send's answer.
func sentID(body []byte) (string, error) {
	var resp struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", err
	}
	if len(resp.Messages) == 0 {
		return "", nil
	}
	return resp.Messages[0].ID, nil
}

// blockRequest is the body of POST and DELETE /{phone-number-id}/block_users.
type blockRequest struct {
	MessagingProduct string      `json:"messaging_product"`
	BlockUsers       []blockUser `json:"block_users"`
}

type blockUser struct {
	User string `json:"user"`
}

// blockResponse is the answer of the Block Users API: the users blocked
// (added_users) or unblocked (removed_users), the failed ones with their
// errors and, when some failed, a top-level error (code 139100).
type blockResponse struct {
	BlockUsers *struct {
		FailedUsers []struct {
			Input  string      `json:"input"`
			WaID   string      `json:"wa_id"`
			Errors []errorItem `json:"errors"`
		} `json:"failed_users"`
	} `json:"block_users"`
	Error json.RawMessage `json:"error"`
}

// blockUsers blocks (POST) or unblocks (DELETE) user, a wa_id or phone
// number, with the Block Users API, and turns a failed user into a
// *GraphError carrying that user's error. The API only blocks users who
// wrote to the business in the last 24 hours: otherwise the result is a
// permanent *GraphError with code 131047.
func blockUsers(ctx context.Context, ch *meta.Channel, user string, block bool) error {
	if user == "" {
		return meta.ErrEmptyUser
	}
	method := http.MethodDelete
	if block {
		method = http.MethodPost
	}
	req := blockRequest{MessagingProduct: "whatsapp", BlockUsers: []blockUser{{User: user}}}
	status, body, err := ch.Graph.CallIdempotent(ctx, method, ch.Path("block_users"), nil, req)
	if err != nil {
		return err
	}
	var resp blockResponse
	parseErr := json.Unmarshal(body, &resp)
	if parseErr == nil && resp.BlockUsers != nil && len(resp.BlockUsers.FailedUsers) > 0 {
		failed := resp.BlockUsers.FailedUsers[0]
		ge := &GraphError{HTTPStatus: status, Message: "the user could not be blocked or unblocked"}
		if len(resp.Error) > 0 && string(resp.Error) != "null" {
			ge = meta.ParseGraphError(status, body, rules)
		}
		if len(failed.Errors) > 0 {
			e := failed.Errors[0]
			ge.Code, ge.Subcode, ge.Message, ge.Details = int(e.Code), 0, e.Message, e.ErrorData.Details
			if ge.Message == "" {
				ge.Message = e.Title
			}
		}
		ge.Class = rules.Classify(status, ge.Code, ge.Subcode)
		return ge
	}
	if status < 200 || status > 299 {
		return meta.ParseGraphError(status, body, rules)
	}
	if parseErr != nil {
		return fmt.Errorf("unreadable response (HTTP %d): %w", status, parseErr)
	}
	return nil
}
