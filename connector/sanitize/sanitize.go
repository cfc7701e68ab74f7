// Package sanitize holds the text rules the connector applies where text
// enters it and where it leaves for Salesforce: what a stored string may
// hold (valid UTF-8, no NUL) and how a text too long for a field is cut.
//
// The rules live here once: platform.Normalize applies them to every
// parsed webhook event, the API refuses a NUL with 400 (Check), the
// PostgreSQL store driver applies Text to every text parameter as a last
// guard, and the dispatcher cuts a body to its Salesforce field with
// Truncate.
package sanitize

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNUL is returned by Check for a text holding a NUL character, which
// no store column accepts on PostgreSQL.
var ErrNUL = errors.New("holds a NUL character (\\u0000)")

// ErrInvalidUTF8 is returned by Check for a text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("is not valid UTF-8")

// Text returns s as the connector stores it: every NUL character removed
// and every invalid UTF-8 byte sequence replaced with U+FFFD (the
// replacement character, "�"). Valid text without NUL is returned as it
// is, without copying. The same input always gives the same output, so a
// platform's retry of a delivery still deduplicates.
func Text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Check returns an error wrapping ErrNUL or ErrInvalidUTF8 when s is not
// storable as it is, for inputs that are refused rather than cleaned (the
// API's).
func Check(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return ErrNUL
	}
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	return nil
}

// Length is the length of s as Salesforce counts a text field's
// characters: in UTF-16 code units (a character outside the Basic
// Multilingual Plane, such as most emoji, counts two).
func Length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// TruncatedMarker is the start of what Truncate appends to a cut text;
// the full length in characters follows it.
const TruncatedMarker = "\n[truncated by the connector: the full text of "

// Truncate returns s when Length(s) <= max; otherwise the longest prefix
// of s, cut between characters, that leaves room for a visible marker
// ("[truncated by the connector: the full text of N characters is kept in
// its store]"), followed by the marker: the result's Length is at most
// max. A max too small for the marker gives the prefix alone.
func Truncate(s string, max int) string {
	total := Length(s)
	if total <= max {
		return s
	}
	marker := TruncatedMarker + strconv.Itoa(total) + " characters is kept in its store]"
	room := max - Length(marker)
	if room < 0 {
		marker, room = "", max
	}
	n, cut := 0, 0
	for cut < len(s) {
		r, w := utf8.DecodeRuneInString(s[cut:])
		if n+utf16.RuneLen(r) > room {
			break
		}
		n += utf16.RuneLen(r)
		cut += w
	}
	return s[:cut] + marker
}
