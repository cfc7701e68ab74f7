package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/webhook"
)

// quarantineCmd lists the quarantined events, or replays them through
// ingestion with the channels as the configuration file has them now.
func quarantineCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return errors.New("usage: connector quarantine list|replay -config FILE ...")
	}
	fs, path := configFlags("quarantine "+args[0], stderr)
	tenant := fs.String("tenant", "", "only this tenant's events")
	channel := fs.String("channel", "", "only this channel's events (list)")
	limit := fs.Int("limit", 100, "most events to list")
	ids := fs.String("id", "", "comma-separated quarantined event ids to replay")
	all := fs.Bool("all", false, "replay every quarantined event (of -tenant)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, st, log, err := openStore(context.Background(), *path, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := log.WithContext(context.Background())
	if args[0] == "list" {
		qs, err := st.ListQuarantine(ctx, store.QuarantineFilter{Tenant: *tenant, Channel: *channel, Limit: *limit})
		if err != nil {
			return err
		}
		if len(qs) == 0 {
			fmt.Fprintln(stdout, "no quarantined events")
			return nil
		}
		fmt.Fprintf(stdout, "%-8s %-12s %-12s %-10s %-20s %s\n", "ID", "TENANT", "CHANNEL", "PLATFORM", "RECEIVED", "REASON")
		for _, q := range qs {
			fmt.Fprintf(stdout, "%-8d %-12s %-12s %-10s %-20s %s\n", q.ID, q.Tenant, q.Channel, q.Platform,
				q.ReceivedAt.UTC().Format(time.DateTime), q.Reason)
		}
		return nil
	}
	list, err := parseIDs(*ids)
	if err != nil {
		return fmt.Errorf("quarantine replay: %w", err)
	}
	if *all == (len(list) > 0) || (*tenant != "" && !*all) {
		return errors.New("quarantine replay: give either -id or -all (with an optional -tenant)")
	}
	reg, err := registry.Build(cfg, registry.Options{Logger: log, PublicBaseURL: cfg.Server.PublicBaseURL})
	if err != nil {
		return err
	}
	h := &webhook.Handler{Registry: reg, Ingester: &ingest.Ingester{Store: st}, MaxBodyBytes: cfg.Server.MaxBodyBytes, Metrics: metrics.New()}
	var results []webhook.ReplayOutcome
	if *all {
		results, err = h.ReplayAll(ctx, store.QuarantineFilter{Tenant: *tenant})
	} else {
		results, err = h.ReplayIDs(ctx, list)
	}
	if err == nil && len(results) == 0 {
		fmt.Fprintln(stdout, "no quarantined events to replay")
	}
	for _, o := range results {
		if o.Replayed {
			fmt.Fprintf(stdout, "%d replayed: %d message(s) stored, %d duplicate(s)\n", o.ID, o.Stored, o.Duplicates)
		} else {
			fmt.Fprintf(stdout, "%d still quarantined: %s\n", o.ID, o.Reason)
		}
	}
	// The last replies to contacts who opted out in a replayed message.
	wctx, cancel := context.WithTimeout(ctx, webhook.DefaultReplyTimeout+time.Second)
	defer cancel()
	return errors.Join(err, h.Wait(wctx))
}
