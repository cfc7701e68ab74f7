package preflight_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/preflight"
	"github.com/chatsync/sfconnector/salesforce"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

func client(t *testing.T, opts standin.Options) *sfclient.Client {
	t.Helper()
	ts := httptest.NewServer(standin.New(opts))
	t.Cleanup(ts.Close)
	c, err := sfclient.New(sfclient.Config{OrgID: standin.DefaultOrgID, LoginURL: ts.URL, Flow: sfclient.FlowClientCredentials,
		ClientID: "id", ClientSecret: "secret", HTTPClient: ts.Client(), RetryMax: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func target() preflight.Target {
	return preflight.Target{Org: standin.DefaultOrgID[:15], Tenants: []string{"acme"}, Mapping: config.DefaultMapping(), Key: "tenants[0].salesforce"}
}

// TestTheMetadataPasses: an org with the salesforce/ folder deployed has
// no problem, and the table says so.
func TestTheMetadataPasses(t *testing.T) {
	rep := preflight.Run(context.Background(), client(t, standin.Options{}), target(), time.Now())
	if p := rep.Problems(); len(p) != 0 {
		t.Fatalf("problems: %+v", p)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Chat_Conversation__c.State__c", "Chat_Message__c.Chat_Conversation__r", "no problems"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, buf.String())
		}
	}
}

// edit returns the metadata with fn applied to one field of an object;
// fn returning false removes the field.
func edit(t *testing.T, object, field string, fn func(*salesforce.Field) bool) []salesforce.Object {
	t.Helper()
	objs, err := salesforce.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for i := range objs {
		if objs[i].Name != object {
			continue
		}
		for j := range objs[i].Fields {
			if objs[i].Fields[j].Name == field {
				if !fn(&objs[i].Fields[j]) {
					objs[i].Fields = slices.Delete(objs[i].Fields, j, j+1)
				}
				return objs
			}
		}
	}
	t.Fatalf("no field %s.%s", object, field)
	return nil
}

// TestProblemsAreNamedWithTheirFix breaks the org one way at a time: a
// field removed, a field of the wrong type, an external id that is not
// unique, the state picklist without BLOCKED, a missing object. Each is a
// blocking problem that names the field and its fix.
func TestProblemsAreNamedWithTheirFix(t *testing.T) {
	cases := []struct {
		name   string
		meta   []salesforce.Object
		item   string
		detail string
		fix    string
	}{
		{"field removed", edit(t, "Chat_Conversation__c", "Blocked__c", func(*salesforce.Field) bool { return false }),
			"Chat_Conversation__c.Blocked__c", "missing", "sf project deploy start"},
		{"wrong type", edit(t, "Chat_Message__c", "Sent_At__c", func(f *salesforce.Field) bool { f.Type = "Checkbox"; return true }),
			"Chat_Message__c.Sent_At__c", "type boolean", "make it a Date/Time field"},
		{"external id not unique", edit(t, "Chat_Message__c", "Message_Key__c", func(f *salesforce.Field) bool { f.Unique = false; return true }),
			"Chat_Message__c.Message_Key__c", "not marked External ID and Unique", "tick External ID and Unique"},
		{"picklist without BLOCKED", edit(t, "Chat_Conversation__c", "State__c", func(f *salesforce.Field) bool {
			f.Picklist = slices.DeleteFunc(f.Picklist, func(v string) bool { return v == "BLOCKED" })
			return true
		}), "Chat_Conversation__c.State__c", "lacks the values BLOCKED", "add the values BLOCKED"},
		{"relationship removed", edit(t, "Chat_Message__c", "Chat_Conversation__c", func(*salesforce.Field) bool { return false }),
			"Chat_Message__c.Chat_Conversation__r", "no relationship", "mapping.message.parent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := preflight.Run(context.Background(), client(t, standin.Options{Metadata: tc.meta}), target(), time.Now())
			if !rep.Blocking() {
				t.Fatalf("no blocking problem: %+v", rep.Checks)
			}
			var found *preflight.Check
			for _, p := range rep.Problems() {
				if p.Item == tc.item {
					found = &p
				}
			}
			if found == nil || found.Status != preflight.Blocking || !strings.Contains(found.Detail, tc.detail) || !strings.Contains(found.Fix, tc.fix) {
				t.Fatalf("problem of %s: %+v; all: %+v", tc.item, found, rep.Problems())
			}
			if n := len(rep.Problems()); n != 1 {
				t.Errorf("%d problems, want only the one made: %+v", n, rep.Problems())
			}
			var buf bytes.Buffer
			_ = rep.WriteTable(&buf)
			if !strings.Contains(buf.String(), "fix: ") || !strings.Contains(buf.String(), "BLOCKING") {
				t.Errorf("the table does not show the problem and its fix:\n%s", buf.String())
			}
		})
	}

	m := config.DefaultMapping()
	m.Conversation.Object = "Nope__c"
	tg := target()
	tg.Mapping = m
	rep := preflight.Run(context.Background(), client(t, standin.Options{}), tg, time.Now())
	if p := rep.Problems(); len(p) != 1 || p[0].Item != "Nope__c" || !strings.Contains(p[0].Fix, "mapping.conversation.object") {
		t.Errorf("a missing object: %+v", p)
	}
}

// TestLoginFailureIsBlocking: wrong credentials are one blocking problem
// with a fix naming the configuration keys.
func TestLoginFailureIsBlocking(t *testing.T) {
	rep := preflight.Run(context.Background(), client(t, standin.Options{ClientSecret: "other"}), target(), time.Now())
	if p := rep.Problems(); len(p) != 1 || p[0].Item != "login" || p[0].Status != preflight.Blocking || !strings.Contains(p[0].Fix, "tenants[0].salesforce.auth") {
		t.Errorf("login failure: %+v", p)
	}
}

// TestMediaFieldsAreWarnings: an org without the message's media file
// field, or a mapping naming a ContentVersion key field the org lacks,
// gets a warning naming the fix: messages still arrive, only their media
// Files fail.
func TestMediaFieldsAreWarnings(t *testing.T) {
	meta := edit(t, "Chat_Message__c", "Media_File_Id__c", func(*salesforce.Field) bool { return false })
	tg := target()
	tg.Mapping.FileKey = "No_Such_Key__c"
	rep := preflight.Run(context.Background(), client(t, standin.Options{Metadata: meta}), tg, time.Now())
	if rep.Blocking() {
		t.Fatalf("blocking: %+v", rep.Problems())
	}
	want := map[string]string{
		"Chat_Message__c.Media_File_Id__c": "mapping.message.media_file_id",
		"ContentVersion.No_Such_Key__c":    "External ID and Unique",
	}
	for _, p := range rep.Problems() {
		fix, ok := want[p.Item]
		if !ok || p.Status != preflight.Warning || !strings.Contains(p.Detail+" "+p.Fix, fix) {
			t.Errorf("unexpected problem %+v", p)
		}
		delete(want, p.Item)
	}
	if len(want) > 0 {
		t.Errorf("no warning for %v; problems: %+v", want, rep.Problems())
	}
}

// countingClient is client's, with the data calls it makes counted (every
// call under /services/data, as the org's API usage counts them) and its
// API version set to version ("" for the default).
func countingClient(t *testing.T, opts standin.Options, version string) (*sfclient.Client, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	sf := standin.New(opts)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/services/data") {
			calls.Add(1)
		}
		sf.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := sfclient.New(sfclient.Config{OrgID: standin.DefaultOrgID, LoginURL: ts.URL, Flow: sfclient.FlowClientCredentials,
		ClientID: "id", ClientSecret: "secret", HTTPClient: ts.Client(), RetryMax: -1, APIVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

// TestOneCallOnAHealthyOrg: a healthy org is checked with one API call,
// the mapped objects and ContentVersion described in one Composite
// request, whose Sforce-Limit-Info gives the daily requests left.
func TestOneCallOnAHealthyOrg(t *testing.T) {
	c, calls := countingClient(t, standin.Options{}, "")
	tg := target()
	if tg.Mapping.FileKey == "" {
		t.Fatal("the default mapping names no ContentVersion key field")
	}
	rep := preflight.Run(context.Background(), c, tg, time.Now())
	if n := calls.Load(); n != 1 {
		t.Errorf("%d data calls, want 1", n)
	}
	used, max, ok := c.Usage()
	if !ok || max == 0 {
		t.Fatalf("no usage seen: %d/%d %v", used, max, ok)
	}
	details := map[string]string{}
	for _, ch := range rep.Checks {
		details[ch.Item] = string(ch.Status) + ": " + ch.Detail
	}
	if want := fmt.Sprintf("ok: %d of %d remaining", max-used, max); details["daily API requests"] != want {
		t.Errorf("daily API requests: %q, want %q", details["daily API requests"], want)
	}
	for _, item := range []string{"API version", "Chat_Conversation__c", "Chat_Message__c", "ContentVersion." + tg.Mapping.FileKey} {
		if !strings.HasPrefix(details[item], "ok: ") {
			t.Errorf("%s: %q", item, details[item])
		}
	}
	if p := rep.Problems(); len(p) != 0 {
		t.Errorf("problems: %+v", p)
	}
}

// TestAnUnservedVersionIsBlocking: when the one call fails as a whole (the
// org does not serve the API version), each check makes its own call, and
// the report says which versions the org serves.
func TestAnUnservedVersionIsBlocking(t *testing.T) {
	c, calls := countingClient(t, standin.Options{}, "99.0")
	rep := preflight.Run(context.Background(), c, target(), time.Now())
	var version *preflight.Check
	for _, p := range rep.Problems() {
		if p.Item == "API version" {
			version = &p
		}
	}
	if version == nil || version.Status != preflight.Blocking || !strings.Contains(version.Detail, "does not serve v99.0") || !strings.Contains(version.Fix, "62.0") {
		t.Fatalf("API version: %+v; all: %+v", version, rep.Checks)
	}
	if n := calls.Load(); n < 2 {
		t.Errorf("%d data calls: the checks did not make their own", n)
	}
}
