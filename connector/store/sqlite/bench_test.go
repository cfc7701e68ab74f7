package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/chatsync/sfconnector/connector/store/storetest"
)

// BenchmarkClaim measures Claim on an outbox with a large backlog, and
// with every tenant skipped (see storetest.RunClaimBenchmark), in a
// database file of its own.
func BenchmarkClaim(b *testing.B) {
	s := openTest(b, filepath.Join(b.TempDir(), "connector.db"), Options{})
	storetest.RunClaimBenchmark(b, s, storetest.DefaultBacklog)
}
