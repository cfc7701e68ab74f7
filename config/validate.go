package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/chatsync/sfconnector/statemachine"
)

// ErrInvalid is wrapped by every error Parse, Load and Validate return for
// a configuration that can not be used, so that callers can tell a
// configuration problem from, say, a missing file.
var ErrInvalid = errors.New("invalid configuration")

// FieldError is one problem with one configuration key. The error Validate
// returns joins one FieldError per problem; errors.As finds them.
type FieldError struct {
	// Path is the key, such as "tenants[0].channels[1].whatsapp.app_secret".
	Path string
	// Problem says what is wrong, without the value of any secret.
	Problem string
	// Env names the environment variable that set the value, when one did.
	Env string
	// Err is the underlying cause, if any.
	Err error
}

// Error returns "path: problem[: cause][ (set by VAR)]".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Env != "" {
		b.WriteString(" (set by ")
		b.WriteString(e.Env)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *FieldError) Unwrap() error { return e.Err }

// invalid joins problems into one error wrapping ErrInvalid, or returns nil
// when there are none.
func invalid(problems []*FieldError) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %w", ErrInvalid, problems[0])
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return fmt.Errorf("%w (%d problems):\n%w", ErrInvalid, len(problems), errors.Join(errs...))
}

// Validate checks the whole configuration, after ApplyDefaults, and returns
// every problem found, joined, each naming its key path. The error wraps
// ErrInvalid and one *FieldError per problem. It returns nil when the
// configuration is usable.
func (c *Config) Validate() error { return invalid(c.problems()) }

// Supported values, in the order error messages list them.
var (
	supportedDrivers    = []string{DriverPostgres, DriverSQLite}
	supportedFlows      = []string{FlowClientCredentials, FlowJWTBearer}
	twilioSIDPattern    = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	supportedPlatforms  = []string{PlatformInstagram, PlatformLINE, PlatformMessenger, PlatformTelegram, PlatformTwilio, PlatformViber, PlatformWebChat, PlatformWhatsApp}
	supportedLogLevels  = []string{"debug", "info", "warn", "error"}
	supportedLogFormats = []string{"json", "console"}
)

// MinAPIVersion is the oldest Salesforce API version accepted: sObject
// Collections upsert, which the dispatcher uses, exists from 46.0 on.
const MinAPIVersion = 46

// MaxBatchSize is the most records one sObject Collections call takes.
const MaxBatchSize = 200

var (
	idPattern         = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	orgIDPattern      = regexp.MustCompile(`^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$`)
	apiVersionPattern = regexp.MustCompile(`^([1-9][0-9]*)\.0$`)
	apiNamePattern    = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_]*[A-Za-z0-9])?$`)
	digitsPattern     = regexp.MustCompile(`^[0-9]+$`)
)

// checker collects problems.
type checker struct{ problems []*FieldError }

func (k *checker) add(path, format string, args ...any) {
	k.problems = append(k.problems, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

func (k *checker) addErr(path, problem string, err error) {
	k.problems = append(k.problems, &FieldError{Path: path, Problem: problem, Err: err})
}

// positive reports a duration that is not above zero.
func (k *checker) positive(path string, d time.Duration) {
	if d <= 0 {
		k.add(path, "%s must be positive", d)
	}
}

// atLeastOne reports a count below one.
func (k *checker) atLeastOne(path string, n int) {
	if n < 1 {
		k.add(path, "%d must be at least 1", n)
	}
}

// oneOf reports a value that is not in the list; an empty value is
// "required".
func (k *checker) oneOf(path, v string, supported []string) {
	for _, s := range supported {
		if v == s {
			return
		}
	}
	list := strings.Join(supported, ", ")
	if v == "" {
		k.add(path, "is required (supported: %s)", list)
		return
	}
	k.add(path, "%q is not supported (supported: %s)", v, list)
}

// requireString reports an empty value.
func (k *checker) requireString(path, v string) {
	if strings.TrimSpace(v) == "" {
		k.add(path, "is required")
	}
}

// requireSecret reports an empty secret, unless its reference could not be
// read (the load error already says so).
func (k *checker) requireSecret(path string, s Secret) {
	if s.IsSet() || s.unresolved() {
		return
	}
	if src := s.source(); src != "" {
		k.add(path, "is required (%s is empty)", src)
		return
	}
	k.add(path, "is required")
}

// unused reports a secret that the chosen option does not use.
func (k *checker) unusedSecret(path string, s Secret, usedBy string) {
	if s.IsSet() || s.isReference() {
		k.add(path, "is used only by %s; remove it", usedBy)
	}
}

func (c *Config) problems() []*FieldError {
	k := &checker{}
	c.checkServer(k)
	c.checkStore(k)
	c.checkDispatcher(k)
	c.checkTimers(k)
	c.checkMedia(k)
	k.oneOf("log.level", c.Log.Level, supportedLogLevels)
	k.oneOf("log.format", c.Log.Format, supportedLogFormats)
	c.checkTenants(k)
	return k.problems
}

func (c *Config) checkServer(k *checker) {
	s := c.Server
	if problem := listenProblem(s.Listen); problem != "" {
		k.add("server.listen", "%q %s", s.Listen, problem)
	}
	if s.MaxBodyBytes <= 0 {
		k.add("server.max_body_bytes", "%d must be positive", s.MaxBodyBytes)
	}
	k.positive("server.shutdown_timeout", s.ShutdownTimeout)
	k.positive("server.read_timeout", s.ReadTimeout)
	if s.PublicBaseURL != "" {
		u, err := url.Parse(s.PublicBaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			k.add("server.public_base_url", "%q must be an absolute http or https URL", redactURL(s.PublicBaseURL))
		} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			k.add("server.public_base_url", "%q must have no credentials, query or fragment", redactURL(s.PublicBaseURL))
		}
	}
}

// listenProblem says what is wrong with a listen address, or "".
func listenProblem(addr string) string {
	const want = `is not a host:port address (such as ":8080" or "127.0.0.1:8080")`
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return want
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return want
	}
	return ""
}

func (c *Config) checkStore(k *checker) {
	k.oneOf("store.driver", c.Store.Driver, supportedDrivers)
	if c.Store.Driver == DriverPostgres || c.Store.Driver == DriverSQLite {
		k.requireSecret("store.dsn", c.Store.DSN)
	}
}

func (c *Config) checkDispatcher(k *checker) {
	d := c.Dispatcher
	k.atLeastOne("dispatcher.workers", d.Workers)
	if d.BatchSize < 1 || d.BatchSize > MaxBatchSize {
		k.add("dispatcher.batch_size", "%d is out of range 1..%d", d.BatchSize, MaxBatchSize)
	}
	k.atLeastOne("dispatcher.max_conversations", d.MaxConversations)
	k.atLeastOne("dispatcher.claim_records", d.ClaimRecords)
	if d.Concurrency < 1 || d.Concurrency > MaxConcurrency {
		k.add("dispatcher.concurrency", "%d is out of range 1..%d (Salesforce allows %d concurrent long-running calls per org)", d.Concurrency, MaxConcurrency, MaxConcurrency)
	}
	k.positive("dispatcher.batch_window", d.BatchWindow)
	k.positive("dispatcher.lease_ttl", d.LeaseTTL)
	k.atLeastOne("dispatcher.max_attempts", d.MaxAttempts)
	k.positive("dispatcher.backoff_min", d.BackoffMin)
	k.positive("dispatcher.backoff_max", d.BackoffMax)
	if d.BackoffMin > 0 && d.BackoffMax > 0 && d.BackoffMax < d.BackoffMin {
		k.add("dispatcher.backoff_max", "%s is less than dispatcher.backoff_min (%s)", d.BackoffMax, d.BackoffMin)
	}
	k.positive("dispatcher.poll_interval", d.PollInterval)
	k.positive("dispatcher.request_timeout", d.RequestTimeout)
	if !(d.LimitThreshold > 0 && d.LimitThreshold <= 1) {
		k.add("dispatcher.limit_threshold", "%g is out of range (0, 1]", d.LimitThreshold)
	}
	k.positive("dispatcher.limit_backoff", d.LimitBackoff)
}

func (c *Config) checkMedia(k *checker) {
	m := c.Media
	if m.MaxBytes < 1 || m.MaxBytes > MaxMediaMaxBytes {
		k.add("media.max_bytes", "%d is out of range 1..%d", m.MaxBytes, int64(MaxMediaMaxBytes))
	}
	if m.Retention < 0 {
		k.add("media.retention", "%s must not be negative", m.Retention)
	}
	k.atLeastOne("media.workers", m.Workers)
	k.atLeastOne("media.max_attempts", m.MaxAttempts)
	k.positive("media.poll_interval", m.PollInterval)
	k.positive("media.request_timeout", m.RequestTimeout)
	k.positive("media.lease_ttl", m.LeaseTTL)
	if m.MultipartAbove < 1 || m.MultipartAbove > MaxMediaMultipartAbove {
		k.add("media.multipart_above", "%d is out of range 1..%d (Salesforce's limit for a JSON upload)", m.MultipartAbove, MaxMediaMultipartAbove)
	}
	for i, t := range c.Tenants {
		if t.MediaMaxBytes < 1 || t.MediaMaxBytes > MaxMediaMaxBytes {
			k.add(fmt.Sprintf("tenants[%d].media_max_bytes", i), "%d is out of range 1..%d", t.MediaMaxBytes, int64(MaxMediaMaxBytes))
		}
	}
}

func (c *Config) checkTimers(k *checker) {
	for _, t := range []struct{ path, spec string }{
		{"timers.expiry", c.Timers.Expiry},
		{"timers.retry", c.Timers.Retry},
		{"timers.rescue", c.Timers.Rescue},
		{"timers.native_blocks", c.Timers.NativeBlocks},
		{"timers.salesforce_changes", c.Timers.SalesforceChanges},
	} {
		if t.path == "timers.salesforce_changes" && t.spec == ScheduleOff {
			continue
		}
		if _, err := cron.ParseStandard(t.spec); err != nil {
			k.addErr(t.path, fmt.Sprintf("%q is not a cron schedule", t.spec), err)
		}
	}
}

func (c *Config) checkTenants(k *checker) {
	if len(c.Tenants) == 0 {
		k.add("tenants", "at least one tenant is required")
		return
	}
	seen := map[string]int{}
	// orgs remembers, per org key, the first tenant naming that org, so
	// that tenants sharing an org agree on its excluded states.
	orgs := map[string]int{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		path := fmt.Sprintf("tenants[%d]", i)
		checkID(k, path+".id", t.ID)
		if t.ID != "" {
			if j, dup := seen[t.ID]; dup {
				k.add(path+".id", "%q is already the id of tenants[%d]", t.ID, j)
			} else {
				seen[t.ID] = i
			}
		}
		checkSalesforce(k, path+".salesforce", &t.Salesforce)
		if orgIDPattern.MatchString(t.Salesforce.OrgID) {
			key := OrgKey(t.Salesforce.OrgID)
			if j, ok := orgs[key]; !ok {
				orgs[key] = i
			} else if t.Excluded() != c.Tenants[j].Excluded() {
				k.add(path+".salesforce.excluded_states",
					"[%s] differs from [%s] in tenants[%d], which uses the same org %s; excluded states are set per org",
					t.Excluded(), c.Tenants[j].Excluded(), j, key)
			}
		}
		checkChannels(k, path, t.Channels)
		checkOptOut(k, path+".opt_out", t.OptOut)
	}
}

// checkOptOut reports empty or repeated keywords and a last reply that
// could never be sent or is too long.
func checkOptOut(k *checker, path string, o OptOut) {
	seen := map[string]int{}
	for i, kw := range o.Keywords {
		p := fmt.Sprintf("%s.keywords[%d]", path, i)
		norm := strings.ToLower(strings.TrimSpace(kw))
		if norm == "" {
			k.add(p, "is empty; a keyword is the text a contact sends to opt out, such as STOP")
			continue
		}
		if j, dup := seen[norm]; dup {
			k.add(p, "%q is already %s.keywords[%d] (keywords are matched ignoring case)", kw, path, j)
			continue
		}
		seen[norm] = i
	}
	switch n := len([]rune(o.LastReply)); {
	case o.LastReply == "":
	case strings.TrimSpace(o.LastReply) == "":
		k.add(path+".last_reply", "is only white space; leave it out to send no reply")
	case n > MaxLastReply:
		k.add(path+".last_reply", "is %d characters; at most %d are allowed", n, MaxLastReply)
	case len(o.Keywords) == 0:
		k.add(path+".last_reply", "is set but %s.keywords is empty, so it would never be sent", path)
	}
}

// checkID reports an empty id or one with characters other than letters,
// digits, '-' and '_'.
func checkID(k *checker, path, id string) {
	switch {
	case id == "":
		k.add(path, "is required")
	case !idPattern.MatchString(id):
		k.add(path, "%q may contain only letters, digits, '-' and '_'", id)
	}
}

func checkSalesforce(k *checker, path string, sf *Salesforce) {
	switch {
	case sf.OrgID == "":
		k.add(path+".org_id", "is required (15 or 18 characters starting with 00D)")
	case !orgIDPattern.MatchString(sf.OrgID):
		k.add(path+".org_id", "%q is not a Salesforce org id (15 or 18 characters starting with 00D)", sf.OrgID)
	}
	if problem := httpsURLProblem(sf.LoginURL); problem != "" {
		k.add(path+".login_url", "%q %s", redactURL(sf.LoginURL), problem)
	} else if sf.Auth.Flow == FlowClientCredentials && isGenericLoginHost(sf.LoginURL) {
		k.add(path+".login_url", "%q is not accepted by the %s flow; use the org's My Domain URL (such as https://MyCompany.my.salesforce.com)", sf.LoginURL, FlowClientCredentials)
	}
	if m := apiVersionPattern.FindStringSubmatch(sf.APIVersion); m == nil {
		k.add(path+".api_version", "%q is not an API version such as %q", sf.APIVersion, DefaultAPIVersion)
	} else if n, err := strconv.Atoi(m[1]); err != nil || n < MinAPIVersion {
		k.add(path+".api_version", "%q is older than %d.0, the first version with sObject Collections upsert", sf.APIVersion, MinAPIVersion)
	}
	checkAuth(k, path+".auth", sf.Auth)
	for j, s := range sf.ExcludedStates {
		if !s.Valid() {
			k.add(fmt.Sprintf("%s.excluded_states[%d]", path, j), "%d is not a state (valid states are %s)", int(s), statemachine.ValidStates())
		}
	}
	checkMapping(k, path+".mapping", sf.Mapping)
}

func checkAuth(k *checker, path string, a Auth) {
	switch a.Flow {
	case FlowJWTBearer:
		k.requireString(path+".client_id", a.ClientID)
		k.requireString(path+".username", a.Username)
		k.requireSecret(path+".private_key", a.PrivateKey)
		if a.PrivateKey.IsSet() {
			if _, err := parsePrivateKey(a.PrivateKey.Value()); err != nil {
				k.addErr(path+".private_key", "is "+ErrPrivateKey.Error(), err)
			}
		}
		k.unusedSecret(path+".client_secret", a.ClientSecret, FlowClientCredentials)
	case FlowClientCredentials:
		k.requireString(path+".client_id", a.ClientID)
		k.requireSecret(path+".client_secret", a.ClientSecret)
		if a.Username != "" {
			k.add(path+".username", "is used only by %s; remove it", FlowJWTBearer)
		}
		k.unusedSecret(path+".private_key", a.PrivateKey, FlowJWTBearer)
	default:
		k.oneOf(path+".flow", a.Flow, supportedFlows)
	}
}

// checkMapping reports names that are not Salesforce API names, and a field
// named twice within one object.
func checkMapping(k *checker, path string, m Mapping) {
	c, msg := m.Conversation, m.Message
	groups := []struct {
		prefix string
		fields []struct{ key, name string }
	}{
		{path + ".conversation", []struct{ key, name string }{
			{"object", c.Object}, {"external_id", c.ExternalID}, {"state", c.State},
			{"channel", c.Channel}, {"contact", c.Contact},
			{"last_message_at", c.LastMessageAt}, {"blocked", c.Blocked},
		}},
		{path + ".message", []struct{ key, name string }{
			{"object", msg.Object}, {"external_id", msg.ExternalID}, {"body", msg.Body},
			{"direction", msg.Direction}, {"sent_at", msg.SentAt}, {"sender", msg.Sender},
			{"media_url", msg.MediaURL}, {"media_type", msg.MediaType}, {"kind", msg.Kind},
			{"state", msg.State}, {"sequence", msg.Sequence}, {"parent", msg.Parent},
			{"delivery_status", msg.DeliveryStatus},
		}},
	}
	if msg.BodyLength < 1 || msg.BodyLength > DefaultBodyLength {
		k.add(path+".message.body_length", "%d is not between 1 and %d (the most a Salesforce Long Text Area holds)", msg.BodyLength, DefaultBodyLength)
	}
	for _, g := range groups {
		used := map[string]string{}
		for i, f := range g.fields {
			p := g.prefix + "." + f.key
			if f.name == "" {
				if f.key != "last_message_at" { // optional: see ConversationMapping
					k.add(p, "is required")
				}
				continue
			}
			if !apiNamePattern.MatchString(f.name) {
				k.add(p, "%q is not a Salesforce API name (letters, digits and '_', starting with a letter)", f.name)
				continue
			}
			if i == 0 { // the object itself, not a field
				continue
			}
			if other, dup := used[strings.ToLower(f.name)]; dup {
				k.add(p, "%q is already the field of %s.%s", f.name, g.prefix, other)
				continue
			}
			used[strings.ToLower(f.name)] = f.key
		}
	}
}

func checkChannels(k *checker, tenantPath string, channels []Channel) {
	seen := map[string]int{}
	for i := range channels {
		ch := &channels[i]
		path := fmt.Sprintf("%s.channels[%d]", tenantPath, i)
		checkID(k, path+".id", ch.ID)
		if ch.ID != "" {
			if j, dup := seen[ch.ID]; dup {
				k.add(path+".id", "%q is already the id of %s.channels[%d]", ch.ID, tenantPath, j)
			} else {
				seen[ch.ID] = i
			}
		}
		k.positive(path+".inactivity_timeout", ch.InactivityTimeout)
		switch {
		case ch.IdleClose < 0:
			k.add(path+".idle_close", "%s must not be negative (0 disables it)", ch.IdleClose)
		case ch.IdleClose > 0 && ch.InactivityTimeout > 0 && ch.IdleClose >= ch.InactivityTimeout:
			k.add(path+".idle_close", "%s is not shorter than inactivity_timeout (%s), so it would never apply", ch.IdleClose, ch.InactivityTimeout)
		}
		checkPlatform(k, path, ch)
	}
}

// checkPlatform checks that the channel has the section of its platform,
// and no other, and the section's keys.
func checkPlatform(k *checker, path string, ch *Channel) {
	present := map[string]bool{
		PlatformWhatsApp: ch.WhatsApp != nil, PlatformWebChat: ch.WebChat != nil,
		PlatformMessenger: ch.Messenger != nil, PlatformInstagram: ch.Instagram != nil,
		PlatformTelegram: ch.Telegram != nil, PlatformLINE: ch.LINE != nil,
		PlatformTwilio: ch.Twilio != nil, PlatformViber: ch.Viber != nil,
	}
	if _, ok := present[ch.Platform]; !ok {
		k.oneOf(path+".platform", ch.Platform, supportedPlatforms)
		return
	}
	for _, name := range supportedPlatforms {
		if name != ch.Platform && present[name] {
			k.add(path+"."+name, "must not be set for platform %s", ch.Platform)
		}
	}
	if !present[ch.Platform] {
		k.add(path+"."+ch.Platform, "is required for platform %s", ch.Platform)
		return
	}
	sec := path + "." + ch.Platform
	switch ch.Platform {
	case PlatformWhatsApp:
		checkWhatsApp(k, sec, ch.WhatsApp)
	case PlatformWebChat:
		k.requireSecret(sec+".secret", ch.WebChat.Secret)
		if ch.WebChat.MaxUploadBytes < 0 {
			k.add(sec+".max_upload_bytes", "must not be negative")
		}
	case PlatformMessenger:
		checkMeta(k, sec, ch.Messenger.PageID, ch.Messenger.AppSecret, ch.Messenger.VerifyToken, ch.Messenger.GraphURL)
	case PlatformInstagram:
		checkMeta(k, sec, ch.Instagram.PageID, ch.Instagram.AppSecret, ch.Instagram.VerifyToken, ch.Instagram.GraphURL)
		if id := ch.Instagram.AccountID; id != "" && !digitsPattern.MatchString(id) {
			k.add(sec+".account_id", "%q is not an Instagram account id (digits only)", id)
		}
	case PlatformTelegram:
		k.requireSecret(sec+".secret_token", ch.Telegram.SecretToken)
		optionalURL(k, sec+".api_url", ch.Telegram.APIURL)
	case PlatformLINE:
		k.requireSecret(sec+".channel_secret", ch.LINE.ChannelSecret)
		optionalURL(k, sec+".api_url", ch.LINE.APIURL)
		optionalURL(k, sec+".data_api_url", ch.LINE.DataAPIURL)
	case PlatformTwilio:
		t := ch.Twilio
		if !twilioSIDPattern.MatchString(t.AccountSID) {
			k.add(sec+".account_sid", "%q is not a Twilio account SID (AC followed by 32 hex digits)", t.AccountSID)
		}
		k.requireSecret(sec+".auth_token", t.AuthToken)
		k.requireString(sec+".from", t.From)
		optionalURL(k, sec+".api_url", t.APIURL)
	case PlatformViber:
		k.requireSecret(sec+".auth_token", ch.Viber.AuthToken)
		switch n := len([]rune(ch.Viber.SenderName)); {
		case n == 0:
			k.add(sec+".sender_name", "is required (Viber shows it on every message sent)")
		case n > 28:
			k.add(sec+".sender_name", "is %d characters; Viber allows at most 28", n)
		}
		optionalURL(k, sec+".api_url", ch.Viber.APIURL)
	}
}

// checkMeta checks the keys Messenger and Instagram share.
func checkMeta(k *checker, path, pageID string, appSecret, verifyToken Secret, graphURL string) {
	switch {
	case pageID == "":
		k.add(path+".page_id", "is required")
	case !digitsPattern.MatchString(pageID):
		k.add(path+".page_id", "%q is not a Page id (digits only)", pageID)
	}
	k.requireSecret(path+".app_secret", appSecret)
	k.requireSecret(path+".verify_token", verifyToken)
	optionalURL(k, path+".graph_url", graphURL)
}

// optionalURL checks an API base URL when one is set.
func optionalURL(k *checker, path, raw string) {
	if raw == "" {
		return
	}
	if problem := httpsURLProblem(raw); problem != "" {
		k.add(path, "%q %s", redactURL(raw), problem)
	}
}

func checkWhatsApp(k *checker, path string, wa *WhatsApp) {
	switch {
	case wa.PhoneNumberID == "":
		k.add(path+".phone_number_id", "is required")
	case !digitsPattern.MatchString(wa.PhoneNumberID):
		k.add(path+".phone_number_id", "%q is not a WhatsApp phone number id (digits only)", wa.PhoneNumberID)
	}
	k.requireSecret(path+".app_secret", wa.AppSecret)
	k.requireSecret(path+".verify_token", wa.VerifyToken)
	// access_token is needed only to send and block: it may be empty.
	if problem := httpsURLProblem(wa.GraphURL); problem != "" {
		k.add(path+".graph_url", "%q %s", redactURL(wa.GraphURL), problem)
	}
}

// httpsURLProblem says what is wrong with a URL that must be an absolute
// https URL (http only for a loopback host, so that a local stand-in can be
// used in tests and demos), or returns "".
func httpsURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "must be an absolute https URL"
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "must be https (http is accepted only for a loopback host such as localhost or 127.0.0.1)"
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "must have no credentials, query or fragment"
	}
	return ""
}

// isGenericLoginHost reports whether a login URL is login.salesforce.com or
// test.salesforce.com, which the client credentials flow does not accept.
func isGenericLoginHost(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == "login.salesforce.com" || h == "test.salesforce.com"
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL hides a password a URL may carry, for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil && strings.Contains(raw, "@"):
		return "[unparsable URL]"
	case err != nil || u.User == nil:
		return raw
	}
	return u.Redacted()
}
