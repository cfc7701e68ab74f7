package config

import (
	"time"

	"github.com/chatsync/sfconnector/statemachine"
)

// Names accepted by the configuration.
const (
	// DriverSQLite and DriverPostgres are the store drivers.
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"

	// FlowJWTBearer and FlowClientCredentials are the Salesforce OAuth 2.0
	// flows.
	FlowJWTBearer         = "jwt_bearer"
	FlowClientCredentials = "client_credentials"

	// The supported platforms.
	PlatformWhatsApp  = "whatsapp"
	PlatformWebChat   = "webchat"
	PlatformMessenger = "messenger"
	PlatformInstagram = "instagram"
	PlatformTelegram  = "telegram"
	PlatformLINE      = "line"
	PlatformTwilio    = "twilio"
	PlatformViber     = "viber"
)

// The defaults ApplyDefaults fills in.
const (
	DefaultListen          = ":8080"
	DefaultMaxBodyBytes    = 1 << 20 // 1 MiB
	DefaultShutdownTimeout = 30 * time.Second
	DefaultReadTimeout     = 15 * time.Second

	DefaultStoreDriver = DriverSQLite
	DefaultSQLiteDSN   = "data/connector.db"

	DefaultWorkers          = 4
	DefaultConcurrency      = 4
	MaxConcurrency          = 25
	DefaultBatchSize        = 200
	DefaultMaxConversations = 1000
	DefaultClaimRecords     = 2000
	DefaultBatchWindow      = 350 * time.Millisecond
	DefaultLeaseTTL         = 10 * time.Second
	DefaultMaxAttempts      = 10
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = 5 * time.Minute
	DefaultPollInterval     = time.Second
	DefaultRequestTimeout   = 30 * time.Second
	DefaultLimitThreshold   = 0.9
	DefaultLimitBackoff     = time.Minute

	DefaultExpirySchedule       = "@every 1m"
	DefaultRetrySchedule        = "@every 5s"
	DefaultRescueSchedule       = "@every 30s"
	DefaultNativeBlocksSchedule = "@every 30s"
	// DefaultSalesforceChangesSchedule polls the orgs for agents' changes.
	DefaultSalesforceChangesSchedule = "@every 30s"
	// ScheduleOff disables timers.salesforce_changes.
	ScheduleOff = "off"

	// The media defaults (config.Media).
	DefaultMediaMaxBytes       = 25 << 20
	MaxMediaMaxBytes           = 1 << 30
	DefaultMediaWorkers        = 2
	DefaultMediaMaxAttempts    = 10
	DefaultMediaPollInterval   = 2 * time.Second
	DefaultMediaMultipartAbove = 4 << 20
	MaxMediaMultipartAbove     = 37_500_000
	DefaultMediaRequestTimeout = 2 * time.Minute
	DefaultMediaLeaseTTL       = 30 * time.Second

	DefaultBlockingEnabled = true
	// MaxLastReply is the most characters of opt_out.last_reply.
	MaxLastReply = 4096

	DefaultLogLevel  = "info"
	DefaultLogFormat = "json"

	DefaultLoginURL   = "https://login.salesforce.com"
	DefaultAPIVersion = "62.0"

	DefaultInactivityTimeout = 24 * time.Hour
	DefaultGraphURL          = "https://graph.facebook.com/v21.0"
	// DefaultBodyLength is the length of the default mapping's body field
	// (Body__c), the most a Salesforce Long Text Area holds.
	DefaultBodyLength = 131072
)

// DefaultMapping returns the default Salesforce objects and fields:
// Chat_Conversation__c keyed by Conversation_Key__c and Chat_Message__c
// keyed by Message_Key__c. The conversation's last message time is not
// written by default (see ConversationMapping.LastMessageAt).
func DefaultMapping() Mapping {
	return Mapping{
		Conversation: ConversationMapping{
			Object:     "Chat_Conversation__c",
			ExternalID: "Conversation_Key__c",
			State:      "State__c",
			Channel:    "Channel__c",
			Contact:    "Contact_Id__c",
			Blocked:    "Blocked__c",
		},
		Message: MessageMapping{
			Object:         "Chat_Message__c",
			ExternalID:     "Message_Key__c",
			Body:           "Body__c",
			BodyLength:     DefaultBodyLength,
			Direction:      "Direction__c",
			SentAt:         "Sent_At__c",
			Sender:         "Sender__c",
			MediaURL:       "Media_Url__c",
			MediaType:      "Media_Type__c",
			MediaFileID:    "Media_File_Id__c",
			Kind:           "Kind__c",
			State:          "Conversation_State__c",
			Sequence:       "Sequence__c",
			DeliveryStatus: "Delivery_Status__c",
			Parent:         "Chat_Conversation__r",
		},
		FileKey: "Connector_Media_Key__c",
	}
}

// ApplyDefaults fills every unset (zero) value with its default. Values
// that are set, even to something invalid, are left for Validate to
// report. An explicit empty excluded_states list ([]) stays empty; only an
// absent one (nil) becomes [AUTO_BOT] (and Tenant.ExcludedConfigured then
// reports false).
func (c *Config) ApplyDefaults() {
	s := &c.Server
	setString(&s.Listen, DefaultListen)
	setInt64(&s.MaxBodyBytes, DefaultMaxBodyBytes)
	setDuration(&s.ShutdownTimeout, DefaultShutdownTimeout)
	setDuration(&s.ReadTimeout, DefaultReadTimeout)

	setString(&c.Store.Driver, DefaultStoreDriver)
	if c.Store.Driver == DriverSQLite && !c.Store.DSN.IsSet() && !c.Store.DSN.isReference() {
		c.Store.DSN = NewSecret(DefaultSQLiteDSN)
	}

	d := &c.Dispatcher
	setInt(&d.Workers, DefaultWorkers)
	setInt(&d.BatchSize, DefaultBatchSize)
	setInt(&d.Concurrency, DefaultConcurrency)
	setInt(&d.MaxConversations, DefaultMaxConversations)
	setInt(&d.ClaimRecords, DefaultClaimRecords)
	setDuration(&d.BatchWindow, DefaultBatchWindow)
	setDuration(&d.LeaseTTL, DefaultLeaseTTL)
	setInt(&d.MaxAttempts, DefaultMaxAttempts)
	setDuration(&d.BackoffMin, DefaultBackoffMin)
	setDuration(&d.BackoffMax, DefaultBackoffMax)
	setDuration(&d.PollInterval, DefaultPollInterval)
	setDuration(&d.RequestTimeout, DefaultRequestTimeout)
	if d.LimitThreshold == 0 {
		d.LimitThreshold = DefaultLimitThreshold
	}
	setDuration(&d.LimitBackoff, DefaultLimitBackoff)

	setString(&c.Timers.Expiry, DefaultExpirySchedule)
	setString(&c.Timers.Retry, DefaultRetrySchedule)
	setString(&c.Timers.Rescue, DefaultRescueSchedule)
	setString(&c.Timers.NativeBlocks, DefaultNativeBlocksSchedule)
	setString(&c.Timers.SalesforceChanges, DefaultSalesforceChangesSchedule)

	setString(&c.Log.Level, DefaultLogLevel)
	setString(&c.Log.Format, DefaultLogFormat)

	md := &c.Media
	setInt64(&md.MaxBytes, DefaultMediaMaxBytes)
	setInt(&md.Workers, DefaultMediaWorkers)
	setInt(&md.MaxAttempts, DefaultMediaMaxAttempts)
	setDuration(&md.PollInterval, DefaultMediaPollInterval)
	setInt64(&md.MultipartAbove, DefaultMediaMultipartAbove)
	setDuration(&md.RequestTimeout, DefaultMediaRequestTimeout)
	setDuration(&md.LeaseTTL, DefaultMediaLeaseTTL)

	for i := range c.Tenants {
		c.Tenants[i].applyDefaults()
		setInt64(&c.Tenants[i].MediaMaxBytes, md.MaxBytes)
	}
}

func (t *Tenant) applyDefaults() {
	sf := &t.Salesforce
	setString(&sf.LoginURL, DefaultLoginURL)
	setString(&sf.APIVersion, DefaultAPIVersion)
	if sf.ExcludedStates == nil {
		sf.ExcludedStates = []statemachine.State{statemachine.AutoBot}
		sf.excludedDefaulted = true
	}
	if t.BlockingEnabled == nil {
		on := DefaultBlockingEnabled
		t.BlockingEnabled = &on
	}
	sf.Mapping.applyDefaults()
	for i := range t.Channels {
		ch := &t.Channels[i]
		setDuration(&ch.InactivityTimeout, DefaultInactivityTimeout)
		if ch.WhatsApp != nil {
			setString(&ch.WhatsApp.GraphURL, DefaultGraphURL)
		}
	}
}

func (m *Mapping) applyDefaults() {
	def := DefaultMapping()
	c, dc := &m.Conversation, def.Conversation
	setString(&c.Object, dc.Object)
	setString(&c.ExternalID, dc.ExternalID)
	setString(&c.State, dc.State)
	setString(&c.Channel, dc.Channel)
	setString(&c.Contact, dc.Contact)
	setString(&c.Blocked, dc.Blocked)

	msg, dm := &m.Message, def.Message
	setString(&msg.Object, dm.Object)
	setString(&msg.ExternalID, dm.ExternalID)
	setString(&msg.Body, dm.Body)
	setInt(&msg.BodyLength, dm.BodyLength)
	setString(&msg.Direction, dm.Direction)
	setString(&msg.SentAt, dm.SentAt)
	setString(&msg.Sender, dm.Sender)
	setString(&msg.MediaURL, dm.MediaURL)
	setString(&msg.MediaType, dm.MediaType)
	setString(&msg.Kind, dm.Kind)
	setString(&msg.State, dm.State)
	setString(&msg.Sequence, dm.Sequence)
	setString(&msg.DeliveryStatus, dm.DeliveryStatus)
	setString(&msg.Parent, dm.Parent)
	setString(&msg.MediaFileID, dm.MediaFileID)
	setString(&m.FileKey, def.FileKey)
}

func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func setInt64(p *int64, def int64) {
	if *p == 0 {
		*p = def
	}
}

func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}
