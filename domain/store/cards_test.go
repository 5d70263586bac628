package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

// TestCardDraftsAndPublishing: a draft is invisible to pages until published; publishing
// records who; a discarded draft goes back to what is published (or away when nothing is).
func TestCardDraftsAndPublishing(t *testing.T) {
	st, _ := pgtest.NewStoreAndDB(t)
	ctx := context.Background()
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "cards", Name: "Cards"}, model.User{Email: "ada@c.example", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	published := func() ([]string, bool) {
		keys, ok, err := st.PublishedCard(ctx, ws.ID, "leads")
		if err != nil {
			t.Fatal(err)
		}
		return keys, ok
	}
	if _, ok := published(); ok {
		t.Fatal("a layout is published before any was")
	}
	if err := st.PublishCard(ctx, ws.ID, "leads", "Ada"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("publishing without a draft: %v", err)
	}
	if err := st.SaveCardDraft(ctx, ws.ID, "leads", []string{"grade", "score"}, "Ada"); err != nil {
		t.Fatal(err)
	}
	if _, ok := published(); ok {
		t.Fatal("a draft was shown")
	}
	if err := st.PublishCard(ctx, ws.ID, "leads", "Ada"); err != nil {
		t.Fatal(err)
	}
	if keys, ok := published(); !ok || !slices.Equal(keys, []string{"grade", "score"}) {
		t.Fatalf("published: %v %v", keys, ok)
	}
	if err := st.SaveCardDraft(ctx, ws.ID, "leads", []string{"owner"}, "Bo"); err != nil {
		t.Fatal(err)
	}
	layouts, _ := st.CardLayouts(ctx, ws.ID)
	l := layouts["leads"]
	if !slices.Equal(l.Draft, []string{"owner"}) || !slices.Equal(l.Published, []string{"grade", "score"}) || l.PublishedBy != "Ada" || l.DraftBy != "Bo" || l.PublishedAt == nil {
		t.Fatalf("layout: %+v", l)
	}
	if err := st.DiscardCardDraft(ctx, ws.ID, "leads"); err != nil {
		t.Fatal(err)
	}
	if layouts, _ := st.CardLayouts(ctx, ws.ID); !slices.Equal(layouts["leads"].Draft, []string{"grade", "score"}) {
		t.Fatalf("after discarding: %+v", layouts["leads"])
	}
	st.SaveCardDraft(ctx, ws.ID, "people", []string{"title"}, "Ada")
	st.DiscardCardDraft(ctx, ws.ID, "people")
	if layouts, _ := st.CardLayouts(ctx, ws.ID); len(layouts) != 1 {
		t.Fatalf("a never-published draft was kept after discarding: %+v", layouts)
	}
}

// cardIsolationCases: B published a card and has custom attributes and scores; A reads and
// writes only its own.
func cardIsolationCases(t *testing.T, st *store.Store, wsA int64, b tenant) map[string]func() error {
	ctx := context.Background()
	if err := st.SaveCardDraft(ctx, b.ws.ID, "leads", []string{"owner"}, "B"); err != nil {
		t.Fatal(err)
	}
	if err := st.PublishCard(ctx, b.ws.ID, "leads", "B"); err != nil {
		t.Fatal(err)
	}
	bIntact := func() error {
		keys, ok, err := st.PublishedCard(ctx, b.ws.ID, "leads")
		if err != nil || !ok || !slices.Equal(keys, []string{"owner"}) {
			return errors.New("B's card changed")
		}
		return nil
	}
	return map[string]func() error{
		"CardLayouts": func() error {
			l, err := st.CardLayouts(ctx, wsA)
			if slices.Equal(l["leads"].Draft, []string{"owner"}) {
				return errors.New("read B's layouts")
			}
			return err
		},
		"PublishedCard": func() error {
			keys, _, err := st.PublishedCard(ctx, wsA, "leads")
			if slices.Equal(keys, []string{"owner"}) {
				return errors.New("read B's published card")
			}
			return err
		},
		"SaveCardDraft": func() error {
			if err := st.SaveCardDraft(ctx, wsA, "leads", []string{"grade"}, "A"); err != nil {
				return err
			}
			return bIntact()
		},
		"PublishCard": func() error {
			st.SaveCardDraft(ctx, wsA, "leads", []string{"grade"}, "A")
			if err := st.PublishCard(ctx, wsA, "leads", "A"); err != nil {
				return err
			}
			return bIntact()
		},
		"DiscardCardDraft": func() error {
			if err := st.DiscardCardDraft(ctx, wsA, "leads"); err != nil {
				return err
			}
			return bIntact()
		},
		"CustomAttributeKeys": func() error {
			keys, err := st.CustomAttributeKeys(ctx, wsA)
			if slices.Contains(keys, "b_only_attribute") {
				return errors.New("listed B's custom attribute")
			}
			return err
		},
		"ScoresOfLeads": func() error {
			scores, err := st.ScoresOfLeads(ctx, wsA, []int64{b.lead.ID})
			return errors.Join(err, none("scores", len(scores)))
		},
	}
}
