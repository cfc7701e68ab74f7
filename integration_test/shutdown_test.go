package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
)

// callWatch wraps a stand-in and records, as each call arrives and before
// the stand-in handles it, the message keys of every call that upserts
// messages: an sObject Collections upsert of messages, or a Composite
// request with such collections.
type callWatch struct {
	next  http.Handler
	mu    sync.Mutex
	calls [][]string
}

func (w *callWatch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	collection := r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/composite/sobjects/"+msgObject+"/")
	composite := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/composite")
	if collection || composite {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, "read the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		type records struct {
			Records []map[string]any `json:"records"`
		}
		var colls []records
		if collection {
			var req records
			if json.Unmarshal(body, &req) == nil {
				colls = append(colls, req)
			}
		} else {
			var req struct {
				CompositeRequest []struct {
					URL  string  `json:"url"`
					Body records `json:"body"`
				} `json:"compositeRequest"`
			}
			if json.Unmarshal(body, &req) == nil {
				for _, sr := range req.CompositeRequest {
					if strings.Contains(sr.URL, "/composite/sobjects/"+msgObject+"/") {
						colls = append(colls, sr.Body)
					}
				}
			}
		}
		var keys []string
		for _, c := range colls {
			for _, rec := range c.Records {
				if k, ok := rec["Message_Key__c"].(string); ok {
					keys = append(keys, k)
				}
			}
		}
		if len(keys) > 0 {
			w.mu.Lock()
			w.calls = append(w.calls, keys)
			w.mu.Unlock()
		}
	}
	w.next.ServeHTTP(rw, r)
}

// firstCall returns the keys of the first message upsert, if one arrived.
func (w *callWatch) firstCall() ([]string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.calls) == 0 {
		return nil, false
	}
	return w.calls[0], true
}

// TestSIGTERMDrainsTheBatchInFlight sends SIGTERM while a message upsert
// is in flight to a slow Salesforce: the process finishes that call,
// records its outcome and exits 0; after a restart, every acknowledged
// message is in Salesforce exactly once.
func TestSIGTERMDrainsTheBatchInFlight(t *testing.T) {
	t.Parallel()
	watch := &callWatch{}
	acme := newOrg(t, "", func(h http.Handler) http.Handler { watch.next = h; return watch })
	e := newEnv(t, envOptions{
		ShutdownTimeout: 15 * time.Second,
		// A 2 s call (conversations, then messages) fits in one round.
		LeaseTTL: 20 * time.Second,
		Tenants: []tenantSpec{{
			ID: "acme", Org: acme,
			Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}},
		}},
	})
	e.start()
	acme.SF.SetLatency(2 * time.Second)

	var acked []string
	var batch []whatsapp.Inbound
	for c := range 3 {
		for k := range 2 {
			id := fmt.Sprintf("wamid.T%d.%d", c, k)
			batch = append(batch, whatsapp.Inbound{From: fmt.Sprintf("3160000050%d", c), ID: id, Time: time.Now(), Text: "message " + id})
			acked = append(acked, id)
		}
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.Delivery(defaultPhoneNumberID, batch...)); a.Pending != len(batch) {
		t.Fatalf("answer %+v, want %d pending", a, len(batch))
	}
	for c := range 3 {
		id := fmt.Sprintf("wamid.T%d.2", c)
		e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, fmt.Sprintf("3160000050%d", c), "", id, "message "+id, time.Now()))
		acked = append(acked, id)
	}

	var inFlight []string
	waitFor(t, waitTimeout, "a message upsert to reach the stand-in", func() (bool, string) {
		keys, ok := watch.firstCall()
		inFlight = keys
		return ok, fmt.Sprintf("stand-in stats %+v", acme.SF.Stats())
	})
	if len(inFlight) == 0 {
		t.Fatal("the message upsert in flight carries no message key")
	}
	t.Logf("SIGTERM with a message upsert of %d records in flight", len(inFlight))
	if code := e.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM during a call: exit code %d, want 0 (the drain should finish well within the shutdown timeout)", code)
	}

	// Right after the exit: the call in flight completed and its outcome
	// was recorded.
	msgs := messageRecords(t, acme.SF)
	for _, k := range inFlight {
		if _, ok := msgs[k]; !ok {
			t.Errorf("message %s of the call in flight is not in Salesforce after the drain", k)
		}
	}
	st := e.openStore()
	status := map[string]store.PushStatus{}
	for _, c := range conversations(t, st, "acme", "wa") {
		for _, m := range messagesOf(t, st, c.ID) {
			status[msgKey("acme", "wa", m.PlatformID)] = m.PushStatus
		}
	}
	for _, k := range inFlight {
		if status[k] != store.Pushed {
			t.Errorf("message %s of the call in flight has push status %q after the drain, want pushed", k, status[k])
		}
	}

	acme.SF.SetLatency(0)
	e.start()
	waitFor(t, waitTimeout, "every acknowledged message in Salesforce", func() (bool, string) {
		n := len(acme.SF.Records(msgObject))
		return n >= len(acked), fmt.Sprintf("%d of %d message records", n, len(acked))
	})
	msgs = messageRecords(t, acme.SF)
	for _, id := range acked {
		if _, ok := msgs[msgKey("acme", "wa", id)]; !ok {
			t.Errorf("acknowledged message %s is not in Salesforce", id)
		}
	}
	if len(msgs) != len(acked) {
		t.Errorf("%d message records, want %d", len(msgs), len(acked))
	}
}

// TestInvalidConfigurationIsRefused starts `connector serve` with
// configurations that each have one wrong key: the process exits non-zero,
// names the key, writes no secret, and creates no store.
func TestInvalidConfigurationIsRefused(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	tenant0 := func(m map[string]any) map[string]any { return m["tenants"].([]any)[0].(map[string]any) }
	salesforce0 := func(m map[string]any) map[string]any { return tenant0(m)["salesforce"].(map[string]any) }
	channel0 := func(m map[string]any) map[string]any { return tenant0(m)["channels"].([]any)[0].(map[string]any) }
	cases := []struct {
		name   string
		want   string
		change func(m map[string]any)
	}{
		{"org id", "tenants[0].salesforce.org_id", func(m map[string]any) { salesforce0(m)["org_id"] = "00X123" }},
		{"excluded state", "tenants[0].salesforce.excluded_states", func(m map[string]any) { salesforce0(m)["excluded_states"] = []string{"SLEEPING"} }},
		{"idle close", "tenants[0].channels[0].idle_close", func(m map[string]any) {
			channel0(m)["inactivity_timeout"] = "1h"
			channel0(m)["idle_close"] = "2h"
		}},
		{"login url", "tenants[0].salesforce.login_url", func(m map[string]any) { salesforce0(m)["login_url"] = "http://sf.example.com" }},
		{"batch size", "dispatcher.batch_size", func(m map[string]any) { m["dispatcher"].(map[string]any)["batch_size"] = 500 }},
		{"unknown key", "org_idd", func(m map[string]any) { salesforce0(m)["org_idd"] = "00D000000000001AAA" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Tenants: []tenantSpec{{
				ID: "acme", Org: acme,
				Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}, {ID: "web", Platform: "webchat"}},
			}}})
			m := e.configMap()
			c.change(m)
			e.writeConfigMap(m)
			out, errOut, code := runConnector(t, "serve", "-config", e.cfgPath)
			if code == 0 {
				t.Fatalf("connector serve exited 0 with an invalid configuration; output %q", out)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr does not name %s:\n%s", c.want, errOut)
			}
			for _, secret := range []string{clientSecret, appSecret, webchatSecret, verifyToken, operatorToken} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("the output shows a secret:\n%s%s", out, errOut)
				}
			}
			if _, err := os.Stat(e.dbPath); !os.IsNotExist(err) {
				t.Errorf("the store %s was created (stat: %v)", e.dbPath, err)
			}
		})
	}
}
