package media_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/dispatch"
	"github.com/chatsync/sfconnector/connector/media"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/connector/store/storetest"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// fakeFetcher serves media by ref: bytes, or an error.
type fakeFetcher struct {
	mu    sync.Mutex
	media map[string]platform.Media
	errs  map[string]error
	calls map[string]int
}

func (f *fakeFetcher) FetchMedia(_ context.Context, ref string, max int64) (platform.Media, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[ref]++
	if err := f.errs[ref]; err != nil {
		return platform.Media{}, err
	}
	m, ok := f.media[ref]
	if !ok {
		return platform.Media{}, fmt.Errorf("no %s: %w", ref, platform.ErrMediaGone)
	}
	if int64(len(m.Data)) > max {
		return platform.Media{}, fmt.Errorf("%d bytes: %w", len(m.Data), platform.ErrMediaTooLarge)
	}
	return m, nil
}

type resolver struct {
	f     *fakeFetcher
	org   media.Org
	limit int64
}

func (r resolver) Fetcher(tenant, channel string) (platform.MediaFetcher, bool) {
	return r.f, channel == "wa"
}
func (r resolver) Org(string) (media.Org, bool) { return r.org, true }
func (r resolver) Limit(string) int64           { return r.limit }

type env struct {
	t      *testing.T
	st     store.Store
	sf     *standin.Server
	client *sfclient.Client
	f      *fakeFetcher
	w      *media.Worker
	spool  string
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "c.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	sf := standin.New(standin.Options{ClientID: "id", ClientSecret: "secret"})
	ts := httptest.NewServer(sf)
	t.Cleanup(ts.Close)
	client, err := sfclient.New(sfclient.Config{OrgID: standin.DefaultOrgID, LoginURL: ts.URL, Flow: sfclient.FlowClientCredentials,
		ClientID: "id", ClientSecret: "secret", HTTPClient: ts.Client(), RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, sf: sf, client: client, spool: filepath.Join(dir, "c.db-media"),
		f:   &fakeFetcher{media: map[string]platform.Media{}, errs: map[string]error{}, calls: map[string]int{}},
		now: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	spool := &media.Spool{Dir: e.spool}
	e.w = &media.Worker{Store: st, Bytes: spool, Spool: spool,
		Resolver: resolver{f: e.f, limit: 1000, org: media.Org{Client: client, MessageObject: "Chat_Message__c",
			FileIDField: "Media_File_Id__c", KeyField: "Connector_Media_Key__c"}},
		Config: media.Config{Workers: 2, MaxAttempts: 3, BackoffMin: time.Minute, BackoffMax: time.Hour, MultipartAbove: 100},
		Log:    zerolog.Nop(), Now: func() time.Time { return e.now }}
	return e
}

// message stores an inbound media message with its item, pending.
func (e *env) message(channel, id, ref string) (store.Message, store.MediaItem) {
	e.t.Helper()
	ctx := e.t.Context()
	var m store.Message
	var it store.MediaItem
	err := e.st.WithTx(ctx, func(tx store.Tx) error {
		c, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: channel, ExternalID: "u-" + id}, "", e.now)
		if err != nil {
			return err
		}
		conv, err := tx.CreateConversation(ctx, store.Conversation{Tenant: "acme", Channel: channel, ContactID: c.ID,
			State: statemachine.Open, CreatedAt: e.now}, "system", "test")
		if err != nil {
			return err
		}
		m, _, err = tx.InsertMessage(ctx, store.Message{Tenant: "acme", Channel: channel, ConversationID: conv.ID, ContactID: c.ID,
			PlatformID: id, Direction: store.Inbound, Kind: "image", MediaURL: ref, SentAt: e.now, ReceivedAt: e.now,
			StateAtReceipt: statemachine.Open, PushStatus: store.Pending})
		if err != nil {
			return err
		}
		it, err = tx.InsertMedia(ctx, store.MediaItem{MessageID: m.ID, ConversationID: conv.ID, Tenant: "acme", Channel: channel,
			Ref: ref, Status: store.MediaPending, CreatedAt: e.now})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return m, it
}

// push writes the message's record to the stand-in and settles it pushed.
func (e *env) push(m store.Message) string {
	e.t.Helper()
	ctx := e.t.Context()
	if _, err := e.client.Upsert(ctx, "Chat_Conversation__c", "Conversation_Key__c", fmt.Sprintf("acme:wa:%d", m.ConversationID), sfclient.Record{}); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.client.Upsert(ctx, "Chat_Message__c", "Message_Key__c", dispatch.MessageKey(m), sfclient.Record{"Body__c": "photo",
		"Chat_Conversation__r": map[string]any{"Conversation_Key__c": fmt.Sprintf("acme:wa:%d", m.ConversationID)}})
	if err != nil {
		e.t.Fatal(err)
	}
	ws, err := e.st.Claim(ctx, store.ClaimParams{Owner: "t", Now: e.now, LeaseTTL: time.Minute, MaxConversations: 10, MaxMessages: 10})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, w := range ws {
		var outs []store.Outcome
		for _, wm := range w.Messages {
			if wm.ID == m.ID {
				outs = append(outs, store.Outcome{MessageID: m.ID, Status: store.Pushed, SalesforceID: res.ID})
			}
		}
		if err := storetest.SettleOne(ctx, e.st, w.Lease, store.Settlement{Now: e.now, Outcomes: outs}); err != nil {
			e.t.Fatal(err)
		}
	}
	return res.ID
}

func (e *env) round() int {
	e.t.Helper()
	n, err := e.w.Round(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) item(id int64) store.MediaItem {
	e.t.Helper()
	it, err := e.st.GetMedia(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// A photo is fetched at once, kept in the spool, uploaded once its
// message record exists (as JSON; a larger voice note as multipart), linked
// to the record, named on it, and its spooled bytes dropped.
func TestFetchThenUpload(t *testing.T) {
	e := newEnv(t)
	jpeg := []byte("\xff\xd8\xff\xe0 a photo of a broken kettle")
	voice := bytes.Repeat([]byte("OggS voice "), 30) // over MultipartAbove
	e.f.media["ref-photo"] = platform.Media{Data: jpeg, ContentType: "image/jpeg"}
	e.f.media["ref-voice"] = platform.Media{Data: voice, ContentType: "audio/ogg", FileName: "voice note.ogg"}
	m1, it1 := e.message("wa", "wamid.1", "ref-photo")
	m2, it2 := e.message("wa", "wamid.2", "ref-voice")

	if n := e.round(); n != 2 {
		t.Fatalf("round claimed %d, want 2", n)
	}
	got := e.item(it1.ID)
	if got.Status != store.MediaFetched || got.Size != int64(len(jpeg)) || got.ContentType != "image/jpeg" ||
		got.FileName != "image-wamid.1.jpg" || got.Location != store.MediaInSpool || len(got.SHA256) != 64 {
		t.Fatalf("after the fetch: %+v", got)
	}
	if b, err := os.ReadFile(filepath.Join(e.spool, fmt.Sprint(it1.ID))); err != nil || !bytes.Equal(b, jpeg) {
		t.Fatalf("spooled bytes: %q, %v", b, err)
	}
	// Nothing to upload while the message record is not in Salesforce.
	if n := e.round(); n != 0 || len(e.sf.Files()) != 0 {
		t.Fatalf("round before the push claimed %d, files %d", n, len(e.sf.Files()))
	}
	id1, id2 := e.push(m1), e.push(m2)
	if n := e.round(); n != 2 {
		t.Fatalf("round after the push claimed %d, want 2", n)
	}
	files := e.sf.Files()
	if len(files) != 2 {
		t.Fatalf("%d files, want 2", len(files))
	}
	byKey := map[string]standin.File{}
	for _, f := range files {
		byKey[f.Key] = f
	}
	f1, f2 := byKey["acme:wa:wamid.1"], byKey["acme:wa:wamid.2"]
	if !bytes.Equal(f1.Data, jpeg) || f1.PathOnClient != "image-wamid.1.jpg" || len(f1.LinkedEntities) != 1 || f1.LinkedEntities[0] != id1 {
		t.Errorf("the photo's File: %+v", f1)
	}
	if !bytes.Equal(f2.Data, voice) || f2.PathOnClient != "voice note.ogg" || f2.ContentType != "audio/ogg" || f2.LinkedEntities[0] != id2 {
		t.Errorf("the voice note's File (multipart): %+v", f2)
	}
	for _, it := range []store.MediaItem{it1, it2} {
		got := e.item(it.ID)
		if got.Status != store.MediaUploaded || got.Location != store.MediaNowhere || got.ContentDocumentID == "" {
			t.Errorf("after the upload: %+v", got)
		}
		if _, err := os.Stat(filepath.Join(e.spool, fmt.Sprint(it.ID))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("item %d's spooled file is still there: %v", it.ID, err)
		}
	}
	for _, r := range e.sf.Records("Chat_Message__c") {
		want := f1.ContentDocumentID
		if r.ID == id2 {
			want = f2.ContentDocumentID
		}
		if r.Fields["Media_File_Id__c"] != want {
			t.Errorf("message record %s names File %v, want %s", r.ID, r.Fields["Media_File_Id__c"], want)
		}
	}
}

// Too large and gone fail at once with the reason; a temporary failure is
// retried after a backoff and fails once the tries are used up; a failed
// item replays.
func TestFetchFailures(t *testing.T) {
	e := newEnv(t)
	e.f.media["ref-big"] = platform.Media{Data: bytes.Repeat([]byte("x"), 1001), ContentType: "video/mp4"}
	e.f.errs["ref-flaky"] = errors.New("connection reset")
	e.f.errs["ref-token"] = fmt.Errorf("whatsapp: media: %w (no access token configured)", platform.ErrMediaNoCredential)
	_, big := e.message("wa", "m-big", "ref-big")
	_, gone := e.message("wa", "m-gone", "ref-gone")
	_, token := e.message("wa", "m-token", "ref-token")
	_, flaky := e.message("wa", "m-flaky", "ref-flaky")
	_, other := e.message("sms", "m-other", "ref-other")
	counts := map[string]int{}
	var mu sync.Mutex
	e.w.Count = func(tenant, outcome string) { mu.Lock(); counts[tenant+"/"+outcome]++; mu.Unlock() }
	e.round()
	mu.Lock()
	if counts["acme/failed"] != 4 || counts["acme/retried"] != 1 || len(counts) != 2 {
		t.Errorf("counted %v, want 4 failed and 1 retried", counts)
	}
	mu.Unlock()
	if it := e.item(big.ID); it.Status != store.MediaFailed || !strings.HasPrefix(it.Reason, "too large") {
		t.Errorf("too large: %+v", it)
	}
	if it := e.item(gone.ID); it.Status != store.MediaFailed || !strings.HasPrefix(it.Reason, "gone") {
		t.Errorf("gone: %+v", it)
	}
	if it := e.item(token.ID); it.StatusText() != "failed: not downloaded: whatsapp: media: the channel receives only (no access token configured)" || it.Attempts > 1 {
		t.Errorf("a channel without its token: %+v", it)
	}
	if it := e.item(other.ID); it.Status != store.MediaFailed || it.StatusText() != "failed: the channel does not download media" {
		t.Errorf("a channel without a fetcher: %+v", it)
	}
	it := e.item(flaky.ID)
	if it.Status != store.MediaPending || it.Attempts != 1 || !it.NextAttemptAt.After(e.now.Add(time.Minute-time.Second)) {
		t.Fatalf("a temporary failure: %+v", it)
	}
	if n := e.round(); n != 0 {
		t.Fatalf("a round before the backoff passed claimed %d", n)
	}
	for range 2 {
		e.now = e.now.Add(2 * time.Hour)
		e.round()
	}
	if it := e.item(flaky.ID); it.Status != store.MediaFailed || !strings.Contains(it.Reason, "download failed 3 times") {
		t.Fatalf("after 3 tries: %+v", it)
	}
	// Replay once the platform answers.
	delete(e.f.errs, "ref-flaky")
	e.f.media["ref-flaky"] = platform.Media{Data: []byte("ok"), ContentType: "image/png"}
	if ids, err := e.st.ReplayMedia(t.Context(), "acme", []int64{flaky.ID}, e.now); err != nil || len(ids) != 1 {
		t.Fatalf("ReplayMedia = %v, %v", ids, err)
	}
	e.round()
	if it := e.item(flaky.ID); it.Status != store.MediaFetched || it.FileName != "image-m-flaky.png" {
		t.Fatalf("replayed: %+v", it)
	}
}

// A crash between the upload and the store's update: the next try finds
// the File by its key and makes no second one. Damaged bytes are fetched
// again. Files of deleted items leave the spool.
func TestUploadIsIdempotentAndVerified(t *testing.T) {
	e := newEnv(t)
	e.f.media["ref-1"] = platform.Media{Data: []byte("photo bytes"), ContentType: "image/jpeg"}
	m, it := e.message("wa", "wamid.1", "ref-1")
	e.round()
	e.push(m)
	// What a crashed upload left: the File in Salesforce, the item still
	// fetched in the store.
	fetched := e.item(it.ID)
	if _, err := e.client.CreateFile(t.Context(), sfclient.NewFile{Title: "x", PathOnClient: "image-wamid.1.jpg", FirstPublishLocationID: fetched.MessageSalesforceID,
		Fields: sfclient.Record{"Connector_Media_Key__c": "acme:wa:wamid.1"}, Data: []byte("photo bytes")}, 0); err != nil {
		t.Fatal(err)
	}
	// Damage the spooled bytes: they are fetched again first.
	if err := os.WriteFile(filepath.Join(e.spool, fmt.Sprint(it.ID)), []byte("photo bytez"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.round()
	if got := e.item(it.ID); got.Status != store.MediaPending || got.Attempts != 1 {
		t.Fatalf("damaged bytes: %+v, want pending again", got)
	}
	e.now = e.now.Add(time.Hour)
	e.round()
	if got := e.item(it.ID); got.Status != store.MediaUploaded {
		t.Fatalf("after the refetch: %+v", got)
	}
	if files := e.sf.Files(); len(files) != 1 || e.f.calls["ref-1"] != 2 {
		t.Fatalf("%d files, %d fetches; want exactly one File, fetched twice", len(files), e.f.calls["ref-1"])
	}

	// A file the store no longer knows (the contact's delete-all).
	if err := os.WriteFile(filepath.Join(e.spool, "99999"), []byte("orphan"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.spool, "99999")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the orphan file is still there: %v", err)
	}
}

// A permanent refusal by Salesforce fails the item with the reason.
func TestUploadRefused(t *testing.T) {
	e := newEnv(t)
	e.f.media["ref-1"] = platform.Media{Data: []byte("photo bytes"), ContentType: "image/jpeg"}
	m, it := e.message("wa", "wamid.1", "ref-1")
	e.round()
	e.push(m)
	// The message record was deleted in Salesforce: the link is refused.
	e.sf.Reset()
	e.round()
	got := e.item(it.ID)
	if got.Status != store.MediaFailed || !strings.Contains(got.Reason, "INVALID_CROSS_REFERENCE_KEY") || got.Location != store.MediaInSpool {
		t.Fatalf("refused: %+v, want failed with the bytes kept", got)
	}
	// Listed for replay; replayed, it is uploaded again (here refused
	// again, as nothing changed).
	failed, err := e.st.ListMedia(t.Context(), store.MediaFilter{Tenant: "acme", Status: store.MediaFailed})
	if err != nil || len(failed) != 1 {
		t.Fatalf("failed items: %+v, %v", failed, err)
	}
}

// With a retention, the bytes stay after the upload until it passes; the
// sweep then drops them.
func TestRetentionKeepsBytesThenSweeps(t *testing.T) {
	e := newEnv(t)
	e.w.Config.Retention = time.Hour
	e.f.media["ref-1"] = platform.Media{Data: []byte("photo bytes"), ContentType: "image/jpeg"}
	m, it := e.message("wa", "wamid.1", "ref-1")
	e.round()
	e.push(m)
	e.round()
	spooled := filepath.Join(e.spool, fmt.Sprint(it.ID))
	if got := e.item(it.ID); got.Status != store.MediaUploaded || got.Location != store.MediaInSpool {
		t.Fatalf("uploaded with a retention: %+v, want the bytes kept", got)
	}
	if err := e.w.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spooled); err != nil {
		t.Fatalf("the bytes went before the retention passed: %v", err)
	}
	e.now = e.now.Add(2 * time.Hour)
	if err := e.w.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.item(it.ID); got.Location != store.MediaNowhere || got.Status != store.MediaUploaded {
		t.Fatalf("after the retention: %+v", got)
	}
	if _, err := os.Stat(spooled); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the spooled file is still there: %v", err)
	}
}

// A delete-all removes the items with their messages; SweepSoon makes the
// running worker drop their spooled bytes at once.
func TestSweepSoonDropsDeletedItemsBytes(t *testing.T) {
	e := newEnv(t)
	e.w.Config.PollInterval = time.Hour // only the wake-up runs a round
	e.f.media["ref-1"] = platform.Media{Data: []byte("photo bytes"), ContentType: "image/jpeg"}
	m, it := e.message("wa", "wamid.1", "ref-1")
	e.round()
	spooled := filepath.Join(e.spool, fmt.Sprint(it.ID))
	if _, err := os.Stat(spooled); err != nil {
		t.Fatal(err)
	}
	err := e.st.WithTx(t.Context(), func(tx store.Tx) error {
		_, err := tx.DeleteConversations(t.Context(), []int64{m.ConversationID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.w.Stop(context.Background()) })
	e.w.SweepSoon()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(spooled); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted item's spooled file is still there")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// releasingFetcher is a fakeFetcher whose platform keeps the items until
// the connector releases them (as the web chat's uploads).
type releasingFetcher struct {
	*fakeFetcher
	mu       sync.Mutex
	released []string
}

func (r *releasingFetcher) ReleaseMedia(_ context.Context, ref string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released = append(r.released, ref)
	return nil
}

func (r *releasingFetcher) releases() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.released)
}

type releasingResolver struct {
	resolver
	r *releasingFetcher
}

func (rr releasingResolver) Fetcher(tenant, channel string) (platform.MediaFetcher, bool) {
	return rr.r, channel == "wa"
}

// A fetched item the platform keeps for the connector is released once
// its bytes are kept, and only when no other message of the channel still
// waits for the same item.
func TestFetchedItemIsReleased(t *testing.T) {
	e := newEnv(t)
	rf := &releasingFetcher{fakeFetcher: e.f}
	e.w.Resolver = releasingResolver{resolver: e.w.Resolver.(resolver), r: rf}
	e.f.media["upload:abc#name=a.jpg"] = platform.Media{Data: []byte("photo"), ContentType: "image/jpeg"}
	e.f.media["upload:abc#name=b.jpg"] = platform.Media{Data: []byte("photo"), ContentType: "image/jpeg"}
	e.f.errs["upload:abc#name=b.jpg"] = errors.New("disk busy")
	_, a := e.message("wa", "m-a", "upload:abc#name=a.jpg")
	_, b := e.message("wa", "m-b", "upload:abc#name=b.jpg")

	e.round()
	if it := e.item(a.ID); it.Status != store.MediaFetched {
		t.Fatalf("item a: %+v, want fetched", it)
	}
	if it := e.item(b.ID); it.Status != store.MediaPending {
		t.Fatalf("item b: %+v, want pending (a temporary failure)", it)
	}
	if got := rf.releases(); len(got) != 0 {
		t.Fatalf("released %v while another message waits for the same upload", got)
	}

	delete(e.f.errs, "upload:abc#name=b.jpg")
	e.now = e.now.Add(2 * time.Hour)
	e.round()
	if it := e.item(b.ID); it.Status != store.MediaFetched {
		t.Fatalf("item b after the retry: %+v, want fetched", it)
	}
	if got := rf.releases(); !slices.Equal(got, []string{"upload:abc#name=b.jpg"}) {
		t.Fatalf("released %v, want the upload once, by the last message fetched", got)
	}
}

// Media a message named that the connector will never fetch (its item
// skipped, its message refused) is released at once on a platform that
// keeps a copy for the connector, unless another message of the channel
// waits for the same item; a platform that keeps none, and a channel
// without media, are left alone.
func TestUnfetchedItemIsReleased(t *testing.T) {
	e := newEnv(t)
	if err := e.w.ReleaseUnfetched(t.Context(), "acme", "wa", "upload:abc"); err != nil {
		t.Fatalf("a platform that keeps no copies: %v", err)
	}
	rf := &releasingFetcher{fakeFetcher: e.f}
	e.w.Resolver = releasingResolver{resolver: e.w.Resolver.(resolver), r: rf}
	e.message("wa", "m-a", "upload:abc#name=a.jpg") // pending: it waits for upload:abc
	for _, m := range []struct{ channel, ref string }{
		{"wa", "upload:abc#name=b.jpg"}, {"wa", "upload:def#name=c.jpg"}, {"tg", "upload:fed"},
	} {
		if err := e.w.ReleaseUnfetched(t.Context(), "acme", m.channel, m.ref); err != nil {
			t.Fatalf("%s %s: %v", m.channel, m.ref, err)
		}
	}
	if got := rf.releases(); !slices.Equal(got, []string{"upload:def#name=c.jpg"}) {
		t.Fatalf("released %v, want only the upload no other message waits for", got)
	}
}

// An item the platform serves no content for (a LINE sticker) is skipped
// with its reason: nothing failed, nothing to replay.
func TestItemWithoutContentIsSkipped(t *testing.T) {
	e := newEnv(t)
	e.f.errs["446/1988"] = fmt.Errorf("line: media: %w: a sticker", platform.ErrNoContent)
	_, it := e.message("wa", "m-sticker", "446/1988")
	e.round()
	got := e.item(it.ID)
	if got.Status != store.MediaSkipped || !strings.HasPrefix(got.Reason, "no content") {
		t.Fatalf("a sticker's item: %+v, want skipped, no content", got)
	}
	failed, err := e.st.ListMedia(t.Context(), store.MediaFilter{Tenant: "acme", Status: store.MediaFailed})
	if err != nil || len(failed) != 0 {
		t.Fatalf("failed items %v, %v: want none", failed, err)
	}
	if n := e.round(); n != 0 {
		t.Fatalf("a skipped item was claimed again (%d)", n)
	}
}

// blockingFetcher blocks each download until released or until its
// context ends (then it returns the context's error, as a cut download
// does).
type blockingFetcher struct {
	started chan string
	release chan struct{}
}

func (b *blockingFetcher) FetchMedia(ctx context.Context, ref string, _ int64) (platform.Media, error) {
	b.started <- ref
	select {
	case <-b.release:
		return platform.Media{Data: []byte("voice note"), ContentType: "audio/ogg"}, nil
	case <-ctx.Done():
		return platform.Media{}, ctx.Err()
	}
}

type blockingResolver struct {
	resolver
	b *blockingFetcher
}

func (br blockingResolver) Fetcher(string, string) (platform.MediaFetcher, bool) { return br.b, true }

// slowRound starts a round whose one item's download blocks, with a lease
// of 300ms and a clock the test moves; it returns the item, the clock,
// the fetcher and the round's end.
func slowRound(t *testing.T, e *env) (store.MediaItem, *atomic.Int64, *blockingFetcher, <-chan error) {
	t.Helper()
	_, it := e.message("wa", "slow", "ref-slow")
	b := &blockingFetcher{started: make(chan string, 1), release: make(chan struct{})}
	e.w.Resolver = blockingResolver{resolver: e.w.Resolver.(resolver), b: b}
	var clock atomic.Int64
	clock.Store(e.now.UnixNano())
	e.w.Now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	e.w.Config.LeaseTTL, e.w.Config.Owner = 300*time.Millisecond, "worker-1"
	done := make(chan error, 1)
	go func() {
		_, err := e.w.Round(t.Context())
		done <- err
	}()
	select {
	case <-b.started:
	case err := <-done:
		t.Fatalf("the round ended before its download started: %v", err)
	}
	if got := e.item(it.ID); got.HeldBy != "worker-1" {
		t.Fatalf("the item in flight is held by %q, want worker-1", got.HeldBy)
	}
	return it, &clock, b, done
}

// waitRound waits for a round's end.
func waitRound(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Round: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the round did not end")
	}
}

// A download slower than the lease keeps its item: the worker's heartbeat
// renews the hold while it is in flight, so another claimer finds nothing
// to take, and the item is released once fetched.
func TestSlowItemKeepsItsHold(t *testing.T) {
	e := newEnv(t)
	it, clock, b, done := slowRound(t, e)
	later := e.now.Add(10 * time.Minute)
	clock.Store(later.UnixNano())
	deadline := time.Now().Add(30 * time.Second)
	for e.item(it.ID).NextAttemptAt.Before(later) {
		if time.Now().After(deadline) {
			t.Fatalf("the hold was not renewed: due at %v", e.item(it.ID).NextAttemptAt)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := e.st.ClaimMedia(t.Context(), "worker-2", later, later.Add(time.Minute), 10); err != nil || len(got) != 0 {
		t.Fatalf("another claimer took %+v, %v; want nothing while the download is in flight", got, err)
	}
	close(b.release)
	waitRound(t, done)
	if got := e.item(it.ID); got.Status != store.MediaFetched || got.HeldBy != "" {
		t.Errorf("after the round: %+v, want fetched and held by nobody", got)
	}
}

// An item whose hold another claimer took (it had passed, say after a
// long pause) is stopped at the next beat and left to that claimer.
func TestLostHoldStopsItem(t *testing.T) {
	lostToWorker2(t, newEnv(t), false)
}

// lostToWorker2 starts a slow round of worker-1, has worker-2 take its
// item, lets the download end when finish is set, and checks that the
// item is left to worker-2 as it claimed it, counted hold_lost once.
func lostToWorker2(t *testing.T, e *env, finish bool) {
	t.Helper()
	var mu sync.Mutex
	counts := map[string]int{}
	e.w.Count = func(tenant, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		counts[tenant+"/"+outcome]++
	}
	it, _, b, done := slowRound(t, e)
	taken, err := e.st.ClaimMedia(t.Context(), "worker-2", e.now.Add(time.Hour), e.now.Add(2*time.Hour), 10)
	if err != nil || len(taken) != 1 {
		t.Fatalf("worker-2's claim: %+v, %v", taken, err)
	}
	if finish {
		close(b.release) // worker-1's download ends: it would record the item fetched
	}
	waitRound(t, done)
	got := e.item(it.ID)
	if got.Status != store.MediaPending || got.HeldBy != "worker-2" || !got.NextAttemptAt.Equal(e.now.Add(2*time.Hour)) {
		t.Errorf("after the round: %+v, want it pending and held by worker-2 until %v", got, e.now.Add(2*time.Hour))
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"acme/hold_lost": 1}; !maps.Equal(counts, want) {
		t.Errorf("counted %v, want %v", counts, want)
	}
}

// failingRenewals is a store whose renewals of media holds fail (the
// database is out of reach).
type failingRenewals struct {
	store.MediaStore
	calls atomic.Int64
}

func (f *failingRenewals) RenewMedia(context.Context, string, []int64, time.Time) ([]int64, error) {
	f.calls.Add(1)
	return nil, errors.New("connection refused")
}

// When no renewal reaches the store for four fifths of the lease, the
// round stops its items, which stay as their claim left them (held, taken
// again once the hold passes): no two workers take one item at once.
func TestHeartbeatOutageStopsItems(t *testing.T) {
	e := newEnv(t)
	fr := &failingRenewals{MediaStore: e.st}
	e.w.Store = fr
	it, _, _, done := slowRound(t, e)
	waitRound(t, done)
	if n := fr.calls.Load(); n == 0 {
		t.Error("the round stopped without trying to renew its holds")
	}
	if got := e.item(it.ID); got.Status != store.MediaPending || got.HeldBy != "worker-1" {
		t.Errorf("after the round: %+v, want it pending, still held by worker-1", got)
	}
}

// blindRenewals is a store whose renewals of media holds report every hold
// kept, without asking: a heartbeat that has not yet seen a loss.
type blindRenewals struct{ store.MediaStore }

func (blindRenewals) RenewMedia(context.Context, string, []int64, time.Time) ([]int64, error) {
	return nil, nil
}

// An item whose hold another claimer took before the heartbeat noticed is
// not written by the worker that lost it: its update finds the hold gone,
// writes nothing, and leaves the item to the claimer that took it.
func TestStaleUpdateWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.w.Store = blindRenewals{MediaStore: e.st}
	lostToWorker2(t, e, true)
}
