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
	if err != nil || c.CurrentsMaxBody != 32<<20 || c.Workers != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = load(t, map[string]string{"PEREGRINE_CURRENTS_MAX_BODY": "512KiB", "PEREGRINE_WORKERS": "4"})
	if err != nil || c.CurrentsMaxBody != 512<<10 || c.Workers != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []map[string]string{{"PEREGRINE_CURRENTS_MAX_BODY": "lots"}, {"PEREGRINE_CURRENTS_MAX_BODY": "10"}, {"PEREGRINE_WORKERS": "0"}} {
		if _, err := load(t, bad); !IsConfigError(err) {
			t.Errorf("%v accepted", bad)
		}
	}
}
