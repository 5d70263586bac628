// Package demo simulates a B2B company's Braze traffic: people at a few hundred companies
// receiving campaigns, opening and clicking, visiting pricing pages, booking demos and buying,
// over the last N days, sent as Currents batches to a Peregrine endpoint.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Options size the simulation.
type Options struct {
	URL       string // the Currents endpoint
	Token     string
	People    int
	Companies int
	Days      int
	Seed      int64
	Now       time.Time
}

// Result says what was sent, and who the people are (for ApplyProfiles).
type Result struct {
	People, Events, Batches int
	Profiles                []Profile
}

// Profile is what Braze would answer a lookup of a simulated person with.
type Profile struct {
	Email, FirstName, LastName, Title, Country string
	Company                                    *Company // nil for a free-mail address
}

// Company is a simulated account.
type Company struct {
	Domain, Name, Industry, Country string
	Employees                       int
}

var (
	firstNames = strings.Fields("Anna David Priya Lukas Sofia James Emily Tom Chloe Hiroshi Mia Noah Lea Omar Sara Jonas Elena Marco Yuki Fatima Liam Nina Ravi Clara Felix Ines Ahmed Julia Mateo Olga")
	lastNames  = strings.Fields("Keller Chen Nair Becker Martinez OBrien Watson Baker Nguyen Tanaka Wong Meier Rossi Haddad Lindqvist Novak Silva Dubois Kowalski Jensen Moreau Fischer Costa Ibrahim Schmid Tan Weber Romero Petrov Ali")
	// Titles by seniority, most senior first; seniorityShare is how many people hold each.
	titlesBySeniority = [][]string{
		{"CEO", "CMO", "CTO", "Chief Revenue Officer", "Founder"},
		{"VP Sales", "VP Marketing", "Vice President Operations", "VP Engineering"},
		{"Head of Marketing", "Head of Growth", "Sales Director", "Operations Director", "Director of IT"},
		{"Marketing Manager", "Product Manager", "Account Executive", "Growth Lead", "IT Manager"},
		{"Marketing Specialist", "Analyst", "Sales Development Representative", "Software Engineer", "Intern"},
	}
	seniorityShare = []float64{0.06, 0.10, 0.18, 0.30, 0.36}
	industries     = []string{"Software", "Financial Services", "Manufacturing", "Healthcare", "Retail", "Logistics", "Education", "Media"}
	countries      = []string{"US", "US", "US", "GB", "DE", "CH", "FR", "NL", "SE", "CA"}
	suffixes       = []string{"Inc", "GmbH", "AG", "Ltd", "Group", "Labs"}
	words          = strings.Fields("acme globex initech umbrella hooli stark wayne cyberdyne soylent vandelay tyrell wonka oscorp aperture nakatomi gringotts dunder pied piper bluth massive dynamic monarch zorg")
	campaigns      = []string{"Q1 2026 Product Webinar Invite", "March 2026 Customer Newsletter", "ROI Calculator Follow-up", "Pricing Update 2026", "Case Study: Scaling Onboarding", "Growth Summit Berlin Invite"}
	canvases       = []string{"Enterprise Trial Nurture 2026", "Dormant Lead Re-engagement", "New Signup Onboarding"}
	customs        = []string{"pricing_page_viewed", "demo_requested", "webinar_registered", "whitepaper_downloaded", "integration_page_viewed", "trial_started", "feature_used"}
	freeMail       = []string{"gmail.com", "outlook.com", "yahoo.com", "icloud.com"}
)

type person struct {
	brazeID, externalID, email, phone string
	interest                          float64 // how engaged: a few are hot, most are not
	bought                            bool    // buys at most once
	profile                           Profile
}

// Run sends the simulated traffic in 100-event batches.
func Run(ctx context.Context, o Options) (Result, error) {
	rng := rand.New(rand.NewSource(o.Seed))
	companies := make([]*Company, o.Companies)
	for i := range companies {
		word := words[i%len(words)]
		companies[i] = &Company{Domain: fmt.Sprintf("%s%d.example.com", word, i/len(words)),
			Name:     fmt.Sprintf("%s%s %s", strings.ToUpper(word[:1]), word[1:], suffixes[rng.Intn(len(suffixes))]),
			Industry: industries[rng.Intn(len(industries))], Country: countries[rng.Intn(len(countries))],
			Employees: int(10 * math.Pow(10, 3.3*rng.Float64()))} // 10 to 20,000, most of them small
	}
	people := make([]person, o.People)
	for i := range people {
		first, last := firstNames[rng.Intn(len(firstNames))], lastNames[rng.Intn(len(lastNames))]
		company := companies[int(float64(len(companies))*rng.Float64()*rng.Float64())] // bigger accounts have more people
		domain := company.Domain
		if rng.Intn(12) == 0 {
			company, domain = nil, freeMail[rng.Intn(len(freeMail))]
		}
		email := strings.ToLower(fmt.Sprintf("%s.%s%d@%s", first, last, i, domain))
		country := countries[rng.Intn(len(countries))]
		if company != nil && rng.Intn(4) > 0 {
			country = company.Country
		}
		people[i] = person{
			brazeID:    fmt.Sprintf("%024x", rng.Int63()),
			externalID: fmt.Sprintf("crm-%06d", i),
			email:      email,
			phone:      fmt.Sprintf("+1415555%04d", i%10000),
			interest:   rng.ExpFloat64(),
			profile:    Profile{Email: email, FirstName: first, LastName: last, Title: pickTitle(rng), Country: country, Company: company},
		}
	}
	start := o.Now.Add(-time.Duration(o.Days) * 24 * time.Hour)
	var events []map[string]any
	var res Result
	for i, p := range people {
		res.Profiles = append(res.Profiles, p.profile)
		n := 1 + int(p.interest*float64(o.Days)/6)
		for k := 0; k < n; k++ {
			// Engaged people cluster their activity towards now.
			frac := 1 - rng.Float64()*rng.Float64()/(0.5+p.interest)
			frac = max(0, min(1, frac))
			at := start.Add(time.Duration(frac * float64(o.Now.Sub(start))))
			events = append(events, eventFor(rng, &people[i], at, fmt.Sprintf("demo-%d-%d", i, k)))
		}
	}
	// Braze delivers roughly in time order, with per-type queues mixing it up a little.
	sort.SliceStable(events, func(i, j int) bool { return events[i]["time"].(int64) < events[j]["time"].(int64) })
	res.People, res.Events = len(people), len(events)
	client := &http.Client{Timeout: 30 * time.Second}
	for startIdx := 0; startIdx < len(events); startIdx += 100 {
		batch := events[startIdx:min(startIdx+100, len(events))]
		body, _ := json.Marshal(map[string]any{"events": batch})
		if err := post(ctx, client, o.URL, o.Token, body); err != nil {
			return res, err
		}
		res.Batches++
	}
	return res, nil
}

func post(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Braze-Currents-Version", "1")
		res, err := client.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case res.StatusCode == http.StatusOK:
				return nil
			case res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests:
				return fmt.Errorf("the endpoint refused a batch: %d %s", res.StatusCode, strings.TrimSpace(string(msg)))
			}
			err = fmt.Errorf("the endpoint answered %d", res.StatusCode)
		}
		if attempt == 4 {
			return fmt.Errorf("could not deliver a batch to %s: %w", url, err)
		}
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
}

// pickTitle draws a title, more often junior than senior, as in any company.
func pickTitle(rng *rand.Rand) string {
	r := rng.Float64()
	for level, share := range seniorityShare {
		if r < share || level == len(seniorityShare)-1 {
			titles := titlesBySeniority[level]
			return titles[rng.Intn(len(titles))]
		}
		r -= share
	}
	return ""
}

func eventFor(rng *rand.Rand, p *person, at time.Time, id string) map[string]any {
	user := map[string]any{"user_id": p.brazeID, "external_user_id": p.externalID, "timezone": "Europe/Zurich"}
	campaign := campaigns[rng.Intn(len(campaigns))]
	emailProps := func() map[string]any {
		props := map[string]any{"email_address": p.email, "campaign_name": campaign, "campaign_id": fmt.Sprintf("cmp-%d", len(campaign))}
		if rng.Intn(4) == 0 { // sent by a Canvas: no campaign
			props = map[string]any{"email_address": p.email, "canvas_name": canvases[rng.Intn(len(canvases))], "canvas_id": "cnv-1"}
		}
		return props
	}
	ev := map[string]any{"id": id, "time": at.Unix(), "user": user}
	roll := rng.Float64() * (1 + p.interest)
	switch {
	case roll < 0.35:
		ev["event_type"], ev["properties"] = "users.messages.email.Delivery", emailProps()
	case roll < 0.65:
		ev["event_type"], ev["properties"] = "users.messages.email.Open", emailProps()
	case roll < 0.85:
		props := emailProps()
		props["url"] = "https://www.example.com/" + strings.ToLower(strings.ReplaceAll(campaign, " ", "-"))
		ev["event_type"], ev["properties"] = "users.messages.email.Click", props
	case roll < 1.3:
		name := customs[rng.Intn(len(customs))]
		ev["event_type"], ev["properties"] = "users.behaviors.CustomEvent", map[string]any{"name": name, "platform": "web",
			"custom_properties": map[string]any{"plan": []string{"starter", "pro", "enterprise"}[rng.Intn(3)], "seats": 5 + rng.Intn(200)}}
	case roll < 1.45:
		ev["event_type"], ev["properties"] = "users.canvas.Entry", map[string]any{"canvas_name": canvases[rng.Intn(len(canvases))],
			"canvas_id": "cnv-1", "canvas_variation_id": "var-1", "in_control_group": false}
	case roll < 1.55:
		ev["event_type"], ev["properties"] = "users.messages.pushnotification.Open", map[string]any{"campaign_name": "New Reporting Dashboard Launch", "app_id": "app-1"}
	case roll < 1.6:
		ev["event_type"], ev["properties"] = "users.messages.sms.InboundReceive", map[string]any{"inbound_phone_number": "+14155550100",
			"message_body": "Can we book a demo next week?", "user_phone_number": p.phone, "action": "None"}
	case !p.bought && p.interest > 1:
		// A company buys a plan once; engaged people are the ones who buy.
		p.bought = true
		plan := []struct {
			id    string
			price float64
		}{{"starter_plan_annual", 348}, {"pro_plan_annual", 1188}, {"enterprise_plan_annual", 9600}}[rng.Intn(3)]
		ev["event_type"], ev["properties"] = "users.behaviors.Purchase", map[string]any{"product_id": plan.id,
			"price": plan.price, "currency": "USD", "purchase_properties": map[string]any{"seats": 5 + rng.Intn(95)}}
	default:
		ev["event_type"], ev["properties"] = "users.behaviors.CustomEvent", map[string]any{"name": "feature_used", "platform": "web",
			"custom_properties": map[string]any{"feature": []string{"reports", "api", "sso", "exports"}[rng.Intn(4)]}}
	}
	return ev
}
