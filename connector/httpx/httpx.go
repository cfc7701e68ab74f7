// Package httpx holds the small HTTP helpers the connector's handlers
// share: JSON answers, the error body, and request ids with a request-scoped
// logger.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/logging"
)

// ErrorBody is the JSON body of every error answer:
// {"error": {"code": "bad_signature", "message": "..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for people and for programs.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// The status line is gone already: a failed write means the client left.
	_ = enc.Encode(v)
}

// WriteError writes an ErrorBody with status. The request's line in the
// log (Middleware) carries the code and the message as error_code and
// reason: a refused request is logged with why, not with its status only.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	zerolog.Ctx(r.Context()).UpdateContext(func(c zerolog.Context) zerolog.Context {
		return c.Str("error_code", code).Str("reason", message)
	})
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message, RequestID: RequestID(r.Context())}})
}

type ctxKey struct{}

type reqInfo struct {
	id string
}

// RequestID returns the request's id, or "".
func RequestID(ctx context.Context) string {
	if v, ok := ctx.Value(ctxKey{}).(reqInfo); ok {
		return v.id
	}
	return ""
}

// newID returns 16 random hex characters.
func newID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return time.Now().UTC().Format("20060102150405.000000000")
	}
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Middleware gives every request an id (the caller's X-Request-Id when it
// is a sane one, else a new one), echoes it in the answer, puts a logger with
// it in the context (zerolog.Ctx) and logs one line per request: method,
// path, status and duration (duration_ms, in milliseconds); never a header
// or a body. A 4xx line is at warn level, a 5xx line at error level, with
// the error's code and reason (WriteError).
func Middleware(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = newID()
		}
		w.Header().Set("X-Request-Id", id)
		l := log.With().Str("request_id", id).Logger()
		ctx := context.WithValue(l.WithContext(r.Context()), ctxKey{}, reqInfo{id: id})
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r.WithContext(ctx))
		lvl := zerolog.InfoLevel
		if sw.status >= 500 {
			lvl = zerolog.ErrorLevel
		} else if sw.status >= 400 {
			lvl = zerolog.WarnLevel
		}
		// The handlers may have added fields (tenant, conversation, actor)
		// to the request's logger: the request's line carries them.
		zerolog.Ctx(ctx).WithLevel(lvl).Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Float64("duration_ms", logging.Millis(time.Since(start))).Msg("http request")
	})
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
