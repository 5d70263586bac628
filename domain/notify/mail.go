// Package notify sends what Peregrine tells people — invitations, password-reset links and
// test messages by email now; alerts and digests build on it. Every message is a delivery
// (domain/store deliveries.go): logged, sealed, queued in the same transaction as what caused
// it, and sent by the delivery workers of the work layer with attempts, backoff and
// quarantine.
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/peregrine-scoring/peregrine/domain/config"
)

// Email is one message to one person, in plain text and HTML.
type Email struct {
	To       string `json:"to"`
	FromName string `json:"from_name"` // the workspace's name
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
	// Headers are extra headers, such as List-Unsubscribe.
	Headers map[string]string `json:"headers,omitempty"`
}

// Mailer sends an email.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// PermanentError is a refusal retrying cannot change (an SMTP 5xx: no such mailbox, message
// rejected, authentication refused).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTPMailer sends through an SMTP server (wneessen/go-mail: STARTTLS policies, SMTP AUTH
// mechanisms, contexts and multipart messages — more than net/smtp offers).
type SMTPMailer struct {
	Server  config.SMTP
	From    string        // the sender address
	Timeout time.Duration // of one connection and its commands (0: 30 s)
}

// Send opens a connection, sends e and closes it: alerts and links are few, a pool would
// only hold idle connections.
func (m *SMTPMailer) Send(ctx context.Context, e Email) error {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(e.FromName, m.From); err != nil {
		return &PermanentError{fmt.Errorf("sender %q: %w", m.From, err)}
	}
	if err := msg.To(e.To); err != nil {
		return &PermanentError{fmt.Errorf("recipient %q: %w", e.To, err)}
	}
	msg.Subject(e.Subject)
	for k, v := range e.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetMessageID()
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	client, err := gomail.NewClient(m.Server.Host, m.options()...)
	if err != nil {
		return &PermanentError{err}
	}
	err = client.DialAndSendWithContext(ctx, msg)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 {
		return &PermanentError{err}
	}
	return err
}

func (m *SMTPMailer) options() []gomail.Option {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(m.Server.Port), gomail.WithTimeout(timeout)}
	switch m.Server.TLS {
	case config.TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case config.TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.Server.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.Server.Username), gomail.WithPassword(m.Server.Password))
	}
	return opts
}

// MailerFor is the mailer of a server's configuration and how pages describe it; nil and ""
// when email is off.
func MailerFor(cfg *config.Config) (Mailer, string) {
	if cfg.SMTP == nil {
		return nil, ""
	}
	return &SMTPMailer{Server: *cfg.SMTP, From: cfg.MailFrom}, cfg.SMTP.String() + " as " + cfg.MailFrom
}
