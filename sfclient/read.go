package sfclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/simpleforce/simpleforce"
)

// userFromIdentity returns the user id of an identity URL
// https://host/id/<orgId>/<userId> ("" when it has none; orgFromIdentity
// checks the form).
func userFromIdentity(identity string) string {
	u, err := url.Parse(identity)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[len(parts)-1]
}

// UserID returns the id of the integration user the client's tokens are
// issued to (the last part of the token response's identity URL),
// fetching a token first if none is cached. Records whose LastModifiedById
// is this user were written by the connector.
func (c *Client) UserID(ctx context.Context) (string, error) {
	s, err := c.currentSession(ctx)
	if err != nil {
		return "", err
	}
	if s.userID == "" {
		return "", fmt.Errorf("sfclient: the token's identity URL names no user: %w", ErrAuth)
	}
	return s.userID, nil
}

// APIVersion returns the REST API version the client calls, such as
// "62.0".
func (c *Client) APIVersion() string { return c.cfg.APIVersion }

// FieldDescribe is one field of an object's describe (the subset the
// connector reads of Salesforce's DescribeFieldResult).
type FieldDescribe struct {
	Name string `json:"name"`
	// Type is "string", "textarea", "picklist", "boolean", "datetime",
	// "double", "reference", "id", ...
	Type               string          `json:"type"`
	Length             int             `json:"length"`
	Precision          int             `json:"precision"`
	Scale              int             `json:"scale"`
	Createable         bool            `json:"createable"`
	Updateable         bool            `json:"updateable"`
	Nillable           bool            `json:"nillable"`
	ExternalID         bool            `json:"externalId"`
	Unique             bool            `json:"unique"`
	CaseSensitive      bool            `json:"caseSensitive"`
	ReferenceTo        []string        `json:"referenceTo"`
	RelationshipName   string          `json:"relationshipName"`
	RestrictedPicklist bool            `json:"restrictedPicklist"`
	PicklistValues     []PicklistValue `json:"picklistValues"`
}

// PicklistValue is one value of a picklist field.
type PicklistValue struct {
	Value  string `json:"value"`
	Active bool   `json:"active"`
}

// ObjectDescribe is an object's describe (the subset the connector
// reads of Salesforce's DescribeSObjectResult).
type ObjectDescribe struct {
	Name       string          `json:"name"`
	Createable bool            `json:"createable"`
	Updateable bool            `json:"updateable"`
	Queryable  bool            `json:"queryable"`
	Fields     []FieldDescribe `json:"fields"`
}

// Field returns the field of that name (case-insensitive).
func (d ObjectDescribe) Field(name string) (FieldDescribe, bool) {
	for _, f := range d.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return FieldDescribe{}, false
}

// Describe describes an object
// (GET /services/data/vXX.X/sobjects/{object}/describe). An object the
// org does not have (or the user can not see) is an *APIError with HTTP
// status 404.
func (c *Client) Describe(ctx context.Context, object string) (ObjectDescribe, error) {
	if !apiNamePattern.MatchString(object) {
		return ObjectDescribe{}, fmt.Errorf("sfclient: object name %q is not an API name", object)
	}
	path := fmt.Sprintf("services/data/v%s/sobjects/%s/describe", c.cfg.APIVersion, object)
	_, data, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return ObjectDescribe{}, err
	}
	var d ObjectDescribe
	if err := json.Unmarshal(data, &d); err != nil {
		return ObjectDescribe{}, fmt.Errorf("sfclient: GET %s: the answer is not a describe: %w", path, ErrBadResponse)
	}
	return d, nil
}

// Limits are the org's remaining daily API requests
// (GET /services/data/vXX.X/limits, DailyApiRequests).
type Limits struct {
	DailyMax, DailyRemaining int
}

// Limits reads the org's daily API request allowance.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	path := fmt.Sprintf("services/data/v%s/limits", c.cfg.APIVersion)
	_, data, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return Limits{}, err
	}
	var body struct {
		Daily struct {
			Max       int `json:"Max"`
			Remaining int `json:"Remaining"`
		} `json:"DailyApiRequests"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return Limits{}, fmt.Errorf("sfclient: GET %s: %w", path, ErrBadResponse)
	}
	return Limits{DailyMax: body.Daily.Max, DailyRemaining: body.Daily.Remaining}, nil
}

// Versions lists the REST API versions the org serves (GET
// /services/data/), such as "62.0".
func (c *Client) Versions(ctx context.Context) ([]string, error) {
	_, data, err := c.do(ctx, http.MethodGet, "services/data/", nil)
	if err != nil {
		return nil, err
	}
	var vs []struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &vs); err != nil {
		return nil, fmt.Errorf("sfclient: GET /services/data/: %w", ErrBadResponse)
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out, nil
}

// QueryRecord is one record of a query answer: its fields by name, a
// relationship (LastModifiedBy) as a nested map.
type QueryRecord map[string]any

// String returns a field's value as a string ("" when it is null or not
// a string); "Rel.Field" reads a relationship's field.
func (r QueryRecord) String(field string) string {
	if rel, f, ok := strings.Cut(field, "."); ok {
		m, _ := r[rel].(map[string]any)
		s, _ := m[f].(string)
		return s
	}
	s, _ := r[field].(string)
	return s
}

// Query runs a SOQL query through simpleforce's Query and follows
// nextRecordsUrl until the result is done, calling page with each
// answer's records (a page of up to 2,000 records; one call each). It
// stops at page's first error and returns it. A 401 gets a new token once,
// as every call does.
func (c *Client) Query(ctx context.Context, soql string, page func([]QueryRecord) error) error {
	next := soql
	for {
		res, err := c.queryOnce(ctx, next)
		if err != nil {
			return err
		}
		recs := make([]QueryRecord, len(res.Records))
		for i, r := range res.Records {
			recs[i] = QueryRecord(r)
		}
		if err := page(recs); err != nil {
			return err
		}
		if res.Done || res.NextRecordsURL == "" {
			return nil
		}
		next = res.NextRecordsURL
	}
}

// queryOnce sends one query call (SOQL or a nextRecordsUrl), with a new
// token once on 401.
func (c *Client) queryOnce(ctx context.Context, q string) (*simpleforce.QueryResult, error) {
	s, err := c.currentSession(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.query(ctx, s, q)
	if !errors.Is(err, ErrInvalidSession) {
		return res, err
	}
	c.log.Info().Msg("salesforce session expired or invalid; fetching a new token")
	if s, err = c.renew(ctx, s); err != nil {
		return nil, err
	}
	return c.query(ctx, s, q)
}

// query sends q through a fresh simpleforce client with session s.
func (c *Client) query(ctx context.Context, s *session, q string) (res *simpleforce.QueryResult, err error) {
	rt := &callTransport{ctx: ctx, next: c.transport}
	sf := simpleforce.NewClient(s.instanceURL, simpleforce.DefaultClientID, c.cfg.APIVersion)
	sf.SetSidLoc(s.token, s.instanceURL)
	sf.SetHttpClient(&http.Client{Transport: rt})
	func() {
		defer func() {
			if r := recover(); r != nil {
				res, err = nil, errUnreadableBody{cause: r}
			}
		}()
		res, err = sf.Query(q)
	}()
	if err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("sfclient: query: the answer is not JSON: %w", ErrBadResponse)
		}
		return nil, callError(ctx, http.MethodGet, "query", rt.status, err)
	}
	return res, nil
}

// Described is one object's describe of DescribeAll: the describe, or Err
// (an *APIError when Salesforce answered the subrequest with an error:
// HTTPStatus 404 when the object does not exist or the user can not see
// it).
type Described struct {
	Describe ObjectDescribe
	Err      error
}

// DescribeAll describes up to MaxCompositeSubrequests objects in one
// Composite request of GET subrequests (POST /services/data/vXX.X/composite),
// ONE call toward the org's API limits where Describe takes one per
// object. The answer's Sforce-Limit-Info is recorded (see Usage). The
// error is for the whole call, as Describe's; otherwise there is one
// Described per object, in order.
func (c *Client) DescribeAll(ctx context.Context, objects []string) ([]Described, error) {
	if len(objects) > MaxCompositeSubrequests {
		return nil, fmt.Errorf("sfclient: %d objects to describe (at most %d per Composite request)", len(objects), MaxCompositeSubrequests)
	}
	subs := make([]compositeSub, len(objects))
	for i, o := range objects {
		if !apiNamePattern.MatchString(o) {
			return nil, fmt.Errorf("sfclient: object name %q is not an API name", o)
		}
		subs[i] = compositeSub{Method: http.MethodGet,
			URL: fmt.Sprintf("/services/data/v%s/sobjects/%s/describe", c.cfg.APIVersion, o), ReferenceID: "d" + strconv.Itoa(i)}
	}
	out := make([]Described, len(objects))
	if len(objects) == 0 {
		return out, nil
	}
	answers, path, err := c.composite(ctx, subs)
	if err != nil {
		return nil, err
	}
	for i, sr := range answers {
		if sr.HTTPStatusCode < 200 || sr.HTTPStatusCode > 299 {
			out[i].Err = fmt.Errorf("sfclient: describe %s: %w", objects[i], subrequestError(sr.HTTPStatusCode, sr.Body))
			continue
		}
		if err := json.Unmarshal(sr.Body, &out[i].Describe); err != nil {
			return nil, fmt.Errorf("sfclient: POST %s: subresponse %s is not a describe: %w", path, sr.ReferenceID, ErrBadResponse)
		}
	}
	return out, nil
}
