package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestDemoIsPlausible: a person buys at most once, titles span every seniority, and companies
// differ in industry and size.
func TestDemoIsPlausible(t *testing.T) {
	var mu sync.Mutex
	purchases := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Events []struct {
				Type string         `json:"event_type"`
				User map[string]any `json:"user"`
			} `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, ev := range body.Events {
			if ev.Type == "users.behaviors.Purchase" {
				purchases[ev.User["user_id"].(string)]++
			}
		}
		mu.Unlock()
	}))
	defer srv.Close()
	res, err := Run(t.Context(), Options{URL: srv.URL, Token: "t", People: 400, Companies: 40, Days: 30, Seed: 7, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(purchases) == 0 {
		t.Fatal("nobody bought anything")
	}
	for user, n := range purchases {
		if n > 1 {
			t.Fatalf("%s bought %d times", user, n)
		}
	}
	levels, industries, sizes := map[int]bool{}, map[string]bool{}, map[bool]bool{}
	for _, p := range res.Profiles {
		for level, titles := range titlesBySeniority {
			for _, title := range titles {
				if title == p.Title {
					levels[level] = true
				}
			}
		}
		if p.Company != nil {
			industries[p.Company.Industry] = true
			sizes[p.Company.Employees >= 200] = true
		}
	}
	if len(levels) != len(titlesBySeniority) || len(industries) < 4 || len(sizes) != 2 || len(res.Profiles) != 400 {
		t.Fatalf("%d seniorities, %d industries, sizes %v, %d profiles", len(levels), len(industries), sizes, len(res.Profiles))
	}
}
