package config

import (
	"testing"

	"github.com/chatsync/sfconnector/statemachine"
)

func TestOrgKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"00D5g00000ABCDEEAU", "00D5g00000ABCDE"},
		{"00D5g00000ABCDE", "00D5g00000ABCDE"},
		{"00D1", "00D1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := OrgKey(tt.in); got != tt.want {
			t.Errorf("OrgKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if OrgKey("00D5g00000abcdeEAU") == OrgKey("00D5g00000ABCDEEAU") {
		t.Error("org keys differing in case compare equal; they are case-sensitive")
	}
}

func TestExcluded(t *testing.T) {
	tests := []struct {
		name   string
		states []statemachine.State
		want   statemachine.Set
	}{
		{"nil is the default", nil, statemachine.NewSet(statemachine.AutoBot)},
		{"empty excludes nothing", []statemachine.State{}, 0},
		{"listed", []statemachine.State{statemachine.Blocked, statemachine.Closed}, statemachine.NewSet(statemachine.Blocked, statemachine.Closed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := Tenant{Salesforce: Salesforce{ExcludedStates: tt.states}}
			if got := tn.Excluded(); got != tt.want {
				t.Errorf("Excluded() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTenantAndChannelLookup(t *testing.T) {
	c := validConfig(t)
	tn, ok := c.Tenant("globex_2")
	if !ok || tn.ID != "globex_2" {
		t.Fatalf("Tenant(globex_2) = %v, %v", tn, ok)
	}
	// The pointer is into the configuration, not a copy.
	if tn != &c.Tenants[1] {
		t.Error("Tenant returned a copy")
	}
	if _, ok := c.Tenant("nobody"); ok {
		t.Error("Tenant(nobody) found a tenant")
	}

	acme, _ := c.Tenant("acme")
	ch, ok := acme.Channel("web")
	if !ok || ch.Platform != PlatformWebChat || ch != &acme.Channels[1] {
		t.Fatalf("Channel(web) = %+v, %v", ch, ok)
	}
	if _, ok := acme.Channel("wa2"); ok {
		t.Error("Channel(wa2) found a channel")
	}
	if _, ok := tn.Channel("wa"); ok {
		t.Error("a channel of another tenant was found")
	}
}
