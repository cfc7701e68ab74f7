// Command sfstandin runs the Salesforce stand-in (package
// github.com/chatsync/sfconnector/sfclient/standin) as a separate process,
// for demos and end-to-end tests:
//
//	sfstandin -listen 127.0.0.1:8443 -org-id 00D000000000001AAA \
//	    -client-id demo -client-secret demo-secret -token-lifetime 0 -daily-limit 15000 \
//	    -metadata salesforce/force-app/main/default -query-batch-size 2000
//
// With no flags it listens on 127.0.0.1:8443 for the org 00D000000000001AAA
// and accepts any client id and secret: what the repository's
// connector.dev.yaml expects. -listen 127.0.0.1:0 picks a free port.
//
// Once listening it prints one line to stdout,
// "sfstandin listening on http://127.0.0.1:PORT", which a test reads to find
// the port. SIGTERM or SIGINT shut it down gracefully; it then exits 0.
// It serves the admin routes under /__standin/ without authentication:
// listen on a loopback or test address only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chatsync/sfconnector/salesforce"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sfstandin:", err)
		stop()
		os.Exit(1)
	}
}

// run parses args, serves until ctx is done (SIGTERM or SIGINT), and shuts
// down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sfstandin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on (port 0 picks a free port)")
	orgID := fs.String("org-id", standin.DefaultOrgID, "org id tokens are issued for")
	clientID := fs.String("client-id", "", "accepted client id / JWT issuer (empty accepts any)")
	clientSecret := fs.String("client-secret", "", "accepted client secret (empty accepts any)")
	username := fs.String("username", "", "accepted JWT subject (empty accepts any)")
	publicKey := fs.String("jwt-public-key", "", "PEM file with the certificate or public key JWT assertions must be signed for (empty: signatures are not checked)")
	tokenLifetime := fs.Duration("token-lifetime", 0, "token lifetime (0: tokens never expire)")
	dailyLimit := fs.Int("daily-limit", standin.DefaultDailyLimit, "api-usage maximum")
	metadata := fs.String("metadata", "", "a Salesforce DX package folder (objects/...) whose objects the org has, such as an edited copy of salesforce/force-app/main/default (empty: the salesforce/ folder's)")
	batchSize := fs.Int("query-batch-size", standin.DefaultQueryBatchSize, "most records of one query answer before nextRecordsUrl")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	opts := standin.Options{
		OrgID:          *orgID,
		ClientID:       *clientID,
		ClientSecret:   *clientSecret,
		Username:       *username,
		TokenLifetime:  *tokenLifetime,
		DailyLimit:     *dailyLimit,
		QueryBatchSize: *batchSize,
	}
	if *metadata != "" {
		objs, err := salesforce.ReadObjects(os.DirFS(*metadata), ".")
		if err != nil {
			return fmt.Errorf("read -metadata: %w", err)
		}
		if len(objs) == 0 {
			return fmt.Errorf("read -metadata: %s has no objects/ folder with objects", *metadata)
		}
		opts.Metadata = objs
	}
	if *batchSize <= 0 {
		return fmt.Errorf("-query-batch-size must be positive")
	}
	if *publicKey != "" {
		pemBytes, err := os.ReadFile(*publicKey)
		if err != nil {
			return fmt.Errorf("read -jwt-public-key: %w", err)
		}
		opts.JWTPublicKeyPEM = pemBytes
	}
	if err := opts.Validate(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           standin.New(opts),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "sfstandin listening on http://%s\n", ln.Addr())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
