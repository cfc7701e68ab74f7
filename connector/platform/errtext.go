package platform

import (
	"fmt"
	"net/http"
	"strings"
)

// TransientStatus reports whether an answer with this HTTP status is
// worth retrying later: 408, 429 and 5xx.
func TransientStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// ErrorText builds the message of an adapter's refusal error the same way
// for every platform: "<api>: <what> (HTTP <status>): <text>: <text>
// (<note>) [<tag> <value>]", each part only when it has something to say,
// the platform's texts clipped.
type ErrorText struct {
	b strings.Builder
}

// NewErrorText starts the message of api ("twilio REST API") with what
// the refusal is, such as "error 21610".
func NewErrorText(api, what string) *ErrorText {
	t := &ErrorText{}
	t.b.WriteString(api + ": " + what)
	return t
}

// Code returns "error <code>", or "error" when code is 0.
func Code(code int) string {
	if code == 0 {
		return "error"
	}
	return fmt.Sprintf("error %d", code)
}

// HTTP adds " (HTTP <status>)" unless status is 0 or one of skip (a status
// the message says already).
func (t *ErrorText) HTTP(status int, skip ...int) *ErrorText {
	if status == 0 {
		return t
	}
	for _, s := range skip {
		if s == status {
			return t
		}
	}
	fmt.Fprintf(&t.b, " (HTTP %d)", status)
	return t
}

// Text adds ": <text>", clipped, unless text is empty or one of same (a
// text the message holds already).
func (t *ErrorText) Text(text string, same ...string) *ErrorText {
	if text == "" {
		return t
	}
	for _, s := range same {
		if s == text {
			return t
		}
	}
	t.b.WriteString(": " + Clip(text, MaxDetail))
	return t
}

// Note adds " (<note>)" when note is not empty.
func (t *ErrorText) Note(note string) *ErrorText {
	if note != "" {
		t.b.WriteString(" (" + Clip(note, MaxDetail) + ")")
	}
	return t
}

// Tag adds " [<name> <value>]" when value is not empty: a support
// reference such as a trace id.
func (t *ErrorText) Tag(name, value string) *ErrorText {
	if value != "" {
		t.b.WriteString(" [" + name + " " + Clip(value, 80) + "]")
	}
	return t
}

// String returns the message.
func (t *ErrorText) String() string { return t.b.String() }
