package twilio

import (
	"testing"

	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// FuzzParse checks that Parse never panics, that every error wraps
// platform.ErrMalformed and that every event it returns is consistent.
func FuzzParse(f *testing.F) {
	platformtest.FuzzSeeds(f, "*.form")
	f.Add(InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "MM1", From: "whatsapp:+1", To: "whatsapp:+2",
		Media: []Media{{URL: "u", ContentType: "image/png"}, {URL: "v", ContentType: "x"}}}))
	f.Add(StatusBody(Status{AccountSID: testAccountSID, MessageSID: "SM1", To: "+1", Status: "failed", ErrorCode: 21610}))
	for _, s := range []string{
		``, `=`, `&&`, `MessageSid=`, `MessageSid=SM1`, `MessageSid=SM1&From=`, `MessageSid=SM1&From=a&NumMedia=99`,
		`MessageSid=SM1&From=a&NumMedia=2&MediaUrl1=u`, `MessageSid=SM1&MessageStatus=&To=x`, `CallSid=CA1`,
		`MessageSid=SM1&From=a&Latitude=&Longitude=1&OptOutType=stop`, `{"MessageSid":"SM1"}`,
	} {
		f.Add([]byte(s))
	}
	a, err := New(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
