package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// The console's browser tests drive a real headless Chromium (Debian's
// package chromium; make test installs it) against the connector binary.
// Each saves a screenshot of every screen it shows under
// $CONSOLE_ARTIFACTS (integration_test/artifacts/console by default).

// chromiumPath finds the browser: $CHROMIUM, else chromium on the PATH.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium with a fresh profile, showing the
// console of one connector.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	mu   sync.Mutex
	// problems are the page's uncaught exceptions, console errors and
	// browser log errors (a Content-Security-Policy violation is one).
	problems []string
}

func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Fatal("Chromium is not installed: the console's browser tests need it (apt-get install -y chromium; make test installs it), or set CHROMIUM to its path")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	dir := os.Getenv("CONSOLE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("artifacts", "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: ctx, base: e.base(), dir: dir}
	messages := chromedp.Console(ctx) // starts the browser and subscribes
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			// An API error the console showed is logged by the browser
			// as a failed fetch; everything else is the page's fault.
			if !strings.Contains(p, "Failed to load resource: the server responded with a status of 4") {
				t.Errorf("the page reported: %s", p)
			}
		}
	})
	return b
}

// do runs the actions as one step, failing the test with the step's name.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("console: %s: %v (page text: %s)", step, err, b.text("body"))
	}
}

// text returns an element's text ("" when there is none).
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%s) || {}).innerText || ""`, js(sel))))
	return s
}

// js quotes a string for JavaScript.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitText waits until the element sel exists and its text has every one
// of want.
func waitText(sel string, want ...string) chromedp.Action[chromedp.Void] {
	var conds []string
	for _, w := range want {
		conds = append(conds, fmt.Sprintf("el.innerText.includes(%s)", js(w)))
	}
	return chromedp.PollFunction[chromedp.Void](fmt.Sprintf(`() => { const el = document.querySelector(%s); return !!el && %s; }`,
		js(sel), strings.Join(append(conds, "true"), " && ")), chromedp.WithPollingTimeout(waitTimeout))
}

// screenReady waits until the console has rendered its screen (it marks
// the screen aria-busy while it loads).
func screenReady() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`!document.getElementById('main').hasAttribute('aria-busy')`, chromedp.WithPollingTimeout(waitTimeout))
}

// waitGone waits until no element matches sel.
func waitGone(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`!document.querySelector(%s)`, js(sel)), chromedp.WithPollingTimeout(waitTimeout))
}

// open shows a screen of the console, by its address after the #.
func open(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %s`, js(hash)))(ctx, t)
		return err
	})
}

// signIn opens the console and signs in with the token, with the
// keyboard: the token field has the focus, Enter submits.
func (b *browser) signIn(token, shot string) {
	b.t.Helper()
	b.do("open the sign-in page", chromedp.Navigate(b.base+"/console"), chromedp.WaitVisible(`#sign-in input[name=token]`))
	if shot != "" {
		b.shot(shot)
	}
	b.do("sign in", chromedp.SendKeys(`#sign-in input[name=token]`, token+kb.Enter), chromedp.WaitVisible(`#whoami`))
	if got := b.text("main"); strings.Contains(got, token) {
		b.t.Fatal("the page shows the token")
	}
}

// shot saves a screenshot of the whole page as name.png, after checking
// that the page shows no value the console failed to format.
func (b *browser) shot(name string) {
	b.t.Helper()
	if bad := regexp.MustCompile(`\bnull\b|\bundefined\b|\[object |NaN|Invalid Date`).FindString(b.text("body")); bad != "" {
		b.t.Errorf("screen %s shows %q:\n%s", name, bad, b.text("body"))
	}
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noSidewaysScroll checks that the page fits the window's width.
func (b *browser) noSidewaysScroll(screen string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil || !fits {
		b.t.Errorf("%s is wider than a phone's screen (err %v)", screen, err)
	}
}

// TestConsoleAgentBlocksFromConversationSeesBlockedTabAndUnblocks: an
// agent opens a conversation, blocks its contact with a note, finds it in
// the Blocked tab with the note, who and when, and unblocks it there.
func TestConsoleAgentBlocksFromConversationSeesBlockedTabAndUnblocks(t *testing.T) {
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	const ann, bob = "31600001201", "31600001202"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.C1", "hello, my order?", time.Now()))
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, bob, "Bob", "wamid.C2", "BUY CHEAP WATCHES", time.Now()))
	alice := e.newCaller("acme", "alice", "agent")
	conv := alice.conversationOf("wa", bob)
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.C2"))

	b := newBrowser(t, e)
	// The viewer is in Tokyo, reading US English: dates are shown in
	// their time zone.
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatalf("set the browser's time zone: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_US"}); err != nil {
		t.Fatalf("set the browser's locale: %v", err)
	}
	tokyo := time.FixedZone("JST", 9*60*60)
	b.signIn(alice.token, "sign-in")
	b.do("the conversations", waitText("main table", ann, bob, "OPEN", "GMT+9", conv.UpdatedAt.In(tokyo).Format("03:04:05 PM")))
	b.shot("conversations")
	b.do("open Bob's conversation", chromedp.Click(fmt.Sprintf(`a[href="#/conversations/%d"]`, conv.ID)),
		waitText(`tr[data-message="wamid.C2"]`, "BUY CHEAP WATCHES", "pushed"), waitText("main", "State history", "created"),
		chromedp.WaitVisible(`#reply textarea`))
	b.shot("conversation")

	const note = "sells watches to everyone"
	b.do("a block with no direction is refused in the page", chromedp.Click(`.block-form input[name=inbound]`),
		chromedp.Click(`.block-form input[name=outbound]`), chromedp.Click(`.block-form button[type=submit]`),
		waitText("#alert", "Choose a direction to block: inbound, outbound or both."),
		chromedp.Click(`.block-form input[name=inbound]`), chromedp.Click(`.block-form input[name=outbound]`))
	b.do("block Bob with a note", chromedp.SendKeys(`.block-form input[name=note]`, note), chromedp.Click(`.block-form button[type=submit]`),
		waitText("#status", "blocked"), waitText("main dl", "BLOCKED"), waitText("main", "block", "alice"))
	blocked := alice.contact(conv.ContactID)
	if blocked.Blocked == nil || blocked.Blocked.Note != note || blocked.Blocked.By != "alice" || !blocked.Blocked.Inbound || !blocked.Blocked.Outbound {
		t.Fatalf("after the console's block, the contact's block is %+v, want both directions by alice with the note", blocked.Blocked)
	}
	if c := alice.conversation(conv.ID); c.StateName != "BLOCKED" {
		t.Fatalf("after the console's block, the conversation is %s, want BLOCKED", c.StateName)
	}

	row := fmt.Sprintf(`tr[data-contact=%q]`, bob)
	b.do("the Blocked tab", chromedp.Click(`#nav a[href="#/contacts/blocked"]`),
		waitText(row, note, "alice", "inbound + outbound", "applied"))
	if strings.Contains(b.text("main table"), ann) {
		t.Errorf("the Blocked tab lists Ann, who is not blocked:\n%s", b.text("main table"))
	}
	b.shot("blocked")
	b.do("a phone's width", chromedp.EmulateViewport(390, 844))
	b.noSidewaysScroll("the Blocked tab")
	b.shot("blocked-phone")
	b.do("back to 1280 px", chromedp.EmulateViewport(1280, 900))

	b.do("unblock Bob from the Blocked tab", chromedp.Click(row+` button`), chromedp.WaitVisible(`dialog button[value=confirm]`),
		chromedp.Click(`dialog button[value=confirm]`), waitText("#status", "unblocked", fmt.Sprintf("No longer BLOCKED: #%d", conv.ID)), waitGone(row))
	if c := alice.contact(conv.ContactID); c.Blocked != nil {
		t.Fatalf("after the console's unblock, the contact is still blocked: %+v", c.Blocked)
	}
	if c := alice.conversation(conv.ID); c.StateName != "OPEN" {
		t.Fatalf("after the console's unblock, the conversation is %s, want OPEN", c.StateName)
	}

	// The other main screens of an agent.
	b.do("the contacts", open("/contacts"), waitText("main table", ann, bob))
	b.shot("contacts")
	b.do("search the contacts", chromedp.SendKeys(`.filters input[name=q]`, "BOB"+kb.Enter),
		waitGone(fmt.Sprintf(`tr[data-contact=%q]`, ann)), waitText(row, "Bob"))
	if got := b.text("main table"); strings.Contains(got, ann) {
		t.Errorf("searching BOB lists Ann:\n%s", got)
	}
	b.do("Ann's contact", open("/contacts?q=ann"), chromedp.Click(fmt.Sprintf(`tr[data-contact=%q] a`, ann)), chromedp.WaitVisible(`#add-note`),
		chromedp.SendKeys(`#add-note textarea`, "prefers English"), chromedp.Click(`#add-note button`),
		waitText("main .notes", "prefers English", "alice"))
	// The page stays where it was, and what the action did is in view.
	b.do("the note's confirmation is in view", chromedp.Poll[chromedp.Void](`(() => {
		const r = document.getElementById('status').getBoundingClientRect();
		return window.scrollY > 0 && r.top >= 0 && r.bottom <= window.innerHeight &&
			document.getElementById('status').innerText.includes('Note added.');
	})()`, chromedp.WithPollingTimeout(waitTimeout)),
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)) // for a whole-page picture with its heading
	b.shot("contact")
	b.do("a blank note is refused in its dialog", chromedp.Click(`main .notes button[aria-label^="Edit note"]`), chromedp.WaitVisible(`#edit-note textarea`),
		chromedp.SetValue(`#edit-note textarea`, "   "), chromedp.Click(`#edit-note button[type=submit]`),
		waitText("dialog .dialog-error", "400 invalid_field", "must not be empty or blank"))
	b.do("edit the note",
		chromedp.SetValue(`#edit-note textarea`, "prefers English or Dutch"), chromedp.Click(`#edit-note button[type=submit]`),
		waitText("#status", "Note saved"), waitText("main .notes", "prefers English or Dutch", "edited by alice"))
	annID := alice.conversationOf("wa", ann).ContactID
	if notes := alice.contact(annID).Notes; len(notes) != 1 || notes[0].Text != "prefers English or Dutch" {
		t.Fatalf("after the console's edit, Ann's notes are %+v", notes)
	}
	b.do("delete the note, once confirmed", chromedp.Click(`main .notes button[aria-label^="Delete note"]`),
		waitText("dialog", "Delete this note?", "prefers English or Dutch"), chromedp.Click(`dialog button[value=confirm]`),
		waitText("#status", "Note deleted."), waitText("main", "No notes."))
	if notes := alice.contact(annID).Notes; len(notes) != 0 {
		t.Fatalf("after the console deleted the note, Ann's notes are %+v", notes)
	}
	b.do("the settings", open("/settings"), waitText("main", "Blocking", "enabled", "Only an admin"))
	b.shot("settings")

	// EXPIRED is final: confirmed first, then neither the state nor a
	// reply can change.
	annConv := alice.conversationOf("wa", ann)
	b.do("Ann's conversation", open(fmt.Sprintf("/conversations/%d", annConv.ID)), chromedp.WaitVisible(`#change-state select`),
		chromedp.SetValue(`#change-state select[name=state]`, "1"), chromedp.Click(`#change-state button[type=submit]`),
		waitText("dialog", fmt.Sprintf("Set conversation #%d to EXPIRED?", annConv.ID), "final"))
	if c := alice.conversation(annConv.ID); c.StateName != "OPEN" {
		t.Fatalf("before the confirmation, the conversation is %s", c.StateName)
	}
	b.do("confirm EXPIRED", chromedp.Click(`dialog button[value=confirm]`), waitText("#status", "is now EXPIRED"),
		waitText("#change-state", "EXPIRED is final"), waitText("#reply", "No reply can be sent here: the conversation is EXPIRED"))
	if got := b.text("#change-state select") + b.text("#reply textarea"); got != "" {
		t.Errorf("an EXPIRED conversation still offers a state or a reply: %q", got)
	}

	// Signing out forgets the screen: the next one to sign in starts on
	// their own home screen.
	b.do("sign out", chromedp.Click(`#sign-out`), chromedp.WaitVisible(`#sign-in input[name=token]`),
		chromedp.Poll[chromedp.Void](`location.hash === ''`, chromedp.WithPollingTimeout(waitTimeout)),
		chromedp.SendKeys(`#sign-in input[name=token]`, operatorToken+kb.Enter), waitText("main h1", "Overview"))
}

// TestConsoleAdminDeletesAllBlockedConversations: an admin runs delete
// all on a blocked contact, is told first what will be removed, and sees
// what was.
func TestConsoleAdminDeletesAllBlockedConversations(t *testing.T) {
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	const spammer = "31600001211"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, spammer, "Spam", "wamid.D1", "offer 1", time.Now()))
	boss := e.newCaller("acme", "boss", "admin")
	conv := boss.conversationOf("wa", spammer)
	boss.block(conv.ContactID, map[string]any{"note": "spam"})
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, spammer, "Spam", "wamid.D2", "offer 2", time.Now()))
	if n := len(boss.conversation(conv.ID).Messages); n != 2 {
		t.Fatalf("the blocked conversation holds %d messages, want 2", n)
	}

	b := newBrowser(t, e)
	b.signIn(boss.token, "")
	b.do("the contact", open(fmt.Sprintf("/contacts/%d", conv.ContactID)), waitText("main", "Blocked conversations", fmt.Sprintf("#%d", conv.ID)),
		chromedp.Click(`#delete-all`),
		waitText("dialog", "Delete 1 BLOCKED conversation", fmt.Sprintf("Conversation #%d (wa) with 2 message(s)", conv.ID), "Salesforce"))
	b.shot("delete-all-confirm")
	if r := e.call(boss.token, http.MethodGet, fmt.Sprintf("/api/v1/tenants/acme/conversations/%d", conv.ID), nil); r.Status != http.StatusOK {
		t.Fatalf("before the confirmation, the conversation is gone: %s", r)
	}
	want := fmt.Sprintf("Deleted conversation(s) #%d with 2 message(s).", conv.ID)
	b.do("confirm", chromedp.Click(`dialog button[value=confirm]`), waitText("#status", want), waitText("#blocked-result", want))
	b.shot("delete-all-done")
	if r := e.call(boss.token, http.MethodGet, fmt.Sprintf("/api/v1/tenants/acme/conversations/%d", conv.ID), nil); r.Status != http.StatusNotFound {
		t.Fatalf("after delete all, the conversation answers %s, want 404", r)
	}
	if c := boss.contact(conv.ContactID); c.Blocked == nil {
		t.Fatal("delete all lifted the contact's block")
	}

	// The admin sets an opt-out keyword; the next message that is one
	// opts its sender out: the Blocked tab lists it, and its contact page
	// lifts the opt-out.
	b.do("the admin's settings", open("/settings"), chromedp.WaitVisible(`#settings textarea[name=opt_out_keywords]`),
		chromedp.SendKeys(`#settings textarea[name=opt_out_keywords]`, "Unsubscribe"), chromedp.Click(`#settings button[type=submit]`),
		waitText("#status", "opt-out keywords: Unsubscribe"), waitText("main dl", "Unsubscribe", "set by boss"))
	b.shot("settings-admin")
	const leaver = "31600001212"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, leaver, "Lee", "wamid.D3", " UNSUBSCRIBE ", time.Now()))
	leaverID := boss.conversationOf("wa", leaver).ContactID
	if c := boss.contact(leaverID); c.OptOut == nil || c.OptOut.Keyword != "Unsubscribe" || c.Blocked != nil {
		t.Fatalf("after the keyword set in the console, the contact's opt-out is %+v and its block %+v, want opted out and no block", c.OptOut, c.Blocked)
	}
	row := fmt.Sprintf(`tr[data-contact=%q]`, leaver)
	b.do("the Blocked tab lists the contact who opted out", open("/contacts/blocked"),
		waitText(row, "opted out (Unsubscribe)", "opt-out keyword Unsubscribe", "the contact"))
	b.do("its contact page", chromedp.Click(row+` a`), waitText("#opt-out", "Opted out", "Unsubscribe", "Unblocking does not lift it"),
		waitText("main dl", "Opted out", "yes: wrote"))
	b.shot("opted-out")
	b.do("lift the opt-out", chromedp.Click(`#opt-out button`), waitText("dialog", "Lift the opt-out of Lee?", "asked to hear from you again"),
		chromedp.Click(`dialog button[value=confirm]`), waitText("#status", "opt-out of contact "+leaver+" is lifted"), waitGone("#opt-out"))
	if c := boss.contact(leaverID); c.OptOut != nil {
		t.Fatalf("after the console lifted the opt-out, the contact's opt-out is %+v", c.OptOut)
	}
	b.do("the Blocked tab no longer lists it", open("/contacts/blocked"), waitText("main", "Blocked contacts"), waitGone(row))

	// With blocking switched off, no block is offered, and the contact
	// page says why.
	b.do("switch blocking off", open("/settings"), chromedp.WaitVisible(`#settings input[name=blocking_enabled]`),
		chromedp.Click(`#settings input[name=blocking_enabled]`), chromedp.Click(`#settings button[type=submit]`),
		waitText("#status", "blocking is disabled"))
	b.do("the contacts offer no block", open("/contacts"), waitText(row, "Lee"))
	if got := b.text("main table"); strings.Contains(got, "Block…") {
		t.Errorf("with blocking off, the contacts list offers a block:\n%s", got)
	}
	b.do("Lee's page says why", chromedp.Click(row+` a`), waitText(".block-form", "Blocking is switched off for this tenant: switch it on in Settings."))
}

// TestConsoleOperatorExcludesBlockedThenBlockedContactIsNotPushed: the
// support team excludes BLOCKED for an org in the console; the next
// message of a blocked contact is stored and not pushed.
func TestConsoleOperatorExcludesBlockedThenBlockedContactIsNotPushed(t *testing.T) {
	const orgID = "00D000000000121EAA"
	acme := newOrg(t, orgID, nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	const troll = "31600001221"
	alice := e.newCaller("acme", "alice", "agent")
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, troll, "T", "wamid.E1", "first", time.Now()))
	conv := alice.conversationOf("wa", troll)
	alice.block(conv.ContactID, map[string]any{"note": "abusive"})
	// BLOCKED is not excluded yet: a blocked contact's message is pushed.
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, troll, "T", "wamid.E2", "still here", time.Now()))
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.E2"))

	b := newBrowser(t, e)
	b.signIn(operatorToken, "")
	b.do("the overview", waitText(fmt.Sprintf(`tr[data-org=%q]`, orgID[:15]), "acme", "running"), waitText("#overview-at", "Updated"))
	b.shot("overview")
	b.do("the org's excluded states", chromedp.Click(fmt.Sprintf(`tr[data-org=%q] a`, orgID[:15])),
		waitText("main dl", "AUTO_BOT", "the default"))
	b.do("tick BLOCKED and save", chromedp.Click(`#excluded .check:nth-of-type(5) input`), chromedp.Click(`#excluded button[type=submit]`),
		waitText("#status", "now excludes AUTO_BOT, BLOCKED"), waitText("main table", "operator", "AUTO_BOT, BLOCKED"))
	b.shot("exclusions")

	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, troll, "T", "wamid.E3", "and again", time.Now())); a.Excluded != 1 {
		t.Errorf("the blocked contact's next message: answer %+v, want 1 excluded", a)
	}
	m := requireMessage(t, alice.conversation(conv.ID), "wamid.E3")
	if m.PushStatus != "excluded" || !strings.Contains(m.PushReason, "BLOCKED") {
		t.Fatalf("the blocked contact's next message: %s (%s), want excluded because of BLOCKED", m.PushStatus, m.PushReason)
	}
	if _, ok := messageRecords(t, acme.SF)[msgKey("acme", "wa", "wamid.E3")]; ok {
		t.Fatal("the blocked contact's next message reached Salesforce")
	}
}

// TestConsoleOperatorReplaysDeadMessageAndSeesItPushed: a message
// Salesforce refused is in the operator's dead letters with Salesforce's
// error; replayed from the console, it is followed until pushed.
func TestConsoleOperatorReplaysDeadMessageAndSeesItPushed(t *testing.T) {
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}}}})
	e.start()
	const msg = "Messages may not mention the competitor"
	rule := acme.SF.AddRejectRule(standin.RejectRule{Object: msgObject, Field: "Body__c", Contains: "Globex", StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: msg})
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, "31600001231", "Cy", "wamid.F1", "is Globex cheaper?", time.Now()))
	waitFor(t, waitTimeout, "a dead letter", func() (bool, string) {
		d := e.deadLetters("acme")
		return len(d) == 1, fmt.Sprintf("%+v", d)
	})

	b := newBrowser(t, e)
	b.signIn(operatorToken, "")
	row := `tr[data-dead="wamid.F1"]`
	b.do("the dead letters", open("/dead-letters"), waitText(row, "acme", "FIELD_CUSTOM_VALIDATION_EXCEPTION", msg))
	b.shot("dead-letters")
	// Replayed before the rule is lifted, it is dead again, and can be
	// replayed again from where it is followed.
	replayed := `li[data-replayed="wamid.F1"]`
	b.do("replay it too soon", chromedp.Click(row+` button`), waitText("#status", "Replayed 1 message(s) of tenant acme"),
		waitText(replayed, "dead", msg), chromedp.WaitVisible(replayed+` button`))
	acme.SF.RemoveRejectRule(rule)
	b.do("replay it again", chromedp.Click(replayed+` button`), waitText("#status", "Replayed 1 message(s) of tenant acme"),
		waitText(replayed, "pushed"), waitGone(row))
	b.shot("dead-letters-replayed")
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.F1"))
}

// TestConsoleAgentCannotSeeOperatorScreens: an agent's console offers no
// operator screen, and opening one shows the API's refusal, not its data.
func TestConsoleAgentCannotSeeOperatorScreens(t *testing.T) {
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	b := newBrowser(t, e)
	b.signIn(alice.token, "")
	b.do("the agent's navigation", waitText("#nav", "Conversations", "Blocked"), waitText("main h1", "Conversations"), screenReady())

	// The keyboard alone: from the skip link, Tab through the navigation
	// and open the Blocked tab with Enter; the skip link moves the focus
	// to the screen.
	focused := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(waitTimeout))
	}
	b.do("keyboard: the navigation",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('skip').focus()`),
		chromedp.KeyEvent(kb.Tab), focused(`document.activeElement.textContent === 'Conversations'`),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), focused(`document.activeElement.textContent === 'Blocked'`),
		chromedp.KeyEvent(kb.Enter), waitText("main h1", "Blocked contacts"))
	b.do("keyboard: the skip link",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('skip').focus()`),
		chromedp.KeyEvent(kb.Enter), focused(`document.activeElement.id === 'main'`))
	for _, operatorOnly := range []string{"Overview", "Excluded states", "Dead letters"} {
		if strings.Contains(b.text("#nav"), operatorOnly) {
			t.Errorf("an agent's navigation offers %s", operatorOnly)
		}
	}
	for _, screen := range []struct{ hash, gone string }{
		{"/overview", "#overview"},
		{"/exclusions?org=" + acme.SF.OrgID(), "#excluded"},
		{"/dead-letters", `main table`},
	} {
		b.do("open "+screen.hash, open(screen.hash), waitText("#alert", "403 forbidden"))
		if got := b.text(screen.gone); got != "" {
			t.Errorf("an agent sees %s on %s: %s", screen.gone, screen.hash, got)
		}
	}
	b.shot("agent-forbidden")
}

// TestConsoleAgentSeesAMessagesMedia: under a message's text the agent
// sees its media: the File it became in Salesforce, or why not (too
// large, an excluded message), or, for a message stored before the
// connector downloaded media (it has no media item), the platform's
// reference.
func TestConsoleAgentSeesAMessagesMedia(t *testing.T) {
	sf := newOrg(t, "", nil)
	p := newMediaPlatforms(t)
	e := mediaEnv(t, sf, p, "", 4096)
	e.start()
	photo := append([]byte("\xff\xd8\xff\xe1 WhatsApp"), bytes.Repeat([]byte{0x5a, 0x00}, 500)...)
	p.add("wa:1166401585283001", photo, "image/jpeg")
	p.add("twilio:ME00000000000000000000000000000002", bytes.Repeat([]byte{0xee}, 10000), "image/png")
	now := time.Now().Add(-time.Minute)
	const ann = "31600000001"
	e.postSigned("wa", "whatsapp", whatsapp.ImageDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.MEDIA1", "1166401585283001",
		"image/jpeg", "the broken kettle", now))
	const sid = "MM00000000000000000000000000000002"
	e.postSigned("sms", "twilio", twilio.InboundBody(twilio.Inbound{AccountSID: twilioSID, MessageSID: sid, From: "+14155550123",
		To: twilioNumber, Media: []twilio.Media{{URL: p.twilioMediaURL(sid, "ME00000000000000000000000000000002"), ContentType: "image/png"}}}))

	// A bot's conversation is excluded by default: its photo is not
	// downloaded, and the console says why.
	e.postSigned("tgbot", "telegram", telegram.PhotoUpdate(2, telegram.User{ID: 7000000002, FirstName: "Bo"}, 12, "EXCLUDED-1", "to the bot", now))

	alice := e.newCaller("acme", "alice", "agent")
	settled := func(channel, contact, platformID, status string) (apiConversation, apiMessage) {
		t.Helper()
		conv := alice.conversationOf(channel, contact)
		var m apiMessage
		waitFor(t, waitTimeout, platformID+"'s media "+status, func() (bool, string) {
			m = requireMessage(t, alice.conversation(conv.ID), platformID)
			return m.Media != nil && strings.HasPrefix(m.Media.Status, status), fmt.Sprintf("%+v", m.Media)
		})
		return conv, m
	}
	photoConv, photoMsg := settled("wa", ann, "wamid.MEDIA1", "uploaded")
	bigConv, bigMsg := settled("sms", "+14155550123", sid, "failed: too large")

	// A message of Ann's as a store that predates media downloads
	// (migration 0010) holds it: a media reference and no media item.
	err := e.mediaStore().WithTx(t.Context(), func(tx store.Tx) error {
		_, _, err := tx.AddMessage(t.Context(), store.Message{Tenant: "acme", Channel: "wa", ConversationID: photoConv.ID,
			ContactID: photoConv.ContactID, PlatformID: "wamid.BEFORE-MEDIA", Direction: store.Inbound, Kind: "image",
			Body: "a photo without a media item", MediaURL: "1166401585280000", MediaType: "image/jpeg", Sender: ann,
			SentAt: now, ReceivedAt: time.Now(), StateAtReceipt: statemachine.Open, PushStatus: store.Excluded,
			PushReason: "stored by the test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, e)
	b.signIn(alice.token, "sign-in")
	b.do("the photo's conversation", open(fmt.Sprintf("/conversations/%d", photoConv.ID)),
		waitText(`tr[data-message="wamid.MEDIA1"]`, "the broken kettle", "Media: image/jpeg", photoMsg.Media.FileName,
			fmt.Sprintf("%d B", len(photo)), "in Salesforce as File "+photoMsg.Media.FileID),
		waitText(`tr[data-message="wamid.BEFORE-MEDIA"]`, "a photo without a media item", "Media: image/jpeg · not downloaded: 1166401585280000"))
	b.shot("conversation-media")
	b.do("the big picture's conversation", open(fmt.Sprintf("/conversations/%d", bigConv.ID)),
		waitText(fmt.Sprintf(`tr[data-message=%q]`, sid), "Media: image/png", bigMsg.Media.Status))
	botConv, _ := settled("tgbot", "7000000002", "7000000002:12", "skipped: the message is excluded")
	b.do("the bot's conversation", open(fmt.Sprintf("/conversations/%d", botConv.ID)),
		waitText(`tr[data-message="7000000002:12"]`, "to the bot", "Media: image", "skipped: the message is excluded"))
	if photoMsg.Media.FileID == "" || photoMsg.Media.FileName == "" || photoMsg.Media.Size != int64(len(photo)) {
		t.Fatalf("the photo's media %+v: want a File id, a name and its %d bytes", photoMsg.Media, len(photo))
	}
}
