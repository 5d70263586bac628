package braze

import (
	"net/url"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/outbound"
)

// Instance is a Braze data centre and its REST endpoint.
type Instance struct {
	Name, Endpoint string
}

// Instances lists the documented Braze instances (braze.md §4).
var Instances = []Instance{
	{"US-01", "https://rest.iad-01.braze.com"},
	{"US-02", "https://rest.iad-02.braze.com"},
	{"US-03", "https://rest.iad-03.braze.com"},
	{"US-04", "https://rest.iad-04.braze.com"},
	{"US-05", "https://rest.iad-05.braze.com"},
	{"US-06", "https://rest.iad-06.braze.com"},
	{"US-07", "https://rest.iad-07.braze.com"},
	{"US-08", "https://rest.iad-08.braze.com"},
	{"US-10", "https://rest.us-10.braze.com"},
	{"EU-01", "https://rest.fra-01.braze.eu"},
	{"EU-02", "https://rest.fra-02.braze.eu"},
	{"AU-01", "https://rest.au-01.braze.com"},
	{"ID-01", "https://rest.id-01.braze.com"},
}

// InstanceByName finds a documented instance.
func InstanceByName(name string) (Instance, bool) {
	for _, in := range Instances {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// InstanceOf names the instance of an endpoint, or "" for another URL.
func InstanceOf(endpoint string) string {
	for _, in := range Instances {
		if in.Endpoint == endpoint {
			return in.Name
		}
	}
	return ""
}

// CheckEndpoint validates a pasted REST endpoint: a web address with a host and no path
// beyond "/", that the outbound policy lets Peregrine call (Braze's REST hosts over https,
// unless the operator allows other hosts).
func CheckEndpoint(raw string, policy outbound.Policy) (string, string) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return raw, "Enter the REST endpoint from your Braze dashboard, like https://rest.fra-01.braze.eu."
	}
	if err := policy.Check(outbound.Braze, raw); err != nil {
		return raw, err.Error()
	}
	return raw, ""
}
