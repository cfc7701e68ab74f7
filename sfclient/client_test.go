package sfclient_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

const (
	orgID        = "00D000000000001AAA"
	clientID     = "connector-app"
	clientSecret = "s3cret-do-not-leak"
	username     = "integration@example.com"
	convObject   = "Chat_Conversation__c"
	convKey      = "Conversation_Key__c"
	msgObject    = "Chat_Message__c"
	msgKey       = "Message_Key__c"
)

// env is a stand-in over real HTTP and a client for it.
type env struct {
	sf     *standin.Server
	ts     *httptest.Server
	client *sfclient.Client
}

// newEnv serves handler (the stand-in itself when nil) and builds a
// client-credentials client; edit adjusts the client's configuration.
func newEnv(t *testing.T, opts standin.Options, wrap func(http.Handler) http.Handler, edit func(*sfclient.Config)) *env {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = clientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = clientSecret
	}
	sf := standin.New(opts)
	var h http.Handler = sf
	if wrap != nil {
		h = wrap(sf)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	cfg := sfclient.Config{
		OrgID:        orgID,
		LoginURL:     ts.URL,
		Flow:         sfclient.FlowClientCredentials,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
		HTTPClient:   ts.Client(),
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := sfclient.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sf: sf, ts: ts, client: c}
}

func conv(key string, fields ...any) sfclient.Record {
	r := sfclient.Record{convKey: key}
	for i := 0; i+1 < len(fields); i += 2 {
		r[fields[i].(string)] = fields[i+1]
	}
	return r
}

func msg(key, parent, body string) sfclient.Record {
	return sfclient.Record{
		msgKey:                 key,
		"Body__c":              body,
		"Chat_Conversation__r": map[string]any{convKey: parent},
	}
}

// upsertConversations writes conversations and fails the test on any error.
func (e *env) upsertConversations(t *testing.T, recs ...sfclient.Record) []sfclient.Result {
	t.Helper()
	res, err := e.client.UpsertCollection(context.Background(), convObject, convKey, recs)
	if err != nil {
		t.Fatalf("UpsertCollection: %v", err)
	}
	for i, r := range res {
		if !r.Success {
			t.Fatalf("record %d failed: %+v", i, r.Errors)
		}
	}
	return res
}

func TestClientCredentialsFlow(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	if got := e.sf.Stats().TokenRequests; got != 0 {
		t.Fatalf("New fetched a token (%d requests)", got)
	}
	res := e.upsertConversations(t, conv("t:c:1", "State__c", "OPEN"), conv("t:c:2", "State__c", "AUTO_BOT"))
	if len(res) != 2 || !res[0].Created || !res[1].Created || res[0].ID == "" || res[0].ID == res[1].ID {
		t.Fatalf("results = %+v", res)
	}
	again := e.upsertConversations(t, conv("t:c:1", "State__c", "CLOSED"))
	if again[0].Created || again[0].ID != res[0].ID {
		t.Errorf("second upsert = %+v, want an update of %s", again[0], res[0].ID)
	}
	if st := e.sf.Stats(); st.TokensIssued != 1 || st.APICalls != 2 {
		t.Errorf("stats = %+v, want one token reused for two calls", st)
	}
	if recs := e.sf.Records(convObject); len(recs) != 2 || recs[0].Fields["State__c"] != "CLOSED" {
		t.Errorf("records = %+v", recs)
	}
	if e.client.OrgID() != orgID {
		t.Errorf("OrgID() = %q", e.client.OrgID())
	}
}

var (
	keyOnce sync.Once
	keyPEM  []byte
	pubPEM  []byte
	keyErr  error
)

// rsaKeys returns a PKCS#8 private key PEM and its public key PEM,
// generated once per test run.
func rsaKeys(t *testing.T) (private, public []byte) {
	t.Helper()
	keyOnce.Do(func() {
		var k *rsa.PrivateKey
		if k, keyErr = rsa.GenerateKey(rand.Reader, 2048); keyErr != nil {
			return
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			keyErr = err
			return
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			keyErr = err
			return
		}
		pubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return keyPEM, pubPEM
}

func TestJWTBearerFlow(t *testing.T) {
	private, public := rsaKeys(t)
	jwtConfig := func(c *sfclient.Config) {
		c.Flow = sfclient.FlowJWTBearer
		c.ClientSecret = ""
		c.Username = username
		c.PrivateKeyPEM = private
	}
	e := newEnv(t, standin.Options{JWTPublicKeyPEM: public, Username: username}, nil, jwtConfig)
	e.upsertConversations(t, conv("k1"))
	if st := e.sf.Stats(); st.TokensIssued != 1 {
		t.Errorf("tokens issued = %d", st.TokensIssued)
	}

	// A stand-in expecting another key refuses the assertion.
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	otherPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	e = newEnv(t, standin.Options{JWTPublicKeyPEM: otherPub, Username: username}, nil, jwtConfig)
	_, err = e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k1")})
	if !errors.Is(err, sfclient.ErrAuth) || sfclient.Classify(err) != sfclient.Auth {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "invalid_grant") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("error message %q", err)
	}
}

func TestTokenRefusedIsAuthError(t *testing.T) {
	e := newEnv(t, standin.Options{ClientSecret: "the-real-secret"}, nil, nil)
	err := e.client.Authenticate(context.Background())
	if !errors.Is(err, sfclient.ErrAuth) || sfclient.Classify(err) != sfclient.Auth {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("error %q does not name Salesforce's error", err)
	}
	if strings.Contains(err.Error(), clientSecret) {
		t.Errorf("error %q quotes the secret", err)
	}
	if st := e.sf.Stats(); st.TokenRequests != 1 {
		t.Errorf("token requests = %d, want 1 (a refusal is not retried)", st.TokenRequests)
	}
}

func TestWrongOrg(t *testing.T) {
	e := newEnv(t, standin.Options{OrgID: "00D000000000002AAA"}, nil, nil)
	_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k")})
	if !errors.Is(err, sfclient.ErrWrongOrg) || sfclient.Classify(err) != sfclient.Auth {
		t.Fatalf("err = %v, want ErrWrongOrg", err)
	}
	if st := e.sf.Stats(); st.APICalls != 0 {
		t.Errorf("%d API calls made with a token of the wrong org", st.APICalls)
	}

	// The 15-character form of the right org matches; so does a different
	// checksum suffix (only the first 15 characters count).
	for _, id := range []string{orgID[:15], orgID[:15] + "XYZ"} {
		e = newEnv(t, standin.Options{}, nil, func(c *sfclient.Config) { c.OrgID = id })
		if err := e.client.Authenticate(context.Background()); err != nil {
			t.Errorf("org %s: %v", id, err)
		}
	}
	// Case matters.
	e = newEnv(t, standin.Options{OrgID: "00D00000000000aAAA"}, nil, func(c *sfclient.Config) { c.OrgID = "00D00000000000AAAA" })
	if err := e.client.Authenticate(context.Background()); !errors.Is(err, sfclient.ErrWrongOrg) {
		t.Errorf("org ids differing in case: err = %v, want ErrWrongOrg", err)
	}
}

func TestRefreshOnExpiredSession(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	e.upsertConversations(t, conv("k1"))
	e.sf.ExpireTokens()
	e.upsertConversations(t, conv("k2"))
	st := e.sf.Stats()
	if st.TokensIssued != 2 || st.InvalidSession != 1 || st.CollectionUpserts != 2 {
		t.Errorf("stats = %+v, want 2 tokens, 1 refused call, 2 upserts", st)
	}

	// Concurrent calls after an expiry share one new token.
	e.sf.ExpireTokens()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client.UpsertCollection(context.Background(), convObject, convKey,
				[]sfclient.Record{conv(fmt.Sprint("c", i))}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.sf.Stats().TokensIssued; got != 3 {
		t.Errorf("tokens issued = %d, want 3", got)
	}
}

func TestSecondInvalidSessionIsAnError(t *testing.T) {
	alwaysExpired := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/services/data/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, standin.Options{}, alwaysExpired, nil)
	_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k")})
	var apiErr *sfclient.APIError
	if !errors.Is(err, sfclient.ErrInvalidSession) || !errors.As(err, &apiErr) || apiErr.HTTPStatus != 401 || apiErr.Code != "INVALID_SESSION_ID" {
		t.Fatalf("err = %v, want an INVALID_SESSION_ID APIError", err)
	}
	if sfclient.Classify(err) != sfclient.Auth {
		t.Errorf("class = %v", sfclient.Classify(err))
	}
	if got := e.sf.Stats().TokensIssued; got != 2 {
		t.Errorf("tokens issued = %d, want 2 (one refresh only)", got)
	}
}

func TestServerUnavailableThenSuccess(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	e.sf.FailNext(1, standin.Fault{Status: 503})
	e.upsertConversations(t, conv("k1"))
	st := e.sf.Stats()
	if st.Faults != 1 || st.CollectionUpserts != 1 {
		t.Errorf("stats = %+v, want one fault then one upsert", st)
	}
	if len(e.sf.Records(convObject)) != 1 {
		t.Error("record not written")
	}
}

func TestServerUnavailableThroughout(t *testing.T) {
	for _, fault := range []standin.Fault{{Status: 503}, {Status: 503, HTML: true}, {Status: 500}} {
		t.Run(fmt.Sprintf("%d html=%v", fault.Status, fault.HTML), func(t *testing.T) {
			e := newEnv(t, standin.Options{}, nil, nil)
			e.sf.FailAll(fault)
			_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k")})
			if !errors.Is(err, sfclient.ErrTransient) || sfclient.Classify(err) != sfclient.Transient {
				t.Fatalf("err = %v, want ErrTransient", err)
			}
			var apiErr *sfclient.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus != fault.Status {
				t.Fatalf("err = %v, want an APIError with status %d", err, fault.Status)
			}
			switch {
			case fault.HTML && apiErr.Code != "":
				t.Errorf("HTML body parsed into code %q", apiErr.Code)
			case !fault.HTML && fault.Status == 503 && apiErr.Code != "SERVER_UNAVAILABLE":
				t.Errorf("code = %q", apiErr.Code)
			}
			if got := e.sf.Stats().Faults; got != sfclient.DefaultRetryMax+1 {
				t.Errorf("%d attempts, want %d", got, sfclient.DefaultRetryMax+1)
			}
		})
	}
}

func TestEmptyErrorListDoesNotPanic(t *testing.T) {
	emptyErrors := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/services/data/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `[]`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, standin.Options{}, emptyErrors, nil)
	_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k")})
	var apiErr *sfclient.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 400 || sfclient.Classify(err) != sfclient.Permanent {
		t.Fatalf("err = %v, want a permanent 400 APIError", err)
	}
}

func TestRequestLimitExceeded(t *testing.T) {
	e := newEnv(t, standin.Options{DailyLimit: 100}, nil, nil)
	e.sf.SetUsage(100)
	_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k")})
	var apiErr *sfclient.APIError
	if !errors.Is(err, sfclient.ErrRequestLimit) || !errors.As(err, &apiErr) || apiErr.HTTPStatus != 403 || apiErr.Code != "REQUEST_LIMIT_EXCEEDED" {
		t.Fatalf("err = %v, want REQUEST_LIMIT_EXCEEDED", err)
	}
	if sfclient.Classify(err) != sfclient.RateLimited {
		t.Errorf("class = %v", sfclient.Classify(err))
	}
	if used, limit, ok := e.client.Usage(); !ok || used != 100 || limit != 100 {
		t.Errorf("Usage() = %d, %d, %v", used, limit, ok)
	}
	if got := e.sf.Stats().LimitExceeded; got != 1 {
		t.Errorf("%d refused calls, want 1 (403 is not retried)", got)
	}
}

func TestUsageTracking(t *testing.T) {
	e := newEnv(t, standin.Options{DailyLimit: 500}, nil, nil)
	if _, _, ok := e.client.Usage(); ok {
		t.Fatal("Usage() reports a value before any call")
	}
	e.sf.SetUsage(41)
	for i := 1; i <= 3; i++ {
		e.upsertConversations(t, conv(fmt.Sprint(i)))
		if used, limit, ok := e.client.Usage(); !ok || used != 41+i || limit != 500 {
			t.Errorf("after call %d: Usage() = %d, %d, %v", i, used, limit, ok)
		}
	}
}

func TestPerRecordErrors(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	e.upsertConversations(t, conv("c1"))
	e.sf.AddRejectRule(standin.RejectRule{Object: msgObject, Field: "Body__c", Contains: "#reject",
		StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "rejected"})
	bogus := msg("m1", "c1", "x")
	bogus["Bogus__c"] = true
	recs := []sfclient.Record{
		msg("m0", "c1", "fine"),
		bogus,
		msg("m2", "missing-parent", "x"),
		msg("m3", "c1", "please #reject this"),
		msg("m4", "c1", "fine too"),
	}
	res, err := e.client.UpsertCollection(context.Background(), msgObject, msgKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "INVALID_FIELD", "INVALID_FIELD", "FIELD_CUSTOM_VALIDATION_EXCEPTION", ""}
	for i, code := range want {
		r := res[i]
		if code == "" {
			if !r.Success || !r.Created || r.ID == "" || len(r.Errors) != 0 {
				t.Errorf("record %d = %+v, want created", i, r)
			}
			continue
		}
		if r.Success || r.ID != "" || len(r.Errors) != 1 || r.Errors[0].StatusCode != code || r.Errors[0].Message == "" {
			t.Errorf("record %d = %+v, want %s", i, r, code)
			continue
		}
		if sfclient.RecordErrorClass(r.Errors[0].StatusCode) != sfclient.Permanent {
			t.Errorf("record %d: class %v", i, sfclient.RecordErrorClass(r.Errors[0].StatusCode))
		}
	}
	if got := res[1].Errors[0].Fields; len(got) != 1 || got[0] != "Bogus__c" {
		t.Errorf("unknown field's fields = %v", got)
	}
	stored := e.sf.Records(msgObject)
	if len(stored) != 2 || stored[0].Fields[msgKey] != "m0" || stored[1].Fields[msgKey] != "m4" {
		t.Errorf("stored = %+v", stored)
	}
}

func TestCollectionRequestBody(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	var path string
	capture := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/composite/") {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				body, path = b, r.URL.Path
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, standin.Options{}, capture, nil)
	e.upsertConversations(t, conv("c1"))
	rec := msg("m1", "c1", "hi")
	if _, err := e.client.UpsertCollection(context.Background(), msgObject, msgKey, []sfclient.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec["attributes"]; ok {
		t.Error("UpsertCollection modified the caller's record")
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c" {
		t.Errorf("path = %q", path)
	}
	var got struct {
		AllOrNone *bool            `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.AllOrNone == nil || *got.AllOrNone || len(got.Records) != 1 {
		t.Fatalf("body = %s", body)
	}
	r := got.Records[0]
	attrs, _ := r["attributes"].(map[string]any)
	parent, _ := r["Chat_Conversation__r"].(map[string]any)
	if attrs["type"] != msgObject || parent[convKey] != "c1" || r[msgKey] != "m1" {
		t.Errorf("record = %v", r)
	}
	stored := e.sf.Records(msgObject)
	if len(stored) != 1 || stored[0].Fields["Chat_Conversation__c"] != e.sf.Records(convObject)[0].ID {
		t.Errorf("parent not resolved: %+v", stored)
	}
}

func TestTooManyRecords(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	recs := make([]sfclient.Record, sfclient.MaxCollectionRecords+1)
	for i := range recs {
		recs[i] = conv(fmt.Sprint(i))
	}
	_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, recs)
	if !errors.Is(err, sfclient.ErrTooManyRecords) || sfclient.Classify(err) != sfclient.Permanent {
		t.Fatalf("err = %v, want ErrTooManyRecords", err)
	}
	if st := e.sf.Stats(); st.TokenRequests != 0 || st.APICalls != 0 {
		t.Errorf("stats = %+v, want no network use", st)
	}
	res, err := e.client.UpsertCollection(context.Background(), convObject, convKey, recs[:200])
	if err != nil || len(res) != 200 {
		t.Fatalf("200 records: %d results, %v", len(res), err)
	}
	if res, err := e.client.UpsertCollection(context.Background(), convObject, convKey, nil); err != nil || res != nil {
		t.Errorf("no records: %v, %v", res, err)
	}
	if _, err := e.client.UpsertCollection(context.Background(), "Bad/Name", convKey, recs[:1]); err == nil {
		t.Error("an object name with a slash was accepted")
	}
}

func TestSingleUpsert(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	ctx := context.Background()
	key := "tenant:chan/1:42"
	r, err := e.client.Upsert(ctx, convObject, convKey, key, sfclient.Record{"State__c": "OPEN"})
	if err != nil || !r.Success || !r.Created || r.ID == "" {
		t.Fatalf("create: %+v, %v", r, err)
	}
	r2, err := e.client.Upsert(ctx, convObject, convKey, key, sfclient.Record{"State__c": "CLOSED"})
	if err != nil || !r2.Success || r2.Created || r2.ID != r.ID {
		t.Fatalf("update: %+v, %v", r2, err)
	}
	recs := e.sf.Records(convObject)
	if len(recs) != 1 || recs[0].Fields[convKey] != key || recs[0].Fields["State__c"] != "CLOSED" {
		t.Fatalf("records = %+v", recs)
	}

	_, err = e.client.Upsert(ctx, convObject, convKey, key, sfclient.Record{"Nope__c": 1})
	var apiErr *sfclient.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 400 || apiErr.Code != "INVALID_FIELD" || sfclient.Classify(err) != sfclient.Permanent {
		t.Fatalf("unknown field: %v", err)
	}

	// Before API 46.0 an update answers 204 without a body.
	old := newEnv(t, standin.Options{}, nil, func(c *sfclient.Config) { c.APIVersion = "v45.0" })
	if _, err := old.client.Upsert(ctx, convObject, convKey, "k", nil); err != nil {
		t.Fatal(err)
	}
	r3, err := old.client.Upsert(ctx, convObject, convKey, "k", sfclient.Record{"State__c": "OPEN"})
	if err != nil || !r3.Success || r3.Created {
		t.Errorf("204 update: %+v, %v", r3, err)
	}
}

func TestContextCancel(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	if err := e.client.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sf.SetLatency(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := e.client.UpsertCollection(ctx, convObject, convKey, []sfclient.Record{conv("k")})
	if !errors.Is(err, context.Canceled) || sfclient.Classify(err) != sfclient.Transient {
		t.Fatalf("err = %v, want context.Canceled, transient", err)
	}
	e.sf.SetLatency(0)

	// A deadline works the same way, for the token request too.
	e2 := newEnv(t, standin.Options{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Read the body so that the server notices the client hanging up.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
	}, nil)
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = e2.client.Authenticate(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || sfclient.Classify(err) != sfclient.Transient {
		t.Fatalf("token request: err = %v, want context.DeadlineExceeded, transient", err)
	}
}

func TestRequestTimeoutIsTransient(t *testing.T) {
	// Long enough for the token request on a loaded machine; far shorter
	// than the call's latency.
	e := newEnv(t, standin.Options{}, nil, func(c *sfclient.Config) {
		c.RequestTimeout = time.Second
		c.RetryMax = -1
	})
	if err := e.client.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sf.SetLatency(time.Minute)
	_, err := e.client.UpsertCollection(context.Background(), convObject, convKey, []sfclient.Record{conv("k")})
	if !errors.Is(err, sfclient.ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	e.sf.SetLatency(0)
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	c, err := sfclient.New(sfclient.Config{
		OrgID: orgID, LoginURL: url, Flow: sfclient.FlowClientCredentials,
		ClientID: clientID, ClientSecret: clientSecret,
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Authenticate(context.Background())
	if !errors.Is(err, sfclient.ErrTransient) || strings.Contains(err.Error(), clientSecret) {
		t.Fatalf("err = %v, want ErrTransient without the secret", err)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	var logs bytes.Buffer
	sniff := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a := r.Header.Get("Authorization"); a != "" {
				mu.Lock()
				tokens = append(tokens, strings.TrimPrefix(a, "Bearer "))
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, standin.Options{}, sniff, func(c *sfclient.Config) {
		c.Logger = zerolog.New(zerolog.SyncWriter(&lockedBuffer{mu: &mu, b: &logs})).Level(zerolog.DebugLevel)
	})
	e.upsertConversations(t, conv("k1"))
	e.sf.ExpireTokens()
	e.sf.FailNext(1, standin.Fault{Status: 503})
	e.upsertConversations(t, conv("k2"))

	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	if !strings.Contains(out, "retrying request") {
		t.Errorf("the retry layer's lines are missing:\n%s", out)
	}
	// The expired session and the 503 are what an operator acts on: each
	// at warn level with its class; nothing else above info.
	warned := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch entry["level"] {
		case "debug", "info":
		case "warn":
			class, _ := entry["class"].(string)
			if class == "" {
				t.Errorf("a warning without its class: %s", line)
			}
			if entry["status"] == float64(503) {
				class += " 503"
			}
			warned[class] = true
		default:
			t.Errorf("log line above warn: %s", line)
		}
	}
	if !warned["auth"] || !warned["transient 503"] {
		t.Errorf("the expired session and the 503 are not both at warn with their class (%v):\n%s", warned, out)
	}
	if len(tokens) == 0 {
		t.Fatal("no token seen")
	}
	for _, secret := range append(tokens, clientSecret) {
		if strings.Contains(out, secret) {
			t.Errorf("logs hold a secret %q:\n%s", secret, out)
		}
	}
}

// lockedBuffer is a bytes.Buffer shared with the test under a mutex.
type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestTokenEndpointUnavailableIsTransient(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	down := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/services/oauth2/token" {
				mu.Lock()
				attempts++
				mu.Unlock()
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "<html>down for maintenance</html>")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, standin.Options{}, down, nil)
	err := e.client.Authenticate(context.Background())
	if !errors.Is(err, sfclient.ErrTransient) || errors.Is(err, sfclient.ErrAuth) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != sfclient.DefaultRetryMax+1 {
		t.Errorf("%d token attempts, want %d", attempts, sfclient.DefaultRetryMax+1)
	}
}
