package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/salesforce"
)

// maxCursors bounds the query locators kept; the oldest goes first.
const maxCursors = 100

// sfTime is how Salesforce writes a datetime in JSON.
const sfTime = "2006-01-02T15:04:05.000-0700"

// defaultMetadata is the salesforce/ folder's metadata.
func defaultMetadata() []salesforce.Object {
	objs, err := salesforce.Objects()
	if err != nil {
		panic(err) // embedded and tested: a broken build
	}
	return objs
}

// initSync prepares describe, query and the agent hook. The caller owns s.
func (s *Server) initSync() {
	s.metadata = map[string]salesforce.Object{}
	for _, m := range s.opts.Metadata {
		s.metadata[strings.ToLower(m.Name)] = m
	}
	s.users = map[string]string{s.opts.UserID: "Integration User"}
	s.cursors = map[string]*cursor{}
}

// cursor is the rest of a query's result, served by its locator.
type cursor struct {
	id      string
	records []map[string]any
	total   int
	batch   int
	offset  int
}

// handleRead serves the read resources: describe and query.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request, version string, rest []string) {
	switch {
	case len(rest) == 3 && rest[0] == "sobjects" && rest[2] == "describe":
		if allowMethod(w, r, http.MethodGet) {
			s.handleDescribe(w, version, rest[1])
		}
	case len(rest) == 1 && rest[0] == "query":
		if allowMethod(w, r, http.MethodGet) {
			s.handleQuery(w, r, version)
		}
	case len(rest) == 2 && rest[0] == "query":
		if allowMethod(w, r, http.MethodGet) {
			s.handleQueryMore(w, version, rest[1])
		}
	default:
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

// soql is a parsed query.
type soql struct {
	fields []string // as written
	object *objectSchema
	where  []condition
	order  []orderBy
	limit  int // 0: none
}

type condition struct {
	field string
	op    string
	value any // time.Time, string, json.Number, bool or nil
}

type orderBy struct {
	field string
	desc  bool
}

var (
	queryPattern = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+([A-Za-z][A-Za-z0-9_]*)` +
		`(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*$`)
	condPattern = regexp.MustCompile(`(?is)^\s*([A-Za-z][A-Za-z0-9_.]*)\s*(=|!=|<>|<=|>=|<|>)\s*(.+?)\s*$`)
	andPattern  = regexp.MustCompile(`(?i)\s+AND\s+`)
	dtLiteral   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$`)
)

// queryError is a refused query: Salesforce's error code and message.
type queryError struct{ code, msg string }

func malformed(format string, args ...any) *queryError {
	return &queryError{code: "MALFORMED_QUERY", msg: fmt.Sprintf(format, args...)}
}

// parseSOQL reads the subset of SOQL the stand-in serves.
func (s *Server) parseSOQL(q string) (*soql, *queryError) {
	m := queryPattern.FindStringSubmatch(q)
	if m == nil {
		return nil, malformed("unexpected token: the stand-in reads SELECT ... FROM ... [WHERE a op b [AND ...]] [ORDER BY ...] [LIMIT n]")
	}
	o := s.schema[strings.ToLower(m[2])]
	if o == nil {
		return nil, &queryError{code: "INVALID_TYPE", msg: fmt.Sprintf("sObject type '%s' is not supported.", m[2])}
	}
	out := &soql{object: o}
	for _, f := range strings.Split(m[1], ",") {
		f = strings.TrimSpace(f)
		if _, ok := s.fieldValue(o, nil, f); !ok {
			return nil, &queryError{code: "INVALID_FIELD", msg: fmt.Sprintf("No such column '%s' on entity '%s'.", f, o.name)}
		}
		out.fields = append(out.fields, f)
	}
	if m[3] != "" {
		for _, part := range andPattern.Split(m[3], -1) {
			cm := condPattern.FindStringSubmatch(part)
			if cm == nil {
				return nil, malformed("unexpected condition %q: the stand-in reads field op value, joined by AND", part)
			}
			if _, ok := s.fieldValue(o, nil, cm[1]); !ok {
				return nil, &queryError{code: "INVALID_FIELD", msg: fmt.Sprintf("No such column '%s' on entity '%s'.", cm[1], o.name)}
			}
			v, err := literal(cm[3])
			if err != nil {
				return nil, err
			}
			op := cm[2]
			if op == "<>" {
				op = "!="
			}
			out.where = append(out.where, condition{field: cm[1], op: op, value: v})
		}
	}
	if m[4] != "" {
		for _, part := range strings.Split(m[4], ",") {
			words := strings.Fields(part)
			if len(words) == 0 || len(words) > 2 {
				return nil, malformed("unexpected ORDER BY %q", part)
			}
			if _, ok := s.fieldValue(o, nil, words[0]); !ok {
				return nil, &queryError{code: "INVALID_FIELD", msg: fmt.Sprintf("No such column '%s' on entity '%s'.", words[0], o.name)}
			}
			ob := orderBy{field: words[0]}
			if len(words) == 2 {
				switch strings.ToUpper(words[1]) {
				case "ASC":
				case "DESC":
					ob.desc = true
				default:
					return nil, malformed("unexpected token %q in ORDER BY", words[1])
				}
			}
			out.order = append(out.order, ob)
		}
	}
	if m[5] != "" {
		n, err := strconv.Atoi(m[5])
		if err != nil || n < 0 {
			return nil, malformed("LIMIT %q is not a number", m[5])
		}
		out.limit = n
	}
	return out, nil
}

// literal reads a SOQL value: a datetime (2026-12-05T10:00:00Z), a quoted
// string, a number, true, false or null.
func literal(v string) (any, *queryError) {
	switch {
	case strings.EqualFold(v, "null"):
		return nil, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	case dtLiteral.MatchString(v):
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, malformed("invalid datetime %s", v)
		}
		return t, nil
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		return strings.ReplaceAll(strings.ReplaceAll(v[1:len(v)-1], `\'`, `'`), `\\`, `\`), nil
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return json.Number(v), nil
	}
	return nil, malformed("unexpected token: %s", v)
}

// fieldValue returns a record's value of a selectable field (r nil: only
// whether the field exists). Values are what the query answer shows:
// datetimes as time.Time, LastModifiedBy.Name and CreatedBy.Name the
// user's name. The caller holds s.mu when r is not nil.
func (s *Server) fieldValue(o *objectSchema, r *Record, name string) (any, bool) {
	switch strings.ToLower(name) {
	case "id":
		return recordOr(r, func() any { return r.ID }), true
	case "systemmodstamp", "lastmodifieddate":
		return recordOr(r, func() any { return r.SystemModstamp }), true
	case "lastmodifiedbyid":
		return recordOr(r, func() any { return r.LastModifiedByID }), true
	case "lastmodifiedby.name":
		return recordOr(r, func() any { return s.users[r.LastModifiedByID] }), true
	}
	canon, ok := o.fields[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	if r == nil {
		return nil, true
	}
	v, present := r.Fields[canon]
	if !present && s.fieldType(o, canon) == "boolean" {
		return false, true
	}
	return v, true
}

func recordOr(r *Record, f func() any) any {
	if r == nil {
		return nil
	}
	return f()
}

// fieldType is a field's describe type from the metadata ("" when the
// metadata does not declare it).
func (s *Server) fieldType(o *objectSchema, field string) string {
	if m, ok := s.metadata[strings.ToLower(o.name)]; ok {
		if f, ok := m.Field(field); ok {
			return f.DescribeType()
		}
	}
	return ""
}

// compare orders two values of one field: -1, 0, 1; ok false when they
// can not be compared (a null, or different kinds).
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case time.Time:
		switch y := b.(type) {
		case time.Time:
			return x.Compare(y), true
		case string:
			if t, err := time.Parse(time.RFC3339, y); err == nil {
				return x.Compare(t), true
			}
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
		if y, ok := b.(time.Time); ok {
			if t, err := time.Parse(time.RFC3339, x); err == nil {
				return t.Compare(y), true
			}
		}
	case json.Number:
		if y, ok := b.(json.Number); ok {
			fx, _ := x.Float64()
			fy, _ := y.Float64()
			switch {
			case fx < fy:
				return -1, true
			case fx > fy:
				return 1, true
			}
			return 0, true
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0, true
			case !x:
				return -1, true
			}
			return 1, true
		}
	}
	return 0, false
}

// matches applies one condition to a value, with SOQL's null rules: =
// null and != null test for null, any other comparison with null is
// false.
func (c condition) matches(v any) bool {
	if c.value == nil || v == nil {
		isNull := v == nil || v == ""
		switch c.op {
		case "=":
			return isNull == (c.value == nil)
		case "!=":
			return isNull != (c.value == nil)
		}
		return false
	}
	n, ok := compare(v, c.value)
	if !ok {
		return c.op == "!="
	}
	switch c.op {
	case "=":
		return n == 0
	case "!=":
		return n != 0
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	}
	return n >= 0
}

// run executes q against the records and returns the answer's records.
// The caller holds s.mu.
func (s *Server) run(q *soql, version string) []map[string]any {
	t := s.tables[q.object.name]
	var rows []*Record
	for _, r := range t.records {
		keep := true
		for _, c := range q.where {
			v, _ := s.fieldValue(q.object, r, c.field)
			if !c.matches(v) {
				keep = false
				break
			}
		}
		if keep {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b *Record) int {
		for _, ob := range q.order {
			va, _ := s.fieldValue(q.object, a, ob.field)
			vb, _ := s.fieldValue(q.object, b, ob.field)
			n, ok := compare(va, vb)
			if !ok {
				// Nulls first in ascending order, as on Salesforce.
				switch {
				case va == nil && vb != nil:
					n = -1
				case va != nil && vb == nil:
					n = 1
				}
			}
			if ob.desc {
				n = -n
			}
			if n != 0 {
				return n
			}
		}
		return 0
	})
	if q.limit > 0 && len(rows) > q.limit {
		rows = rows[:q.limit]
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		rec := map[string]any{"attributes": map[string]string{
			"type": q.object.name, "url": "/services/data/" + version + "/sobjects/" + q.object.name + "/" + r.ID,
		}}
		for _, f := range q.fields {
			v, _ := s.fieldValue(q.object, r, f)
			if tv, ok := v.(time.Time); ok {
				v = tv.UTC().Format(sfTime)
			}
			if rel, field, ok := strings.Cut(f, "."); ok {
				rec[rel] = map[string]any{
					"attributes": map[string]string{"type": "User", "url": "/services/data/" + version + "/sobjects/User/" + r.LastModifiedByID},
					field:        v,
				}
				continue
			}
			if canon, ok := q.object.fields[strings.ToLower(f)]; ok {
				f = canon
			}
			rec[f] = v
		}
		out = append(out, rec)
	}
	return out
}

// queryPage is a query answer.
type queryPage struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl,omitempty"`
	Records        []map[string]any `json:"records"`
}

// batchSize reads Sforce-Query-Options: batchSize=N, bounded by the
// option.
func (s *Server) batchSize(r *http.Request) int {
	n := s.opts.QueryBatchSize
	for _, part := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "batchSize="); ok {
			if b, err := strconv.Atoi(v); err == nil && b > 0 && b < n {
				n = b
			}
		}
	}
	return n
}

// handleQuery is GET /services/data/vXX.X/query?q=SOQL.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request, version string) {
	s.mu.Lock()
	s.stats.QueryCalls++
	s.mu.Unlock()
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		writeErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	parsed, qerr := s.parseSOQL(q)
	if qerr != nil {
		writeErrors(w, http.StatusBadRequest, qerr.code, qerr.msg)
		return
	}
	s.mu.Lock()
	rows := s.run(parsed, version)
	c := &cursor{records: rows, total: len(rows), batch: s.batchSize(r)}
	page := s.pageLocked(c, version)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, page)
}

// handleQueryMore is GET /services/data/vXX.X/query/{locator}.
func (s *Server) handleQueryMore(w http.ResponseWriter, version, locator string) {
	s.mu.Lock()
	s.stats.QueryCalls++
	id, offset, _ := strings.Cut(locator, "-")
	c := s.cursors[id]
	if c == nil || strconv.Itoa(c.offset) != offset {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	page := s.pageLocked(c, version)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, page)
}

// pageLocked takes the cursor's next page, keeping the cursor while
// records remain. The caller holds s.mu.
func (s *Server) pageLocked(c *cursor, version string) queryPage {
	end := min(c.offset+c.batch, len(c.records))
	page := queryPage{TotalSize: c.total, Done: end == len(c.records), Records: c.records[c.offset:end]}
	c.offset = end
	if page.Done {
		if c.id != "" {
			delete(s.cursors, c.id)
		}
		return page
	}
	if c.id == "" {
		s.cursorSeq++
		c.id = fmt.Sprintf("01g%012d", s.cursorSeq)
		c.id += idSuffix(c.id)
		if len(s.cursors) >= maxCursors {
			oldest := ""
			for id := range s.cursors {
				if oldest == "" || id < oldest {
					oldest = id
				}
			}
			delete(s.cursors, oldest)
		}
		s.cursors[c.id] = c
	}
	page.NextRecordsURL = fmt.Sprintf("/services/data/%s/query/%s-%d", version, c.id, c.offset)
	return page
}
