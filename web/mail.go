package web

import (
	"context"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
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
