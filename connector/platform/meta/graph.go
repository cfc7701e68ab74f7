package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

// DefaultGraphURL is the Graph API base, version included, that adapters
// use when their configuration names none.
const DefaultGraphURL = "https://graph.facebook.com/v23.0"

// maxResponseBytes bounds how much of a Graph API response is read.
const maxResponseBytes = 1 << 20

var (
	// ErrTransient is wrapped by Graph API failures worth retrying later:
	// rate limits, server errors and network failures. Permanent refusals
	// wrap platform.ErrSendRejected instead.
	ErrTransient = errors.New("temporary failure of the Meta Graph API")
	// ErrUserBlocked is wrapped by a refusal because the user blocked the
	// business or can not be reached any more (Messenger and Instagram error
	// 551, subcode 1545041). It wraps platform.ErrSendRejected: retrying
	// does not help.
	ErrUserBlocked = fmt.Errorf("the user blocked the business or can not be reached: %w", platform.ErrSendRejected)
	// ErrNoAccessToken is wrapped by Graph API calls of a channel
	// configured without an access token. It is permanent until the
	// configuration changes: it wraps platform.ErrSendRejected, so that a
	// reply or a native block fails at once instead of being retried.
	ErrNoAccessToken = fmt.Errorf("no access token configured for the channel: %w", platform.ErrSendRejected)
)

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// ErrorClass says how a Graph API error should be handled.
type ErrorClass int

// Error classes.
const (
	// Rejected is a permanent refusal: the request will fail again.
	Rejected ErrorClass = iota
	// Transient clears with time: retry later.
	Transient
	// UserBlocked: the user blocked the business or can not be reached.
	UserBlocked
)

// String names the class.
func (c ErrorClass) String() string {
	switch c {
	case Transient:
		return "transient"
	case UserBlocked:
		return "user blocked"
	default:
		return "rejected"
	}
}

// Rules classify Graph API errors by code and subcode. HTTP 408, 429 and
// 5xx responses are transient whatever their code.
type Rules struct {
	// TransientCodes are error codes that clear with time.
	TransientCodes map[int]bool
	// BlockedCodes and BlockedSubcodes mark a refusal because the user
	// blocked the business or can not be reached.
	BlockedCodes    map[int]bool
	BlockedSubcodes map[int]bool
	// TransientFlag makes an error whose is_transient field is true
	// transient whatever its code.
	TransientFlag bool
}

// MessagingRules classify the errors of the Messenger Platform's Send API
// and of the Page and Instagram moderation APIs:
//
//   - transient: 1200 temporary send failure, 2 service temporarily
//     unavailable, 4 application request limit, 17 user request limit, 32
//     page request limit, 613 rate limit, 80001/80002/80006 business use
//     case rate limits of Pages, Instagram and Messenger;
//   - user blocked: code 551 ("This person isn't available right now") and
//     subcode 1545041, its subcode under other codes.
var MessagingRules = Rules{
	TransientCodes: map[int]bool{
		2: true, 4: true, 17: true, 32: true, 613: true, 1200: true,
		80001: true, 80002: true, 80006: true,
	},
	BlockedCodes:    map[int]bool{551: true},
	BlockedSubcodes: map[int]bool{1545041: true},
	TransientFlag:   true,
}

// Classify returns the class of an error with this HTTP status, code and
// subcode. A blocked user wins over a transient status: retrying does not
// unblock anyone.
func (r Rules) Classify(httpStatus, code, subcode int) ErrorClass {
	switch {
	case r.BlockedCodes[code] || (subcode != 0 && r.BlockedSubcodes[subcode]):
		return UserBlocked
	case platform.TransientStatus(httpStatus), r.TransientCodes[code]:
		return Transient
	default:
		return Rejected
	}
}

// GraphError is an error answered by the Graph API: a refused send, block
// or unblock. Unwrap returns ErrTransient, ErrUserBlocked or
// platform.ErrSendRejected according to Class.
type GraphError struct {
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Code is the Graph API error code (for example 551: the person is not
	// available). Zero when the response had none.
	Code int
	// Subcode is error_subcode, when present.
	Subcode int
	// Type is the error type, such as "OAuthException".
	Type string
	// Message is the Graph API's message.
	Message string
	// Details is Meta's further explanation (error_data.details or
	// error_user_msg), when present.
	Details string
	// TraceID is fbtrace_id, for Meta support.
	TraceID string
	// Class says whether the error is transient, a blocked user or another
	// permanent refusal.
	Class ErrorClass
}

// Error describes the error with its code, subcode and message.
func (e *GraphError) Error() string {
	what := platform.Code(e.Code)
	if e.Code != 0 && e.Subcode != 0 {
		what += fmt.Sprintf("/%d", e.Subcode)
	}
	return platform.NewErrorText("graph API", what).HTTP(e.HTTPStatus).Text(e.Message).Text(e.Details, e.Message).
		Tag("fbtrace_id", e.TraceID).String()
}

// Transient reports whether retrying later may succeed.
func (e *GraphError) Transient() bool { return e.Class == Transient }

// UserBlocked reports whether the user blocked the business or can not be
// reached.
func (e *GraphError) UserBlocked() bool { return e.Class == UserBlocked }

// Unwrap returns ErrTransient, ErrUserBlocked or platform.ErrSendRejected.
func (e *GraphError) Unwrap() error {
	switch e.Class {
	case Transient:
		return ErrTransient
	case UserBlocked:
		return ErrUserBlocked
	default:
		return platform.ErrSendRejected
	}
}

// graphErrorBody is the "error" object of a Graph API response.
type graphErrorBody struct {
	Message     string          `json:"message"`
	Type        string          `json:"type"`
	Code        Flex            `json:"code"`
	Subcode     Flex            `json:"error_subcode"`
	UserMessage string          `json:"error_user_msg"`
	ErrorData   json.RawMessage `json:"error_data"`
	TraceID     string          `json:"fbtrace_id"`
	IsTransient bool            `json:"is_transient"`
}

// ParseGraphError builds the *GraphError of a response with this status and
// body, from its "error" object when it has one, classified by rules. It
// also serves 2xx responses that carry an "error" object.
func ParseGraphError(httpStatus int, body []byte, rules Rules) *GraphError {
	var env struct {
		Error *graphErrorBody `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil {
		ge := &GraphError{HTTPStatus: httpStatus, Message: http.StatusText(httpStatus)}
		ge.Class = rules.Classify(httpStatus, 0, 0)
		return ge
	}
	g := env.Error
	ge := &GraphError{
		HTTPStatus: httpStatus,
		Code:       flexInt(g.Code),
		Subcode:    flexInt(g.Subcode),
		Type:       g.Type,
		Message:    g.Message,
		Details:    errorDataDetails(g.ErrorData),
		TraceID:    g.TraceID,
	}
	if ge.Details == "" {
		ge.Details = g.UserMessage
	}
	ge.Class = rules.Classify(httpStatus, ge.Code, ge.Subcode)
	if ge.Class == Rejected && g.IsTransient && rules.TransientFlag {
		ge.Class = Transient
	}
	return ge
}

// ResponseError returns the *GraphError of a failed call: a non-2xx
// response, or a 2xx response whose body carries an "error" object. It
// returns nil for a successful call.
func ResponseError(httpStatus int, body []byte, rules Rules) *GraphError {
	if httpStatus < 200 || httpStatus > 299 {
		return ParseGraphError(httpStatus, body, rules)
	}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Error) > 0 && string(env.Error) != "null" {
		return ParseGraphError(httpStatus, body, rules)
	}
	return nil
}

// errorDataDetails reads error_data, an object with "details" or, in some
// Graph API errors, a plain string.
func errorDataDetails(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var obj struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Details
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// SuccessFlag reads the "success" field of a Graph API answer, which Meta
// writes as a boolean or as the string "true"/"false". found is false when
// the body has no such field.
func SuccessFlag(body []byte) (success, found bool) {
	var env struct {
		Success *Flex `json:"success"`
	}
	if json.Unmarshal(body, &env) != nil || env.Success == nil {
		return false, false
	}
	return strings.EqualFold(string(*env.Success), "true"), true
}

// Client calls the Graph API with a bearer token, through the platforms'
// HTTP client (papi). It is safe for concurrent use; its fields must not
// change once it is in use.
type Client struct {
	// BaseURL is the Graph API base, version included, without a trailing
	// slash, such as DefaultGraphURL.
	BaseURL string
	// AccessToken is sent as "Authorization: Bearer <token>". Empty: every
	// call fails with ErrNoAccessToken.
	AccessToken string
	// HTTP makes the calls. Default: a client with papi.DefaultTimeout.
	HTTP *http.Client

	once sync.Once
	api  *papi.Client
}

// String describes the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("meta.Client{BaseURL: %q, access token redacted}", c.BaseURL)
}

// GoString is String, for the %#v verb.
func (c *Client) GoString() string { return c.String() }

// Call sends method {BaseURL}/{path}?{query} with payload as its JSON body
// (no body when payload is nil) and returns the status and body of the
// response. path is joined as given: escape its segments. Transport
// failures wrap ErrTransient unless ctx itself is done; the access token
// never appears in an error. Call does not retry: use it for a call that
// must not be repeated (a send).
func (c *Client) Call(ctx context.Context, method, path string, query url.Values, payload any) (int, []byte, error) {
	return c.call(ctx, method, path, query, payload, false)
}

// CallIdempotent is Call for an idempotent call (a block, an unblock):
// connection errors, 429 and 5xx answers are retried a few times within
// ctx (papi's policy) before the last answer is returned.
func (c *Client) CallIdempotent(ctx context.Context, method, path string, query url.Values, payload any) (int, []byte, error) {
	return c.call(ctx, method, path, query, payload, true)
}

func (c *Client) call(ctx context.Context, method, path string, query url.Values, payload any, retry bool) (int, []byte, error) {
	if c.AccessToken == "" {
		return 0, nil, ErrNoAccessToken
	}
	c.once.Do(func() { c.api = papi.New(papi.Config{HTTPClient: c.HTTP, Transient: ErrTransient}) })
	endpoint := c.BaseURL + "/" + path
	if len(query) > 0 {
		endpoint += "?" + query.Encode()
	}
	resp, err := c.api.Do(ctx, papi.Request{Method: method, URL: endpoint, Name: method + " " + path,
		JSON: payload, Auth: papi.Bearer(c.AccessToken), Retry: retry, Limit: maxResponseBytes})
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}

// CheckBaseURL reports whether raw, the setting named name, is an absolute
// http(s) URL.
func CheckBaseURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", name, raw)
	}
	return nil
}

// IsNumericID reports whether s is a non-empty string of ASCII digits, as
// page, PSID and IGSID ids are.
func IsNumericID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// flexInt returns the integer f holds, or 0 when it holds none.
func flexInt(f Flex) int {
	n, err := strconv.Atoi(strings.TrimSpace(string(f)))
	if err != nil {
		return 0
	}
	return n
}
