package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/preflight"
	"github.com/chatsync/sfconnector/connector/registry"
)

// errBlocking is returned when an org has a blocking problem: the command
// exits 1 after printing the report.
var errBlocking = errors.New("an org has blocking problems (see above)")

// checkSalesforce logs in to each org of the configuration (or the
// tenant's), checks it against the mapping and prints the report.
func checkSalesforce(args []string, stdout, stderr io.Writer) error {
	fs, path := configFlags("check-salesforce", stderr)
	tenant := fs.String("tenant", "", "check only this tenant's org")
	timeout := fs.Duration("timeout", time.Minute, "bound of each org's check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	targets, err := preflight.Targets(cfg, *tenant)
	if err != nil {
		return err
	}
	reg, err := registry.Build(cfg, registry.Options{Logger: log})
	if err != nil {
		return err
	}
	clients := connector.PreflightClients(reg)
	blocking := false
	for i, t := range targets {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		rep := preflight.Run(ctx, clients[t.Org], t, time.Now().UTC())
		cancel()
		if err := rep.WriteTable(stdout); err != nil {
			return err
		}
		blocking = blocking || rep.Blocking()
	}
	if blocking {
		return errBlocking
	}
	return nil
}
