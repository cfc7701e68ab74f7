package config

import (
	"time"

	"github.com/chatsync/sfconnector/statemachine"
)

// Config is the whole connector configuration: a YAML file, then
// environment overrides, then defaults for what is left unset.
type Config struct {
	Server     Server     `yaml:"server"`
	Store      Store      `yaml:"store"`
	Dispatcher Dispatcher `yaml:"dispatcher"`
	Timers     Timers     `yaml:"timers"`
	Log        Log        `yaml:"log"`
	API        API        `yaml:"api"`
	Media      Media      `yaml:"media"`
	Tenants    []Tenant   `yaml:"tenants"`
}

// Media is the download of inbound media (photos, voice notes,
// documents) from the platforms and its upload to Salesforce as Files.
// A media message's text record never waits for its media.
type Media struct {
	// SpoolDir is where a SQLite deployment keeps the bytes fetched until
	// Salesforce has them. Default (empty): next to the database file,
	// "<file>-media". A PostgreSQL deployment keeps them in the database
	// (every replica reads them, and takes over what another one fetched)
	// and ignores it.
	SpoolDir string `yaml:"spool_dir"`
	// MaxBytes is the largest media item fetched, per tenant unless the
	// tenant's media_max_bytes says otherwise; a larger one fails with
	// its reason (the text still arrives). Default DefaultMediaMaxBytes
	// (25 MiB), at most MaxMediaMaxBytes (1 GiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// Retention is how long the bytes are kept once Salesforce has the
	// File. Default 0: deleted at once.
	Retention time.Duration `yaml:"retention"`
	// Workers is how many items are fetched or uploaded at once. Default 2.
	Workers int `yaml:"workers"`
	// MaxAttempts is how many times a step (the download, the upload) is
	// tried before the item fails. Default 10. The waits between tries
	// back off from dispatcher.backoff_min to dispatcher.backoff_max.
	MaxAttempts int `yaml:"max_attempts"`
	// PollInterval is how often the worker looks for retries that are due
	// and uploads whose message record is pushed. Default 2s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MultipartAbove: items larger than this go to Salesforce as a
	// multipart body, smaller ones as JSON with base64. Default 4 MiB, at
	// most 37,500,000 (Salesforce's limit for JSON).
	MultipartAbove int64 `yaml:"multipart_above"`
	// AllowPrivateAddresses lets downloads of media URLs a delivery gives
	// (a web chat's attachment URL, Viber's, Twilio's outside its API,
	// Messenger's and Instagram's attachments, LINE's external content)
	// connect to hosts that are not public: loopback, private networks,
	// link-local (a cloud's metadata service), shared address space.
	// Default false: such a download fails (the connector sits beside a
	// CRM, and a URL a delivery names must not make it fetch what only it
	// can reach and copy it into Salesforce); true for stand-ins and tests
	// on one machine. Downloads from the platforms' configured APIs are
	// not concerned. While it is false those downloads use no proxy
	// (through one, the addresses dialled would be the proxy's).
	AllowPrivateAddresses bool `yaml:"allow_private_addresses"`
	// RequestTimeout bounds one download. Default 2m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// LeaseTTL is how long a claim holds a media item without a renewal;
	// the worker renews the holds of its items in flight every third of
	// it (a heartbeat), so a slow download keeps its item however long it
	// takes, while a dead replica's items are taken by another once
	// LeaseTTL passes. (A restarted SQLite process takes its previous
	// run's items back at once.) Default 30s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Server is the HTTP listener.
type Server struct {
	// Listen is the address to listen on. Default ":8080".
	Listen string `yaml:"listen"`
	// MaxBodyBytes caps a webhook body; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownTimeout bounds the drain on SIGTERM. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// PublicBaseURL is the URL platforms call, when a proxy rewrites it
	// (Twilio signs the full public URL). Optional.
	PublicBaseURL string `yaml:"public_base_url"`
	// ReadTimeout bounds reading one request. Default 15s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

// Store selects the storage driver.
type Store struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver"`
	// DSN: for sqlite a file path (default "data/connector.db"); for
	// postgres a connection string. Secret: it may hold a password.
	DSN Secret `yaml:"dsn"`
}

// Dispatcher pushes the outboxes to Salesforce.
//
// A worker claims conversations with work (up to ClaimRecords records),
// sends their records in Composite calls of up to five sObject Collections
// of BatchSize records each (1,000 records per API call at the default),
// and settles what Salesforce answered. A commit wakes the workers; under
// light load they wait up to BatchWindow for more records, so that calls
// travel full without holding a lone message back for long.
type Dispatcher struct {
	// Workers is how many claim loops run: the rounds in flight at once
	// across every org. Default 4.
	Workers int `yaml:"workers"`
	// Concurrency is the most Salesforce calls in flight at once per org
	// (Salesforce allows 25 concurrent long-running calls per org; keep
	// room for the org's other integrations). Default 4, at most 25.
	Concurrency int `yaml:"concurrency"`
	// BatchSize is the most records in one sObject Collections subrequest
	// (1..200). Default 200.
	BatchSize int `yaml:"batch_size"`
	// MaxConversations is the most conversations one claim takes. Default
	// 1000.
	MaxConversations int `yaml:"max_conversations"`
	// ClaimRecords is the most records one claim takes (messages, and the
	// conversation records that may need writing): two full Composite
	// calls at the default, so that a backlog of new conversations travels
	// as one call of conversation records and one of their messages.
	// Default 2000.
	ClaimRecords int `yaml:"claim_records"`
	// BatchWindow is how long a worker woken by a commit waits for more
	// records before it claims, unless a full call's worth (1,000 records)
	// is committed sooner. Default 350ms (an explicit 0 takes the default
	// too; 1ms claims almost at once).
	BatchWindow time.Duration `yaml:"batch_window"`
	// LeaseTTL is how long a claim holds a conversation without a renewal;
	// a worker renews its leases every third of it while its calls are in
	// flight (a heartbeat), so the lease outlives slow calls but not a dead
	// process: another replica takes a dead replica's conversations within
	// LeaseTTL. Default 10s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// MaxAttempts is how many times a message is tried before it is dead.
	// Default 10.
	MaxAttempts int `yaml:"max_attempts"`
	// BackoffMin and BackoffMax bound the exponential retry delay.
	// Defaults 1s and 5m.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// PollInterval is how often an idle worker looks for work when nothing
	// wakes it (due retries, another replica's expired leases). Commits
	// wake the workers at once; polling is only the fallback. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// RequestTimeout bounds one Salesforce call. Default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// LimitThreshold is the share of the org's daily API requests
	// (Sforce-Limit-Info) above which the org is slowed down. Default 0.9.
	LimitThreshold float64 `yaml:"limit_threshold"`
	// LimitBackoff is how long an org is paused after REQUEST_LIMIT_EXCEEDED
	// or when over LimitThreshold. Default 1m.
	LimitBackoff time.Duration `yaml:"limit_backoff"`
}

// Timers are cron schedules (robfig/cron syntax, "@every 1m" accepted).
type Timers struct {
	// Expiry runs the inactivity expiry and idle close. Default "@every 1m".
	Expiry string `yaml:"expiry"`
	// Retry wakes the dispatcher for due retries and sends the stored
	// outbound messages that are due (the job "sends"). Default "@every 5s".
	Retry string `yaml:"retry"`
	// Rescue frees stale leases. Default "@every 30s".
	Rescue string `yaml:"rescue"`
	// NativeBlocks retries the platforms' native blocks (and unblocks) that
	// failed for now and are due. Default "@every 30s".
	NativeBlocks string `yaml:"native_blocks"`
	// SalesforceChanges polls each org for agents' changes to conversation
	// records (state, blocked) and applies them; "off" disables it.
	// Default "@every 30s".
	SalesforceChanges string `yaml:"salesforce_changes"`
}

// Log is the logger.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
	// Format is "json" (default) or "console".
	Format string `yaml:"format"`
}

// API protects the connector's own HTTP API.
type API struct {
	// OperatorToken is the support team's bearer token for the operator
	// routes (dead letters, replay). Empty disables those routes.
	OperatorToken Secret `yaml:"operator_token"`
}

// Tenant is one business using the connector.
type Tenant struct {
	// ID names the tenant in URLs: letters, digits, '-' and '_'.
	ID         string     `yaml:"id"`
	Salesforce Salesforce `yaml:"salesforce"`
	Channels   []Channel  `yaml:"channels"`
	// BlockingEnabled is the default of the tenant's blocking switch: when
	// false, the API refuses to block the tenant's contacts (403). An
	// admin's setting through the API (PUT .../settings) overrides it.
	// Default true. Opt-out keywords apply either way.
	BlockingEnabled *bool `yaml:"blocking_enabled"`
	// OptOut are the tenant's opt-out keywords. Optional.
	OptOut OptOut `yaml:"opt_out"`
	// MediaMaxBytes is the largest media item fetched for the tenant.
	// Default media.max_bytes.
	MediaMaxBytes int64 `yaml:"media_max_bytes"`
}

// OptOut lets contacts opt out of the tenant's messages. An inbound text
// message that is, trimmed and ignoring case, one of Keywords blocks the
// contact for outbound (By "opt-out"; an inbound block is kept), in the
// transaction that stores the message. After the commit, LastReply, when
// set, is sent once to the contact on channels that can send, and stored
// as an outbound message. Keywords an admin sets through the API replace
// Keywords.
type OptOut struct {
	// Keywords such as ["STOP", "Do Not Disturb"]. Each is a non-empty
	// string; no two may be equal ignoring case. Empty: no opt-out.
	Keywords []string `yaml:"keywords"`
	// LastReply is the text sent once to a contact who opted out, such as
	// "You will not hear from us again." (at most 4096 characters). Empty:
	// no reply.
	LastReply string `yaml:"last_reply"`
}

// Salesforce is a tenant's org.
type Salesforce struct {
	// OrgID is the org's id, 15 or 18 characters starting "00D".
	OrgID string `yaml:"org_id"`
	// LoginURL is where tokens come from. Default
	// "https://login.salesforce.com" (use test.salesforce.com for a sandbox,
	// or the org's My Domain URL).
	LoginURL string `yaml:"login_url"`
	// APIVersion such as "62.0". Default "62.0".
	APIVersion string `yaml:"api_version"`
	// Auth is how the connector gets tokens.
	Auth Auth `yaml:"auth"`
	// ExcludedStates are the conversation states whose messages are not
	// pushed, by name or number. Default [AUTO_BOT]. An empty list ([])
	// excludes nothing. The support team's setting through the API
	// (PUT /api/v1/orgs/{org_id}/excluded-states) overrides it.
	ExcludedStates []statemachine.State `yaml:"excluded_states"`
	// excludedDefaulted records that ApplyDefaults filled ExcludedStates
	// (the file did not set it); see Tenant.ExcludedConfigured.
	excludedDefaulted bool
	// Mapping names the objects and fields written.
	Mapping Mapping `yaml:"mapping"`
}

// Auth is an OAuth 2.0 flow.
type Auth struct {
	// Flow is "jwt_bearer" or "client_credentials".
	Flow string `yaml:"flow"`
	// ClientID is the connected app's consumer key.
	ClientID string `yaml:"client_id"`
	// ClientSecret is for client_credentials.
	ClientSecret Secret `yaml:"client_secret"`
	// Username is the integration user, for jwt_bearer.
	Username string `yaml:"username"`
	// PrivateKey is the PEM RSA key the connected app's certificate
	// matches, for jwt_bearer.
	PrivateKey Secret `yaml:"private_key"`
}

// Mapping names the Salesforce objects and fields. Every name has a
// default; see DefaultMapping.
type Mapping struct {
	Conversation ConversationMapping `yaml:"conversation"`
	Message      MessageMapping      `yaml:"message"`
	// FileKey is the ContentVersion field (text, external id, unique)
	// that names the File of a message's media with the message's key:
	// the connector looks it up before an upload, so that a retry never
	// makes a second File. Default Connector_Media_Key__c.
	FileKey string `yaml:"file_key"`
}

// ConversationMapping maps a conversation onto a record.
type ConversationMapping struct {
	Object     string `yaml:"object"`      // Chat_Conversation__c
	ExternalID string `yaml:"external_id"` // Conversation_Key__c
	State      string `yaml:"state"`       // State__c
	Channel    string `yaml:"channel"`     // Channel__c
	Contact    string `yaml:"contact"`     // Contact_Id__c
	// LastMessageAt, when set, is written with the time of the
	// conversation's last message (the latest sent time of the messages a
	// round pushes; a round that pushes none leaves it): the record is then
	// written again with every round that pushes a message of it (a second
	// record per conversation per call). Empty by default: Salesforce computes it as a
	// roll-up summary (Latest_Message_Sent_At__c, MAX of the messages'
	// Sent_At__c) over the master-detail relationship from the message.
	LastMessageAt string `yaml:"last_message_at"` // optional, e.g. Last_Message_At__c
	Blocked       string `yaml:"blocked"`         // Blocked__c
}

// MessageMapping maps a message onto a record.
type MessageMapping struct {
	Object     string `yaml:"object"`      // Chat_Message__c
	ExternalID string `yaml:"external_id"` // Message_Key__c
	Body       string `yaml:"body"`        // Body__c
	Direction  string `yaml:"direction"`   // Direction__c
	SentAt     string `yaml:"sent_at"`     // Sent_At__c
	Sender     string `yaml:"sender"`      // Sender__c
	MediaURL   string `yaml:"media_url"`   // Media_Url__c
	MediaType  string `yaml:"media_type"`  // Media_Type__c
	Kind       string `yaml:"kind"`        // Kind__c
	State      string `yaml:"state"`       // Conversation_State__c
	Sequence   string `yaml:"sequence"`    // Sequence__c
	// DeliveryStatus is written on outbound messages only: sending, sent,
	// delivered, read or "failed: <reason>", cut to the field's 255
	// characters. The record is written again each time it changes.
	DeliveryStatus string `yaml:"delivery_status"` // Delivery_Status__c
	// MediaFileID is written, once a message's media is a File in
	// Salesforce, with the File's ContentDocument id: an agent opens the
	// picture from the message.
	MediaFileID string `yaml:"media_file_id"` // Media_File_Id__c
	// Parent is the relationship name to the conversation object, written
	// as {"<Parent>": {"<conversation external id>": key}}.
	Parent string `yaml:"parent"` // Chat_Conversation__r
	// BodyLength is the most characters the body field holds (UTF-16
	// code units, as Salesforce counts them). A longer text is cut to fit
	// with a visible marker saying how long the whole text is; the store
	// keeps it whole. Default DefaultBodyLength (Body__c's length, the
	// most a Long Text Area holds); at most DefaultBodyLength.
	BodyLength int `yaml:"body_length"`
}

// MaxBody is the longest body written, in characters: BodyLength, or
// DefaultBodyLength when it is unset (a mapping built without defaults).
func (m MessageMapping) MaxBody() int {
	if m.BodyLength > 0 {
		return m.BodyLength
	}
	return DefaultBodyLength
}

// Channel is one platform account of a tenant.
type Channel struct {
	// ID names the channel in URLs: letters, digits, '-' and '_'.
	ID string `yaml:"id"`
	// Platform is whatsapp, messenger, instagram, telegram, line, twilio,
	// viber or webchat.
	Platform string `yaml:"platform"`
	// Bot: a bot is the first point of contact; new conversations start in
	// AUTO_BOT.
	Bot bool `yaml:"bot"`
	// InactivityTimeout expires a live conversation with no activity for
	// that long. Default 24h (WhatsApp's customer-care window).
	InactivityTimeout time.Duration `yaml:"inactivity_timeout"`
	// IdleClose moves an OPEN conversation with no activity for that long
	// to CLOSED. Zero (default) disables it.
	IdleClose time.Duration `yaml:"idle_close"`

	// The platform's section: exactly the one named by Platform.
	WhatsApp  *WhatsApp  `yaml:"whatsapp,omitempty"`
	WebChat   *WebChat   `yaml:"webchat,omitempty"`
	Messenger *Messenger `yaml:"messenger,omitempty"`
	Instagram *Instagram `yaml:"instagram,omitempty"`
	Telegram  *Telegram  `yaml:"telegram,omitempty"`
	LINE      *LINE      `yaml:"line,omitempty"`
	Twilio    *Twilio    `yaml:"twilio,omitempty"`
	Viber     *Viber     `yaml:"viber,omitempty"`
}

// WhatsApp is a WhatsApp Cloud API phone number.
type WhatsApp struct {
	// PhoneNumberID is the business phone number id.
	PhoneNumberID string `yaml:"phone_number_id"`
	// AppSecret signs deliveries (X-Hub-Signature-256).
	AppSecret Secret `yaml:"app_secret"`
	// VerifyToken answers the GET handshake.
	VerifyToken Secret `yaml:"verify_token"`
	// AccessToken calls the Graph API (send, block).
	AccessToken Secret `yaml:"access_token"`
	// GraphURL is the Graph API base. Default
	// "https://graph.facebook.com/v21.0".
	GraphURL string `yaml:"graph_url"`
}

// WebChat is the connector's own web chat channel.
type WebChat struct {
	// Secret signs deliveries and uploads: X-Webchat-Signature is
	// "sha256=" + hex(HMAC-SHA256(secret, raw body)).
	Secret Secret `yaml:"secret"`
	// UploadDir keeps the files the site uploads
	// (POST /webhooks/{tenant}/{channel}/uploads) until their messages'
	// media are fetched. Default on SQLite: "<store file>-uploads/<tenant>/<channel>";
	// on PostgreSQL none (uploads are refused; attachments by URL still
	// work): set a directory every replica shares.
	UploadDir string `yaml:"upload_dir"`
	// MaxUploadBytes bounds one upload. Default 25 MiB.
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
}

// Messenger is a Facebook Page on Messenger.
type Messenger struct {
	// PageID is the Page's id.
	PageID string `yaml:"page_id"`
	// AppSecret signs deliveries (X-Hub-Signature-256).
	AppSecret Secret `yaml:"app_secret"`
	// VerifyToken answers the GET handshake.
	VerifyToken Secret `yaml:"verify_token"`
	// AccessToken is the Page access token (send, block). Optional.
	AccessToken Secret `yaml:"access_token"`
	// GraphURL is the Graph API base; empty for Meta's.
	GraphURL string `yaml:"graph_url"`
}

// Instagram is an Instagram professional account's messaging.
type Instagram struct {
	// PageID is the id of the Page linked to the account (the Graph API
	// node that sends and blocks).
	PageID string `yaml:"page_id"`
	// AccountID is the Instagram account's id; when set, deliveries for
	// other accounts are ignored. Optional.
	AccountID string `yaml:"account_id"`
	// AppSecret signs deliveries (X-Hub-Signature-256).
	AppSecret Secret `yaml:"app_secret"`
	// VerifyToken answers the GET handshake.
	VerifyToken Secret `yaml:"verify_token"`
	// AccessToken is the Page access token (send, block). Optional.
	AccessToken Secret `yaml:"access_token"`
	// GraphURL is the Graph API base; empty for Meta's.
	GraphURL string `yaml:"graph_url"`
}

// Telegram is a Telegram bot.
type Telegram struct {
	// SecretToken is the secret_token given to setWebhook; deliveries carry
	// it in X-Telegram-Bot-Api-Secret-Token.
	SecretToken Secret `yaml:"secret_token"`
	// BotToken calls the Bot API (send). Optional.
	BotToken Secret `yaml:"bot_token"`
	// APIURL is the Bot API base; empty for Telegram's.
	APIURL string `yaml:"api_url"`
}

// LINE is a LINE Messaging API channel.
type LINE struct {
	// ChannelSecret signs deliveries (X-Line-Signature).
	ChannelSecret Secret `yaml:"channel_secret"`
	// ChannelAccessToken calls the Messaging API (send). Optional.
	ChannelAccessToken Secret `yaml:"channel_access_token"`
	// APIURL is the Messaging API base; empty for LINE's.
	APIURL string `yaml:"api_url"`
	// DataAPIURL is the base of the content endpoints (the media users
	// send); empty for api_url when that is set, else LINE's
	// (https://api-data.line.me).
	DataAPIURL string `yaml:"data_api_url"`
}

// Twilio is a Twilio number (SMS, or WhatsApp with a "whatsapp:" From).
type Twilio struct {
	// AccountSID is the account's SID (AC...).
	AccountSID string `yaml:"account_sid"`
	// AuthToken signs deliveries (X-Twilio-Signature) and calls the API.
	AuthToken Secret `yaml:"auth_token"`
	// From is the number replies are sent from, such as "+15551234567" or
	// "whatsapp:+15551234567".
	From string `yaml:"from"`
	// APIURL is the REST API base; empty for Twilio's.
	APIURL string `yaml:"api_url"`
}

// Viber is a Viber bot.
type Viber struct {
	// AuthToken signs deliveries (X-Viber-Content-Signature) and calls the
	// API.
	AuthToken Secret `yaml:"auth_token"`
	// SenderName is the bot's name on sent messages (at most 28 characters).
	SenderName string `yaml:"sender_name"`
	// SenderAvatar is an optional avatar URL for sent messages.
	SenderAvatar string `yaml:"sender_avatar"`
	// APIURL is the REST API base; empty for Viber's.
	APIURL string `yaml:"api_url"`
}
