package standin

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"
)

// Files: ContentVersion inserts (JSON with base64 VersionData, and
// multipart), ContentDocument and ContentDocumentLink, as Salesforce keeps
// a File; see the package doc.

// DefaultFileKeyField is the ContentVersion field the connector keys its
// Files by (Options.FileKeyField): an external id, unique.
const DefaultFileKeyField = "Connector_Media_Key__c"

// Salesforce's limits on VersionData.
const (
	// maxJSONFileBytes: a non-multipart insert carries at most 37.5 MB of
	// base64-decoded data (50 MB of text).
	maxJSONFileBytes = 37_500_000
	// DefaultMaxUploadBytes is the most bytes of an upload the stand-in
	// reads (Options.MaxUploadBytes); Salesforce takes 2 GB per
	// ContentVersion.
	DefaultMaxUploadBytes = 64 << 20
)

// Key prefixes of the File objects, Salesforce's.
const (
	contentVersionPrefix  = "068"
	contentDocumentPrefix = "069"
	contentLinkPrefix     = "06A"
)

// fileObjects are the File objects every stand-in serves besides
// Options.Objects.
func fileObjects(keyField string) []Object {
	return []Object{
		{Name: "ContentDocument", KeyPrefix: contentDocumentPrefix, ExternalID: "Id",
			Fields: []string{"Title", "FileExtension", "ContentSize", "LatestPublishedVersionId"}},
		{Name: "ContentVersion", KeyPrefix: contentVersionPrefix, ExternalID: keyField,
			Fields: []string{"Title", "PathOnClient", "FirstPublishLocationId", "ContentDocumentId", "IsLatest",
				"FileExtension", "ContentSize", "Checksum", "VersionNumber"}},
		{Name: "ContentDocumentLink", KeyPrefix: contentLinkPrefix, ExternalID: "Id",
			Fields: []string{"ContentDocumentId", "LinkedEntityId", "ShareType", "Visibility"}},
	}
}

// withFileObjects adds the File objects to objs unless they are there.
func withFileObjects(objs []Object, keyField string) []Object {
	out := slices.Clone(objs)
	for _, f := range fileObjects(keyField) {
		if !slices.ContainsFunc(objs, func(o Object) bool { return strings.EqualFold(o.Name, f.Name) }) {
			out = append(out, f)
		}
	}
	return out
}

// storedFile is a ContentVersion's bytes.
type storedFile struct {
	data        []byte
	contentType string
}

// File is a File as Files and GET /__standin/files show it.
type File struct {
	ContentVersionID  string `json:"contentVersionId"`
	ContentDocumentID string `json:"contentDocumentId"`
	Title             string `json:"title"`
	PathOnClient      string `json:"pathOnClient"`
	// Key is the ContentVersion's key field (Options.FileKeyField).
	Key         string `json:"key"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
	// Data is the bytes (base64 in JSON).
	Data []byte `json:"data"`
	// FirstPublishLocationID is the record the File was published to;
	// LinkedEntities every record a ContentDocumentLink shares it with.
	FirstPublishLocationID string   `json:"firstPublishLocationId"`
	LinkedEntities         []string `json:"linkedEntities"`
}

// Files returns every ContentVersion in creation order, with its bytes
// and the records its document is linked to.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.tables[s.schema["contentversion"].name]
	links := s.tables[s.schema["contentdocumentlink"].name]
	out := []File{}
	for _, r := range cv.records {
		f := File{ContentVersionID: r.ID}
		f.ContentDocumentID, _ = r.Fields["ContentDocumentId"].(string)
		f.Title, _ = r.Fields["Title"].(string)
		f.PathOnClient, _ = r.Fields["PathOnClient"].(string)
		f.Key, _ = r.Fields[s.opts.FileKeyField].(string)
		f.FirstPublishLocationID, _ = r.Fields["FirstPublishLocationId"].(string)
		if sf := s.files[r.ID]; sf != nil {
			f.Data, f.ContentType, f.Size = slices.Clone(sf.data), sf.contentType, len(sf.data)
			sum := sha256.Sum256(sf.data)
			f.SHA256 = hex.EncodeToString(sum[:])
		}
		f.LinkedEntities = []string{}
		for _, l := range links.records {
			if l.Fields["ContentDocumentId"] == f.ContentDocumentID {
				e, _ := l.Fields["LinkedEntityId"].(string)
				f.LinkedEntities = append(f.LinkedEntities, e)
			}
		}
		out = append(out, f)
	}
	return out
}

// isUpload reports whether the call is a ContentVersion insert, whose
// body may be larger than other calls'.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(r.URL.Path, "/")), "/sobjects/contentversion")
}

// handleInsert serves POST .../sobjects/{object}: ContentVersion and
// ContentDocumentLink.
func (s *Server) handleInsert(w http.ResponseWriter, r *http.Request, object string, body []byte) {
	switch strings.ToLower(object) {
	case "contentversion":
		s.insertContentVersion(w, r, body)
	case "contentdocumentlink":
		var fields map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not valid JSON: "+err.Error())
			return
		}
		s.mu.Lock()
		id, e := s.linkLocked(fields)
		s.mu.Unlock()
		if e != nil {
			writeErrors(w, http.StatusBadRequest, e.code, e.message, e.fields...)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
	default:
		if s.schema[strings.ToLower(object)] == nil {
			writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		writeErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			"the stand-in inserts ContentVersion and ContentDocumentLink only; upsert "+object+" by its external id")
	}
}

// insertContentVersion creates a ContentVersion, its ContentDocument and,
// with FirstPublishLocationId, the document's link to that record.
func (s *Server) insertContentVersion(w http.ResponseWriter, r *http.Request, body []byte) {
	fields, data, contentType, e := readContentVersion(r, body)
	if e != nil {
		writeErrors(w, http.StatusBadRequest, e.code, e.message, e.fields...)
		return
	}
	s.mu.Lock()
	id, e := s.createVersionLocked(fields, data, contentType)
	s.mu.Unlock()
	if e != nil {
		writeErrors(w, http.StatusBadRequest, e.code, e.message, e.fields...)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
}

// readContentVersion reads a ContentVersion insert: JSON with base64
// VersionData, or multipart with the fields in its first part and the
// bytes in VersionData.
func readContentVersion(r *http.Request, body []byte) (map[string]any, []byte, string, *recErr) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	decode := func(b []byte) (map[string]any, *recErr) {
		var fields map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			return nil, &recErr{code: "JSON_PARSER_ERROR", message: "The request body is not valid JSON: " + err.Error()}
		}
		return fields, nil
	}
	if mt != "multipart/form-data" {
		fields, e := decode(body)
		if e != nil {
			return nil, nil, "", e
		}
		raw, _ := fields["VersionData"].(string)
		delete(fields, "VersionData")
		if raw == "" {
			return nil, nil, "", &recErr{code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [VersionData]", fields: []string{"VersionData"}}
		}
		data, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, nil, "", &recErr{code: "INVALID_FIELD", message: "VersionData: the value is not base64", fields: []string{"VersionData"}}
		}
		if len(data) > maxJSONFileBytes {
			return nil, nil, "", &recErr{code: "STRING_TOO_LONG", fields: []string{"VersionData"}, message: fmt.Sprintf(
				"VersionData: data value too large: %d bytes (a non-multipart insert takes at most %d; use a multipart body)", len(data), maxJSONFileBytes)}
		}
		return fields, data, "", nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var fields map[string]any
	var data []byte
	var contentType string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, "", &recErr{code: "MALFORMED_REQUEST", message: "the multipart body cannot be read: " + err.Error()}
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, "", &recErr{code: "MALFORMED_REQUEST", message: "the multipart body cannot be read: " + err.Error()}
		}
		switch p.FormName() {
		case "entity_content":
			var e *recErr
			if fields, e = decode(b); e != nil {
				return nil, nil, "", e
			}
		case "VersionData":
			data, contentType = b, p.Header.Get("Content-Type")
		}
	}
	if fields == nil {
		return nil, nil, "", &recErr{code: "MALFORMED_REQUEST", message: "the multipart body has no entity_content part"}
	}
	if len(data) == 0 {
		return nil, nil, "", &recErr{code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [VersionData]", fields: []string{"VersionData"}}
	}
	return fields, data, contentType, nil
}

// createVersionLocked stores a ContentVersion. The caller holds s.mu.
func (s *Server) createVersionLocked(fields map[string]any, data []byte, contentType string) (string, *recErr) {
	cv := s.schema["contentversion"]
	values := map[string]any{}
	for k, v := range fields {
		canon, ok := cv.fields[strings.ToLower(k)]
		if !ok || strings.EqualFold(k, "Id") || strings.EqualFold(k, "ContentDocumentId") || strings.EqualFold(k, "IsLatest") {
			return "", &recErr{code: "INVALID_FIELD", fields: []string{k},
				message: fmt.Sprintf("No such column '%s' on sobject of type ContentVersion (or it cannot be set)", k)}
		}
		if !isScalar(v) {
			return "", &recErr{code: "INVALID_TYPE_ON_FIELD_IN_RECORD", message: canon + ": value not of required type", fields: []string{canon}}
		}
		if v != nil {
			values[canon] = v
		}
	}
	pathOnClient, _ := values["PathOnClient"].(string)
	if pathOnClient == "" {
		return "", &recErr{code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [PathOnClient]", fields: []string{"PathOnClient"}}
	}
	if s.opts.FileStorageLimit > 0 && s.fileBytes+int64(len(data)) > s.opts.FileStorageLimit {
		return "", &recErr{code: "STORAGE_LIMIT_EXCEEDED", message: "storage limit exceeded"}
	}
	t := s.tables[cv.name]
	key, _ := scalarString(values[s.opts.FileKeyField])
	if key != "" {
		if dup := t.byExt[key]; dup != nil {
			return "", &recErr{code: "DUPLICATE_VALUE", fields: []string{s.opts.FileKeyField},
				message: fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", s.opts.FileKeyField, dup.ID)}
		}
	}
	publish, _ := values["FirstPublishLocationId"].(string)
	if publish != "" && s.recordByIDLocked(publish) == nil {
		return "", &recErr{code: "INVALID_CROSS_REFERENCE_KEY", fields: []string{"FirstPublishLocationId"},
			message: "invalid cross reference id: FirstPublishLocationId " + publish}
	}
	if _, ok := values["Title"]; !ok {
		values["Title"] = strings.TrimSuffix(pathOnClient, path.Ext(pathOnClient))
	}
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(pathOnClient)), ".")
	sum := md5.Sum(data) // Salesforce's Checksum is the MD5 of the bytes
	size := json.Number(fmt.Sprint(len(data)))

	doc := s.insertLocked(s.schema["contentdocument"], map[string]any{
		"Title": values["Title"], "FileExtension": ext, "ContentSize": size})
	values["ContentDocumentId"], values["IsLatest"], values["FileExtension"] = doc.ID, true, ext
	values["ContentSize"], values["Checksum"], values["VersionNumber"] = size, hex.EncodeToString(sum[:]), "1"
	r := s.insertLocked(cv, values)
	doc.Fields["LatestPublishedVersionId"] = r.ID
	if key != "" {
		t.byExt[key] = r
	}
	s.files[r.ID] = &storedFile{data: slices.Clone(data), contentType: contentType}
	s.fileBytes += int64(len(data))
	if publish != "" {
		s.insertLocked(s.schema["contentdocumentlink"], map[string]any{
			"ContentDocumentId": doc.ID, "LinkedEntityId": publish, "ShareType": "I", "Visibility": "AllUsers"})
	}
	return r.ID, nil
}

// linkLocked stores a ContentDocumentLink. The caller holds s.mu.
func (s *Server) linkLocked(fields map[string]any) (string, *recErr) {
	o := s.schema["contentdocumentlink"]
	values := map[string]any{}
	for k, v := range fields {
		canon, ok := o.fields[strings.ToLower(k)]
		if !ok || strings.EqualFold(k, "Id") {
			return "", &recErr{code: "INVALID_FIELD", message: fmt.Sprintf("No such column '%s' on sobject of type ContentDocumentLink", k), fields: []string{k}}
		}
		values[canon] = v
	}
	doc, _ := values["ContentDocumentId"].(string)
	entity, _ := values["LinkedEntityId"].(string)
	if doc == "" || entity == "" {
		return "", &recErr{code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [ContentDocumentId, LinkedEntityId]",
			fields: []string{"ContentDocumentId", "LinkedEntityId"}}
	}
	if s.tables[s.schema["contentdocument"].name].byID[doc] == nil {
		return "", &recErr{code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id: ContentDocumentId " + doc, fields: []string{"ContentDocumentId"}}
	}
	if s.recordByIDLocked(entity) == nil {
		return "", &recErr{code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id: LinkedEntityId " + entity, fields: []string{"LinkedEntityId"}}
	}
	for _, l := range s.tables[o.name].records {
		if l.Fields["ContentDocumentId"] == doc && l.Fields["LinkedEntityId"] == entity {
			return "", &recErr{code: "DUPLICATE_VALUE", message: "duplicate value found: the document is already linked to " + entity + " on record with id: " + l.ID}
		}
	}
	if _, ok := values["ShareType"]; !ok {
		values["ShareType"] = "V"
	}
	if _, ok := values["Visibility"]; !ok {
		values["Visibility"] = "AllUsers"
	}
	return s.insertLocked(o, values).ID, nil
}

// insertLocked adds a record with values to o's table (not by external
// id). The caller holds s.mu.
func (s *Server) insertLocked(o *objectSchema, values map[string]any) *Record {
	s.created++
	r := &Record{ID: s.nextID(o), Fields: maps.Clone(values), CreatedSeq: s.created}
	s.touchLocked(r, s.opts.UserID, nil)
	t := s.tables[o.name]
	t.records = append(t.records, r)
	t.byID[r.ID] = r
	s.stats.RecordsCreated++
	return r
}

// recordByIDLocked finds a record of any object by its id. The caller
// holds s.mu.
func (s *Server) recordByIDLocked(id string) *Record {
	for _, t := range s.tables {
		if r := t.byID[id]; r != nil {
			return r
		}
		if len(id) == 15 {
			for full, r := range t.byID {
				if full[:15] == id {
					return r
				}
			}
		}
	}
	return nil
}

// handleUpdateByID serves PATCH .../sobjects/{object}/{id}: the fields
// given are set on the record (204); an unknown field is 400
// INVALID_FIELD, an unknown id 404 NOT_FOUND.
func (s *Server) handleUpdateByID(w http.ResponseWriter, object, id string, body []byte) {
	o := s.schema[strings.ToLower(object)]
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not valid JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tables[o.name].byID[id]
	if r == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	values := map[string]any{}
	for k, v := range fields {
		canon, ok := o.fields[strings.ToLower(k)]
		if !ok || canon == o.externalID && o.externalID == "Id" {
			writeErrors(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.name), k)
			return
		}
		if !isScalar(v) {
			writeErrors(w, http.StatusBadRequest, "INVALID_TYPE_ON_FIELD_IN_RECORD", canon+": value not of required type", canon)
			return
		}
		if max, ok := o.maxLength[canon]; ok {
			if str, isStr := v.(string); isStr && len([]rune(str)) > max {
				writeErrors(w, http.StatusBadRequest, "STRING_TOO_LONG", fmt.Sprintf("%s: data value too large (max length=%d)", canon, max), canon)
				return
			}
		}
		values[canon] = v
	}
	for k, v := range values {
		if v == nil {
			delete(r.Fields, k)
		} else {
			r.Fields[k] = v
		}
	}
	r.UpdateCount++
	s.stats.RecordsUpdated++
	s.touchLocked(r, s.opts.UserID, nil)
	w.WriteHeader(http.StatusNoContent)
}

// handleVersionData serves GET .../sobjects/ContentVersion/{id}/VersionData:
// the bytes.
func (s *Server) handleVersionData(w http.ResponseWriter, id string) {
	s.mu.Lock()
	f := s.files[id]
	s.mu.Unlock()
	if f == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	ct := f.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(f.data)
}

// fileRoutes serves the Files over the admin routes:
//
//	GET /__standin/files   every File (File), bytes included
func (s *Server) fileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /__standin/files", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Files())
	})
}
