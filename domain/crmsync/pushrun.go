package crmsync

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
)

// pushRun is one push of a claimed batch: what it knows of the object and the mapping, and
// what happened to each lead.
type pushRun struct {
	p        *Pusher
	ctx      context.Context
	ws       int64
	sess     *salesforce.Session
	settings model.SyncSettings
	maps     []model.FieldMap
	fields   map[string]salesforce.Field // the object's fields, by lower-case name
	reads    []model.FieldMap            // mapped fields Salesforce may write into Peregrine
	detail   bool                        // read the records' mapped values too ("get details")
	base     string
	claim    map[int64]model.OutboxItem
	notes    map[int64][]string
	out      []model.SyncOutcome
}

// pending is a record write a push means to make.
type pending struct {
	lead   model.PushLead
	object string
	id     string // the record to update; empty creates one
	values map[string]any
	hash   string
}

// Errors after which a record is reached another way.
const (
	errConverted = "CANNOT_UPDATE_CONVERTED_LEAD"
	errDeleted   = "ENTITY_IS_DELETED"
)

// push sends one batch: find records by the match field, update those that exist and create
// those that do not, each record succeeding or failing on its own. A converted Lead's values
// go to its Contact; a record deleted in Salesforce is found again by the match field or
// created again. A non-nil error means a whole call failed (auth, limit, network) and every
// lead is retried.
func (p *Pusher) push(ctx context.Context, ws int64, sess *salesforce.Session, items []model.OutboxItem, _ time.Time) ([]model.SyncOutcome, error) {
	r, leads, err := p.startPush(ctx, ws, sess, items)
	if err != nil {
		return nil, err
	}
	found, err := r.findRecords(leads)
	if err != nil {
		return r.out, err
	}
	toCreate, toUpdate, toContacts, err := r.plan(leads, found)
	if err != nil {
		return r.out, err
	}
	if !r.settings.UpdateExisting {
		for _, pd := range toUpdate {
			r.done(pd.lead, model.SyncOutcome{Outcome: model.SyncUnchanged, SalesforceID: pd.lead.SalesforceID})
		}
		toUpdate = nil
	}
	if !r.settings.CreateMissing {
		for _, pd := range toCreate {
			r.done(pd.lead, model.SyncOutcome{Outcome: model.SyncUnchanged})
		}
		toCreate = nil
	}
	converted, gone, err := r.write(r.onePerRecord(toUpdate), false)
	if err != nil {
		return r.out, err
	}
	if _, _, err := r.write(toCreate, false); err != nil {
		return r.out, err
	}
	viaContact, err := r.contactsOf(converted)
	if err != nil {
		return r.out, err
	}
	if _, _, err := r.write(r.onePerRecord(append(toContacts, viaContact...)), true); err != nil {
		return r.out, err
	}
	again, err := r.findAgain(gone)
	if err != nil {
		return r.out, err
	}
	_, _, err = r.write(r.onePerRecord(again), true)
	return r.out, err
}

// startPush reads the settings, mapping, describe and leads of a batch.
func (p *Pusher) startPush(ctx context.Context, ws int64, sess *salesforce.Session, items []model.OutboxItem) (*pushRun, []model.PushLead, error) {
	r := &pushRun{p: p, ctx: ctx, ws: ws, sess: sess, claim: map[int64]model.OutboxItem{}, notes: map[int64][]string{}}
	var err error
	if r.settings, err = p.Store.SyncSettings(ctx, ws); err != nil {
		return nil, nil, err
	}
	if r.maps, err = p.Store.FieldMaps(ctx, ws); err != nil {
		return nil, nil, err
	}
	if r.fields, err = r.fieldsOf(r.settings.Object); err != nil {
		return nil, nil, err
	}
	r.reads = readMaps(r.maps, r.fields)
	r.detail = r.settings.GetDetails && len(r.reads) > 0
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.LeadID
		r.claim[it.LeadID] = it
	}
	leads, err := p.Store.PushData(ctx, ws, r.settings.Object, ids)
	if err != nil {
		return nil, nil, err
	}
	if err := p.addReasons(ctx, ws, leads); err != nil {
		return nil, nil, err
	}
	if err := r.matchOwners(leads); err != nil {
		return nil, nil, err
	}
	r.base = strings.TrimRight(p.BaseURL(ctx, ws), "/")
	return r, leads, nil
}

// matchOwners, when the owner is mapped, finds each owner's active Salesforce user by email.
// An owner with none — or with several, which would be a guess — is reported on the lead and
// left as it is in Salesforce.
func (r *pushRun) matchOwners(leads []model.PushLead) error {
	if !slices.ContainsFunc(r.maps, func(m model.FieldMap) bool { return m.PeregrineField == "owner" && m.Direction != model.FromSalesforce }) {
		return nil
	}
	var quoted []string
	seen := map[string]bool{}
	for _, l := range leads {
		if l.OwnerEmail != "" && !seen[l.OwnerEmail] {
			seen[l.OwnerEmail] = true
			quoted = append(quoted, salesforce.Quote(l.OwnerEmail))
		}
	}
	users := map[string][]string{}
	for start := 0; start < len(quoted); start += ownersPerQuery {
		rows, err := r.sess.QueryAll(r.ctx, "SELECT Id, Email FROM User WHERE IsActive = true AND Email IN ("+
			strings.Join(quoted[start:min(start+ownersPerQuery, len(quoted))], ", ")+")")
		if err != nil {
			return err
		}
		for _, row := range rows {
			e := strings.ToLower(str(row["Email"]))
			users[e] = append(users[e], str(row["Id"]))
		}
	}
	for i := range leads {
		l := &leads[i]
		switch ids := users[l.OwnerEmail]; {
		case l.OwnerEmail == "":
		case len(ids) == 1:
			l.OwnerSalesforceID = ids[0]
		case len(ids) == 0:
			r.notes[l.ID] = append(r.notes[l.ID], "The owner "+l.OwnerEmail+" has no active Salesforce user with that email: the owner was not sent.")
		default:
			r.notes[l.ID] = append(r.notes[l.ID], fmt.Sprintf("%d active Salesforce users have the owner's email %s: the owner was not sent.", len(ids), l.OwnerEmail))
		}
	}
	return nil
}

func (r *pushRun) fieldsOf(object string) (map[string]salesforce.Field, error) {
	desc, err := r.p.describe(r.ctx, r.ws, r.sess, object)
	if err != nil {
		return nil, err
	}
	fields := map[string]salesforce.Field{}
	for _, f := range desc.Fields {
		fields[strings.ToLower(f.Name)] = f
	}
	return fields, nil
}

func (r *pushRun) leadURL(id int64) string { return fmt.Sprintf("%s/leads/%d", r.base, id) }

// done records a lead's outcome.
func (r *pushRun) done(l model.PushLead, o model.SyncOutcome) {
	o.LeadID, o.ChangedAt, o.Attempts = l.ID, r.claim[l.ID].ChangedAt, r.claim[l.ID].Attempts
	if o.ContactID == "" {
		o.ContactID = l.ContactID
	}
	if note := strings.Join(r.notes[l.ID], " "); note != "" {
		o.Message = strings.TrimSpace(note + " " + o.Message)
	}
	r.out = append(r.out, o)
}

// selectFields are the fields a lookup reads: the id, match field and modification date, a
// Lead's conversion, and with "get details" the mapped fields Salesforce may write.
func (r *pushRun) selectFields() []string {
	out := []string{"Id", r.settings.MatchField, "LastModifiedDate"}
	if r.settings.Object == "Lead" {
		if _, ok := r.fields["convertedcontactid"]; ok {
			out = append(out, "IsConverted", "ConvertedContactId")
		}
	}
	if r.detail {
		for _, m := range r.reads {
			out = append(out, r.fields[strings.ToLower(m.SalesforceField)].Name)
		}
	}
	return out
}

// findRecords finds the records of leads without a known one by the match field, and with
// "get details" reads the known ones too.
func (r *pushRun) findRecords(leads []model.PushLead) (map[int64]map[string]any, error) {
	var unknown []model.PushLead
	var known []string
	for _, l := range leads {
		switch {
		case l.ContactID != "":
		case l.SalesforceID != "" && r.detail:
			known = append(known, salesforce.Quote(l.SalesforceID))
		case l.Email != "" && l.SalesforceID == "" && !r.refusedBefore(l):
			unknown = append(unknown, l)
		}
	}
	found, err := r.lookup(unknown)
	if err != nil || len(known) == 0 {
		return found, err
	}
	rows, err := r.sess.QueryAll(r.ctx, fmt.Sprintf("SELECT %s FROM %s WHERE Id IN (%s)", strings.Join(r.selectFields(), ", "),
		r.settings.Object, strings.Join(known, ", ")))
	if err != nil {
		return found, err
	}
	byID := map[string]map[string]any{}
	for _, row := range rows {
		byID[str(row["Id"])] = row
	}
	for _, l := range leads {
		if row, ok := byID[l.SalesforceID]; ok {
			found[l.ID] = row
		}
	}
	return found, nil
}

// refusedBefore: a lead Salesforce refused, unchanged since, is not even looked up.
func (r *pushRun) refusedBefore(l model.PushLead) bool {
	return !r.detail && l.FailedHash != "" && Hash(r.settings.Object, Payload(l, r.maps, r.fields, r.leadURL(l.ID))) == l.FailedHash
}

// lookup finds records by the match field in queries that stay under the URL limit. Email
// is not unique in Salesforce: the most recently modified record wins, and the log says so.
func (r *pushRun) lookup(leads []model.PushLead) (map[int64]map[string]any, error) {
	found := map[int64]map[string]any{}
	for start := 0; start < len(leads); {
		var quoted []string
		size, end := 0, start
		for ; end < len(leads); end++ {
			q := salesforce.Quote(leads[end].Email)
			if end > start && size+len(q)+2 > lookupBudget {
				break
			}
			quoted, size = append(quoted, q), size+len(q)+2
		}
		chunk := leads[start:end]
		start = end
		rows, err := r.sess.QueryAll(r.ctx, fmt.Sprintf("SELECT %s FROM %s WHERE %s IN (%s)", strings.Join(r.selectFields(), ", "),
			r.settings.Object, r.settings.MatchField, strings.Join(quoted, ", ")))
		if err != nil {
			return found, err
		}
		byKey := map[string][]map[string]any{}
		for _, row := range rows {
			k := strings.ToLower(str(row[r.settings.MatchField]))
			byKey[k] = append(byKey[k], row)
		}
		for _, l := range chunk {
			if recs := byKey[strings.ToLower(l.Email)]; len(recs) > 0 {
				found[l.ID] = r.mostRecent(l, recs)
			}
		}
	}
	return found, nil
}

func (r *pushRun) mostRecent(l model.PushLead, recs []map[string]any) map[string]any {
	sort.SliceStable(recs, func(i, j int) bool {
		return parseTime(recs[i]["LastModifiedDate"]).After(parseTime(recs[j]["LastModifiedDate"]))
	})
	if len(recs) > 1 {
		var others []string
		for _, f := range recs[1:] {
			others = append(others, str(f["Id"]))
		}
		r.notes[l.ID] = append(r.notes[l.ID], fmt.Sprintf("%d %s records share %s; updated the most recently modified (%s), left %s alone.",
			len(recs), r.settings.Object, l.Email, str(recs[0]["Id"]), strings.Join(others, ", ")))
	}
	return recs[0]
}

// plan decides each lead's write: create, update, its Contact, or nothing (unchanged,
// refused before and unchanged since, no email). Values Salesforce holds for fields mapped
// from it are applied to Peregrine first.
func (r *pushRun) plan(leads []model.PushLead, found map[int64]map[string]any) (toCreate, toUpdate, toContacts []pending, err error) {
	for i := range leads {
		l := &leads[i]
		rec, exists := found[l.ID]
		if exists {
			l.SalesforceID = str(rec["Id"])
			if conv, _ := rec["IsConverted"].(bool); conv && str(rec["ConvertedContactId"]) != "" {
				l.ContactID = str(rec["ConvertedContactId"])
			}
		}
		if l.ContactID != "" {
			pd, ok, err := r.contactWrite(*l)
			if err != nil {
				return nil, nil, nil, err
			}
			if ok {
				toContacts = append(toContacts, pd)
			}
			continue
		}
		if l.SalesforceID == "" && r.refusedBefore(*l) {
			r.done(*l, model.SyncOutcome{Outcome: model.SyncUnchanged})
			continue
		}
		keep := map[string]bool{} // Salesforce fields whose Salesforce value stays
		if exists && r.detail {
			if keep, err = r.applyReads(l, rec); err != nil {
				return nil, nil, nil, err
			}
		}
		values := Payload(*l, r.maps, r.fields, r.leadURL(l.ID))
		// The hash covers the kept fields too (with Salesforce's value, now also Peregrine's), so
		// the next push sees nothing new; they are not sent.
		h := Hash(r.settings.Object, values)
		for f := range keep {
			delete(values, f)
		}
		pd := pending{lead: *l, object: r.settings.Object, id: l.SalesforceID, values: values, hash: h}
		switch {
		case l.Email == "" || h == l.FailedHash: // no key, or refused before and unchanged since
			r.done(*l, model.SyncOutcome{Outcome: model.SyncUnchanged})
		case l.SalesforceID != "" && h == l.PushedHash && len(r.notes[l.ID]) == 0:
			r.done(*l, model.SyncOutcome{Outcome: model.SyncUnchanged, SalesforceID: l.SalesforceID})
		case l.SalesforceID != "":
			toUpdate = append(toUpdate, pd)
		default:
			toCreate = append(toCreate, pd)
		}
	}
	return toCreate, toUpdate, toContacts, nil
}

// applyReads takes Salesforce's values for fields mapped from it into the lead; it returns
// the Salesforce fields whose value stays.
func (r *pushRun) applyReads(l *model.PushLead, rec map[string]any) (map[string]bool, error) {
	changes, kept, said := applyReads(*l, rec, r.reads, r.fields)
	if len(changes) > 0 {
		if err := r.p.Store.ApplySalesforceProfile(r.ctx, r.ws, l.ID, changes); err != nil {
			return nil, err
		}
		setProfile(l, changes)
	}
	r.notes[l.ID] = append(r.notes[l.ID], said...)
	return kept, nil
}

// contactWrite is the write a converted Lead's values make to its Contact: the mapped fields
// the Contact has too. ok is false when nothing needs writing (or nothing can be written,
// which the outcome explains).
func (r *pushRun) contactWrite(l model.PushLead) (pending, bool, error) {
	fields, err := r.fieldsOf("Contact")
	if err != nil {
		return pending{}, false, err
	}
	values := Payload(l, r.maps, fields, r.leadURL(l.ID))
	h := Hash("Contact", values)
	switch {
	case len(values) == 0:
		r.done(l, model.SyncOutcome{Outcome: model.SyncFailed, SalesforceID: l.SalesforceID, Hash: h,
			Message: fmt.Sprintf("The Lead was converted to Contact %s, which has none of the mapped fields: add them to Contact to keep its scores current.", l.ContactID)})
		return pending{}, false, nil
	case h == l.PushedHash:
		r.done(l, model.SyncOutcome{Outcome: model.SyncUnchanged, SalesforceID: l.SalesforceID})
		return pending{}, false, nil
	}
	return pending{lead: l, object: "Contact", id: l.ContactID, values: values, hash: h}, true, nil
}

// onePerRecord keeps one write per record: Salesforce refuses a call naming a record twice
// (DUPLICATE_ID). The lead with the higher main score is written; the others are told why.
func (r *pushRun) onePerRecord(batch []pending) []pending {
	first := map[string]int{}
	var out []pending
	for _, pd := range batch {
		if pd.id == "" {
			out = append(out, pd)
			continue
		}
		i, seen := first[pd.id]
		if !seen {
			first[pd.id] = len(out)
			out = append(out, pd)
			continue
		}
		winner, loser := out[i], pd
		if pd.lead.MainScore > winner.lead.MainScore {
			winner, loser = pd, winner
			out[i] = winner
		}
		r.done(loser.lead, model.SyncOutcome{Outcome: model.SyncSkipped, SalesforceID: loser.lead.SalesforceID,
			Message: fmt.Sprintf("%s %s also belongs to %s, whose values were written (higher score).", pd.object, pd.id, winner.lead.Email)})
	}
	return out
}

// write sends records in calls of at most 200 and records each outcome. Unless final, a
// converted Lead or a deleted record comes back to be reached another way.
func (r *pushRun) write(batch []pending, final bool) (converted, gone []pending, err error) {
	byObject := map[string][]pending{}
	var objects []string
	for _, pd := range batch {
		key := pd.object + map[bool]string{true: "/update", false: "/create"}[pd.id != ""]
		if _, ok := byObject[key]; !ok {
			objects = append(objects, key)
		}
		byObject[key] = append(byObject[key], pd)
	}
	for _, key := range objects {
		group := byObject[key]
		create := strings.HasSuffix(key, "/create")
		records := make([]map[string]any, len(group))
		for i, pd := range group {
			records[i] = r.record(pd, create)
		}
		results, err := r.sess.WriteRecords(r.ctx, group[0].object, create, records)
		if err != nil {
			return converted, gone, err
		}
		for i, res := range results {
			pd := group[i]
			code := ""
			if !res.Success && len(res.Errors) > 0 {
				code = res.Errors[0].StatusCode
			}
			switch {
			case !final && code == errConverted:
				converted = append(converted, pd)
			case !final && code == errDeleted:
				gone = append(gone, pd)
			default:
				r.done(pd.lead, r.outcome(pd, res, create))
			}
		}
	}
	return converted, gone, nil
}

// record is the body of one write.
func (r *pushRun) record(pd pending, create bool) map[string]any {
	rec := map[string]any{}
	for k, v := range pd.values {
		rec[k] = v
	}
	if !create {
		rec["Id"] = pd.id
		return rec
	}
	rec[r.fields[strings.ToLower(r.settings.MatchField)].Name] = pd.lead.Email
	if pd.object == "Lead" || pd.object == "Contact" {
		fillRequired(rec, pd.lead, r.settings, r.fields)
	}
	return rec
}

// outcome turns one record's result into the lead's outcome.
func (r *pushRun) outcome(pd pending, res salesforce.RecordResult, create bool) model.SyncOutcome {
	o := model.SyncOutcome{SalesforceID: pd.lead.SalesforceID, Hash: pd.hash}
	if pd.object == "Contact" && r.settings.Object != "Contact" {
		o.ContactID = pd.id
		o.Message = fmt.Sprintf("The Lead was converted: wrote its Contact %s.", pd.id)
	} else if res.ID != "" {
		o.SalesforceID = res.ID
	}
	switch {
	case res.Success && create:
		o.Outcome = model.SyncCreated
	case res.Success:
		o.Outcome = model.SyncUpdated
	default:
		e := salesforce.RecordError{StatusCode: "UNKNOWN_EXCEPTION", Message: "Salesforce gave no reason."}
		if len(res.Errors) > 0 {
			e = res.Errors[0]
		}
		o.Outcome, o.Message = model.SyncFailed, strings.TrimSpace(o.Message+" "+e.StatusCode+": "+e.Message)
		if transient[e.StatusCode] {
			o.Outcome, o.Retry = model.SyncRetrying, true
		}
	}
	return o
}

// contactsOf finds the Contacts converted Leads became and plans writes to them.
func (r *pushRun) contactsOf(converted []pending) ([]pending, error) {
	if len(converted) == 0 {
		return nil, nil
	}
	ids := make([]string, len(converted))
	for i, pd := range converted {
		ids[i] = salesforce.Quote(pd.id)
	}
	rows, err := r.sess.QueryAll(r.ctx, fmt.Sprintf("SELECT Id, ConvertedContactId FROM Lead WHERE Id IN (%s)", strings.Join(ids, ", ")))
	if err != nil {
		return nil, err
	}
	contactOf := map[string]string{}
	for _, row := range rows {
		contactOf[str(row["Id"])] = str(row["ConvertedContactId"])
	}
	var out []pending
	for _, pd := range converted {
		l := pd.lead
		if l.ContactID = contactOf[pd.id]; l.ContactID == "" {
			r.done(l, model.SyncOutcome{Outcome: model.SyncFailed, SalesforceID: pd.id, Hash: pd.hash,
				Message: "CANNOT_UPDATE_CONVERTED_LEAD: the Lead was converted, but Salesforce names no Contact it became."})
			continue
		}
		l.PushedHash = "" // a new record: write it whole
		pd, ok, err := r.contactWrite(l)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, pd)
		}
	}
	return out, nil
}

// findAgain looks up, by the match field, leads whose record was deleted in Salesforce (or
// lost a merge): found, it is updated and linked; not found, created again when the settings
// create missing records.
func (r *pushRun) findAgain(gone []pending) ([]pending, error) {
	if len(gone) == 0 {
		return nil, nil
	}
	var leads []model.PushLead
	for _, pd := range gone {
		l := pd.lead
		r.notes[l.ID] = append(r.notes[l.ID], fmt.Sprintf("%s %s was deleted in Salesforce;", pd.object, pd.id))
		l.SalesforceID, l.ContactID, l.PushedHash = "", "", ""
		leads = append(leads, l)
	}
	found, err := r.lookup(leads)
	if err != nil {
		return nil, err
	}
	var out []pending
	for _, l := range leads {
		values := Payload(l, r.maps, r.fields, r.leadURL(l.ID))
		pd := pending{lead: l, object: r.settings.Object, values: values, hash: Hash(r.settings.Object, values)}
		if rec, ok := found[l.ID]; ok {
			pd.id = str(rec["Id"])
			pd.lead.SalesforceID = pd.id
			r.notes[l.ID] = append(r.notes[l.ID], fmt.Sprintf("found %s by %s.", pd.id, r.settings.MatchField))
			if conv, _ := rec["IsConverted"].(bool); conv && str(rec["ConvertedContactId"]) != "" {
				pd.lead.ContactID = str(rec["ConvertedContactId"])
				if cpd, ok, err := r.contactWrite(pd.lead); err != nil {
					return nil, err
				} else if ok {
					out = append(out, cpd)
				}
				continue
			}
		} else if !r.settings.CreateMissing {
			r.done(l, model.SyncOutcome{Outcome: model.SyncSkipped, Unlink: true,
				Message: "no other record has this " + r.settings.MatchField + ", and creating missing records is off."})
			continue
		} else {
			r.notes[l.ID] = append(r.notes[l.ID], "created it again.")
		}
		out = append(out, pd)
	}
	return out, nil
}
