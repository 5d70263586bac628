package web

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/attribution"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/handlers"
	"github.com/peregrine-scoring/peregrine/views"
)

// mailPasswordResets is the password-reset job: a link for each account with the address,
// stored with its mail in one transaction.
func mailPasswordResets(st *store.Store, p *ingest.Pipeline) func(ctx context.Context, job store.Job) (time.Time, error) {
	accounts := workspaces.New(st, false)
	return func(ctx context.Context, job store.Job) (time.Time, error) {
		err := accounts.RequestPasswordReset(ctx, job.Key, func(tx *store.Tx, link workspaces.ResetLink) error {
			base := p.Salesforce.BaseURL(ctx, link.Workspace.ID)
			mail := views.ResetMail{Workspace: link.Workspace.Name, Email: link.User.Email,
				Link: base + "/reset-password/" + link.Workspace.Slug + "/" + link.Token}
			e, err := views.EmailOf(ctx, link.User.Email, link.Workspace.Name, mail)
			if err != nil {
				return err
			}
			_, err = p.Notify.QueueEmail(ctx, tx, link.Workspace.ID, model.DeliveryPasswordReset, nil, e)
			return err
		})
		if err == nil {
			p.Notify.Queued()
		}
		return time.Time{}, err
	}
}

// sweepDigests queues a digest job for every person whose digest time has come.
func sweepDigests(st *store.Store) func(ctx context.Context, job store.Job) (time.Time, error) {
	return func(ctx context.Context, _ store.Job) (time.Time, error) {
		due, err := st.UsersDueForDigest(ctx)
		if err != nil {
			return time.Time{}, err
		}
		for _, d := range due {
			if err := st.EnqueueJob(ctx, nil, d.WorkspaceID, handlers.JobDigest, strconv.FormatInt(d.UserID, 10), time.Now()); err != nil {
				return time.Time{}, err
			}
		}
		return time.Time{}, nil
	}
}

// mailDigest is the digest job of one person: what happened since their last digest (a day
// or a week), the alerts they chose to read there and those the throttle held back. A digest
// with nothing to say is not sent; either way the next one starts from now. A job that finds
// the digest no longer due (sent by another run since it was queued) sends nothing.
func mailDigest(st *store.Store, p *ingest.Pipeline) func(ctx context.Context, job store.Job) (time.Time, error) {
	return func(ctx context.Context, job store.Job) (time.Time, error) {
		userID, err := strconv.ParseInt(job.Key, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		u, err := st.UserByID(ctx, job.WorkspaceID, userID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (!u.Active || u.Digest == "off") {
			return time.Time{}, nil
		}
		if err != nil {
			return time.Time{}, err
		}
		ws, err := st.WorkspaceByID(ctx, job.WorkspaceID)
		if err != nil {
			return time.Time{}, err
		}
		now := time.Now()
		mail, err := digestOf(ctx, st, ws, u, p.Salesforce.BaseURL(ctx, ws.ID), now)
		if err != nil {
			return time.Time{}, err
		}
		sent := false
		err = st.InTx(ctx, func(tx *store.Tx) error {
			claimed, err := tx.ClaimDigest(ctx, ws.ID, u.ID, u.LastDigestAt, now)
			if err != nil || !claimed || mail.Empty() {
				return err
			}
			e, err := views.EmailOf(ctx, u.Email, ws.Name, mail)
			if err != nil {
				return err
			}
			_, err = p.Notify.QueueEmail(ctx, tx, ws.ID, model.DeliveryDigest, nil, e)
			sent = err == nil
			return err
		})
		if err == nil && sent {
			p.Notify.Queued()
		}
		return time.Time{}, err
	}
}

// digestOf gathers a person's digest.
func digestOf(ctx context.Context, st *store.Store, ws model.Workspace, u model.User, base string, now time.Time) (views.DigestMail, error) {
	since, period := now.Add(-24*time.Hour), "since yesterday"
	if u.Digest == "weekly" {
		since, period = now.AddDate(0, 0, -7), "this past week"
	}
	if u.LastDigestAt != nil && u.LastDigestAt.After(since) {
		since = *u.LastDigestAt
	}
	m := views.DigestMail{Workspace: ws.Name, Person: u.Name, Period: period, BaseURL: base}
	lead := func(id int64) string { return base + "/leads/" + strconv.FormatInt(id, 10) }
	items, err := st.DigestAlerts(ctx, ws.ID, u.ID)
	if err != nil {
		return m, err
	}
	held := map[string]int{}
	var rules []string
	for _, a := range items {
		if a.Folded {
			if held[a.RuleName] == 0 {
				rules = append(rules, a.RuleName)
			}
			held[a.RuleName]++
			continue
		}
		url := lead(a.LeadID)
		if a.AccountID != 0 {
			url = base + "/accounts/" + strconv.FormatInt(a.AccountID, 10)
		}
		m.Alerts = append(m.Alerts, views.DigestLine{Name: a.LeadName, Detail: a.Reason + " · " + a.RuleName, URL: url})
	}
	for _, r := range rules {
		m.HeldBack = append(m.HeldBack, views.DigestLine{Name: r, Detail: strconv.Itoa(held[r]) + " more matches"})
	}
	labels, movers, hot, accounts, err := st.DigestMoves(ctx, store.ViewerOf(u, ws.SalesAccess), since)
	if err != nil {
		return m, err
	}
	for _, l := range hot {
		m.Hot = append(m.Hot, views.DigestLine{Name: l.Name, Detail: "score " + strconv.FormatFloat(math.Round(l.Value), 'f', 0, 64) + gradeText(l.What), URL: lead(l.LeadID)})
	}
	for _, l := range movers {
		m.Movers = append(m.Movers, views.DigestLine{Name: l.Name, Detail: "+" + strconv.FormatFloat(math.Round(l.Value), 'f', 0, 64) + " points", URL: lead(l.LeadID)})
	}
	for _, l := range labels {
		m.Labels = append(m.Labels, views.DigestLine{Name: l.Name, Detail: l.What, URL: lead(l.LeadID)})
	}
	for _, a := range accounts {
		m.Accounts = append(m.Accounts, views.DigestLine{Name: a.Name, Detail: "+" + strconv.FormatFloat(math.Round(a.Value), 'f', 0, 64) + " points across its people",
			URL: base + "/accounts/" + strconv.FormatInt(a.LeadID, 10)})
	}
	return m, nil
}

func gradeText(g string) string {
	if g == "" {
		return ""
	}
	return " · grade " + g
}

// sweepReports queues a report-email job for every scheduled report whose time has come.
func sweepReports(st *store.Store) func(ctx context.Context, job store.Job) (time.Time, error) {
	return func(ctx context.Context, _ store.Job) (time.Time, error) {
		due, err := st.ReportsDue(ctx, time.Now())
		if err != nil {
			return time.Time{}, err
		}
		for _, d := range due {
			if err := st.EnqueueJob(ctx, nil, d.WorkspaceID, store.JobReportEmail, strconv.FormatInt(d.ID, 10), time.Now()); err != nil {
				return time.Time{}, err
			}
		}
		return time.Time{}, nil
	}
}

// mailReport is the report-email job: the scheduled report for the period just ended, mailed
// to its person and moved to its next time in one transaction (a run after a crash finds it
// not due and sends nothing twice). A deactivated person's reports wait.
func mailReport(st *store.Store, p *ingest.Pipeline) func(ctx context.Context, job store.Job) (time.Time, error) {
	return func(ctx context.Context, job store.Job) (time.Time, error) {
		id, err := strconv.ParseInt(job.Key, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		sub, err := st.ReportSubscriptionByID(ctx, job.WorkspaceID, id)
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, nil
		}
		if err != nil {
			return time.Time{}, err
		}
		now := time.Now()
		if sub.NextAt.After(now) {
			return time.Time{}, nil
		}
		u, err := st.UserByID(ctx, job.WorkspaceID, sub.UserID)
		if err != nil || !u.Active {
			return time.Time{}, err
		}
		ws, err := st.WorkspaceByID(ctx, job.WorkspaceID)
		if err != nil {
			return time.Time{}, err
		}
		mail, err := handlers.ReportMailOf(ctx, st, sub, u.Name, ws.Name, p.Salesforce.BaseURL(ctx, ws.ID), now)
		if err != nil {
			return time.Time{}, err
		}
		sent := false
		err = st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if sent, err = tx.ReportSent(ctx, ws.ID, sub.ID, now, attribution.NextReport(sub.Frequency, now)); err != nil || !sent {
				return err
			}
			e, err := views.EmailOf(ctx, u.Email, ws.Name, mail)
			if err != nil {
				return err
			}
			_, err = p.Notify.QueueEmail(ctx, tx, ws.ID, model.DeliveryReport, nil, e)
			return err
		})
		if err == nil && sent {
			p.Notify.Queued()
		}
		return time.Time{}, err
	}
}
