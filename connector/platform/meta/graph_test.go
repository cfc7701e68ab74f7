package meta

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
)

func TestParseGraphErrorClasses(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		class   ErrorClass
		code    int
		subcode int
		text    string // substring of Error()
	}{
		{"user unavailable", 400, `{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"error_subcode":1545041,"fbtrace_id":"AbC"}}`,
			UserBlocked, 551, 1545041, "This person isn't available right now"},
		{"blocked subcode under another code", 400, `{"error":{"message":"(#200) Message Not Sent","code":200,"error_subcode":1545041}}`,
			UserBlocked, 200, 1545041, "error 200/1545041"},
		{"temporary send failure", 500, `{"error":{"message":"(#1200) Temporary send message failure. Please try again later","type":"OAuthException","code":1200,"fbtrace_id":"X"}}`,
			Transient, 1200, 0, "Temporary send message failure"},
		{"rate limit as 400", 400, `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}`,
			Transient, 613, 0, "rate limit"},
		{"messenger business use case limit", 400, `{"error":{"message":"There have been too many messenger requests to this Page","code":80006}}`,
			Transient, 80006, 0, "too many"},
		{"flagged transient", 400, `{"error":{"message":"An unexpected error has occurred.","code":1,"is_transient":true}}`,
			Transient, 1, 0, "unexpected"},
		{"outside the window", 400, `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"Y"}}`,
			Rejected, 10, 2018278, "outside of allowed window"},
		{"no matching user", 400, `{"error":{"message":"(#100) No matching user found","type":"OAuthException","code":100,"error_subcode":2018001}}`,
			Rejected, 100, 2018001, "No matching user found"},
		{"expired token", 401, `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}}`,
			Rejected, 190, 463, "Session has expired"},
		{"codes as strings", 400, `{"error":{"message":"x","code":"551","error_subcode":"1545041"}}`,
			UserBlocked, 551, 1545041, "error 551"},
		{"error_data details", 400, `{"error":{"message":"(#100) Invalid parameter","code":100,"error_data":{"details":"psid is not valid"}}}`,
			Rejected, 100, 0, "psid is not valid"},
		{"error_data as a string", 400, `{"error":{"message":"(#100) Invalid parameter","code":100,"error_data":"Invalid psid"}}`,
			Rejected, 100, 0, "Invalid psid"},
		{"error_user_msg", 400, `{"error":{"message":"(#100) Invalid parameter","code":100,"error_user_msg":"The user can not be blocked."}}`,
			Rejected, 100, 0, "can not be blocked"},
		{"server error without JSON", 502, `<html>Bad Gateway</html>`, Transient, 0, 0, "HTTP 502"},
		{"too many requests without JSON", 429, ``, Transient, 0, 0, "HTTP 429"},
		{"client error without JSON", 404, `not found`, Rejected, 0, 0, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ge := ParseGraphError(tt.status, []byte(tt.body), MessagingRules)
			if ge.Class != tt.class || ge.Code != tt.code || ge.Subcode != tt.subcode || ge.HTTPStatus != tt.status {
				t.Fatalf("got class %v code %d/%d HTTP %d, want %v %d/%d HTTP %d", ge.Class, ge.Code, ge.Subcode, ge.HTTPStatus,
					tt.class, tt.code, tt.subcode, tt.status)
			}
			if !strings.Contains(ge.Error(), tt.text) {
				t.Errorf("Error() = %q, want it to contain %q", ge.Error(), tt.text)
			}
			var err error = ge
			if got := errors.Is(err, ErrTransient); got != (tt.class == Transient) {
				t.Errorf("errors.Is(ErrTransient) = %v", got)
			}
			if got := errors.Is(err, ErrUserBlocked); got != (tt.class == UserBlocked) {
				t.Errorf("errors.Is(ErrUserBlocked) = %v", got)
			}
			if got := errors.Is(err, platform.ErrSendRejected); got != (tt.class != Transient) {
				t.Errorf("errors.Is(ErrSendRejected) = %v", got)
			}
			if ge.Transient() != (tt.class == Transient) || ge.UserBlocked() != (tt.class == UserBlocked) {
				t.Errorf("Transient() = %v, UserBlocked() = %v for class %v", ge.Transient(), ge.UserBlocked(), tt.class)
			}
		})
	}
}

func TestResponseError(t *testing.T) {
	if ge := ResponseError(200, []byte(`{"recipient_id":"1","message_id":"m_1"}`), MessagingRules); ge != nil {
		t.Fatalf("ResponseError of a success = %v", ge)
	}
	if ge := ResponseError(200, []byte(`{"error":null,"success":true}`), MessagingRules); ge != nil {
		t.Fatalf("ResponseError of a null error = %v", ge)
	}
	ge := ResponseError(200, []byte(`{"error":{"message":"(#100) Invalid user id","code":100}}`), MessagingRules)
	if ge == nil || ge.Code != 100 || ge.Class != Rejected {
		t.Fatalf("ResponseError of a 200 carrying an error = %+v", ge)
	}
	if ge := ResponseError(503, nil, MessagingRules); ge == nil || !ge.Transient() {
		t.Fatalf("ResponseError(503) = %+v, want transient", ge)
	}
}

func TestSuccessFlag(t *testing.T) {
	tests := []struct {
		body           string
		success, found bool
	}{
		{`{"success":true}`, true, true},
		{`{"success":"true"}`, true, true},
		{`{"success":false}`, false, true},
		{`{"success":"false"}`, false, true},
		{`{"result":"ok"}`, false, false},
		{`not json`, false, false},
	}
	for _, tt := range tests {
		success, found := SuccessFlag([]byte(tt.body))
		if success != tt.success || found != tt.found {
			t.Errorf("SuccessFlag(%s) = %v, %v; want %v, %v", tt.body, success, found, tt.success, tt.found)
		}
	}
}

func TestClientCall(t *testing.T) {
	var got struct {
		method, path, query, auth, contentType, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.query = r.Method, r.URL.Path, r.URL.RawQuery
		got.auth, got.contentType, got.body = r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/v23.0", AccessToken: "EAAB-token", HTTP: srv.Client()}

	status, body, err := c.Call(context.Background(), http.MethodPost, "123/messages", nil, map[string]string{"text": `a <b> & "c"`})
	if err != nil || status != 200 || string(body) != `{"ok":true}` {
		t.Fatalf("Call = %d, %s, %v", status, body, err)
	}
	if got.method != http.MethodPost || got.path != "/v23.0/123/messages" || got.auth != "Bearer EAAB-token" ||
		got.contentType != "application/json" || got.body != `{"text":"a <b> & \"c\""}` {
		t.Fatalf("request = %+v", got)
	}

	if _, _, err := c.Call(context.Background(), http.MethodDelete, "123/blocked", url.Values{"psid": {"42"}}, nil); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	if got.method != http.MethodDelete || got.query != "psid=42" || got.body != "" || got.contentType != "" {
		t.Fatalf("DELETE request = %+v", got)
	}
}

func TestClientFailures(t *testing.T) {
	if _, _, err := (&Client{BaseURL: "http://127.0.0.1:1"}).Call(context.Background(), http.MethodGet, "x", nil, nil); !errors.Is(err, ErrNoAccessToken) || !errors.Is(err, platform.ErrSendRejected) {
		t.Fatalf("Call without a token = %v, want ErrNoAccessToken, a permanent refusal", err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	c := &Client{BaseURL: base, AccessToken: "EAAB-secret-token", HTTP: &http.Client{}}
	_, _, err := c.Call(context.Background(), http.MethodPost, "1/messages", nil, struct{}{})
	if !IsTransient(err) {
		t.Fatalf("Call to a closed server = %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), "EAAB-secret-token") || strings.Contains(err.Error(), base) {
		t.Fatalf("error shows the token or the URL: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Call(ctx, http.MethodPost, "1/messages", nil, struct{}{}); err == nil || IsTransient(err) {
		t.Fatalf("Call with a cancelled context = %v, want a non-transient error", err)
	}
	if s := c.String() + c.GoString(); strings.Contains(s, "EAAB-secret-token") {
		t.Fatalf("String shows the token: %s", s)
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, ok := range []string{"https://graph.facebook.com/v23.0", "http://127.0.0.1:8080/v1"} {
		if err := CheckBaseURL("graph_url", ok); err != nil {
			t.Errorf("CheckBaseURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"graph.facebook.com/v23.0", "ftp://graph.facebook.com", "https://", "::"} {
		if err := CheckBaseURL("graph_url", bad); err == nil || !strings.Contains(err.Error(), "graph_url") {
			t.Errorf("CheckBaseURL(%q) = %v, want an error naming graph_url", bad, err)
		}
	}
}

func TestIsNumericID(t *testing.T) {
	for s, want := range map[string]bool{"1254477777772919": true, "0": true, "": false, "12a": false, "-1": false, "1 2": false} {
		if got := IsNumericID(s); got != want {
			t.Errorf("IsNumericID(%q) = %v, want %v", s, got, want)
		}
	}
}
