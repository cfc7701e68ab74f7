package connector

import (
	"github.com/chatsync/sfconnector/connector/preflight"
	"github.com/chatsync/sfconnector/connector/registry"
)

// PreflightClients returns the Salesforce client of each org of the
// registry (by the org id's first 15 characters) as the org check uses it.
func PreflightClients(reg *registry.Registry) map[string]preflight.Client {
	out := map[string]preflight.Client{}
	for _, id := range reg.Tenants() {
		org, ok := reg.Org(id)
		if !ok {
			continue
		}
		if c, ok := org.Client.(preflight.Client); ok {
			out[org.Key] = c
		}
	}
	return out
}
