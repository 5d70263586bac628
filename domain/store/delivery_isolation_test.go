package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// deliverySeed is what seedDeliveries gives a tenant: a queued delivery and a reset link.
type deliverySeed struct {
	delivery int64
	resetTok string
	resetID  int64
}

func seedDeliveries(t *testing.T, st *store.Store, b tenant) deliverySeed {
	t.Helper()
	ctx := context.Background()
	var d deliverySeed
	token, hash, _ := auth.NewToken()
	d.resetTok = token
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		d.delivery, err = tx.QueueDelivery(ctx, model.Delivery{WorkspaceID: b.ws.ID, Channel: model.ChannelEmail, Kind: model.DeliveryTest,
			Recipient: "b@b.example", Subject: "b-subject", Message: []byte("b-sealed")})
		if err != nil {
			return err
		}
		return tx.CreatePasswordReset(ctx, model.PasswordReset{WorkspaceID: b.ws.ID, UserID: b.admin.ID, TokenHash: hash, ExpiresAt: time.Now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.PasswordResetByTokenHash(ctx, b.ws.ID, hash)
	if err != nil {
		t.Fatal(err)
	}
	d.resetID = r.ID
	return d
}

// deliveryIsolationCases are TestWorkspaceIsolation's cases for deliveries and resets.
func deliveryIsolationCases(st *store.Store, wsA int64, b tenant, d deliverySeed) map[string]func() error {
	ctx := context.Background()
	notFound := func(err error) error {
		if !errors.Is(err, store.ErrNotFound) {
			return errors.New("want ErrNotFound, got " + errString(err))
		}
		return nil
	}
	return map[string]func() error{
		"ListDeliveries": func() error {
			ds, err := st.ListDeliveries(ctx, wsA, 100)
			for _, x := range ds {
				if x.ID == d.delivery && x.WorkspaceID != wsA {
					return errors.New("listed B's delivery")
				}
			}
			return err
		},
		"Delivery": func() error { _, err := st.Delivery(ctx, wsA, d.delivery); return notFound(err) },
		"PasswordResetsSince": func() error {
			n, err := st.PasswordResetsSince(ctx, wsA, b.admin.ID, time.Now().Add(-time.Hour))
			if n != 0 {
				return errors.New("counted B's resets")
			}
			return err
		},
		"PasswordResetByTokenHash": func() error {
			_, err := st.PasswordResetByTokenHash(ctx, wsA, auth.HashToken(d.resetTok))
			return notFound(err)
		},
		"UsePasswordReset": func() error {
			_, err := st.UsePasswordReset(ctx, wsA, d.resetID, "hash", time.Now())
			return notFound(err)
		},
	}
}

// deliveryTxCases are TestTxIsolation's cases for deliveries and resets.
func deliveryTxCases(ctx context.Context, wsA int64, a, b tenant, d deliverySeed) map[string]func(tx *store.Tx) error {
	return map[string]func(tx *store.Tx) error{
		"QueueDelivery": func(tx *store.Tx) error {
			_, err := tx.QueueDelivery(ctx, model.Delivery{WorkspaceID: wsA, Channel: model.ChannelEmail, Kind: model.DeliveryTest,
				Recipient: "a@a.example", Message: []byte("x")})
			return err
		},
		"DeliveriesByID": func(tx *store.Tx) error {
			ds, err := tx.DeliveriesByID(ctx, wsA, []int64{d.delivery})
			if len(ds) != 0 {
				return errors.New("read B's delivery")
			}
			return err
		},
		"FinishDelivery": func(tx *store.Tx) error {
			return tx.FinishDelivery(ctx, wsA, d.delivery, model.DeliverySent, "", 1)
		},
		"NoteDeliveryAttempt": func(tx *store.Tx) error {
			return tx.NoteDeliveryAttempt(ctx, wsA, d.delivery, "boom", 2)
		},
		"CreatePasswordReset": func(tx *store.Tx) error {
			_, hash, _ := auth.NewToken()
			return tx.CreatePasswordReset(ctx, model.PasswordReset{WorkspaceID: wsA, UserID: a.admin.ID, TokenHash: hash, ExpiresAt: time.Now().Add(time.Hour)})
		},
	}
}
