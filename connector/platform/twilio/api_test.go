package twilio

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// startAPI serves stub and returns an adapter pointed at it.
func startAPI(t *testing.T, stub *platformtest.APIStub, mutate ...func(*Config)) *Adapter {
	t.Helper()
	srv := platformtest.Start(t, stub)
	return newTestAdapter(t, append([]func(*Config){func(c *Config) {
		c.APIURL = srv.URL
		c.HTTPClient = srv.Client()
	}}, mutate...)...)
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
	tests := []struct {
		name      string
		status    int
		body      string
		code      int
		transient bool
		blocked   bool
		contains  string
	}{
		{"unsubscribed recipient", 400, `{"code":21610,"message":"Attempt to send to unsubscribed recipient",` +
			`"more_info":"https://www.twilio.com/docs/errors/21610","status":400}`, 21610, false, true, "unsubscribed recipient"},
		{"invalid To", 400, `{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.",` +
			`"more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, 21211, false, false, "not a valid phone number"},
		{"outside the WhatsApp window", 400, `{"code":63016,"message":"Failed to send freeform message because you are outside the allowed window.","status":400}`,
			63016, false, false, "outside the allowed window"},
		{"bad credentials", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`,
			20003, false, false, "Authenticate"},
		{"too many requests", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, 20429, true, false, "Too Many Requests"},
		{"code as a string", 400, `{"code":"21610","message":"Attempt to send to unsubscribed recipient"}`, 21610, false, true, "error 21610"},
		{"server error without JSON", 503, `<html>Service Unavailable</html>`, 0, true, false, "HTTP 503"},
		{"client error without JSON", 404, `not found`, 0, false, false, "HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAPI(t, &platformtest.APIStub{Status: tt.status, Body: tt.body})
			id, err := a.Send(context.Background(), "+14017122661", "hi")
			if err == nil || id != "" {
				t.Fatalf("Send = %q, %v; want an error", id, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.HTTPStatus != tt.status {
				t.Fatalf("Send error %v is not an *APIError with code %d and HTTP %d", err, tt.code, tt.status)
			}
			if IsTransient(err) != tt.transient {
				t.Errorf("IsTransient = %v, want %v (%v)", IsTransient(err), tt.transient, err)
			}
			if errors.Is(err, platform.ErrSendRejected) == tt.transient {
				t.Errorf("errors.Is(ErrSendRejected) = %v, want %v", !tt.transient, !tt.transient)
			}
			if errors.Is(err, ErrUserBlocked) != tt.blocked {
				t.Errorf("errors.Is(ErrUserBlocked) = %v, want %v", !tt.blocked, tt.blocked)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), testAuthToken) {
				t.Errorf("error shows the auth token: %v", err)
			}
		})
	}
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
