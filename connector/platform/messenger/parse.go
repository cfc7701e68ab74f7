package messenger

import (
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// Parse turns a verified webhook body into events in delivery order (see
// the package documentation for the mapping). Entries for another Page
// than the channel's become KindIgnored events. The request is not used.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	return meta.ParseMessaging(body, meta.Target{
		Platform:   PlatformName,
		Object:     Object,
		AccountIDs: []string{a.pageID},
	})
}
