package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Bounds of the waits for the connector processes.
const (
	readyTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
	pollEvery    = 20 * time.Millisecond
)

// proc is one run of `connector serve`.
type proc struct {
	label string
	cmd   *exec.Cmd
	done  chan struct{}
	ready time.Time
	peak  int64         // VmHWM in bytes, the largest sample; guarded by mu
	cpu   time.Duration // user + system CPU time, the last sample; guarded by mu
	mu    sync.Mutex
}

// replica is one connector: its address, its log and its current process.
type replica struct {
	addr    string
	logPath string
	cur     *proc
}

func (r *replica) base() string { return "http://" + r.addr }

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// start runs `exe serve -config cfgPath` on the replica's address, its
// output appended to the replica's log, and waits until /readyz answers 200.
// The process is returned whenever it was started, even with an error.
func (r *replica) start(ctx context.Context, exe, cfgPath, label string) (*proc, error) {
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the connector's log: %w", err)
	}
	fmt.Fprintf(logFile, "=== bench: starting %s at %s ===\n", label, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(exe, "serve", "-config", cfgPath)
	cmd.Env = append(childEnviron(), "CONNECTOR_LISTEN="+r.addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	err = cmd.Start()
	closeErr := logFile.Close() // the child holds its own descriptor
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	if closeErr != nil {
		return nil, fmt.Errorf("close the connector's log: %w", closeErr)
	}
	p := &proc{label: label, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status is in cmd.ProcessState
		close(p.done)
	}()
	r.cur = p

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.done:
			return p, fmt.Errorf("%s exited (%s) before it was ready; its log: %s", label, cmd.ProcessState, r.logPath)
		case <-ctx.Done():
			return p, ctx.Err()
		default:
		}
		resp, err := client.Get(r.base() + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.ready = time.Now()
				p.sample()
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("%s was not ready within %s (last error: %v); its log: %s", label, readyTimeout, err, r.logPath)
		}
		time.Sleep(pollEvery)
	}
}

// childEnviron is the environment without the CONNECTOR_* variables, which
// would override the configuration file.
func childEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONNECTOR_") {
			out = append(out, kv)
		}
	}
	return out
}

// sample records the process's peak resident set size so far (VmHWM), if
// it still runs.
func (p *proc) sample() {
	select {
	case <-p.done:
		return
	default:
	}
	n, err := peakRSS(p.cmd.Process.Pid)
	if err != nil {
		return
	}
	cpu, err := cpuTime(p.cmd.Process.Pid)
	p.mu.Lock()
	p.peak = max(p.peak, n)
	if err == nil {
		p.cpu = max(p.cpu, cpu)
	}
	p.mu.Unlock()
}

// cpuTime returns the CPU time the process used so far: its final figure
// once it has been waited for, the last sample otherwise.
func (p *proc) cpuTime() time.Duration {
	select {
	case <-p.done:
		if st := p.cmd.ProcessState; st != nil {
			return st.UserTime() + st.SystemTime()
		}
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cpu
}

func (p *proc) peakRSS() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	p.sample()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits for the process to end (SIGKILL after
// stopTimeout). It returns an error when it did not exit 0.
func (p *proc) stop() error {
	p.sample()
	select {
	case <-p.done:
		return fmt.Errorf("%s had exited (%s)", p.label, p.cmd.ProcessState)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.label, stopTimeout)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("%s exited with code %d after SIGTERM", p.label, code)
	}
	return nil
}

// selfCPU is the user and system CPU time this process used so far (zero
// where getrusage fails).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTime reads utime + stime of a Linux process from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after its closing parenthesis start at field 3 (state).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime (14) and stime (15)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// peakRSS reads VmHWM, the peak resident set size, of a Linux process.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
}

// freshDatabase creates a uniquely named database on the server of dsn and
// returns a DSN for it and a function that drops it.
func freshDatabase(ctx context.Context, dsn string) (string, func(context.Context) error, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	name := "connector_bench_" + hex.EncodeToString(suffix)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return withDatabase(dsn, name), drop, nil
}

// withDatabase returns dsn (a URL or keyword/value connection string)
// naming the database name instead of its own.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + name
			u.RawPath = ""
			return u.String()
		}
	}
	// In a keyword/value string the last setting of a keyword wins.
	return strings.TrimSpace(dsn) + " dbname=" + name
}
