package store

import "testing"

func TestUnreachableOnPlatform(t *testing.T) {
	for status, want := range map[string]bool{
		"":          false,
		"follow":    false,
		"unblocked": false,
		"blocked":   true,
		"unfollow":  true,
	} {
		if got := (Contact{PlatformStatus: status}).UnreachableOnPlatform(); got != want {
			t.Errorf("UnreachableOnPlatform with status %q = %v, want %v", status, got, want)
		}
	}
}
