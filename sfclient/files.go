package sfclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// Salesforce's limits on a ContentVersion's VersionData.
const (
	// MaxJSONFileBytes is the most bytes one JSON insert carries: a
	// non-multipart body is limited to 50 MB of text, 37.5 MB of base64
	// (Salesforce, "Insert or Update Blob Data").
	MaxJSONFileBytes = 37_500_000
	// MaxFileBytes is the most bytes of a ContentVersion inserted with a
	// multipart body: 2 GB.
	MaxFileBytes = 2 << 30
)

// NewFile is a File to create: one ContentVersion, which makes its
// ContentDocument.
type NewFile struct {
	// Title and PathOnClient (the file name, whose extension gives the
	// file type) name it.
	Title        string
	PathOnClient string
	// FirstPublishLocationID, when set, is the record the File is shared
	// with (linked to) at once: Salesforce creates the ContentDocumentLink.
	FirstPublishLocationID string
	// Fields are more ContentVersion fields (the key field).
	Fields Record
	// Data is the file's bytes; ContentType their MIME type (for the
	// multipart part).
	Data        []byte
	ContentType string
}

// File names an existing File.
type File struct {
	ContentVersionID  string
	ContentDocumentID string
}

// CreateFile inserts a ContentVersion (POST /services/data/vXX.X/sobjects/ContentVersion)
// and returns its id. Data of up to multipartAbove bytes (at most
// MaxJSONFileBytes; 0 for that) travels as JSON with base64 VersionData;
// larger data as a multipart body (entity_content, then VersionData), up
// to MaxFileBytes. A refusal is an *APIError (DUPLICATE_VALUE when a
// unique key field already names a File, STORAGE_LIMIT_EXCEEDED, ...).
//
// An insert is not idempotent: give the File a unique key field and look
// it up (FindFile) before a retry.
func (c *Client) CreateFile(ctx context.Context, f NewFile, multipartAbove int) (string, error) {
	if len(f.Data) > MaxFileBytes {
		return "", fmt.Errorf("sfclient: create file: %d bytes, Salesforce takes at most %d", len(f.Data), MaxFileBytes)
	}
	if multipartAbove <= 0 || multipartAbove > MaxJSONFileBytes {
		multipartAbove = MaxJSONFileBytes
	}
	fields := Record{}
	for k, v := range f.Fields {
		fields[k] = v
	}
	fields["Title"], fields["PathOnClient"] = f.Title, f.PathOnClient
	if f.FirstPublishLocationID != "" {
		fields["FirstPublishLocationId"] = f.FirstPublishLocationID
	}
	path := fmt.Sprintf("services/data/v%s/sobjects/ContentVersion", c.cfg.APIVersion)
	var body []byte
	var contentType string
	if len(f.Data) <= multipartAbove {
		fields["VersionData"] = base64.StdEncoding.EncodeToString(f.Data)
		b, err := json.Marshal(fields)
		if err != nil {
			return "", fmt.Errorf("sfclient: encode ContentVersion: %w", err)
		}
		body, contentType = b, "application/json"
	} else {
		b, ct, err := multipartFile(fields, f)
		if err != nil {
			return "", err
		}
		body, contentType = b, ct
	}
	_, data, err := c.doRaw(ctx, http.MethodPost, path, contentType, body)
	if err != nil {
		return "", err
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil || r.ID == "" {
		return "", fmt.Errorf("sfclient: POST %s: the answer names no record: %w", path, ErrBadResponse)
	}
	return r.ID, nil
}

// multipartFile builds the multipart body of a ContentVersion insert.
func multipartFile(fields Record, f NewFile) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta, err := json.Marshal(fields)
	if err != nil {
		return nil, "", fmt.Errorf("sfclient: encode ContentVersion: %w", err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="entity_content"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err == nil {
		_, err = pw.Write(meta)
	}
	if err != nil {
		return nil, "", fmt.Errorf("sfclient: build the multipart body: %w", err)
	}
	ct := f.ContentType
	if ct == "" || strings.ContainsFunc(ct, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		ct = "application/octet-stream" // a header value never carries a control character
	}
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="VersionData"; filename=%q`, f.PathOnClient))
	h.Set("Content-Type", ct)
	if pw, err = mw.CreatePart(h); err == nil {
		if _, err = pw.Write(f.Data); err == nil {
			err = mw.Close()
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("sfclient: build the multipart body: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// soqlString quotes s as a SOQL string literal.
func soqlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return "'" + r.Replace(s) + "'"
}

// FindFile looks up the latest ContentVersion whose keyField is key, with
// its ContentDocumentId; found is false when there is none.
func (c *Client) FindFile(ctx context.Context, keyField, key string) (File, bool, error) {
	if !apiNamePattern.MatchString(keyField) {
		return File{}, false, fmt.Errorf("sfclient: key field name %q is not an API name", keyField)
	}
	var out File
	found := false
	soql := fmt.Sprintf("SELECT Id, ContentDocumentId FROM ContentVersion WHERE %s = %s AND IsLatest = true LIMIT 1", keyField, soqlString(key))
	err := c.Query(ctx, soql, func(recs []QueryRecord) error {
		if len(recs) > 0 && !found {
			out, found = File{ContentVersionID: recs[0].String("Id"), ContentDocumentID: recs[0].String("ContentDocumentId")}, true
		}
		return nil
	})
	if err != nil {
		return File{}, false, err
	}
	if found && (out.ContentVersionID == "" || out.ContentDocumentID == "") {
		return File{}, false, fmt.Errorf("sfclient: ContentVersion query: a record without its ids: %w", ErrBadResponse)
	}
	return out, found, nil
}

// LinkFile shares a File with a record (POST .../sobjects/ContentDocumentLink,
// ShareType V, Visibility AllUsers) and returns the link's id. Salesforce
// refuses a second link of the same File and record with DUPLICATE_VALUE.
func (c *Client) LinkFile(ctx context.Context, contentDocumentID, recordID string) (string, error) {
	body, err := json.Marshal(Record{"ContentDocumentId": contentDocumentID, "LinkedEntityId": recordID,
		"ShareType": "V", "Visibility": "AllUsers"})
	if err != nil {
		return "", fmt.Errorf("sfclient: encode ContentDocumentLink: %w", err)
	}
	path := fmt.Sprintf("services/data/v%s/sobjects/ContentDocumentLink", c.cfg.APIVersion)
	_, data, err := c.doRaw(ctx, http.MethodPost, path, "application/json", body)
	if err != nil {
		return "", err
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil || r.ID == "" {
		return "", fmt.Errorf("sfclient: POST %s: the answer names no record: %w", path, ErrBadResponse)
	}
	return r.ID, nil
}

// Update writes fields of the record id of object
// (PATCH /services/data/vXX.X/sobjects/{object}/{id}); Salesforce answers
// 204. An unknown id is an *APIError (404 NOT_FOUND).
func (c *Client) Update(ctx context.Context, object, id string, fields Record) error {
	if !apiNamePattern.MatchString(object) {
		return fmt.Errorf("sfclient: object name %q is not an API name", object)
	}
	if !apiNamePattern.MatchString(id) {
		return fmt.Errorf("sfclient: update %s: %q is not a record id", object, id)
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("sfclient: encode %s record: %w", object, err)
	}
	path := fmt.Sprintf("services/data/v%s/sobjects/%s/%s", c.cfg.APIVersion, object, id)
	_, _, err = c.doRaw(ctx, http.MethodPatch, path, "application/json", body)
	return err
}

// doRaw sends one REST call with a body of its own content type (a
// multipart upload), as do does: on 401 it fetches a new token once and
// sends the call once more.
func (c *Client) doRaw(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	s, err := c.currentSession(ctx)
	if err != nil {
		return 0, nil, err
	}
	status, data, err := c.sendRaw(ctx, s, method, path, contentType, body)
	if !errors.Is(err, ErrInvalidSession) {
		return status, data, err
	}
	c.log.Warn().Str("class", Auth.String()).Msg("Salesforce session expired or invalid; fetching a new token")
	if s, err = c.renew(ctx, s); err != nil {
		return 0, nil, err
	}
	return c.sendRaw(ctx, s, method, path, contentType, body)
}

// maxAnswerBytes bounds the answer of a raw call read.
const maxAnswerBytes = 4 << 20

// sendRaw makes the call once with session s through the retrying
// transport.
func (c *Client) sendRaw(ctx context.Context, s *session, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.instanceURL+"/"+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("sfclient: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return 0, nil, fmt.Errorf("sfclient: %s %s: %w: %w", method, path, ErrTransient, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("sfclient: %s %s: reading the answer: %w: %w", method, path, ErrTransient, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, nil, fmt.Errorf("sfclient: %s %s: %w", method, path, answerError(resp.StatusCode, data))
	}
	return resp.StatusCode, data, nil
}

// answerError reads Salesforce's error array ([{"message","errorCode"}])
// of a non-2xx answer.
func answerError(status int, data []byte) *APIError {
	var errs []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	if err := json.Unmarshal(data, &errs); err == nil && len(errs) > 0 && errs[0].ErrorCode != "" {
		return &APIError{HTTPStatus: status, Code: errs[0].ErrorCode, Message: errs[0].Message}
	}
	return &APIError{HTTPStatus: status, Message: http.StatusText(status) + " (the body is not a Salesforce error)"}
}
