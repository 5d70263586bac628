package config

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	b := Bind(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return b.Config()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.PublicURL != "http://localhost:8080" || c.DataDir != ".peregrine" || c.OpenSignup || c.Secure() {
		t.Fatalf("%+v", c)
	}
}

func TestPortEnvAndFlagPrecedence(t *testing.T) {
	c, err := load(t, map[string]string{"PORT": "9000"})
	if err != nil || c.Addr != ":9000" || c.PublicURL != "http://localhost:9000" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = load(t, map[string]string{"PORT": "9000", "PEREGRINE_PUBLIC_URL": "https://p.example.com/"}, "--addr", "127.0.0.1:7000")
	if err != nil || c.Addr != "127.0.0.1:7000" || c.PublicURL != "https://p.example.com" || !c.Secure() {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestInvalidValuesAreAllReported(t *testing.T) {
	_, err := load(t, map[string]string{
		"PORT": "http", "PEREGRINE_OPEN_SIGNUP": "maybe", "PEREGRINE_LOG_LEVEL": "loud",
		"PEREGRINE_TRUSTED_PROXIES": "10.0.0.0/8, nonsense", "DATABASE_URL": "mysql://x", "PEREGRINE_SHUTDOWN_TIMEOUT": "soon",
	})
	if !IsConfigError(err) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"PORT", "OPEN_SIGNUP", "LOG_LEVEL", "nonsense", "DATABASE_URL", "SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := load(t, map[string]string{"PEREGRINE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5 ,::1"})
	if err != nil || len(c.TrustedProxies) != 3 || c.TrustedProxies[1].String() != "192.168.1.5/32" {
		t.Fatalf("%v %v", c.TrustedProxies, err)
	}
}

func TestSizesAndWorkers(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.CurrentsMaxBody != 32<<20 || c.Workers != 2 || c.ComputeBatches != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = load(t, map[string]string{"PEREGRINE_CURRENTS_MAX_BODY": "512KiB", "PEREGRINE_WORKERS": "4", "PEREGRINE_COMPUTE_BATCHES": "6"})
	if err != nil || c.CurrentsMaxBody != 512<<10 || c.Workers != 4 || c.ComputeBatches != 6 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []map[string]string{{"PEREGRINE_CURRENTS_MAX_BODY": "lots"}, {"PEREGRINE_CURRENTS_MAX_BODY": "10"}, {"PEREGRINE_WORKERS": "0"}, {"PEREGRINE_COMPUTE_BATCHES": "-1"}, {"PEREGRINE_COMPUTE_BATCHES": "many"}} {
		if _, err := load(t, bad); !IsConfigError(err) {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestSMTPURL: one URL says where email goes; plain SMTP only for test servers; the sender
// address is required with it; the password never shows in String.
func TestSMTPURL(t *testing.T) {
	ok := []struct {
		env  map[string]string
		want SMTP
	}{
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://ann:p%40ss@mail.example.com", "PEREGRINE_MAIL_FROM": "peregrine@example.com"},
			SMTP{Host: "mail.example.com", Port: 587, Username: "ann", Password: "p@ss", TLS: TLSStartTLS}},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtps://ann:x@mail.example.com", "PEREGRINE_MAIL_FROM": "peregrine@example.com"},
			SMTP{Host: "mail.example.com", Port: 465, Username: "ann", Password: "x", TLS: TLSImplicit}},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://mail.example.com:2525?tls=starttls", "PEREGRINE_MAIL_FROM": "a@b.example"},
			SMTP{Host: "mail.example.com", Port: 2525, TLS: TLSStartTLS}},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://127.0.0.1:1025?tls=none", "PEREGRINE_MAIL_FROM": "a@b.example", "PEREGRINE_ALLOW_PRIVATE_HOSTS": "true"},
			SMTP{Host: "127.0.0.1", Port: 1025, TLS: TLSNone}},
	}
	for _, c := range ok {
		got, err := load(t, c.env)
		if err != nil || got.SMTP == nil || *got.SMTP != c.want || got.MailFrom != c.env["PEREGRINE_MAIL_FROM"] {
			t.Fatalf("%v: %+v %v", c.env, got, err)
		}
		if strings.Contains(got.SMTP.String(), "p@ss") || strings.Contains(got.SMTP.String(), ":x") {
			t.Fatalf("String shows the password: %s", got.SMTP)
		}
	}
	bad := []struct {
		env  map[string]string
		says string
	}{
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://127.0.0.1:1025?tls=none", "PEREGRINE_MAIL_FROM": "a@b.example"}, "only for test servers"},
		{map[string]string{"PEREGRINE_SMTP_URL": "http://mail.example.com", "PEREGRINE_MAIL_FROM": "a@b.example"}, "must look like smtp://"},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://mail.example.com:99999", "PEREGRINE_MAIL_FROM": "a@b.example"}, "invalid port"},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://mail.example.com?tls=maybe", "PEREGRINE_MAIL_FROM": "a@b.example"}, "not starttls or none"},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://mail.example.com?auth=x", "PEREGRINE_MAIL_FROM": "a@b.example"}, "unknown option"},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtps://mail.example.com?tls=none", "PEREGRINE_MAIL_FROM": "a@b.example"}, "always uses TLS"},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://mail.example.com"}, "PEREGRINE_MAIL_FROM"},
		{map[string]string{"PEREGRINE_SMTP_URL": "smtp://mail.example.com", "PEREGRINE_MAIL_FROM": "Peregrine <p@example.com>"}, "plain address"},
		{map[string]string{"PEREGRINE_MAIL_FROM": "p@example.com"}, "PEREGRINE_SMTP_URL is not"},
	}
	for _, c := range bad {
		_, err := load(t, c.env)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Fatalf("%v: want an error saying %q, got %v", c.env, c.says, err)
		}
	}
	if c, err := load(t, nil); err != nil || c.SMTP != nil {
		t.Fatalf("email should be off by default: %+v %v", c, err)
	}
}
