package webhook

import "strconv"

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
