package standin

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testClientID = "test-client"
	testSecret   = "test-secret-value"
)

// fixture is a stand-in served over real HTTP.
type fixture struct {
	t   *testing.T
	s   *Server
	ts  *httptest.Server
	tok string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = testClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = testSecret
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &fixture{t: t, s: s, ts: ts}
}

// token gets a client-credentials token and remembers it.
func (f *fixture) token() string {
	f.t.Helper()
	resp := f.postForm("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret},
	})
	if resp.status != http.StatusOK {
		f.t.Fatalf("token: HTTP %d %s", resp.status, resp.body)
	}
	var tok map[string]string
	resp.decode(f.t, &tok)
	f.tok = tok["access_token"]
	return f.tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (f *fixture) do(method, path string, body any) response {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.tok != "" {
		req.Header.Set("Authorization", "Bearer "+f.tok)
	}
	req.Header.Set("Content-Type", "application/json")
	return f.send(req)
}

func (f *fixture) postForm(path string, form url.Values) response {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.send(req)
}

func (f *fixture) send(req *http.Request) response {
	f.t.Helper()
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

const (
	convPath = "/services/data/v62.0/composite/sobjects/Chat_Conversation__c/Conversation_Key__c"
	msgPath  = "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c"
)

func collection(object string, allOrNone bool, recs ...map[string]any) map[string]any {
	for _, r := range recs {
		r["attributes"] = map[string]any{"type": object}
	}
	return map[string]any{"allOrNone": allOrNone, "records": recs}
}

// rawResult keeps the JSON keys of an UpsertResult to check the format.
type rawResult map[string]json.RawMessage

func (r rawResult) str(key string) string {
	var s string
	_ = json.Unmarshal(r[key], &s)
	return s
}

func (r rawResult) boolean(key string) bool {
	var b bool
	_ = json.Unmarshal(r[key], &b)
	return b
}

func (r rawResult) errors(t *testing.T) []map[string]any {
	t.Helper()
	var errs []map[string]any
	if err := json.Unmarshal(r["errors"], &errs); err != nil {
		t.Fatalf("errors %s: %v", r["errors"], err)
	}
	return errs
}

func TestTokenClientCredentials(t *testing.T) {
	f := newFixture(t, Options{})
	resp := f.postForm("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret},
	})
	if resp.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", resp.status, resp.body)
	}
	var tok map[string]string
	resp.decode(t, &tok)
	for _, k := range []string{"access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"} {
		if tok[k] == "" {
			t.Errorf("token response lacks %q: %s", k, resp.body)
		}
	}
	if tok["instance_url"] != f.ts.URL {
		t.Errorf("instance_url = %q, want %q", tok["instance_url"], f.ts.URL)
	}
	if want := f.ts.URL + "/id/" + DefaultOrgID + "/" + DefaultUserID; tok["id"] != want {
		t.Errorf("id = %q, want %q", tok["id"], want)
	}
	if tok["token_type"] != "Bearer" {
		t.Errorf("token_type = %q", tok["token_type"])
	}
	if ms, err := strconv.ParseInt(tok["issued_at"], 10, 64); err != nil || ms < time.Now().Add(-time.Hour).UnixMilli() {
		t.Errorf("issued_at = %q, want milliseconds since the epoch", tok["issued_at"])
	}
	if _, err := base64.StdEncoding.DecodeString(tok["signature"]); err != nil {
		t.Errorf("signature %q is not base64", tok["signature"])
	}
	if !strings.HasPrefix(tok["access_token"], DefaultOrgID[:15]+"!") {
		t.Errorf("access_token %q does not look like a session id", tok["access_token"])
	}

	// HTTP Basic credentials work too.
	req, _ := http.NewRequest(http.MethodPost, f.ts.URL+"/services/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testSecret)
	if r := f.send(req); r.status != http.StatusOK {
		t.Errorf("basic auth: HTTP %d %s", r.status, r.body)
	}

	cases := []struct {
		name string
		form url.Values
		code string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {"nope"}}, "invalid_client"},
		{"wrong client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"other"}, "client_secret": {testSecret}}, "invalid_client_id"},
		{"unknown grant", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{"no grant", url.Values{}, "unsupported_grant_type"},
	}
	for _, tc := range cases {
		r := f.postForm("/services/oauth2/token", tc.form)
		var e map[string]string
		r.decode(t, &e)
		if r.status != http.StatusBadRequest || e["error"] != tc.code || e["error_description"] == "" {
			t.Errorf("%s: HTTP %d %s, want 400 %s", tc.name, r.status, r.body, tc.code)
		}
	}
	st := f.s.Stats()
	if st.TokenRequests != 6 || st.TokensIssued != 2 || st.TokenFailures != 4 {
		t.Errorf("stats = %+v, want 6 requests, 2 issued, 4 failures", st)
	}
}

var (
	keyOnce          sync.Once
	keyA, keyB       *rsa.PrivateKey
	keyErrA, keyErrB error
)

// testKeys returns two RSA keys, generated once per test run.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		keyA, keyErrA = rsa.GenerateKey(rand.Reader, 2048)
		keyB, keyErrB = rsa.GenerateKey(rand.Reader, 2048)
	})
	if keyErrA != nil || keyErrB != nil {
		t.Fatal(keyErrA, keyErrB)
	}
	return keyA, keyB
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func assertion(t *testing.T, k *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenJWTBearer(t *testing.T) {
	a, b := testKeys(t)
	f := newFixture(t, Options{JWTPublicKeyPEM: publicPEM(t, a), Username: "int@example.com"})
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": testClientID, "sub": "int@example.com", "aud": f.ts.URL,
			"exp": time.Now().Add(3 * time.Minute).Unix()}
	}
	post := func(key *rsa.PrivateKey, claims jwt.MapClaims) response {
		return f.postForm("/services/oauth2/token", url.Values{
			"grant_type": {jwtBearerGrant}, "assertion": {assertion(t, key, claims)},
		})
	}
	if r := post(a, good()); r.status != http.StatusOK {
		t.Fatalf("valid assertion: HTTP %d %s", r.status, r.body)
	}
	loginAud := good()
	loginAud["aud"] = "https://login.salesforce.com"
	if r := post(a, loginAud); r.status != http.StatusOK {
		t.Errorf("login.salesforce.com audience: HTTP %d %s", r.status, r.body)
	}

	mutate := func(k string, v any) jwt.MapClaims {
		c := good()
		c[k] = v
		return c
	}
	cases := []struct {
		name   string
		key    *rsa.PrivateKey
		claims jwt.MapClaims
		code   string
	}{
		{"other key", b, good(), "invalid_grant"},
		{"wrong issuer", a, mutate("iss", "someone"), "invalid_client_id"},
		{"wrong audience", a, mutate("aud", "https://example.com"), "invalid_grant"},
		{"wrong subject", a, mutate("sub", "other@example.com"), "invalid_grant"},
		{"expired", a, mutate("exp", time.Now().Add(-time.Hour).Unix()), "invalid_grant"},
	}
	for _, tc := range cases {
		r := post(tc.key, tc.claims)
		var e map[string]string
		r.decode(t, &e)
		if r.status != http.StatusBadRequest || e["error"] != tc.code {
			t.Errorf("%s: HTTP %d %s, want 400 %s", tc.name, r.status, r.body, tc.code)
		}
	}

	// Without a public key any well-formed assertion with the right claims
	// passes, whoever signed it; the claims are still checked.
	open := newFixture(t, Options{})
	r := open.postForm("/services/oauth2/token", url.Values{
		"grant_type": {jwtBearerGrant},
		"assertion":  {assertion(t, b, jwt.MapClaims{"iss": testClientID, "sub": "x", "aud": open.ts.URL, "exp": time.Now().Add(time.Minute).Unix()})},
	})
	if r.status != http.StatusOK {
		t.Errorf("unverified assertion: HTTP %d %s", r.status, r.body)
	}
	r = open.postForm("/services/oauth2/token", url.Values{"grant_type": {jwtBearerGrant}, "assertion": {"not.a.jwt"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("malformed assertion: HTTP %d %s", r.status, r.body)
	}
}

func TestIdentity(t *testing.T) {
	f := newFixture(t, Options{})
	if r := f.do(http.MethodGet, "/id/"+DefaultOrgID+"/"+DefaultUserID, nil); r.status == http.StatusOK {
		t.Fatalf("identity without a token: HTTP %d", r.status)
	}
	f.token()
	r := f.do(http.MethodGet, "/id/"+DefaultOrgID+"/"+DefaultUserID, nil)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	var id map[string]any
	r.decode(t, &id)
	if id["organization_id"] != DefaultOrgID || id["user_id"] != DefaultUserID {
		t.Errorf("identity = %s", r.body)
	}
}

func TestCollectionUpsertFormatAndIdempotency(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	r := f.do(http.MethodPatch, convPath, collection("Chat_Conversation__c", false,
		map[string]any{"Conversation_Key__c": "t:c:1", "State__c": "OPEN"},
		map[string]any{"Conversation_Key__c": "t:c:2", "State__c": "AUTO_BOT"},
	))
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=1/15000" {
		t.Errorf("Sforce-Limit-Info = %q", got)
	}
	var first []rawResult
	r.decode(t, &first)
	if len(first) != 2 {
		t.Fatalf("results = %s", r.body)
	}
	for i, res := range first {
		if !res.boolean("success") || !res.boolean("created") || string(res["errors"]) != "[]" {
			t.Errorf("result %d = %v, want success, created, errors []", i, res)
		}
		id := res.str("id")
		if len(id) != 18 || !strings.HasPrefix(id, "a01") || id[15:] != idSuffix(id[:15]) {
			t.Errorf("result %d id %q is not an 18-character a01 id", i, id)
		}
	}

	msgs := collection("Chat_Message__c", false,
		map[string]any{"Message_Key__c": "t:c:m1", "Body__c": "hello", "Sequence__c": 1,
			"Chat_Conversation__r": map[string]any{"Conversation_Key__c": "t:c:1"}},
		map[string]any{"Message_Key__c": "t:c:m2", "Body__c": "again", "Sequence__c": 2,
			"Chat_Conversation__r": map[string]any{"Conversation_Key__c": "t:c:2"}},
	)
	r = f.do(http.MethodPatch, msgPath, msgs)
	var created []rawResult
	r.decode(t, &created)
	// The same keys again update, never duplicate.
	msgs["records"].([]map[string]any)[0]["Body__c"] = "hello, edited"
	r = f.do(http.MethodPatch, msgPath, msgs)
	var updated []rawResult
	r.decode(t, &updated)
	for i := range created {
		if !created[i].boolean("created") || updated[i].boolean("created") || !updated[i].boolean("success") {
			t.Errorf("record %d: created %v then %v", i, created[i], updated[i])
		}
		if created[i].str("id") != updated[i].str("id") {
			t.Errorf("record %d: id changed from %s to %s", i, created[i].str("id"), updated[i].str("id"))
		}
	}

	recs := f.s.Records("chat_message__c")
	if len(recs) != 2 {
		t.Fatalf("records = %+v", recs)
	}
	if recs[0].Fields["Message_Key__c"] != "t:c:m1" || recs[1].Fields["Message_Key__c"] != "t:c:m2" {
		t.Errorf("records not in creation order: %+v", recs)
	}
	if recs[0].CreatedSeq >= recs[1].CreatedSeq || recs[0].UpdateCount != 1 {
		t.Errorf("records = %+v", recs)
	}
	if recs[0].Fields["Body__c"] != "hello, edited" || recs[0].Fields["Sequence__c"] != json.Number("1") {
		t.Errorf("record fields = %v", recs[0].Fields)
	}
	if recs[0].Fields["Chat_Conversation__c"] != first[0].str("id") || recs[1].Fields["Chat_Conversation__c"] != first[1].str("id") {
		t.Errorf("parents = %v, %v; want %s, %s", recs[0].Fields["Chat_Conversation__c"], recs[1].Fields["Chat_Conversation__c"],
			first[0].str("id"), first[1].str("id"))
	}
	st := f.s.Stats()
	if st.CollectionUpserts != 3 || st.CollectionRecords != 6 || st.RecordsCreated != 4 || st.RecordsUpdated != 2 || st.APIUsage != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCollectionPerRecordErrors(t *testing.T) {
	objs := DefaultObjects()
	objs[1].Required = []string{"Body__c"}
	objs[1].MaxLength = map[string]int{"Body__c": 10}
	f := newFixture(t, Options{Objects: objs})
	f.token()
	f.do(http.MethodPatch, convPath, collection("Chat_Conversation__c", false, map[string]any{"Conversation_Key__c": "c1"}))
	rule := f.s.AddRejectRule(RejectRule{Object: "Chat_Message__c", Field: "Body__c", Contains: "#bad",
		StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "no bad words"})

	parent := func() map[string]any { return map[string]any{"Conversation_Key__c": "c1"} }
	r := f.do(http.MethodPatch, msgPath, collection("Chat_Message__c", false,
		map[string]any{"Message_Key__c": "m0", "Body__c": "ok", "Chat_Conversation__r": parent()},
		map[string]any{"Message_Key__c": "m1", "Body__c": "ok", "Bogus__c": 1},
		map[string]any{"Message_Key__c": "m2", "Body__c": "ok", "Chat_Conversation__r": map[string]any{"Conversation_Key__c": "nope"}},
		map[string]any{"Message_Key__c": "m3", "Sender__c": "x"},
		map[string]any{"Message_Key__c": "m4", "Body__c": "far too long for ten"},
		map[string]any{"Message_Key__c": "m5", "Body__c": "#bad"},
		map[string]any{"Body__c": "no key"},
		map[string]any{"Message_Key__c": "m7", "Body__c": "dup"},
		map[string]any{"Message_Key__c": "m7", "Body__c": "dup"},
		map[string]any{"Message_Key__c": "m9", "Body__c": "fine"},
	))
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	var res []rawResult
	r.decode(t, &res)
	want := []string{"", "INVALID_FIELD", "INVALID_FIELD", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG",
		"FIELD_CUSTOM_VALIDATION_EXCEPTION", "MISSING_ARGUMENT", "DUPLICATE_VALUE", "DUPLICATE_VALUE", ""}
	if len(res) != len(want) {
		t.Fatalf("%d results for %d records: %s", len(res), len(want), r.body)
	}
	for i, code := range want {
		if code == "" {
			if !res[i].boolean("success") {
				t.Errorf("record %d failed: %v", i, res[i])
			}
			continue
		}
		errs := res[i].errors(t)
		if res[i].boolean("success") || len(errs) != 1 || errs[0]["statusCode"] != code {
			t.Errorf("record %d = %v, want error %s", i, res[i], code)
			continue
		}
		if _, ok := errs[0]["fields"].([]any); !ok || errs[0]["message"] == "" {
			t.Errorf("record %d error %v lacks message or fields", i, errs[0])
		}
		if _, hasID := res[i]["id"]; hasID {
			t.Errorf("record %d: a failed result carries an id: %v", i, res[i])
		}
	}
	if msg := res[2].errors(t)[0]["message"]; msg != "Foreign key external ID: nope not found for field Conversation_Key__c in entity Chat_Conversation__c" {
		t.Errorf("foreign key message = %q", msg)
	}
	if msg := res[1].errors(t)[0]["message"].(string); !strings.Contains(msg, "Bogus__c") {
		t.Errorf("unknown field message = %q", msg)
	}
	if got := len(f.s.Records("Chat_Message__c")); got != 2 {
		t.Errorf("%d records stored, want 2", got)
	}

	// Lifting the rule lets the record through.
	if !f.s.RemoveRejectRule(rule) {
		t.Fatal("rule not found")
	}
	r = f.do(http.MethodPatch, msgPath, collection("Chat_Message__c", false, map[string]any{"Message_Key__c": "m5", "Body__c": "#bad"}))
	r.decode(t, &res)
	if !res[0].boolean("success") || !res[0].boolean("created") {
		t.Errorf("after lifting the rule: %s", r.body)
	}
}

func TestCollectionAllOrNoneRollsBack(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	f.do(http.MethodPatch, convPath, collection("Chat_Conversation__c", false, map[string]any{"Conversation_Key__c": "c1", "State__c": "OPEN"}))
	r := f.do(http.MethodPatch, convPath, collection("Chat_Conversation__c", true,
		map[string]any{"Conversation_Key__c": "c1", "State__c": "CLOSED"},
		map[string]any{"Conversation_Key__c": "c2", "State__c": "OPEN"},
		map[string]any{"Conversation_Key__c": "c3", "Nope__c": "x"},
	))
	var res []rawResult
	r.decode(t, &res)
	for i, code := range []string{"ALL_OR_NONE_OPERATION_ROLLED_BACK", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_FIELD"} {
		errs := res[i].errors(t)
		if res[i].boolean("success") || len(errs) != 1 || errs[0]["statusCode"] != code {
			t.Errorf("record %d = %v, want %s", i, res[i], code)
		}
	}
	recs := f.s.Records("Chat_Conversation__c")
	if len(recs) != 1 || recs[0].Fields["State__c"] != "OPEN" || recs[0].UpdateCount != 0 {
		t.Errorf("records after rollback = %+v", recs)
	}
}

func TestCollectionRequestErrors(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	var many []map[string]any
	for i := range MaxCollectionRecords + 1 {
		many = append(many, map[string]any{"Conversation_Key__c": fmt.Sprint(i)})
	}
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"too many", convPath, collection("Chat_Conversation__c", false, many...), 400, "EXCEEDED_ID_LIMIT"},
		{"unknown object", "/services/data/v62.0/composite/sobjects/Nope__c/Key__c", collection("Nope__c", false), 404, "NOT_FOUND"},
		{"unknown key field", "/services/data/v62.0/composite/sobjects/Chat_Conversation__c/Nope__c", collection("Chat_Conversation__c", false), 404, "NOT_FOUND"},
		{"not an external id", "/services/data/v62.0/composite/sobjects/Chat_Conversation__c/State__c", collection("Chat_Conversation__c", false), 400, "INVALID_FIELD"},
		{"no type", convPath, map[string]any{"records": []any{map[string]any{"Conversation_Key__c": "x"}}}, 400, "INVALID_TYPE"},
		{"unknown type", convPath, collection("Nope__c", false, map[string]any{"Conversation_Key__c": "x"}), 400, "INVALID_TYPE"},
		{"malformed", convPath, "{", 400, "JSON_PARSER_ERROR"},
		{"unknown resource", "/services/data/v62.0/tooling/query", nil, 404, "NOT_FOUND"},
		{"bad version", "/services/data/62/composite/sobjects/Chat_Conversation__c/Conversation_Key__c", collection("Chat_Conversation__c", false), 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		method := http.MethodPatch
		if tc.body == nil {
			method = http.MethodGet
		}
		r := f.do(method, tc.path, tc.body)
		var errs []map[string]any
		r.decode(t, &errs)
		if r.status != tc.status || len(errs) != 1 || errs[0]["errorCode"] != tc.code || errs[0]["message"] == "" {
			t.Errorf("%s: HTTP %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	if r := f.do(http.MethodPost, convPath, collection("Chat_Conversation__c", false)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: HTTP %d", r.status)
	}
	if got := len(f.s.Records("Chat_Conversation__c")); got != 0 {
		t.Errorf("%d records stored by refused calls", got)
	}
}

func TestSingleUpsert(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	path := "/services/data/v62.0/sobjects/Chat_Conversation__c/Conversation_Key__c/" + url.PathEscape("t:c/1")
	r := f.do(http.MethodPatch, path, map[string]any{"State__c": "OPEN"})
	var res rawResult
	r.decode(t, &res)
	if r.status != http.StatusCreated || !res.boolean("created") || !res.boolean("success") || len(res.str("id")) != 18 {
		t.Fatalf("create: HTTP %d %s", r.status, r.body)
	}
	id := res.str("id")
	r = f.do(http.MethodPatch, path, map[string]any{"State__c": "CLOSED"})
	r.decode(t, &res)
	if r.status != http.StatusOK || res.boolean("created") || res.str("id") != id {
		t.Fatalf("update: HTTP %d %s", r.status, r.body)
	}
	recs := f.s.Records("Chat_Conversation__c")
	if len(recs) != 1 || recs[0].Fields["Conversation_Key__c"] != "t:c/1" || recs[0].Fields["State__c"] != "CLOSED" {
		t.Fatalf("records = %+v", recs)
	}

	// Before API 46.0 an update answers 204.
	r = f.do(http.MethodPatch, strings.Replace(path, "v62.0", "v45.0", 1), map[string]any{"State__c": "OPEN"})
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("v45.0 update: HTTP %d %s", r.status, r.body)
	}

	r = f.do(http.MethodPatch, path, map[string]any{"Nope__c": 1})
	var errs []map[string]any
	r.decode(t, &errs)
	if r.status != http.StatusBadRequest || len(errs) != 1 || errs[0]["errorCode"] != "INVALID_FIELD" {
		t.Errorf("unknown field: HTTP %d %s", r.status, r.body)
	}
	if _, ok := errs[0]["fields"].([]any); !ok {
		t.Errorf("error lacks fields: %s", r.body)
	}
	r = f.do(http.MethodPatch, "/services/data/v62.0/sobjects/Nope__c/Key__c/1", map[string]any{})
	if r.status != http.StatusNotFound || !bytes.Contains(r.body, []byte(`"errorCode":"NOT_FOUND"`)) {
		t.Errorf("unknown object: HTTP %d %s", r.status, r.body)
	}
	if st := f.s.Stats(); st.SingleUpserts != 4 {
		t.Errorf("single upserts = %d, want 4", st.SingleUpserts)
	}
}

func TestTokenExpiry(t *testing.T) {
	f := newFixture(t, Options{TokenLifetime: time.Hour})
	var mu sync.Mutex
	now := time.Now()
	f.s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f.token()
	limits := "/services/data/v62.0/limits"
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusOK {
		t.Fatalf("fresh token: HTTP %d %s", r.status, r.body)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	r := f.do(http.MethodGet, limits, nil)
	if r.status != http.StatusUnauthorized ||
		strings.TrimSpace(string(r.body)) != `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]` {
		t.Fatalf("expired token: HTTP %d %s", r.status, r.body)
	}

	f.token()
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusOK {
		t.Fatalf("new token: HTTP %d", r.status)
	}
	f.s.ExpireTokens()
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("after ExpireTokens: HTTP %d", r.status)
	}
	f.tok = "00D000000000001!made-up"
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("unknown token: HTTP %d", r.status)
	}
	if st := f.s.Stats(); st.InvalidSession != 3 || st.APICalls != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDailyLimit(t *testing.T) {
	f := newFixture(t, Options{DailyLimit: 2})
	f.token()
	limits := "/services/data/v62.0/limits"
	for i := 1; i <= 2; i++ {
		r := f.do(http.MethodGet, limits, nil)
		if want := fmt.Sprintf("api-usage=%d/2", i); r.status != http.StatusOK || r.header.Get("Sforce-Limit-Info") != want {
			t.Fatalf("call %d: HTTP %d, Sforce-Limit-Info %q, want %q", i, r.status, r.header.Get("Sforce-Limit-Info"), want)
		}
		var body map[string]map[string]int
		r.decode(t, &body)
		if body["DailyApiRequests"]["Max"] != 2 || body["DailyApiRequests"]["Remaining"] != 2-i {
			t.Errorf("limits = %s", r.body)
		}
	}
	r := f.do(http.MethodGet, limits, nil)
	if r.status != http.StatusForbidden || !bytes.Contains(r.body, []byte(`"errorCode":"REQUEST_LIMIT_EXCEEDED"`)) ||
		r.header.Get("Sforce-Limit-Info") != "api-usage=2/2" {
		t.Fatalf("over the limit: HTTP %d %s %q", r.status, r.body, r.header.Get("Sforce-Limit-Info"))
	}
	f.s.SetUsage(0)
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusOK {
		t.Errorf("after SetUsage(0): HTTP %d", r.status)
	}
	if used, limit := f.s.Usage(); used != 1 || limit != 2 {
		t.Errorf("Usage() = %d/%d", used, limit)
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	limits := "/services/data/v62.0/limits"

	f.s.FailNext(2, Fault{})
	for i := range 2 {
		r := f.do(http.MethodGet, limits, nil)
		if r.status != http.StatusServiceUnavailable || !bytes.Contains(r.body, []byte(`"errorCode":"SERVER_UNAVAILABLE"`)) {
			t.Fatalf("fault %d: HTTP %d %s", i, r.status, r.body)
		}
	}
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusOK {
		t.Fatalf("after the faults: HTTP %d", r.status)
	}

	f.s.FailAll(Fault{Status: 500})
	for range 3 {
		r := f.do(http.MethodGet, limits, nil)
		if r.status != http.StatusInternalServerError || !bytes.Contains(r.body, []byte(`"errorCode":"UNKNOWN_EXCEPTION"`)) {
			t.Fatalf("FailAll 500: HTTP %d %s", r.status, r.body)
		}
	}
	f.s.FailAll(Fault{HTML: true})
	r := f.do(http.MethodGet, limits, nil)
	if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !bytes.HasPrefix(r.body, []byte("<html>")) {
		t.Fatalf("HTML fault: HTTP %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	f.s.ClearFaults()
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusOK {
		t.Fatalf("after ClearFaults: HTTP %d", r.status)
	}
	st := f.s.Stats()
	if st.Faults != 6 || st.APICalls != 2 {
		t.Errorf("stats = %+v, want 6 faults and 2 counted calls", st)
	}
}

func TestAdminRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	admin := func(method, path, body string, want int) response {
		t.Helper()
		r := f.do(method, "/__standin"+path, body)
		if r.status != want {
			t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, r.status, r.body, want)
		}
		return r
	}
	limits := "/services/data/v62.0/limits"

	admin(http.MethodPost, "/faults", `{"mode":"next","count":1,"status":500}`, http.StatusNoContent)
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusInternalServerError {
		t.Errorf("after POST /faults: HTTP %d", r.status)
	}
	admin(http.MethodPost, "/faults", `{"mode":"all","html":true}`, http.StatusNoContent)
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("after POST /faults all: HTTP %d", r.status)
	}
	admin(http.MethodDelete, "/faults", "", http.StatusNoContent)
	admin(http.MethodPost, "/faults", `{"mode":"sometimes"}`, http.StatusBadRequest)

	admin(http.MethodPut, "/latency", `{"latency":"1ms"}`, http.StatusNoContent)
	admin(http.MethodPut, "/latency", `{"latency":"soon"}`, http.StatusBadRequest)
	admin(http.MethodPut, "/latency", `{"latency":"0s"}`, http.StatusNoContent)

	r := admin(http.MethodPost, "/rules", `{"object":"Chat_Conversation__c","field":"Channel__c","contains":"X","statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","message":"bad value"}`, http.StatusCreated)
	var rule map[string]int
	r.decode(t, &rule)
	r = f.do(http.MethodPatch, convPath, collection("Chat_Conversation__c", false, map[string]any{"Conversation_Key__c": "c1", "Channel__c": "X"}))
	if !bytes.Contains(r.body, []byte(`"statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION"`)) {
		t.Errorf("rule not applied: %s", r.body)
	}
	admin(http.MethodDelete, fmt.Sprintf("/rules/%d", rule["id"]), "", http.StatusNoContent)
	admin(http.MethodDelete, fmt.Sprintf("/rules/%d", rule["id"]), "", http.StatusNotFound)
	f.do(http.MethodPatch, convPath, collection("Chat_Conversation__c", false, map[string]any{"Conversation_Key__c": "c1", "Channel__c": "X"}))

	r = admin(http.MethodGet, "/records/Chat_Conversation__c", "", http.StatusOK)
	var recs []Record
	r.decode(t, &recs)
	if len(recs) != 1 || recs[0].Fields["Channel__c"] != "X" || len(recs[0].ID) != 18 {
		t.Errorf("records = %s", r.body)
	}
	admin(http.MethodGet, "/records/Nope__c", "", http.StatusNotFound)

	admin(http.MethodPut, "/usage", `{"used":15000}`, http.StatusNoContent)
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusForbidden {
		t.Errorf("after PUT /usage: HTTP %d", r.status)
	}
	r = admin(http.MethodGet, "/stats", "", http.StatusOK)
	var st Stats
	r.decode(t, &st)
	if st.APIUsage != 15000 || st.Faults != 2 || st.LimitExceeded != 1 || st.CollectionUpserts != 2 {
		t.Errorf("stats = %s", r.body)
	}

	admin(http.MethodPost, "/expire-tokens", "", http.StatusNoContent)
	if r := f.do(http.MethodGet, limits, nil); r.status != http.StatusUnauthorized {
		t.Errorf("after expire-tokens: HTTP %d", r.status)
	}
	admin(http.MethodPost, "/reset", "", http.StatusNoContent)
	if st := f.s.Stats(); st != (Stats{DailyLimit: DefaultDailyLimit}) || len(f.s.Records("Chat_Conversation__c")) != 0 {
		t.Errorf("after reset: %+v", st)
	}
}

func TestConcurrentUpsertsNeverDuplicate(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.token()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(collection("Chat_Conversation__c", false,
				map[string]any{"Conversation_Key__c": "shared", "Channel__c": fmt.Sprint(g)},
				map[string]any{"Conversation_Key__c": fmt.Sprint("own-", g)},
			))
			req, _ := http.NewRequest(http.MethodPatch, f.ts.URL+convPath, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := f.ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HTTP %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	recs := f.s.Records("Chat_Conversation__c")
	if len(recs) != 9 {
		t.Fatalf("%d records, want 9 (one shared, eight own)", len(recs))
	}
	shared := 0
	for _, r := range recs {
		if r.Fields["Conversation_Key__c"] == "shared" {
			shared++
			if r.UpdateCount != 7 {
				t.Errorf("shared record updated %d times, want 7", r.UpdateCount)
			}
		}
	}
	if shared != 1 {
		t.Errorf("%d shared records", shared)
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []struct {
		opts  Options
		field string
	}{
		{Options{OrgID: "001000000000001AAA"}, "OrgID"},
		{Options{UserID: "x"}, "UserID"},
		{Options{TokenLifetime: -1}, "TokenLifetime"},
		{Options{DailyLimit: -1}, "DailyLimit"},
		{Options{JWTPublicKeyPEM: []byte("nope")}, "JWTPublicKeyPEM"},
		{Options{Objects: []Object{{Name: "A__c", ExternalID: "K__c", Required: []string{"Missing__c"}}}}, "Required"},
		{Options{Objects: []Object{{Name: "A__c", ExternalID: "K__c", Lookups: []Lookup{{Field: "P__c", Relationship: "P__r", Object: "Nope__c"}}}}}, "unknown object"},
	}
	for _, tc := range bad {
		err := tc.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", tc.opts, err, tc.field)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
}

func TestIDSuffix(t *testing.T) {
	// A known pair: the 15- and 18-character forms of the same id.
	if got := idSuffix("001A0000006Vm9r"); got != "IAC" {
		t.Errorf("idSuffix = %q, want IAC", got)
	}
}
