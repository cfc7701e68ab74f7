// Package salesforce holds the Salesforce side of the connector as a
// Salesforce DX source folder (sfdx-project.json, force-app/): the custom
// objects of the default mapping with their fields, list views and tab,
// and the permission sets. Deploy it with
//
//	sf project deploy start --source-dir salesforce/force-app
//
// (see the README's "Setting up the org"). This Go package reads the
// embedded metadata, so that tests can prove it agrees with the default
// mapping and the Salesforce stand-in can describe the same objects a
// real org would.
package salesforce

import (
	"embed"
	"encoding/xml"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// files is the DX source folder as deployed.
//
//go:embed sfdx-project.json force-app
var files embed.FS

// SourceDir is the package directory of the DX project, inside the FS
// returned by Files.
const SourceDir = "force-app/main/default"

// Files returns the embedded DX project (sfdx-project.json and
// force-app/).
func Files() fs.FS { return files }

// Object is a custom object as its metadata declares it.
type Object struct {
	// Name is the API name, such as "Chat_Conversation__c".
	Name        string
	Label       string
	PluralLabel string
	// SharingModel is the organisation-wide default: ReadWrite, Private,
	// ControlledByParent, ...
	SharingModel string
	// NameField describes the standard Name field (AutoNumber or Text).
	NameFieldType string
	// Fields are the custom fields, sorted by name.
	Fields []Field
	// ListViews are the list views' API names, sorted.
	ListViews []ListView
}

// ListView is a list view of an object.
type ListView struct {
	Name, Label string
	Filters     []ListViewFilter
}

// ListViewFilter is one filter of a list view.
type ListViewFilter struct {
	Field, Operation, Value string
}

// Field is a custom field as its metadata declares it.
type Field struct {
	// Name is the API name, such as "State__c".
	Name  string
	Label string
	// Type is the metadata type: Text, LongTextArea, Picklist, Checkbox,
	// DateTime, Number, MasterDetail, Lookup, Summary, Url, ...
	Type string
	// Length is the most characters of a text field.
	Length int
	// Precision and Scale of a Number.
	Precision, Scale int
	ExternalID       bool
	Unique           bool
	CaseSensitive    bool
	Required         bool
	// ReferenceTo is the parent object of a MasterDetail or Lookup field.
	ReferenceTo string
	// RelationshipName is the child relationship's name (the parent's view
	// of its children, such as "Chat_Messages" for Chat_Messages__r).
	RelationshipName string
	// Picklist are a picklist's values in order; Restricted says whether
	// other values are refused.
	Picklist   []string
	Restricted bool
	// TrackHistory: changes are kept in the object's field history.
	TrackHistory bool
	// Summary fields: the summarised field, the foreign key and the
	// operation (count, sum, min, max).
	SummarizedField, SummaryForeignKey, SummaryOperation string
}

// ReferenceName is the name through which a record names this
// MasterDetail or Lookup field's parent: "Chat_Conversation__c" becomes
// "Chat_Conversation__r".
func (f Field) ReferenceName() string {
	if base, ok := strings.CutSuffix(f.Name, "__c"); ok {
		return base + "__r"
	}
	return strings.TrimSuffix(f.Name, "Id")
}

// Field returns the object's field of that name (case-insensitive).
func (o Object) Field(name string) (Field, bool) {
	for _, f := range o.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

// PermissionSet is a permission set as its metadata declares it.
type PermissionSet struct {
	// Name is the API name (the file's name), such as
	// "Chat_Connector_Integration".
	Name, Label string
	// Objects are the object permissions by object name.
	Objects map[string]ObjectPermission
	// Fields are the field permissions by "Object.Field".
	Fields map[string]FieldPermission
}

// ObjectPermission is what a permission set allows on an object.
type ObjectPermission struct {
	Create, Read, Edit, Delete, ViewAll, ModifyAll bool
}

// FieldPermission is what a permission set allows on a field.
type FieldPermission struct {
	Readable, Editable bool
}

type xmlValue struct {
	FullName string `xml:"fullName"`
}

type xmlField struct {
	FullName          string `xml:"fullName"`
	Label             string `xml:"label"`
	Type              string `xml:"type"`
	Length            int    `xml:"length"`
	Precision         int    `xml:"precision"`
	Scale             int    `xml:"scale"`
	ExternalID        bool   `xml:"externalId"`
	Unique            bool   `xml:"unique"`
	CaseSensitive     bool   `xml:"caseSensitive"`
	Required          bool   `xml:"required"`
	ReferenceTo       string `xml:"referenceTo"`
	RelationshipName  string `xml:"relationshipName"`
	TrackHistory      bool   `xml:"trackHistory"`
	SummarizedField   string `xml:"summarizedField"`
	SummaryForeignKey string `xml:"summaryForeignKey"`
	SummaryOperation  string `xml:"summaryOperation"`
	ValueSet          struct {
		Restricted bool       `xml:"restricted"`
		Values     []xmlValue `xml:"valueSetDefinition>value"`
	} `xml:"valueSet"`
}

type xmlObject struct {
	Label        string `xml:"label"`
	PluralLabel  string `xml:"pluralLabel"`
	SharingModel string `xml:"sharingModel"`
	NameField    struct {
		Type string `xml:"type"`
	} `xml:"nameField"`
}

type xmlListView struct {
	FullName string `xml:"fullName"`
	Label    string `xml:"label"`
	Filters  []struct {
		Field     string `xml:"field"`
		Operation string `xml:"operation"`
		Value     string `xml:"value"`
	} `xml:"filters"`
}

type xmlPermissionSet struct {
	Label  string `xml:"label"`
	Fields []struct {
		Field    string `xml:"field"`
		Readable bool   `xml:"readable"`
		Editable bool   `xml:"editable"`
	} `xml:"fieldPermissions"`
	Objects []struct {
		Object    string `xml:"object"`
		Create    bool   `xml:"allowCreate"`
		Read      bool   `xml:"allowRead"`
		Edit      bool   `xml:"allowEdit"`
		Delete    bool   `xml:"allowDelete"`
		ViewAll   bool   `xml:"viewAllRecords"`
		ModifyAll bool   `xml:"modifyAllRecords"`
	} `xml:"objectPermissions"`
}

// Objects reads the custom objects of the embedded DX project, sorted by
// name.
func Objects() ([]Object, error) {
	return ReadObjects(files, SourceDir)
}

// PermissionSets reads the permission sets of the embedded DX project,
// sorted by name.
func PermissionSets() ([]PermissionSet, error) {
	return ReadPermissionSets(files, SourceDir)
}

// ReadObjects reads the custom objects of a DX package directory
// (dir/objects/<Object>/<Object>.object-meta.xml, fields/ and listViews/).
func ReadObjects(fsys fs.FS, dir string) ([]Object, error) {
	entries, err := fs.ReadDir(fsys, path.Join(dir, "objects"))
	if err != nil {
		return nil, fmt.Errorf("salesforce: read the objects: %w", err)
	}
	var out []Object
	for _, e := range entries {
		if !e.IsDir() || isStandardExtension(fsys, path.Join(dir, "objects", e.Name()), e.Name()) {
			continue
		}
		o, err := readObject(fsys, path.Join(dir, "objects", e.Name()), e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func readObject(fsys fs.FS, dir, name string) (Object, error) {
	var xo xmlObject
	if err := readXML(fsys, path.Join(dir, name+".object-meta.xml"), &xo); err != nil {
		return Object{}, err
	}
	o := Object{Name: name, Label: xo.Label, PluralLabel: xo.PluralLabel, SharingModel: xo.SharingModel, NameFieldType: xo.NameField.Type}
	fields, err := readFields(fsys, dir)
	if err != nil {
		return Object{}, err
	}
	o.Fields = fields
	viewFiles, err := metaFiles(fsys, path.Join(dir, "listViews"), ".listView-meta.xml")
	if err != nil {
		return Object{}, err
	}
	for _, p := range viewFiles {
		var xv xmlListView
		if err := readXML(fsys, p, &xv); err != nil {
			return Object{}, err
		}
		lv := ListView{Name: xv.FullName, Label: xv.Label}
		for _, f := range xv.Filters {
			lv.Filters = append(lv.Filters, ListViewFilter{Field: f.Field, Operation: f.Operation, Value: f.Value})
		}
		o.ListViews = append(o.ListViews, lv)
	}
	return o, nil
}

// readFields reads dir/fields/*.field-meta.xml.
func readFields(fsys fs.FS, dir string) ([]Field, error) {
	fieldFiles, err := metaFiles(fsys, path.Join(dir, "fields"), ".field-meta.xml")
	if err != nil {
		return nil, err
	}
	var out []Field
	for _, p := range fieldFiles {
		var xf xmlField
		if err := readXML(fsys, p, &xf); err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(path.Base(p), ".field-meta.xml"); xf.FullName != want {
			return nil, fmt.Errorf("salesforce: %s: fullName %q does not match the file name", p, xf.FullName)
		}
		f := Field{
			Name: xf.FullName, Label: xf.Label, Type: xf.Type, Length: xf.Length,
			Precision: xf.Precision, Scale: xf.Scale, ExternalID: xf.ExternalID, Unique: xf.Unique,
			CaseSensitive: xf.CaseSensitive, Required: xf.Required || xf.Type == "MasterDetail",
			ReferenceTo: xf.ReferenceTo, RelationshipName: xf.RelationshipName,
			Restricted: xf.ValueSet.Restricted, TrackHistory: xf.TrackHistory,
			SummarizedField: xf.SummarizedField, SummaryForeignKey: xf.SummaryForeignKey, SummaryOperation: xf.SummaryOperation,
		}
		for _, v := range xf.ValueSet.Values {
			f.Picklist = append(f.Picklist, v.FullName)
		}
		out = append(out, f)
	}
	return out, nil
}

// isStandardExtension reports whether dir holds only fields the project
// adds to a standard object (no <name>.object-meta.xml, a name without
// __c), such as ContentVersion's Connector_Media_Key__c.
func isStandardExtension(fsys fs.FS, dir, name string) bool {
	if strings.HasSuffix(name, "__c") {
		return false
	}
	_, err := fs.Stat(fsys, path.Join(dir, name+".object-meta.xml"))
	return err != nil
}

// StandardFields reads the custom fields the embedded DX project adds to
// standard objects, by object.
func StandardFields() (map[string][]Field, error) {
	return ReadStandardFields(files, SourceDir)
}

// ReadStandardFields reads the custom fields of standard objects in a DX
// package directory (dir/objects/<Object>/fields/ with no object-meta.xml),
// by object. ReadObjects leaves these objects out.
func ReadStandardFields(fsys fs.FS, dir string) (map[string][]Field, error) {
	entries, err := fs.ReadDir(fsys, path.Join(dir, "objects"))
	if err != nil {
		return nil, fmt.Errorf("salesforce: read the objects: %w", err)
	}
	out := map[string][]Field{}
	for _, e := range entries {
		d := path.Join(dir, "objects", e.Name())
		if !e.IsDir() || !isStandardExtension(fsys, d, e.Name()) {
			continue
		}
		fields, err := readFields(fsys, d)
		if err != nil {
			return nil, err
		}
		out[e.Name()] = fields
	}
	return out, nil
}

// ReadPermissionSets reads dir/permissionsets/*.permissionset-meta.xml.
func ReadPermissionSets(fsys fs.FS, dir string) ([]PermissionSet, error) {
	paths, err := metaFiles(fsys, path.Join(dir, "permissionsets"), ".permissionset-meta.xml")
	if err != nil {
		return nil, err
	}
	var out []PermissionSet
	for _, p := range paths {
		var xp xmlPermissionSet
		if err := readXML(fsys, p, &xp); err != nil {
			return nil, err
		}
		ps := PermissionSet{
			Name: strings.TrimSuffix(path.Base(p), ".permissionset-meta.xml"), Label: xp.Label,
			Objects: map[string]ObjectPermission{}, Fields: map[string]FieldPermission{},
		}
		for _, o := range xp.Objects {
			ps.Objects[o.Object] = ObjectPermission{Create: o.Create, Read: o.Read, Edit: o.Edit, Delete: o.Delete, ViewAll: o.ViewAll, ModifyAll: o.ModifyAll}
		}
		for _, f := range xp.Fields {
			ps.Fields[f.Field] = FieldPermission{Readable: f.Readable, Editable: f.Editable}
		}
		out = append(out, ps)
	}
	return out, nil
}

// metaFiles lists dir's files ending in suffix, sorted; a missing dir has
// none.
func metaFiles(fsys fs.FS, dir, suffix string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		if _, statErr := fs.Stat(fsys, dir); statErr != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("salesforce: read %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func readXML(fsys fs.FS, p string, v any) error {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return fmt.Errorf("salesforce: read %s: %w", p, err)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("salesforce: parse %s: %w", p, err)
	}
	return nil
}

// DescribeType is the type the REST API's describe reports for a field of
// this metadata type ("string" for Text, "picklist", "boolean",
// "datetime", "double" for Number, "reference" for MasterDetail and
// Lookup, "textarea" for the text areas, ...). A roll-up summary's type
// depends on what it summarises: it is "" here.
func (f Field) DescribeType() string {
	switch f.Type {
	case "Text", "AutoNumber":
		return "string"
	case "TextArea", "LongTextArea", "Html":
		return "textarea"
	case "Picklist":
		return "picklist"
	case "MultiselectPicklist":
		return "multipicklist"
	case "Checkbox":
		return "boolean"
	case "DateTime":
		return "datetime"
	case "Date":
		return "date"
	case "Time":
		return "time"
	case "Number":
		return "double"
	case "Currency":
		return "currency"
	case "Percent":
		return "percent"
	case "MasterDetail", "Lookup":
		return "reference"
	case "Url":
		return "url"
	case "Email":
		return "email"
	case "Phone":
		return "phone"
	}
	return ""
}
