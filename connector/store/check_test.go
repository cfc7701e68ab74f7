package store

import (
	"slices"
	"testing"
	"time"
)

func TestPageSize(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, 100}, {-3, 100}, {7, 7}, {MaxPage, MaxPage}, {MaxPage + 1, MaxPage}} {
		if got := PageSize(c.in, 100); got != c.want {
			t.Errorf("PageSize(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestNormalizeTags(t *testing.T) {
	got, err := NormalizeTags([]string{"vip", "b2b", "vip"})
	if err != nil || !slices.Equal(got, []string{"b2b", "vip"}) {
		t.Errorf("NormalizeTags = %v, %v; want [b2b vip]", got, err)
	}
	if _, err := NormalizeTags([]string{"ok", "  "}); err == nil {
		t.Error("a blank tag was accepted")
	}
}

func TestCheckNewTokenAndNativeBlock(t *testing.T) {
	now := time.Now()
	good := APIToken{Tenant: "acme", Name: "alice", Role: RoleAgent, Hash: "h", CreatedAt: now}
	if err := CheckNewToken(good); err != nil {
		t.Errorf("a valid token was refused: %v", err)
	}
	for name, tok := range map[string]APIToken{
		"operator with a tenant": {Tenant: "acme", Name: "op", Role: RoleOperator, Hash: "h", CreatedAt: now},
		"agent without a tenant": {Name: "a", Role: RoleAgent, Hash: "h", CreatedAt: now},
		"unknown role":           {Tenant: "acme", Name: "a", Role: "root", Hash: "h", CreatedAt: now},
		"revoked":                {Tenant: "acme", Name: "a", Role: RoleAdmin, Hash: "h", CreatedAt: now, RevokedAt: now},
		"no hash":                {Tenant: "acme", Name: "a", Role: RoleAdmin, CreatedAt: now},
	} {
		if CheckNewToken(tok) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := CheckNativeBlock(NativeBlock{Want: "block", Status: NativePending, Attempts: 1}); err != nil {
		t.Errorf("a valid native block was refused: %v", err)
	}
	if CheckNativeBlock(NativeBlock{Want: "toggle"}) == nil || CheckNativeBlock(NativeBlock{Status: "done"}) == nil {
		t.Error("an unknown want or status was accepted")
	}
}
