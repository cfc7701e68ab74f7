package media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/store"
)

// Bytes keeps the bytes of fetched media items until Salesforce has them.
type Bytes interface {
	// Put keeps the item's bytes durably (they survive a crash once Put
	// returns) and returns their location (store.MediaInSpool,
	// store.MediaInStore).
	Put(ctx context.Context, id int64, data []byte) (location string, err error)
	// Get returns the item's bytes, or an error wrapping store.ErrNotFound
	// when they are gone.
	Get(ctx context.Context, id int64) ([]byte, error)
	// Delete drops the item's bytes; bytes already gone are no error.
	// (Bytes in the store go with the item's location: UpdateMedia.)
	Delete(ctx context.Context, id int64) error
}

// Spool keeps the bytes as files of a directory, one per item, named
// after its id: SQLite's choice, next to the database file.
type Spool struct{ Dir string }

func (s Spool) path(id int64) string { return filepath.Join(s.Dir, strconv.FormatInt(id, 10)) }

// Put writes the bytes to a temporary file, syncs it, renames it to the
// item's name and syncs the directory: after a crash the file is whole or
// absent.
func (s Spool) Put(_ context.Context, id int64, data []byte) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", fmt.Errorf("spool media item %d: %w", id, err)
	}
	f, err := os.CreateTemp(s.Dir, ".tmp-"+strconv.FormatInt(id, 10)+"-*")
	if err != nil {
		return "", fmt.Errorf("spool media item %d: %w", id, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(id))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("spool media item %d: %w", id, err)
	}
	if err := syncDir(s.Dir); err != nil {
		return "", fmt.Errorf("spool media item %d: %w", id, err)
	}
	return store.MediaInSpool, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get reads the item's file.
func (s Spool) Get(_ context.Context, id int64) ([]byte, error) {
	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("spooled media item %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("spooled media item %d: %w", id, err)
	}
	return data, nil
}

// Delete removes the item's file.
func (s Spool) Delete(_ context.Context, id int64) error {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete spooled media item %d: %w", id, err)
	}
	return nil
}

// Sweep removes the files of items keep says not to keep (deleted with
// their contact's delete-all, uploaded while a crash came between the
// store's update and the file's removal) and temporary files left by a
// crash. It returns how many files it removed.
func (s Spool) Sweep(ctx context.Context, keep func(ctx context.Context, id int64) (bool, error)) (int, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep the media spool: %w", err)
	}
	n := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			// A write in flight renames its file before it returns; only
			// a crashed one leaves its temporary file. The worker sweeps
			// between its rounds, with no write in flight.
			if err := os.Remove(filepath.Join(s.Dir, name)); err == nil {
				n++
			}
			continue
		}
		id, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue // not the spool's
		}
		ok, err := keep(ctx, id)
		if err != nil {
			return n, err
		}
		if !ok {
			if err := s.Delete(ctx, id); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// InStore keeps the bytes in the store itself (PutMediaData): PostgreSQL's
// choice, which every replica reads.
type InStore struct{ Store store.MediaStore }

// Put keeps the bytes in the item's row.
func (s InStore) Put(ctx context.Context, id int64, data []byte) (string, error) {
	if err := s.Store.PutMediaData(ctx, id, data); err != nil {
		return "", err
	}
	return store.MediaInStore, nil
}

// Get reads the item's bytes from the store.
func (s InStore) Get(ctx context.Context, id int64) ([]byte, error) {
	return s.Store.MediaData(ctx, id)
}

// Delete does nothing: the bytes go when UpdateMedia moves the item's
// location away from the store, in the same statement.
func (s InStore) Delete(context.Context, int64) error { return nil }
