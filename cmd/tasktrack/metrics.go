package main

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tasktrack"
	"tasktrack/httpapi"
	"tasktrack/sqlstore"
)

// metrics are what /metrics shows, on a registry of their own (no globals).
type metrics struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec
	latency          *prometheus.HistogramVec
	overload         prometheus.Counter
	loginFailures    prometheus.Counter
	loginLimited     prometheus.Counter
	tasksMissed      prometheus.Counter
	usersDeactivated prometheus.Counter
	usersReactivated prometheus.Counter
	sweepDuration    prometheus.Histogram
	sweepFailures    prometheus.Counter
	lastSweep        prometheus.Gauge
}

func newMetrics(db *sqlstore.DB) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasktrack_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tasktrack_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		overload:         prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_http_overload_total", Help: "Requests refused with 503 because too many were in flight."}),
		loginFailures:    prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_login_failures_total", Help: "Failed logins."}),
		loginLimited:     prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_login_rate_limited_total", Help: "Logins refused by the rate limit."}),
		tasksMissed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_tasks_missed_total", Help: "Tasks marked missed by this process's sweeps."}),
		usersDeactivated: prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_users_deactivated_total", Help: "Users deactivated by this process's sweeps."}),
		usersReactivated: prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_users_reactivated_total", Help: "Users reactivated through this process's API."}),
		sweepDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tasktrack_sweep_duration_seconds", Help: "Duration of sweeps.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 2.5, 5, 10},
		}),
		sweepFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "tasktrack_sweep_failures_total", Help: "Sweeps that failed."}),
		lastSweep:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "tasktrack_sweep_last_success_timestamp_seconds", Help: "Unix time of the last successful sweep."}),
	}
	reg.MustRegister(m.requests, m.latency, m.overload, m.loginFailures, m.loginLimited, m.tasksMissed,
		m.usersDeactivated, m.usersReactivated, m.sweepDuration, m.sweepFailures, m.lastSweep,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newDBStatsCollector(db))
	return m
}

// handler serves /metrics, and 404 at every other path.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}

// reactivateRoute is the route whose successes are reactivations.
const reactivateRoute = "/api/user/users/{id}/reactivate/"

func (m *metrics) observe(route, method string, status int, seconds float64) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(seconds)
	if route == reactivateRoute && method == http.MethodPost && status == http.StatusOK {
		m.usersReactivated.Inc()
	}
}

func (m *metrics) loginFailure(limited bool) {
	if limited {
		m.loginLimited.Inc()
	} else {
		m.loginFailures.Inc()
	}
}

func (m *metrics) sweep(res tasktrack.SweepResult, err error) {
	if err != nil {
		m.sweepFailures.Inc()
		return
	}
	m.tasksMissed.Add(float64(res.TasksMissed))
	m.usersDeactivated.Add(float64(res.UsersDeactivated))
	m.sweepDuration.Observe(res.Duration.Seconds())
	m.lastSweep.Set(float64(res.At.UnixNano()) / 1e9)
}

// watchInFlight exposes the API's in-flight requests as a gauge.
func (m *metrics) watchInFlight(api *httpapi.Server) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tasktrack_http_in_flight_requests", Help: "HTTP requests being served.",
	}, func() float64 { return float64(api.InFlight()) }))
}

// dbStatsCollector exposes the connection pools' statistics.
type dbStatsCollector struct {
	db                           *sqlstore.DB
	open, inUse, idle, waitCount *prometheus.Desc
}

func newDBStatsCollector(db *sqlstore.DB) *dbStatsCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("tasktrack_db_"+name, help, []string{"pool"}, nil)
	}
	return &dbStatsCollector{db: db,
		open: d("open_connections", "Open connections."), inUse: d("in_use_connections", "Connections in use."),
		idle: d("idle_connections", "Idle connections."), waitCount: d("wait_count_total", "Waits for a connection."),
	}
}

func (c *dbStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.inUse
	ch <- c.idle
	ch <- c.waitCount
}

func (c *dbStatsCollector) Collect(ch chan<- prometheus.Metric) {
	w, r := c.db.Stats()
	for pool, s := range map[string]struct{ open, inUse, idle, wait float64 }{
		"writer": {float64(w.OpenConnections), float64(w.InUse), float64(w.Idle), float64(w.WaitCount)},
		"reader": {float64(r.OpenConnections), float64(r.InUse), float64(r.Idle), float64(r.WaitCount)},
	} {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, s.open, pool)
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, s.inUse, pool)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, s.idle, pool)
		ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, s.wait, pool)
	}
}
