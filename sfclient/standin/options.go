package standin

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/salesforce"
)

// Defaults applied by New to zero Options fields.
const (
	// DefaultOrgID is the org id of a stand-in whose Options.OrgID is empty.
	DefaultOrgID = "00D000000000001AAA"
	// DefaultUserID is the integration user every token is issued to.
	DefaultUserID = "005000000000001AAA"
	// DefaultDailyLimit is the api-usage maximum (a Developer Edition's
	// daily request allowance).
	DefaultDailyLimit = 15000
	// MaxCollectionRecords is the most records one sObject Collections call
	// takes.
	MaxCollectionRecords = 200
	// DefaultQueryBatchSize is the most records of one query answer.
	DefaultQueryBatchSize = 2000
)

// Options configure a Server. The zero value is usable: it gives the
// default org, accepts any client id and secret, issues tokens that never
// expire, allows DefaultDailyLimit calls, and serves DefaultObjects().
type Options struct {
	// OrgID is the org's 18-character id (15 are accepted). Default
	// DefaultOrgID.
	OrgID string
	// UserID is the id of the user tokens are issued to. Default
	// DefaultUserID.
	UserID string
	// Username is the integration user's username. When set, a JWT
	// assertion's sub must equal it; otherwise any non-empty sub is
	// accepted. The identity endpoint shows it, or
	// "integration@standin.example" when it is empty.
	Username string
	// ClientID is the connected app's consumer key: the client_id of the
	// client credentials flow and the iss of a JWT assertion. Empty accepts
	// any non-empty value.
	ClientID string
	// ClientSecret is the consumer secret the client credentials flow must
	// present. Empty accepts any non-empty secret.
	ClientSecret string
	// JWTPublicKeyPEM is the connected app's certificate or RSA public key
	// (PEM: CERTIFICATE, PUBLIC KEY or RSA PUBLIC KEY). When set, JWT
	// assertions must carry a valid RS256 signature by the matching private
	// key; when empty, signatures are not checked.
	JWTPublicKeyPEM []byte
	// TokenLifetime is how long an issued token is valid; afterwards it gets
	// 401 INVALID_SESSION_ID. Zero means tokens never expire.
	TokenLifetime time.Duration
	// DailyLimit is the api-usage maximum: every /services/data call counts
	// one, and calls beyond it get 403 REQUEST_LIMIT_EXCEEDED. Default
	// DefaultDailyLimit.
	DailyLimit int
	// Objects is the org's schema. Nil means ObjectsFromMetadata(Metadata)
	// when Metadata is set, else DefaultObjects().
	Objects []Object
	// Metadata are the org's custom objects as their metadata declares
	// them: describe answers from it (field types, lengths, external ids,
	// picklists, relationships). Nil means the salesforce/ folder's
	// (salesforce.Objects()). Objects of the schema it does not declare are
	// described with every field a nillable string.
	Metadata []salesforce.Object
	// QueryBatchSize is the most records one query answer holds before
	// nextRecordsUrl; a request's Sforce-Query-Options: batchSize=N header
	// lowers it. Default DefaultQueryBatchSize.
	QueryBatchSize int
	// FileKeyField is the ContentVersion field that keys Files, unique
	// like an external id: an insert naming a key another File has is 400
	// DUPLICATE_VALUE. Default DefaultFileKeyField.
	FileKeyField string
	// MaxUploadBytes is the most bytes of a ContentVersion insert the
	// stand-in reads; a larger body is 413. Default DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// FileStorageLimit, when positive, is the org's file storage in
	// bytes: an insert that would pass it is 400 STORAGE_LIMIT_EXCEEDED.
	FileStorageLimit int64
}

// Object describes one sObject type of the stand-in's schema.
type Object struct {
	// Name is the API name, such as "Chat_Message__c".
	Name string
	// KeyPrefix is the three-character prefix of its record ids, such as
	// "a01". Default: assigned from "a00" upwards in schema order.
	KeyPrefix string
	// ExternalID is the name of the object's external id field, the one
	// upserts match on. It is a field of the object even if Fields omits it.
	ExternalID string
	// Fields are the plain fields the object accepts.
	Fields []string
	// Required are fields that must have a value when a record is created
	// (and may not be set to null afterwards).
	Required []string
	// MaxLength caps the length in characters of a string field's value.
	MaxLength map[string]int
	// Lookups are the object's references to parent records.
	Lookups []Lookup
}

// Lookup is a reference field to a parent object.
type Lookup struct {
	// Field is the lookup field holding the parent's record id, such as
	// "Chat_Conversation__c".
	Field string
	// Relationship is the relationship name through which a record may name
	// its parent by external id, such as "Chat_Conversation__r".
	Relationship string
	// Object is the parent object's API name.
	Object string
}

// DefaultObjects returns the schema matching the connector's default
// mapping: Chat_Conversation__c (external id Conversation_Key__c) and
// Chat_Message__c (external id Message_Key__c, with a lookup
// Chat_Conversation__c / Chat_Conversation__r to the conversation). No field
// is required; Body__c holds at most 131072 characters (a long text area's
// maximum).
func DefaultObjects() []Object {
	return []Object{
		{
			Name:       "Chat_Conversation__c",
			KeyPrefix:  "a01",
			ExternalID: "Conversation_Key__c",
			Fields:     []string{"State__c", "Channel__c", "Contact_Id__c", "Last_Message_At__c", "Blocked__c"},
		},
		{
			Name:       "Chat_Message__c",
			KeyPrefix:  "a02",
			ExternalID: "Message_Key__c",
			Fields: []string{"Body__c", "Direction__c", "Sent_At__c", "Sender__c", "Media_Url__c",
				"Media_Type__c", "Kind__c", "Conversation_State__c", "Sequence__c",
				"Delivery_Status__c", "Media_File_Id__c"},
			MaxLength: map[string]int{"Body__c": 131072},
			Lookups: []Lookup{{
				Field:        "Chat_Conversation__c",
				Relationship: "Chat_Conversation__r",
				Object:       "Chat_Conversation__c",
			}},
		},
	}
}

var (
	orgIDPattern     = regexp.MustCompile(`^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$`)
	userIDPattern    = regexp.MustCompile(`^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$`)
	apiNamePattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	keyPrefixPattern = regexp.MustCompile(`^[0-9A-Za-z]{3}$`)
)

// Validate reports the first problem with the options, naming the field.
// New panics on options that do not validate.
func (o Options) Validate() error {
	if o.OrgID != "" && !orgIDPattern.MatchString(o.OrgID) {
		return fmt.Errorf("standin: OrgID %q: want 15 or 18 alphanumeric characters starting with 00D", o.OrgID)
	}
	if o.UserID != "" && !userIDPattern.MatchString(o.UserID) {
		return fmt.Errorf("standin: UserID %q: want 15 or 18 alphanumeric characters starting with 005", o.UserID)
	}
	if o.TokenLifetime < 0 {
		return errors.New("standin: TokenLifetime: must not be negative")
	}
	if o.DailyLimit < 0 {
		return errors.New("standin: DailyLimit: must not be negative")
	}
	if len(o.JWTPublicKeyPEM) > 0 {
		if _, err := parsePublicKey(o.JWTPublicKeyPEM); err != nil {
			return fmt.Errorf("standin: JWTPublicKeyPEM: %w", err)
		}
	}
	if o.Objects != nil {
		if _, err := compileSchema(o.Objects); err != nil {
			return err
		}
	}
	return nil
}

// withDefaults returns o with every zero field given its default.
func (o Options) withDefaults() Options {
	if o.OrgID == "" {
		o.OrgID = DefaultOrgID
	}
	if o.UserID == "" {
		o.UserID = DefaultUserID
	}
	if o.DailyLimit == 0 {
		o.DailyLimit = DefaultDailyLimit
	}
	if o.Objects == nil && o.Metadata != nil {
		o.Objects = ObjectsFromMetadata(o.Metadata)
	}
	if o.Objects == nil {
		o.Objects = DefaultObjects()
	}
	if o.Metadata == nil {
		o.Metadata = defaultMetadata()
	}
	if o.QueryBatchSize <= 0 {
		o.QueryBatchSize = DefaultQueryBatchSize
	}
	if o.FileKeyField == "" {
		o.FileKeyField = DefaultFileKeyField
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	return o
}

// parsePublicKey reads an RSA public key from a PEM certificate, PKIX public
// key or PKCS#1 public key.
func parsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			return pub, nil
		}
		return nil, errors.New("certificate does not hold an RSA key")
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		if pub, ok := key.(*rsa.PublicKey); ok {
			return pub, nil
		}
		return nil, errors.New("public key is not an RSA key")
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse RSA public key: %w", err)
		}
		return pub, nil
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
}

// objectSchema is an Object compiled for lookups by case-insensitive name.
type objectSchema struct {
	name       string
	keyPrefix  string
	externalID string
	// fields maps a lower-cased field name to its canonical name; it holds
	// the plain fields, the external id field and the lookup fields.
	fields map[string]string
	// lookups maps a lower-cased lookup field name to its lookup.
	lookups map[string]Lookup
	// relationships maps a lower-cased relationship name to its lookup.
	relationships map[string]Lookup
	required      []string
	maxLength     map[string]int
}

// compileSchema checks objs and indexes them by lower-cased name.
func compileSchema(objs []Object) (map[string]*objectSchema, error) {
	out := make(map[string]*objectSchema, len(objs))
	prefixes := map[string]bool{}
	for i, o := range objs {
		if !apiNamePattern.MatchString(o.Name) {
			return nil, fmt.Errorf("standin: Objects[%d].Name %q: not an API name", i, o.Name)
		}
		key := strings.ToLower(o.Name)
		if out[key] != nil {
			return nil, fmt.Errorf("standin: Objects[%d].Name %q: duplicate object", i, o.Name)
		}
		if !apiNamePattern.MatchString(o.ExternalID) {
			return nil, fmt.Errorf("standin: Objects[%d].ExternalID %q: not an API name", i, o.ExternalID)
		}
		prefix := o.KeyPrefix
		if prefix == "" {
			prefix = fmt.Sprintf("a%02d", i)
		}
		if !keyPrefixPattern.MatchString(prefix) {
			return nil, fmt.Errorf("standin: Objects[%d].KeyPrefix %q: want 3 alphanumeric characters", i, prefix)
		}
		if prefixes[prefix] {
			return nil, fmt.Errorf("standin: Objects[%d].KeyPrefix %q: duplicate key prefix", i, prefix)
		}
		prefixes[prefix] = true
		s := &objectSchema{
			name:          o.Name,
			keyPrefix:     prefix,
			externalID:    o.ExternalID,
			fields:        map[string]string{strings.ToLower(o.ExternalID): o.ExternalID},
			lookups:       map[string]Lookup{},
			relationships: map[string]Lookup{},
			maxLength:     map[string]int{},
		}
		for _, f := range o.Fields {
			if !apiNamePattern.MatchString(f) {
				return nil, fmt.Errorf("standin: Objects[%d].Fields: %q is not an API name", i, f)
			}
			s.fields[strings.ToLower(f)] = f
		}
		for _, l := range o.Lookups {
			if !apiNamePattern.MatchString(l.Field) || !apiNamePattern.MatchString(l.Relationship) || !apiNamePattern.MatchString(l.Object) {
				return nil, fmt.Errorf("standin: Objects[%d].Lookups: %+v: names must be API names", i, l)
			}
			s.fields[strings.ToLower(l.Field)] = l.Field
			s.lookups[strings.ToLower(l.Field)] = l
			s.relationships[strings.ToLower(l.Relationship)] = l
		}
		for _, f := range o.Required {
			canon, ok := s.fields[strings.ToLower(f)]
			if !ok {
				return nil, fmt.Errorf("standin: Objects[%d].Required: %q is not a field of %s", i, f, o.Name)
			}
			s.required = append(s.required, canon)
		}
		for f, n := range o.MaxLength {
			canon, ok := s.fields[strings.ToLower(f)]
			if !ok {
				return nil, fmt.Errorf("standin: Objects[%d].MaxLength: %q is not a field of %s", i, f, o.Name)
			}
			if n <= 0 {
				return nil, fmt.Errorf("standin: Objects[%d].MaxLength[%q]: must be positive", i, f)
			}
			s.maxLength[canon] = n
		}
		out[key] = s
	}
	for _, s := range out {
		for _, l := range s.lookups {
			parent := out[strings.ToLower(l.Object)]
			if parent == nil {
				return nil, fmt.Errorf("standin: object %s: lookup %s refers to unknown object %q", s.name, l.Field, l.Object)
			}
		}
	}
	return out, nil
}
