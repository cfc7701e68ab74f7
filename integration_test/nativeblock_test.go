package integration_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// blockUsersCalls returns the stand-in's block_users calls with method
// about user.
func blockUsersCalls(t *testing.T, g *graphStandin, method, user string) []graphCall {
	t.Helper()
	var out []graphCall
	for _, c := range g.callsTo(method, "block_users") {
		var req struct {
			BlockUsers []struct {
				User string `json:"user"`
			} `json:"block_users"`
		}
		if json.Unmarshal(c.Body, &req) == nil && len(req.BlockUsers) == 1 && req.BlockUsers[0].User == user {
			out = append(out, c)
		}
	}
	return out
}

// checkBlockUsersCall checks one block_users call: its path, its access
// token and its body.
func checkBlockUsersCall(t *testing.T, what string, c graphCall, phone, user string) {
	t.Helper()
	if c.Path != "/"+phone+"/block_users" {
		t.Errorf("%s: path %s, want /%s/block_users", what, c.Path, phone)
	}
	if c.Auth != "Bearer "+graphToken {
		t.Errorf("%s: Authorization %q, want the channel's access token as a Bearer token", what, c.Auth)
	}
	var got, want any
	if err := json.Unmarshal(c.Body, &got); err != nil {
		t.Errorf("%s: body %s is not JSON: %v", what, c.Body, err)
		return
	}
	_ = json.Unmarshal([]byte(fmt.Sprintf(`{"messaging_product":"whatsapp","block_users":[{"user":%q}]}`, user)), &want) // a constant shape
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: body %s, want {\"messaging_product\":\"whatsapp\",\"block_users\":[{\"user\":%q}]}", what, c.Body, user)
	}
}

// waitForNative waits until the contact's native block status is want.
func waitForNative(t *testing.T, c *caller, contactID int64, want string) apiContact {
	t.Helper()
	var ct apiContact
	waitFor(t, waitTimeout, fmt.Sprintf("contact %d's native block status %q", contactID, want), func() (bool, string) {
		ct = c.contact(contactID)
		return ct.nativeStatus() == want, fmt.Sprintf("native_block %+v", ct.NativeBlock)
	})
	return ct
}

// TestWhatsAppNativeBlockThroughGraphAPI blocks WhatsApp contacts against
// a stand-in of the Graph API: a block calls POST
// /{phone-number-id}/block_users with the user and the access token
// (status applied) and an unblock calls DELETE with the same body. While
// the Graph API fails (5xx) the local block holds, the contact's messages
// are recorded as BLOCKED, the native status is pending, and once the
// Graph API is back the timers' retry applies it; an unblock during an
// outage is retried the same way. A permanent refusal (131047) is failed,
// with its reason, and not retried.
func TestWhatsAppNativeBlockThroughGraphAPI(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	const phone = "1065551801"
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", phone, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	const ann, ben, cal = "31600001801", "31600001802", "31600001803"
	for _, c := range []string{ann, ben, cal} {
		e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(phone, c, "", "wamid.N1."+c, "hello", time.Now()))
	}

	// Block and unblock with the Graph API up.
	annConv := alice.conversationOf("wa", ann)
	ans := alice.block(annConv.ContactID, map[string]any{"note": "spam"})
	if ans.NativeBlock.Status != "applied" || ans.Contact.nativeStatus() != "applied" {
		t.Errorf("PUT block: native_block %+v, contact's %+v; want applied", ans.NativeBlock, ans.Contact.NativeBlock)
	}
	calls := blockUsersCalls(t, g, http.MethodPost, ann)
	if len(calls) != 1 {
		t.Fatalf("the Graph API got %d block calls for Ann, want 1: %s", len(calls), g.allCalls())
	}
	checkBlockUsersCall(t, "block", calls[0], phone, ann)
	if c := alice.contact(annConv.ContactID); c.nativeStatus() != "applied" || c.NativeBlock.Want != "block" {
		t.Errorf("GET contact after the block: native_block %+v, want applied, want block", c.NativeBlock)
	}
	alice.unblock(annConv.ContactID)
	calls = blockUsersCalls(t, g, http.MethodDelete, ann)
	if len(calls) != 1 {
		t.Fatalf("the Graph API got %d unblock calls for Ann, want 1: %s", len(calls), g.allCalls())
	}
	checkBlockUsersCall(t, "unblock", calls[0], phone, ann)
	if c := alice.contact(annConv.ContactID); c.nativeStatus() != "applied" || c.NativeBlock.Want != "unblock" || c.Blocked != nil {
		t.Errorf("GET contact after the unblock: blocked %+v, native_block %+v; want unblocked, applied, want unblock", c.Blocked, c.NativeBlock)
	}

	// The Graph API fails: the local block holds and the native block is
	// pending; the timers apply it once the Graph API is back.
	g.setFaultFor(ben, graphDown)
	benConv := alice.conversationOf("wa", ben)
	ans = alice.block(benConv.ContactID, map[string]any{"note": "spam"})
	if ans.NativeBlock.Status != "pending" || ans.NativeBlock.Error == "" {
		t.Errorf("PUT block with the Graph API down: native_block %+v, want pending with the error", ans.NativeBlock)
	}
	if b := ans.Contact.Blocked; b == nil || !b.Inbound || !b.Outbound {
		t.Fatalf("PUT block with the Graph API down: the contact's block is %+v, want the local block in force", b)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(phone, ben, "", "wamid.N2."+ben, "while pending", time.Now())); a.Stored != 1 {
		t.Fatalf("message while the native block is pending: answer %+v, want 1 stored", a)
	}
	conv := alice.conversation(benConv.ID)
	if m := requireMessage(t, conv, "wamid.N2."+ben); conv.StateName != "BLOCKED" || m.StateAtReceipt != 4 {
		t.Errorf("while the native block is pending: conversation %s, message state_at_receipt %d; want BLOCKED and 4", conv.StateName, m.StateAtReceipt)
	}
	waitForTimerRounds(t, e, 2) // some timer rounds against the failing Graph API
	if c := alice.contact(benConv.ContactID); c.nativeStatus() != "pending" || c.Blocked == nil {
		t.Errorf("with the Graph API still down: native_block %+v, blocked %+v; want pending and the local block", c.NativeBlock, c.Blocked)
	}
	failedCalls := len(blockUsersCalls(t, g, http.MethodPost, ben))
	if failedCalls < 1 {
		t.Fatalf("the Graph API got no block call for Ben: %s", g.allCalls())
	}
	g.setFaultFor(ben, graphOK)
	c := waitForNative(t, alice, benConv.ContactID, "applied")
	if c.Blocked == nil || !c.Blocked.Inbound || c.NativeBlock.Want != "block" || c.NativeBlock.Attempts < 2 {
		t.Errorf("after the retry: blocked %+v, native_block %+v; want still blocked, want block, at least 2 attempts", c.Blocked, c.NativeBlock)
	}
	calls = blockUsersCalls(t, g, http.MethodPost, ben)
	if len(calls) <= failedCalls || calls[len(calls)-1].Status != http.StatusOK {
		t.Errorf("Ben's block calls %s, want a later successful retry", g.allCalls())
	} else {
		checkBlockUsersCall(t, "retried block", calls[len(calls)-1], phone, ben)
	}

	// An unblock while the Graph API fails is retried the same way; the
	// local unblock is immediate.
	g.setFaultFor(ben, graphDown)
	alice.unblock(benConv.ContactID)
	c = alice.contact(benConv.ContactID)
	if c.Blocked != nil || c.nativeStatus() != "pending" || c.NativeBlock.Want != "unblock" {
		t.Errorf("unblock with the Graph API down: blocked %+v, native_block %+v; want unblocked locally, pending, want unblock", c.Blocked, c.NativeBlock)
	}
	if conv := alice.conversation(benConv.ID); conv.StateName != "OPEN" {
		t.Errorf("unblock with the Graph API down: conversation %s, want OPEN", conv.StateName)
	}
	g.setFaultFor(ben, graphOK)
	waitForNative(t, alice, benConv.ContactID, "applied")
	unblocks := blockUsersCalls(t, g, http.MethodDelete, ben)
	if len(unblocks) < 2 || unblocks[len(unblocks)-1].Status != http.StatusOK {
		t.Errorf("Ben's unblock calls %s, want a failure then a successful retry", g.allCalls())
	}

	// A permanent refusal is failed, with the reason, and not retried.
	g.setFaultFor(cal, graphRefuse)
	calConv := alice.conversationOf("wa", cal)
	ans = alice.block(calConv.ContactID, map[string]any{"note": "spam"})
	if !strings.HasPrefix(ans.NativeBlock.Status, "failed") || !strings.Contains(ans.NativeBlock.Status+ans.NativeBlock.Error, "131047") {
		t.Errorf("PUT block refused by the platform: native_block %+v, want failed with the reason (131047)", ans.NativeBlock)
	}
	if ans.Contact.Blocked == nil || !ans.Contact.Blocked.Inbound {
		t.Errorf("PUT block refused by the platform: the contact's block is %+v, want the local block in force", ans.Contact.Blocked)
	}
	waitForTimerRounds(t, e, 2) // the rounds that would have retried it
	if n := len(blockUsersCalls(t, g, http.MethodPost, cal)); n != 1 {
		t.Errorf("a refused native block was called %d times, want once (no retry of a permanent refusal): %s", n, g.allCalls())
	}
	if c := alice.contact(calConv.ContactID); !strings.HasPrefix(c.nativeStatus(), "failed") || c.Blocked == nil {
		t.Errorf("GET contact after the refusal: native_block %+v, blocked %+v; want failed and still blocked", c.NativeBlock, c.Blocked)
	}
}
