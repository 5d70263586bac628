// Package currentstest holds Peregrine's own Braze Currents request bodies for tests: one
// batch per supported event type with every documented key (nulls where a key does not apply)
// and a mixed batch of 100 events in the sparse form Braze may also send. The shapes follow
// the Custom HTTP connector contract (event_type, id, time, user, properties); every value is
// made up. The files in testdata/ are written by TestFixturesUpToDate -update from the
// generator beside it, so the two cannot drift apart.
package currentstest

import (
	"embed"
	"path"
)

//go:embed testdata/*.json
var files embed.FS

// Read returns a batch body by file name, e.g. "mixed-batch.json" or
// "users.messages.email.Open.json". It panics on an unknown name: a test's typo.
func Read(name string) []byte {
	b, err := files.ReadFile(path.Join("testdata", name))
	if err != nil {
		panic("currentstest: " + err.Error())
	}
	return b
}

// Names lists the per-type files (one event each), in event-type order.
func Names() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = t + ".json"
	}
	return out
}

// Types are the 19 event types Peregrine turns into activities.
var Types = []string{
	"users.canvas.Entry",
	"users.behaviors.CustomEvent",
	"users.behaviors.app.FirstSession",
	"users.behaviors.InstallAttribution",
	"users.behaviors.Purchase",
	"users.messages.contentcard.Click",
	"users.messages.email.Bounce",
	"users.messages.email.Click",
	"users.messages.email.Delivery",
	"users.messages.email.Open",
	"users.messages.email.Unsubscribe",
	"users.messages.inappmessage.Click",
	"users.messages.pushnotification.Open",
	"users.messages.sms.InboundReceive",
	"users.messages.sms.ShortLinkClick",
	"users.messages.whatsapp.InboundReceive",
	"users.messages.whatsapp.Read",
	"users.behaviors.subscription.GlobalStateChange",
	"users.behaviors.subscriptiongroup.StateChange",
}

// Person is a Braze user of the fixtures.
type Person struct {
	UserID     string // Braze id (Currents user.user_id)
	ExternalID string // the customer's id; empty for anonymous users
	Email      string // as the person's email events carry it; empty when none do
	Phone      string
	TimeZone   string
}

// The people of the mixed batch. Ten of them can be named from the batch alone: everyone with
// an external id, and two anonymous users who have email events. AppOnly and SMSOnly can only
// be identified by a Braze lookup by Braze id, and UnknownSMSNumber (an inbound SMS with an
// empty user) only by a lookup by phone.
var (
	Nora    = Person{"6a01c3e5f7a9b1d3e5f7a901", "cust-1001", "nora.lindqvist@fjordsoft.example.com", "", "Europe/Stockholm"}
	Marco   = Person{"6a02d4f6a8b0c2e4f6a8b002", "cust-1002", "marco.ferri@pianeta.example.com", "", "Europe/Rome"}
	Aisha   = Person{"6a03e5a7b9c1d3f5a7b9c103", "cust-1003", "aisha.rahman@lumen.example.com", "", "Asia/Dubai"}
	Jonas   = Person{"6a04f6b8c0d2e4a6b8c0d204", "cust-1004", "jonas.weber@kraftwerk.example.com", "", "Europe/Berlin"}
	Lucia   = Person{"6a05a7c9d1e3f5b7c9d1e305", "cust-1005", "lucia.ortega@solaris.example.com", "", "America/Mexico_City"}
	Pete    = Person{"6a06b8d0e2f4a6c8d0e2f406", "cust-1006", "pete.harlow@brightline.example.com", "", "America/Chicago"}
	Grace   = Person{"6a07c9e1f3a5b7d9e1f3a507", "", "grace.okafor@meridian.example.com", "", "Africa/Lagos"}
	Liam    = Person{"6a08d0f2a4b6c8e0f2a4b608", "", "liam.fox@northwind.example.com", "", "Europe/London"}
	AppOnly = Person{"6a09e1a3b5c7d9f1a3b5c709", "", "", "", "Australia/Sydney"}
	SMSOnly = Person{"6a10f2b4c6d8e0a2b4c6d810", "", "", "+12025550123", ""}
	Kenji   = Person{"6a11a3c5d7e9f1b3c5d7e911", "cust-1011", "kenji.sato@tessera.example.com", "+12025550147", "Asia/Tokyo"}
	Elena   = Person{"6a12b4d6e8f0a2c4d6e8f012", "cust-1012", "elena.popescu@carpathia.example.com", "+12025550168", "Europe/Bucharest"}
)

// UnknownSMSNumber sends the mixed batch's inbound SMS whose user Braze does not know.
const UnknownSMSNumber = "+12025550188"

// Mixed-batch facts tests rely on.
const (
	MixedEvents     = 100 // events in the body
	MixedDistinct   = 97  // after dropping the 3 exact duplicates
	MixedNamedLeads = 10  // people with an email in the batch (and their 10 company domains)
	// MixedCanvasDelivery is the activity of an email sent by a Canvas: it has no campaign
	// name, so the Canvas names it.
	MixedCanvasDelivery = "[Nurturing] Received email Onboarding Journey 2026"
)

// ExternalIDs lists the external ids of everyone in the fixtures.
func ExternalIDs() []string {
	var out []string
	for _, p := range []Person{Nora, Marco, Aisha, Jonas, Lucia, Pete, Kenji, Elena} {
		out = append(out, p.ExternalID)
	}
	return out
}
