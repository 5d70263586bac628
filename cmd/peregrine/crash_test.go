package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/pgembed"
)

// TestKillDuringLoad kills the real server (SIGKILL: no shutdown, transactions and claims cut
// wherever they are) at random moments while clients post Currents batches, and starts it
// again, three times. Then every acknowledged event must be stored exactly once and have
// become exactly one activity, or wait for its person; nothing is done twice.
func TestKillDuringLoad(t *testing.T) {
	in := newInstance(t)
	// Claims of a killed server come back when their lease ends: 3 × this.
	in.env = append(in.env, "PEREGRINE_WORK_TIMEOUT=3s")
	s := in.startServer(false)
	if code, _, errOut := in.runCLI("", []string{"PEREGRINE_ADMIN_PASSWORD=a very long password"},
		"workspace", "create", "--name", "Acme", "--admin-email", "ops@acme.com"); code != 0 {
		t.Fatal(errOut)
	}
	code, token, errOut := in.runCLI("", nil, "token", "create", "--workspace", "acme", "--kind", "currents", "--label", "Braze")
	if code != 0 {
		t.Fatal(errOut)
	}
	token = strings.TrimSpace(token)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)

	cluster, _ := pgembed.New(in.dataDir, true)
	db, err := sql.Open("postgres", cluster.URL("peregrine"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string, args ...any) int {
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	posted, cutShort := 0, 0
	for round := 0; round < 3; round++ {
		stop := make(chan struct{})
		var clients sync.WaitGroup
		for c := 0; c < 4; c++ {
			clients.Add(1)
			go func() {
				defer clients.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					ids, body := crashBatch(round, c, n)
					req, _ := http.NewRequest(http.MethodPost, s.url+"/api/braze/currents/events", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+token)
					res, err := http.DefaultClient.Do(req)
					mu.Lock()
					posted += len(ids)
					if err == nil && res.StatusCode == http.StatusOK {
						for _, id := range ids {
							acked[id] = true
						}
					}
					mu.Unlock()
					if err != nil {
						time.Sleep(20 * time.Millisecond) // the server is down: wait for the next one
						continue
					}
					res.Body.Close()
					time.Sleep(10 * time.Millisecond) // steady traffic, not a flood: the kills are the test
				}
			}()
		}
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		if err := s.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		s.wait()
		close(stop)
		clients.Wait()
		// Claims the killed server held: work it was doing when it died.
		cutShort += count(`SELECT count(*) FROM inbound_queue WHERE claim IS NOT NULL`) + count(`SELECT count(*) FROM scoring_queue WHERE claim IS NOT NULL`)
		s = in.startServer(false)
		t.Logf("round %d: killed and restarted (ready in %v)", round, s.ready.Round(time.Millisecond))
	}
	t.Logf("%d events posted, %d acknowledged, %d items claimed by a server when it was killed", posted, len(acked), cutShort)
	if len(acked) == 0 || cutShort == 0 {
		t.Fatal("nothing was acknowledged, or no kill cut work short: the test proves nothing")
	}
	// Work the killed servers held comes back when its lease ends; a minute is a hang detector.
	deadline := time.Now().Add(2 * time.Minute)
	for count(`SELECT count(*) FROM inbound_queue`)+count(`SELECT count(*) FROM scoring_queue`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("work left after the kills: %d events, %d activities to score",
				count(`SELECT count(*) FROM inbound_queue`), count(`SELECT count(*) FROM scoring_queue`))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("all work done %v after the last restart", time.Since(deadline.Add(-2*time.Minute)).Round(time.Second))
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	if n := count(`SELECT count(*) FROM inbound_events WHERE event_id = ANY($1)`, pqArray(ids)); n != len(ids) {
		t.Fatalf("%d of %d acknowledged events stored", n, len(ids))
	}
	if n := count(`SELECT count(*) FROM inbound_events e WHERE e.state = 'pending' AND
		(SELECT count(*) FROM activities a WHERE a.workspace_id = e.workspace_id AND a.id = e.id) +
		(SELECT count(*) FROM inbound_waiting w WHERE w.workspace_id = e.workspace_id AND w.event_row_id = e.id) <> 1`); n != 0 {
		t.Fatalf("%d stored events are not exactly one activity or one waiting event", n)
	}
	if acts, sum := count(`SELECT count(*) FROM activities`), count(`SELECT COALESCE(sum(activity_count), 0) FROM lead_activity`); acts != sum {
		t.Fatalf("leads count %d activities, there are %d: some were counted twice", sum, acts)
	}
	if n := count(`SELECT count(*) FROM work_quarantine`); n != 0 {
		t.Fatalf("%d items set aside", n)
	}
	s.stop(t)
}

// crashBatch makes a client's n-th batch of a round: 50 events of some of 2,000 people, most
// with their email, some known only by their Braze id (they wait, or join their email events).
func crashBatch(round, client, n int) ([]string, string) {
	var ids, evs []string
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("r%d-c%d-%d-%d", round, client, n, i)
		person := (client*7919 + n*50 + i) % 2000
		props := fmt.Sprintf(`"email_address":"p%d@co%d.example.com","campaign_name":"C"`, person, person%5)
		if i%5 == 0 {
			props = `"campaign_name":"C"`
		}
		evs = append(evs, fmt.Sprintf(`{"id":"%s","event_type":"users.messages.email.Open","time":%d,"user":{"user_id":"u%d"},"properties":{%s}}`,
			id, 1773000000+n*50+i, person, props))
		ids = append(ids, id)
	}
	return ids, `{"events":[` + strings.Join(evs, ",") + `]}`
}

func pqArray(s []string) string {
	return "{" + strings.Join(s, ",") + "}"
}
