package web_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

// scrape fetches /metrics with the given Authorization header (none when empty).
func scrape(t *testing.T, base, authorization string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(body)
}

// TestMetricsAreNotPublic: without a token configured /metrics does not exist on the main
// address; with one, only a request bearing it is served.
func TestMetricsAreNotPublic(t *testing.T) {
	s := newServer(t, nil)
	if status, _, _ := scrape(t, s.URL, "Bearer anything-at-all-here"); status != http.StatusNotFound {
		t.Fatalf("/metrics without a configured token: %d, want 404", status)
	}
	const token = "metrics-token-0123456789"
	s = newServer(t, map[string]string{"PEREGRINE_METRICS_TOKEN": token})
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + token, token} {
		status, header, body := scrape(t, s.URL, auth)
		if status != http.StatusUnauthorized || !strings.Contains(header.Get("WWW-Authenticate"), "Bearer") || strings.Contains(body, "go_goroutines") {
			t.Fatalf("Authorization %q: %d %q", auth, status, body)
		}
	}
	if status, _, body := scrape(t, s.URL, "Bearer "+token); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("with the token: %d", status)
	}
}

// TestMetricsReportWhatHappened sends Currents requests and sets up a quarantined item and a
// Salesforce allowance, then reads them back from /metrics as Prometheus would parse it.
func TestMetricsReportWhatHappened(t *testing.T) {
	const token = "metrics-token-0123456789"
	s, currents, tok := currentsServer(t, map[string]string{"PEREGRINE_METRICS_TOKEN": token})
	body := currentstest.Read("mixed-batch.json")
	if r := postCurrents(t, s.URL, currents, body, nil); r.status != http.StatusOK {
		t.Fatalf("batch: %d", r.status)
	}
	postCurrents(t, s.URL, currents, body, nil) // the same batch again: duplicates, still 200
	if r := postCurrents(t, s.URL, "not-a-token", body, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", r.status)
	}
	if r := postCurrents(t, s.URL, currents, []byte(`{"events":`), nil); r.status != http.StatusBadRequest {
		t.Fatalf("broken body: %d", r.status)
	}
	waitFor(t, "the batch to be processed", func() bool {
		return pgtest.Count(t, s.DB, `SELECT count(*) FROM inbound_queue`) == 0
	})
	pgtest.Exec(t, s.DB, `INSERT INTO work_quarantine (workspace_id, queue, item_id, item, attempts, reason)
		VALUES ($1, 'salesforce-push', 1, '{}', 5, 'test'), ($1, 'salesforce-push', 2, '{}', 5, 'test')`, tok.WorkspaceID)
	pgtest.Exec(t, s.DB, `INSERT INTO salesforce_connections (workspace_id, login_host, api_version, consumer_key, consumer_secret_enc,
		auth_method, api_used, api_max, api_share_percent) VALUES ($1, 'login.salesforce.com', 'v62.0', 'k', 'x', 'oauth', 1200, 15000, 40)`, tok.WorkspaceID)

	status, _, text := scrape(t, s.URL, "Bearer "+token)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	ws := strconv.FormatInt(tok.WorkspaceID, 10)
	want := []struct {
		name   string
		labels []string
		ok     func(float64) bool
		what   string
	}{
		{"peregrine_currents_requests_total", []string{"status", "200"}, eq(2), "2"},
		{"peregrine_currents_requests_total", []string{"status", "401"}, eq(1), "1"},
		{"peregrine_currents_requests_total", []string{"status", "400"}, eq(1), "1"},
		{"peregrine_queue_claimed_items_total", []string{"queue", "inbound"}, atLeast(currentstest.MixedDistinct), "every stored event"},
		{"peregrine_queue_done_items_total", []string{"queue", "inbound"}, atLeast(currentstest.MixedDistinct), "every stored event"},
		{"peregrine_queue_depth", []string{"queue", "inbound"}, eq(0), "0 once processed"},
		{"peregrine_queue_quarantined", []string{"queue", "salesforce-push"}, eq(2), "2"},
		{"peregrine_queue_quarantined", []string{"queue", "inbound"}, eq(0), "0"},
		{"peregrine_queue_oldest_age_seconds", []string{"queue", "scoring"}, atLeast(0), "present"},
		{"peregrine_salesforce_api_used", []string{"workspace", ws}, eq(1200), "1200"},
		{"peregrine_salesforce_api_max", []string{"workspace", ws}, eq(15000), "15000"},
		{"peregrine_salesforce_api_share_ratio", []string{"workspace", ws}, eq(0.4), "0.4"},
		{"peregrine_salesforce_api_calls_total", nil, atLeast(0), "present"},
		{"go_goroutines", nil, atLeast(1), "some"},
		{"process_resident_memory_bytes", nil, atLeast(1), "some"},
	}
	for _, w := range want {
		v, found := webtest.Metric(fams, w.name, w.labels...)
		if !found || !w.ok(v) {
			t.Errorf("%s%v = %v (found %v), want %s", w.name, w.labels, v, found, w.what)
		}
	}
	if t.Failed() {
		t.Logf("families: %v", familyNames(fams))
	}
}

func eq(want float64) func(float64) bool     { return func(v float64) bool { return v == want } }
func atLeast(min float64) func(float64) bool { return func(v float64) bool { return v >= min } }

func familyNames(fams map[string]*dto.MetricFamily) []string {
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	return names
}
