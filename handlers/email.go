package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/notify"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/workspaces"
	"github.com/peregrine-scoring/peregrine/views"
)

// JobPasswordReset mails password-reset links for an address (workspace 0 of the jobs
// table, keyed by the address; web/workers.go runs it). The page only queues the job, so it
// answers in the same time whether an account uses the address or not, and asking again
// while one waits is the same job.
const JobPasswordReset = "password-reset"

// JobDigest mails one person's digest (keyed by the user id, in their workspace).
const JobDigest = "digest"

// ShowForgotPasswordPage asks for the address to send a reset link to.
func (h *Handlers) ShowForgotPasswordPage(c echo.Context) error {
	return Render(c, http.StatusOK, views.ForgotPasswordPage(views.ForgotForm{CSRF: CSRFToken(c), EmailOn: h.Notify.EmailEnabled()}))
}

// ForgotPassword queues the mailing of reset links for an address. The answer is the same
// whether an account uses it or not, and so is its time: only a job is queued here.
func (h *Handlers) ForgotPassword(c echo.Context) error {
	form := views.ForgotForm{CSRF: CSRFToken(c), EmailOn: h.Notify.EmailEnabled(), Email: workspaces.NormalizeEmail(c.FormValue("email"))}
	if !form.EmailOn {
		return Render(c, http.StatusServiceUnavailable, views.ForgotPasswordPage(form))
	}
	if fe, ok := formErrors(workspaces.CheckEmail(form.Email)); ok {
		form.Errors = fe
		return Render(c, http.StatusUnprocessableEntity, views.ForgotPasswordPage(form))
	}
	if err := h.Store.EnqueueJob(c.Request().Context(), nil, 0, JobPasswordReset, form.Email, time.Now()); err != nil {
		return err
	}
	h.Pipeline.JobQueued()
	form.Sent = true
	return Render(c, http.StatusOK, views.ForgotPasswordPage(form))
}

// ShowResetPasswordPage shows the new-password form of a reset link.
func (h *Handlers) ShowResetPasswordPage(c echo.Context) error {
	ws, _, err := h.Workspaces.PasswordReset(c.Request().Context(), c.Param("slug"), c.Param("token"))
	form := views.ResetForm{CSRF: CSRFToken(c), Action: c.Request().URL.Path, WorkspaceName: ws.Name}
	if status, ok := resetStatus(err); ok {
		form.Message = capitalize(err.Error()) + "."
		return Render(c, status, views.ResetPasswordPage(form))
	}
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.ResetPasswordPage(form))
}

// ResetPassword sets the new password and signs the person in.
func (h *Handlers) ResetPassword(c echo.Context) error {
	ctx := c.Request().Context()
	slug, token := c.Param("slug"), c.Param("token")
	u, err := h.Workspaces.ResetPassword(ctx, slug, token, c.FormValue("password"))
	if err == nil {
		if err := h.signIn(c, u); err != nil {
			return err
		}
		h.flash(c, "success", "Your new password is set. You are signed in here and signed out everywhere else.")
		return redirect(c, "/leads")
	}
	ws, _, _ := h.Workspaces.PasswordReset(ctx, slug, token)
	form := views.ResetForm{CSRF: CSRFToken(c), Action: c.Request().URL.Path, WorkspaceName: ws.Name}
	if status, ok := resetStatus(err); ok {
		form.Message = capitalize(err.Error()) + "."
		return Render(c, status, views.ResetPasswordPage(form))
	}
	fe, ok := formErrors(err)
	if !ok {
		return err
	}
	form.Errors = fe
	return Render(c, http.StatusUnprocessableEntity, views.ResetPasswordPage(form))
}

func resetStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, workspaces.ErrResetUnknown):
		return http.StatusNotFound, true
	case errors.Is(err, workspaces.ErrResetUsed):
		return http.StatusGone, true
	}
	return 0, false
}

// ShowEmailSettingsPage shows Settings › Email: the mail server, a test, the delivery log.
func (h *Handlers) ShowEmailSettingsPage(c echo.Context) error {
	id := IdentityOf(c)
	deliveries, err := h.Store.ListDeliveries(c.Request().Context(), id.Workspace.ID, 100)
	if err != nil {
		return err
	}
	v := views.EmailSettingsView{EmailOn: h.Notify.EmailEnabled(), Server: h.Notify.Server, TestTo: id.User.Email}
	loc := userLocation(c)
	for _, d := range deliveries {
		if d.Channel == model.ChannelEmail {
			v.Deliveries = append(v.Deliveries, deliveryRow(d, loc))
		}
	}
	return Render(c, http.StatusOK, views.EmailSettingsPage(h.chrome(c, "Email", "settings-email"), v))
}

var deliveryKinds = map[string]string{model.DeliveryInvitation: "Invitation", model.DeliveryPasswordReset: "Password reset",
	model.DeliveryTest: "Test", model.DeliveryAlert: "Alert", model.DeliveryDigest: "Digest"}

var channelNames = map[string]string{model.ChannelEmail: "email", model.ChannelSlack: "Slack", model.ChannelWebhook: "webhook"}

// deliveryRow is a line of a delivery log.
func deliveryRow(d model.Delivery, loc *time.Location) views.DeliveryRow {
	return views.DeliveryRow{ID: d.ID, When: views.FormatTimeIn(&d.CreatedAt, loc), Kind: deliveryKinds[d.Kind] + " · " + channelNames[d.Channel],
		Recipient: d.Recipient, Subject: d.Subject, State: d.State, Attempts: d.Attempts, Error: d.Error,
		Resendable: d.State == model.DeliveryFailed && d.Kind != model.DeliveryPasswordReset}
}

func nowRFC3339() string { return time.Now().UTC().Format(time.RFC3339) }

// SendTestEmail queues a test email to the signed-in admin.
func (h *Handlers) SendTestEmail(c echo.Context) error {
	id := IdentityOf(c)
	if !h.Notify.EmailEnabled() {
		h.flash(c, "error", "This server sends no email yet: its operator sets PEREGRINE_SMTP_URL and PEREGRINE_MAIL_FROM.")
		return redirect(c, "/settings/email")
	}
	mail := views.TestMail{Workspace: id.Workspace.Name, Sender: id.User.Name, Server: h.Notify.Server}
	if err := h.queueEmail(c, model.DeliveryTest, id.User.Email, mail); err != nil {
		return err
	}
	h.flash(c, "success", "Test email queued for "+id.User.Email+". Its line in the log below says when it has left.")
	return redirect(c, "/settings/email")
}

// ResendDelivery sends a failed delivery again (from the email or the alerts log).
func (h *Handlers) ResendDelivery(c echo.Context) error {
	back := "/settings/email"
	if strings.HasPrefix(c.Path(), "/alerts/") {
		back = "/alerts"
	}
	id := IdentityOf(c)
	deliveryID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	_, err = h.Notify.Resend(c.Request().Context(), id.Workspace.ID, deliveryID, &id.User.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return echo.ErrNotFound
	case errors.Is(err, notify.ErrNotResendable):
		h.flash(c, "error", "Only a failed delivery can be sent again, and password-reset links never are: the person asks for a new one.")
	case err != nil:
		return err
	default:
		h.flash(c, "success", "Sending it again; a new line in the log follows it.")
	}
	return redirect(c, back)
}

// queueEmail queues a mail from the signed-in person's workspace and wakes the senders.
func (h *Handlers) queueEmail(c echo.Context, kind, to string, mail views.Mail) error {
	ctx := c.Request().Context()
	id := IdentityOf(c)
	e, err := views.EmailOf(ctx, to, id.Workspace.Name, mail)
	if err != nil {
		return err
	}
	err = h.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := h.Notify.QueueEmail(ctx, tx, id.Workspace.ID, kind, &id.User.ID, e)
		return err
	})
	if err == nil {
		h.Notify.Queued()
	}
	return err
}
