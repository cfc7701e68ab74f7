package metrics

import (
	"math"
	"testing"
	"time"
)

func TestRatePerMinuteOverTheLastMinute(t *testing.T) {
	m := New()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	r := NewRate(m.Pushed, func() time.Time { return now })
	if got := r.PerMinute("acme"); got != 0 {
		t.Fatalf("before any sample: %v, want 0", got)
	}
	r.Sample([]string{"acme"})
	now = now.Add(10 * time.Second)
	m.Pushed.WithLabelValues("acme").Add(5)
	if got := r.PerMinute("acme"); got != 5 {
		t.Fatalf("5 pushed in the first 10 s: %v per minute, want 5 (not extrapolated)", got)
	}
	now = now.Add(-10 * time.Second)
	r.samples = nil
	r.Sample([]string{"acme"})
	for range 12 { // a minute in 5 s steps, 10 pushed at each
		now = now.Add(5 * time.Second)
		m.Pushed.WithLabelValues("acme").Add(10)
		r.Sample([]string{"acme"})
	}
	if got := r.PerMinute("acme"); math.Abs(got-120) > 1e-9 {
		t.Fatalf("120 pushed in a minute: %v per minute", got)
	}
	// Nothing more for a minute: the rate falls to 0 as the window moves.
	for range 12 {
		now = now.Add(5 * time.Second)
		r.Sample([]string{"acme"})
	}
	if got := r.PerMinute("acme"); got != 0 {
		t.Fatalf("a quiet minute: %v per minute, want 0", got)
	}
	if len(r.samples) > 14 {
		t.Fatalf("%d samples kept; the window needs 13", len(r.samples))
	}
	if got := r.PerMinute("globex"); got != 0 {
		t.Fatalf("a tenant never sampled: %v, want 0", got)
	}
}
