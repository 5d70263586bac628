package crmsync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/leads"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// pullBatch bounds one pull: the rest follows at the next run, from the new watermark.
const pullBatch = 2000

// SweepPull queues a pull for every connected workspace whose pull is due.
func (p *Pusher) SweepPull(ctx context.Context, _ store.Job) (time.Time, error) {
	ids, err := p.Store.WorkspacesToPull(ctx)
	if err != nil {
		return time.Time{}, err
	}
	for _, ws := range ids {
		if err := p.Store.EnqueueJob(ctx, nil, ws, JobPull, "", time.Now()); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, nil
}

// Pull imports Leads or Contacts changed since the last pull, in (SystemModstamp, Id) order:
// new people become leads, known ones get their profile enriched (title, company, industry,
// employees, country, owner) for rules and alerts. A full page means more is waiting: the job
// runs again at once.
func (p *Pusher) Pull(ctx context.Context, job store.Job) (time.Time, error) {
	n, err := p.pull(ctx, job.WorkspaceID)
	if err == nil && n >= pullBatch {
		return time.Now(), nil
	}
	return time.Time{}, err
}

// pull reads one page and returns how many records it held.
func (p *Pusher) pull(ctx context.Context, ws int64) (int, error) {
	settings, err := p.Store.SyncSettings(ctx, ws)
	if err != nil {
		return 0, err
	}
	if part, err := p.Store.PartOff(ctx, ws, store.PartSalesforce, store.PartSalesforcePull); err != nil || part != "" {
		return 0, err // switched off since the sweep queued it
	}
	sess, _, err := p.Session(ctx, ws)
	if err != nil {
		return 0, nil // not connected any more: nothing to do
	}
	defer p.countCalls(sess)
	desc, err := p.describe(ctx, ws, sess, settings.PullObject)
	if err != nil {
		return 0, p.recordPullFailure(ctx, ws, settings, sess, err)
	}
	soql, err := pullQuery(settings, desc)
	if err != nil {
		return 0, p.recordPullFailure(ctx, ws, settings, sess, err)
	}
	rows, err := sess.QueryAll(ctx, soql)
	if err != nil {
		return 0, p.recordPullFailure(ctx, ws, settings, sess, err)
	}
	_ = p.Record(ctx, ws, nil)
	people, mark := pulledPeople(rows)
	emails := make([]string, len(people))
	for i, person := range people {
		emails[i] = person.Email
	}
	targets, err := p.Store.PullTargets(ctx, ws, emails)
	if err != nil {
		return 0, err
	}
	maps, err := p.Store.FieldMaps(ctx, ws)
	if err != nil {
		return 0, err
	}
	for i, person := range people {
		target, known := targets[person.Email]
		people[i] = KeepOwnValues(person, target, known, maps, settings.Placeholder)
	}
	var statuses store.StatusHook
	if p.Milestones != nil {
		statuses = p.Milestones.RecordStatuses
	}
	if _, _, err := p.Store.SavePulled(ctx, ws, settings.PullObject, people, leads.CompanyDomain, mark, sess.Calls(), "", statuses); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// pullQuery reads the next page after the watermark. Records sharing the watermark's
// timestamp are told apart by Id, so a page boundary inside a run of equal timestamps loses
// nothing.
func pullQuery(settings model.SyncSettings, desc salesforce.Describe) (string, error) {
	has := func(f string) bool { _, ok := desc.Field(f); return ok }
	fields := []string{"Id", "Email", "FirstName", "LastName", "Title", "SystemModstamp"}
	for _, f := range []string{"Company", "Industry", "NumberOfEmployees", "Country", "MailingCountry", "Status"} {
		if has(f) {
			fields = append(fields, f)
		}
	}
	if has("OwnerId") {
		fields = append(fields, "Owner.Name", "Owner.Email")
	}
	var where []string
	if since := settings.PullSince; since != nil {
		at := since.UTC().Format("2006-01-02T15:04:05.000Z")
		if settings.PullSinceID != "" {
			where = append(where, fmt.Sprintf("(SystemModstamp > %s OR (SystemModstamp = %s AND Id > %s))", at, at, salesforce.Quote(settings.PullSinceID)))
		} else {
			where = append(where, "SystemModstamp >= "+at) // a watermark from before ids were kept: read its second again
		}
	}
	if settings.PullFilterField != "" {
		if f, ok := desc.Field(settings.PullFilterField); !ok || f.Type != "boolean" {
			return "", fmt.Errorf("%s has no checkbox field %s to choose who is pulled", settings.PullObject, settings.PullFilterField)
		}
		where = append(where, settings.PullFilterField+" = true")
	}
	soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + settings.PullObject
	if len(where) > 0 {
		soql += " WHERE " + strings.Join(where, " AND ")
	}
	return soql + fmt.Sprintf(" ORDER BY SystemModstamp, Id LIMIT %d", pullBatch), nil
}

// pulledPeople turns query rows (oldest first) into one person per email — the most recent
// record wins — and the mark of the last row.
func pulledPeople(rows []map[string]any) ([]model.PulledPerson, *model.PullMark) {
	byEmail := map[string]model.PulledPerson{}
	var order []string
	var mark *model.PullMark
	for _, r := range rows {
		if t := parseTime(r["SystemModstamp"]); !t.IsZero() {
			mark = &model.PullMark{At: t, ID: str(r["Id"])}
		}
		email := events.CleanEmail(str(r["Email"]))
		if email == "" {
			continue // Peregrine knows people by email
		}
		person := model.PulledPerson{SalesforceID: str(r["Id"]), Email: email, FirstName: str(r["FirstName"]), LastName: str(r["LastName"]),
			Title: str(r["Title"]), Company: str(r["Company"]), Industry: str(r["Industry"]), Country: firstOf(str(r["Country"]), str(r["MailingCountry"])),
			Status: str(r["Status"]), Modified: parseTime(r["SystemModstamp"])}
		if emp, ok := r["NumberOfEmployees"].(float64); ok {
			e := int(emp)
			person.Employees = &e
		}
		if owner, ok := r["Owner"].(map[string]any); ok {
			person.OwnerName, person.OwnerEmail = str(owner["Name"]), strings.ToLower(str(owner["Email"]))
		}
		if _, seen := byEmail[email]; !seen {
			order = append(order, email)
		}
		byEmail[email] = person
	}
	people := make([]model.PulledPerson, 0, len(order))
	for _, e := range order {
		people = append(people, byEmail[e])
	}
	return people, mark
}

// KeepOwnValues blanks what a pulled person must not write into the lead it matches (known
// false: a new lead). Never imported: Peregrine's own stand-ins — the placeholder, the first
// name it sent as last name, the account domain it sent as company. A value the lead already
// has is replaced only for fields mapped "from Salesforce", or "both" when Salesforce changed
// after the lead; industry and employees only fill gaps. The owner is Salesforce's to say.
func KeepOwnValues(person model.PulledPerson, lead model.PullTarget, known bool, maps []model.FieldMap, placeholder string) model.PulledPerson {
	direction := map[string]string{}
	for _, m := range maps {
		if m.Direction != model.ToSalesforce {
			direction[m.PeregrineField] = m.Direction
		}
	}
	standIn := func(key, v string) bool {
		switch {
		case v == "":
			return false
		case v == placeholder:
			return true
		case key == "last_name":
			return known && lead.LastName == "" && strings.EqualFold(v, strings.TrimSpace(lead.FirstName))
		case key == "company":
			return known && lead.Company == "" && lead.AccountDomain != nil && strings.EqualFold(v, *lead.AccountDomain)
		}
		return false
	}
	take := func(key, theirs, ours string) string {
		switch {
		case standIn(key, theirs):
			return ""
		case !known || ours == "" || theirs == ours:
			return theirs
		case direction[key] == model.FromSalesforce:
			return theirs
		case direction[key] == model.BothWays && person.Modified.After(lead.UpdatedAt):
			return theirs
		}
		return ""
	}
	person.FirstName = take("first_name", person.FirstName, lead.FirstName)
	person.LastName = take("last_name", person.LastName, lead.LastName)
	person.Company = take("company", person.Company, lead.Company)
	person.Title = take("title", person.Title, lead.Title)
	person.Country = take("country", person.Country, lead.Country)
	if known && lead.Industry != "" {
		person.Industry = ""
	}
	if known && lead.CompanySize != nil {
		person.Employees = nil
	}
	return person
}

func (p *Pusher) recordPullFailure(ctx context.Context, ws int64, st model.SyncSettings, sess *salesforce.Session, err error) error {
	msg := salesforce.Explain(err).Cause
	if _, ok := err.(*salesforce.APIError); !ok {
		if _, ok := err.(*salesforce.OAuthError); !ok {
			msg = err.Error()
		}
	}
	_ = p.Record(ctx, ws, err)
	_, _, serr := p.Store.SavePulled(ctx, ws, st.PullObject, nil, leads.CompanyDomain, nil, sess.Calls(), msg, nil)
	return serr
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
