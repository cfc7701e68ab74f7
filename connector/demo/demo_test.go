package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/store"
)

// TestRunReachesSalesforce runs the README's first command's job end to
// end and checks its summary: pushed messages are in the stand-in once and
// in order, the bot channel's are held back, the rejected one is dead with
// Salesforce's error, and the forged delivery was refused.
func TestRunReachesSalesforce(t *testing.T) {
	var progress bytes.Buffer
	sum, err := Run(context.Background(), Options{Dir: t.TempDir(), Contacts: 4, MessagesPerContact: 3, Logger: zerolog.Nop(), Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if !sum.OK() {
		var out bytes.Buffer
		sum.Print(&out)
		t.Fatalf("checks failed:\n%s", out.String())
	}
	// 4 contacts × (3 texts + image + reaction) + 4 web chat × 2 = 28
	// pushed; one text is rejected by the validation rule.
	if got := sum.Stored[store.Pushed]; got != 4*5-1+8 {
		t.Errorf("pushed %d", got)
	}
	if sum.Stored[store.Excluded] != 6 || sum.Stored[store.Dead] != 1 {
		t.Errorf("excluded %d, dead %d", sum.Stored[store.Excluded], sum.Stored[store.Dead])
	}
	if len(sum.Dead) != 1 || !strings.Contains(sum.Dead[0].LastError, "FIELD_CUSTOM_VALIDATION_EXCEPTION") {
		t.Errorf("dead %+v", sum.Dead)
	}
	var out bytes.Buffer
	sum.Print(&out)
	for _, want := range []string{"reached Salesforce", "held back, state excluded  6", "Cancel_Via_Desk", "FAILED"} {
		if has := strings.Contains(out.String(), want); has == (want == "FAILED") {
			t.Errorf("summary: %q present=%v\n%s", want, has, out.String())
		}
	}
}
