// Package preflight checks a live Salesforce org against a tenant's
// mapping before the first push: it logs in, reads the API versions the
// org serves and its remaining daily API requests, and describes each
// mapped object, checking that every mapped field exists, can be created
// and updated, and has a type that holds what the connector writes; that
// the external ids are External ID and unique; and that the message names
// its conversation through a relationship. Every problem names its fix.
//
// `connector check-salesforce` prints the report as a table and exits
// non-zero when a problem is blocking (pushes would fail); `connector
// serve` runs the same check at start-up for each org, logs it, shows it
// in /readyz and in the connector_salesforce_preflight_problems metric,
// and keeps running whatever it finds.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/statemachine"
)

// Status of one check.
type Status string

// Statuses, from good to bad.
const (
	OK Status = "ok"
	// Warning: pushes work, but some values may fail or read badly.
	Warning Status = "warning"
	// Blocking: pushes (or the flow-back of agents' changes) fail until it
	// is fixed.
	Blocking Status = "blocking"
)

// Check is one line of a report.
type Check struct {
	// Item is what was checked, such as "Chat_Conversation__c.State__c".
	Item   string `json:"item"`
	Status Status `json:"status"`
	// Detail says what was found; Fix, for a problem, what to do.
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the outcome of Run for one org.
type Report struct {
	Org        string    `json:"org"`
	Tenants    []string  `json:"tenants"`
	APIVersion string    `json:"api_version"`
	CheckedAt  time.Time `json:"checked_at"`
	Checks     []Check   `json:"checks"`
}

// Problems returns the checks that are not OK.
func (r Report) Problems() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status != OK {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many checks have status s.
func (r Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Blocking reports whether a problem would make pushes fail.
func (r Report) Blocking() bool { return r.Count(Blocking) > 0 }

// WriteTable writes the report as a readable table, then each problem's
// fix.
func (r Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Salesforce org %s (tenants %s), API v%s, checked %s\n\n", r.Org, strings.Join(r.Tenants, ", "),
		r.APIVersion, r.CheckedAt.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Item, strings.ToUpper(string(c.Status)), c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	probs := r.Problems()
	if len(probs) == 0 {
		_, err := fmt.Fprintf(w, "\nno problems: the org is ready for the connector\n")
		return err
	}
	fmt.Fprintf(w, "\n%d problem(s), %d blocking:\n", len(probs), r.Count(Blocking))
	for i, c := range probs {
		fmt.Fprintf(w, "%d. [%s] %s: %s\n   fix: %s\n", i+1, c.Status, c.Item, c.Detail, c.Fix)
	}
	return nil
}

// Client is what the check needs of a Salesforce client (*sfclient.Client).
type Client interface {
	UserID(ctx context.Context) (string, error)
	APIVersion() string
	Versions(ctx context.Context) ([]string, error)
	Limits(ctx context.Context) (sfclient.Limits, error)
	Describe(ctx context.Context, object string) (sfclient.ObjectDescribe, error)
	// DescribeAll describes several objects in one call (a Composite
	// request); Usage is the API usage its answer reported.
	DescribeAll(ctx context.Context, objects []string) ([]sfclient.Described, error)
	Usage() (used, max int, ok bool)
}

// Target names what to check: an org, the tenants using it and the
// mapping its records are written with; Key is the configuration path of
// the mapping, such as "tenants[0].salesforce", for the fixes.
type Target struct {
	Org     string
	Tenants []string
	Mapping config.Mapping
	Key     string
}

// deployFix is the fix of something the salesforce/ folder provides.
const deployFix = "deploy the connector's objects (cd salesforce && sf project deploy start --source-dir force-app --target-org ORG) " +
	"and assign the permission set Chat_Connector_Integration to the integration user (a field it can not see is missing from describe too)"

// Run checks the org. It never fails: what it could not check is a
// blocking check of the report.
//
// It spends one API call on a healthy org: the mapped objects (and
// ContentVersion, for media) are described in one Composite request,
// whose success shows that the org serves the API version and whose
// Sforce-Limit-Info gives the daily requests left. When that call fails
// as a whole, each check makes its own call (the versions, the limits,
// a describe per object), to say precisely what is wrong.
func Run(ctx context.Context, c Client, t Target, now time.Time) Report {
	r := Report{Org: t.Org, Tenants: t.Tenants, APIVersion: c.APIVersion(), CheckedAt: now}
	add := func(item string, s Status, detail, fix string) {
		r.Checks = append(r.Checks, Check{Item: item, Status: s, Detail: detail, Fix: fix})
	}

	user, err := c.UserID(ctx)
	if err != nil {
		add("login", Blocking, err.Error(), loginFix(err, t.Key))
		return r
	}
	add("login", OK, "token issued to integration user "+user, "")

	mc, mm := t.Mapping.Conversation, t.Mapping.Message
	objects := []string{mc.Object, mm.Object}
	if t.Mapping.FileKey != "" {
		objects = append(objects, "ContentVersion")
	}
	c, served := prefetch(ctx, c, objects)
	if served {
		add("API version", OK, "v"+r.APIVersion+" is served", "")
	} else if vs, err := c.Versions(ctx); err != nil {
		add("API version", Warning, "could not list the org's API versions: "+err.Error(), "check the org's REST API access")
	} else if !slices.Contains(vs, r.APIVersion) {
		latest := ""
		if len(vs) > 0 {
			latest = vs[len(vs)-1]
		}
		add("API version", Blocking, fmt.Sprintf("the org does not serve v%s (latest: v%s)", r.APIVersion, latest),
			fmt.Sprintf("set %s.api_version to a version the org serves, such as %q", t.Key, latest))
	} else {
		add("API version", OK, "v"+r.APIVersion+" is served", "")
	}

	if l, err := c.Limits(ctx); err != nil {
		add("daily API requests", Warning, "could not read the org's limits: "+err.Error(), "give the integration user the View Setup and Configuration permission, or ignore")
	} else {
		detail := fmt.Sprintf("%d of %d remaining", l.DailyRemaining, l.DailyMax)
		switch {
		case l.DailyRemaining <= 0:
			add("daily API requests", Blocking, detail, "wait for the 24-hour window to free requests, or ask Salesforce for a higher limit")
		case l.DailyMax > 0 && l.DailyRemaining*10 < l.DailyMax:
			add("daily API requests", Warning, detail+" (under 10%)", "lower the traffic of other integrations, or ask Salesforce for a higher limit")
		default:
			add("daily API requests", OK, detail, "")
		}
	}

	conv := checkObject(ctx, c, &r, mc.Object, t.Key+".mapping.conversation.object", []want{
		{key: "conversation.external_id", field: mc.ExternalID, kind: kindKey},
		{key: "conversation.state", field: mc.State, kind: kindState},
		{key: "conversation.channel", field: mc.Channel, kind: kindText, min: 64},
		{key: "conversation.contact", field: mc.Contact, kind: kindText, min: 128},
		{key: "conversation.last_message_at", field: mc.LastMessageAt, kind: kindTime},
		{key: "conversation.blocked", field: mc.Blocked, kind: kindBool},
	}, t.Key)
	msg := checkObject(ctx, c, &r, mm.Object, t.Key+".mapping.message.object", []want{
		{key: "message.external_id", field: mm.ExternalID, kind: kindKey},
		{key: "message.body", field: mm.Body, kind: kindText, min: mm.MaxBody()},
		{key: "message.direction", field: mm.Direction, kind: kindText, min: 8, values: []string{"inbound", "outbound"}},
		{key: "message.sent_at", field: mm.SentAt, kind: kindTime},
		{key: "message.sender", field: mm.Sender, kind: kindText, min: 128},
		{key: "message.media_url", field: mm.MediaURL, kind: kindText, min: 1024},
		{key: "message.media_type", field: mm.MediaType, kind: kindText, min: 100},
		{key: "message.kind", field: mm.Kind, kind: kindText, min: 20},
		{key: "message.state", field: mm.State, kind: kindState},
		{key: "message.sequence", field: mm.Sequence, kind: kindNumber},
		{key: "message.delivery_status", field: mm.DeliveryStatus, kind: kindText, min: 64},
	}, t.Key)
	if conv != nil && msg != nil && mm.Parent != "" {
		checkParent(&r, *msg, mm, mc.Object, t.Key)
	}
	if msg != nil {
		checkMedia(ctx, c, &r, *msg, t)
	}
	return r
}

// checkMedia checks what the upload of media as Files needs: the message
// field that names the File and the ContentVersion key field. Without them
// messages still reach Salesforce, with their text; their media items fail
// (replayable once the fields exist): a warning, not a blocking problem.
func checkMedia(ctx context.Context, c Client, r *Report, msg sfclient.ObjectDescribe, t Target) {
	add := func(item string, s Status, detail, fix string) {
		r.Checks = append(r.Checks, Check{Item: item, Status: s, Detail: detail, Fix: fix})
	}
	mm := t.Mapping.Message
	if mm.MediaFileID != "" {
		item := mm.Object + "." + mm.MediaFileID
		switch f, ok := msg.Field(mm.MediaFileID); {
		case !ok:
			add(item, Warning, "missing (mapping.message.media_file_id): media uploaded as Files can not be named on their message record, and fail",
				deployFix+"; or set "+t.Key+".mapping.message.media_file_id to the org's field")
		case !f.Updateable:
			add(item, Warning, "the integration user can not edit it: media items fail",
				"give the integration user edit access to the field (the permission set Chat_Connector_Integration does)")
		default:
			add(item, OK, fieldSummary(f), "")
		}
	}
	if t.Mapping.FileKey == "" {
		return
	}
	item := "ContentVersion." + t.Mapping.FileKey
	d, err := c.Describe(ctx, "ContentVersion")
	if err != nil {
		add(item, Warning, "could not describe ContentVersion: "+err.Error(), "give the integration user access to Salesforce Files (Content)")
		return
	}
	f, ok := d.Field(t.Mapping.FileKey)
	if !ok {
		add(item, Warning, "missing (mapping.file_key): media can not be uploaded as Files without it",
			"add a Text(255) field "+t.Mapping.FileKey+" to ContentVersion, marked External ID and Unique (case-sensitive), editable by the integration user")
		return
	}
	add(item, OK, fieldSummary(f), "")
}

// loginFix says what to do about a failed login.
func loginFix(err error, key string) string {
	switch {
	case errors.Is(err, sfclient.ErrWrongOrg):
		return fmt.Sprintf("set %s.org_id to the org the connected app's user belongs to, or log in to the right org (%s.login_url)", key, key)
	case errors.Is(err, sfclient.ErrAuth):
		return fmt.Sprintf("check %s.auth (client_id, the secret or private key, username), the connected app's OAuth policies "+
			"(client credentials: a run-as user; JWT bearer: the certificate and the pre-authorised profile or permission set) and %s.login_url", key, key)
	}
	return fmt.Sprintf("check that %s.login_url is reachable from the connector", key)
}

// kind is what the connector writes into a field.
type kind int

const (
	kindText   kind = iota // a string
	kindKey                // the external id: a string, External ID and unique
	kindState              // a state's name
	kindTime               // an RFC 3339 time
	kindBool               // true or false
	kindNumber             // an integer
)

// want is one mapped field.
type want struct {
	key, field string
	kind       kind
	// min is the length below which values may not fit (a warning).
	min int
	// values are the picklist values written (kindState: the five states).
	values []string
}

// accepts reports whether a field of describe type typ holds what is
// written, and whether it is the natural fit (the others get a warning).
func (w want) accepts(typ string) (ok, natural bool) {
	switch w.kind {
	case kindKey:
		return typ == "string", typ == "string"
	case kindText:
		switch typ {
		case "string", "textarea", "url", "email", "phone":
			return true, true
		case "picklist":
			return len(w.values) > 0, true
		}
	case kindState:
		switch typ {
		case "picklist":
			return true, true
		case "string", "textarea":
			return true, true
		}
	case kindTime:
		switch typ {
		case "datetime":
			return true, true
		case "string", "textarea":
			return true, false
		}
	case kindBool:
		return typ == "boolean", typ == "boolean"
	case kindNumber:
		switch typ {
		case "double", "int", "long":
			return true, true
		case "string", "textarea":
			return true, false
		}
	}
	return false, false
}

func (w want) describe() string {
	switch w.kind {
	case kindKey:
		return "a Text field marked External ID and Unique"
	case kindState:
		return "a Picklist with the values " + strings.Join(stateNames(), ", ") + " (or Text)"
	case kindTime:
		return "a Date/Time field"
	case kindBool:
		return "a Checkbox"
	case kindNumber:
		return "a Number field with no decimals"
	}
	if len(w.values) > 0 {
		return "a Picklist with the values " + strings.Join(w.values, ", ") + " (or Text)"
	}
	return "a Text or Long Text Area field"
}

func stateNames() []string {
	out := make([]string, len(statemachine.All))
	for i, s := range statemachine.All {
		out[i] = s.String()
	}
	return out
}

// checkObject describes object and checks its mapped fields; it returns
// nil when the object could not be described.
func checkObject(ctx context.Context, c Client, r *Report, object, objectKey string, wants []want, key string) *sfclient.ObjectDescribe {
	add := func(item string, s Status, detail, fix string) {
		r.Checks = append(r.Checks, Check{Item: item, Status: s, Detail: detail, Fix: fix})
	}
	d, err := c.Describe(ctx, object)
	var ae *sfclient.APIError
	switch {
	case errors.As(err, &ae) && ae.HTTPStatus == 404:
		add(object, Blocking, "the object does not exist or the integration user can not see it",
			deployFix+"; or set "+objectKey+" to the org's object")
		return nil
	case err != nil:
		add(object, Blocking, "could not describe the object: "+err.Error(), "check the connection and the integration user's permissions, then run the check again")
		return nil
	}
	switch {
	case !d.Createable || !d.Updateable:
		add(object, Blocking, fmt.Sprintf("the integration user can not create and edit its records (create %v, edit %v)", d.Createable, d.Updateable),
			"assign the permission set Chat_Connector_Integration (create, read and edit) to the integration user")
	default:
		add(object, OK, "exists; the integration user can create and edit its records", "")
	}
	for _, w := range wants {
		if w.field == "" {
			continue // not mapped
		}
		item := object + "." + w.field
		f, ok := d.Field(w.field)
		if !ok {
			add(item, Blocking, fmt.Sprintf("missing (mapping.%s); every record the connector writes fails with INVALID_FIELD", w.key),
				deployFix+"; or set "+key+".mapping."+w.key+" to the org's field")
			continue
		}
		var problems []string
		status := OK
		worse := func(s Status, p string) {
			problems = append(problems, p)
			if s == Blocking || status == OK {
				status = s
			}
		}
		var fixes []string
		ok, natural := w.accepts(f.Type)
		switch {
		case !ok:
			worse(Blocking, fmt.Sprintf("is of type %s, which can not hold what the connector writes", f.Type))
			fixes = append(fixes, "make it "+w.describe())
		case !natural:
			worse(Warning, fmt.Sprintf("is of type %s; %s reads better", f.Type, w.describe()))
			fixes = append(fixes, "make it "+w.describe())
		}
		if !f.Createable || !f.Updateable {
			worse(Blocking, fmt.Sprintf("the integration user can not write it (create %v, edit %v)", f.Createable, f.Updateable))
			fixes = append(fixes, "give the integration user edit access to the field (the permission set Chat_Connector_Integration does)")
		}
		if w.kind == kindKey && (!f.ExternalID || !f.Unique) {
			worse(Blocking, fmt.Sprintf("is the external id but is not marked External ID and Unique (External ID %v, Unique %v): upserts fail or may duplicate records", f.ExternalID, f.Unique))
			fixes = append(fixes, "edit the field in Setup and tick External ID and Unique (case-sensitive)")
		}
		if (f.Type == "string" || f.Type == "textarea") && w.min > 0 && f.Length > 0 && f.Length < w.min {
			worse(Warning, fmt.Sprintf("holds %d characters; values up to %d are written and longer ones fail with STRING_TOO_LONG", f.Length, w.min))
			fixes = append(fixes, fmt.Sprintf("raise its length to at least %d", w.min))
		}
		if f.Type == "double" && f.Scale > 0 {
			worse(Warning, fmt.Sprintf("has %d decimals; the connector writes integers", f.Scale))
			fixes = append(fixes, "set its decimal places to 0")
		}
		if f.Type == "picklist" {
			values := w.values
			if w.kind == kindState {
				values = stateNames()
			}
			var missing []string
			for _, v := range values {
				if !slices.ContainsFunc(f.PicklistValues, func(p sfclient.PicklistValue) bool { return p.Value == v && p.Active }) {
					missing = append(missing, v)
				}
			}
			if len(missing) > 0 {
				s := Warning
				if f.RestrictedPicklist {
					s = Blocking
				}
				worse(s, "the picklist lacks the values "+strings.Join(missing, ", "))
				fixes = append(fixes, "add the values "+strings.Join(missing, ", ")+" to the picklist")
			}
		}
		if len(problems) == 0 {
			add(item, OK, fieldSummary(f), "")
			continue
		}
		add(item, status, fieldSummary(f)+": "+strings.Join(problems, "; "), strings.Join(fixes, "; "))
	}
	return &d
}

// fieldSummary describes a field in a few words.
func fieldSummary(f sfclient.FieldDescribe) string {
	s := f.Type
	if (f.Type == "string" || f.Type == "textarea") && f.Length > 0 {
		s += fmt.Sprintf("(%d)", f.Length)
	}
	if f.ExternalID {
		s += ", External ID"
	}
	if f.Unique {
		s += ", unique"
	}
	return s
}

// checkParent checks the relationship through which a message names its
// conversation.
func checkParent(r *Report, msg sfclient.ObjectDescribe, mm config.MessageMapping, convObject, key string) {
	item := msg.Name + "." + mm.Parent
	for _, f := range msg.Fields {
		if !strings.EqualFold(f.RelationshipName, mm.Parent) {
			continue
		}
		switch {
		case f.Type != "reference" || !slices.Contains(f.ReferenceTo, convObject):
			r.Checks = append(r.Checks, Check{Item: item, Status: Blocking,
				Detail: fmt.Sprintf("the relationship %s refers to %v, not to %s", mm.Parent, f.ReferenceTo, convObject),
				Fix:    fmt.Sprintf("make %s a master-detail (or lookup) field to %s", f.Name, convObject)})
		case !f.Createable:
			r.Checks = append(r.Checks, Check{Item: item, Status: Blocking,
				Detail: "the integration user can not set the message's conversation",
				Fix:    "give the integration user edit access to " + f.Name + " (the permission set Chat_Connector_Integration does)"})
		default:
			r.Checks = append(r.Checks, Check{Item: item, Status: OK, Detail: fmt.Sprintf("%s refers to %s", f.Name, convObject)})
		}
		return
	}
	r.Checks = append(r.Checks, Check{Item: item, Status: Blocking,
		Detail: fmt.Sprintf("no relationship %s from %s to %s: messages fail with INVALID_FIELD", mm.Parent, msg.Name, convObject),
		Fix:    deployFix + "; or set " + key + ".mapping.message.parent to the relationship name of the org's field (its API name with __r)"})
}

// prefetched is a Client whose describes of some objects and the org's
// limits were read in one call (prefetch).
type prefetched struct {
	Client
	described  map[string]sfclient.Described
	limits     sfclient.Limits
	haveLimits bool
}

// Describe returns the prefetched describe of object, else calls.
func (p *prefetched) Describe(ctx context.Context, object string) (sfclient.ObjectDescribe, error) {
	if d, ok := p.described[object]; ok {
		return d.Describe, d.Err
	}
	return p.Client.Describe(ctx, object)
}

// Limits returns the limits the prefetching call's answer reported, else
// calls.
func (p *prefetched) Limits(ctx context.Context) (sfclient.Limits, error) {
	if p.haveLimits {
		return p.limits, nil
	}
	return p.Client.Limits(ctx)
}

// prefetch describes the objects (the empty and repeated names left out)
// in one call, and keeps the API usage its answer reported. It returns c
// and false when that call failed as a whole; true says that the org
// answered a call of c's API version.
func prefetch(ctx context.Context, c Client, objects []string) (Client, bool) {
	var names []string
	for _, o := range objects {
		if o != "" && !slices.Contains(names, o) {
			names = append(names, o)
		}
	}
	if len(names) == 0 {
		return c, false
	}
	ds, err := c.DescribeAll(ctx, names)
	if err != nil {
		return c, false
	}
	p := &prefetched{Client: c, described: make(map[string]sfclient.Described, len(names))}
	for i, n := range names {
		p.described[n] = ds[i]
	}
	if used, max, ok := c.Usage(); ok {
		p.limits, p.haveLimits = sfclient.Limits{DailyMax: max, DailyRemaining: max - used}, true
	}
	return p, true
}
