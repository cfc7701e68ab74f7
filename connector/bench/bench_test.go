package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// connectorBin is the connector built for the tests by TestMain.
var connectorBin string

// TestMain builds the connector binary the bench runs. The test's result
// depends on that binary, which Go's test cache does not see: run these
// tests with -count=1 (make test does).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bench-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	connectorBin = filepath.Join(dir, "connector")
	out, err := exec.Command("go", "build", "-o", connectorBin, "github.com/chatsync/sfconnector/cmd/connector").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the connector: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBench runs `connector bench -json` with args and returns its report.
func runBench(t *testing.T, args ...string) *Report {
	t.Helper()
	cmd := exec.Command(connectorBin, append([]string{"bench", "-json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("connector bench %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("the report is not JSON: %v\n%s", err, stdout.String())
	}
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("read the report: %v\n%s", err, stdout.String())
	}
	// The durations are numbers of milliseconds.
	for _, k := range []string{"webhook_to_record_p50_ms", "webhook_to_record_p99_ms", "webhook_to_record_max_ms", "drain_ms"} {
		if _, ok := raw[k].(float64); !ok {
			t.Fatalf("%s = %v, want a number of milliseconds", k, raw[k])
		}
	}
	t.Logf("report:\n%s", stdout.String())
	return &r
}

// UnmarshalJSON reads a duration written by MarshalJSON (milliseconds).
func (m *Millis) UnmarshalJSON(b []byte) error {
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	*m = Millis(ms * 1e6)
	return nil
}

// checkInvariants asserts what holds for every run of deliveries of one
// message that succeeded.
func checkInvariants(t *testing.T, r *Report, messages int) {
	t.Helper()
	checkBatchInvariants(t, r, messages, messages)
	if r.AcceptedMessages != r.Accepted {
		t.Errorf("%d messages accepted in %d deliveries of one message", r.AcceptedMessages, r.Accepted)
	}
}

// checkBatchInvariants asserts what holds for every run of messages in
// deliveries that succeeded.
func checkBatchInvariants(t *testing.T, r *Report, messages, deliveries int) {
	t.Helper()
	if r.Deliveries != deliveries || r.Accepted+r.Errors != deliveries {
		t.Errorf("deliveries %d, accepted %d, errors %d; want %d in all", r.Deliveries, r.Accepted, r.Errors, deliveries)
	}
	if r.Settings.Messages != messages || r.AcceptedMessages > messages || r.AcceptedMessages < r.Accepted {
		t.Errorf("%d messages accepted in %d deliveries, of %d sent", r.AcceptedMessages, r.Accepted, r.Settings.Messages)
	}
	if r.Accepted == 0 || r.Delivered != r.AcceptedMessages || r.Lost != 0 {
		t.Errorf("accepted %d, delivered %d, lost %d: want every accepted message delivered", r.AcceptedMessages, r.Delivered, r.Lost)
	}
	if r.MessagesCreated < r.AcceptedMessages {
		t.Errorf("%d message records created for %d accepted messages", r.MessagesCreated, r.AcceptedMessages)
	}
	if r.Calls <= 0 || r.CallsPer1000 <= 0 {
		t.Errorf("calls %d, per 1,000 messages %g: want some", r.Calls, r.CallsPer1000)
	}
	if r.RecordsPerMessage < 1 {
		t.Errorf("records per message %g, want at least 1", r.RecordsPerMessage)
	}
	if r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max {
		t.Errorf("webhook → record p50 %v, p99 %v, max %v: want 0 < p50 <= p99 <= max", r.P50, r.P99, r.Max)
	}
	if r.AcceptedPerSecond <= 0 || r.NoopPerSecond <= 0 || r.Ratio <= 0 || r.NoopErrors != 0 {
		t.Errorf("rates: connector %g/s, no-op %g/s (%d errors), ratio %g", r.AcceptedPerSecond, r.NoopPerSecond, r.NoopErrors, r.Ratio)
	}
	if r.NoopBefore <= 0 || r.NoopAfter <= 0 || r.NoopPerSecond != (r.NoopBefore+r.NoopAfter)/2 ||
		math.Abs(r.Ratio-r.AcceptedPerSecond/r.NoopPerSecond) > 1e-9 {
		t.Errorf("no-op runs: before %g/s, after %g/s, mean %g/s, ratio %g; want both measured, their mean the yardstick",
			r.NoopBefore, r.NoopAfter, r.NoopPerSecond, r.Ratio)
	}
	if len(r.Processes) == 0 || r.MaxRSS <= 0 {
		t.Errorf("processes %+v, max RSS %d: want a peak RSS", r.Processes, r.MaxRSS)
	}
	for _, p := range r.Processes {
		if p.PeakRSS <= 0 || p.PeakRSS > r.MaxRSS {
			t.Errorf("process %s peak RSS %d (max %d)", p.Label, p.PeakRSS, r.MaxRSS)
		}
		if p.CPU <= 0 {
			t.Errorf("process %s CPU time %v: want some", p.Label, p.CPU)
		}
	}
	if r.CPUPer1000 <= 0 || r.BenchCPUPer1000 <= 0 || r.NoopCPUPer1000 <= 0 {
		t.Errorf("CPU per 1,000 deliveries: connector %v, bench %v, no-op runs %v: want some", r.CPUPer1000, r.BenchCPUPer1000, r.NoopCPUPer1000)
	}
	if want := float64(r.NoopCPUPer1000) / float64(r.CPUPer1000+r.BenchCPUPer1000); r.CPURatio <= 0 || math.Abs(r.CPURatio-want) > 1e-4*want { // the report's JSON rounds the times
		t.Errorf("ratio by CPU %g, want the no-op runs' CPU a delivery over the connector's and the bench's: %g", r.CPURatio, want)
	}
}

// checkGroups asserts that the connectors' group commits, read from their
// metrics, held every accepted delivery (of a run without a kill).
func checkGroups(t *testing.T, r *Report) {
	t.Helper()
	if g := r.GroupCommits; g.Deliveries != r.Accepted || g.Groups < 1 || g.Groups > g.Deliveries || g.LockWaits > g.Deliveries {
		t.Errorf("group commits %+v for %d accepted deliveries", g, r.Accepted)
	}
}

func TestBenchSQLite(t *testing.T) {
	r := runBench(t, "-messages", "200", "-contacts", "20", "-latency", "5ms", "-concurrency", "16")
	checkInvariants(t, r, 200)
	checkGroups(t, r)
	if r.Errors != 0 {
		t.Errorf("%d deliveries failed: %s", r.Errors, r.FirstError)
	}
	if r.Settings.Store != "sqlite" || r.Settings.Replicas != 1 || len(r.Processes) != 1 || r.Kill != nil {
		t.Errorf("settings %+v, processes %+v, kill %+v", r.Settings, r.Processes, r.Kill)
	}
}

// Deliveries of several contacts' messages: 200 messages, 3 a delivery,
// the last one of 2.
func TestBenchSeveralMessagesADelivery(t *testing.T) {
	r := runBench(t, "-messages", "200", "-per-delivery", "3", "-contacts", "20", "-latency", "5ms", "-concurrency", "16")
	checkBatchInvariants(t, r, 200, 67)
	checkGroups(t, r)
	if r.Errors != 0 || r.AcceptedMessages != 200 || r.Settings.PerDelivery != 3 {
		t.Errorf("%d deliveries failed (%s); %d messages accepted, settings %+v", r.Errors, r.FirstError, r.AcceptedMessages, r.Settings)
	}
	// Every message is one record, and each of the 20 conversations one
	// at least.
	if r.RecordsWritten < 220 {
		t.Errorf("%d records written for 200 messages of 20 conversations", r.RecordsWritten)
	}
}

// The first process is killed while the load runs and restarted: nothing
// it acknowledged is lost. Short leases make its conversations free again
// soon whatever the restart does with them.
func TestBenchKillAndRestart(t *testing.T) {
	r := runBench(t, "-messages", "200", "-contacts", "20", "-latency", "5ms", "-concurrency", "4", "-rate", "100",
		"-kill-after", "500ms", "-set", "dispatcher.lease_ttl=2s", "-set", "timers.rescue=@every 1s")
	checkInvariants(t, r, 200)
	if r.Kill == nil || len(r.Processes) != 2 {
		t.Fatalf("kill %+v, processes %+v: want a kill and a restart", r.Kill, r.Processes)
	}
	if r.Kill.Resumed != nil && *r.Kill.Caught < *r.Kill.Resumed {
		t.Errorf("caught up %v before resuming %v", *r.Kill.Caught, *r.Kill.Resumed)
	}
	// The killed process's group commits, read before the kill, count with
	// the restarted one's: together they hold the accepted deliveries but
	// those of the killed process's last moment (fewer than half its
	// own), and those committed whose answer the kill cut (at most one a
	// sender).
	if before, all := r.Kill.GroupCommits, r.GroupCommits; before.Groups < 1 || before.Deliveries < before.Groups ||
		all.Groups <= before.Groups || all.Deliveries < r.Accepted-before.Deliveries/2 || all.Deliveries > r.Accepted+4 {
		t.Errorf("group commits: %+v before the kill, %+v in all, for %d accepted deliveries; want the killed process's and the restarted one's",
			before, all, r.Accepted)
	}
}

func TestBenchPostgresReplicas(t *testing.T) {
	dsn := os.Getenv("CONNECTOR_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	r := runBench(t, "-store", "postgres", "-dsn", dsn, "-replicas", "2",
		"-messages", "200", "-contacts", "20", "-latency", "5ms", "-concurrency", "16")
	checkInvariants(t, r, 200)
	if r.Errors != 0 {
		t.Errorf("%d deliveries failed: %s", r.Errors, r.FirstError)
	}
	if len(r.Processes) != 2 {
		t.Errorf("processes %+v, want 2", r.Processes)
	}
	checkGroups(t, r)
}

func TestBenchRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-replicas", "2"},
		{"-fault-rate", "1.5"},
		{"-set", "dispatcher.no_such_key=1"},
	} {
		out, err := exec.Command(connectorBin, append([]string{"bench"}, args...)...).CombinedOutput()
		if err == nil {
			t.Errorf("bench %v succeeded:\n%s", args, out)
		}
	}
}
