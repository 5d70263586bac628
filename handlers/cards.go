package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/cards"
	"github.com/peregrine-scoring/peregrine/domain/events"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// ShowCardLayouts is Settings › Card layout (admins): each card's draft, reordered by drag
// and drop or the up/down buttons, previewed with a real lead and company, and published.
func (h *Handlers) ShowCardLayouts(c echo.Context) error {
	return h.renderCardLayouts(c, http.StatusOK, "", "")
}

func (h *Handlers) renderCardLayouts(c echo.Context, status int, problemObject, problem string) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	ws := id.Workspace.ID
	layouts, err := h.Store.CardLayouts(ctx, ws)
	if err != nil {
		return err
	}
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, ws)
	if err != nil {
		return err
	}
	sample, sampleProblem, err := h.previewLead(ctx, id, c.QueryParam("lead"))
	if err != nil {
		return err
	}
	accounts, _, err := h.Store.ListAccounts(ctx, store.Everyone(ws), store.AccountFilter{Limit: 1})
	if err != nil {
		return err
	}
	v := views.CardLayoutsView{PreviewEmail: c.QueryParam("lead"), PreviewProblem: sampleProblem, Focus: c.QueryParam("focus")}
	if sample != nil {
		v.PreviewName = leadName(*sample)
	}
	for _, object := range cards.Objects {
		catalog, err := h.cardCatalog(ctx, ws, rs, object)
		if err != nil {
			return err
		}
		cv := views.CardLayoutView{Object: object, Name: cards.ObjectNames[object], Fields: cards.Default(object), Problem: map[bool]string{true: problem}[problemObject == object]}
		if l, ok := layouts[object]; ok {
			cv.Fields, cv.Draft = l.Draft, true
			if l.PublishedAt != nil {
				cv.Published = "Published " + views.FormatTimeIn(l.PublishedAt, userLocation(c)) + byWhom(l.PublishedBy) + "."
				cv.Draft = !slices.Equal(l.Draft, l.Published)
			}
		}
		if cv.Published == "" {
			cv.Published = "Never published: every page shows the default below until you publish."
		}
		for _, k := range cv.Fields {
			cv.Chosen = append(cv.Chosen, views.Option{Value: k, Label: cards.Label(catalog, k)})
		}
		for _, f := range catalog {
			if !slices.Contains(cv.Fields, f.Key) {
				cv.Available = append(cv.Available, views.Option{Value: f.Key, Label: f.Label})
			}
		}
		if err := h.cardPreview(ctx, ws, rs, &cv, sample, accounts); err != nil {
			return err
		}
		v.Cards = append(v.Cards, cv)
	}
	return Render(c, status, views.CardLayoutsPage(h.chrome(c, "Card layout", "settings-cards"), v))
}

// previewLead is the lead the previews show: the one named by email, else the top lead.
func (h *Handlers) previewLead(ctx context.Context, id *Identity, email string) (*model.Lead, string, error) {
	if email != "" {
		l, err := h.Store.LeadByEmail(ctx, id.Viewer(), events.CleanEmail(email))
		if err == nil {
			return &l, "", nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, "", err
		}
		email = "No lead has the address " + email + "; the preview shows the top lead."
	}
	leads, _, err := h.Store.ListLeads(ctx, id.Viewer(), store.LeadFilter{Limit: 1})
	if err != nil || len(leads) == 0 {
		return nil, email, err
	}
	return &leads[0], email, nil
}

// cardPreview renders the draft with the sample lead (or the top company).
func (h *Handlers) cardPreview(ctx context.Context, ws int64, rs *scoring.RuleSet, cv *views.CardLayoutView, lead *model.Lead, accounts []store.AccountRow) error {
	cv.Columns = cardColumns(cv.Object, cv.Fields)
	for i := range cv.Columns {
		cv.Columns[i].Sortable = false // a preview has nothing to sort
	}
	if cv.Object == cards.Companies {
		if len(accounts) > 0 {
			cv.PreviewTitle = accounts[0].Domain
			cv.Preview = companyCells(rs, cv.Fields, accounts[0])
		}
		return nil
	}
	if lead == nil {
		return nil
	}
	named, err := namedScoresFor(ctx, h.Store, ws, cv.Fields, []model.Lead{*lead})
	if err != nil {
		return err
	}
	cv.PreviewTitle = leadName(*lead)
	cv.Preview = personCells(rs, cv.Fields, *lead, named[lead.ID])
	return nil
}

// cardCatalog is what an object's card can show in this workspace: named scores and, for
// people, the custom attributes seen on leads.
func (h *Handlers) cardCatalog(ctx context.Context, ws int64, rs *scoring.RuleSet, object string) ([]cards.Field, error) {
	if object == cards.Companies {
		return cards.Catalog(object, nil, nil), nil
	}
	var scores []string
	for _, s := range rs.Scores {
		if !s.IsMain {
			scores = append(scores, s.Name)
		}
	}
	custom, err := h.Store.CustomAttributeKeys(ctx, ws)
	if err != nil {
		return nil, err
	}
	return cards.Catalog(object, scores, custom), nil
}

// SaveCardLayout saves a card's draft from its form: the fields in order, moved up or down
// (keyboard), removed or added; drag and drop posts the new order. Nobody sees a draft.
func (h *Handlers) SaveCardLayout(c echo.Context) error {
	object := c.Param("object")
	if !slices.Contains(cards.Objects, object) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such card.")
	}
	form, _ := c.FormParams()
	fields := form["field"]
	focus := ""
	if move := form.Get("move"); move != "" {
		dir, at, _ := strings.Cut(move, ":")
		i, err := strconv.Atoi(at)
		if err != nil || (dir != "up" && dir != "down") {
			return h.renderCardLayouts(c, http.StatusUnprocessableEntity, object, "That move is not one the page offers.")
		}
		if i >= 0 && i < len(fields) {
			focus = dir + ":" + fields[i]
		}
		fields = cards.Move(fields, i, map[string]int{"up": -1, "down": 1}[dir])
	}
	if rm := form.Get("remove"); rm != "" {
		i, err := strconv.Atoi(rm)
		if err != nil || i < 0 || i >= len(fields) {
			return h.renderCardLayouts(c, http.StatusUnprocessableEntity, object, "That field is not on the card.")
		}
		fields = slices.Delete(slices.Clone(fields), i, i+1)
	}
	if add := form.Get("add"); add != "" && form.Get("do") == "add" {
		fields = append(fields, add)
	}
	ctx := c.Request().Context()
	id := IdentityOf(c)
	rs, err := h.Pipeline.Scoring.RuleSet(ctx, id.Workspace.ID)
	if err != nil {
		return err
	}
	catalog, err := h.cardCatalog(ctx, id.Workspace.ID, rs, object)
	if err != nil {
		return err
	}
	if err := cards.Check(object, fields, catalog); err != nil {
		return h.renderCardLayouts(c, http.StatusUnprocessableEntity, object, capitalize(err.Error())+".")
	}
	if err := h.Store.SaveCardDraft(ctx, id.Workspace.ID, object, fields, id.User.Name); err != nil {
		return err
	}
	return redirect(c, cardsURL(c, object, focus))
}

// cardsURL goes back to a card on the settings page, keeping the preview's lead and the
// keyboard's focus.
func cardsURL(c echo.Context, object, focus string) string {
	q := url.Values{}
	if lead := c.FormValue("lead"); lead != "" {
		q.Set("lead", lead)
	}
	if focus != "" {
		q.Set("focus", focus)
	}
	u := "/settings/cards"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	if focus != "" {
		return u // browsers skip autofocus when the address names a fragment; the focused button scrolls into view
	}
	return u + "#card-" + object
}

// PublishCardLayout makes a card's draft what every page shows, noting who and when.
func (h *Handlers) PublishCardLayout(c echo.Context) error {
	object := c.Param("object")
	if !slices.Contains(cards.Objects, object) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such card.")
	}
	ctx := c.Request().Context()
	id := IdentityOf(c)
	err := h.Store.PublishCard(ctx, id.Workspace.ID, object, id.User.Name)
	if errors.Is(err, store.ErrNotFound) { // never edited: publish the default as it is
		if err = h.Store.SaveCardDraft(ctx, id.Workspace.ID, object, cards.Default(object), id.User.Name); err == nil {
			err = h.Store.PublishCard(ctx, id.Workspace.ID, object, id.User.Name)
		}
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", cards.ObjectNames[object]+": published. Everyone sees the new layout now.")
	return redirect(c, cardsURL(c, object, ""))
}

// DiscardCardLayout puts a card's draft back to what is published.
func (h *Handlers) DiscardCardLayout(c echo.Context) error {
	object := c.Param("object")
	if !slices.Contains(cards.Objects, object) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such card.")
	}
	if err := h.Store.DiscardCardDraft(c.Request().Context(), IdentityOf(c).Workspace.ID, object); err != nil {
		return err
	}
	h.flash(c, "success", cards.ObjectNames[object]+": the draft was discarded.")
	return redirect(c, cardsURL(c, object, ""))
}
