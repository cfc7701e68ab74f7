package connector

import (
	"github.com/chatsync/sfconnector/connector/preflight"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/sfsync"
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

// SyncOrgs returns each org of the registry once, with the tenants writing
// to it, for the flow-back of agents' changes. An org whose client can not
// query is left out.
func SyncOrgs(reg *registry.Registry) []sfsync.Org {
	var out []sfsync.Org
	index := map[string]int{}
	for _, id := range reg.Tenants() {
		org, ok := reg.Org(id)
		if !ok {
			continue
		}
		if i, ok := index[org.Key]; ok {
			out[i].Tenants = append(out[i].Tenants, id)
			continue
		}
		c, ok := org.Client.(sfsync.Salesforce)
		if !ok {
			continue
		}
		index[org.Key] = len(out)
		out = append(out, sfsync.Org{Key: org.Key, Client: c, Mapping: org.Mapping.Conversation, Tenants: []string{id}})
	}
	return out
}
