package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/statemachine"
)

// tenantYAML puts lines into plainYAML's tenant, before its salesforce key.
func tenantYAML(lines string) string {
	return strings.Replace(plainYAML(""), "    salesforce:", lines+"    salesforce:", 1)
}

func TestOptOutAndBlockingFromYAML(t *testing.T) {
	c, err := Parse([]byte(tenantYAML(`    blocking_enabled: false
    opt_out:
      keywords: [STOP, "Do Not Disturb"]
      last_reply: You will not hear from us again.
`)), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tn := c.Tenants[0]
	if tn.Blocking() {
		t.Error("blocking_enabled: false read as enabled")
	}
	want := OptOut{Keywords: []string{"STOP", "Do Not Disturb"}, LastReply: "You will not hear from us again."}
	if len(tn.OptOut.Keywords) != 2 || tn.OptOut.Keywords[0] != want.Keywords[0] || tn.OptOut.Keywords[1] != want.Keywords[1] || tn.OptOut.LastReply != want.LastReply {
		t.Errorf("opt_out = %+v, want %+v", tn.OptOut, want)
	}

	c, err = Parse([]byte(tenantYAML("    blocking_enabled: true\n")), nil)
	if err != nil || !c.Tenants[0].Blocking() {
		t.Fatalf("blocking_enabled: true: %v %v", c, err)
	}
	var zero Tenant
	if !zero.Blocking() {
		t.Error("a tenant without blocking_enabled must default to enabled")
	}
}

func TestOptOutUnknownKeyAndBadKeywordAreRejected(t *testing.T) {
	_, err := Parse([]byte(tenantYAML("    opt_out: {keyword: [STOP]}\n")), nil)
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "keyword") {
		t.Fatalf("a misspelt opt_out key: %v", err)
	}
	_, err = Parse([]byte(tenantYAML("    opt_out: {keywords: [STOP, \"\"]}\n")), nil)
	if err == nil || !strings.Contains(err.Error(), "tenants[0].opt_out.keywords[1]: is empty") {
		t.Fatalf("an empty keyword: %v", err)
	}
}

func TestExcludedConfigured(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       bool
	}{
		{"absent", "", false},
		{"null", "excluded_states:", false},
		{"empty list", "excluded_states: []", true},
		{"default value written out", "excluded_states: [AUTO_BOT]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(plainYAML(""), "      auth:", "      "+tc.line+"\n      auth:", 1)
			c, err := Parse([]byte(data), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Tenants[0].ExcludedConfigured(); got != tc.want {
				t.Errorf("ExcludedConfigured() = %v, want %v", got, tc.want)
			}
			// Defaults applied again do not change the answer.
			c.ApplyDefaults()
			if got := c.Tenants[0].ExcludedConfigured(); got != tc.want {
				t.Errorf("after a second ApplyDefaults: %v, want %v", got, tc.want)
			}
		})
	}
	// A configuration built in code: set means configured.
	tn := Tenant{Salesforce: Salesforce{ExcludedStates: nil}}
	if tn.ExcludedConfigured() {
		t.Error("nil excluded states reported as configured")
	}
	tn.Salesforce.ExcludedStates = []statemachine.State{}
	if !tn.ExcludedConfigured() {
		t.Error("an explicit empty list must count as configured")
	}
}
