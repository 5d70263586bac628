package notify_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/config"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/notify/smtptest"
	"github.com/peregrine-scoring/peregrine/domain/notify/webhooktest"
	"github.com/peregrine-scoring/peregrine/domain/queue"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	svc    *notify.Service
	runner *queue.Runner
	q      *queue.Queue
	ws     int64
	smtp   *smtptest.Server
	count  func(q string, args ...any) int
	exec   func(q string, args ...any)
}

func newEnv(t *testing.T) *env {
	ctx := context.Background()
	st, db := pgtest.NewStoreAndDB(t)
	ws, _, err := st.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "acme", Name: "Acme Corp"},
		model.User{Email: "ada@acme.example", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := secrets.NewKey()
	box, _ := secrets.NewBox(key)
	server := smtptest.Start(t)
	smtp, err := config.ParseSMTPURL(server.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, ctx: ctx, st: st, ws: ws.ID, smtp: server,
		svc:   &notify.Service{Store: st, Box: box, Log: log, Mailer: &notify.SMTPMailer{Server: *smtp, From: "peregrine@acme.example", Timeout: 5 * time.Second}},
		count: func(q string, args ...any) int { return pgtest.Count(t, db, q, args...) },
		exec:  func(q string, args ...any) { pgtest.Exec(t, db, q, args...) }}
	e.runner = queue.NewRunner(st, log, nil)
	e.q = e.runner.Add(&queue.Queue{Table: store.DeliveryWork, Handle: e.svc.Deliver, Batch: 1})
	return e
}

func (e *env) queue(to string) int64 {
	e.t.Helper()
	var id int64
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		var err error
		id, err = e.svc.QueueEmail(e.ctx, tx, e.ws, model.DeliveryTest, nil, notify.Email{To: to, FromName: "Acme Corp",
			Subject: "Peregrine test — ça marche", Text: "Plain words for " + to, HTML: "<p>HTML words for <b>" + to + "</b></p>"})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) drain() {
	e.t.Helper()
	if _, err := e.runner.Drain(e.ctx, e.q); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) delivery(id int64) model.Delivery {
	e.t.Helper()
	d, err := e.st.Delivery(e.ctx, e.ws, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// TestEmailIsDeliveredWithBothParts: a queued email reaches the SMTP server once, from the
// workspace's name at the configured address, with a plain-text and an HTML part; the log
// says sent; the stored message is sealed.
func TestEmailIsDeliveredWithBothParts(t *testing.T) {
	e := newEnv(t)
	id := e.queue("bob@example.com")
	if n := e.count(`SELECT count(*) FROM deliveries WHERE workspace_id = $1 AND position(convert_to('bob@example.com', 'UTF8') in message) > 0`, e.ws); n != 0 {
		t.Fatal("the message is stored in the clear")
	}
	e.drain()
	e.drain()
	msgs := e.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages received", len(msgs))
	}
	m := msgs[0]
	from, _ := m.Header.AddressList("From")
	subject, _ := new(mimeDecoder).DecodeHeader(m.Header.Get("Subject"))
	if m.From != "peregrine@acme.example" || len(m.To) != 1 || m.To[0] != "bob@example.com" || len(from) != 1 || from[0].Name != "Acme Corp" ||
		subject != "Peregrine test — ça marche" || m.Header.Get("Message-Id") == "" || m.Header.Get("Date") == "" {
		t.Fatalf("envelope and headers: %v %v %v %q", m.From, m.To, m.Header, subject)
	}
	if !strings.Contains(m.Text, "Plain words for bob@example.com") || !strings.Contains(m.HTML, "<b>bob@example.com</b>") {
		t.Fatalf("parts: text %q html %q", m.Text, m.HTML)
	}
	if d := e.delivery(id); d.State != model.DeliverySent || d.Attempts != 1 || d.FinishedAt == nil || d.Error != "" {
		t.Fatalf("log: %+v", d)
	}
	if n := e.count(`SELECT count(*) FROM delivery_queue WHERE workspace_id = $1`, e.ws); n != 0 {
		t.Fatalf("%d deliveries still queued", n)
	}
}

// TestRefusalsAreRetriedOrFinal: a 4xx is tried again later (the log shows the attempt), a
// 5xx ends the delivery as failed with the server's answer; without SMTP settings the log
// says how to set them up.
func TestRefusalsAreRetriedOrFinal(t *testing.T) {
	e := newEnv(t)
	e.smtp.Refuse(451)
	id := e.queue("later@example.com")
	e.drain()
	d := e.delivery(id)
	if d.State != model.DeliveryQueued || d.Attempts != 1 || !strings.Contains(d.Error, "451") || len(e.smtp.Messages()) != 0 {
		t.Fatalf("after a 451: %+v", d)
	}
	e.smtp.Refuse(0)
	e.drain() // not due yet: backing off
	if len(e.smtp.Messages()) != 0 {
		t.Fatal("retried before its backoff")
	}
	e.exec(`UPDATE delivery_queue SET run_after = now() WHERE workspace_id = $1`, e.ws)
	e.drain()
	if d := e.delivery(id); d.State != model.DeliverySent || d.Attempts != 2 || len(e.smtp.Messages()) != 1 {
		t.Fatalf("after the retry: %+v, %d messages", d, len(e.smtp.Messages()))
	}

	e.smtp.Refuse(550)
	id = e.queue("nobody@example.com")
	e.drain()
	if d := e.delivery(id); d.State != model.DeliveryFailed || !strings.Contains(d.Error, "550") || e.count(`SELECT count(*) FROM delivery_queue WHERE workspace_id = $1`, e.ws) != 0 {
		t.Fatalf("after a 550: %+v", d)
	}
	// Given up after MaxAttempts temporary failures.
	e.smtp.Refuse(421)
	id = e.queue("flaky@example.com")
	for i := 0; i < notify.MaxAttempts; i++ {
		e.exec(`UPDATE delivery_queue SET run_after = now() WHERE workspace_id = $1`, e.ws)
		e.drain()
	}
	if d := e.delivery(id); d.State != model.DeliveryFailed || d.Attempts != notify.MaxAttempts || !strings.Contains(d.Error, "gave up after 12 attempts") {
		t.Fatalf("after %d temporary failures: %+v", notify.MaxAttempts, d)
	}

	e.svc.Mailer = nil
	id = e.queue("off@example.com")
	e.drain()
	if d := e.delivery(id); d.State != model.DeliveryFailed || !strings.Contains(d.Error, "PEREGRINE_SMTP_URL") {
		t.Fatalf("without email set up: %+v", d)
	}
	// A failed delivery can be sent again, as a new line of the log.
	e.svc.Mailer = &notify.SMTPMailer{Server: config.SMTP{Host: "127.0.0.1", Port: portOf(e.smtp.Addr), TLS: config.TLSNone}, From: "p@acme.example"}
	e.smtp.Refuse(0)
	again, err := e.svc.Resend(e.ctx, e.ws, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	if d := e.delivery(again); d.State != model.DeliverySent || d.Recipient != "off@example.com" {
		t.Fatalf("resent: %+v", d)
	}
	if _, err := e.svc.Resend(e.ctx, e.ws, again, nil); err != notify.ErrNotResendable {
		t.Fatalf("resending a sent delivery: %v", err)
	}
}

// TestTLSIsNeverSkipped: a server that offers no STARTTLS gets nothing when TLS is required,
// so mail and password never cross the network in the clear.
func TestTLSIsNeverSkipped(t *testing.T) {
	e := newEnv(t)
	e.svc.Mailer = &notify.SMTPMailer{Server: config.SMTP{Host: "127.0.0.1", Port: portOf(e.smtp.Addr), TLS: config.TLSStartTLS,
		Username: "ann", Password: "secret"}, From: "p@acme.example", Timeout: 5 * time.Second}
	id := e.queue("bob@example.com")
	e.drain()
	if d := e.delivery(id); d.State == model.DeliverySent || len(e.smtp.Messages()) != 0 || !strings.Contains(strings.ToLower(d.Error), "starttls") {
		t.Fatalf("sent without TLS: %+v", d)
	}
}

// TestCrashAfterSendingResendsTheSameMessage: the delivery worker's connection dies after the
// webhook was posted and before its outcome was recorded (as in a crash): the delivery stays
// queued, comes back after its lease, and is posted again with the same webhook-id, so the
// receiver keeps it once; nothing is lost.
func TestCrashAfterSendingResendsTheSameMessage(t *testing.T) {
	e := newEnv(t)
	hook := webhooktest.Start(t)
	raw, shown, _ := notify.NewWebhookSecret()
	if err := hook.SetSecret(shown); err != nil {
		t.Fatal(err)
	}
	url, _ := e.svc.Box.Seal([]byte(hook.URL), notify.ChannelContext(e.ws, model.ChannelWebhook))
	secret, _ := e.svc.Box.Seal(raw, notify.ChannelContext(e.ws, model.ChannelWebhook)+":secret")
	chID, err := e.st.CreateAlertChannel(e.ctx, model.AlertChannel{WorkspaceID: e.ws, Kind: model.ChannelWebhook, Name: "zap", URL: url, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Webhooks = &http.Client{Timeout: 5 * time.Second}
	ch, _ := e.st.AlertChannel(e.ctx, e.ws, chID)
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		return e.svc.QueueTest(e.ctx, tx, e.ws, nil, ch, []byte(`{"type":"test"}`))
	}); err != nil {
		t.Fatal(err)
	}
	// The receiver kills the sender's database connection while answering it.
	hook.OnReceive(func() {
		e.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`)
	})
	e.runner.Once(e.ctx, e.q) // fails: the connection is gone
	hook.OnReceive(nil)
	if n := e.count(`SELECT count(*) FROM delivery_queue WHERE workspace_id = $1`, e.ws); n != 1 {
		t.Fatalf("the delivery left the queue although its outcome was never recorded (%d queued)", n)
	}
	e.exec(`UPDATE delivery_queue SET run_after = now()`) // the lease ends
	e.drain()
	msgs := hook.Messages()
	if len(msgs) != 1 || hook.Seen(msgs[0].ID) != 2 {
		t.Fatalf("received %d messages; the id was seen %d times", len(msgs), hook.Seen(msgs[0].ID))
	}
	if d := e.count(`SELECT count(*) FROM deliveries WHERE workspace_id = $1 AND state = 'sent'`, e.ws); d != 1 {
		t.Fatal("the delivery is not recorded as sent after the retry")
	}
}

// TestEmailSwitchedOffWaits: with email switched off in Integrations, a digest waits in the
// delivery queue (not failed, no attempt counted) while a test email — like invitations and
// password resets — still goes; switching email on sends the digest at once.
func TestEmailSwitchedOffWaits(t *testing.T) {
	e := newEnv(t)
	if err := e.st.SwitchPart(e.ctx, e.ws, store.PartEmail, false, "Ada"); err != nil {
		t.Fatal(err)
	}
	var digest int64
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		var err error
		digest, err = e.svc.QueueEmail(e.ctx, tx, e.ws, model.DeliveryDigest, nil, notify.Email{To: "sam@acme.example", FromName: "Acme Corp",
			Subject: "Your digest", Text: "Digest", HTML: "<p>Digest</p>"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	test := e.queue("bob@example.com")
	e.drain()
	if d := e.delivery(test); d.State != model.DeliverySent {
		t.Fatalf("the test email waited: %+v", d)
	}
	if d := e.delivery(digest); d.State != model.DeliveryQueued || d.Attempts != 0 {
		t.Fatalf("the digest while email is off: %+v", d)
	}
	if n, err := e.st.WaitingFor(e.ctx, e.ws, store.PartEmail); err != nil || n != 1 {
		t.Fatalf("waiting for email: %d %v", n, err)
	}
	if len(e.smtp.Messages()) != 1 {
		t.Fatalf("%d messages sent", len(e.smtp.Messages()))
	}
	if err := e.st.SwitchPart(e.ctx, e.ws, store.PartEmail, true, "Ada"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if d := e.delivery(digest); d.State != model.DeliverySent || len(e.smtp.Messages()) != 2 {
		t.Fatalf("after switching email on: %+v, %d messages", d, len(e.smtp.Messages()))
	}
}
