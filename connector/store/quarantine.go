package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Validate reports what a Quarantined to store lacks.
func (q Quarantined) Validate() error {
	var missing []error
	for _, f := range []struct{ name, v string }{
		{"tenant", q.Tenant}, {"channel", q.Channel}, {"platform", q.Platform}, {"reason", q.Reason},
	} {
		if f.v == "" {
			missing = append(missing, fmt.Errorf("the %s is required", f.name))
		}
	}
	if len(q.Raw) == 0 {
		missing = append(missing, errors.New("the raw event is required"))
	}
	if q.ReceivedAt.IsZero() {
		missing = append(missing, errors.New("ReceivedAt is required"))
	}
	return errors.Join(missing...)
}

// QuarantineDigest is the key under which a tenant's channel keeps one
// raw event once: the SHA-256 of raw, in hex.
func QuarantineDigest(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
