package ingest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/tracker"
)

// The stored payload is the body with the site and arrival time appended; a body that sets
// them itself is overruled.
func TestStoredPayloadCannotBeForged(t *testing.T) {
	body := []byte(`{"s":"ps_1_k","v":"abcdefghijklmnop","e":"ABCDEFGHIJKLMNOP","t":"page","u":"https://a.example/","sid":999,"rt":"2001-01-01T00:00:00Z"}` + " \n")
	if _, err := tracker.Decode(body); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 123, time.UTC)
	var h storedHit
	if err := json.Unmarshal(storedPayload(body, 42, at), &h); err != nil {
		t.Fatal(err)
	}
	if h.SiteID != 42 || !h.Received.Equal(at) || h.Visitor != "abcdefghijklmnop" {
		t.Fatalf("read back %+v", h)
	}
}
