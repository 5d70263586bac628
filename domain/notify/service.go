package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// MaxAttempts is how many times a delivery is tried before it is marked failed: with the work
// layer's backoff (2 s doubling to an hour) about three hours, long enough for a mail server
// that greylists or is down for maintenance.
const MaxAttempts = 12

// ErrEmailOff: this server was started without PEREGRINE_SMTP_URL.
var ErrEmailOff = errors.New("email is not set up on this server: its operator sets PEREGRINE_SMTP_URL and PEREGRINE_MAIL_FROM")

// Service queues deliveries and sends them (the delivery queue's handler).
type Service struct {
	Store  *store.Store
	Box    *secrets.Box
	Mailer Mailer // nil: this server sends no email
	Server string // the mail server, for pages ("mail.example.com:587, STARTTLS")
	// Slack and Webhooks call out under the outbound policy (Slack's hosts; public https),
	// without following redirects.
	Slack, Webhooks *http.Client
	// Composer writes alerts' messages when they are sent.
	Composer Composer
	Log      *slog.Logger
	// Wake tells the delivery workers that deliveries were queued (nil: nobody to wake).
	Wake func()
}

// EmailEnabled reports whether this server sends email.
func (s *Service) EmailEnabled() bool { return s.Mailer != nil }

// QueueEmail logs an email and queues it inside tx, sealed: it is sent once tx commits (call
// Queued then). by is the user who caused it, if any.
func (s *Service) QueueEmail(ctx context.Context, tx *store.Tx, workspaceID int64, kind string, by *int64, e Email) (int64, error) {
	sealed, err := s.seal(workspaceID, payload{Email: &e})
	if err != nil {
		return 0, err
	}
	return tx.QueueDelivery(ctx, model.Delivery{WorkspaceID: workspaceID, Channel: model.ChannelEmail, Kind: kind,
		Recipient: e.To, Subject: e.Subject, Message: sealed, CreatedBy: by})
}

// AlertTo is one recipient of an alert: an address (of a user, who can then unsubscribe from
// the rule, or not), or a channel; After delays an email past quiet hours.
type AlertTo struct {
	Email   string
	UserID  int64
	Channel *model.AlertChannel
	After   *time.Time
}

// QueueAlert queues an alert for one recipient inside tx. The message is written when it is
// sent.
func (s *Service) QueueAlert(ctx context.Context, tx *store.Tx, workspaceID, alertID int64, subject string, to AlertTo) error {
	p := payload{AlertID: alertID, UserID: to.UserID}
	d := model.Delivery{WorkspaceID: workspaceID, Channel: model.ChannelEmail, Kind: model.DeliveryAlert, Recipient: to.Email,
		Subject: subject, AlertID: &alertID, RunAfter: to.After}
	if ch := to.Channel; ch != nil {
		d.Channel, d.Recipient, d.ChannelID = ch.Kind, ch.Name, &ch.ID
		p.MessageID = "alert_" + strconv.FormatInt(alertID, 10) + "_" + strconv.FormatInt(ch.ID, 10)
	}
	sealed, err := s.seal(workspaceID, p)
	if err != nil {
		return err
	}
	d.Message = sealed
	_, err = tx.QueueDelivery(ctx, d)
	return err
}

// QueueTest queues a test message to a channel with a ready body.
func (s *Service) QueueTest(ctx context.Context, tx *store.Tx, workspaceID int64, by *int64, ch model.AlertChannel, body []byte) error {
	sealed, err := s.seal(workspaceID, payload{Body: body})
	if err != nil {
		return err
	}
	_, err = tx.QueueDelivery(ctx, model.Delivery{WorkspaceID: workspaceID, Channel: ch.Kind, Kind: model.DeliveryTest,
		Recipient: ch.Name, Subject: "Test message", Message: sealed, CreatedBy: by, ChannelID: &ch.ID})
	return err
}

func (s *Service) seal(workspaceID int64, p payload) ([]byte, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return s.Box.Seal(plain, sealContext(workspaceID))
}

// Queued wakes the delivery workers after a transaction that queued deliveries committed.
func (s *Service) Queued() {
	if s.Wake != nil {
		s.Wake()
	}
}

// Resend queues a copy of a delivery that failed (a new line of the log). Password-reset
// links are not resent: they expire within the hour, the person asks for a new one.
func (s *Service) Resend(ctx context.Context, workspaceID, id int64, by *int64) (int64, error) {
	d, err := s.Store.Delivery(ctx, workspaceID, id)
	if err != nil {
		return 0, err
	}
	if d.State != model.DeliveryFailed || d.Kind == model.DeliveryPasswordReset {
		return 0, ErrNotResendable
	}
	var newID int64
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		d.CreatedBy = by
		newID, err = tx.QueueDelivery(ctx, d)
		return err
	})
	if err == nil {
		s.Queued()
	}
	return newID, err
}

// ErrNotResendable: only failed deliveries are resent, and never password-reset links.
var ErrNotResendable = errors.New("only a failed delivery can be sent again, and password-reset links are never resent")

// Deliver is the delivery queue's handler. Each delivery is sent while its queue row is
// locked and its outcome recorded in the same transaction: sent, failed for good (a
// permanent refusal, or MaxAttempts reached), or back in the queue with backoff. A crash
// between sending and committing sends it again after the lease: deliveries are at least
// once, never lost.
func (s *Service) Deliver(ctx context.Context, b *queue.Batch) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		owned, err := b.Own(ctx, tx)
		if err != nil || len(owned) == 0 {
			return err
		}
		deliveries, err := tx.DeliveriesByID(ctx, b.Workspace, owned)
		if err != nil {
			return err
		}
		for _, d := range deliveries {
			if err := s.deliver(ctx, tx, b, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) deliver(ctx context.Context, tx *store.Tx, b *queue.Batch, d model.Delivery) error {
	attempts := b.Attempts(d.ID)
	sendErr := s.send(ctx, tx, d, attempts)
	var permanent *PermanentError
	var wait *WaitError
	var retryAt *retryAtError
	var aside *setAsideError
	switch {
	case errors.As(sendErr, &aside):
		if err := tx.NoteDeliveryAttempt(ctx, d.WorkspaceID, d.ID, aside.reason, attempts); err != nil {
			return err
		}
		if err := tx.MarkDeliveryFailed(ctx, d.WorkspaceID, d.ID); err != nil {
			return err
		}
		return b.SetAside(ctx, tx, []int64{d.ID}, aside.reason+"\n"+string(aside.body))
	case errors.As(sendErr, &wait):
		return b.Later(ctx, tx, []int64{d.ID}, wait.Until, wait.Reason)
	case errors.As(sendErr, &retryAt):
		if err := tx.NoteDeliveryAttempt(ctx, d.WorkspaceID, d.ID, sendErr.Error(), attempts); err != nil {
			return err
		}
		return b.RetryAt(ctx, tx, []int64{d.ID}, retryAt.at, sendErr)
	case sendErr == nil:
		return tx.FinishDelivery(ctx, d.WorkspaceID, d.ID, model.DeliverySent, "", attempts)
	case errors.As(sendErr, &permanent):
		s.Log.Warn("delivery refused", "workspace", d.WorkspaceID, "delivery", d.ID, "kind", d.Kind, "error", sendErr)
		return tx.FinishDelivery(ctx, d.WorkspaceID, d.ID, model.DeliveryFailed, sendErr.Error(), attempts)
	case attempts >= MaxAttempts:
		s.Log.Warn("delivery given up", "workspace", d.WorkspaceID, "delivery", d.ID, "kind", d.Kind, "attempts", attempts, "error", sendErr)
		return tx.FinishDelivery(ctx, d.WorkspaceID, d.ID, model.DeliveryFailed,
			"gave up after "+strconv.Itoa(attempts)+" attempts: "+sendErr.Error(), attempts)
	}
	if err := tx.NoteDeliveryAttempt(ctx, d.WorkspaceID, d.ID, sendErr.Error(), attempts); err != nil {
		return err
	}
	return b.Retry(ctx, tx, []int64{d.ID}, sendErr)
}

// send sends one delivery over its channel.
func (s *Service) send(ctx context.Context, tx *store.Tx, d model.Delivery, attempts int) error {
	if part := switchPart(d); part != "" {
		off, err := s.Store.PartOff(ctx, d.WorkspaceID, part)
		if err != nil {
			return err
		}
		if off != "" {
			return &WaitError{Until: time.Now().Add(24 * time.Hour), Reason: store.SwitchedOffWhy(off)}
		}
	}
	plain, err := s.Box.Open(d.Message, sealContext(d.WorkspaceID))
	if err != nil {
		return &PermanentError{fmt.Errorf("the message cannot be read (was the secret key changed?): %w", err)}
	}
	var p payload
	if err := json.Unmarshal(plain, &p); err != nil {
		return &PermanentError{err}
	}
	switch d.Channel {
	case model.ChannelEmail:
		if s.Mailer == nil {
			return &PermanentError{ErrEmailOff}
		}
		e := p.Email
		if p.AlertID != 0 {
			composed, err := s.Composer.AlertEmail(ctx, d, p.AlertID, p.UserID)
			if err != nil {
				return err
			}
			e = &composed
		}
		if e == nil {
			return &PermanentError{errors.New("the delivery holds no email")}
		}
		return s.Mailer.Send(ctx, *e)
	case model.ChannelSlack:
		return s.sendSlack(ctx, tx, d, p)
	case model.ChannelWebhook:
		return s.sendWebhook(ctx, tx, d, p, attempts)
	}
	return &PermanentError{fmt.Errorf("unknown channel %q", d.Channel)}
}

// switchPart is the integration part whose switch holds a delivery: Slack, webhooks, or email
// for alerts, digests and reports ("" for account emails — invitations, password resets and
// tests always go).
func switchPart(d model.Delivery) string {
	switch {
	case d.Channel == model.ChannelSlack:
		return store.PartSlack
	case d.Channel == model.ChannelWebhook:
		return store.PartWebhooks
	case d.Kind == model.DeliveryAlert || d.Kind == model.DeliveryDigest || d.Kind == model.DeliveryReport:
		return store.PartEmail
	}
	return ""
}

func sealContext(workspaceID int64) string {
	return "workspace:" + strconv.FormatInt(workspaceID, 10) + ":delivery"
}
