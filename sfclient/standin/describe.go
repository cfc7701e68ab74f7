package standin

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/salesforce"
)

// ObjectsFromMetadata turns custom objects' metadata (salesforce.Objects,
// or an edited copy of it) into the stand-in's schema: each object's
// external id (the first External ID field), its plain fields, its
// master-detail and lookup fields as lookups, the lengths of its text
// fields, and its required fields. Roll-up summaries are left out (they
// are computed, never written). Key prefixes are assigned from "a01" in
// order.
func ObjectsFromMetadata(meta []salesforce.Object) []Object {
	var out []Object
	for i, m := range meta {
		o := Object{Name: m.Name, KeyPrefix: fmt.Sprintf("a%02d", i+1), MaxLength: map[string]int{}}
		for _, f := range m.Fields {
			switch {
			case f.Type == "Summary":
				continue
			case f.Type == "MasterDetail" || f.Type == "Lookup":
				o.Lookups = append(o.Lookups, Lookup{Field: f.Name, Relationship: f.ReferenceName(), Object: f.ReferenceTo})
				continue
			case f.ExternalID && o.ExternalID == "":
				o.ExternalID = f.Name
			default:
				o.Fields = append(o.Fields, f.Name)
			}
			if f.Length > 0 {
				o.MaxLength[f.Name] = f.Length
			}
			if f.Required {
				o.Required = append(o.Required, f.Name)
			}
		}
		if o.ExternalID == "" {
			// Upserts need one: an object without an External ID field
			// gets a field Salesforce would refuse as an external id,
			// named so that describe shows it is not one.
			o.ExternalID = "Id_Not_External__c"
		}
		out = append(out, o)
	}
	return out
}

// describeField is one field of a describe answer (the subset of
// Salesforce's DescribeFieldResult the connector reads, with the same
// names).
type describeField struct {
	Name               string          `json:"name"`
	Label              string          `json:"label"`
	Type               string          `json:"type"`
	SoapType           string          `json:"soapType"`
	Length             int             `json:"length"`
	Precision          int             `json:"precision"`
	Scale              int             `json:"scale"`
	Custom             bool            `json:"custom"`
	Createable         bool            `json:"createable"`
	Updateable         bool            `json:"updateable"`
	Nillable           bool            `json:"nillable"`
	Calculated         bool            `json:"calculated"`
	AutoNumber         bool            `json:"autoNumber"`
	ExternalID         bool            `json:"externalId"`
	Unique             bool            `json:"unique"`
	CaseSensitive      bool            `json:"caseSensitive"`
	IDLookup           bool            `json:"idLookup"`
	Filterable         bool            `json:"filterable"`
	Sortable           bool            `json:"sortable"`
	ReferenceTo        []string        `json:"referenceTo"`
	RelationshipName   *string         `json:"relationshipName"`
	RelationshipOrder  *int            `json:"relationshipOrder"`
	CascadeDelete      bool            `json:"cascadeDelete"`
	RestrictedPicklist bool            `json:"restrictedPicklist"`
	PicklistValues     []picklistValue `json:"picklistValues"`
	DefaultValue       any             `json:"defaultValue"`
}

type picklistValue struct {
	Active       bool   `json:"active"`
	DefaultValue bool   `json:"defaultValue"`
	Label        string `json:"label"`
	Value        string `json:"value"`
}

// describeResult is the subset of DescribeSObjectResult the stand-in
// answers.
type describeResult struct {
	Name        string          `json:"name"`
	Label       string          `json:"label"`
	LabelPlural string          `json:"labelPlural"`
	KeyPrefix   string          `json:"keyPrefix"`
	Custom      bool            `json:"custom"`
	Createable  bool            `json:"createable"`
	Updateable  bool            `json:"updateable"`
	Deletable   bool            `json:"deletable"`
	Queryable   bool            `json:"queryable"`
	Fields      []describeField `json:"fields"`
	URLs        map[string]string
}

var soapTypes = map[string]string{
	"id": "tns:ID", "reference": "tns:ID", "string": "xsd:string", "textarea": "xsd:string", "picklist": "xsd:string",
	"url": "xsd:string", "email": "xsd:string", "phone": "xsd:string", "boolean": "xsd:boolean", "datetime": "xsd:dateTime",
	"date": "xsd:date", "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
}

// describeObject builds the describe answer of a schema object from its
// metadata (fields the metadata does not declare are nillable strings).
// The caller does not hold s.mu.
func (s *Server) describeObject(o *objectSchema, version string) describeResult {
	meta, hasMeta := s.metadata[strings.ToLower(o.name)]
	base := "/services/data/" + version + "/sobjects/" + o.name
	res := describeResult{
		Name: o.name, Label: o.name, LabelPlural: o.name, KeyPrefix: o.keyPrefix, Custom: strings.HasSuffix(o.name, "__c"),
		Createable: true, Updateable: true, Deletable: true, Queryable: true,
		URLs: map[string]string{"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
	}
	if hasMeta {
		res.Label, res.LabelPlural = meta.Label, meta.PluralLabel
	}
	std := func(name, typ string, length int) describeField {
		f := describeField{Name: name, Label: name, Type: typ, SoapType: soapTypes[typ], Length: length,
			Filterable: true, Sortable: true, ReferenceTo: []string{}, PicklistValues: []picklistValue{}}
		if typ == "reference" {
			f.ReferenceTo = []string{"User"}
			rel := strings.TrimSuffix(name, "Id")
			f.RelationshipName = &rel
		}
		return f
	}
	id := std("Id", "id", 18)
	id.IDLookup = true
	res.Fields = append(res.Fields, id)
	owned := true
	if hasMeta {
		for _, f := range meta.Fields {
			if f.Type == "MasterDetail" {
				owned = false
			}
		}
	}
	if owned {
		owner := std("OwnerId", "reference", 18)
		owner.Createable, owner.Updateable = true, true
		res.Fields = append(res.Fields, owner)
	}
	name := std("Name", "string", 80)
	name.AutoNumber, name.Calculated = true, true
	res.Fields = append(res.Fields, name,
		std("CreatedDate", "datetime", 0), std("CreatedById", "reference", 18),
		std("LastModifiedDate", "datetime", 0), std("LastModifiedById", "reference", 18),
		std("SystemModstamp", "datetime", 0))

	var names []string
	for _, canon := range o.fields {
		names = append(names, canon)
	}
	if hasMeta {
		for _, f := range meta.Fields {
			if f.Type == "Summary" {
				names = append(names, f.Name)
			}
		}
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		f, ok := meta.Field(n)
		if hasMeta && !ok {
			continue // a name the schema needs but the metadata does not declare
		}
		if !hasMeta {
			df := std(n, "string", 255)
			df.Custom, df.Createable, df.Updateable, df.Nillable = true, true, true, true
			df.ExternalID, df.Unique, df.IDLookup = n == o.externalID, n == o.externalID, n == o.externalID
			res.Fields = append(res.Fields, df)
			continue
		}
		res.Fields = append(res.Fields, s.describeMetaField(meta, f))
	}
	return res
}

// describeMetaField describes a custom field declared by metadata.
func (s *Server) describeMetaField(meta salesforce.Object, f salesforce.Field) describeField {
	typ := f.DescribeType()
	if f.Type == "Summary" {
		typ = "double"
		if f.SummaryOperation == "min" || f.SummaryOperation == "max" {
			obj, field, _ := strings.Cut(f.SummarizedField, ".")
			if child, ok := s.metadata[strings.ToLower(obj)]; ok {
				if cf, ok := child.Field(field); ok {
					typ = cf.DescribeType()
				}
			}
		}
	}
	df := describeField{
		Name: f.Name, Label: f.Label, Type: typ, SoapType: soapTypes[typ], Length: f.Length,
		Precision: f.Precision, Scale: f.Scale, Custom: true,
		Createable: true, Updateable: true, Nillable: !f.Required && f.Type != "Checkbox",
		ExternalID: f.ExternalID, Unique: f.Unique, CaseSensitive: f.CaseSensitive,
		IDLookup: f.ExternalID || f.Unique, Filterable: f.Type != "LongTextArea", Sortable: f.Type != "LongTextArea",
		ReferenceTo: []string{}, RestrictedPicklist: f.Restricted, PicklistValues: []picklistValue{},
	}
	switch f.Type {
	case "Summary":
		df.Createable, df.Updateable, df.Calculated = false, false, true
	case "MasterDetail", "Lookup":
		df.ReferenceTo = []string{f.ReferenceTo}
		rel := f.ReferenceName()
		df.RelationshipName = &rel
		if f.Type == "MasterDetail" {
			order := 0
			df.RelationshipOrder = &order
			df.Updateable, df.CascadeDelete = false, true
		}
	case "Checkbox":
		df.DefaultValue = false
	}
	if typ == "textarea" || typ == "string" {
		df.Length = f.Length
	}
	for _, v := range f.Picklist {
		df.PicklistValues = append(df.PicklistValues, picklistValue{Active: true, Label: v, Value: v})
	}
	return df
}

// handleDescribe is GET /services/data/vXX.X/sobjects/{object}/describe.
func (s *Server) handleDescribe(w http.ResponseWriter, version, object string) {
	o := s.schema[strings.ToLower(object)]
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	s.mu.Lock()
	s.stats.DescribeCalls++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.describeObject(o, version))
}

// The REST API versions the stand-in serves: minVersion.0 to
// maxVersion.0.
const minVersion, maxVersion = 31, 62

// supportedVersions are the REST API versions GET /services/data/ lists.
func supportedVersions() []map[string]string {
	var out []map[string]string
	for v := minVersion; v <= maxVersion; v++ {
		n := fmt.Sprintf("%d.0", v)
		out = append(out, map[string]string{"label": "v" + n, "url": "/services/data/v" + n, "version": n})
	}
	return out
}

// handleVersions is GET /services/data/: the API versions the org serves
// (no authentication, as on Salesforce).
func (s *Server) handleVersions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, supportedVersions())
}

// checkValue checks a written value against the field's metadata, as
// Salesforce does: a restricted picklist takes only its values, a checkbox
// only true or false, a date/time only an ISO 8601 time. Fields the
// metadata does not declare take any scalar.
func (s *Server) checkValue(o *objectSchema, field string, v any) *recErr {
	if v == nil {
		return nil
	}
	m, ok := s.metadata[string(appendLower(make([]byte, 0, 64), o.name))]
	if !ok {
		return nil
	}
	f, ok := m.Field(field)
	if !ok {
		return nil
	}
	bad := func() *recErr {
		return &recErr{code: "INVALID_TYPE_ON_FIELD_IN_RECORD",
			message: fmt.Sprintf("%s: value not of required type: %v", f.Name, v), fields: []string{f.Name}}
	}
	switch f.Type {
	case "Picklist":
		str, isStr := v.(string)
		if !isStr {
			return bad()
		}
		if f.Restricted && !slices.Contains(f.Picklist, str) {
			return &recErr{code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
				message: f.Label + ": bad value for restricted picklist field: " + str, fields: []string{f.Name}}
		}
	case "Checkbox":
		if _, isBool := v.(bool); !isBool {
			return bad()
		}
	case "DateTime":
		str, isStr := v.(string)
		if !isStr {
			return bad()
		}
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			if _, err := time.Parse("2006-01-02T15:04:05.000-0700", str); err != nil {
				return bad()
			}
		}
	}
	return nil
}
