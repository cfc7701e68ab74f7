package instagram

import (
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// Parse turns a verified webhook body into events in delivery order (see
// the package documentation for the mapping). With Config.AccountID set,
// entries for another account become KindIgnored events. The request is
// not used.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	t := meta.Target{Platform: PlatformName, Object: Object}
	if a.accountID != "" {
		// Meta names the Instagram account in entry.id; the linked Page's
		// id is accepted too.
		t.AccountIDs = []string{a.accountID, a.pageID}
	}
	return meta.ParseMessaging(body, t)
}
