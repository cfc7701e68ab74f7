package salesforce_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/salesforce"
	"github.com/chatsync/sfconnector/statemachine"
)

// want is what the connector writes into one mapped field, and what the
// field's metadata must therefore be.
type want struct {
	key   string // the mapping's configuration key
	field string // the default mapping's field name
	// types are the metadata types that hold what is written.
	types []string
	// minLength is the least length of a text field.
	minLength int
	external  bool
	picklist  []string
	reference string
}

func stateNames() []string {
	var out []string
	for _, s := range statemachine.All {
		out = append(out, s.String())
	}
	return out
}

// TestMetadataAgreesWithTheDefaultMapping reads the objects' XML and
// checks, field by field, that every name of config's default mapping
// exists with a type that holds what the connector writes, that the
// external ids are External ID and unique, that the message names its
// conversation through a master-detail field whose reference name is the
// mapping's parent, and that every custom field the connector does not
// write is one Salesforce computes.
func TestMetadataAgreesWithTheDefaultMapping(t *testing.T) {
	objs, err := salesforce.Objects()
	if err != nil {
		t.Fatal(err)
	}
	m := config.DefaultMapping()
	mc, mm := m.Conversation, m.Message
	// The last message time is not written by default (Salesforce computes
	// Latest_Message_Sent_At__c); the objects carry Last_Message_At__c for
	// a mapping that names it.
	if mc.LastMessageAt == "" {
		mc.LastMessageAt = "Last_Message_At__c"
	}
	text := []string{"Text"}
	long := []string{"LongTextArea"}
	checks := map[string][]want{
		mc.Object: {
			{key: "conversation.external_id", field: mc.ExternalID, types: text, minLength: 255, external: true},
			{key: "conversation.state", field: mc.State, types: []string{"Picklist"}, picklist: stateNames()},
			{key: "conversation.channel", field: mc.Channel, types: text, minLength: 64},
			{key: "conversation.contact", field: mc.Contact, types: text, minLength: 128},
			{key: "conversation.last_message_at", field: mc.LastMessageAt, types: []string{"DateTime"}},
			{key: "conversation.blocked", field: mc.Blocked, types: []string{"Checkbox"}},
		},
		mm.Object: {
			{key: "message.external_id", field: mm.ExternalID, types: text, minLength: 255, external: true},
			{key: "message.body", field: mm.Body, types: long, minLength: 131072},
			{key: "message.direction", field: mm.Direction, types: []string{"Picklist"}, picklist: []string{"inbound", "outbound"}},
			{key: "message.sent_at", field: mm.SentAt, types: []string{"DateTime"}},
			{key: "message.sender", field: mm.Sender, types: text, minLength: 128},
			{key: "message.media_url", field: mm.MediaURL, types: long, minLength: 2048},
			{key: "message.media_type", field: mm.MediaType, types: text, minLength: 100},
			{key: "message.kind", field: mm.Kind, types: text, minLength: 20},
			{key: "message.state", field: mm.State, types: []string{"Picklist"}, picklist: stateNames()},
			{key: "message.sequence", field: mm.Sequence, types: []string{"Number"}},
			{key: "message.delivery_status", field: mm.DeliveryStatus, types: text, minLength: 255},
			{key: "message.media_file_id", field: mm.MediaFileID, types: text, minLength: 18},
		},
	}
	byName := map[string]salesforce.Object{}
	for _, o := range objs {
		byName[o.Name] = o
	}
	if len(objs) != len(checks) {
		t.Errorf("the metadata has %d objects, want the mapping's %d", len(objs), len(checks))
	}
	for object, wants := range checks {
		o, ok := byName[object]
		if !ok {
			t.Errorf("no object %s in the metadata", object)
			continue
		}
		mapped := map[string]bool{}
		for _, w := range wants {
			mapped[w.field] = true
			f, ok := o.Field(w.field)
			if !ok {
				t.Errorf("mapping.%s: %s.%s is not in the metadata", w.key, object, w.field)
				continue
			}
			if f.Name != w.field {
				t.Errorf("mapping.%s: the metadata spells it %s, the mapping %s", w.key, f.Name, w.field)
			}
			if !slices.Contains(w.types, f.Type) {
				t.Errorf("mapping.%s: %s.%s is %s, want one of %v", w.key, object, w.field, f.Type, w.types)
			}
			if f.Length < w.minLength {
				t.Errorf("mapping.%s: %s.%s holds %d characters, want at least %d", w.key, object, w.field, f.Length, w.minLength)
			}
			if f.ExternalID != w.external || f.Unique != w.external {
				t.Errorf("mapping.%s: %s.%s external id %v unique %v, want both %v", w.key, object, w.field, f.ExternalID, f.Unique, w.external)
			}
			if w.external && !f.CaseSensitive {
				t.Errorf("mapping.%s: the external id must be case-sensitive (the keys are)", w.key)
			}
			if f.Type == "Number" && f.Scale != 0 {
				t.Errorf("mapping.%s: scale %d, want 0 (the sequence is an integer)", w.key, f.Scale)
			}
			if w.picklist != nil {
				if !slices.Equal(f.Picklist, w.picklist) || !f.Restricted {
					t.Errorf("mapping.%s: picklist %v restricted %v, want exactly %v, restricted", w.key, f.Picklist, f.Restricted, w.picklist)
				}
			}
			if f.Required {
				t.Errorf("mapping.%s: %s.%s is required; the connector leaves some fields empty", w.key, object, w.field)
			}
		}
		if object == mm.Object {
			parent, ok := findParent(o, mc.Object)
			switch {
			case !ok:
				t.Errorf("%s has no master-detail field to %s", object, mc.Object)
			case parent.ReferenceName() != mm.Parent:
				t.Errorf("mapping.message.parent is %s, but the metadata's relationship is %s", mm.Parent, parent.ReferenceName())
			default:
				mapped[parent.Name] = true
			}
		}
		for _, f := range o.Fields {
			if !mapped[f.Name] && f.Type != "Summary" {
				t.Errorf("%s.%s is in the metadata but the connector does not write it", object, f.Name)
			}
		}
	}

	// The list views a support team wants.
	conv := byName[mc.Object]
	views := map[string]salesforce.ListView{}
	for _, v := range conv.ListViews {
		views[v.Name] = v
	}
	if v := views["Open_Conversations"]; len(v.Filters) != 1 || v.Filters[0] != (salesforce.ListViewFilter{Field: mc.State, Operation: "equals", Value: "OPEN"}) {
		t.Errorf("Open_Conversations filters %+v, want State equals OPEN", v.Filters)
	}
	if v := views["Blocked_Conversations"]; len(v.Filters) != 1 || v.Filters[0] != (salesforce.ListViewFilter{Field: mc.Blocked, Operation: "equals", Value: "1"}) {
		t.Errorf("Blocked_Conversations filters %+v, want Blocked equals 1", v.Filters)
	}
}

// TestMetadataHasTheFileKey: the ContentVersion field mapping.file_key
// names, the one field the project adds to a standard object, is a
// case-sensitive unique external id of 255 characters (the message keys).
func TestMetadataHasTheFileKey(t *testing.T) {
	std, err := salesforce.StandardFields()
	if err != nil {
		t.Fatal(err)
	}
	fields := std["ContentVersion"]
	if len(std) != 1 || len(fields) != 1 {
		t.Fatalf("fields added to standard objects: %+v", std)
	}
	f := fields[0]
	if f.Name != config.DefaultMapping().FileKey || f.Type != "Text" || f.Length != 255 || !f.ExternalID || !f.Unique || !f.CaseSensitive || f.Required {
		t.Errorf("ContentVersion.%s: %+v", f.Name, f)
	}
	objs, err := salesforce.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Name == "ContentVersion" {
			t.Error("Objects lists ContentVersion, a standard object the project only adds a field to")
		}
	}
}

func findParent(o salesforce.Object, parent string) (salesforce.Field, bool) {
	for _, f := range o.Fields {
		if f.Type == "MasterDetail" && f.ReferenceTo == parent {
			return f, true
		}
	}
	return salesforce.Field{}, false
}

// TestIntegrationPermissionSetCoversExactlyTheMappedFields checks that the
// integration user's permission set can create, read and edit both objects
// and every field the connector writes (a master-detail field needs no
// field permission), and grants edit on nothing else.
func TestIntegrationPermissionSetCoversExactlyTheMappedFields(t *testing.T) {
	objs, err := salesforce.Objects()
	if err != nil {
		t.Fatal(err)
	}
	sets, err := salesforce.PermissionSets()
	if err != nil {
		t.Fatal(err)
	}
	var ps *salesforce.PermissionSet
	for i := range sets {
		if sets[i].Name == "Chat_Connector_Integration" {
			ps = &sets[i]
		}
	}
	if ps == nil {
		t.Fatalf("no Chat_Connector_Integration permission set among %d", len(sets))
	}
	for _, o := range objs {
		op := ps.Objects[o.Name]
		if !op.Create || !op.Read || !op.Edit || !op.ViewAll || op.Delete {
			t.Errorf("%s: object permission %+v, want create, read, edit, view all, no delete", o.Name, op)
		}
		for _, f := range o.Fields {
			key := o.Name + "." + f.Name
			fp, listed := ps.Fields[key]
			switch f.Type {
			case "MasterDetail":
				if listed {
					t.Errorf("%s: a master-detail field can not take a field permission", key)
				}
			case "Summary":
				if !fp.Readable || fp.Editable {
					t.Errorf("%s: %+v, want read-only", key, fp)
				}
			default:
				if !fp.Readable || !fp.Editable {
					t.Errorf("%s: %+v, want read and edit", key, fp)
				}
			}
		}
	}
	std, err := salesforce.StandardFields()
	if err != nil {
		t.Fatal(err)
	}
	for object, fields := range std {
		for _, f := range fields {
			if fp := ps.Fields[object+"."+f.Name]; !fp.Readable || !fp.Editable {
				t.Errorf("%s.%s: %+v, want read and edit", object, f.Name, fp)
			}
		}
	}
	for key := range ps.Fields {
		object, field, _ := strings.Cut(key, ".")
		found := false
		for _, o := range objs {
			if _, ok := o.Field(field); ok && o.Name == object {
				found = true
			}
		}
		for _, f := range std[object] {
			if f.Name == field {
				found = true
			}
		}
		if !found {
			t.Errorf("the permission set names %s, which the metadata does not have", key)
		}
	}
}
