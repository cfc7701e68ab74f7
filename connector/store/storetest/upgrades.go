package storetest

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

// Upgrade is a driver's store opened on an empty database (or schema) and
// not migrated, with what the upgrade tests need of its insides.
type Upgrade struct {
	Store store.Store
	// Migrate applies the migrations of a list not applied yet.
	Migrate func(ctx context.Context, ms []sqlstore.Migration) error
	// Raw runs SQL, in sqlstore's style, on the database as it is.
	Raw sqlstore.Conn

	migrations []sqlstore.Migration // the driver's, in version order
}

// RunUpgrades runs, on stores open opens with the migrations of files (a
// driver's embedded "migrations" folder), the tests of the migrations
// that change data: a database at an earlier version, holding rows written
// as that version wrote them, is migrated, and the rows must read as the
// driver reads them now.
func RunUpgrades(t *testing.T, files fs.FS, open func(t *testing.T) Upgrade) {
	ms, err := sqlstore.Migrations(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Upgrade)
	}{
		{"Recorded", upgradesRecorded},
		{"AddsPlatformStatus", upgradeAddsPlatformStatus},
		{"BackfillsPendingSince", upgradeBackfillsPendingSince},
		{"KeepsBlocks", upgradeKeepsBlocks},
		{"SeparatesOptOuts", upgradeSeparatesOptOuts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := open(t)
			u.migrations = ms
			tc.fn(t, u)
		})
	}
}

// migrateBelow applies the migrations before version.
func (u Upgrade) migrateBelow(t *testing.T, version int) {
	t.Helper()
	var before []sqlstore.Migration
	for _, m := range u.migrations {
		if m.Version < version {
			before = append(before, m)
		}
	}
	if err := u.Migrate(t.Context(), before); err != nil {
		t.Fatalf("migrate to version %d: %v", version-1, err)
	}
}

// exec runs raw SQL and fails the test on error.
func (u Upgrade) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := u.Raw.Exec(t.Context(), sqlstore.Q(q), args...); err != nil {
		t.Fatal(err)
	}
}

// insert runs a raw INSERT ... RETURNING id and returns the id.
func (u Upgrade) insert(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := u.Raw.Row(t.Context(), sqlstore.Q(q), args...).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// upgradesRecorded: Migrate records every migration once, a second
// Migrate changes nothing, and a database migrated by a newer connector is
// refused.
func upgradesRecorded(t *testing.T, u Upgrade) {
	ctx := t.Context()
	if err := u.Store.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	count := func() int {
		t.Helper()
		var n int
		if err := u.Raw.Row(ctx, sqlstore.Q(`SELECT COUNT(*) FROM schema_migrations`)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != len(u.migrations) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(u.migrations))
	}
	if err := u.Store.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n := count(); n != len(u.migrations) {
		t.Errorf("after a second Migrate schema_migrations has %d rows, want %d", n, len(u.migrations))
	}
	u.exec(t, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', $1)`,
		u.Raw.D.Time(upgraded))
	if err := u.Store.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Migrate of a database from a newer connector: %v, want an error saying it is newer", err)
	}
}

var upgraded = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

// upgradeAddsPlatformStatus upgrades a database at schema version 2
// holding a contact: the contact gets no platform status, a status set
// afterwards is stored to the microsecond, and a status without its time
// is refused by the table.
func upgradeAddsPlatformStatus(t *testing.T, u Upgrade) {
	ctx, s, d := t.Context(), u.Store, u.Raw.D
	u.migrateBelow(t, 3)
	u.exec(t, `INSERT INTO contacts (tenant, channel, external_id, display_name, created_at, updated_at)
		VALUES ('t1', 'line', 'U1', 'Ana', $1, $1)`, d.Time(upgraded))
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 2: %v", err)
	}

	key := store.ContactKey{Tenant: "t1", Channel: "line", ExternalID: "U1"}
	blockedAt := upgraded.Add(time.Minute + 123456*time.Microsecond)
	var old, now store.Contact
	err := s.WithTx(ctx, func(tx store.Tx) error {
		var err error
		if old, err = tx.UpsertContact(ctx, key, "", upgraded); err != nil {
			return err
		}
		if _, err := tx.SetContactPlatformStatus(ctx, old.ID, "blocked", blockedAt); err != nil {
			return err
		}
		now, err = tx.UpsertContact(ctx, key, "", upgraded)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if old.DisplayName != "Ana" || old.PlatformStatus != "" || !old.PlatformStatusAt.IsZero() {
		t.Errorf("contact from before the migration = %+v, want Ana with no platform status", old)
	}
	if now.PlatformStatus != "blocked" || now.PlatformStatusAt != blockedAt {
		t.Errorf("contact after SetContactPlatformStatus = %+v, want blocked as of %v", now, blockedAt)
	}
	var stored time.Time
	if err := u.Raw.Row(ctx, sqlstore.Q(`SELECT platform_status_at FROM contacts WHERE id = $1`), old.ID).Scan(sqlstore.T(&stored)); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(blockedAt) {
		t.Errorf("stored platform_status_at %v, want %v", stored, blockedAt)
	}
	if _, err := u.Raw.Exec(ctx, sqlstore.Q(`UPDATE contacts SET platform_status_at = {0|NULL} WHERE id = $1`), old.ID); err == nil {
		t.Errorf("a platform status with no time was stored, want a CHECK failure")
	}
}

// upgradeBackfillsPendingSince upgrades a database at version 3 holding an
// outbox: each conversation's pending_since becomes the received_at of its
// oldest pending message (NULL when it has none), and Claim then takes the
// work oldest first, as before the upgrade.
func upgradeBackfillsPendingSince(t *testing.T, u Upgrade) {
	ctx, s, d := t.Context(), u.Store, u.Raw.D
	u.migrateBelow(t, 4)
	sec := func(n float64) time.Time { return upgraded.Add(time.Duration(n * float64(time.Second))) }
	// Conversations by external id; the "behind" one has a Salesforce
	// record missing its state change of 1.5s.
	ids := map[string]int64{}
	for _, ext := range []string{"mixed", "dead", "done", "empty", "behind"} {
		contact := u.insert(t, `INSERT INTO contacts (tenant, channel, external_id, created_at, updated_at)
			VALUES ('t1', 'wa', $1, $2, $2) RETURNING id`, ext, d.Time(upgraded))
		behind := int64(0)
		if ext == "behind" {
			behind = 1
		}
		ids[ext] = u.insert(t, `
			INSERT INTO conversations (tenant, channel, contact_id, state, version, synced_version,
				created_at, updated_at, last_activity_at)
			VALUES ('t1', 'wa', $1, 0, $2, $3, $4, $5, $4)
			RETURNING id`, contact, 1+behind, behind, d.Time(upgraded), d.Time(sec(1.5)))
	}
	for i, m := range []struct {
		conv     string
		status   store.PushStatus
		received time.Time
	}{
		{"mixed", store.Pushed, sec(0)},
		{"mixed", store.Pending, sec(3)},
		{"mixed", store.Pending, sec(1)}, // stored after a younger one
		{"dead", store.Dead, sec(0.5)},
		{"dead", store.Pending, sec(2)},
		{"done", store.Pushed, sec(0)},
		{"done", store.Excluded, sec(0)},
	} {
		u.exec(t, `
			INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id, direction,
				received_at, state_at_receipt, push_status)
			SELECT 't1', 'wa', id, contact_id, $2, 'inbound', $3, 0, $4 FROM conversations WHERE id = $1`,
			ids[m.conv], fmt.Sprintf("wamid.%d", i), d.Time(m.received), string(m.status))
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 3: %v", err)
	}

	want := map[string]time.Time{"mixed": sec(1), "dead": sec(2)}
	for ext, id := range ids {
		var since time.Time
		var null bool
		err := u.Raw.Row(ctx, sqlstore.Q(`SELECT pending_since, pending_since IS NULL FROM conversations WHERE id = $1`), id).
			Scan(sqlstore.T(&since), &null)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[ext]; null == ok || !since.Equal(w) {
			t.Errorf("pending_since of %s = %v (NULL %v), want %v (NULL when zero)", ext, since, null, w)
		}
	}
	ws, err := s.Claim(ctx, store.ClaimParams{Owner: "w", Now: sec(60), LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got, wantIDs := workIDs(ws), []int64{ids["mixed"], ids["behind"], ids["dead"]}; !slices.Equal(got, wantIDs) {
		t.Errorf("claim after the migration = %v, want %v (mixed, behind, dead: oldest work first)", got, wantIDs)
	}
}

// upgradeKeepsBlocks upgrades a database at schema version 4 holding a
// blocked and an unblocked contact and a message: the blocked contact's
// block gets its last change as its time, the other none, and the message
// no delivery status.
func upgradeKeepsBlocks(t *testing.T, u Upgrade) {
	ctx, s, d := t.Context(), u.Store, u.Raw.D
	u.migrateBelow(t, 5)
	changed := upgraded.Add(time.Hour + 123456*time.Microsecond)
	blocked := u.insert(t, `INSERT INTO contacts (tenant, channel, external_id, blocked_inbound, created_at, updated_at)
		VALUES ('t1', 'wa', 'b', {1|true}, $1, $2) RETURNING id`, d.Time(upgraded), d.Time(changed))
	plain := u.insert(t, `INSERT INTO contacts (tenant, channel, external_id, created_at, updated_at)
		VALUES ('t1', 'wa', 'p', $1, $2) RETURNING id`, d.Time(upgraded), d.Time(changed))
	conv := u.insert(t, `INSERT INTO conversations (tenant, channel, contact_id, state, created_at, updated_at, last_activity_at)
		VALUES ('t1', 'wa', $1, 0, $2, $2, $2) RETURNING id`, plain, d.Time(upgraded))
	u.exec(t, `INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id,
		direction, received_at, state_at_receipt, push_status)
		VALUES ('t1', 'wa', $1, $2, 'm1', 'outbound', $3, 0, 'pushed')`, conv, plain, d.Time(upgraded))
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 4: %v", err)
	}

	b, err := s.GetContact(ctx, blocked)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.BlockInfo{At: changed}); !b.BlockedInbound || b.Block != want {
		t.Errorf("blocked contact after the migration: inbound %v, block %+v; want blocked with %+v", b.BlockedInbound, b.Block, want)
	}
	if b.Native != (store.NativeBlock{}) || b.Tags == nil || len(b.Tags) != 0 {
		t.Errorf("blocked contact after the migration: native %+v, tags %#v; want none", b.Native, b.Tags)
	}
	p, err := s.GetContact(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Block != (store.BlockInfo{}) {
		t.Errorf("unblocked contact after the migration: block %+v, want none", p.Block)
	}
	msgs, err := s.ListMessages(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].DeliveryStatus != "" || !msgs[0].DeliveryStatusAt.IsZero() {
		t.Errorf("messages after the migration = %+v, want one with no delivery status", msgs)
	}
}

// upgradeSeparatesOptOuts upgrades a database at schema version 13, where
// an opt-out was an outbound block by "opt-out": it becomes the contact's
// opt-out, with its keyword and time, and its outbound direction goes (an
// inbound direction stays); an agent's block is left as it was.
func upgradeSeparatesOptOuts(t *testing.T, u Upgrade) {
	ctx, s, d := t.Context(), u.Store, u.Raw.D
	u.migrateBelow(t, 14)
	when := upgraded.Add(time.Minute + 123456*time.Microsecond)
	contact := func(ext string, in, out bool, note, by string) int64 {
		t.Helper()
		return u.insert(t, `INSERT INTO contacts (tenant, channel, external_id, blocked_inbound, blocked_outbound,
			block_note, block_by, block_at, created_at, updated_at)
			VALUES ('t1', 'wa', $1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
			ext, in, out, note, by, d.Time(when), d.Time(upgraded))
	}
	stop := contact("stop", false, true, "opt-out keyword STOP", "opt-out")
	both := contact("both", true, true, "opt-out keyword Do Not Disturb", "opt-out")
	agent := contact("agent", false, true, "opt-out keyword STOP", "alice")
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 13: %v", err)
	}
	get := func(id int64) store.Contact {
		t.Helper()
		c, err := s.GetContact(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return normContact(c)
	}
	if c := get(stop); c.OptOut != (store.OptOut{Keyword: "STOP", At: when}) || c.BlockedOutbound || c.BlockedInbound || c.Block != (store.BlockInfo{}) {
		t.Errorf("opted-out contact after the migration: opt-out %+v, blocked %v/%v %+v; want STOP at %v and no block",
			c.OptOut, c.BlockedInbound, c.BlockedOutbound, c.Block, when)
	}
	// An agent's inbound block that an opt-out rewrote: the inbound block
	// stays (who set it is lost), the outbound direction was the opt-out.
	if c := get(both); c.OptOut != (store.OptOut{Keyword: "Do Not Disturb", At: when}) || !c.BlockedInbound || c.BlockedOutbound ||
		c.Block != (store.BlockInfo{By: "unknown", At: when}) {
		t.Errorf("opted-out contact blocked inbound after the migration: opt-out %+v, blocked %v/%v %+v; want Do Not Disturb, inbound only by unknown",
			c.OptOut, c.BlockedInbound, c.BlockedOutbound, c.Block)
	}
	if c := get(agent); c.OptedOut() || !c.BlockedOutbound || c.Block != (store.BlockInfo{Note: "opt-out keyword STOP", By: "alice", At: when}) {
		t.Errorf("agent's block after the migration: opt-out %+v, outbound %v, block %+v; want the block as it was and no opt-out",
			c.OptOut, c.BlockedOutbound, c.Block)
	}
	blocked := true
	cs, err := s.ListContacts(ctx, store.ContactFilter{Tenant: "t1", Blocked: &blocked})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(cs), 3; got != want {
		t.Errorf("blocked contacts after the migration: %d, want %d", got, want)
	}
}
