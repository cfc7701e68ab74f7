package line

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

var (
	// ErrTransient is wrapped by Send errors worth retrying later: rate
	// limits, Messaging API server errors and network failures. Retry with
	// the same retry key (see WithRetryKey) so that a push LINE did accept
	// is not delivered twice. Permanent refusals wrap
	// platform.ErrSendRejected instead.
	ErrTransient = errors.New("temporary failure of the LINE Messaging API")

	// ErrUserBlocked would mark a push refused because the user blocked the
	// channel. LINE does not report that case: a push to a user who blocked
	// the account, or deleted theirs, is answered 200 and silently not
	// delivered (LINE FAQ); the block arrives as an unfollow event instead.
	// Send therefore never returns it. It is defined, wrapping
	// platform.ErrSendRejected, so that callers can test every adapter's
	// error the same way.
	ErrUserBlocked = fmt.Errorf("line: the user has blocked the channel: %w: %w", platform.ErrSendRejected, platform.ErrRecipientBlocked)

	// ErrAlreadyAccepted is returned by Send when LINE answers 409: an
	// earlier request with the same retry key was accepted, so the message
	// went out, but the response does not say its id. It is neither
	// transient nor a rejection: do not send again.
	ErrAlreadyAccepted = errors.New("line: a push with this retry key was already accepted")
)

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

const (
	// pushPath is the push message endpoint, under the API base.
	pushPath = "/v2/bot/message/push"
	// RetryKeyHeader carries the push's idempotency key, a UUID.
	RetryKeyHeader = "X-Line-Retry-Key"
)

// APIError is an error answered by the Messaging API: a refused push. It
// wraps platform.ErrSendRejected when permanent and ErrTransient when worth
// retrying (HTTP 408, 429 other than the monthly quota, or 5xx).
type APIError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Message is LINE's message, such as "The request body has 1 error(s)".
	Message string
	// Details are the per-property problems LINE lists, as
	// "property: message".
	Details []string
	// RequestID is the x-line-request-id header, for LINE support.
	RequestID string
}

// Error describes the error with its status and messages.
func (e *APIError) Error() string {
	return platform.NewErrorText("line messaging API", fmt.Sprintf("HTTP %d", e.HTTPStatus)).Text(e.Message).
		Note(strings.Join(e.Details, "; ")).Tag("x-line-request-id", e.RequestID).String()
}

// Transient reports whether retrying later may succeed. A 429 for the
// monthly message quota is permanent until the quota renews.
func (e *APIError) Transient() bool {
	if e.HTTPStatus == http.StatusTooManyRequests {
		return !strings.Contains(strings.ToLower(e.Message), "monthly limit")
	}
	return platform.TransientStatus(e.HTTPStatus)
}

// Unwrap returns ErrTransient or platform.ErrSendRejected.
func (e *APIError) Unwrap() error {
	if e.Transient() {
		return ErrTransient
	}
	return platform.ErrSendRejected
}

// retryKeyCtx is the context key of WithRetryKey.
type retryKeyCtx struct{}

// uuidPattern is the shape LINE accepts in X-Line-Retry-Key.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// WithRetryKey returns a context that makes Send use key (a UUID) as its
// X-Line-Retry-Key. Give every attempt to send the same message the same
// key: LINE accepts a key once (for 24 hours), so a retry after a timeout
// or a 5xx can not deliver the message twice. RetryKeyFrom derives a key
// from the connector's own id of the outbound message.
func WithRetryKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, retryKeyCtx{}, key)
}

// RetryKeyFrom derives a stable retry key from name, such as the
// connector's id of an outbound message: a name-based UUID (version 5,
// SHA-1) in a namespace of this package's own.
func RetryKeyFrom(name string) string {
	h := sha1.New()
	h.Write(retryKeyNamespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return formatUUID(u)
}

// retryKeyNamespace is the UUID namespace of RetryKeyFrom (a random UUID
// fixed for this package).
var retryKeyNamespace = [16]byte{0x6f, 0x1c, 0x2e, 0x8a, 0x4b, 0x3d, 0x4e, 0x21, 0x9a, 0x57, 0x0c, 0xd8, 0x13, 0x62, 0xf4, 0xb9}

// newRetryKey returns a random (version 4) UUID.
func newRetryKey() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("generating a retry key: %w", err)
	}
	u[6] = (u[6] & 0x0f) | 0x40 // version 4
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return formatUUID(u), nil
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// pushRequest is the body of POST /v2/bot/message/push for one text.
type pushRequest struct {
	To       string        `json:"to"`
	Messages []textMessage `json:"messages"`
}

type textMessage struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// pushResponse is the answer to a push: the ids of the sent messages. LINE
// also includes them in a 409 for a retry key already accepted.
type pushResponse struct {
	Message      string `json:"message"`
	SentMessages []struct {
		ID flexString `json:"id"`
	} `json:"sentMessages"`
	Details []struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	} `json:"details"`
}

// Send pushes text to to (a user, group or room id) and returns the sent
// message's id. It sends X-Line-Retry-Key: the key set with WithRetryKey,
// or else a fresh random one. A refusal is an *APIError (see IsTransient);
// a network failure wraps ErrTransient; a 409 for a key already accepted
// returns the id LINE reports, or ErrAlreadyAccepted when it reports none.
func (a *Adapter) Send(ctx context.Context, to string, text string) (string, error) {
	if err := platform.CheckSendArgs("line", to, text); err != nil {
		return "", err
	}
	if a.accessToken == "" {
		return "", fmt.Errorf("line: send: %w", ErrNoAccessToken)
	}
	key, _ := ctx.Value(retryKeyCtx{}).(string)
	if key == "" {
		var err error
		if key, err = newRetryKey(); err != nil {
			return "", fmt.Errorf("line: send: %w", err)
		}
	} else if !uuidPattern.MatchString(key) {
		return "", fmt.Errorf("line: send: retry key %q is not a UUID", platform.Clip(key, 60))
	}
	// One attempt: the outbox retries a push with the same key later, and
	// a 409 then tells that LINE accepted it.
	resp, err := a.api.Do(ctx, papi.Request{Method: http.MethodPost, URL: a.apiURL + pushPath, Name: "POST " + pushPath,
		JSON: pushRequest{To: to, Messages: []textMessage{{Type: "text", Text: text}}}, Auth: papi.Bearer(a.accessToken),
		Header: http.Header{RetryKeyHeader: {key}}})
	if err != nil {
		return "", fmt.Errorf("line: send: %w", err)
	}
	body := resp.Body
	var pr pushResponse
	parseErr := json.Unmarshal(body, &pr)
	status := resp.Status
	switch {
	case status >= 200 && status <= 299, status == http.StatusConflict:
		if parseErr == nil && len(pr.SentMessages) > 0 && pr.SentMessages[0].ID != "" {
			return string(pr.SentMessages[0].ID), nil
		}
		if status == http.StatusConflict {
			if id := resp.Header.Get("x-line-accepted-request-id"); id != "" {
				return "", fmt.Errorf("line: send: %w [x-line-accepted-request-id %s]", ErrAlreadyAccepted, platform.Clip(id, 80))
			}
			return "", fmt.Errorf("line: send: %w", ErrAlreadyAccepted)
		}
		return "", fmt.Errorf("line: send: response (HTTP %d) has no sent message id", status)
	}
	apiErr := &APIError{HTTPStatus: status, RequestID: resp.Header.Get("x-line-request-id")}
	if parseErr == nil && pr.Message != "" {
		apiErr.Message = pr.Message
		for _, d := range pr.Details {
			s := d.Message
			if d.Property != "" {
				s = d.Property + ": " + s
			}
			apiErr.Details = append(apiErr.Details, s)
		}
	} else {
		apiErr.Message = http.StatusText(status)
	}
	return "", fmt.Errorf("line: send: %w", apiErr)
}
