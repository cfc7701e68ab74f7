// Package standin is a Salesforce stand-in: an HTTP server that speaks the
// small subset of the Salesforce REST API the connector uses, with the same
// URLs, status codes, headers and JSON bodies, so that the Salesforce client
// and the connector can be tested end to end without a real org.
//
// It runs in-process (httptest.NewServer(standin.New(opts))) or as a
// separate process (cmd/sfstandin), and it can be steered and inspected both
// through Go methods and through JSON admin routes under /__standin/.
//
// # What it serves
//
//   - POST /services/oauth2/token: the OAuth 2.0 client credentials flow
//     (client_id and client_secret as form fields or HTTP Basic) and the JWT
//     bearer flow (grant_type urn:ietf:params:oauth:grant-type:jwt-bearer).
//     The answer carries access_token, signature, scope, instance_url (the
//     stand-in's own base URL as seen in the request's Host), id (the
//     identity URL <base>/id/<orgId>/<userId>), token_type and issued_at
//     (milliseconds), like Salesforce. Refusals are
//     {"error": ..., "error_description": ...} with status 400.
//   - GET /id/{org}/{user}: the identity of the token's user.
//   - PATCH /services/data/vXX.X/sobjects/{object}/{field}/{value}: upsert one
//     record by external id: 201 with {"id","success","errors","created":true}
//     when created, 200 with "created":false when updated (204 without a body
//     for API versions below 46.0).
//   - PATCH /services/data/vXX.X/composite/sobjects/{object}/{field}: sObject
//     Collections upsert of at most 200 records, processed in array order,
//     answered with one UpsertResult per record in the same order;
//     allOrNone true rolls every record back when one fails.
//   - POST /services/data/vXX.X/composite: a Composite request of at most
//     25 subrequests, at most 5 of them sObject Collections (or queries),
//     executed in order and counted as ONE call toward the API limit. Its
//     subrequests may be sObject Collections upserts, single-record
//     upserts and describes (GET .../sobjects/{object}/describe); each
//     answers in compositeResponse with its httpStatusCode,
//     referenceId and body (the per-record results, or Salesforce's error
//     array for a subrequest that failed as a whole). With allOrNone false
//     a failed subrequest leaves the others as they are; with allOrNone true
//     (which overrides the collections' own allOrNone) the first failure
//     (an error status, or a collection with a failed record, whose other
//     records then answer ALL_OR_NONE_OPERATION_ROLLED_BACK) rolls back
//     everything the request wrote and every other subrequest answers 400
//     PROCESSING_HALTED. Over the limits, a missing
//     or repeated referenceId, or a malformed body: 400 and nothing runs.
//   - GET /services/data/vXX.X/limits: DailyApiRequests only.
//   - GET /services/data/: the API versions served (31.0 to 62.0), without
//     authentication, as on Salesforce. A call of another version is
//     answered 404 NOT_FOUND.
//   - GET /services/data/vXX.X/sobjects/{object}/describe: the object's
//     describe, built from Options.Metadata (by default the salesforce/
//     folder's XML, salesforce.Objects()): the standard fields (Id,
//     OwnerId unless the object is the detail of a master-detail, Name,
//     CreatedDate, CreatedById, LastModifiedDate, LastModifiedById,
//     SystemModstamp) and each custom field with its type as describe
//     names it (string, textarea, picklist with its values and whether it
//     is restricted, boolean, datetime, double, reference with referenceTo
//     and relationshipName), length, precision and scale, createable,
//     updateable, nillable, externalId, unique and caseSensitive.
//   - GET /services/data/vXX.X/query?q=SOQL and its nextRecordsUrl pages
//     GET /services/data/vXX.X/query/{locator}-{offset}: SELECT of fields,
//     Id, SystemModstamp, LastModifiedDate, LastModifiedById and
//     LastModifiedBy.Name, FROM one object, an optional WHERE of
//     conditions field op value (=, !=, <>, <, <=, >, >=; datetimes such
//     as 2026-12-05T10:00:00Z, 'strings', numbers, true, false, null)
//     joined by AND, ORDER BY fields ASC or DESC (nulls first), and LIMIT.
//     Answers are {"totalSize","done","nextRecordsUrl","records"}, each
//     record with its "attributes" {type, url}, LastModifiedBy as a nested
//     User record. A page holds Options.QueryBatchSize records (2,000 by
//     default), fewer when Sforce-Query-Options: batchSize=N asks.
//     Unknown columns are INVALID_FIELD, unknown objects INVALID_TYPE,
//     anything else it cannot read MALFORMED_QUERY (400); an unknown or
//     used-up locator is 404 INVALID_QUERY_LOCATOR.
//   - POST /services/data/vXX.X/sobjects/ContentVersion: a File, as JSON
//     with VersionData in base64 (at most 37,500,000 bytes decoded, as
//     Salesforce allows a non-multipart insert; more is 400 STRING_TOO_LONG)
//     or as multipart/form-data (an "entity_content" JSON part, then the
//     "VersionData" part with the bytes and their Content-Type). Title
//     (default: the file name without extension), PathOnClient (required:
//     REQUIRED_FIELD_MISSING), FirstPublishLocationId (a record of any
//     object, else INVALID_CROSS_REFERENCE_KEY) and the key field
//     (Options.FileKeyField, default Connector_Media_Key__c: unique, a
//     second File with the same key is 400 DUPLICATE_VALUE naming the
//     first) may be set; the stand-in sets ContentDocumentId (a new
//     ContentDocument, 069...), IsLatest, FileExtension, ContentSize,
//     Checksum (MD5) and VersionNumber, and with FirstPublishLocationId a
//     ContentDocumentLink (ShareType I) to that record. 201 with
//     {"id","success","errors"}. Over Options.FileStorageLimit: 400
//     STORAGE_LIMIT_EXCEEDED. ContentVersion, ContentDocument and
//     ContentDocumentLink are queryable like the other objects
//     (SELECT Id, ContentDocumentId FROM ContentVersion WHERE
//     Connector_Media_Key__c = '...' AND IsLatest = true).
//   - GET /services/data/vXX.X/sobjects/ContentVersion/{id}/VersionData:
//     the bytes.
//   - POST /services/data/vXX.X/sobjects/ContentDocumentLink: share a
//     File (ContentDocumentId, LinkedEntityId required; ShareType default
//     V, Visibility AllUsers); a second link of the same document and
//     record is 400 DUPLICATE_VALUE, an unknown document or record 400
//     INVALID_CROSS_REFERENCE_KEY.
//   - PATCH /services/data/vXX.X/sobjects/{object}/{id}: update a record by
//     its id: 204; an unknown id is 404 NOT_FOUND, an unknown field 400
//     INVALID_FIELD.
//
// Files, or GET /__standin/files, lists every File with its bytes, its
// key and the records it is linked to.
//
// Every record carries SystemModstamp (when it was last written, to the
// second, as Salesforce keeps it) and LastModifiedById: the integration
// user (Options.UserID) for the connector's upserts, the agent for an
// agent's edit.
//
// # Agents' edits
//
// EditAsAgent, or POST /__standin/agent-edits with the same JSON
// ({"object","externalId" or "id","fields","userId","userName"}), changes
// a record as a support agent would from a record page: the fields are
// set, SystemModstamp becomes now and LastModifiedById the agent (default
// DefaultAgentID, "Support Agent"), whose name LastModifiedBy.Name then
// reads. The field names must exist; values are stored as given, as if an
// admin had added a picklist value.
//
// Every /services/data call needs a Bearer token from the token endpoint;
// every authenticated call within the limit counts one against the daily
// API limit (refused and fault-injected calls do not), and every answer
// carries a Sforce-Limit-Info: api-usage=N/M header. An expired or unknown token gets
// 401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}];
// a call over the limit gets 403 REQUEST_LIMIT_EXCEEDED.
//
// # Authentication rules
//
// Client credentials: the client id must equal Options.ClientID and the
// secret Options.ClientSecret; an empty option accepts any non-empty value.
// JWT bearer: the assertion's iss must equal Options.ClientID (any non-empty
// iss when it is empty), sub must be non-empty (and equal Options.Username
// when that is set), aud must be the stand-in's base URL or
// https://login.salesforce.com or https://test.salesforce.com, and exp must
// lie in the future. When Options.JWTPublicKeyPEM is set the RS256 signature
// is verified against it; when it is empty the signature is NOT checked and
// any well-formed assertion passing the claim checks is accepted.
//
// # Data model
//
// Objects, fields, the external id field of each object, required fields,
// string length limits and lookups (a lookup field holding a parent's record
// id, written either directly or through its relationship name with the
// parent's external id, {"Chat_Conversation__r": {"Conversation_Key__c":
// "..."}}) come from Options.Objects, by default DefaultObjects(), which
// mirrors the connector's default mapping. Upserts match on the external id:
// a second upsert of the same key updates the record (created false) and
// never duplicates it. Record ids are 18-character Salesforce-style ids: the
// object's three-character key prefix, a counter, and the case-checksum
// suffix.
//
// Per-record errors use Salesforce's status codes and wording: an unknown
// field is INVALID_FIELD ("No such column ..."), a required field missing on
// insert is REQUIRED_FIELD_MISSING, an unknown parent external id is
// INVALID_FIELD ("Foreign key external ID: ... not found for field ... in
// entity ..."), a string over its length is STRING_TOO_LONG, a record without
// its external id is MISSING_ARGUMENT, the same external id twice in one
// call is DUPLICATE_VALUE for each occurrence.
//
// # Fault injection
//
// FailNext and FailAll make /services/data calls fail with a chosen status
// (503 with a SERVER_UNAVAILABLE body by default, 500 UNKNOWN_EXCEPTION, any
// other status, or an HTML page instead of JSON); SetLatency delays every
// call (half before the call is processed and half after, so that records
// become visible in the middle of the call); ExpireTokens invalidates every token issued so far; AddRejectRule
// makes records whose field contains a marker fail with a chosen status code
// and message until RemoveRejectRule; SetUsage sets the API usage counter;
// Reset clears records, counters, faults, rules and latency (issued tokens
// stay valid). Records and Stats inspect the state. The same operations are
// served as JSON under /__standin/ (see Server.ServeHTTP); those routes need
// no authentication, which is one reason the stand-in must only ever listen
// on a test host. A request whose context comes from WithWriteObserver
// reports the records its sObject Collections upserts wrote (the bench
// counts them so).
//
// # How it differs from Salesforce
//
// It does not model: SOQL beyond the subset above (OR, NOT, IN, LIKE,
// functions, date literals such as TODAY, relationship queries other than
// LastModifiedBy.Name, aggregates; the batchSize header below 200 is
// honoured where Salesforce raises it to 200), record retrieval, deletes
// and every other REST resource; describe beyond the subset above (record
// types, child relationships, layouts, field-level security: every field
// is described as visible and, but for roll-up summaries and master-detail
// fields, createable and updateable); Composite subrequests other than
// upserts and describes, references between subrequests (@{ref.id}), collateSubrequests
// and the exact wording of the Composite limit errors; the batch, tree,
// graph and Bulk APIs; triggers,
// flows, validation rules, duplicate rules, sharing and field-level
// security; roll-up summaries (described, never computed); most of field
// types: upserts check, from the metadata, that a restricted picklist
// gets one of its values (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), a
// checkbox a JSON boolean and a date/time an ISO 8601 string
// (INVALID_TYPE_ON_FIELD_IN_RECORD per record, where Salesforce fails the
// whole request with JSON_PARSER_ERROR), and a text field's length when
// the schema has one; numbers, dates, unrestricted picklists and the
// fields the metadata does not declare take any JSON scalar; case-insensitive external
// id matching (keys match exactly); the 24-hour rolling window of the API
// limit (the counter only grows until SetUsage or Reset) and per-app,
// concurrency and payload-size limits; sessions timing out on inactivity
// (tokens expire TokenLifetime after issue, or never); refresh tokens, the
// username-password and web-server flows, scopes and connected-app policies;
// the instance and My Domain split (the login URL and the instance URL are
// the same server); XML bodies; Files beyond the above (new versions
// of a document, ContentDocument deletes and their cascade, sharing
// rules, file type detection from the bytes, the 2 GB multipart limit:
// the stand-in reads at most Options.MaxUploadBytes of an upload, 64 MiB
// by default, and answers 413 REQUEST_ENTITY_TOO_LARGE beyond; inserts of
// objects other than ContentVersion and ContentDocumentLink are 405). Where Salesforce rejects a whole
// collection at parse time (for example a field name it cannot
// deserialise), the stand-in answers a per-record INVALID_FIELD instead.
// Fault injection applies to /services/data calls only, not to the token
// endpoint. Everything is held in memory and lost when the process stops.
//
// A Server is safe for concurrent use.
package standin
