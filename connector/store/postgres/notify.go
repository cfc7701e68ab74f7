package postgres

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

var _ store.Notifier = (*Store)(nil)

// ErrClosed is returned by Listen when the store is closed (before or
// while it listens).
var ErrClosed = errors.New("store is closed")

// channelExpr is the SQL expression of the channel outbox work is
// announced on.
const channelExpr = sqlstore.OutboxChannel

// Timing of Listen.
const (
	// listenCoalesce is the shortest time between two wakes: notifications
	// arriving within it of a wake make one more wake at its end.
	listenCoalesce = 50 * time.Millisecond
	// listenMinBackoff and listenMaxBackoff bound the pause before
	// reconnecting after an error; it doubles at each failed session.
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	// listenStable is how long a session must have lasted for the pause
	// after its end to start again from listenMinBackoff.
	listenStable = time.Minute
	// listenCloseTimeout bounds the closing of the listening connection.
	listenCloseTimeout = 5 * time.Second
)

// Listen calls wake after a process using the same schema commits outbox
// work — a pending message, a state change to mirror onto a record that
// exists, a replay — until ctx ends, and returns ctx's error then (or
// ErrClosed when the store is closed first).
//
// It holds one connection of the pool for its whole run, on which it
// LISTENs. It calls wake once each time it starts listening (work may have
// been committed while it was not), at once for the first notification
// after a quiet spell, and then at most once per 50 ms while notifications
// keep coming. After a connection error it reports the error to
// Options.OnListenError, waits (100 ms at first, doubling up to 10 s, with
// jitter) and connects again.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	if wake == nil {
		return errors.New("listen: wake is required")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("listen: %w", ErrClosed)
	}
	s.listeners.Add(1)
	s.mu.Unlock()
	defer s.listeners.Done()

	// lctx ends with ctx or when the store closes.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.closing, cancel)()
	end := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("listen: %w", ErrClosed)
	}

	backoff := listenMinBackoff
	for {
		started := time.Now()
		err := s.listenOnce(lctx, wake)
		if lctx.Err() != nil {
			return end()
		}
		if s.onListenError != nil {
			s.onListenError(fmt.Errorf("store notifications: %w", err))
		}
		if time.Since(started) >= listenStable {
			backoff = listenMinBackoff
		}
		pause := backoff/2 + mrand.N(backoff/2+1)
		select {
		case <-lctx.Done():
			return end()
		case <-time.After(pause):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce runs one listening session on a connection of its own: it
// returns when ctx ends or the connection fails.
func (s *Store) listenOnce(ctx context.Context, wake func()) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire a connection: %w", err)
	}
	conn := pc.Conn()
	defer func() {
		// The connection still listens: it is closed rather than given back
		// to the pool, where it would go on collecting notifications.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenCloseTimeout)
		_ = conn.Close(cctx) // the session is over either way; the pool drops a closed connection
		cancel()
		pc.Release()
	}()

	var channel pgtype.Text
	if err := conn.QueryRow(ctx, `SELECT `+channelExpr).Scan(&channel); err != nil {
		return fmt.Errorf("name the channel: %w", err)
	}
	if !channel.Valid {
		return errors.New("name the channel: no schema of search_path exists")
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel.String}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for a notification: %w", err)
		}
		wake()
		for {
			more, err := drainNotifications(ctx, conn, listenCoalesce)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			wake()
		}
	}
}

// drainNotifications reads the notifications arriving on conn for window
// and reports whether there was any. A connection error ends it early.
func drainNotifications(ctx context.Context, conn *pgx.Conn, window time.Duration) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	got := false
	for {
		_, err := conn.WaitForNotification(wctx)
		switch {
		case err == nil:
			got = true
		case ctx.Err() != nil:
			return got, fmt.Errorf("wait for a notification: %w", ctx.Err())
		case wctx.Err() != nil:
			// The window is over; a timeout leaves the connection usable.
			return got, nil
		default:
			return got, fmt.Errorf("wait for a notification: %w", err)
		}
	}
}
