package viber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

var (
	// ErrTransient is wrapped by Send errors worth retrying later: rate
	// limits, API server errors and network failures. Permanent refusals
	// wrap platform.ErrSendRejected instead.
	ErrTransient = errors.New("temporary failure of the Viber API")
	// ErrUserBlocked is wrapped by a send refused because the user is not
	// subscribed to the bot (status 6, receiverNotSubscribed: they
	// unsubscribed, or never wrote). It wraps platform.ErrSendRejected.
	ErrUserBlocked = platform.RecipientBlocked("the user is not subscribed to the bot")
)

// Viber API statuses the adapter branches on.
const (
	// StatusOK is a successful call.
	StatusOK = 0
	// StatusReceiverNotSubscribed: the receiver is not subscribed to the
	// bot.
	StatusReceiverNotSubscribed = 6
	// StatusTooManyRequests: the rate limit was exceeded.
	StatusTooManyRequests = 12
)

// statusNames are the names Viber documents for its API statuses.
var statusNames = map[int]string{
	0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
	5: "receiverNotRegistered", 6: "receiverNotSubscribed", 7: "publicAccountBlocked",
	8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
	11: "receiverNoSuitableDevice", 12: "tooManyRequests", 13: "apiVersionNotSupported",
	14: "incompatibleWithVersion", 15: "publicAccountNotAuthorized", 16: "inchatReplyMessageNotAllowed",
	17: "publicAccountIsNotInline", 18: "noPublicChat", 19: "cannotSendBroadcast",
	20: "broadcastNotAllowed", 21: "unsupportedCountry", 22: "paymentUnsupported",
	23: "freeMessagesExceeded", 24: "noBalance",
}

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// APIError is a refusal answered by the Viber API: a non-zero status (Viber
// answers HTTP 200 with the status in the body) or an HTTP error. It wraps
// ErrUserBlocked for status 6 (receiverNotSubscribed), ErrTransient when
// worth retrying (status 12, HTTP 408, 429 or 5xx) and
// platform.ErrSendRejected otherwise.
type APIError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Status is the Viber status (see statusNames); -1 when the response
	// had none.
	Status int
	// StatusMessage is Viber's explanation.
	StatusMessage string
}

// Error describes the error with its status, name and message.
func (e *APIError) Error() string {
	what := "error"
	if e.Status >= 0 {
		what = strings.TrimSpace(fmt.Sprintf("status %d %s", e.Status, statusNames[e.Status]))
	}
	return platform.NewErrorText("viber API", what).HTTP(e.HTTPStatus, http.StatusOK).Text(e.StatusMessage, statusNames[e.Status]).String()
}

// Transient reports whether retrying later may succeed.
func (e *APIError) Transient() bool {
	return e.Status == StatusTooManyRequests || platform.TransientStatus(e.HTTPStatus)
}

// UserBlocked reports whether the receiver is not subscribed to the bot.
func (e *APIError) UserBlocked() bool { return e.Status == StatusReceiverNotSubscribed }

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

// sendRequest is the body of send_message for a text.
type sendRequest struct {
	Receiver string `json:"receiver"`
	Type     string `json:"type"`
	Text     string `json:"text"`
	Sender   struct {
		Name   string `json:"name"`
		Avatar string `json:"avatar,omitempty"`
	} `json:"sender"`
}

// sendResponse is the answer of send_message.
type sendResponse struct {
	Status        *int   `json:"status"`
	StatusMessage string `json:"status_message"`
	MessageToken  token  `json:"message_token"`
}

// Send sends text to the Viber user to (their id, as in Event.Contact)
// with send_message and returns the message_token, exact, as its decimal
// text. A refusal is an *APIError (see IsTransient and ErrUserBlocked); a
// network failure wraps ErrTransient.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	if err := platform.CheckSendArgs("viber", to, text); err != nil {
		return "", err
	}
	req := sendRequest{Receiver: to, Type: "text", Text: text}
	req.Sender.Name, req.Sender.Avatar = a.senderName, a.senderAvatar
	status, body, err := a.call(ctx, "send_message", req)
	if err != nil {
		return "", fmt.Errorf("viber: send: %w", err)
	}
	var resp sendResponse
	parseErr := json.Unmarshal(body, &resp)
	if status < 200 || status > 299 {
		e := &APIError{HTTPStatus: status, Status: -1, StatusMessage: http.StatusText(status)}
		if parseErr == nil && resp.Status != nil {
			e.Status, e.StatusMessage = *resp.Status, resp.StatusMessage
		}
		return "", fmt.Errorf("viber: send: %w", e)
	}
	if parseErr != nil {
		return "", fmt.Errorf("viber: send: unreadable response (HTTP %d): %w", status, parseErr)
	}
	if resp.Status == nil {
		return "", fmt.Errorf("viber: send: response (HTTP %d) has no status", status)
	}
	if *resp.Status != StatusOK {
		return "", fmt.Errorf("viber: send: %w", &APIError{HTTPStatus: status, Status: *resp.Status, StatusMessage: resp.StatusMessage})
	}
	if resp.MessageToken == "" {
		return "", fmt.Errorf("viber: send: response (HTTP %d) has no message_token", status)
	}
	return string(resp.MessageToken), nil
}

// call posts a JSON request to {APIURL}/pa/{method} with the auth token and
// returns the status and body of the response. Transport failures wrap
// ErrTransient unless ctx itself is done. A call is never retried here: a
// send may have been delivered.
func (a *Adapter) call(ctx context.Context, method string, payload any) (int, []byte, error) {
	resp, err := a.api.Do(ctx, papi.Request{Method: http.MethodPost, URL: a.apiURL + "/pa/" + method, Name: "POST " + method,
		JSON: payload, Auth: papi.HeaderAuth(AuthTokenHeader, a.authToken)})
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}
