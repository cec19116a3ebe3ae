package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tasktrack/outbox"
	"tasktrack/sqlstore"
)

// webhookKind is the outbox kind that calls webhooks, with links to
// --public-url (or the listen address) in Slack and Discord lines.
func webhookKind(c *Config, db *sqlstore.DB, logger *slog.Logger) outbox.Kind {
	base := c.PublicURL
	if base == "" {
		base = "http://" + c.Addr
	}
	h := &outbox.Webhooks{Store: db.Webhooks, Client: outbox.NewWebhookClient(outbox.DefaultWebhookTimeout, c.WebhookAllowPrivate),
		PublicURL: base, Timeout: outbox.DefaultWebhookTimeout, PerEndpoint: outbox.DefaultWebhookPerEndpoint,
		Now: time.Now, Logger: logger}
	return outbox.WebhookKind(h, c.WebhookRetryBase)
}

// webhookCollector reads the endpoints' health at each scrape.
type webhookCollector struct {
	db    *sqlstore.DB
	state *prometheus.Desc
}

func newWebhookCollector(db *sqlstore.DB) *webhookCollector {
	return &webhookCollector{db: db, state: prometheus.NewDesc("tasktrack_webhook_endpoints",
		"Webhook endpoints by state: active, failing (active, its last attempt failed) and disabled.", []string{"state"}, nil)}
}

func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.state }

func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	active, disabled, failing, err := c.db.Webhooks.WebhookHealth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.state, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(active), "active")
	ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(failing), "failing")
	ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(disabled), "disabled")
}
