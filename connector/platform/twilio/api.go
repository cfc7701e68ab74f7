package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

var (
	// ErrTransient is wrapped by Send errors worth retrying later: rate
	// limits, REST API server errors and network failures. Permanent
	// refusals wrap platform.ErrSendRejected instead.
	ErrTransient = errors.New("temporary failure of the Twilio REST API")

	// ErrUserBlocked is wrapped by Send when Twilio refuses the message with
	// error 21610: the recipient opted out (replied STOP) and can not be
	// messaged until they opt back in. It wraps platform.ErrSendRejected.
	ErrUserBlocked = fmt.Errorf("twilio: the recipient opted out of messages from this sender (error %d): %w: %w", CodeUnsubscribed, platform.ErrSendRejected, platform.ErrRecipientBlocked)
)

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// codeTooManyRequests is Twilio's error 20429, sent with HTTP 429.
const codeTooManyRequests = 20429

// APIError is an error answered by the REST API: a refused send. It wraps
// ErrTransient when worth retrying (HTTP 408, 429 or 5xx), ErrUserBlocked
// for error 21610, and platform.ErrSendRejected otherwise.
type APIError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Code is Twilio's error code (for example 21211: invalid To number).
	// Zero when the response had none.
	Code int
	// Message is Twilio's message.
	Message string
	// MoreInfo is the error's documentation page.
	MoreInfo string
}

// Error describes the error with its code and message.
func (e *APIError) Error() string {
	return platform.NewErrorText("twilio REST API", platform.Code(e.Code)).HTTP(e.HTTPStatus).Text(e.Message).String()
}

// Transient reports whether retrying later may succeed.
func (e *APIError) Transient() bool {
	return platform.TransientStatus(e.HTTPStatus) || e.Code == codeTooManyRequests
}

// Unwrap returns ErrTransient, ErrUserBlocked or platform.ErrSendRejected.
func (e *APIError) Unwrap() error {
	switch {
	case e.Transient():
		return ErrTransient
	case e.Code == CodeUnsubscribed:
		return ErrUserBlocked
	}
	return platform.ErrSendRejected
}

// errorBody is Twilio's JSON error response.
type errorBody struct {
	Code     json.Number `json:"code"`
	Message  string      `json:"message"`
	MoreInfo string      `json:"more_info"`
}

// Send sends text to to (an E.164 number, or a WhatsApp address) from the
// channel's sender and returns the new message's SID. On a WhatsApp
// channel a bare number is given the "whatsapp:" prefix. A refusal is an
// *APIError (see IsTransient and ErrUserBlocked); a network failure wraps
// ErrTransient. Twilio accepts a message before the carrier delivers it:
// later failures arrive as status callbacks.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	to = strings.TrimSpace(to)
	if err := platform.CheckSendArgs("twilio", to, text); err != nil {
		return "", err
	}
	if strings.HasPrefix(a.from, WhatsAppPrefix) && !strings.Contains(to, ":") {
		to = WhatsAppPrefix + to
	}
	form := url.Values{"To": {to}, "From": {a.from}, "Body": {text}}
	endpoint := a.apiURL + "/2010-04-01/Accounts/" + url.PathEscape(a.accountSID) + "/Messages.json"
	resp, err := a.api.Call(ctx, papi.Request{Method: http.MethodPost, URL: endpoint, Name: "POST Messages.json", Form: form,
		Auth: papi.Basic(a.accountSID, string(a.authToken))})
	if err != nil {
		return "", fmt.Errorf("twilio: send: %w", err)
	}
	body := resp.Body
	var msg struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", fmt.Errorf("twilio: send: unreadable response (HTTP %d): %w", resp.Status, err)
	}
	if msg.SID == "" {
		return "", fmt.Errorf("twilio: send: response (HTTP %d) has no message sid", resp.Status)
	}
	return msg.SID, nil
}

// refusal is the APIError of a non-2xx answer (papi's Refusal hook).
func refusal(r *papi.Response) error { return responseError(r.Status, r.Body) }

// responseError builds the APIError of a non-2xx response, from its JSON
// error when it has one.
func responseError(status int, body []byte) *APIError {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Code != "" || eb.Message != "") {
		code, _ := strconv.Atoi(eb.Code.String())
		return &APIError{HTTPStatus: status, Code: code, Message: eb.Message, MoreInfo: eb.MoreInfo}
	}
	return &APIError{HTTPStatus: status, Message: http.StatusText(status)}
}
