package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// FlexString is a JSON string, number or boolean kept as its text, for the
// ids and timestamps platforms send sometimes as strings and sometimes as
// numbers. A number goes through json.Number, never float64, so an id above
// 2^53 loses no digit. null reads as "". It is written as a JSON string.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = FlexString(n)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*f = FlexString(b)
	default:
		return fmt.Errorf("want a string or a number, got %s", Clip(string(b), 40))
	}
	return nil
}

// Clip shortens s to at most n bytes, on a rune boundary, marking the cut:
// for the platform text quoted in details and error messages.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
