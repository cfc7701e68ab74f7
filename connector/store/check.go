package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// This file holds the checks every driver makes before it writes, so that
// the drivers refuse the same values with the same words.

// MaxPage caps the page size of ListConversations and ListContacts.
const MaxPage = 1000

// PageSize returns the page size for a filter's Limit: def for 0 (or
// less), at most MaxPage.
func PageSize(limit, def int) int {
	switch {
	case limit <= 0:
		return def
	case limit > MaxPage:
		return MaxPage
	}
	return limit
}

// CheckNativeBlock refuses a native block whose Want or Status is not one
// the store knows, or whose attempts are negative.
func CheckNativeBlock(nb NativeBlock) error {
	switch nb.Want {
	case "", "block", "unblock":
	default:
		return fmt.Errorf("want %q is not block, unblock or empty", nb.Want)
	}
	switch nb.Status {
	case NativeNone, NativeApplied, NativePending, NativeFailed, NativeUnsupported:
	default:
		return fmt.Errorf("status %q is not a native block status", nb.Status)
	}
	if nb.Attempts < 0 {
		return fmt.Errorf("attempts %d is negative", nb.Attempts)
	}
	return nil
}

// NormalizeTags checks and deduplicates tags, sorted: a tag that is empty
// or blank is an error.
func NormalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if strings.TrimSpace(t) == "" {
			return nil, errors.New("a tag is empty")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CheckNewToken refuses a token the store would not keep: a new token
// needs a name, a hash, a creation time and a role that fits its tenant
// (the operator's role exactly when it has no tenant), and is not revoked.
func CheckNewToken(t APIToken) error {
	if t.Name == "" || t.Hash == "" {
		return errors.New("the name and hash are required")
	}
	if t.CreatedAt.IsZero() {
		return errors.New("CreatedAt is required")
	}
	if !t.RevokedAt.IsZero() {
		return errors.New("a new token can not be revoked")
	}
	switch t.Role {
	case RoleAgent, RoleAdmin:
		if t.Tenant == "" {
			return fmt.Errorf("a token of role %s needs a tenant", t.Role)
		}
	case RoleOperator:
		if t.Tenant != "" {
			return fmt.Errorf("an operator token has no tenant (got %q)", t.Tenant)
		}
	default:
		return fmt.Errorf("role %q is not agent, admin or operator", t.Role)
	}
	return nil
}
