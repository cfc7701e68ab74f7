//go:build !unix

package sqlite

import "os"

// lockFile is a no-op where flock is not available: Options.Owner then
// relies on the operator running one process per file.
func lockFile(path string) (*os.File, error) { return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) }
