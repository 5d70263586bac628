package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

func currentsServer(t *testing.T, env map[string]string) (*webtest.Server, string, model.APIToken) {
	t.Helper()
	s := webtest.Start(t, env)
	ws, admin, err := s.Store.CreateWorkspaceWithAdmin(context.Background(), model.Workspace{Slug: "acme", Name: "Acme"},
		model.User{Email: "ada@acme.com", Name: "Ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	token, tok, err := ingest.CreateToken(context.Background(), s.Store, ws.ID, model.TokenKindCurrents, "Braze", &admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s, token, tok
}

type currentsReply struct {
	status int
	header http.Header
	result ingest.Result
	err    string
}

func postCurrents(t testing.TB, url, token string, body []byte, headers map[string]string) currentsReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/braze/currents/events", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Braze-Currents-Version", "1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := currentsReply{status: res.StatusCode, header: res.Header}
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(raw, &r.result)
	json.Unmarshal(raw, &e)
	r.err = e.Error
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d answered %q, not JSON: %s", res.StatusCode, res.Header.Get("Content-Type"), raw)
	}
	return r
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func fixture(t *testing.T, name string) []byte { return currentstest.Read(name) }

func TestCurrentsAuthentication(t *testing.T) {
	s, token, tok := currentsServer(t, nil)
	batch := fixture(t, "users.messages.email.Open.json")
	for name, tc := range map[string]struct {
		token string
		body  []byte
	}{
		"no token":           {"", batch},
		"no token, empty":    {"", nil},
		"wrong token":        {token + "x", batch},
		"wrong token, empty": {token[:len(token)-1], nil},
		"foreign format":     {"0p3n5354m3==", []byte(`{"events":[]}`)},
	} {
		r := postCurrents(t, s.URL, tc.token, tc.body, nil)
		if r.status != http.StatusUnauthorized || r.err == "" {
			t.Errorf("%s: %d %q", name, r.status, r.err)
		}
	}
	r := postCurrents(t, s.URL, "", nil, map[string]string{"Authorization": "Basic " + token})
	if r.status != 401 {
		t.Fatalf("Basic scheme: %d", r.status)
	}
	if r := postCurrents(t, s.URL, token, nil, nil); r.status != 200 {
		t.Fatalf("valid token, empty body: %d", r.status)
	}
	s.Store.RevokeAPIToken(context.Background(), tok.WorkspaceID, tok.ID)
	for _, body := range [][]byte{nil, batch} {
		if r := postCurrents(t, s.URL, token, body, nil); r.status != 401 {
			t.Fatalf("revoked token: %d", r.status)
		}
	}
}

func TestCurrentsBatches(t *testing.T) {
	s, token, tok := currentsServer(t, map[string]string{"PEREGRINE_CURRENTS_MAX_BODY": "256KiB"})
	tokWS := func(*testing.T, *webtest.Server) int64 { return tok.WorkspaceID }

	for _, body := range []string{"", "   ", `{"events":[]}`} {
		r := postCurrents(t, s.URL, token, []byte(body), nil)
		if r.status != 200 || r.result.Stored != 0 {
			t.Fatalf("empty %q: %d %+v", body, r.status, r.result)
		}
	}
	for _, body := range []string{"{not json", `[]`, `{"events":{}}`, `{"data":[]}`} {
		r := postCurrents(t, s.URL, token, []byte(body), nil)
		if r.status != 400 || r.err == "" {
			t.Fatalf("malformed %q: %d", body, r.status)
		}
	}

	// Any JSON content type, or none, is accepted; so is gzip.
	for i, ct := range []string{"", "application/json", "application/json; charset=utf-8", "text/plain"} {
		body := []byte(strings.Replace(string(fixture(t, "users.messages.email.Open.json")), `"id": "`, `"id": "ct`+string(rune('a'+i)), 1))
		r := postCurrents(t, s.URL, token, body, map[string]string{"Content-Type": ct})
		if r.status != 200 || r.result.Stored != 1 {
			t.Fatalf("content type %q: %d %+v %s", ct, r.status, r.result, r.err)
		}
	}
	mixed := fixture(t, "mixed-batch.json")
	r := postCurrents(t, s.URL, token, gz(t, mixed), map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"})
	if r.status != 200 || r.result != (ingest.Result{Received: 100, Stored: 97, Duplicates: 3}) {
		t.Fatalf("gzip mixed batch: %d %+v %s", r.status, r.result, r.err)
	}
	// Duplicates across batches.
	r = postCurrents(t, s.URL, token, mixed, nil)
	if r.status != 200 || r.result.Stored != 0 || r.result.Duplicates != 100 {
		t.Fatalf("re-delivered batch: %+v", r.result)
	}
	if r := postCurrents(t, s.URL, token, []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}); r.status != 400 {
		t.Fatalf("broken gzip: %d", r.status)
	}
	if r := postCurrents(t, s.URL, token, mixed, map[string]string{"Content-Encoding": "br"}); r.status != 415 {
		t.Fatalf("brotli: %d", r.status)
	}

	// One bad event does not fail the batch.
	r = postCurrents(t, s.URL, token, []byte(`{"events":[
		{"id":"good-1","event_type":"users.behaviors.CustomEvent","time":1773000000,"user":{"user_id":"u"},"properties":{"name":"x"}},
		{"event_type":"users.behaviors.CustomEvent","time":1773000000}]}`), nil)
	if r.status != 200 || r.result.Stored != 1 || r.result.Rejected != 1 {
		t.Fatalf("one bad event: %d %+v", r.status, r.result)
	}

	// Over the limit: 413, plain or as a small gzip that inflates past it.
	big := []byte(`{"events":[` + strings.Repeat(`{"id":"x","event_type":"t","time":1},`, 8000) + `{"id":"y","event_type":"t","time":1}]}`)
	if r := postCurrents(t, s.URL, token, big, nil); r.status != 413 {
		t.Fatalf("big body: %d", r.status)
	}
	bomb := gz(t, []byte(`{"events":[`+strings.Repeat(" ", 4<<20)+`]}`))
	if len(bomb) > 256<<10 {
		t.Fatal("bomb not small")
	}
	if r := postCurrents(t, s.URL, token, bomb, map[string]string{"Content-Encoding": "gzip"}); r.status != 413 {
		t.Fatalf("gzip bomb: %d", r.status)
	}

	// The stored events become activities in the background.
	deadline := time.Now().Add(20 * time.Second)
	for {
		leads, total, err := s.Store.ListLeads(context.Background(), store.Everyone(tokWS(t, s)), storeFilter(""))
		if err != nil {
			t.Fatal(err)
		}
		if total >= 10 {
			if len(leads) == 0 {
				t.Fatal("no leads listed")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d leads after 20s", total)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCurrentsBracketBomb: ten million open brackets (20 MB, 20 KB gzipped) used to end the
// process with a stack overflow in the JSON validator. Now: 400, and the server lives on.
func TestCurrentsBracketBomb(t *testing.T) {
	s, token, _ := currentsServer(t, nil)
	bomb := []byte(`{"events":[` + strings.Repeat("[", 10_000_000))
	small := gz(t, bomb)
	if len(small) > 64<<10 {
		t.Fatalf("gzipped bomb is %d bytes", len(small))
	}
	for name, r := range map[string]currentsReply{
		"plain":   postCurrents(t, s.URL, token, bomb, nil),
		"gzipped": postCurrents(t, s.URL, token, small, map[string]string{"Content-Encoding": "gzip"}),
		"closed":  postCurrents(t, s.URL, token, []byte(`{"events":[`+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)+`]}`), nil),
	} {
		switch {
		case name == "closed" && (r.status != 200 || r.result.Rejected != 1):
			t.Errorf("%s: %d %+v %s (a deep but valid event is set aside, the batch accepted)", name, r.status, r.result, r.err)
		case name != "closed" && (r.status != 400 || !strings.Contains(r.err, "not valid JSON")):
			t.Errorf("%s: %d %q", name, r.status, r.err)
		}
	}
	if r := postCurrents(t, s.URL, token, fixture(t, "users.messages.email.Open.json"), nil); r.status != 200 || r.result.Stored != 1 {
		t.Fatalf("the server does not serve after the bombs: %d %+v", r.status, r.result)
	}
}
