package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Millis is a duration shown in milliseconds in JSON.
type Millis time.Duration

// MarshalJSON writes the duration as a number of milliseconds.
func (m Millis) MarshalJSON() ([]byte, error) {
	return json.Marshal(math.Round(float64(time.Duration(m))/float64(time.Microsecond)) / 1000)
}

func (m Millis) String() string {
	d := time.Duration(m)
	switch {
	case d.Abs() >= time.Second:
		return d.Round(time.Millisecond).String()
	case d.Abs() >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.String()
	}
}

// Report is what a run measured. The package doc defines every figure.
type Report struct {
	Settings Settings `json:"settings"`

	Deliveries int `json:"deliveries"`
	Accepted   int `json:"accepted"` // deliveries
	// AcceptedMessages counts the messages of the accepted deliveries: the
	// per-message figures below are per accepted message.
	AcceptedMessages  int     `json:"accepted_messages"`
	Errors            int     `json:"errors"`
	FirstError        string  `json:"first_error,omitempty"`
	AcceptedPerSecond float64 `json:"accepted_per_second"`
	NoopPerSecond     float64 `json:"noop_per_second"` // the mean of the two below
	NoopBefore        float64 `json:"noop_before_per_second"`
	NoopAfter         float64 `json:"noop_after_per_second"`
	NoopErrors        int     `json:"noop_errors"`
	Ratio             float64 `json:"ratio"`

	Calls             int     `json:"salesforce_calls"`
	FailedCalls       int     `json:"salesforce_failed_calls"`
	CallsPer1000      float64 `json:"calls_per_1000_messages"`
	RecordsWritten    int     `json:"records_written"`
	RecordsPerMessage float64 `json:"records_per_message"`

	Delivered       int `json:"delivered"`
	Lost            int `json:"lost"`
	MessagesCreated int `json:"message_records_created"`
	Rewrites        int `json:"message_records_rewritten"`

	P50   Millis `json:"webhook_to_record_p50_ms"`
	P99   Millis `json:"webhook_to_record_p99_ms"`
	Max   Millis `json:"webhook_to_record_max_ms"`
	Drain Millis `json:"drain_ms"`

	Processes []Process `json:"processes"`
	MaxRSS    int64     `json:"max_rss_bytes"`
	// CPUPer1000 is the connector processes' CPU time (user + system) per
	// 1,000 accepted deliveries, over the whole run: a figure that holds
	// on a busy machine, where the rates do not.
	CPUPer1000 Millis `json:"cpu_per_1000_deliveries_ms"`
	// BenchCPUPer1000 is this process's CPU time (the load generator, the
	// Salesforce stand-in and the meter) per 1,000 accepted deliveries,
	// from the first delivery to the end of the drain: what the machine
	// spent on the bench itself rather than on the connector.
	BenchCPUPer1000 Millis `json:"bench_cpu_per_1000_deliveries_ms"`
	// NoopCPUPer1000 is this process's CPU time (the load generator and
	// the no-op handler) per 1,000 deliveries the no-op handler accepted,
	// over its two runs. CPURatio is it divided by CPUPer1000 +
	// BenchCPUPer1000: the machine's CPU a delivery costs with the no-op
	// handler against with the connector, which is Ratio when both runs
	// keep every core busy (higher when the connector's run left cores
	// idle).
	NoopCPUPer1000 Millis  `json:"noop_cpu_per_1000_deliveries_ms"`
	CPURatio       float64 `json:"cpu_ratio"`

	// GroupCommits are the group commits of the connector processes: of
	// those running at the end, read after the drain, and of a killed
	// process, read just before the kill (its last moment's are missed).
	GroupCommits GroupCommits `json:"group_commits"`

	Kill *Kill `json:"kill,omitempty"`
}

// GroupCommits is what the connectors' /metrics say of ingestion's group
// commits: the transactions (Groups) and the deliveries they held, and
// the deliveries that met a row lock in their group and ran again alone.
type GroupCommits struct {
	Groups     int `json:"groups"`
	Deliveries int `json:"deliveries"`
	LockWaits  int `json:"lock_waits"`
}

// add adds another process's group commits to g.
func (g *GroupCommits) add(o GroupCommits) {
	g.Groups += o.Groups
	g.Deliveries += o.Deliveries
	g.LockWaits += o.LockWaits
}

// Process is one connector process and its peak resident set size.
type Process struct {
	Label   string `json:"label"`
	PeakRSS int64  `json:"peak_rss_bytes"`
	CPU     Millis `json:"cpu_ms"`
}

// Kill is what -kill-after measured.
type Kill struct {
	After Millis `json:"after_ms"`
	// Waiting is how many messages the killed process had acknowledged
	// whose record was not written when it was killed.
	Waiting int `json:"waiting"`
	// Resumed is the time from the restarted process's readiness to the
	// first write of one of those records, and Caught the time to the last
	// one; nil when none was waiting (or none was written). Negative when
	// another replica wrote them before the restarted process was ready.
	Resumed *Millis `json:"resumed_ms"`
	Caught  *Millis `json:"caught_up_ms"`
	// GroupCommits are the killed process's, read just before the kill
	// (counted in Report.GroupCommits too).
	GroupCommits GroupCommits `json:"group_commits_before_kill"`
}

// Settings are the exact settings of a run.
type Settings struct {
	Store        string   `json:"store"`
	Replicas     int      `json:"replicas"`
	Latency      Millis   `json:"latency_ms"`
	FaultRate    float64  `json:"fault_rate"`
	Contacts     int      `json:"contacts"`
	Messages     int      `json:"messages"`
	PerDelivery  int      `json:"messages_per_delivery"`
	Rate         float64  `json:"rate"`
	Concurrency  int      `json:"concurrency"`
	DrainTimeout Millis   `json:"drain_timeout_ms"`
	KillAfter    Millis   `json:"kill_after_ms,omitempty"`
	Set          []string `json:"set,omitempty"`
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p % of the values
// at or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// latencies sets the webhook → record figures from the unsorted values.
func (r *Report) latencies(ds []time.Duration) {
	slices.Sort(ds)
	r.P50 = Millis(percentile(ds, 50))
	r.P99 = Millis(percentile(ds, 99))
	r.Max = Millis(percentile(ds, 100))
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Print writes the report for a reader.
func (r *Report) Print(w io.Writer) {
	s := r.Settings
	rate := "as fast as possible"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g deliveries/s", s.Rate)
	}
	perDelivery := ""
	if s.PerDelivery > 1 {
		perDelivery = fmt.Sprintf(" (%d a delivery)", s.PerDelivery)
	}
	fmt.Fprintf(w, "connector bench: %d messages%s from %d contacts, %s, %d senders\n", s.Messages, perDelivery, s.Contacts, rate, s.Concurrency)
	fmt.Fprintf(w, "  store %s, %d replica(s); Salesforce stand-in latency %s, fault rate %g", s.Store, s.Replicas, s.Latency, s.FaultRate)
	if s.KillAfter > 0 {
		fmt.Fprintf(w, ", SIGKILL after %s", s.KillAfter)
	}
	if len(s.Set) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(s.Set, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-36s "+format+"\n", append([]any{name}, args...)...)
	}
	row("deliveries accepted", "%d of %d (%d errors)", r.Accepted, r.Deliveries, r.Errors)
	if r.FirstError != "" {
		row("first error", "%s", r.FirstError)
	}
	row("accepted deliveries/s", "%.0f", r.AcceptedPerSecond)
	row("no-op handler deliveries/s", "%.0f (before %.0f, after %.0f; %d errors)", r.NoopPerSecond, r.NoopBefore, r.NoopAfter, r.NoopErrors)
	row("connector / no-op", "%.1f %%", r.Ratio*100)
	row("Salesforce calls", "%d (%d failed)", r.Calls, r.FailedCalls)
	row("calls per 1,000 messages", "%.2f", r.CallsPer1000)
	row("records written per message", "%.2f (%d records)", r.RecordsPerMessage, r.RecordsWritten)
	row("messages in Salesforce", "%d of %d accepted, %d lost", r.Delivered, r.AcceptedMessages, r.Lost)
	row("message records created / rewritten", "%d / %d", r.MessagesCreated, r.Rewrites)
	row("webhook → record p50 / p99 / max", "%s / %s / %s", r.P50, r.P99, r.Max)
	row("drain after the last acknowledgement", "%s", r.Drain)
	for _, p := range r.Processes {
		row("peak RSS, "+p.Label, "%.1f MB", float64(p.PeakRSS)/1e6)
	}
	row("peak RSS, largest", "%.1f MB", float64(r.MaxRSS)/1e6)
	if g := r.GroupCommits; g.Groups > 0 {
		row("group commits", "%d, %.1f deliveries each; %d lock waits", g.Groups, float64(g.Deliveries)/float64(g.Groups), g.LockWaits)
	}
	row("connector CPU per 1,000 deliveries", "%s", r.CPUPer1000)
	row("bench's own CPU per 1,000 deliveries", "%s (load generator, stand-in)", r.BenchCPUPer1000)
	row("no-op runs' CPU per 1,000 deliveries", "%s (load generator, no-op handler)", r.NoopCPUPer1000)
	row("connector / no-op, by CPU", "%.1f %%", r.CPURatio*100)
	if k := r.Kill; k != nil {
		if k.Resumed != nil {
			row("pushing resumed after restart", "%s (%d acknowledged messages were waiting)", *k.Resumed, k.Waiting)
			row("all of them written after restart", "%s", *k.Caught)
		} else {
			row("pushing resumed after restart", "n/a: %d acknowledged messages were waiting", k.Waiting)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  A record counts as written at the midpoint of the Salesforce call that wrote it.")
}
