package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
)

const (
	// UploadPrefix starts the reference of an uploaded item:
	// "upload:<hex SHA-256 of the bytes>".
	UploadPrefix = "upload:"
	// DefaultMaxUploadBytes bounds an upload when Config.MaxUploadBytes is
	// zero: 25 MiB.
	DefaultMaxUploadBytes = 25 << 20
	// MaxUploadsInFlight is how many uploads one channel reads at once.
	// An upload's signature covers its whole body, so its bytes are
	// written to disk before they can be checked: this bounds what
	// requests that turn out unsigned can hold there (4 × the channel's
	// limit, 100 MiB by default) while they last.
	MaxUploadsInFlight = 4
	// UploadTTL is how long an upload is kept: a message must name it, and
	// the connector fetch it, within that time. Older uploads are removed.
	UploadTTL = 7 * 24 * time.Hour
	// sweepEvery is how often an upload sweeps the expired ones.
	sweepEvery = time.Hour
)

// ErrNoUploads is returned by Upload on a channel configured without an
// upload directory; it wraps platform.ErrNoUploads.
var ErrNoUploads = fmt.Errorf("%w (no upload_dir)", platform.ErrNoUploads)

// uploads keeps a channel's uploaded items: one file per item, named after
// the hex SHA-256 of its bytes.
type uploads struct {
	dir       string
	max       int64
	slots     chan struct{} // one per upload being read (MaxUploadsInFlight)
	mu        sync.Mutex
	lastSweep time.Time
	now       func() time.Time
}

var (
	_ platform.MediaFetcher  = (*Adapter)(nil)
	_ platform.MediaReleaser = (*Adapter)(nil)
	_ platform.Uploader      = (*Adapter)(nil)
)

// Upload keeps the body of an upload request: the bytes of one media item,
// signed like a delivery (X-Webchat-Signature over the raw body). A body
// that declares more than the channel's limit is refused before it is
// read, and so is an upload beyond the MaxUploadsInFlight the channel is
// reading (platform.ErrUploadsBusy). It streams the body to a temporary
// file of the upload directory while computing the signature and the
// checksum, refuses it (removing the file) when the signature is wrong
// (platform.ErrBadSignature) or the body is over the channel's limit
// (platform.ErrMediaTooLarge), and otherwise
// syncs the file to disk under its checksum and returns its reference. The
// same bytes uploaded twice give the same reference: a retried upload is
// harmless.
func (a *Adapter) Upload(r *http.Request) (platform.Upload, error) {
	u := a.uploads
	if u == nil {
		return platform.Upload{}, ErrNoUploads
	}
	header := r.Header.Get(SignatureHeader)
	want, err := parseSignature(header)
	if err != nil {
		return platform.Upload{}, err
	}
	if r.ContentLength > u.max {
		return platform.Upload{}, fmt.Errorf("%w: the upload declares %d bytes, the channel's limit is %d", platform.ErrMediaTooLarge, r.ContentLength, u.max)
	}
	select {
	case u.slots <- struct{}{}:
		defer func() { <-u.slots }()
	default:
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w (%d at once); retry it", platform.ErrUploadsBusy, cap(u.slots))
	}
	if err := os.MkdirAll(u.dir, 0o700); err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w", err)
	}
	u.sweep()
	tmp, err := os.CreateTemp(u.dir, ".upload-*")
	if err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	mac, sum := hmac.New(sha256.New, a.secret), sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, mac, sum), io.LimitReader(r.Body, u.max+1))
	if err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: reading the body: %w", err)
	}
	if n > u.max {
		return platform.Upload{}, fmt.Errorf("%w: the upload is larger than the channel's limit of %d bytes", platform.ErrMediaTooLarge, u.max)
	}
	if !hmac.Equal(want, mac.Sum(nil)) {
		return platform.Upload{}, fmt.Errorf("%w: %s does not match the body", platform.ErrBadSignature, SignatureHeader)
	}
	if err := tmp.Sync(); err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w", err)
	}
	digest := hexSum(sum)
	if err := os.Rename(tmp.Name(), filepath.Join(u.dir, digest)); err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w", err)
	}
	keep = true
	if err := syncDir(u.dir); err != nil {
		return platform.Upload{}, fmt.Errorf("webchat: upload: %w", err)
	}
	return platform.Upload{Ref: UploadPrefix + digest, Size: n, SHA256: digest}, nil
}

// parseSignature decodes an X-Webchat-Signature header value.
func parseSignature(header string) ([]byte, error) {
	if header == "" {
		return nil, fmt.Errorf("%w: missing %s header", platform.ErrBadSignature, SignatureHeader)
	}
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: %s does not start with %q", platform.ErrBadSignature, SignatureHeader, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return nil, fmt.Errorf("%w: %s is not %q followed by %d hex digits", platform.ErrBadSignature, SignatureHeader, signaturePrefix, 2*sha256.Size)
	}
	return got, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// syncDir flushes a directory's entries (a rename) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// sweep removes the uploads older than UploadTTL, at most once an hour.
func (u *uploads) sweep() {
	u.mu.Lock()
	now := u.now()
	if now.Sub(u.lastSweep) < sweepEvery {
		u.mu.Unlock()
		return
	}
	u.lastSweep = now
	u.mu.Unlock()
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || e.IsDir() || now.Sub(info.ModTime()) < UploadTTL {
			continue
		}
		_ = os.Remove(filepath.Join(u.dir, e.Name())) // another sweep may have removed it
	}
}

// FetchMedia reads a message's attachment: an upload ("upload:<sha256>",
// with the name and type the message gave as a fragment, see
// platform.JoinMediaRef) from the channel's upload directory, checking its
// checksum; or an attachment URL the site hosts, downloaded with no
// credentials. An upload that is not there (expired, never uploaded, or
// on a channel without an upload directory), and a URL the site answers
// 403, 404 or 410, wrap platform.ErrMediaGone. The type is the message's,
// else the site's Content-Type, else sniffed.
func (a *Adapter) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	base, name, typ := platform.SplitMediaRef(ref)
	var m platform.Media
	var err error
	if digest, ok := strings.CutPrefix(base, UploadPrefix); ok {
		if m, err = a.readUpload(digest, max); err != nil {
			return platform.Media{}, fmt.Errorf("webchat: media: %w", err)
		}
	} else {
		if _, ok := platform.HTTPURL(base); !ok {
			return platform.Media{}, fmt.Errorf("webchat: media: %w: the reference is neither an upload nor a URL", platform.ErrMediaGone)
		}
		m, err = platform.GetMedia(ctx, a.api, max, platform.MediaRequest{
			URL: base, Gone: []int{http.StatusForbidden, http.StatusNotFound, http.StatusGone}, PublicOnly: a.publicMedia})
		if err != nil {
			return platform.Media{}, fmt.Errorf("webchat: media: %w", err)
		}
	}
	return m.Named(name, typ), nil
}

// ReleaseMedia removes an upload once the connector keeps its bytes
// elsewhere (the media worker's spool or database): it is deleted when
// Salesforce has the File, as retention says, rather than after
// UploadTTL. It removes at once an upload the connector will never fetch
// (its message excluded or refused). A URL the site hosts, and an upload
// already gone, are left alone.
func (a *Adapter) ReleaseMedia(ctx context.Context, ref string) error {
	base, _, _ := platform.SplitMediaRef(ref)
	digest, ok := strings.CutPrefix(base, UploadPrefix)
	if !ok || a.uploads == nil {
		return nil
	}
	if b, err := hex.DecodeString(digest); err != nil || len(b) != sha256.Size {
		return nil // not an upload's reference: nothing of it is kept
	}
	err := os.Remove(filepath.Join(a.uploads.dir, strings.ToLower(digest)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("webchat: release upload %s: %w", digest, err)
	}
	return nil
}

// readUpload reads the upload with the hex SHA-256 digest.
func (a *Adapter) readUpload(digest string, max int64) (platform.Media, error) {
	if a.uploads == nil {
		return platform.Media{}, fmt.Errorf("%w: %w", platform.ErrMediaGone, ErrNoUploads)
	}
	if b, err := hex.DecodeString(digest); err != nil || len(b) != sha256.Size {
		return platform.Media{}, fmt.Errorf("%w: %q is not an upload's reference", platform.ErrMediaGone, platform.Clip(UploadPrefix+digest, 80))
	}
	f, err := os.Open(filepath.Join(a.uploads.dir, strings.ToLower(digest)))
	if errors.Is(err, os.ErrNotExist) {
		return platform.Media{}, fmt.Errorf("%w: no upload %s (expired after %s, or never uploaded)", platform.ErrMediaGone, digest, UploadTTL)
	}
	if err != nil {
		return platform.Media{}, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > max {
		return platform.Media{}, platform.TooLarge(info.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return platform.Media{}, err
	}
	if int64(len(data)) > max {
		return platform.Media{}, fmt.Errorf("%w: more than %d bytes", platform.ErrMediaTooLarge, max)
	}
	if sum := sha256.Sum256(data); !strings.EqualFold(hex.EncodeToString(sum[:]), digest) {
		return platform.Media{}, fmt.Errorf("%w: upload %s does not match its checksum (damaged on disk)", platform.ErrMediaGone, digest)
	}
	return platform.Media{Data: data, ContentType: strings.SplitN(http.DetectContentType(data), ";", 2)[0]}, nil
}
