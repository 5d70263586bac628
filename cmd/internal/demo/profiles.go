package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Settle waits until the server has processed and scored the events it acknowledged (events
// still waiting for their person do not count), or until timeout.
func Settle(ctx context.Context, st *store.Store, workspaceID int64, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); ; time.Sleep(500 * time.Millisecond) {
		status, err := st.IngestStatus(ctx, workspaceID, time.Now())
		if err != nil {
			return err
		}
		backlog, err := st.ScoringBacklog(ctx, workspaceID)
		if err != nil {
			return err
		}
		if status.Pending == 0 && backlog == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server still had %d events to process and %d to score after %s: is it running?", status.Pending, backlog, timeout)
		}
	}
}

// ApplyProfiles fills the simulated people's profiles and their companies' firmographics as
// Braze lookups and a CRM would have (the demo has no Braze to ask), and returns how many
// leads it filled. The leads are scored again by the server's refresh.
func ApplyProfiles(ctx context.Context, st *store.Store, workspaceID int64, profiles []Profile) (int, error) {
	emails := make([]string, len(profiles))
	for i, p := range profiles {
		emails[i] = p.Email
	}
	leads, err := st.PullTargets(ctx, workspaceID, emails)
	if err != nil {
		return 0, err
	}
	filled := 0
	companies := map[string]*Company{}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, p := range profiles {
			lead, ok := leads[p.Email]
			if !ok {
				continue // never reached the server (only events waiting for their person)
			}
			lp := model.LeadProfile{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, Country: p.Country, Title: p.Title}
			if c := p.Company; c != nil {
				lp.Company, lp.Industry, lp.CompanySize = c.Name, c.Industry, &c.Employees
				companies[c.Domain] = c
			}
			if err := tx.UpdateLeadProfile(ctx, workspaceID, lead.ID, lp); err != nil {
				return err
			}
			filled++
		}
		for _, c := range companies {
			if err := tx.SetAccountProfile(ctx, workspaceID, c.Domain, c.Name, c.Industry, c.Employees); err != nil {
				return err
			}
		}
		return nil
	})
	return filled, err
}
