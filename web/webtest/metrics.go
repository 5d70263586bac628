package webtest

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// Metric is the value of the sample of family name whose labels include every given pair
// ("queue", "inbound", ...), and whether there is one: counters, gauges and untyped alike.
func Metric(families map[string]*dto.MetricFamily, name string, labelPairs ...string) (float64, bool) {
	fam := families[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if hasLabels(m, labelPairs) {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Gather reads the server's metrics registry as /metrics would.
func (s *Server) Gather(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := s.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}
