package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chatsync/sfconnector/connector/bench"
)

// setFlags collects repeated -set flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// benchCmd runs `connector bench`: the connector under load against the
// Salesforce stand-in (see package bench).
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	var sets setFlags
	fs.StringVar(&o.Store, "store", "sqlite", "store driver: sqlite (a file in the run's folder) or postgres (a fresh database on -dsn's server)")
	fs.StringVar(&o.DSN, "dsn", "", "PostgreSQL connection string of the server to create the run's database on")
	fs.IntVar(&o.Replicas, "replicas", 1, "connector processes (more than one needs -store postgres)")
	fs.DurationVar(&o.Latency, "latency", bench.DefaultLatency, "the Salesforce stand-in's delay of every call (0: none)")
	fs.Float64Var(&o.FaultRate, "fault-rate", 0, "share of Salesforce calls answered 503 SERVER_UNAVAILABLE, in [0, 1)")
	fs.IntVar(&o.Contacts, "contacts", bench.DefaultContacts, "distinct WhatsApp contacts")
	fs.IntVar(&o.Messages, "messages", bench.DefaultMessages, "text messages")
	fs.IntVar(&o.PerDelivery, "per-delivery", 1, "messages a delivery carries, from as many consecutive contacts")
	fs.Float64Var(&o.Rate, "rate", 0, "deliveries per second (0: as fast as possible)")
	fs.IntVar(&o.Concurrency, "concurrency", bench.DefaultConcurrency, "concurrent senders")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", bench.DefaultDrainTimeout, "longest wait after the last acknowledgement for every message to reach Salesforce")
	fs.DurationVar(&o.KillAfter, "kill-after", 0, "SIGKILL the first connector process this long after the load starts, and restart it (0: never)")
	fs.Var(&sets, "set", "extra configuration key, section.key=value (server, dispatcher, timers, log); repeatable")
	fs.BoolVar(&o.Keep, "keep", false, "keep the run's folder (configuration, logs, SQLite file)")
	progress := fs.Bool("progress", false, "show the progress line even when stderr is not a terminal")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	o.Set = sets
	o.Terminal = isTerminal(stderr)
	if o.Terminal || *progress {
		o.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if rep != nil {
		if *asJSON {
			if jerr := rep.WriteJSON(stdout); jerr != nil {
				err = errors.Join(err, jerr)
			}
		} else {
			rep.Print(stdout)
		}
	}
	return err
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
