package sfclient

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Whole-call failures wrap one of them (an *APIError
// unwraps to the one its status and code mean); test with errors.Is, or
// use Classify.
var (
	// ErrInvalidSession: Salesforce answered 401 INVALID_SESSION_ID even
	// with a token fetched after the first such answer.
	ErrInvalidSession = errors.New("salesforce session invalid")
	// ErrRequestLimit: the org's API request limit is used up (403
	// REQUEST_LIMIT_EXCEEDED).
	ErrRequestLimit = errors.New("salesforce API request limit exceeded")
	// ErrTransient: a failure worth retrying later: a 5xx or 429 answer,
	// UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE, a timeout or a connection
	// error.
	ErrTransient = errors.New("transient Salesforce failure")
	// ErrAuth: the token endpoint refused the credentials (invalid_client,
	// invalid_grant, ...) or its answer was unusable.
	ErrAuth = errors.New("salesforce authentication failed")
	// ErrWrongOrg: the token belongs to another org than Config.OrgID.
	ErrWrongOrg = errors.New("salesforce token is for another org")
	// ErrTooManyRecords: more than MaxCollectionRecords records in one
	// UpsertCollection call; nothing was sent.
	ErrTooManyRecords = errors.New("too many records for one sObject Collections call")
	// ErrBadResponse: a 2xx answer the client could not understand (not
	// JSON, or not one result per record). The call may have taken effect;
	// upserts are safe to retry.
	ErrBadResponse = errors.New("unexpected Salesforce response")
)

// APIError is a non-2xx answer of the REST API.
type APIError struct {
	// HTTPStatus is the answer's status code.
	HTTPStatus int
	// Code is Salesforce's errorCode, such as "REQUEST_LIMIT_EXCEEDED";
	// empty when the body was not a Salesforce error (an HTML page).
	Code string
	// Message is Salesforce's message, or the status text.
	Message string
}

// Error describes the answer.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("salesforce: HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("salesforce: HTTP %d %s: %s", e.HTTPStatus, e.Code, e.Message)
}

// Unwrap returns the sentinel the answer means: ErrInvalidSession for 401,
// ErrRequestLimit for REQUEST_LIMIT_EXCEEDED, ErrTransient for 5xx, 429,
// UNABLE_TO_LOCK_ROW and SERVER_UNAVAILABLE; nil for other (permanent)
// answers.
func (e *APIError) Unwrap() error {
	switch {
	case e.HTTPStatus == http.StatusUnauthorized:
		return ErrInvalidSession
	case e.Code == "REQUEST_LIMIT_EXCEEDED":
		return ErrRequestLimit
	case e.HTTPStatus >= 500, e.HTTPStatus == http.StatusTooManyRequests,
		e.Code == "UNABLE_TO_LOCK_ROW", e.Code == "SERVER_UNAVAILABLE":
		return ErrTransient
	}
	return nil
}

// Class says what a caller should do about a failure.
type Class int

// Failure classes.
const (
	// Permanent: retrying the same request will fail the same way; park it
	// until something is fixed.
	Permanent Class = iota
	// Transient: retry later with backoff.
	Transient
	// RateLimited: the org's API limit is reached; slow the org down.
	RateLimited
	// Auth: the credentials or the org are wrong; no call can succeed
	// until the configuration is fixed.
	Auth
)

// String names the class.
func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate_limited"
	case Auth:
		return "auth"
	default:
		return "permanent"
	}
}

// Classify sorts a whole-call error into a Class: ErrTransient and
// ErrBadResponse are Transient, ErrRequestLimit RateLimited, ErrAuth,
// ErrWrongOrg and ErrInvalidSession Auth, anything else (other 4xx
// answers, ErrTooManyRecords, invalid arguments) Permanent. Only classify
// non-nil errors; nil is reported as Permanent.
func Classify(err error) Class {
	switch {
	case err == nil:
		return Permanent
	case errors.Is(err, ErrRequestLimit):
		return RateLimited
	case errors.Is(err, ErrTransient), errors.Is(err, ErrBadResponse):
		return Transient
	case errors.Is(err, ErrAuth), errors.Is(err, ErrWrongOrg), errors.Is(err, ErrInvalidSession):
		return Auth
	}
	return Permanent
}

// recordErrorClasses are the per-record status codes that are not
// Permanent. See RecordErrorClass.
var recordErrorClasses = map[string]Class{
	// Another transaction holds the record (or its parent) locked.
	"UNABLE_TO_LOCK_ROW": Transient,
	// The server is briefly unavailable.
	"SERVER_UNAVAILABLE": Transient,
	// An internal Salesforce error.
	"UNKNOWN_EXCEPTION": Transient,
	// The record was valid but rolled back with an invalid sibling
	// (allOrNone true).
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": Transient,
	// The org's API request limit is used up.
	"REQUEST_LIMIT_EXCEEDED": RateLimited,
	// The session ended during the call.
	"INVALID_SESSION_ID": Auth,
}

// RecordErrorClass sorts a per-record error's status code (RecordError.
// StatusCode) into a Class. UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE,
// UNKNOWN_EXCEPTION and ALL_OR_NONE_OPERATION_ROLLED_BACK are Transient,
// REQUEST_LIMIT_EXCEEDED is RateLimited, INVALID_SESSION_ID is Auth. Every
// other code is Permanent: the data or the org's schema must change first.
// Among them: INVALID_FIELD (unknown field, or a parent's external id not
// found), REQUIRED_FIELD_MISSING, STRING_TOO_LONG,
// INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, FIELD_CUSTOM_VALIDATION_EXCEPTION,
// DUPLICATE_VALUE, DUPLICATES_DETECTED, MALFORMED_ID,
// INVALID_CROSS_REFERENCE_KEY, INVALID_TYPE_ON_FIELD_IN_RECORD,
// MISSING_ARGUMENT, CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY (a trigger failed),
// INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY,
// INVALID_FIELD_FOR_INSERT_UPDATE, STORAGE_LIMIT_EXCEEDED, and codes this
// package does not know.
func RecordErrorClass(statusCode string) Class {
	if c, ok := recordErrorClasses[statusCode]; ok {
		return c
	}
	return Permanent
}
