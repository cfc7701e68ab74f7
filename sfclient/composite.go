package sfclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Composite limits: one Composite request carries at most
// MaxCompositeSubrequests subrequests (DescribeAll's describes, say), of
// which at most MaxCompositeCollections sObject Collections of at most
// MaxCollectionRecords records each, so MaxCompositeRecords records count
// as one call toward the org's API limits.
const (
	MaxCompositeSubrequests = 25
	MaxCompositeCollections = 5
	MaxCompositeRecords     = MaxCompositeCollections * MaxCollectionRecords
)

// ErrTooManyCollections: more than MaxCompositeCollections collections in
// one UpsertComposite call; nothing was sent.
var ErrTooManyCollections = errors.New("too many sObject Collections for one Composite request")

// Collection is one sObject Collections upsert of a Composite request:
// up to MaxCollectionRecords records of Object, matched on
// ExternalIDField.
type Collection struct {
	Object          string
	ExternalIDField string
	Records         []Record
}

// CollectionResult is what Salesforce answered one Collection of a
// Composite request: one Result per record, in order, or Err when the
// subrequest failed as a whole (then no record was written). Err is an
// *APIError, classified like a whole call's (Classify).
type CollectionResult struct {
	Results []Result
	Err     error
}

// UpsertComposite upserts up to MaxCompositeCollections collections in one
// Composite request (POST /services/data/vXX.X/composite, allOrNone false),
// which counts as ONE call toward the org's API limits. Salesforce runs the
// subrequests in order, so records a later collection refers to (a parent
// by external id) are written by an earlier one first. Each collection is
// upserted with allOrNone false: a failed record or a failed collection
// leaves the others written.
//
// The error is for the whole call, as UpsertCollection's (plus
// ErrTooManyCollections); otherwise there is one CollectionResult per
// collection. Empty collections are not sent (their result is empty).
func (c *Client) UpsertComposite(ctx context.Context, cols []Collection) ([]CollectionResult, error) {
	if len(cols) > MaxCompositeCollections {
		return nil, fmt.Errorf("sfclient: %d collections (at most %d per Composite request): %w", len(cols), MaxCompositeCollections, ErrTooManyCollections)
	}
	var subs []compositeSub
	sent := make([]int, 0, len(cols)) // index in cols of each subrequest
	for i, col := range cols {
		if err := checkNames(col.Object, col.ExternalIDField); err != nil {
			return nil, err
		}
		if len(col.Records) > MaxCollectionRecords {
			return nil, fmt.Errorf("sfclient: %d %s records in one collection (at most %d): %w", len(col.Records), col.Object, MaxCollectionRecords, ErrTooManyRecords)
		}
		if len(col.Records) == 0 {
			continue
		}
		subs = append(subs, compositeSub{
			Method:      http.MethodPatch,
			URL:         fmt.Sprintf("/services/data/v%s/composite/sobjects/%s/%s", c.cfg.APIVersion, col.Object, col.ExternalIDField),
			ReferenceID: "c" + strconv.Itoa(i),
			Body:        collectionBody(col.Object, col.Records),
		})
		sent = append(sent, i)
	}
	out := make([]CollectionResult, len(cols))
	if len(sent) == 0 {
		return out, nil
	}
	answers, path, err := c.composite(ctx, subs)
	if err != nil {
		return nil, err
	}
	for k, sr := range answers {
		i := sent[k]
		if sr.HTTPStatusCode < 200 || sr.HTTPStatusCode > 299 {
			out[i].Err = fmt.Errorf("sfclient: composite subrequest %s %s: %w", cols[i].Object, cols[i].ExternalIDField, subrequestError(sr.HTTPStatusCode, sr.Body))
			continue
		}
		var results []Result
		if err := json.Unmarshal(sr.Body, &results); err != nil || len(results) != len(cols[i].Records) {
			return nil, fmt.Errorf("sfclient: POST %s: subresponse %s is not one result per record: %w", path, sr.ReferenceID, ErrBadResponse)
		}
		out[i].Results = results
	}
	return out, nil
}

// compositeSub is one subrequest of a Composite request.
type compositeSub struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	ReferenceID string `json:"referenceId"`
	Body        any    `json:"body,omitempty"`
}

// compositeAnswer is one subresponse of a Composite request.
type compositeAnswer struct {
	Body           json.RawMessage `json:"body"`
	HTTPStatusCode int             `json:"httpStatusCode"`
	ReferenceID    string          `json:"referenceId"`
}

// composite sends subs in one Composite request (allOrNone false) and
// returns their answers, in order, each checked to be its subrequest's,
// and the request's path for errors. The error is for the whole call.
func (c *Client) composite(ctx context.Context, subs []compositeSub) ([]compositeAnswer, string, error) {
	body, err := json.Marshal(struct {
		AllOrNone        bool           `json:"allOrNone"`
		CompositeRequest []compositeSub `json:"compositeRequest"`
	}{CompositeRequest: subs})
	if err != nil {
		return nil, "", fmt.Errorf("sfclient: encode composite request: %w", err)
	}
	path := fmt.Sprintf("services/data/v%s/composite", c.cfg.APIVersion)
	_, data, err := c.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, "", err
	}
	var resp struct {
		CompositeResponse []compositeAnswer `json:"compositeResponse"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, "", fmt.Errorf("sfclient: POST %s: the answer is not a composite response: %w", path, ErrBadResponse)
	}
	if len(resp.CompositeResponse) != len(subs) {
		return nil, "", fmt.Errorf("sfclient: POST %s: %d subresponses for %d subrequests: %w", path, len(resp.CompositeResponse), len(subs), ErrBadResponse)
	}
	for k, sr := range resp.CompositeResponse {
		if want := subs[k].ReferenceID; sr.ReferenceID != want {
			return nil, "", fmt.Errorf("sfclient: POST %s: subresponse %d is %q, want %q: %w", path, k, sr.ReferenceID, want, ErrBadResponse)
		}
	}
	return resp.CompositeResponse, path, nil
}

// collectionBody is the JSON body of an sObject Collections upsert.
func collectionBody(object string, records []Record) any {
	body := struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}{Records: make([]map[string]any, len(records))}
	for i, r := range records {
		m := make(map[string]any, len(r)+1)
		for k, v := range r {
			m[k] = v
		}
		m["attributes"] = map[string]string{"type": object}
		body.Records[i] = m
	}
	return body
}

// subrequestError reads a failed subrequest's body, Salesforce's error
// array, into an *APIError.
func subrequestError(status int, body json.RawMessage) *APIError {
	var errs []struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &errs) == nil && len(errs) > 0 {
		return &APIError{HTTPStatus: status, Code: errs[0].ErrorCode, Message: errs[0].Message}
	}
	return &APIError{HTTPStatus: status, Message: http.StatusText(status) + " (the body is not a Salesforce error)"}
}
