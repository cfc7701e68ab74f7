package registry_test

import (
	"slices"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/statemachine"
)

func TestChannelIngestCarriesExclusionsSourceAndOptOut(t *testing.T) {
	tenant := func(id, org string, excluded []statemachine.State, optOut config.OptOut) config.Tenant {
		return config.Tenant{ID: id,
			Salesforce: config.Salesforce{OrgID: org, LoginURL: "http://127.0.0.1", ExcludedStates: excluded,
				Auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "x", ClientSecret: config.NewSecret("y")}},
			OptOut:   optOut,
			Channels: []config.Channel{{ID: "web", Platform: config.PlatformWebChat, WebChat: &config.WebChat{Secret: config.NewSecret("s")}}}}
	}
	cfg := &config.Config{Tenants: []config.Tenant{
		tenant("set", "00D000000000001", []statemachine.State{statemachine.Blocked}, config.OptOut{Keywords: []string{"STOP"}, LastReply: "bye"}),
		tenant("unset", "00D000000000002", nil, config.OptOut{}),
		tenant("empty", "00D000000000003", []statemachine.State{}, config.OptOut{}),
	}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Build(cfg, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant     string
		excluded   statemachine.Set
		fromConfig bool
		keywords   []string
	}{
		{"set", statemachine.NewSet(statemachine.Blocked), true, []string{"STOP"}},
		{"unset", statemachine.DefaultExcluded(), false, nil},
		{"empty", 0, true, nil},
	} {
		ch, ok := reg.Channel(tc.tenant, "web")
		if !ok {
			t.Fatalf("%s: no channel", tc.tenant)
		}
		got := ch.Ingest()
		if got.Excluded != tc.excluded || got.ExcludedFromConfig != tc.fromConfig || !slices.Equal(got.OptOutKeywords, tc.keywords) {
			t.Errorf("%s: Ingest() = %+v, want excluded %v from config %v keywords %v", tc.tenant, got, tc.excluded, tc.fromConfig, tc.keywords)
		}
	}
}
