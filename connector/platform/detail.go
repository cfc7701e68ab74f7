package platform

// MaxDetail bounds Event.Detail and the platform-provided text that
// adapters quote in error messages.
const MaxDetail = 300

// Ignored returns a KindIgnored event whose Detail is detail, clipped to
// MaxDetail.
func Ignored(detail string) Event {
	return Event{Kind: KindIgnored, Detail: Clip(detail, MaxDetail)}
}

// JoinDetail joins two detail fragments with "; ", skipping empty ones.
func JoinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
