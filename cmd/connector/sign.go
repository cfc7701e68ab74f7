package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/registry"
)

// maxSignBody is the most bytes `connector sign` reads from its input.
const maxSignBody = 16 << 20

// signCmd runs `connector sign`: it prints the signature header a platform
// would send with a body on a configured channel, as "Name: value", ready
// for curl's -H.
func signCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, path := configFlags("sign", stderr)
	tenant := fs.String("tenant", "", "tenant id (default: the only tenant)")
	channel := fs.String("channel", "", "channel id")
	webhookURL := fs.String("url", "", "the webhook URL the platform calls (Twilio signs it); default: server.public_base_url, else http://localhost:PORT of server.listen, + /webhooks/TENANT/CHANNEL")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: connector sign -config FILE [-tenant T] -channel C [-url URL] [BODY]\n\nPrints the signature header of BODY (or of standard input) as \"Name: value\".")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return errors.New("sign: give the body as one argument (quote it) or on standard input")
	}
	if *channel == "" {
		return errors.New("sign: -channel is required")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if *tenant == "" {
		if len(cfg.Tenants) != 1 {
			return fmt.Errorf("sign: -tenant is required: the configuration has %d tenants", len(cfg.Tenants))
		}
		*tenant = cfg.Tenants[0].ID
	}
	t, ok := cfg.Tenant(*tenant)
	if !ok {
		return fmt.Errorf("sign: no tenant %q is configured", *tenant)
	}
	ch, ok := t.Channel(*channel)
	if !ok {
		ids := make([]string, 0, len(t.Channels))
		for _, c := range t.Channels {
			ids = append(ids, c.ID)
		}
		return fmt.Errorf("sign: tenant %s has no channel %q; its channels: %s", t.ID, *channel, strings.Join(ids, ", "))
	}
	var body []byte
	if fs.NArg() == 1 {
		body = []byte(fs.Arg(0))
	} else {
		if body, err = io.ReadAll(io.LimitReader(stdin, maxSignBody+1)); err != nil {
			return fmt.Errorf("sign: read the body: %w", err)
		}
		if len(body) > maxSignBody {
			return fmt.Errorf("sign: the body is larger than %d bytes", maxSignBody)
		}
	}
	u := *webhookURL
	if u == "" {
		u = webhookBase(cfg) + "/webhooks/" + t.ID + "/" + ch.ID
	}
	header, value, err := registry.Sign(*ch, u, body)
	if err != nil {
		return fmt.Errorf("sign: channel %s: %w", ch.ID, err)
	}
	fmt.Fprintf(stdout, "%s: %s\n", header, value)
	return nil
}

// webhookBase is the connector's URL as the platforms call it:
// server.public_base_url, else http://localhost:PORT (or the listen host).
func webhookBase(cfg *config.Config) string {
	if cfg.Server.PublicBaseURL != "" {
		return strings.TrimRight(cfg.Server.PublicBaseURL, "/")
	}
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		return "http://" + cfg.Server.Listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
