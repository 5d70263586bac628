package braze_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/braze"
	"github.com/peregrine-scoring/peregrine/domain/braze/brazetest"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
)

func TestExportAndErrors(t *testing.T) {
	fake := brazetest.New(t, "key-123")
	fake.AddUser(brazetest.User{BrazeID: "b1", ExternalID: "crm-1", Email: "anna@acme.example.com", FirstName: "Anna",
		CustomAttributes: map[string]any{"company": "Acme AG"}})
	c := braze.NewClient(fake.URL, "key-123")
	ctx := context.Background()

	res, err := c.ExportIDs(ctx, braze.ExportRequest{ExternalIDs: []string{"crm-1", "crm-2"}, FieldsToExport: braze.ExportFields})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Users) != 1 || res.Users[0].Email != "anna@acme.example.com" || len(res.InvalidUserIDs) != 1 ||
		!strings.Contains(string(res.Users[0].CustomAttributes), "Acme AG") {
		t.Fatalf("%+v", res)
	}
	if !res.RateLimit.Known || res.RateLimit.Remaining != 249 {
		t.Fatalf("rate limit %+v", res.RateLimit)
	}

	ids := make([]string, 51)
	for i := range ids {
		ids[i] = "x"
	}
	if _, err := c.ExportIDs(ctx, braze.ExportRequest{ExternalIDs: ids, FieldsToExport: braze.ExportFields}); err == nil {
		t.Fatal("51 ids sent")
	}

	cases := []struct {
		setup  func()
		status int
		words  string
	}{
		{func() { fake.FailNext(401) }, 401, "key is invalid or belongs to another Braze instance"},
		{func() { fake.LackPermission(true) }, 403, "lacks the users.export.ids permission"},
		{func() { fake.LackPermission(false); fake.FailNext(429) }, 429, "rate limiting"},
		{func() { fake.FailNext(503) }, 503, "temporary problem"},
	}
	for _, tc := range cases {
		tc.setup()
		_, err := c.ExportIDs(ctx, braze.ExportRequest{BrazeID: "b1", FieldsToExport: braze.ExportFields})
		var be *braze.Error
		if !errors.As(err, &be) || be.Status != tc.status || !strings.Contains(be.Message, tc.words) {
			t.Errorf("status %d: %v", tc.status, err)
		}
		if tc.status == 429 && be.RetryAt.IsZero() {
			t.Error("429 without a retry time")
		}
	}

	bad := braze.NewClient(fake.URL, "wrong")
	if ok, msg := bad.TestConnection(ctx); ok || !strings.Contains(msg, "invalid") {
		t.Fatalf("wrong key: %v %s", ok, msg)
	}
	if ok, msg := c.TestConnection(ctx); !ok || !strings.HasPrefix(msg, "Connected") {
		t.Fatalf("test connection: %v %s", ok, msg)
	}
	down := braze.NewClient("http://127.0.0.1:1", "k")
	if ok, msg := down.TestConnection(ctx); ok || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("network error does not name the host: %s", msg)
	}
	// The fake is strict: a missing fields_to_export is refused.
	req, _ := http.NewRequest(http.MethodPost, fake.URL+"/users/export/ids", strings.NewReader(`{"braze_id":"b1"}`))
	req.Header.Set("Authorization", "Bearer key-123")
	req.Header.Set("Content-Type", "application/json")
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 400 {
		t.Fatalf("fake accepted a request without fields_to_export: %d", res.StatusCode)
	}
}

func TestCheckEndpoint(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://rest.fra-01.braze.eu":   true,
		"https://rest.iad-01.braze.com/": true,
		"http://127.0.0.1:8080":          false, // allowed only by the operator (below)
		"http://localhost:9999":          false,
		"https://evil.example":           false,
		"http://rest.fra-01.braze.eu":    false,
		"rest.fra-01.braze.eu":           false,
		"https://rest.x.braze.eu/path":   false,
		"ftp://x":                        false,
		"":                               false,
	} {
		if _, msg := braze.CheckEndpoint(raw, outbound.Policy{}); (msg == "") != ok {
			t.Errorf("%q: %q", raw, msg)
		}
	}
	if _, msg := braze.CheckEndpoint("http://127.0.0.1:8080", outbound.Policy{AllowPrivate: true}); msg != "" {
		t.Errorf("a loopback fake refused with private hosts allowed: %s", msg)
	}
	if braze.InstanceOf("https://rest.us-10.braze.com") != "US-10" || len(braze.Instances) != 13 {
		t.Fatal("instances")
	}
}
