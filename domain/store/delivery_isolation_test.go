package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// deliverySeed is what seedDeliveries gives a tenant: a queued delivery and a reset link.
type deliverySeed struct {
	delivery    int64
	resetTok    string
	resetID     int64
	rule        int64
	channel     int64
	alert       int64
	account     int64
	accountRule int64
}

func seedDeliveries(t *testing.T, st *store.Store, b tenant, accountAlert bool) deliverySeed {
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
	if d.rule, err = st.SaveAlertRule(ctx, b.ws.ID, 0, "b-alert", true, []byte(`{"trigger":"became_hot"}`), b.admin.ID); err != nil {
		t.Fatal(err)
	}
	if d.channel, err = st.CreateAlertChannel(ctx, model.AlertChannel{WorkspaceID: b.ws.ID, Kind: model.ChannelSlack, Name: "b-channel", URL: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if d.alert, err = tx.InsertAlert(ctx, model.Alert{WorkspaceID: b.ws.ID, RuleID: d.rule, LeadID: b.lead.ID, Reason: "b-reason"}); err != nil {
			return err
		}
		return tx.AddDigestItems(ctx, b.ws.ID, d.alert, []int64{b.admin.ID})
	})
	if err == nil {
		err = st.SetAlertMode(ctx, b.ws.ID, b.admin.ID, d.rule, model.AlertDigest)
	}
	if err == nil {
		err = st.SaveBrazeWriteback(ctx, b.ws.ID, true, map[string]string{"grade": "b_grade"})
	}
	if err == nil && accountAlert {
		d.accountRule, err = st.SaveAlertRule(ctx, b.ws.ID, 0, "b-account-alert", true, []byte(`{"trigger":"account_engaged","people":2}`), b.admin.ID)
	}
	if err == nil && accountAlert {
		err = st.InTx(ctx, func(tx *store.Tx) error {
			ids, err := tx.UpsertAccounts(ctx, b.ws.ID, []string{b.ws.Name + "-alerts.example"})
			d.account = ids[b.ws.Name+"-alerts.example"]
			if err == nil {
				_, err = tx.InsertAlert(ctx, model.Alert{WorkspaceID: b.ws.ID, RuleID: d.accountRule, AccountID: d.account, Reason: "b"})
			}
			return err
		})
	}
	if err == nil {
		err = st.InTx(ctx, func(tx *store.Tx) error {
			return tx.BrazeWritten(ctx, b.ws.ID, nil, map[int64]string{b.lead.ID: "b-refused"})
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deliveryIsolationCases are TestWorkspaceIsolation's cases for deliveries and resets.
func deliveryIsolationCases(st *store.Store, wsA int64, b tenant, d deliverySeed) map[string]func() error {
	ctx := context.Background()
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
		"SaveAlertRule": func() error {
			_, err := st.SaveAlertRule(ctx, wsA, d.rule, "stolen", false, []byte(`{}`), 1)
			return notFound(err)
		},
		"ListAlertRules": func() error {
			rs, err := st.ListAlertRules(ctx, wsA)
			return errors.Join(err, none("alert rules", len(rs)))
		},
		"AlertRule":           func() error { _, err := st.AlertRule(ctx, wsA, d.rule); return notFound(err) },
		"SetAlertRuleEnabled": func() error { return notFound(st.SetAlertRuleEnabled(ctx, wsA, d.rule, false)) },
		"DeleteAlertRule":     func() error { return notFound(st.DeleteAlertRule(ctx, wsA, d.rule)) },
		"Alert":               func() error { _, err := st.Alert(ctx, wsA, d.alert); return notFound(err) },
		"CreateAlertChannel": func() error {
			_, err := st.CreateAlertChannel(ctx, model.AlertChannel{WorkspaceID: wsA, Kind: model.ChannelSlack, Name: "b-channel", URL: []byte("a")})
			return err // the same name is free in A
		},
		"ListAlertChannels": func() error {
			cs, err := st.ListAlertChannels(ctx, wsA)
			for _, c := range cs {
				if c.ID == d.channel {
					return errors.New("listed B's channel")
				}
			}
			return err
		},
		"AlertChannel":       func() error { _, err := st.AlertChannel(ctx, wsA, d.channel); return notFound(err) },
		"DeleteAlertChannel": func() error { return notFound(st.DeleteAlertChannel(ctx, wsA, d.channel)) },
		"EnableAlertChannel": func() error { return notFound(st.EnableAlertChannel(ctx, wsA, d.channel)) },
		"SetAlertMode":       func() error { return st.SetAlertMode(ctx, wsA, b.admin.ID, d.rule, model.AlertOff) }, // names B's rule: no row
		"AlertModesOf": func() error {
			m, err := st.AlertModesOf(ctx, wsA, b.admin.ID)
			return errors.Join(err, none("alert preferences", len(m)))
		},
		"BrazeWritebackSettings": func() error {
			w, err := st.BrazeWritebackSettings(ctx, wsA)
			if strings.Contains(string(w.Attributes), "b_grade") {
				return errors.New("read B's write-back")
			}
			return err
		},
		"SaveBrazeWriteback": func() error { return st.SaveBrazeWriteback(ctx, wsA, true, map[string]string{"grade": "a_grade"}) },
		"WritebackErrors": func() error {
			es, err := st.WritebackErrors(ctx, wsA, 10)
			return errors.Join(err, none("write-back errors", len(es)))
		},
		"SetDigestSettings": func() error { return notFound(st.SetDigestSettings(ctx, wsA, b.admin.ID, "off", nil, nil)) },
		"DigestAlerts": func() error {
			as, err := st.DigestAlerts(ctx, wsA, b.admin.ID)
			return errors.Join(err, none("digest alerts", len(as)))
		},
		"DigestMoves": func() error {
			l, m, h, a, err := st.DigestMoves(ctx, store.Everyone(wsA), time.Now().Add(-24*time.Hour))
			for _, x := range append(append(append(l, m...), h...), a...) {
				if x.LeadID == b.lead.ID {
					return errors.New("named B's lead")
				}
			}
			return err
		},
	}
}

func none(what string, n int) error {
	if n != 0 {
		return errors.New("read B's " + what)
	}
	return nil
}

// deliveryTxCases are TestTxIsolation's cases for deliveries and resets.
func deliveryTxCases(ctx context.Context, wsA int64, a, b tenant, aSeed, d deliverySeed) map[string]func(tx *store.Tx) error {
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
		"MarkDeliveryFailed": func(tx *store.Tx) error { return tx.MarkDeliveryFailed(ctx, wsA, d.delivery) },
		"SetAsideWork": func(tx *store.Tx) error {
			return tx.SetAsideWork(ctx, store.DeliveryWork, wsA, []int64{d.delivery}, 0, "x")
		},
		"NoteDeliveryAttempt": func(tx *store.Tx) error {
			return tx.NoteDeliveryAttempt(ctx, wsA, d.delivery, "boom", 2)
		},
		"EnabledAlertRules": func(tx *store.Tx) error {
			rs, err := tx.EnabledAlertRules(ctx, wsA)
			for _, r := range rs {
				if r.ID == d.rule || r.WorkspaceID != wsA {
					return errors.New("read B's alert rule")
				}
			}
			return err
		},
		"AlertSentSince": func(tx *store.Tx) error {
			sent, err := tx.AlertSentSince(ctx, wsA, d.rule, b.lead.ID, time.Now().Add(-time.Hour))
			if sent {
				return errors.New("saw B's alert")
			}
			return err
		},
		"InsertAlert": func(tx *store.Tx) error {
			_, err := tx.InsertAlert(ctx, model.Alert{WorkspaceID: wsA, RuleID: aSeed.rule, LeadID: a.lead.ID, Reason: "x"})
			return err
		},
		"ActiveUsers": func(tx *store.Tx) error {
			us, err := tx.ActiveUsers(ctx, wsA, []int64{b.admin.ID}, []string{b.admin.Email})
			return errors.Join(err, none("users", len(us)))
		},
		"LiveAlertChannels": func(tx *store.Tx) error {
			cs, err := tx.LiveAlertChannels(ctx, wsA, []int64{d.channel})
			return errors.Join(err, none("channels", len(cs)))
		},
		"TakeChannelSlot": func(tx *store.Tx) error {
			_, err := tx.TakeChannelSlot(ctx, wsA, d.channel, time.Second)
			if !errors.Is(err, store.ErrNotFound) {
				return errors.New("booked B's channel")
			}
			return nil
		},
		"HoldChannel":         func(tx *store.Tx) error { return tx.HoldChannel(ctx, wsA, d.channel, time.Now().Add(time.Hour)) },
		"ChannelSent":         func(tx *store.Tx) error { return tx.ChannelSent(ctx, wsA, d.channel) },
		"DisableAlertChannel": func(tx *store.Tx) error { return tx.DisableAlertChannel(ctx, wsA, d.channel, "x") },
		"ChannelOfDelivery": func(tx *store.Tx) error {
			_, err := tx.ChannelOfDelivery(ctx, wsA, d.channel)
			if !errors.Is(err, store.ErrNotFound) {
				return errors.New("read B's channel")
			}
			return nil
		},
		"AlertModes": func(tx *store.Tx) error {
			m, err := tx.AlertModes(ctx, wsA, d.rule, []int64{b.admin.ID})
			return errors.Join(err, none("alert preferences", len(m)))
		},
		"AddDigestItems": func(tx *store.Tx) error {
			return tx.AddDigestItems(ctx, wsA, aSeed.alert, []int64{a.admin.ID})
		},
		"ClaimDigest": func(tx *store.Tx) error {
			if claimed, err := tx.ClaimDigest(ctx, wsA, b.admin.ID, nil, time.Now()); claimed || err != nil {
				return errors.Join(err, errors.New("claimed B's digest"))
			}
			return nil
		},
		"AccountSnapshots": func(tx *store.Tx) error {
			snaps, err := tx.AccountSnapshots(ctx, wsA, []int64{d.account})
			return errors.Join(err, none("accounts", len(snaps)))
		},
		"AccountAlertSentSince": func(tx *store.Tx) error {
			sent, err := tx.AccountAlertSentSince(ctx, wsA, d.accountRule, d.account, time.Now().Add(-time.Hour))
			if sent {
				return errors.New("saw B's account alert")
			}
			return err
		},
		"EnqueueBrazeWriteback": func(tx *store.Tx) error { return tx.EnqueueBrazeWriteback(ctx, wsA, []int64{b.lead.ID, a.lead.ID}) },
		"WritebackLeads": func(tx *store.Tx) error {
			ls, err := tx.WritebackLeads(ctx, wsA, []int64{b.lead.ID})
			return errors.Join(err, none("leads", len(ls)))
		},
		"BrazeWritten": func(tx *store.Tx) error {
			return tx.BrazeWritten(ctx, wsA, map[int64][]byte{a.lead.ID: []byte(`{"x":1}`)}, nil)
		},
		"NoteWriteback": func(tx *store.Tx) error { return tx.NoteWriteback(ctx, wsA, 1, 1, "a-problem") },
		"DoneWriteback": func(tx *store.Tx) error { return tx.DoneWriteback(ctx, wsA, []int64{b.lead.ID}) },
		"CreatePasswordReset": func(tx *store.Tx) error {
			_, hash, _ := auth.NewToken()
			return tx.CreatePasswordReset(ctx, model.PasswordReset{WorkspaceID: wsA, UserID: a.admin.ID, TokenHash: hash, ExpiresAt: time.Now().Add(time.Hour)})
		},
	}
}
