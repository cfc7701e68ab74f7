package postgres

import (
	"testing"

	"github.com/chatsync/sfconnector/connector/store/storetest"
)

// BenchmarkClaim measures Claim on an outbox with a large backlog, and
// with every tenant skipped (see storetest.RunClaimBenchmark), in a fresh
// schema of the test server.
func BenchmarkClaim(b *testing.B) {
	s, _ := migrated(b)
	storetest.RunClaimBenchmark(b, s, storetest.DefaultBacklog)
}
