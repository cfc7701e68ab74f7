package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

var (
	// ErrTransient is wrapped by Send errors worth retrying later: rate
	// limits (429), Bot API server errors and network failures. Permanent
	// refusals wrap platform.ErrSendRejected instead.
	ErrTransient = errors.New("temporary failure of the Telegram Bot API")
	// ErrUserBlocked is wrapped by a send refused because the user blocked
	// the bot (403 "Forbidden: bot was blocked by the user") or removed it
	// from the group (403 "Forbidden: bot was kicked from the ... chat"). It
	// wraps platform.ErrSendRejected: the refusal is permanent until the
	// user unblocks the bot, which arrives as a my_chat_member update.
	ErrUserBlocked = platform.RecipientBlocked("the user blocked the bot")
)

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// blockedDescriptions are the 403 descriptions that mean the bot can no
// longer write to the chat because of the user.
var blockedDescriptions = []string{"bot was blocked by the user", "bot was kicked from"}

// APIError is a refusal answered by the Bot API ({"ok": false, ...}). It
// wraps ErrUserBlocked when the user blocked the bot, ErrTransient when
// worth retrying (HTTP or error code 408, 429 or 5xx) and
// platform.ErrSendRejected otherwise.
type APIError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Code is error_code (the Bot API repeats the HTTP status there); zero
	// when the response had none.
	Code int
	// Description is the Bot API's explanation, such as "Forbidden: bot was
	// blocked by the user".
	Description string
	// RetryAfter is parameters.retry_after: the seconds to wait after a 429.
	RetryAfter int
	// MigrateToChatID is parameters.migrate_to_chat_id: the group became a
	// supergroup with this id.
	MigrateToChatID int64
}

// Error describes the error with its code and description.
func (e *APIError) Error() string {
	t := platform.NewErrorText("telegram bot API", platform.Code(e.Code)).HTTP(e.HTTPStatus, e.Code).Text(e.Description)
	if e.RetryAfter > 0 {
		t.Note(fmt.Sprintf("retry after %d s", e.RetryAfter))
	}
	if e.MigrateToChatID != 0 {
		t.Note(fmt.Sprintf("migrated to chat %d", e.MigrateToChatID))
	}
	return t.String()
}

// Transient reports whether retrying later may succeed.
func (e *APIError) Transient() bool {
	return platform.TransientStatus(e.HTTPStatus) || platform.TransientStatus(e.Code)
}

// UserBlocked reports whether the user blocked the bot or removed it from
// the chat.
func (e *APIError) UserBlocked() bool {
	if e.Code != http.StatusForbidden && e.HTTPStatus != http.StatusForbidden {
		return false
	}
	d := strings.ToLower(e.Description)
	for _, s := range blockedDescriptions {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}

// Unwrap returns ErrUserBlocked, ErrTransient or platform.ErrSendRejected.
func (e *APIError) Unwrap() error {
	switch {
	case e.UserBlocked():
		return ErrUserBlocked
	case e.Transient():
		return ErrTransient
	}
	return platform.ErrSendRejected
}

// apiResponse is the envelope of every Bot API answer.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// responseError builds the APIError of a refused call, from its envelope
// when it has one.
func responseError(httpStatus int, body []byte) *APIError {
	var env apiResponse
	if json.Unmarshal(body, &env) != nil || (env.ErrorCode == 0 && env.Description == "") {
		return &APIError{HTTPStatus: httpStatus, Description: http.StatusText(httpStatus)}
	}
	e := &APIError{HTTPStatus: httpStatus, Code: env.ErrorCode, Description: env.Description}
	if env.Parameters != nil {
		e.RetryAfter, e.MigrateToChatID = env.Parameters.RetryAfter, env.Parameters.MigrateToChatID
	}
	return e
}

// sendMessageRequest is the body of sendMessage for a plain text.
type sendMessageRequest struct {
	// ChatID is a number, or a string for a channel's @username.
	ChatID json.RawMessage `json:"chat_id"`
	Text   string          `json:"text"`
}

// Send sends text to the chat to (a chat id, as in Event.Contact, or a
// channel's @username) with sendMessage and returns the new message's id,
// "<chat id>:<message id>" (see MessageID). A refusal is an *APIError (see
// IsTransient and ErrUserBlocked); a network failure wraps ErrTransient.
// No error carries the bot token.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	if err := platform.CheckSendArgs("telegram", to, text); err != nil {
		return "", err
	}
	req := sendMessageRequest{Text: text}
	if n, err := strconv.ParseInt(to, 10, 64); err == nil {
		req.ChatID = json.RawMessage(strconv.FormatInt(n, 10))
	} else {
		quoted, _ := json.Marshal(to) // a string always marshals
		req.ChatID = quoted
	}
	status, body, err := a.call(ctx, "sendMessage", req)
	if err != nil {
		return "", fmt.Errorf("telegram: send: %w", err)
	}
	var env apiResponse
	parseErr := json.Unmarshal(body, &env)
	if status < 200 || status > 299 || (parseErr == nil && !env.OK) {
		return "", fmt.Errorf("telegram: send: %w", responseError(status, body))
	}
	if parseErr != nil {
		return "", fmt.Errorf("telegram: send: unreadable response (HTTP %d): %w", status, parseErr)
	}
	var sent struct {
		MessageID int64 `json:"message_id"`
		Chat      *chat `json:"chat"`
	}
	if err := json.Unmarshal(env.Result, &sent); err != nil {
		return "", fmt.Errorf("telegram: send: unreadable result (HTTP %d): %w", status, err)
	}
	if sent.MessageID == 0 || sent.Chat == nil || sent.Chat.ID == 0 {
		return "", fmt.Errorf("telegram: send: response (HTTP %d) has no message_id or chat id", status)
	}
	return MessageID(sent.Chat.ID, sent.MessageID), nil
}

// call posts a JSON request to {APIURL}/bot<token>/<method> and returns the
// status and body of the response. Transport failures wrap ErrTransient
// unless ctx itself is done. The URL, which holds the bot token, never
// appears in an error. A call is never retried here: a send may have been
// delivered.
func (a *Adapter) call(ctx context.Context, method string, payload any) (int, []byte, error) {
	if a.botToken == "" {
		return 0, nil, ErrNoBotToken
	}
	resp, err := a.api.Do(ctx, papi.Request{Method: http.MethodPost, URL: a.apiURL + "/bot" + a.botToken + "/" + method,
		Name: "POST " + method, JSON: payload})
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}
