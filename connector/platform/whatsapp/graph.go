package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
)

// ErrTransient is wrapped by Send, Block and Unblock errors worth retrying
// later: rate limits, Graph API server errors and network failures.
// Permanent refusals wrap platform.ErrSendRejected instead.
var ErrTransient = errors.New("temporary failure of the WhatsApp Graph API")

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// maxResponseBytes bounds how much of a Graph API response is read.
const maxResponseBytes = 1 << 20

// transientCodes are Graph API error codes that clear with time:
// 2 service temporarily unavailable, 4 app rate limit, 80007 WABA rate
// limit, 130429 throughput limit, 131000 generic server error, 131016
// service unavailable, 131056 pair rate limit, 139103 block_users internal
// error.
var transientCodes = map[int]bool{
	2: true, 4: true, 80007: true, 130429: true, 131000: true,
	131016: true, 131056: true, 139103: true,
}

// GraphError is an error answered by the Graph API: a refused send, block
// or unblock. It wraps platform.ErrSendRejected when permanent and
// ErrTransient when worth retrying (HTTP 408, 429 or 5xx, or a rate-limit
// or server-side code).
type GraphError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Code is the Graph API error code (for example 131047: the user has not
	// written in the last 24 hours). Zero when the response had none.
	Code int
	// Subcode is error_subcode, when present (deprecated by Meta).
	Subcode int
	// Type is the error type, such as "OAuthException".
	Type string
	// Message is the Graph API's message.
	Message string
	// Details is error_data.details, Meta's explanation.
	Details string
	// TraceID is fbtrace_id, for Meta support.
	TraceID string
}

// Error describes the error with its code and message.
func (e *GraphError) Error() string {
	var b strings.Builder
	b.WriteString("whatsapp graph API: ")
	if e.Code != 0 {
		fmt.Fprintf(&b, "error %d", e.Code)
	} else {
		b.WriteString("error")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		b.WriteString(": " + platform.Clip(e.Message, platform.MaxDetail))
	}
	if e.Details != "" && e.Details != e.Message {
		b.WriteString(": " + platform.Clip(e.Details, platform.MaxDetail))
	}
	if e.TraceID != "" {
		b.WriteString(" [fbtrace_id " + platform.Clip(e.TraceID, 80) + "]")
	}
	return b.String()
}

// Transient reports whether retrying later may succeed.
func (e *GraphError) Transient() bool {
	s := e.HTTPStatus
	return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500 || transientCodes[e.Code]
}

// Unwrap returns ErrTransient or platform.ErrSendRejected.
func (e *GraphError) Unwrap() error {
	if e.Transient() {
		return ErrTransient
	}
	return platform.ErrSendRejected
}

// graphErrorBody is the "error" object of a Graph API response.
type graphErrorBody struct {
	Message   string  `json:"message"`
	Type      string  `json:"type"`
	Code      flexInt `json:"code"`
	Subcode   flexInt `json:"error_subcode"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	TraceID string `json:"fbtrace_id"`
}

func (g *graphErrorBody) toError(httpStatus int) *GraphError {
	return &GraphError{
		HTTPStatus: httpStatus,
		Code:       int(g.Code),
		Subcode:    int(g.Subcode),
		Type:       g.Type,
		Message:    g.Message,
		Details:    g.ErrorData.Details,
		TraceID:    g.TraceID,
	}
}

// responseError builds the GraphError of a non-2xx response, from its
// "error" object when it has one.
func responseError(httpStatus int, body []byte) *GraphError {
	var env struct {
		Error *graphErrorBody `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		return env.Error.toError(httpStatus)
	}
	return &GraphError{HTTPStatus: httpStatus, Message: http.StatusText(httpStatus)}
}

// Send sends text to the WhatsApp user to (a wa_id or phone number) and
// returns the new message's id (wamid). A refusal is a *GraphError (see
// IsTransient); a network failure wraps ErrTransient.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	if to == "" {
		return "", errors.New("whatsapp: send: empty recipient")
	}
	if text == "" {
		return "", errors.New("whatsapp: send: empty text")
	}
	req := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: "text"}
	req.Text.Body = text
	status, body, err := a.call(ctx, http.MethodPost, "messages", req)
	if err != nil {
		return "", fmt.Errorf("whatsapp: send: %w", err)
	}
	if status < 200 || status > 299 {
		return "", fmt.Errorf("whatsapp: send: %w", responseError(status, body))
	}
	var resp struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("whatsapp: send: unreadable response (HTTP %d): %w", status, err)
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return "", fmt.Errorf("whatsapp: send: response (HTTP %d) has no message id", status)
	}
	return resp.Messages[0].ID, nil
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

// Block blocks user (a wa_id or phone number) with the Block Users API. The
// API only blocks users who wrote to the business in the last 24 hours:
// otherwise the result is a permanent *GraphError with code 131047.
func (a *Adapter) Block(ctx context.Context, user string) error {
	if err := a.blockUsers(ctx, http.MethodPost, user); err != nil {
		return fmt.Errorf("whatsapp: block: %w", err)
	}
	return nil
}

// Unblock lifts a block set with Block.
func (a *Adapter) Unblock(ctx context.Context, user string) error {
	if err := a.blockUsers(ctx, http.MethodDelete, user); err != nil {
		return fmt.Errorf("whatsapp: unblock: %w", err)
	}
	return nil
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
	Error *graphErrorBody `json:"error"`
}

// blockUsers calls the Block Users API for one user and turns a failed
// user into a *GraphError carrying that user's error.
func (a *Adapter) blockUsers(ctx context.Context, method, user string) error {
	if user == "" {
		return errors.New("empty user")
	}
	req := blockRequest{MessagingProduct: "whatsapp", BlockUsers: []blockUser{{User: user}}}
	status, body, err := a.call(ctx, method, "block_users", req)
	if err != nil {
		return err
	}
	var resp blockResponse
	parseErr := json.Unmarshal(body, &resp)
	if parseErr == nil && resp.BlockUsers != nil && len(resp.BlockUsers.FailedUsers) > 0 {
		failed := resp.BlockUsers.FailedUsers[0]
		ge := &GraphError{HTTPStatus: status, Message: "the user could not be blocked or unblocked"}
		if resp.Error != nil {
			ge = resp.Error.toError(status)
		}
		if len(failed.Errors) > 0 {
			e := failed.Errors[0]
			ge.Code, ge.Subcode, ge.Message, ge.Details = int(e.Code), 0, e.Message, e.ErrorData.Details
			if ge.Message == "" {
				ge.Message = e.Title
			}
		}
		return ge
	}
	if status < 200 || status > 299 {
		return responseError(status, body)
	}
	if parseErr != nil {
		return fmt.Errorf("unreadable response (HTTP %d): %w", status, parseErr)
	}
	return nil
}

// call sends a JSON request to {GraphURL}/{PhoneNumberID}/{edge} with the
// access token and returns the status and body of the response. Transport
// failures wrap ErrTransient unless ctx itself is done.
func (a *Adapter) call(ctx context.Context, method, edge string, payload any) (int, []byte, error) {
	if a.accessToken == "" {
		return 0, nil, ErrNoAccessToken
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // send "<" and "&" as they are, not as \u003c
	if err := enc.Encode(payload); err != nil {
		return 0, nil, fmt.Errorf("encoding the request: %w", err)
	}
	reqBody := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	endpoint := a.graphURL + "/" + url.PathEscape(a.phoneNumberID) + "/" + edge
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(reqBody))
	if err != nil {
		return 0, nil, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.accessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, edge, err)
		}
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrTransient, method, edge, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the response to %s %s: %w", ErrTransient, method, edge, err)
	}
	return resp.StatusCode, body, nil
}
