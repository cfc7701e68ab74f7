package webchat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

func uploadAdapter(t *testing.T, max int64) (*Adapter, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "uploads")
	a, err := New(Config{Secret: testSecret, UploadDir: dir, MaxUploadBytes: max})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, dir
}

func uploadRequest(body []byte, signature string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/acme/web/uploads", bytes.NewReader(body))
	r.Header.Set("Content-Type", "image/png")
	if signature != "" {
		r.Header.Set(SignatureHeader, signature)
	}
	return r
}

func TestUploadThenFetch(t *testing.T) {
	a, dir := uploadAdapter(t, 100)
	png := []byte("\x89PNG\r\n\x1a\nthe scratch")
	sum := sha256.Sum256(png)
	digest := hex.EncodeToString(sum[:])
	up, err := a.Upload(uploadRequest(png, Sign(testSecret, png)))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if want := (platform.Upload{Ref: "upload:" + digest, Size: int64(len(png)), SHA256: digest}); up != want {
		t.Fatalf("Upload = %+v, want %+v", up, want)
	}
	// The same bytes again: the same reference, one file.
	if again, err := a.Upload(uploadRequest(png, Sign(testSecret, png))); err != nil || again != up {
		t.Fatalf("Upload again = %+v, %v, want %+v", again, err, up)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != digest {
		t.Fatalf("upload directory holds %v, want the one file %s", entries, digest)
	}

	// The message names it; its MediaRef fetches it with the message's
	// name and type.
	body := []byte(`{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"message":{"text":"look",` +
		`"attachment":{"upload":"` + up.Ref + `","type":"image/png","name":"scratch 1.png"}}}]}`)
	events, err := a.Parse(nil, body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	msg := events[0].Message
	if msg.Kind != platform.Image || msg.MediaType != "image/png" || msg.MediaRef != up.Ref+"#name=scratch+1.png&type=image%2Fpng" {
		t.Fatalf("message %+v", msg)
	}
	m, err := a.FetchMedia(context.Background(), msg.MediaRef, 100)
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	if want := (platform.Media{Data: png, ContentType: "image/png", FileName: "scratch 1.png"}); !reflect.DeepEqual(m, want) {
		t.Fatalf("FetchMedia = %+v, want %+v", m, want)
	}
	// Without the fragment: sniffed, no name.
	if m, err := a.FetchMedia(context.Background(), up.Ref, 100); err != nil || m.ContentType != "image/png" || m.FileName != "" {
		t.Fatalf("FetchMedia(bare ref) = %+v, %v", m, err)
	}
	_, err = a.FetchMedia(context.Background(), up.Ref, int64(len(png))-1)
	platformtest.CheckMediaError(t, err, "too large")
}

func TestUploadRefused(t *testing.T) {
	a, dir := uploadAdapter(t, 10)
	big := []byte("0123456789A")
	small := []byte("0123456789")
	tests := []struct {
		name string
		r    *http.Request
		want error
	}{
		{"no signature", uploadRequest(small, ""), platform.ErrBadSignature},
		{"wrong signature", uploadRequest(small, Sign("other-secret", small)), platform.ErrBadSignature},
		{"signature of other bytes", uploadRequest(small, Sign(testSecret, big)), platform.ErrBadSignature},
		{"over the limit", uploadRequest(big, Sign(testSecret, big)), platform.ErrMediaTooLarge},
	}
	for _, tt := range tests {
		if _, err := a.Upload(tt.r); !errors.Is(err, tt.want) {
			t.Errorf("%s: Upload = %v, want %v", tt.name, err, tt.want)
		} else if strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: the error shows the secret: %v", tt.name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused uploads left %d files", len(entries))
	}
	noDir := newTestAdapter(t)
	if _, err := noDir.Upload(uploadRequest(small, Sign(testSecret, small))); !errors.Is(err, ErrNoUploads) {
		t.Fatalf("Upload without an upload directory = %v, want ErrNoUploads", err)
	}
}

// An upload's bytes reach the disk before its signature can be checked:
// a body declaring more than the limit is refused unread, and at most
// MaxUploadsInFlight uploads are read at once; the next is refused busy
// and goes through once one ends.
func TestUploadsInFlightAreBounded(t *testing.T) {
	a, dir := uploadAdapter(t, 1000)
	declared := uploadRequest([]byte("x"), Sign(testSecret, []byte("x")))
	declared.ContentLength = 1001
	if _, err := a.Upload(declared); !errors.Is(err, platform.ErrMediaTooLarge) {
		t.Fatalf("a body declaring more than the limit: %v, want ErrMediaTooLarge", err)
	}

	type result struct {
		up  platform.Upload
		err error
	}
	writers := make([]*io.PipeWriter, MaxUploadsInFlight)
	results := make(chan result, MaxUploadsInFlight)
	for i := range writers {
		pr, pw := io.Pipe()
		writers[i] = pw
		body := []byte(fmt.Sprintf("slow upload %d", i))
		r := httptest.NewRequest(http.MethodPost, "/webhooks/acme/web/uploads", pr)
		r.Header.Set(SignatureHeader, Sign(testSecret, body))
		go func() {
			up, err := a.Upload(r)
			results <- result{up, err}
		}()
		if _, err := pw.Write(body); err != nil { // read: the upload holds its slot
			t.Fatal(err)
		}
	}
	small := []byte("one more")
	if _, err := a.Upload(uploadRequest(small, Sign(testSecret, small))); !errors.Is(err, platform.ErrUploadsBusy) {
		t.Fatalf("an upload beyond %d in flight: %v, want ErrUploadsBusy", MaxUploadsInFlight, err)
	}
	for _, pw := range writers {
		pw.Close()
	}
	for range writers {
		if r := <-results; r.err != nil {
			t.Fatalf("a slow upload: %v", r.err)
		}
	}
	if _, err := a.Upload(uploadRequest(small, Sign(testSecret, small))); err != nil {
		t.Fatalf("an upload once the others ended: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != MaxUploadsInFlight+1 {
		t.Fatalf("upload directory holds %d files, want %d", len(entries), MaxUploadsInFlight+1)
	}
}

func TestUploadsExpire(t *testing.T) {
	a, dir := uploadAdapter(t, 100)
	now := time.Now()
	a.uploads.now = func() time.Time { return now }
	old := []byte("old upload")
	up, err := a.Upload(uploadRequest(old, Sign(testSecret, old)))
	if err != nil {
		t.Fatal(err)
	}
	past := now.Add(-UploadTTL - time.Minute)
	if err := os.Chtimes(filepath.Join(dir, up.SHA256), past, past); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * sweepEvery)
	fresh := []byte("fresh upload")
	if _, err := a.Upload(uploadRequest(fresh, Sign(testSecret, fresh))); err != nil {
		t.Fatal(err)
	}
	_, err = a.FetchMedia(context.Background(), up.Ref, 100)
	platformtest.CheckMediaError(t, err, "gone")
}

func TestFetchMediaGone(t *testing.T) {
	a, dir := uploadAdapter(t, 100)
	missing := strings.Repeat("ab", 32)
	for _, ref := range []string{"upload:" + missing, "upload:xyz", "not a reference"} {
		_, err := a.FetchMedia(context.Background(), ref, 100)
		platformtest.CheckMediaError(t, err, "gone")
	}
	// A damaged upload does not pass its checksum.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, missing), []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := a.FetchMedia(context.Background(), "upload:"+missing, 100)
	platformtest.CheckMediaError(t, err, "gone")
	_, err = newTestAdapter(t).FetchMedia(context.Background(), "upload:"+missing, 100)
	platformtest.CheckMediaError(t, err, "gone")
}

func TestFetchMediaHostedBySite(t *testing.T) {
	stub := &platformtest.Routes{Routes: map[string]platformtest.Route{
		"GET /u/a.mp3":    {ContentType: "audio/mpeg", Body: "ID3 audio"},
		"GET /u/gone.png": {Status: 404},
		"GET /u/busy.png": {Status: 503},
	}}
	srv := platformtest.Start(t, stub)
	// By default an attachment URL on a host that is not public is
	// refused, unfetched.
	public, err := New(Config{Secret: testSecret, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = public.FetchMedia(context.Background(), srv.URL+"/u/a.mp3", 100)
	if platformtest.CheckMediaError(t, err, "gone"); !errors.Is(err, platform.ErrPrivateAddress) || len(stub.Requests()) != 0 {
		t.Fatalf("an attachment URL on a loopback host: %v, %d requests", err, len(stub.Requests()))
	}
	a, err := New(Config{Secret: testSecret, HTTPClient: srv.Client(), AllowPrivateMediaAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.FetchMedia(context.Background(), srv.URL+"/u/a.mp3", 100)
	if err != nil || string(m.Data) != "ID3 audio" || m.ContentType != "audio/mpeg" {
		t.Fatalf("FetchMedia = %+v, %v", m, err)
	}
	if auth := stub.Requests()[0].Header.Get(SignatureHeader) + stub.Requests()[0].Header.Get("Authorization"); auth != "" {
		t.Fatalf("the site got credentials %q", auth)
	}
	_, err = a.FetchMedia(context.Background(), srv.URL+"/u/a.mp3", 5)
	platformtest.CheckMediaError(t, err, "too large")
	_, err = a.FetchMedia(context.Background(), srv.URL+"/u/gone.png", 100)
	platformtest.CheckMediaError(t, err, "gone")
	_, err = a.FetchMedia(context.Background(), srv.URL+"/u/busy.png", 100)
	platformtest.CheckMediaError(t, err, "temporary")
}

func TestParseAttachmentUploadErrors(t *testing.T) {
	a := newTestAdapter(t)
	up := "upload:" + strings.Repeat("0f", 32)
	for name, att := range map[string]string{
		"both":      `{"upload":"` + up + `","url":"https://x.example/a.png"}`,
		"bad ref":   `{"upload":"upload:1234"}`,
		"no prefix": `{"upload":"` + strings.Repeat("0f", 32) + `"}`,
	} {
		body := []byte(`{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"message":{"attachment":` + att + `}}]}`)
		if _, err := a.Parse(nil, body); !errors.Is(err, platform.ErrMalformed) || !strings.Contains(err.Error(), "attachment") {
			t.Errorf("%s: Parse = %v, want ErrMalformed naming the attachment", name, err)
		}
	}
}

// A released upload is removed; a URL the site hosts, an unknown
// reference and an upload already gone are left alone without an error.
func TestReleaseMedia(t *testing.T) {
	a, dir := uploadAdapter(t, 100)
	png := []byte("\x89PNG\r\n\x1a\nreleased")
	up, err := a.Upload(uploadRequest(png, Sign(testSecret, png)))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	other := up.Ref[:len(up.Ref)-1] + "0" // another upload's reference
	if other == up.Ref {
		other = up.Ref[:len(up.Ref)-1] + "1"
	}
	for _, ref := range []string{"https://example.com/a.png", "upload:not-hex", other} {
		if err := a.ReleaseMedia(context.Background(), ref); err != nil {
			t.Errorf("ReleaseMedia(%q) = %v, want nil", ref, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("upload directory holds %v before the release, want the upload", entries)
	}
	if err := a.ReleaseMedia(context.Background(), up.Ref+"#name=a.png"); err != nil {
		t.Fatalf("ReleaseMedia: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("upload directory holds %v after the release, want nothing", entries)
	}
	if err := a.ReleaseMedia(context.Background(), up.Ref); err != nil {
		t.Errorf("ReleaseMedia of an upload already gone = %v, want nil", err)
	}
	_, err = a.FetchMedia(context.Background(), up.Ref, 100)
	platformtest.CheckMediaError(t, err, "gone")
}
