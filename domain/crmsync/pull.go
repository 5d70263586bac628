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

// Pull imports Leads or Contacts changed since the last pull (SystemModstamp): new people
// become leads, known ones get their profile enriched (title, company, industry, employees,
// country, owner) for rules and alerts. A full page means more is waiting: the job runs
// again at once.
func (p *Pusher) Pull(ctx context.Context, job store.Job) (time.Time, error) {
	n, err := p.pull(ctx, job.WorkspaceID)
	if err == nil && n >= pullBatch {
		return time.Now(), nil
	}
	return time.Time{}, err
}

func (p *Pusher) pull(ctx context.Context, ws int64) (int, error) {
	settings, err := p.Store.SyncSettings(ctx, ws)
	if err != nil {
		return 0, err
	}
	sess, _, err := p.Session(ctx, ws)
	if err != nil {
		return 0, nil // not connected any more: nothing to do
	}
	desc, err := p.describe(ctx, ws, sess, settings.PullObject)
	if err != nil {
		return 0, p.recordPullFailure(ctx, ws, settings, sess, err)
	}
	has := func(f string) bool { _, ok := desc.Field(f); return ok }
	fields := []string{"Id", "Email", "FirstName", "LastName", "Title", "SystemModstamp"}
	for _, f := range []string{"Company", "Industry", "NumberOfEmployees", "Country", "MailingCountry"} {
		if has(f) {
			fields = append(fields, f)
		}
	}
	if has("OwnerId") {
		fields = append(fields, "Owner.Name", "Owner.Email")
	}
	var where []string
	if settings.PullSince != nil {
		where = append(where, "SystemModstamp > "+settings.PullSince.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if settings.PullFilterField != "" {
		if f, ok := desc.Field(settings.PullFilterField); !ok || f.Type != "boolean" {
			return 0, p.recordPullFailure(ctx, ws, settings, sess,
				fmt.Errorf("%s has no checkbox field %s to choose who is pulled", settings.PullObject, settings.PullFilterField))
		}
		where = append(where, settings.PullFilterField+" = true")
	}
	soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + settings.PullObject
	if len(where) > 0 {
		soql += " WHERE " + strings.Join(where, " AND ")
	}
	soql += fmt.Sprintf(" ORDER BY SystemModstamp LIMIT %d", pullBatch)
	rows, err := sess.QueryAll(ctx, soql)
	defer p.countCalls(sess)
	if err != nil {
		return 0, p.recordPullFailure(ctx, ws, settings, sess, err)
	}
	_ = p.Record(ctx, ws, nil)
	byEmail := map[string]model.PulledPerson{}
	var order []string
	var since *time.Time
	for _, r := range rows {
		if t := parseTime(r["SystemModstamp"]); !t.IsZero() && (since == nil || t.After(*since)) {
			since = &t
		}
		email := events.CleanEmail(str(r["Email"]))
		if email == "" {
			continue // Peregrine knows people by email
		}
		person := model.PulledPerson{SalesforceID: str(r["Id"]), Email: email, FirstName: str(r["FirstName"]), LastName: str(r["LastName"]),
			Title: str(r["Title"]), Company: str(r["Company"]), Industry: str(r["Industry"]), Country: firstOf(str(r["Country"]), str(r["MailingCountry"]))}
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
		byEmail[email] = person // rows come oldest first: the most recent record wins
	}
	people := make([]model.PulledPerson, 0, len(order))
	for _, e := range order {
		people = append(people, byEmail[e])
	}
	if _, _, err := p.Store.SavePulled(ctx, ws, settings.PullObject, people, leads.CompanyDomain, since, sess.Calls(), ""); err != nil {
		return 0, err
	}
	return len(people), nil
}

func (p *Pusher) recordPullFailure(ctx context.Context, ws int64, st model.SyncSettings, sess *salesforce.Session, err error) error {
	msg := salesforce.Explain(err).Cause
	if _, ok := err.(*salesforce.APIError); !ok {
		if _, ok := err.(*salesforce.OAuthError); !ok {
			msg = err.Error()
		}
	}
	_ = p.Record(ctx, ws, err)
	_, _, serr := p.Store.SavePulled(ctx, ws, st.PullObject, nil, leads.CompanyDomain, nil, sess.Calls(), msg)
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
