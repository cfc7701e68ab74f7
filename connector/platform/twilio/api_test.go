package twilio

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// startAPI serves stub and returns an adapter pointed at it.
func startAPI(t *testing.T, stub *platformtest.APIStub, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return newTestAdapter(t, append([]func(*Config){platformtest.Serve[Config](t, stub, "APIURL", "")}, mutate...)...)
}

// created is a trimmed 201 answer of the Messages resource.
const created = `{"account_sid":"` + testAccountSID + `","api_version":"2010-04-01","body":"hi","direction":"outbound-api",` +
	`"from":"+15558675310","num_media":"0","num_segments":"1","sid":"SM1f0e2d3c4b5a69788796a5b4c3d2e1f0","status":"queued",` +
	`"to":"+14017122661","uri":"/2010-04-01/Accounts/` + testAccountSID + `/Messages/SM1f0e2d3c4b5a69788796a5b4c3d2e1f0.json"}`

func TestSendSuccess(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		wantBody string
	}{
		{"sms", testFrom, "+14017122661", "Body=Hello+%26+welcome+%3C3+%22Ann%22&From=%2B15558675310&To=%2B14017122661"},
		{"whatsapp contact as parsed", "whatsapp:+14155238886", "whatsapp:+14155550123",
			"Body=Hello+%26+welcome+%3C3+%22Ann%22&From=whatsapp%3A%2B14155238886&To=whatsapp%3A%2B14155550123"},
		{"whatsapp bare number", "whatsapp:+14155238886", "+14155550123",
			"Body=Hello+%26+welcome+%3C3+%22Ann%22&From=whatsapp%3A%2B14155238886&To=whatsapp%3A%2B14155550123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &platformtest.APIStub{Status: http.StatusCreated, Body: created}
			a := startAPI(t, stub, func(c *Config) { c.From = tt.from })
			id, err := a.Send(context.Background(), tt.to, `Hello & welcome <3 "Ann"`)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0" {
				t.Fatalf("Send id = %q", id)
			}
			want := platformtest.Request{
				Method: http.MethodPost,
				Path:   "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json",
				Header: http.Header{
					"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(testAccountSID+":"+testAuthToken))},
					"Content-Type":  {"application/x-www-form-urlencoded"},
					"Accept":        {"application/json"},
				},
				Body: tt.wantBody,
			}
			if got := stub.Only(t).Pick("Authorization", "Content-Type", "Accept"); !reflect.DeepEqual(got, want) {
				t.Fatalf("request:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	platformtest.CheckRefusals(t, func(t *testing.T, stub *platformtest.APIStub) platform.Sender { return startAPI(t, stub) },
		"+14017122661", apiErrorCodes, IsTransient, ErrUserBlocked, []platformtest.Refusal{
			{Name: "unsubscribed recipient", Status: 400, Body: `{"code":21610,"message":"Attempt to send to unsubscribed recipient",` + `"more_info":"https://www.twilio.com/docs/errors/21610","status":400}`, Code: 21610, Transient: false, Blocked: true, Contains: "unsubscribed recipient"},
			{Name: "invalid To", Status: 400, Body: `{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.",` + `"more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, Code: 21211, Transient: false, Blocked: false, Contains: "not a valid phone number"},
			{Name: "outside the WhatsApp window", Status: 400, Body: `{"code":63016,"message":"Failed to send freeform message because you are outside the allowed window.","status":400}`, Code: 63016, Transient: false, Blocked: false, Contains: "outside the allowed window"},
			{Name: "bad credentials", Status: 401, Body: `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, Code: 20003, Transient: false, Blocked: false, Contains: "Authenticate"},
			{Name: "too many requests", Status: 429, Body: `{"code":20429,"message":"Too Many Requests","status":429}`, Code: 20429, Transient: true, Blocked: false, Contains: "Too Many Requests"},
			{Name: "code as a string", Status: 400, Body: `{"code":"21610","message":"Attempt to send to unsubscribed recipient"}`, Code: 21610, Transient: false, Blocked: true, Contains: "error 21610"},
			{Name: "server error without JSON", Status: 503, Body: `<html>Service Unavailable</html>`, Code: 0, Transient: true, Blocked: false, Contains: "HTTP 503"},
			{Name: "client error without JSON", Status: 404, Body: `not found`, Code: 0, Transient: false, Blocked: false, Contains: "HTTP 404"},
		}, testAuthToken)
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	for _, body := range []string{`{"status":"queued"}`, `<xml/>`} {
		a := startAPI(t, &platformtest.APIStub{Status: http.StatusCreated, Body: body})
		_, err := a.Send(context.Background(), "+14017122661", "hi")
		if err == nil {
			t.Fatalf("Send with answer %s succeeded", body)
		}
		if IsTransient(err) || errors.Is(err, platform.ErrSendRejected) {
			t.Fatalf("an unreadable success must be neither transient (it may have been sent) nor rejected: %v", err)
		}
	}
}

// TestSendFailures: arguments refused before any call, a cancelled
// send, and an unreachable API.
func TestSendFailures(t *testing.T) {
	stub := &platformtest.APIStub{Status: http.StatusCreated, Body: created}
	unreachable := newTestAdapter(t, func(c *Config) { c.APIURL = platformtest.ClosedURL(t) })
	platformtest.CheckSendFailures(t, startAPI(t, stub), stub, unreachable, " ", "+14017122661", IsTransient, testAuthToken)
}

// apiErrorCodes reads the code and HTTP status of the *APIError in err.
func apiErrorCodes(err error) (int, int, bool) {
	var ae *APIError
	if !errors.As(err, &ae) {
		return 0, 0, false
	}
	return ae.Code, ae.HTTPStatus, true
}
