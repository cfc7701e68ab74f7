package integration_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// Credentials and secrets shared by every test configuration. They are
// test values: the stand-ins accept exactly these.
const (
	clientID      = "3MVG9integration.consumer.key"
	clientSecret  = "integration-client-secret"
	appSecret     = "integration-wa-app-secret"
	verifyToken   = "integration-wa-verify-token"
	webchatSecret = "integration-webchat-secret"
	operatorToken = "integration-operator-token"

	// defaultPhoneNumberID is the WhatsApp phone number id of a channel
	// that does not set its own.
	defaultPhoneNumberID = "1065550001"
)

// Bounds of the waits. They bound how long a test waits before it fails
// with what it saw; nothing asserts that anything is faster than them.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 60 * time.Second
	waitTimeout  = 60 * time.Second
	pollEvery    = 25 * time.Millisecond
)

// Salesforce object and field names of the default mapping.
const (
	convObject = "Chat_Conversation__c"
	msgObject  = "Chat_Message__c"
)

// org is one Salesforce org: a stand-in served over HTTP by the test
// process.
type org struct {
	SF  *standin.Server
	URL string
}

// newOrg starts a stand-in for orgID (standin.DefaultOrgID when empty)
// that accepts the test client credentials. wrap, when not nil, wraps its
// handler, for tests that watch the calls as they arrive.
func newOrg(t *testing.T, orgID string, wrap func(http.Handler) http.Handler) *org {
	t.Helper()
	sf := standin.New(standin.Options{OrgID: orgID, ClientID: clientID, ClientSecret: clientSecret})
	var h http.Handler = sf
	if wrap != nil {
		h = wrap(sf)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &org{SF: sf, URL: srv.URL}
}

// tenantSpec describes one tenant of a test configuration.
type tenantSpec struct {
	ID  string
	Org *org
	// Excluded are the org's excluded states by name; nil leaves the key
	// out, which means the default ([AUTO_BOT]).
	Excluded []string
	Channels []channelSpec
	// BlockingEnabled is the tenant's blocking_enabled; left out when nil.
	BlockingEnabled *bool
	// LastMessageAt, when set, maps the conversation's last message time
	// onto that field (not written by default).
	LastMessageAt string
}

// channelSpec describes one channel of a test configuration.
type channelSpec struct {
	ID string
	// Platform is "whatsapp" or "webchat".
	Platform string
	Bot      bool
	// PhoneNumberID is the WhatsApp phone number id; defaultPhoneNumberID
	// when empty.
	PhoneNumberID string
	// InactivityTimeout defaults to an hour, so that nothing expires
	// during a test unless it asks for it; IdleClose is off when zero.
	InactivityTimeout time.Duration
	IdleClose         time.Duration
	// GraphURL and AccessToken are the WhatsApp channel's graph_url and
	// access_token (a Graph API stand-in); left out when empty.
	GraphURL    string
	AccessToken string
}

// phoneNumberID returns the channel's WhatsApp phone number id.
func (c channelSpec) phoneNumberID() string {
	if c.PhoneNumberID != "" {
		return c.PhoneNumberID
	}
	return defaultPhoneNumberID
}

// envOptions describe a test configuration.
type envOptions struct {
	Tenants []tenantSpec
	// MaxBodyBytes is server.max_body_bytes; the default when zero.
	MaxBodyBytes int64
	// ShutdownTimeout is server.shutdown_timeout; 15s when zero.
	ShutdownTimeout time.Duration
	// RequestTimeout is dispatcher.request_timeout; 10s when zero.
	RequestTimeout time.Duration
	// PostgresDSN, when set, puts the store on PostgreSQL instead of the
	// env's own SQLite file (replicas share one).
	PostgresDSN string
	// LeaseTTL is dispatcher.lease_ttl; 5s when zero (short, so that the
	// leases of a killed process are rescued quickly). A dispatch round
	// ends at four fifths of it.
	LeaseTTL time.Duration
}

// env is one connector under test: its configuration file, its SQLite
// file, its log, and the running process, if any.
type env struct {
	t       *testing.T
	opts    envOptions
	cfgPath string
	dbPath  string
	logPath string
	addr    string
	// started is set once a process of this env has served /healthz; the
	// listen address is then kept across restarts.
	started bool
	proc    *proc
	// extraEnv is added to the process's environment at its next starts
	// (a fault hook only a test sets).
	extraEnv []string
}

// proc is one run of the connector process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	code int
}

// newEnv writes the configuration of opts into a fresh temporary folder.
// It does not start the connector: start does. On failure, the tail of the
// connector's log is printed.
func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{
		t: t, opts: opts,
		cfgPath: filepath.Join(dir, "connector.yaml"),
		dbPath:  filepath.Join(dir, "connector.db"),
		logPath: filepath.Join(dir, "connector.log"),
		addr:    freeAddr(t),
	}
	// Cleanups run last-in first-out: the process is stopped first, then
	// its log is printed, then the folder is removed.
	t.Cleanup(e.printLogOnFailure)
	t.Cleanup(e.killIfRunning)
	e.writeConfig()
	return e
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return addr
}

// base is the connector's URL.
func (e *env) base() string { return "http://" + e.addr }

// configMap returns the configuration as YAML-ready maps, so that a test
// may change any key before writing it.
func (e *env) configMap() map[string]any {
	shutdown := e.opts.ShutdownTimeout
	if shutdown == 0 {
		shutdown = 15 * time.Second
	}
	leaseTTL := e.opts.LeaseTTL
	if leaseTTL == 0 {
		leaseTTL = 5 * time.Second
	}
	requestTimeout := e.opts.RequestTimeout
	if requestTimeout == 0 {
		requestTimeout = 10 * time.Second
	}
	server := map[string]any{"listen": e.addr, "shutdown_timeout": shutdown.String()}
	if e.opts.MaxBodyBytes > 0 {
		server["max_body_bytes"] = e.opts.MaxBodyBytes
	}
	var tenants []any
	for _, ts := range e.opts.Tenants {
		sf := map[string]any{
			"org_id":    ts.Org.SF.OrgID(),
			"login_url": ts.Org.URL,
			"auth": map[string]any{
				"flow":          "client_credentials",
				"client_id":     clientID,
				"client_secret": clientSecret,
			},
		}
		if ts.Excluded != nil {
			sf["excluded_states"] = ts.Excluded
		}
		if ts.LastMessageAt != "" {
			sf["mapping"] = map[string]any{"conversation": map[string]any{"last_message_at": ts.LastMessageAt}}
		}
		var chans []any
		for _, cs := range ts.Channels {
			inactivity := cs.InactivityTimeout
			if inactivity == 0 {
				inactivity = time.Hour
			}
			ch := map[string]any{
				"id":                 cs.ID,
				"platform":           cs.Platform,
				"bot":                cs.Bot,
				"inactivity_timeout": inactivity.String(),
				"idle_close":         cs.IdleClose.String(),
			}
			switch cs.Platform {
			case "whatsapp":
				wa := map[string]any{
					"phone_number_id": cs.phoneNumberID(),
					"app_secret":      appSecret,
					"verify_token":    verifyToken,
				}
				if cs.GraphURL != "" {
					wa["graph_url"] = cs.GraphURL
				}
				if cs.AccessToken != "" {
					wa["access_token"] = cs.AccessToken
				}
				ch["whatsapp"] = wa
			case "webchat":
				ch["webchat"] = map[string]any{"secret": webchatSecret}
			default:
				if sec, ok := platformSections[cs.Platform]; ok {
					ch[cs.Platform] = sec
				}
			}
			chans = append(chans, ch)
		}
		tenant := map[string]any{"id": ts.ID, "salesforce": sf, "channels": chans}
		if ts.BlockingEnabled != nil {
			tenant["blocking_enabled"] = *ts.BlockingEnabled
		}
		tenants = append(tenants, tenant)
	}
	st := map[string]any{"driver": "sqlite", "dsn": e.dbPath}
	if e.opts.PostgresDSN != "" {
		st = map[string]any{"driver": "postgres", "dsn": e.opts.PostgresDSN}
	}
	return map[string]any{
		"server": server,
		"store":  st,
		"dispatcher": map[string]any{
			"workers":           2,
			"batch_size":        200,
			"max_conversations": 50,
			"lease_ttl":         leaseTTL.String(),
			"max_attempts":      10,
			"backoff_min":       "50ms",
			"backoff_max":       "1s",
			"poll_interval":     "50ms",
			"request_timeout":   requestTimeout.String(),
			"limit_backoff":     "1s",
		},
		"timers": map[string]any{"expiry": "@every 1s", "retry": "@every 1s", "rescue": "@every 1s", "native_blocks": "@every 1s"},
		// The platforms' media stand-ins listen on loopback.
		"media":   map[string]any{"allow_private_addresses": true},
		"log":     map[string]any{"level": "debug", "format": "json"},
		"api":     map[string]any{"operator_token": operatorToken},
		"tenants": tenants,
	}
}

// writeConfig writes the configuration of e.opts.
func (e *env) writeConfig() {
	e.t.Helper()
	e.writeConfigMap(e.configMap())
}

// writeConfigMap writes m as the configuration file.
func (e *env) writeConfigMap(m map[string]any) {
	e.t.Helper()
	b, err := yaml.Marshal(m)
	if err != nil {
		e.t.Fatalf("marshal the configuration: %v", err)
	}
	if err := os.WriteFile(e.cfgPath, b, 0o600); err != nil {
		e.t.Fatalf("write the configuration: %v", err)
	}
}

// cleanEnviron is the test process's environment without the CONNECTOR_*
// variables, which would override the configuration file.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONNECTOR_") {
			out = append(out, kv)
		}
	}
	return out
}

// errAddrInUse says that the connector could not listen on its address.
var errAddrInUse = errors.New("the listen address is in use")

// start starts `connector serve` and waits until /healthz answers 200. The
// first start of an env moves to another port if the one chosen was taken
// in the meantime; restarts keep the address.
func (e *env) start() {
	e.t.Helper()
	for attempt := 1; ; attempt++ {
		err := e.launch()
		if err == nil {
			e.started = true
			return
		}
		if errors.Is(err, errAddrInUse) && !e.started && attempt < 3 {
			e.addr = freeAddr(e.t)
			e.writeConfig()
			continue
		}
		e.t.Fatalf("start the connector: %v", err)
	}
}

// launch runs the process once and waits for it to be healthy.
func (e *env) launch() error {
	if e.proc != nil {
		return errors.New("the connector is already running")
	}
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the log file: %w", err)
	}
	offset, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		return errors.Join(fmt.Errorf("seek the log file: %w", err), logFile.Close())
	}
	fmt.Fprintf(logFile, "=== integration test: starting connector serve at %s ===\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(connectorBin, "serve", "-config", e.cfgPath)
	cmd.Env = append(cleanEnviron(), e.extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return errors.Join(fmt.Errorf("exec %s: %w", connectorBin, err), logFile.Close())
	}
	// The child holds its own descriptor of the log file.
	if err := logFile.Close(); err != nil {
		e.t.Logf("close the log file: %v", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status is read from ProcessState
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	e.proc = p

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.done:
			e.proc = nil
			out := e.logSince(offset)
			if strings.Contains(out, "address already in use") {
				return fmt.Errorf("%w: %s", errAddrInUse, e.addr)
			}
			return fmt.Errorf("connector serve exited with code %d before it was healthy", p.code)
		default:
		}
		resp, err := client.Get(e.base() + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/healthz did not answer 200 within %s (last error: %v)", startTimeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// stop sends sig to the running process, waits for it to exit and returns
// its exit code (-1 when a signal ended it).
func (e *env) stop(sig syscall.Signal) int {
	e.t.Helper()
	p := e.proc
	if p == nil {
		e.t.Fatal("stop: the connector is not running")
	}
	select {
	case <-p.done:
		e.proc = nil
		e.t.Fatalf("stop: the connector had already exited, with code %d", p.code)
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		e.t.Fatalf("send %v to the connector: %v", sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill() // the test fails anyway; the error adds nothing
		<-p.done
		e.proc = nil
		e.t.Fatalf("the connector did not exit within %s of %v", stopTimeout, sig)
	}
	e.proc = nil
	return p.code
}

// waitExit waits for the running process to exit on its own (a fault
// hook that kills it) and returns its exit code (-1 when a signal ended
// it).
func (e *env) waitExit() int {
	e.t.Helper()
	p := e.proc
	if p == nil {
		e.t.Fatal("waitExit: the connector is not running")
	}
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		e.t.Fatalf("the connector did not exit within %s", waitTimeout)
	}
	e.proc = nil
	return p.code
}

// killIfRunning ends a process a test left running.
func (e *env) killIfRunning() {
	if e.proc == nil {
		return
	}
	_ = e.proc.cmd.Process.Kill() // it may have exited already
	<-e.proc.done
	e.proc = nil
}

// logSince returns the log written after offset.
func (e *env) logSince(offset int64) string {
	b, err := os.ReadFile(e.logPath)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

// printLogOnFailure prints the tail of the connector's log when the test
// failed.
func (e *env) printLogOnFailure() {
	if !e.t.Failed() {
		return
	}
	f, err := os.Open(e.logPath)
	if err != nil {
		e.t.Logf("no connector log: %v", err)
		return
	}
	defer f.Close()
	const keep = 400
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 2*keep {
			lines = append(lines[:0], lines[len(lines)-keep:]...)
		}
	}
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	e.t.Logf("last %d lines of the connector's log (%s):\n%s", len(lines), e.logPath, strings.Join(lines, "\n"))
}

// waitFor polls check until it reports done, failing the test with what
// it last saw when timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, what string, check func() (done bool, seen string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, seen := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", timeout, what, seen)
		}
		time.Sleep(pollEvery)
	}
}

// sender returns a signed-webhook sender for the connector.
func (e *env) sender() *demo.Sender {
	return &demo.Sender{BaseURL: e.base(), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// ingestAnswer is the JSON of a 200 webhook answer.
type ingestAnswer struct {
	Stored     int `json:"stored"`
	Pending    int `json:"pending"`
	Excluded   int `json:"excluded"`
	Duplicates int `json:"duplicates"`
	Receipts   int `json:"receipts"`
	Other      int `json:"other"`
}

// postWhatsApp posts a signed WhatsApp delivery and requires a 200.
func (e *env) postWhatsApp(tenant, channel string, body []byte) ingestAnswer {
	e.t.Helper()
	resp, err := e.sender().WhatsApp(context.Background(), tenant, channel, appSecret, body)
	return e.answer(tenant, channel, resp, err)
}

// postWebChat posts a signed web chat delivery and requires a 200.
func (e *env) postWebChat(tenant, channel string, body []byte) ingestAnswer {
	e.t.Helper()
	resp, err := e.sender().WebChat(context.Background(), tenant, channel, webchatSecret, body)
	return e.answer(tenant, channel, resp, err)
}

func (e *env) answer(tenant, channel string, resp demo.Response, err error) ingestAnswer {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("post to %s/%s: %v", tenant, channel, err)
	}
	if resp.Status != http.StatusOK {
		e.t.Fatalf("post to %s/%s: status %d: %s", tenant, channel, resp.Status, resp.Body)
	}
	var a ingestAnswer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		e.t.Fatalf("post to %s/%s: answer %q: %v", tenant, channel, resp.Body, err)
	}
	return a
}

// api calls the connector's operator API with the operator token and
// returns the status and body. body, when not nil, is sent as JSON.
func (e *env) api(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatalf("marshal %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base()+path, rd)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// apiStats is the JSON of GET /api/v1/tenants/{tenant}/stats.
type apiStats struct {
	Messages      map[string]int `json:"messages"`
	Conversations map[string]int `json:"conversations"`
}

// stats reads a tenant's counts through the operator API.
func (e *env) stats(tenant string) apiStats {
	e.t.Helper()
	code, body := e.api(http.MethodGet, "/api/v1/tenants/"+tenant+"/stats", nil)
	if code != http.StatusOK {
		e.t.Fatalf("stats of %s: status %d: %s", tenant, code, body)
	}
	var s apiStats
	if err := json.Unmarshal(body, &s); err != nil {
		e.t.Fatalf("stats of %s: %q: %v", tenant, body, err)
	}
	return s
}

// deadLetter is one entry of GET /api/v1/tenants/{tenant}/dead-letters.
type deadLetter struct {
	ID         int64  `json:"id"`
	Channel    string `json:"channel"`
	PlatformID string `json:"platform_id"`
	Kind       string `json:"kind"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error"`
}

// deadLetters lists a tenant's dead messages through the operator API.
func (e *env) deadLetters(tenant string) []deadLetter {
	e.t.Helper()
	code, body := e.api(http.MethodGet, "/api/v1/tenants/"+tenant+"/dead-letters", nil)
	if code != http.StatusOK {
		e.t.Fatalf("dead letters of %s: status %d: %s", tenant, code, body)
	}
	var out struct {
		DeadLetters []deadLetter `json:"dead_letters"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatalf("dead letters of %s: %q: %v", tenant, body, err)
	}
	return out.DeadLetters
}

// openStore opens the connector's SQLite file from the test process (WAL
// lets it read beside the running connector); it is closed at the end of
// the test.
func (e *env) openStore() *sqlite.Store {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), e.dbPath, sqlite.Options{})
	if err != nil {
		e.t.Fatalf("open the connector's store: %v", err)
	}
	e.t.Cleanup(func() {
		if err := st.Close(); err != nil {
			e.t.Errorf("close the connector's store: %v", err)
		}
	})
	return st
}

// conversations lists a channel's conversations in every state, oldest
// activity first.
func conversations(t *testing.T, st store.Store, tenant, channel string) []store.Conversation {
	t.Helper()
	convs, err := st.IdleConversations(context.Background(), store.IdleQuery{
		Tenant: tenant, Channel: channel,
		States: statemachine.NewSet(statemachine.All...),
		Before: time.Now().Add(24 * time.Hour),
		Limit:  10000,
	})
	if err != nil {
		t.Fatalf("list the conversations of %s/%s: %v", tenant, channel, err)
	}
	return convs
}

// contactConversations returns a contact's conversations, oldest first
// (by id).
func contactConversations(t *testing.T, st store.Store, tenant, channel, contact string) []store.Conversation {
	t.Helper()
	var out []store.Conversation
	for _, c := range conversations(t, st, tenant, channel) {
		if c.ContactExternalID == contact {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b store.Conversation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// onlyConversation returns a contact's one conversation, failing the test
// when there is not exactly one.
func onlyConversation(t *testing.T, st store.Store, tenant, channel, contact string) store.Conversation {
	t.Helper()
	convs := contactConversations(t, st, tenant, channel, contact)
	if len(convs) != 1 {
		t.Fatalf("contact %s on %s/%s has %d conversations, want 1: %+v", contact, tenant, channel, len(convs), convs)
	}
	return convs[0]
}

// messagesOf lists a conversation's stored messages in order.
func messagesOf(t *testing.T, st store.Store, conversationID int64) []store.Message {
	t.Helper()
	msgs, err := st.ListMessages(context.Background(), conversationID)
	if err != nil {
		t.Fatalf("list the messages of conversation %d: %v", conversationID, err)
	}
	return msgs
}

// convKey is the Conversation_Key__c of a conversation.
func convKey(tenant, channel string, id int64) string {
	return fmt.Sprintf("%s:%s:%d", tenant, channel, id)
}

// msgKey is the Message_Key__c of a message.
func msgKey(tenant, channel, platformID string) string {
	return tenant + ":" + channel + ":" + platformID
}

// records indexes an object's stand-in records by their external id, and
// lists the external ids seen on more than one record.
func records(sf *standin.Server, object, externalID string) (byKey map[string]standin.Record, dupes []string) {
	byKey = map[string]standin.Record{}
	for _, r := range sf.Records(object) {
		k := field(r, externalID)
		if _, seen := byKey[k]; seen {
			dupes = append(dupes, k)
			continue
		}
		byKey[k] = r
	}
	return byKey, dupes
}

// messageRecords indexes the Chat_Message__c records by Message_Key__c,
// failing the test if a key is on two records.
func messageRecords(t *testing.T, sf *standin.Server) map[string]standin.Record {
	t.Helper()
	byKey, dupes := records(sf, msgObject, "Message_Key__c")
	if len(dupes) > 0 {
		t.Fatalf("message keys on more than one record: %v", dupes)
	}
	return byKey
}

// conversationRecords indexes the Chat_Conversation__c records by
// Conversation_Key__c, failing the test if a key is on two records.
func conversationRecords(t *testing.T, sf *standin.Server) map[string]standin.Record {
	t.Helper()
	byKey, dupes := records(sf, convObject, "Conversation_Key__c")
	if len(dupes) > 0 {
		t.Fatalf("conversation keys on more than one record: %v", dupes)
	}
	return byKey
}

// field returns a record's field as a string: strings as they are,
// numbers and booleans formatted, absent fields as "".
func field(r standin.Record, name string) string {
	v, ok := r.Fields[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// waitForRecord waits until the object has a record with the external id
// key, and returns it.
func waitForRecord(t *testing.T, sf *standin.Server, object, externalID, key string) standin.Record {
	t.Helper()
	var rec standin.Record
	waitFor(t, waitTimeout, fmt.Sprintf("%s record %s", object, key), func() (bool, string) {
		byKey, _ := records(sf, object, externalID)
		r, ok := byKey[key]
		rec = r
		return ok, fmt.Sprintf("%d %s records", len(byKey), object)
	})
	return rec
}

// waitForField waits until the record with the external id key has
// name = want, and returns it.
func waitForField(t *testing.T, sf *standin.Server, object, externalID, key, name, want string) standin.Record {
	t.Helper()
	var rec standin.Record
	waitFor(t, waitTimeout, fmt.Sprintf("%s %s with %s = %q", object, key, name, want), func() (bool, string) {
		byKey, _ := records(sf, object, externalID)
		r, ok := byKey[key]
		if !ok {
			return false, "no such record"
		}
		rec = r
		return field(r, name) == want, fmt.Sprintf("%s = %q", name, field(r, name))
	})
	return rec
}

var timerRunsLine = regexp.MustCompile(`^connector_timer_runs_total\{[^}]*timer="([^"]+)"[^}]*\} ([0-9.e+]+)$`)

// timerRuns reads connector_timer_runs_total of a running replica: the
// runs of each timer, whatever their result.
func timerRuns(t *testing.T, e *env) map[string]float64 {
	t.Helper()
	code, body := e.api("GET", "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: status %d: %s", code, body)
	}
	runs := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if m := timerRunsLine.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("metrics line %q", line)
			}
			runs[m[1]] += v
		}
	}
	return runs
}

// waitForTimerRounds waits until every timer of the replica has run n more
// times: a check that something did not happen is made after the rounds
// in which it could have.
func waitForTimerRounds(t *testing.T, e *env, n int) {
	t.Helper()
	var before map[string]float64
	waitFor(t, 30*time.Second, "the timers' first runs", func() (bool, string) {
		before = timerRuns(t, e)
		return len(before) > 0, fmt.Sprint(before)
	})
	waitFor(t, 30*time.Second, fmt.Sprintf("%d more runs of every timer", n), func() (bool, string) {
		now := timerRuns(t, e)
		for name, v := range before {
			if now[name] < v+float64(n) {
				return false, fmt.Sprintf("before %v, now %v", before, now)
			}
		}
		return true, ""
	})
}
