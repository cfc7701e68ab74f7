package standin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatsync/sfconnector/salesforce"
)

// jwtBearerGrant is the grant_type of the OAuth 2.0 JWT bearer flow.
const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Server is the Salesforce stand-in. Build it with New; it is an
// http.Handler and is safe for concurrent use.
type Server struct {
	opts    Options
	schema  map[string]*objectSchema
	pubKey  *rsa.PublicKey
	signKey []byte
	mux     *http.ServeMux
	now     func() time.Time

	mu      sync.Mutex
	tokens  map[string]time.Time // access token -> issue time
	tables  map[string]*table    // canonical object name -> records
	idSeq   map[string]int64     // canonical object name -> last id number
	created int64                // last CreatedSeq handed out
	usage   int
	faults  faultState
	latency time.Duration
	rules   map[int]RejectRule
	ruleSeq int
	stats   Stats
	// The additions of describe.go, query.go and agent.go.
	metadata  map[string]salesforce.Object // lower-cased object name -> metadata
	users     map[string]string            // user id -> name
	cursors   map[string]*cursor           // query locator -> the rest of a result
	cursorSeq int64
	// The Files of files.go: each ContentVersion's bytes, and their sum
	// (for Options.FileStorageLimit).
	files     map[string]*storedFile
	fileBytes int64
}

// New returns a stand-in configured by opts (see Options for the defaults).
// It panics if opts do not pass Options.Validate: options are written by
// tests and tools, and a bad one is a programming error.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	schema, err := compileSchema(withFileObjects(opts.Objects, opts.FileKeyField))
	if err != nil {
		panic(err)
	}
	s := &Server{
		opts:   opts,
		schema: schema,
		now:    time.Now,
		tokens: map[string]time.Time{},
		rules:  map[int]RejectRule{},
	}
	if len(opts.JWTPublicKeyPEM) > 0 {
		s.pubKey, _ = parsePublicKey(opts.JWTPublicKeyPEM) // checked by Validate
	}
	s.signKey = []byte(opts.ClientSecret)
	if len(s.signKey) == 0 {
		s.signKey = make([]byte, 32)
		_, _ = rand.Read(s.signKey) // crypto/rand.Read never fails
	}
	s.resetData()
	s.initSync()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/oauth2/token", s.handleToken)
	mux.HandleFunc("GET /id/{org}/{user}", s.handleIdentity)
	mux.HandleFunc("/services/data/", s.handleData)
	mux.HandleFunc("GET /services/data/{$}", s.handleVersions)
	s.adminRoutes(mux)
	s.fileRoutes(mux)
	s.agentRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	})
	s.mux = mux
	return s
}

// ServeHTTP serves the Salesforce routes listed in the package doc and the
// admin routes:
//
//	POST   /__standin/faults        {"mode":"next"|"all","count":N,"status":503,"errorCode":"","message":"","html":false}
//	DELETE /__standin/faults        stop failing
//	PUT    /__standin/latency       {"latency":"250ms"}
//	POST   /__standin/expire-tokens
//	POST   /__standin/rules         {"object":"Chat_Message__c","field":"Body__c","contains":"#reject","statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","message":"..."} -> {"id":1}
//	DELETE /__standin/rules/{id}    lift one rule
//	DELETE /__standin/rules         lift every rule
//	PUT    /__standin/usage         {"used":N}
//	POST   /__standin/reset
//	GET    /__standin/records/{object}
//	GET    /__standin/stats
//	GET    /__standin/files         every File with its bytes and links
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// OrgID returns the org id the stand-in issues tokens for.
func (s *Server) OrgID() string { return s.opts.OrgID }

// baseURL is the stand-in's own URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// sfError is one element of a Salesforce REST error body.
type sfError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// writeJSON writes v as the JSON body with the status code.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// writeErrors writes Salesforce's error array with one error.
func writeErrors(w http.ResponseWriter, status int, code, message string, fields ...string) {
	writeJSON(w, status, []sfError{{Message: message, ErrorCode: code, Fields: fields}})
}

// oauthError writes the token endpoint's error body.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// handleToken is POST /services/oauth2/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	fail := func(code, description string) {
		s.mu.Lock()
		s.stats.TokenFailures++
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, code, description)
	}
	if err := r.ParseForm(); err != nil {
		fail("invalid_request", "malformed request body")
		return
	}
	base := baseURL(r)
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id == "" || (s.opts.ClientID != "" && id != s.opts.ClientID) {
			fail("invalid_client_id", "client identifier invalid")
			return
		}
		if secret == "" || (s.opts.ClientSecret != "" && !hmac.Equal([]byte(secret), []byte(s.opts.ClientSecret))) {
			fail("invalid_client", "invalid client credentials")
			return
		}
	case jwtBearerGrant:
		if code, desc := s.checkAssertion(r.PostForm.Get("assertion"), base); code != "" {
			fail(code, desc)
			return
		}
	default:
		fail("unsupported_grant_type", "grant type not supported")
		return
	}

	issued := s.now()
	token := s.newToken(issued)
	identity := fmt.Sprintf("%s/id/%s/%s", base, s.opts.OrgID, s.opts.UserID)
	issuedAt := strconv.FormatInt(issued.UnixMilli(), 10)
	mac := hmac.New(sha256.New, s.signKey)
	mac.Write([]byte(identity + issuedAt))
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": token,
		"signature":    base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"scope":        "api",
		"instance_url": base,
		"id":           identity,
		"token_type":   "Bearer",
		"issued_at":    issuedAt,
	})
}

// newToken issues and records an access token shaped like a Salesforce
// session id: the 15-character org id, '!', and random characters.
func (s *Server) newToken(issued time.Time) string {
	buf := make([]byte, 36)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	token := s.opts.OrgID[:15] + "!" + base64.RawURLEncoding.EncodeToString(buf)
	s.mu.Lock()
	s.tokens[token] = issued
	s.stats.TokensIssued++
	s.mu.Unlock()
	return token
}

// checkAssertion checks a JWT bearer assertion; it returns an OAuth error
// code and description, or "" when the assertion is accepted.
func (s *Server) checkAssertion(assertion, base string) (code, description string) {
	if assertion == "" {
		return "invalid_request", "assertion required"
	}
	claims := jwt.MapClaims{}
	if s.pubKey != nil {
		_, err := jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return s.pubKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithLeeway(time.Minute))
		if err != nil {
			if strings.Contains(err.Error(), "expired") {
				return "invalid_grant", "expired authorization code"
			}
			return "invalid_grant", "invalid assertion"
		}
	} else {
		if _, _, err := jwt.NewParser().ParseUnverified(assertion, claims); err != nil {
			return "invalid_grant", "invalid assertion"
		}
		exp, err := claims.GetExpirationTime()
		if err != nil || exp == nil {
			return "invalid_grant", "invalid assertion"
		}
		if s.now().After(exp.Add(time.Minute)) {
			return "invalid_grant", "expired authorization code"
		}
	}
	iss, _ := claims.GetIssuer()
	if iss == "" || (s.opts.ClientID != "" && iss != s.opts.ClientID) {
		return "invalid_client_id", "client identifier invalid"
	}
	aud, _ := claims.GetAudience()
	if !audienceOK(aud, base) {
		return "invalid_grant", "audience is invalid"
	}
	sub, _ := claims.GetSubject()
	if sub == "" || (s.opts.Username != "" && sub != s.opts.Username) {
		return "invalid_grant", "user hasn't approved this consumer"
	}
	return "", ""
}

// audienceOK reports whether one of the audiences is a login URL the
// stand-in answers for.
func audienceOK(auds []string, base string) bool {
	for _, a := range auds {
		a = strings.TrimRight(a, "/")
		switch a {
		case base, "https://login.salesforce.com", "https://test.salesforce.com":
			return true
		}
	}
	return false
}

// authorized reports whether the request carries a live token.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	var token string
	switch {
	case strings.HasPrefix(h, "Bearer "):
		token = strings.TrimPrefix(h, "Bearer ")
	case strings.HasPrefix(h, "OAuth "):
		token = strings.TrimPrefix(h, "OAuth ")
	default:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	issued, ok := s.tokens[token]
	if !ok {
		return false
	}
	if s.opts.TokenLifetime > 0 && s.now().Sub(issued) >= s.opts.TokenLifetime {
		delete(s.tokens, token)
		return false
	}
	return true
}

// handleIdentity is GET /id/{org}/{user}.
func (s *Server) handleIdentity(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.IdentityCalls++
	s.mu.Unlock()
	if !s.authorized(r) {
		writeErrors(w, http.StatusForbidden, "Bad_OAuth_Token", "Bad_OAuth_Token")
		return
	}
	org, user := r.PathValue("org"), r.PathValue("user")
	if (org != s.opts.OrgID && org != s.opts.OrgID[:15]) || (user != s.opts.UserID && user != s.opts.UserID[:15]) {
		writeErrors(w, http.StatusNotFound, "Bad_Id", "Bad_Id")
		return
	}
	base := baseURL(r)
	username := s.opts.Username
	if username == "" {
		username = "integration@standin.example"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":              fmt.Sprintf("%s/id/%s/%s", base, s.opts.OrgID, s.opts.UserID),
		"asserted_user":   true,
		"user_id":         s.opts.UserID,
		"organization_id": s.opts.OrgID,
		"username":        username,
		"nick_name":       "integration",
		"display_name":    "Integration User",
		"active":          true,
		"user_type":       "STANDARD",
		"language":        "en_US",
		"locale":          "en_US",
		"utcOffset":       0,
		"urls": map[string]string{
			"rest":     base + "/services/data/v{version}/",
			"sobjects": base + "/services/data/v{version}/sobjects/",
		},
	})
}
