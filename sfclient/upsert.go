package sfclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// MaxCollectionRecords is the most records one sObject Collections call
// takes.
const MaxCollectionRecords = 200

// Record is a record's fields by API name. A parent named by its external
// id is a nested map: Record{"Chat_Conversation__r":
// map[string]any{"Conversation_Key__c": "t1:wa:42"}}. Values must be JSON
// encodable.
type Record map[string]any

// Result is Salesforce's UpsertResult for one record.
type Result struct {
	// ID is the record's id; empty when the record failed.
	ID string `json:"id"`
	// Success reports whether the record was written.
	Success bool `json:"success"`
	// Created is true when the upsert created the record, false when it
	// updated an existing one.
	Created bool `json:"created"`
	// Errors say why the record failed; see RecordErrorClass.
	Errors []RecordError `json:"errors"`
}

// RecordError is one error of a record.
type RecordError struct {
	// StatusCode is Salesforce's code, such as "REQUIRED_FIELD_MISSING".
	StatusCode string `json:"statusCode"`
	// Message is Salesforce's message.
	Message string `json:"message"`
	// Fields are the fields the error is about, if any.
	Fields []string `json:"fields"`
}

var apiNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// checkNames checks an object and an external id field name, which go
// into the URL unescaped.
func checkNames(object, externalIDField string) error {
	if !apiNamePattern.MatchString(object) {
		return fmt.Errorf("sfclient: object name %q is not an API name", object)
	}
	if !apiNamePattern.MatchString(externalIDField) {
		return fmt.Errorf("sfclient: external id field name %q is not an API name", externalIDField)
	}
	return nil
}

// UpsertCollection upserts up to MaxCollectionRecords records of object by
// their externalIDField in one sObject Collections call
// (PATCH /services/data/vXX.X/composite/sobjects/{object}/{externalIDField},
// allOrNone false). Each record must hold its external id field. Salesforce
// writes the records in order and answers one Result per record, in the
// same order; a record's failure does not fail the others.
//
// The error is for the whole call: ErrTooManyRecords (nothing sent), an
// *APIError, ErrTransient, ErrAuth, ErrWrongOrg or ErrBadResponse (see
// Classify). No records means no call and no results.
func (c *Client) UpsertCollection(ctx context.Context, object, externalIDField string, records []Record) ([]Result, error) {
	if err := checkNames(object, externalIDField); err != nil {
		return nil, err
	}
	if len(records) == 0 {
		return nil, nil
	}
	if len(records) > MaxCollectionRecords {
		return nil, fmt.Errorf("sfclient: %d records (at most %d per call): %w", len(records), MaxCollectionRecords, ErrTooManyRecords)
	}
	body, err := json.Marshal(collectionBody(object, records))
	if err != nil {
		return nil, fmt.Errorf("sfclient: encode %s records: %w", object, err)
	}
	path := fmt.Sprintf("services/data/v%s/composite/sobjects/%s/%s", c.cfg.APIVersion, object, externalIDField)
	_, data, err := c.do(ctx, http.MethodPatch, path, body)
	if err != nil {
		return nil, err
	}
	var results []Result
	if err := json.Unmarshal(data, &results); err != nil {
		return nil, fmt.Errorf("sfclient: PATCH %s: the answer is not a list of results: %w", path, ErrBadResponse)
	}
	if len(results) != len(records) {
		return nil, fmt.Errorf("sfclient: PATCH %s: %d results for %d records: %w", path, len(results), len(records), ErrBadResponse)
	}
	return results, nil
}

// Upsert upserts one record of object whose externalIDField is externalID
// (PATCH /services/data/vXX.X/sobjects/{object}/{externalIDField}/{externalID}).
// The Result says whether it was created (201) or updated (200, or 204
// without a body on API versions before 46.0, where ID stays empty).
//
// A record Salesforce refuses (REQUIRED_FIELD_MISSING, INVALID_FIELD, ...)
// comes back as an *APIError with HTTP status 400 and that Code: pass the
// Code to RecordErrorClass, or the error to Classify.
func (c *Client) Upsert(ctx context.Context, object, externalIDField, externalID string, fields Record) (Result, error) {
	if err := checkNames(object, externalIDField); err != nil {
		return Result{}, err
	}
	if externalID == "" {
		return Result{}, fmt.Errorf("sfclient: upsert %s: empty external id", object)
	}
	if fields == nil {
		fields = Record{}
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return Result{}, fmt.Errorf("sfclient: encode %s record: %w", object, err)
	}
	path := fmt.Sprintf("services/data/v%s/sobjects/%s/%s/%s", c.cfg.APIVersion, object, externalIDField, url.PathEscape(externalID))
	status, data, err := c.do(ctx, http.MethodPatch, path, body)
	if err != nil {
		return Result{}, err
	}
	if status == http.StatusNoContent || len(bytes.TrimSpace(data)) == 0 {
		return Result{Success: true, Created: status == http.StatusCreated}, nil
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return Result{}, fmt.Errorf("sfclient: PATCH %s: the answer is not an upsert result: %w", path, ErrBadResponse)
	}
	if status == http.StatusCreated {
		r.Created = true
	}
	return r, nil
}
