package salesforcetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is a stored Salesforce record.
type Record struct {
	ID       string
	Object   string
	Fields   map[string]any
	Modified time.Time
	Deleted  bool // in the recycle bin: not found by queries, refused by writes
}

// Record switches, set under Lock.
type recordSwitches struct {
	// QueryBatch is the page size of query answers (Salesforce uses up to 2,000).
	QueryBatch int
	// DuplicateRuleOnEmail blocks creating a Lead whose email another Lead has.
	DuplicateRuleOnEmail bool
	// DuplicateRuleField, when set, blocks creating a Lead whose value of that field another
	// Lead has (a matching rule on, say, Company).
	DuplicateRuleField string
	// Validation, when set, fails records whose field equals the value.
	Validation map[string]string
	// LockNext answers the next n collection writes with UNABLE_TO_LOCK_ROW for every record.
	LockNext int
	// UnavailableNext answers the next n data calls with 503.
	UnavailableNext int
	// MaxRecordsPerCall is the most records any collection write carried (over 200 is refused).
	MaxRecordsPerCall int
}

func (s *Server) newID(object string) string {
	prefix := map[string]string{"Lead": "00Q", "Contact": "003", "Account": "001", "User": "005"}[object]
	if prefix == "" {
		prefix = "a00"
	}
	s.seq++
	return fmt.Sprintf("%s5g%010dAAA", prefix, s.seq)
}

// AddRecord stores a record directly (a record someone made in Salesforce) and returns its id.
func (s *Server) AddRecord(object string, fields map[string]any) string {
	var id string
	s.Lock(func(s *Server) {
		id = s.newID(object)
		s.records[id] = &Record{ID: id, Object: object, Fields: fields, Modified: s.clock()}
	})
	return id
}

// Records lists an object's records (copies), oldest first.
func (s *Server) Records(object string) []Record {
	var out []Record
	s.Lock(func(s *Server) {
		for _, r := range s.records {
			if r.Object == object {
				c := *r
				c.Fields = map[string]any{}
				for k, v := range r.Fields {
					c.Fields[k] = v
				}
				out = append(out, c)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// clock moves forward for every write, so LastModifiedDate orders writes.
func (s *Server) clock() time.Time {
	s.now = s.now.Add(time.Second)
	return s.now
}

func (s *Server) spec(object, field string) (FieldSpec, bool) {
	for _, f := range s.Objects[object] {
		if strings.EqualFold(f.Name, field) {
			return f, true
		}
	}
	return FieldSpec{}, false
}

var soql = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(\w+(?:\s*,\s*\w+)*))?(?:\s+LIMIT\s+(\d+))?\s*$`)

// query answers the SOQL subset Peregrine uses — SELECT fields (and Owner.Name/Owner.Email)
// FROM object [WHERE conditions with AND, OR and parentheses] [ORDER BY fields] [LIMIT n] —
// paged by nextRecordsUrl. Deleted records are not found.
func (s *Server) query(w http.ResponseWriter, r *http.Request, version string) {
	q := r.URL.Query().Get("q")
	m := soql.FindStringSubmatch(q)
	if m == nil {
		word := strings.Fields(q + " x")[0]
		restError(w, http.StatusBadRequest, "MALFORMED_QUERY", "unexpected token: "+word)
		return
	}
	object := m[2]
	if _, ok := s.Objects[object]; !ok {
		restError(w, http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", object))
		return
	}
	noColumn := func(f string) {
		restError(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("%s\n       ^\nERROR at Row:1:Column:8\nNo such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.", q, f, object))
	}
	var fields []string
	for _, f := range strings.Split(m[1], ",") {
		f = strings.TrimSpace(f)
		if !s.visible(object, f) {
			noColumn(f)
			return
		}
		fields = append(fields, f)
	}
	where := func(*Record) bool { return true }
	if m[3] != "" {
		pred, werr := s.parseWhere(object, m[3])
		if werr != nil && werr.code == "INVALID_FIELD" {
			noColumn(werr.field)
			return
		}
		if werr != nil {
			restError(w, http.StatusBadRequest, werr.code, werr.message)
			return
		}
		where = pred
	}
	var matches []*Record
	for _, rec := range s.records {
		if rec.Object == object && !rec.Deleted && where(rec) {
			matches = append(matches, rec)
		}
	}
	if err := s.orderRecords(object, matches, m[4]); err != nil {
		noColumn(err.Error())
		return
	}
	if m[5] != "" {
		n, _ := strconv.Atoi(m[5])
		matches = matches[:min(n, len(matches))]
	}
	var rows []map[string]any
	for _, rec := range matches {
		row := map[string]any{"attributes": map[string]string{"type": object, "url": fmt.Sprintf("/services/data/%s/sobjects/%s/%s", version, object, rec.ID)}}
		for _, f := range fields {
			switch strings.ToLower(f) {
			case "id":
				row[f] = rec.ID
			case "lastmodifieddate", "systemmodstamp":
				row[f] = rec.Modified.UTC().Format("2006-01-02T15:04:05.000+0000")
			case "owner.name", "owner.email":
				owner, _ := row["Owner"].(map[string]any)
				if owner == nil {
					owner = map[string]any{"attributes": map[string]string{"type": "User"}}
					row["Owner"] = owner
				}
				o, _ := rec.Fields["Owner"].(map[string]any)
				_, key, _ := strings.Cut(f, ".")
				owner[key] = o[key]
			default:
				row[f] = rec.Fields[canonical(s, object, f)]
			}
		}
		rows = append(rows, row)
	}
	s.answerPage(w, version, rows, 0)
}

func canonical(s *Server, object, field string) string {
	if spec, ok := s.spec(object, field); ok {
		return spec.Name
	}
	return field
}

// answerPage sends rows from offset, one batch, remembering the rest behind a locator.
func (s *Server) answerPage(w http.ResponseWriter, version string, rows []map[string]any, offset int) {
	batch := s.QueryBatch
	if batch <= 0 {
		batch = 2000
	}
	end := min(offset+batch, len(rows))
	body := map[string]any{"totalSize": len(rows), "done": end == len(rows), "records": append([]map[string]any{}, rows[offset:end]...)}
	if end < len(rows) {
		s.seq++
		locator := fmt.Sprintf("01gFAKE%06d", s.seq)
		s.cursors[locator] = rows
		body["nextRecordsUrl"] = fmt.Sprintf("/services/data/%s/query/%s-%d", version, locator, end)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) queryMore(w http.ResponseWriter, version, rest string) {
	locator, off, ok := strings.Cut(strings.TrimPrefix(rest, "/query/"), "-")
	rows, found := s.cursors[locator]
	n, err := strconv.Atoi(off)
	if !ok || !found || err != nil || n > len(rows) {
		restError(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.answerPage(w, version, rows, n)
}

type result struct {
	ID      string     `json:"id,omitempty"`
	Success bool       `json:"success"`
	Errors  []recError `json:"errors"`
	Created *bool      `json:"created,omitempty"`
}

type recError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// collections serves POST (create) and PATCH (update) /composite/sobjects.
func (s *Server) collections(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AllOrNone bool                         `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil {
		restError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character: "+err.Error())
		return
	}
	if len(body.Records) == 0 {
		restError(w, http.StatusBadRequest, "INVALID_INPUT", "records cannot be empty")
		return
	}
	s.MaxRecordsPerCall = max(s.MaxRecordsPerCall, len(body.Records))
	if len(body.Records) > 200 {
		restError(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	create := r.Method == http.MethodPost
	results := make([]result, len(body.Records))
	type write struct {
		rec    *Record
		fields map[string]any
	}
	var writes []write
	lock := s.LockNext > 0
	if lock {
		s.LockNext--
	}
	ids := map[string]int{}
	for _, raw := range body.Records {
		for k, v := range raw {
			var id string
			if strings.EqualFold(k, "id") && json.Unmarshal(v, &id) == nil {
				ids[id]++
			}
		}
	}
	for i, raw := range body.Records {
		var attrs struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw["attributes"], &attrs); err != nil || attrs.Type == "" {
			restError(w, http.StatusBadRequest, "INVALID_TYPE", "Must send a concrete entity type.")
			return
		}
		fields := map[string]any{}
		var id string
		for k, v := range raw {
			if k == "attributes" {
				continue
			}
			var val any
			json.Unmarshal(v, &val)
			if strings.EqualFold(k, "id") {
				id, _ = val.(string)
				continue
			}
			fields[k] = val
		}
		fail := func(code, msg string, f ...string) {
			if f == nil {
				f = []string{}
			}
			results[i] = result{Success: false, Errors: []recError{{StatusCode: code, Message: msg, Fields: f}}}
		}
		if lock {
			fail("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: "+id)
			continue
		}
		var rec *Record
		if create {
			if id != "" {
				fail("INVALID_FIELD", "cannot specify Id in an insert call", "Id")
				continue
			}
		} else {
			rec = s.records[id]
			if rec == nil || rec.Object != attrs.Type {
				fail("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", attrs.Type, id), "Id")
				continue
			}
			if ids[id] > 1 {
				fail("DUPLICATE_ID", "duplicate id in list: "+id)
				continue
			}
			if rec.Deleted {
				fail("ENTITY_IS_DELETED", "entity is deleted")
				continue
			}
			if conv, _ := rec.Fields["IsConverted"].(bool); conv {
				fail("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
				continue
			}
		}
		if msg, code, f := s.validate(attrs.Type, fields, create, rec); code != "" {
			fail(code, msg, f...)
			continue
		}
		if create && attrs.Type == "Lead" && s.DuplicateRuleOnEmail {
			if email, _ := fields["Email"].(string); email != "" && s.hasValue("Lead", "Email", email) {
				fail("DUPLICATES_DETECTED", "Use one of these records?")
				continue
			}
		}
		if create && attrs.Type == "Lead" && s.DuplicateRuleField != "" {
			if v, _ := fields[s.DuplicateRuleField].(string); v != "" && s.hasValue("Lead", s.DuplicateRuleField, v) {
				fail("DUPLICATES_DETECTED", "You're creating a duplicate record. We recommend you use an existing record instead.")
				continue
			}
		}
		if create {
			rec = &Record{Object: attrs.Type, Fields: map[string]any{}}
		}
		writes = append(writes, write{rec, fields})
		results[i] = result{Success: true, Errors: []recError{}}
		if create {
			f := true
			results[i].Created = &f
		}
	}
	anyFailed := false
	for _, res := range results {
		anyFailed = anyFailed || !res.Success
	}
	if body.AllOrNone && anyFailed {
		for i := range results {
			if results[i].Success {
				results[i] = result{Success: false, Errors: []recError{{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
					Message: "Record rolled back because not all records were valid and the request was using AllOrNone header", Fields: []string{}}}}
			}
		}
		writeJSON(w, http.StatusOK, results)
		return
	}
	wi := 0
	for i := range results {
		if !results[i].Success {
			continue
		}
		wr := writes[wi]
		wi++
		if wr.rec.ID == "" {
			wr.rec.ID = s.newID(wr.rec.Object)
			s.records[wr.rec.ID] = wr.rec
		}
		for k, v := range wr.fields {
			wr.rec.Fields[canonical(s, wr.rec.Object, k)] = v
		}
		if owner := s.records[fmt.Sprint(wr.fields["OwnerId"])]; owner != nil && owner.Object == "User" {
			// Owner.Name and Owner.Email follow the owner, as the relationship does.
			wr.rec.Fields["Owner"] = map[string]any{"Name": owner.Fields["Name"], "Email": owner.Fields["Email"]}
		}
		wr.rec.Modified = s.clock()
		results[i].ID = wr.rec.ID
		s.Writes++
	}
	writeJSON(w, http.StatusOK, results)
}

func (s *Server) hasValue(object, field, value string) bool {
	for _, r := range s.records {
		if v, _ := r.Fields[field].(string); r.Object == object && strings.EqualFold(v, value) {
			return true
		}
	}
	return false
}

// validate checks a record's fields as Salesforce would for the integration user.
func (s *Server) validate(object string, fields map[string]any, create bool, existing *Record) (msg, code string, bad []string) {
	for k, v := range fields {
		spec, ok := s.spec(object, k)
		if !ok || spec.Hidden {
			return fmt.Sprintf("No such column '%s' on sobject of type %s", k, object), "INVALID_FIELD", nil
		}
		if spec.ReadOnly || spec.Type == "id" {
			return fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", spec.Name),
				"INVALID_FIELD_FOR_INSERT_UPDATE", []string{spec.Name}
		}
		str, isString := v.(string)
		switch spec.Type {
		case "string", "textarea", "url", "email", "picklist", "phone":
			if v != nil && !isString {
				return fmt.Sprintf("%s: value not of required type: %v", spec.Name, v), "INVALID_TYPE_ON_FIELD_IN_RECORD", []string{spec.Name}
			}
			if spec.Length > 0 && len([]rune(str)) > spec.Length {
				return fmt.Sprintf("%s: data value too large: %s (max length=%d)", spec.Name, str, spec.Length), "STRING_TOO_LONG", []string{spec.Name}
			}
			if spec.Type == "email" && str != "" {
				if _, err := mail.ParseAddress(str); err != nil || strings.ContainsAny(str, " <>") {
					return fmt.Sprintf("%s: invalid email address: %s", spec.Name, str), "INVALID_EMAIL_ADDRESS", []string{spec.Name}
				}
			}
		case "double", "currency", "percent", "int":
			if _, ok := v.(float64); v != nil && !ok {
				return fmt.Sprintf("%s: value not of required type: %v", spec.Name, v), "INVALID_TYPE_ON_FIELD_IN_RECORD", []string{spec.Name}
			}
		case "datetime", "date":
			if v != nil {
				if _, err := time.Parse("2006-01-02T15:04:05.000Z0700", str); err != nil && spec.Type == "datetime" {
					if _, err := time.Parse(time.RFC3339, str); err != nil {
						return fmt.Sprintf("%s: value not of required type: %v", spec.Name, v), "INVALID_TYPE_ON_FIELD_IN_RECORD", []string{spec.Name}
					}
				}
			}
		}
		if spec.Name == "OwnerId" && v != nil {
			owner := s.records[str]
			if owner == nil || owner.Object != "User" || owner.Deleted {
				return "invalid cross reference id", "INVALID_CROSS_REFERENCE_KEY", []string{spec.Name}
			}
			if active, _ := owner.Fields["IsActive"].(bool); !active {
				return "operation performed with inactive user [" + str + "] as owner of " + strings.ToLower(object), "INACTIVE_OWNER_OR_USER", []string{spec.Name}
			}
		}
		if want, ok := s.Validation[spec.Name]; ok && str == want {
			return spec.Name + " is not allowed to be " + want, "FIELD_CUSTOM_VALIDATION_EXCEPTION", []string{spec.Name}
		}
	}
	var missing []string
	for _, spec := range s.Objects[object] {
		if !spec.Required {
			continue
		}
		v, set := fields[spec.Name]
		if !set && existing != nil {
			v, set = existing.Fields[spec.Name]
		}
		if str, _ := v.(string); !set || v == nil || (strings.TrimSpace(str) == "" && spec.Type != "int") {
			if create || set {
				missing = append(missing, spec.Name)
			}
		}
	}
	if len(missing) > 0 {
		return "Required fields are missing: [" + strings.Join(missing, ", ") + "]", "REQUIRED_FIELD_MISSING", missing
	}
	return "", "", nil
}

// dataRecords routes the record resources of the data host.
func (s *Server) dataRecords(w http.ResponseWriter, r *http.Request, version, rest string) bool {
	switch {
	case r.Method == http.MethodGet && rest == "/query":
		s.query(w, r, version)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/query/"):
		s.queryMore(w, version, rest)
	case (r.Method == http.MethodPost || r.Method == http.MethodPatch) && rest == "/composite/sobjects":
		s.collections(w, r)
	default:
		return false
	}
	return true
}

// SetField changes a record's field as a Salesforce user would, moving LastModifiedDate to
// now (the real clock, so it compares with Peregrine's times, or just after the last change).
func (s *Server) SetField(id, field string, value any) {
	s.Lock(func(s *Server) {
		if r := s.records[id]; r != nil {
			r.Fields[field] = value
			// SystemModstamp only moves forward, even past the fake's own clock.
			s.now = s.now.Add(time.Millisecond)
			if now := time.Now(); now.After(s.now) {
				s.now = now
			}
			r.Modified = s.now
		}
	})
}

// DeleteRecord moves a record to the recycle bin, as a user deleting it (or losing a merge)
// would: queries no longer find it and updates get ENTITY_IS_DELETED.
func (s *Server) DeleteRecord(id string) {
	s.Lock(func(s *Server) {
		if r := s.records[id]; r != nil {
			r.Deleted = true
		}
	})
}

// ConvertLead converts a Lead as a sales user would: a new Contact with the Lead's name,
// email and any field the Contact also has, and the Lead marked converted, pointing at it.
func (s *Server) ConvertLead(leadID string) (contactID string) {
	s.Lock(func(s *Server) {
		lead := s.records[leadID]
		if lead == nil || lead.Object != "Lead" {
			s.t.Fatalf("no Lead %s to convert", leadID)
		}
		contact := &Record{ID: s.newID("Contact"), Object: "Contact", Fields: map[string]any{}, Modified: s.clock()}
		for k, v := range lead.Fields {
			if spec, ok := s.spec("Contact", k); ok && !spec.ReadOnly {
				contact.Fields[spec.Name] = v
			}
		}
		s.records[contact.ID] = contact
		lead.Fields["IsConverted"], lead.Fields["ConvertedContactId"] = true, contact.ID
		lead.Modified = s.clock()
		contactID = contact.ID
	})
	return contactID
}

// StampAll gives every record of object the same SystemModstamp and LastModifiedDate, as a
// bulk update in Salesforce does.
func (s *Server) StampAll(object string, at time.Time) {
	s.Lock(func(s *Server) {
		for _, r := range s.records {
			if r.Object == object {
				r.Modified = at
			}
		}
	})
}
