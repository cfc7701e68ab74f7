package postgres

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/statemachine"
)

// TestGroupCommitDeliveriesOfSeveralContacts sends, from many callers at
// once, deliveries that each carry messages of two contacts out of three,
// in either order, through group commit as the connector runs it on
// PostgreSQL: several groups in flight, none holding a contact another
// holds. Every delivery is stored, whole and once.
func TestGroupCommitDeliveriesOfSeveralContacts(t *testing.T) {
	st, dsn := migrated(t)
	in := &ingest.Ingester{Store: st, Group: &ingest.GroupCommitter{Store: st, Size: 4, InFlight: 4}}
	ch := ingest.Channel{Tenant: "t1", ID: "wa", Excluded: statemachine.DefaultExcluded()}
	contacts := []string{"ann", "bea", "cid"}
	const callers, each = 16, 25

	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Go(func() {
			for d := range each {
				first := rand.IntN(len(contacts))
				second := (first + 1 + rand.IntN(len(contacts)-1)) % len(contacts)
				id := fmt.Sprintf("m%d.%d.", c, d)
				events := []platform.Event{
					{Kind: platform.KindMessage, ID: id + "a", Contact: contacts[first], Timestamp: t0,
						Message: &platform.Message{Kind: platform.Text, Text: "one"}},
					{Kind: platform.KindMessage, ID: id + "b", Contact: contacts[second], Timestamp: t0,
						Message: &platform.Message{Kind: platform.Text, Text: "two"}},
				}
				res, err := in.Ingest(t.Context(), ch, events)
				switch {
				case err != nil:
					errs <- fmt.Errorf("delivery %s: %w", id, err)
				case res.Stored != 2:
					errs <- fmt.Errorf("delivery %s: %d messages stored, want 2", id, res.Stored)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(t.Context()) }()
	var messages, distinct, conversations int
	err = conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT platform_id),
		(SELECT count(*) FROM conversations) FROM messages`).Scan(&messages, &distinct, &conversations)
	if err != nil {
		t.Fatal(err)
	}
	if want := callers * each * 2; messages != want || distinct != want {
		t.Errorf("%d messages stored (%d distinct), want %d", messages, distinct, want)
	}
	if conversations != len(contacts) {
		t.Errorf("%d conversations, want one per contact (%d)", conversations, len(contacts))
	}
}
