package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

// Timing of the announcer.
const (
	// announceInterval is the shortest time between two NOTIFYs of one
	// Store: commits of outbox work within it are announced by one
	// NOTIFY at its end. The listeners wake at most every 50 ms anyway
	// (listenCoalesce).
	announceInterval = 25 * time.Millisecond
	// announceTimeout bounds one NOTIFY.
	announceTimeout = 5 * time.Second
)

// announcer tells the listeners of every process (Listen) that outbox work
// was committed, with a NOTIFY of its own sent after the commit rather
// than inside the transaction. PostgreSQL serialises the commits of
// notifying transactions on one lock of the whole database, held through
// the commit's WAL flush: a NOTIFY in each delivery's transaction made
// every delivery of every replica wait for the flush of the one before,
// about a thousand a second at most. Sent after the commit, the
// notification still follows the work it announces (a listener that
// wakes sees it), and one NOTIFY announces every commit of an interval.
type announcer struct {
	db       *sql.DB
	onError  func(error)
	interval time.Duration // announceInterval, but in tests

	wake    chan struct{} // a commit to announce; capacity 1
	stop    chan struct{} // closed by close
	stopped chan struct{} // closed when run returns
	once    sync.Once
}

func newAnnouncer(db *sql.DB, onError func(error), interval time.Duration) *announcer {
	a := &announcer{db: db, onError: onError, interval: interval, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go a.run()
	return a
}

// signal asks for a NOTIFY: at once, or at the end of the interval of
// the last one.
func (a *announcer) signal() {
	select {
	case a.wake <- struct{}{}:
	default: // one is asked for already
	}
}

func (a *announcer) run() {
	defer close(a.stopped)
	for {
		select {
		case <-a.wake:
		case <-a.stop:
			a.flush()
			return
		}
		a.notify()
		select {
		case <-time.After(a.interval):
		case <-a.stop:
			a.flush()
			return
		}
	}
}

// flush sends the NOTIFY asked for and not sent yet, if any: the last
// commits of a process that closes its store (a command-line tool, a
// replica shutting down) are announced too.
func (a *announcer) flush() {
	select {
	case <-a.wake:
		a.notify()
	default:
	}
}

// notify sends one NOTIFY in a transaction of its own, reporting an error
// to onError: the other replicas then find the work at their next poll.
func (a *announcer) notify() {
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	if _, err := a.db.ExecContext(ctx, notifyQuery.For(dialect)); err != nil && a.onError != nil {
		a.onError(fmt.Errorf("announce outbox work: %w", err))
	}
}

// close sends the NOTIFY still asked for, and stops the announcer.
func (a *announcer) close() {
	a.once.Do(func() { close(a.stop) })
	<-a.stopped
}

// notifyQuery announces outbox work to the listeners of the schema's
// channel.
var notifyQuery = sqlstore.Q(`SELECT pg_notify(` + channelExpr + `, '')`)
