package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/statemachine"
)

func TestValidConfigPasses(t *testing.T) {
	if err := validConfig(t).Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		path   string
		want   string // a substring of the message
	}{
		// server
		{"listen not host:port", func(c *Config) { c.Server.Listen = "8080" }, "server.listen", `"8080" is not a host:port address`},
		{"listen bad port", func(c *Config) { c.Server.Listen = ":99999" }, "server.listen", "is not a host:port address"},
		{"max body negative", func(c *Config) { c.Server.MaxBodyBytes = -1 }, "server.max_body_bytes", "-1 must be positive"},
		{"shutdown negative", func(c *Config) { c.Server.ShutdownTimeout = -time.Second }, "server.shutdown_timeout", "must be positive"},
		{"read timeout negative", func(c *Config) { c.Server.ReadTimeout = -time.Second }, "server.read_timeout", "must be positive"},
		{"public base url relative", func(c *Config) { c.Server.PublicBaseURL = "/hooks" }, "server.public_base_url", "absolute http or https URL"},
		{"public base url query", func(c *Config) { c.Server.PublicBaseURL = "https://x.example/?a=1" }, "server.public_base_url", "no credentials, query or fragment"},

		// store
		{"store driver", func(c *Config) { c.Store.Driver = "mysql" }, "store.driver", `"mysql" is not supported (supported: postgres, sqlite)`},
		{"postgres without dsn", func(c *Config) { c.Store = Store{Driver: DriverPostgres} }, "store.dsn", "is required"},

		// dispatcher
		{"batch size too big", func(c *Config) { c.Dispatcher.BatchSize = 500 }, "dispatcher.batch_size", "500 is out of range 1..200"},
		{"batch size negative", func(c *Config) { c.Dispatcher.BatchSize = -3 }, "dispatcher.batch_size", "-3 is out of range 1..200"},
		{"workers negative", func(c *Config) { c.Dispatcher.Workers = -1 }, "dispatcher.workers", "must be at least 1"},
		{"concurrency too high", func(c *Config) { c.Dispatcher.Concurrency = 26 }, "dispatcher.concurrency", "26 is out of range 1..25"},
		{"claim records negative", func(c *Config) { c.Dispatcher.ClaimRecords = -1 }, "dispatcher.claim_records", "must be at least 1"},
		{"batch window negative", func(c *Config) { c.Dispatcher.BatchWindow = -time.Second }, "dispatcher.batch_window", "must be positive"},
		{"max conversations negative", func(c *Config) { c.Dispatcher.MaxConversations = -1 }, "dispatcher.max_conversations", "must be at least 1"},
		{"max attempts negative", func(c *Config) { c.Dispatcher.MaxAttempts = -1 }, "dispatcher.max_attempts", "must be at least 1"},
		{"lease negative", func(c *Config) { c.Dispatcher.LeaseTTL = -time.Second }, "dispatcher.lease_ttl", "must be positive"},
		{"backoff min negative", func(c *Config) { c.Dispatcher.BackoffMin = -time.Second }, "dispatcher.backoff_min", "must be positive"},
		{"backoff max below min", func(c *Config) {
			c.Dispatcher.BackoffMin = 10 * time.Second
			c.Dispatcher.BackoffMax = 5 * time.Second
		}, "dispatcher.backoff_max", "5s is less than dispatcher.backoff_min (10s)"},
		{"poll negative", func(c *Config) { c.Dispatcher.PollInterval = -time.Second }, "dispatcher.poll_interval", "must be positive"},
		{"media lease negative", func(c *Config) { c.Media.LeaseTTL = -time.Second }, "media.lease_ttl", "must be positive"},
		{"request timeout negative", func(c *Config) { c.Dispatcher.RequestTimeout = -time.Second }, "dispatcher.request_timeout", "must be positive"},
		{"limit threshold above 1", func(c *Config) { c.Dispatcher.LimitThreshold = 1.5 }, "dispatcher.limit_threshold", "1.5 is out of range (0, 1]"},
		{"limit threshold negative", func(c *Config) { c.Dispatcher.LimitThreshold = -0.1 }, "dispatcher.limit_threshold", "out of range (0, 1]"},
		{"limit backoff negative", func(c *Config) { c.Dispatcher.LimitBackoff = -time.Second }, "dispatcher.limit_backoff", "must be positive"},

		// timers
		{"expiry not cron", func(c *Config) { c.Timers.Expiry = "every minute" }, "timers.expiry", `"every minute" is not a cron schedule: `},
		{"retry not cron", func(c *Config) { c.Timers.Retry = "* * *" }, "timers.retry", "is not a cron schedule"},
		{"rescue not cron", func(c *Config) { c.Timers.Rescue = "@every soon" }, "timers.rescue", "is not a cron schedule"},
		{"native blocks not cron", func(c *Config) { c.Timers.NativeBlocks = "twice a minute" }, "timers.native_blocks", `"twice a minute" is not a cron schedule`},

		// log
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `"verbose" is not supported (supported: debug, info, warn, error)`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"xml" is not supported (supported: json, console)`},

		// tenants
		{"no tenants", func(c *Config) { c.Tenants = nil }, "tenants", "at least one tenant is required"},
		{"tenant id missing", func(c *Config) { c.Tenants[1].ID = "" }, "tenants[1].id", "is required"},
		{"tenant id characters", func(c *Config) { c.Tenants[1].ID = "acme corp" }, "tenants[1].id", `"acme corp" may contain only letters, digits, '-' and '_'`},
		{"tenant id slash", func(c *Config) { c.Tenants[0].ID = "a/b" }, "tenants[0].id", "may contain only letters, digits, '-' and '_'"},
		{"duplicate tenant", func(c *Config) { c.Tenants[1].ID = "acme" }, "tenants[1].id", `"acme" is already the id of tenants[0]`},

		// salesforce
		{"org id missing", func(c *Config) { c.Tenants[1].Salesforce.OrgID = "" }, "tenants[1].salesforce.org_id", "is required"},
		{"org id wrong", func(c *Config) { c.Tenants[1].Salesforce.OrgID = "00X123" }, "tenants[1].salesforce.org_id",
			`"00X123" is not a Salesforce org id (15 or 18 characters starting with 00D)`},
		{"org id 16 chars", func(c *Config) { c.Tenants[1].Salesforce.OrgID = "00D0000000000421" }, "tenants[1].salesforce.org_id", "is not a Salesforce org id"},
		{"login url http", func(c *Config) { c.Tenants[1].Salesforce.LoginURL = "http://login.salesforce.com" }, "tenants[1].salesforce.login_url", "must be https"},
		{"login url relative", func(c *Config) { c.Tenants[1].Salesforce.LoginURL = "login.salesforce.com" }, "tenants[1].salesforce.login_url", "must be an absolute https URL"},
		{"login url with credentials", func(c *Config) { c.Tenants[1].Salesforce.LoginURL = "https://u:pw@login.salesforce.com" }, "tenants[1].salesforce.login_url", "no credentials"},
		{"client credentials on login.salesforce.com", func(c *Config) { c.Tenants[0].Salesforce.LoginURL = DefaultLoginURL }, "tenants[0].salesforce.login_url", "My Domain"},
		{"api version with v", func(c *Config) { c.Tenants[0].Salesforce.APIVersion = "v62.0" }, "tenants[0].salesforce.api_version", `"v62.0" is not an API version such as "62.0"`},
		{"api version too old", func(c *Config) { c.Tenants[0].Salesforce.APIVersion = "45.0" }, "tenants[0].salesforce.api_version", "older than 46.0"},
		{"excluded state invalid", func(c *Config) { c.Tenants[0].Salesforce.ExcludedStates = []statemachine.State{9} }, "tenants[0].salesforce.excluded_states[0]", "9 is not a state"},
		{"same org different exclusions", func(c *Config) { c.Tenants[1].Salesforce.OrgID = "00D5g00000ABCDE" }, "tenants[1].salesforce.excluded_states",
			"differs from [AUTO_BOT] in tenants[0], which uses the same org 00D5g00000ABCDE"},

		// auth
		{"flow missing", func(c *Config) { c.Tenants[0].Salesforce.Auth.Flow = "" }, "tenants[0].salesforce.auth.flow", "is required (supported: client_credentials, jwt_bearer)"},
		{"flow unknown", func(c *Config) { c.Tenants[0].Salesforce.Auth.Flow = "password" }, "tenants[0].salesforce.auth.flow", `"password" is not supported`},
		{"cc client id", func(c *Config) { c.Tenants[0].Salesforce.Auth.ClientID = "" }, "tenants[0].salesforce.auth.client_id", "is required"},
		{"cc client secret", func(c *Config) { c.Tenants[0].Salesforce.Auth.ClientSecret = Secret{} }, "tenants[0].salesforce.auth.client_secret", "is required"},
		{"cc with username", func(c *Config) { c.Tenants[0].Salesforce.Auth.Username = "u@x" }, "tenants[0].salesforce.auth.username", "is used only by jwt_bearer"},
		{"cc with private key", func(c *Config) { c.Tenants[0].Salesforce.Auth.PrivateKey = NewSecret("k") }, "tenants[0].salesforce.auth.private_key", "is used only by jwt_bearer"},
		{"jwt client id", func(c *Config) { c.Tenants[1].Salesforce.Auth.ClientID = "" }, "tenants[1].salesforce.auth.client_id", "is required"},
		{"jwt username", func(c *Config) { c.Tenants[1].Salesforce.Auth.Username = "" }, "tenants[1].salesforce.auth.username", "is required"},
		{"jwt private key missing", func(c *Config) { c.Tenants[1].Salesforce.Auth.PrivateKey = Secret{} }, "tenants[1].salesforce.auth.private_key", "is required"},
		{"jwt private key garbage", func(c *Config) { c.Tenants[1].Salesforce.Auth.PrivateKey = NewSecret("not a key") }, "tenants[1].salesforce.auth.private_key",
			"is not an RSA private key in PEM form (PKCS#1 or PKCS#8): no PEM block found"},
		{"jwt private key EC", func(c *Config) { c.Tenants[1].Salesforce.Auth.PrivateKey = NewSecret(ecPEM(t)) }, "tenants[1].salesforce.auth.private_key", "not an RSA key"},
		{"jwt with client secret", func(c *Config) { c.Tenants[1].Salesforce.Auth.ClientSecret = NewSecret("s") }, "tenants[1].salesforce.auth.client_secret", "is used only by client_credentials"},

		// mapping
		{"mapping name invalid", func(c *Config) { c.Tenants[0].Salesforce.Mapping.Message.Body = "Body c" }, "tenants[0].salesforce.mapping.message.body", `"Body c" is not a Salesforce API name`},
		{"mapping object invalid", func(c *Config) { c.Tenants[0].Salesforce.Mapping.Conversation.Object = "Chat.Conversation" }, "tenants[0].salesforce.mapping.conversation.object", "is not a Salesforce API name"},
		{"mapping field twice", func(c *Config) { c.Tenants[0].Salesforce.Mapping.Message.Sender = "body__c" }, "tenants[0].salesforce.mapping.message.sender",
			`"body__c" is already the field of tenants[0].salesforce.mapping.message.body`},

		// channels
		{"channel id missing", func(c *Config) { c.Tenants[0].Channels[1].ID = "" }, "tenants[0].channels[1].id", "is required"},
		{"channel id characters", func(c *Config) { c.Tenants[0].Channels[1].ID = "web chat" }, "tenants[0].channels[1].id", "may contain only letters, digits, '-' and '_'"},
		{"duplicate channel", func(c *Config) { c.Tenants[0].Channels[1].ID = "wa" }, "tenants[0].channels[1].id", `"wa" is already the id of tenants[0].channels[0]`},
		{"platform unsupported", func(c *Config) { c.Tenants[0].Channels[0].Platform = "wechat" }, "tenants[0].channels[0].platform",
			`"wechat" is not supported (supported: instagram, line, messenger, telegram, twilio, viber, webchat, whatsapp)`},
		{"platform missing", func(c *Config) { c.Tenants[0].Channels[0].Platform = "" }, "tenants[0].channels[0].platform", "is required"},
		{"whatsapp section missing", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp = nil }, "tenants[0].channels[0].whatsapp", "is required for platform whatsapp"},
		{"webchat section on whatsapp", func(c *Config) { c.Tenants[0].Channels[0].WebChat = &WebChat{} }, "tenants[0].channels[0].webchat", "must not be set for platform whatsapp"},
		{"webchat section missing", func(c *Config) { c.Tenants[0].Channels[1].WebChat = nil }, "tenants[0].channels[1].webchat", "is required for platform webchat"},
		{"whatsapp section on webchat", func(c *Config) { c.Tenants[0].Channels[1].WhatsApp = &WhatsApp{} }, "tenants[0].channels[1].whatsapp", "must not be set for platform webchat"},
		{"inactivity negative", func(c *Config) { c.Tenants[0].Channels[0].InactivityTimeout = -time.Hour }, "tenants[0].channels[0].inactivity_timeout", "must be positive"},
		{"idle close negative", func(c *Config) { c.Tenants[0].Channels[0].IdleClose = -time.Hour }, "tenants[0].channels[0].idle_close", "must not be negative"},
		{"idle close too long", func(c *Config) { c.Tenants[0].Channels[0].IdleClose = 48 * time.Hour }, "tenants[0].channels[0].idle_close", "not shorter than inactivity_timeout"},
		{"wa phone id missing", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.PhoneNumberID = "" }, "tenants[0].channels[0].whatsapp.phone_number_id", "is required"},
		{"wa phone id not digits", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.PhoneNumberID = "+33 6 12" }, "tenants[0].channels[0].whatsapp.phone_number_id", "digits only"},
		{"wa app secret", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.AppSecret = Secret{} }, "tenants[0].channels[0].whatsapp.app_secret", "is required"},
		{"wa verify token", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.VerifyToken = Secret{} }, "tenants[0].channels[0].whatsapp.verify_token", "is required"},
		{"wa graph url http", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.GraphURL = "http://graph.facebook.com/v21.0" }, "tenants[0].channels[0].whatsapp.graph_url", "must be https"},
		{"wa graph url junk", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.GraphURL = "graph" }, "tenants[0].channels[0].whatsapp.graph_url", "must be an absolute https URL"},
		{"webchat secret", func(c *Config) { c.Tenants[0].Channels[1].WebChat.Secret = Secret{} }, "tenants[0].channels[1].webchat.secret", "is required"},

		// opt-out
		{"opt-out keyword empty", func(c *Config) { c.Tenants[1].OptOut.Keywords = []string{"STOP", "  "} }, "tenants[1].opt_out.keywords[1]", "is empty"},
		{"opt-out keyword repeated", func(c *Config) { c.Tenants[0].OptOut.Keywords = []string{"STOP", "Unsubscribe", " stop "} }, "tenants[0].opt_out.keywords[2]",
			`" stop " is already tenants[0].opt_out.keywords[0] (keywords are matched ignoring case)`},
		{"opt-out last reply blank", func(c *Config) { c.Tenants[0].OptOut = OptOut{Keywords: []string{"STOP"}, LastReply: " \n"} }, "tenants[0].opt_out.last_reply", "is only white space"},
		{"opt-out last reply too long", func(c *Config) {
			c.Tenants[0].OptOut = OptOut{Keywords: []string{"STOP"}, LastReply: strings.Repeat("é", MaxLastReply+1)}
		}, "tenants[0].opt_out.last_reply", "is 4097 characters; at most 4096 are allowed"},
		{"opt-out last reply without keywords", func(c *Config) { c.Tenants[0].OptOut = OptOut{LastReply: "bye"} }, "tenants[0].opt_out.last_reply",
			"is set but tenants[0].opt_out.keywords is empty, so it would never be sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want a problem at %s", tt.path)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var found *FieldError
			for _, fe := range fieldErrors(err) {
				if fe.Path == tt.path {
					found = fe
					break
				}
			}
			if found == nil {
				t.Fatalf("no problem at %s in:\n%v", tt.path, err)
			}
			if !strings.Contains(found.Error(), tt.want) {
				t.Errorf("problem = %q, want it to contain %q", found.Error(), tt.want)
			}
			if !strings.HasPrefix(found.Error(), tt.path+": ") {
				t.Errorf("problem = %q, want it to start with the key path", found.Error())
			}
			if !strings.Contains(err.Error(), tt.path+": ") {
				t.Errorf("joined error does not name %s:\n%v", tt.path, err)
			}
		})
	}
}

func TestValidateAllowed(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"whatsapp without access token", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.AccessToken = Secret{} }},
		{"loopback http login url", func(c *Config) { c.Tenants[1].Salesforce.LoginURL = "http://127.0.0.1:9000" }},
		{"localhost http graph url", func(c *Config) { c.Tenants[0].Channels[0].WhatsApp.GraphURL = "http://localhost:8081/v21.0" }},
		{"ipv6 loopback", func(c *Config) { c.Tenants[1].Salesforce.LoginURL = "http://[::1]:9000" }},
		{"jwt with PKCS#8 key", func(c *Config) { c.Tenants[1].Salesforce.Auth.PrivateKey = NewSecret(pkcs8PEM(t)) }},
		{"jwt on login.salesforce.com", func(c *Config) { c.Tenants[1].Salesforce.LoginURL = DefaultLoginURL }},
		{"empty exclusions", func(c *Config) { c.Tenants[1].Salesforce.ExcludedStates = []statemachine.State{} }},
		{"same org same exclusions", func(c *Config) {
			c.Tenants[1].Salesforce.OrgID = "00D5g00000ABCDE"
			c.Tenants[1].Salesforce.ExcludedStates = []statemachine.State{statemachine.AutoBot}
		}},
		{"tenant without channels", func(c *Config) { c.Tenants[0].Channels = nil }},
		{"same channel id in two tenants", func(c *Config) {
			c.Tenants[1].Channels = []Channel{{ID: "wa", Platform: PlatformWebChat, InactivityTimeout: time.Hour, WebChat: &WebChat{Secret: NewSecret("x")}}}
		}},
		{"idle close shorter than inactivity", func(c *Config) { c.Tenants[0].Channels[0].IdleClose = time.Hour }},
		{"postgres with dsn", func(c *Config) { c.Store = Store{Driver: DriverPostgres, DSN: NewSecret("postgres://u:p@db/x")} }},
		{"limit threshold 1", func(c *Config) { c.Dispatcher.LimitThreshold = 1 }},
		{"cron five fields", func(c *Config) { c.Timers.Expiry = "*/5 * * * *" }},
		{"public base url", func(c *Config) { c.Server.PublicBaseURL = "https://hooks.example.com/connector" }},
		{"listen on loopback", func(c *Config) { c.Server.Listen = "127.0.0.1:0" }},
		{"opt-out keywords and reply", func(c *Config) {
			c.Tenants[0].OptOut = OptOut{Keywords: []string{"STOP", "Do Not Disturb"}, LastReply: strings.Repeat("é", MaxLastReply)}
		}},
		{"opt-out keywords without reply", func(c *Config) { c.Tenants[1].OptOut = OptOut{Keywords: []string{"STOP"}} }},
		{"native blocks cron", func(c *Config) { c.Timers.NativeBlocks = "*/2 * * * *" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig(t)
	c.Dispatcher.BatchSize = 500
	c.Log.Level = "loud"
	c.Tenants[1].Salesforce.OrgID = "bad"
	c.Tenants[0].Channels[0].Platform = "wechat"
	err := c.Validate()
	got := map[string]bool{}
	for _, fe := range fieldErrors(err) {
		got[fe.Path] = true
	}
	for _, p := range []string{"dispatcher.batch_size", "log.level", "tenants[1].salesforce.org_id", "tenants[0].channels[0].platform"} {
		if !got[p] {
			t.Errorf("no problem at %s in:\n%v", p, err)
		}
	}
	if !strings.Contains(err.Error(), "4 problems") {
		t.Errorf("error = %q, want the count of problems", err)
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	c := validConfig(t)
	// A problem on each secret-bearing key that still has a value.
	c.Tenants[1].Salesforce.Auth.PrivateKey = NewSecret("super-secret-not-a-key")
	c.Tenants[1].Salesforce.Auth.ClientSecret = NewSecret("super-secret-client")
	c.Tenants[1].Salesforce.LoginURL = "https://user:super-secret-pw@login.salesforce.com"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want problems")
	}
	if strings.Contains(err.Error(), "super-secret") {
		t.Errorf("error reveals a secret:\n%v", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	want := keys(t)
	for _, tt := range []struct {
		name, pem string
	}{
		{"PKCS#1", pkcs1PEM(t)},
		{"PKCS#8", pkcs8PEM(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tt.pem)
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			if !got.Equal(want) {
				t.Error("parsed key differs from the generated one")
			}
		})
	}
	bad := []struct {
		name, pem, want string
	}{
		{"empty", "", "no PEM block"},
		{"literal backslash n", strings.ReplaceAll(pkcs1PEM(t), "\n", `\n`), `literal \n`},
		{"EC key", ecPEM(t), "not an RSA key"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", `"CERTIFICATE", not a private key`},
		{"encrypted PKCS#8", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"corrupt PKCS#1", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "asn1"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tt.pem)
			if err == nil {
				t.Fatal("ParsePrivateKey succeeded, want an error")
			}
			if !errors.Is(err, ErrPrivateKey) {
				t.Errorf("error does not wrap ErrPrivateKey: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
