package platform_test

import (
	"errors"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/viber"
)

// TestUserBlockedErrorsNameTheRecipient: each platform's "the user blocked
// the business" refusal is permanent and says so in the shared sentinel,
// which the connector records on the contact.
func TestUserBlockedErrorsNameTheRecipient(t *testing.T) {
	for name, err := range map[string]error{
		"telegram": telegram.ErrUserBlocked, "twilio": twilio.ErrUserBlocked,
		"viber": viber.ErrUserBlocked, "line": line.ErrUserBlocked,
	} {
		if !errors.Is(err, platform.ErrRecipientBlocked) || !errors.Is(err, platform.ErrSendRejected) {
			t.Errorf("%s: %v does not wrap ErrRecipientBlocked and ErrSendRejected", name, err)
		}
	}
	apiErr := &twilio.APIError{HTTPStatus: 400, Code: twilio.CodeUnsubscribed}
	if !errors.Is(apiErr, platform.ErrRecipientBlocked) {
		t.Errorf("twilio error %d does not wrap ErrRecipientBlocked", twilio.CodeUnsubscribed)
	}
}
