package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Metrics is what /metrics exports: the Go runtime and process, the work layer's queues
// (registered by NewWorkers), Currents requests by status, and the Salesforce API use.
type Metrics struct {
	Registry *prometheus.Registry
	currents *prometheus.CounterVec
	sfCalls  prometheus.Counter
}

// NewMetrics makes the registry with the collectors that need no worker.
func NewMetrics(st *store.Store, log *slog.Logger) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.currents = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "peregrine", Name: "currents_requests_total",
		Help: "Braze Currents requests answered, by HTTP status."}, []string{"status"})
	m.sfCalls = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "peregrine", Subsystem: "salesforce", Name: "api_calls_total",
		Help: "Salesforce API calls made by this process (pushes and pulls)."})
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.currents, m.sfCalls, &salesforceUsage{store: st, log: log})
	return m
}

// SalesforceCalls counts API calls (the pusher reports them).
func (m *Metrics) SalesforceCalls(n int) { m.sfCalls.Add(float64(n)) }

// countCurrents counts every Currents answer by status.
func (m *Metrics) countCurrents(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		status := c.Response().Status
		if he, ok := err.(*echo.HTTPError); ok {
			status = he.Code
		}
		m.currents.WithLabelValues(strconv.Itoa(status)).Inc()
		return err
	}
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// protected serves /metrics on the main address only with the configured bearer token;
// without one configured the route does not exist (404), so nothing leaks by default.
func (m *Metrics) protected(token string) echo.HandlerFunc {
	h := echo.WrapHandler(m.Handler())
	return func(c echo.Context) error {
		if token == "" {
			return echo.ErrNotFound
		}
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="peregrine-metrics"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "Send the metrics token: Authorization: Bearer <PEREGRINE_METRICS_TOKEN>.")
		}
		return h(c)
	}
}

// salesforceUsage reports each connected workspace's API calls used and allowed, and the
// share Peregrine may use, as Salesforce last told them.
type salesforceUsage struct {
	store *store.Store
	log   *slog.Logger
}

var (
	sfUsedDesc  = prometheus.NewDesc("peregrine_salesforce_api_used", "API calls the org used in the rolling 24 hours, as Salesforce last said.", []string{"workspace"}, nil)
	sfMaxDesc   = prometheus.NewDesc("peregrine_salesforce_api_max", "API calls the org may make in 24 hours.", []string{"workspace"}, nil)
	sfShareDesc = prometheus.NewDesc("peregrine_salesforce_api_share_ratio", "Share of the allowance Peregrine may use (its budget).", []string{"workspace"}, nil)
)

func (u *salesforceUsage) Describe(ch chan<- *prometheus.Desc) {
	ch <- sfUsedDesc
	ch <- sfMaxDesc
	ch <- sfShareDesc
}

func (u *salesforceUsage) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	usage, err := u.store.SalesforceUsage(ctx)
	if err != nil {
		u.log.Warn("reading Salesforce usage for /metrics failed", "err", err)
		return
	}
	for _, x := range usage {
		ws := strconv.FormatInt(x.WorkspaceID, 10)
		if x.Used != nil {
			ch <- prometheus.MustNewConstMetric(sfUsedDesc, prometheus.GaugeValue, float64(*x.Used), ws)
		}
		if x.Max != nil {
			ch <- prometheus.MustNewConstMetric(sfMaxDesc, prometheus.GaugeValue, float64(*x.Max), ws)
		}
		ch <- prometheus.MustNewConstMetric(sfShareDesc, prometheus.GaugeValue, float64(x.SharePercent)/100, ws)
	}
}
