package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// payload is a delivery's sealed message: a ready email or body, or an alert written when it
// is sent (so it shows the lead as it is then).
type payload struct {
	Email     *Email          `json:"email,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`
	AlertID   int64           `json:"alert_id,omitempty"`
	UserID    int64           `json:"user_id,omitempty"`    // the user an alert email goes to (for unsubscribing)
	MessageID string          `json:"message_id,omitempty"` // webhook-id: stable across retries and resends
}

// Composer writes an alert's message when it is sent (the web layer renders it).
type Composer interface {
	AlertEmail(ctx context.Context, d model.Delivery, alertID, userID int64) (Email, error)
	AlertSlack(ctx context.Context, d model.Delivery, alertID int64) ([]byte, error)
	AlertWebhook(ctx context.Context, d model.Delivery, alertID int64) ([]byte, error)
}

// WaitError gives a delivery back until a time without counting the attempt: the other side
// asked to slow down, or the channel's next slot has not come.
type WaitError struct {
	Until  time.Time
	Reason string
}

func (e *WaitError) Error() string { return e.Reason }

// setAsideError sets a delivery aside (work_quarantine) with the message it could not send:
// the other side called it malformed, so sending it again as it is cannot help.
type setAsideError struct {
	reason string
	body   []byte
}

func (e *setAsideError) Error() string { return e.reason }

// retryAtError retries a counted attempt at a set time (the webhook schedule).
type retryAtError struct {
	at  time.Time
	err error
}

func (e *retryAtError) Error() string { return e.err.Error() }
func (e *retryAtError) Unwrap() error { return e.err }

// WebhookSchedule is when a failing webhook is tried again after each attempt, as Standard
// Webhooks suggests: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (about three days).
var WebhookSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// SlackGap is the least time between two messages to one Slack webhook (Slack allows about
// one a second).
const SlackGap = time.Second

// NewWebhookSecret makes a signing secret: 32 random bytes, shown once as whsec_<base64>.
func NewWebhookSecret() (raw []byte, shown string, err error) {
	raw = make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	return raw, "whsec_" + base64.StdEncoding.EncodeToString(raw), nil
}

// SignWebhook is the Standard Webhooks signature header value of a message: v1, then the
// base64 HMAC-SHA256 of "id.timestamp.body" under the secret.
func SignWebhook(secret []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sendSlack posts to a Slack incoming webhook, one message a second per webhook, honouring
// Retry-After; a webhook Slack removed (404, 410) is disabled with the reason.
func (s *Service) sendSlack(ctx context.Context, tx *store.Tx, d model.Delivery, p payload) error {
	ch, url, _, err := s.channel(ctx, tx, d)
	if err != nil {
		return err
	}
	at, err := tx.TakeChannelSlot(ctx, d.WorkspaceID, ch.ID, SlackGap)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		return &WaitError{Until: at, Reason: "waiting for the webhook's next slot (one message a second)"}
	}
	body := p.Body
	if p.AlertID != 0 {
		if body, err = s.Composer.AlertSlack(ctx, d, p.AlertID); err != nil {
			return err
		}
	}
	status, answer, header, err := s.post(ctx, s.Slack, url, body, nil)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusOK:
		return tx.ChannelSent(ctx, d.WorkspaceID, ch.ID)
	case status == http.StatusTooManyRequests:
		until := time.Now().Add(retryAfter(header, 30*time.Second))
		if err := tx.HoldChannel(ctx, d.WorkspaceID, ch.ID, until); err != nil {
			return err
		}
		return &WaitError{Until: until, Reason: "Slack asked to slow down (429)"}
	case status == http.StatusNotFound || status == http.StatusGone:
		reason := fmt.Sprintf("Slack answered %d %s: the webhook was removed, or its channel archived or deleted. Add the webhook again.", status, answer)
		if err := tx.DisableAlertChannel(ctx, d.WorkspaceID, ch.ID, reason); err != nil {
			return err
		}
		return &PermanentError{errors.New(reason)}
	case status == http.StatusBadRequest:
		s.Log.Error("Slack refused a message as invalid", "workspace", d.WorkspaceID, "delivery", d.ID, "answer", answer)
		return &setAsideError{reason: fmt.Sprintf("Slack refused the message as invalid (%s): a fault of Peregrine; set aside with its body", answer),
			body: body}
	case status < 500:
		return &PermanentError{fmt.Errorf("Slack answered %d %s", status, answer)}
	}
	return fmt.Errorf("Slack answered %d %s", status, answer)
}

// sendWebhook posts a signed message (Standard Webhooks): 2xx is done, 410 disables the
// endpoint, anything else is tried again on WebhookSchedule. Redirects are not followed.
func (s *Service) sendWebhook(ctx context.Context, tx *store.Tx, d model.Delivery, p payload, attempts int) error {
	ch, url, secret, err := s.channel(ctx, tx, d)
	if err != nil {
		return err
	}
	body := p.Body
	if p.AlertID != 0 {
		if body, err = s.Composer.AlertWebhook(ctx, d, p.AlertID); err != nil {
			return err
		}
	}
	id := p.MessageID
	if id == "" {
		id = "msg_" + strconv.FormatInt(d.ID, 10)
	}
	ts := time.Now().Unix()
	headers := map[string]string{"webhook-id": id, "webhook-timestamp": strconv.FormatInt(ts, 10),
		"webhook-signature": SignWebhook(secret, id, ts, body)}
	status, answer, header, err := s.post(ctx, s.Webhooks, url, body, headers)
	switch {
	case err == nil && status >= 200 && status < 300:
		return tx.ChannelSent(ctx, d.WorkspaceID, ch.ID)
	case err == nil && status == http.StatusGone:
		reason := "the endpoint answered 410 Gone: it asked not to be called again. Add it again to resume."
		if err := tx.DisableAlertChannel(ctx, d.WorkspaceID, ch.ID, reason); err != nil {
			return err
		}
		return &PermanentError{errors.New(reason)}
	case err == nil:
		err = fmt.Errorf("the endpoint answered %d %s", status, answer)
	}
	if attempts > len(WebhookSchedule) {
		return &PermanentError{fmt.Errorf("gave up after %d attempts over three days: %w", attempts, err)}
	}
	wait := WebhookSchedule[attempts-1]
	if ra := retryAfter(header, 0); ra > wait {
		wait = ra
	}
	return &retryAtError{at: time.Now().Add(wait), err: err}
}

// channel reads a delivery's channel and opens its URL and secret.
func (s *Service) channel(ctx context.Context, tx *store.Tx, d model.Delivery) (model.AlertChannel, string, []byte, error) {
	if d.ChannelID == nil {
		return model.AlertChannel{}, "", nil, &PermanentError{errors.New("the delivery names no channel")}
	}
	ch, err := tx.ChannelOfDelivery(ctx, d.WorkspaceID, *d.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return ch, "", nil, &PermanentError{errors.New("the channel was deleted")}
	}
	if err != nil {
		return ch, "", nil, err
	}
	if ch.DisabledAt != nil {
		return ch, "", nil, &PermanentError{errors.New("the channel is disabled: " + ch.DisabledReason)}
	}
	url, err := s.Box.Open(ch.URL, ChannelContext(d.WorkspaceID, ch.Kind))
	if err != nil {
		return ch, "", nil, &PermanentError{fmt.Errorf("the channel's address cannot be read: %w", err)}
	}
	var secret []byte
	if ch.Secret != nil {
		if secret, err = s.Box.Open(ch.Secret, ChannelContext(d.WorkspaceID, ch.Kind)+":secret"); err != nil {
			return ch, "", nil, &PermanentError{fmt.Errorf("the channel's secret cannot be read: %w", err)}
		}
	}
	return ch, string(url), secret, nil
}

// ChannelContext binds a channel's sealed values to their workspace and kind.
func ChannelContext(workspaceID int64, kind string) string {
	return "workspace:" + strconv.FormatInt(workspaceID, 10) + ":channel:" + kind
}

// post sends a JSON body and returns the status, the first line of the answer and headers.
func (s *Service) post(ctx context.Context, client *http.Client, url string, body []byte, headers map[string]string) (int, string, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, &PermanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Peregrine")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
	answer, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
	return res.StatusCode, answer, res.Header, nil
}

// retryAfter reads a Retry-After in seconds (def when absent or unreadable; at most an hour).
func retryAfter(h http.Header, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Hour)
	}
	return def
}
