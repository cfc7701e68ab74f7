package connector

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/media"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
)

// mediaResolver finds the media fetchers, orgs and limits of the
// registry's tenants.
type mediaResolver struct{ reg *registry.Registry }

func (m mediaResolver) Fetcher(tenant, channel string) (platform.MediaFetcher, bool) {
	ch, ok := m.reg.Channel(tenant, channel)
	if !ok {
		return nil, false
	}
	f, ok := ch.Adapter.(platform.MediaFetcher)
	return f, ok
}

func (m mediaResolver) Org(tenant string) (media.Org, bool) {
	org, ok := m.reg.Org(tenant)
	if !ok {
		return media.Org{}, false
	}
	files, ok := org.Client.(media.Files)
	if !ok {
		return media.Org{}, false
	}
	mm := org.Mapping
	return media.Org{Client: files, MessageObject: mm.Message.Object, FileIDField: mm.Message.MediaFileID, KeyField: mm.FileKey}, true
}

func (m mediaResolver) Limit(tenant string) int64 {
	t, ok := m.reg.Tenant(tenant)
	if !ok || t.Config.MediaMaxBytes <= 0 {
		return config.DefaultMediaMaxBytes
	}
	return t.Config.MediaMaxBytes
}

// SpoolDir is where a SQLite store keeps media bytes: media.spool_dir, or
// "<database file>-media".
func SpoolDir(cfg *config.Config) string {
	if cfg.Media.SpoolDir != "" {
		return cfg.Media.SpoolDir
	}
	return cfg.Store.DSN.Value() + "-media"
}

// newMediaWorker builds the media worker: bytes in the spool directory on
// SQLite, in the database on PostgreSQL.
func newMediaWorker(cfg *config.Config, st store.Store, reg *registry.Registry, log zerolog.Logger, now func() time.Time, owner string) *media.Worker {
	w := &media.Worker{Store: st, Resolver: mediaResolver{reg: reg}, Log: log.With().Str("component", "media").Logger(), Now: now,
		Config: media.Config{
			Workers: cfg.Media.Workers, MaxAttempts: cfg.Media.MaxAttempts,
			BackoffMin: cfg.Dispatcher.BackoffMin, BackoffMax: cfg.Dispatcher.BackoffMax,
			PollInterval: cfg.Media.PollInterval, RequestTimeout: cfg.Media.RequestTimeout,
			MultipartAbove: int(cfg.Media.MultipartAbove), Retention: cfg.Media.Retention,
			LeaseTTL: cfg.Media.LeaseTTL, Owner: owner,
		}}
	if cfg.Store.Driver == config.DriverSQLite {
		sp := &media.Spool{Dir: SpoolDir(cfg)}
		w.Bytes, w.Spool = sp, sp
	} else {
		w.Bytes = media.InStore{Store: st}
	}
	return w
}
