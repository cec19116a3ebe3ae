package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tasktrack"
	"tasktrack/mail"
	"tasktrack/outbox"
	"tasktrack/sqlstore"
)

// newOutboxWorker returns the worker that sends the outbox's webhooks
// and, when an SMTP server is configured, its email (without one the
// store writes no email), and closeMail, which closes the SMTP sessions
// kept open between emails: call it once the worker's Run has returned.
func newOutboxWorker(c *Config, db *sqlstore.DB, logger *slog.Logger) (w *outbox.Worker, closeMail func(), err error) {
	kinds := map[string]outbox.Kind{tasktrack.DeliveryWebhook: webhookKind(c, db, logger)}
	if c.SMTP == nil {
		return outbox.New(db.Outbox, kinds, db.OutboxChanged(), logger), func() {}, nil
	}
	cfg := *c.SMTP
	cfg.From = c.SMTPFrom
	sender, err := mail.NewSender(cfg)
	if err != nil {
		return nil, nil, usageErrorf("bad setting --smtp-url ($TASKTRACK_SMTP_URL): %v", err)
	}
	base := c.PublicURL
	if base == "" {
		base = "http://" + c.Addr
	}
	templates, err := mail.NewTemplates(base)
	if err != nil {
		return nil, nil, usageErrorf("bad setting --public-url ($TASKTRACK_PUBLIC_URL): %v", err)
	}
	// Message-IDs are made in the sender's domain, as mail clients expect.
	domain := cfg.From.Address[strings.LastIndexByte(cfg.From.Address, '@')+1:]
	emailer := &outbox.Emailer{Sender: sender, Templates: templates, Domain: domain}
	kinds[tasktrack.DeliveryEmail] = outbox.EmailKind(emailer, c.SMTPRetryBase)
	w = outbox.New(db.Outbox, kinds, db.OutboxChanged(), logger)
	logger.Info("sending email", "smtp", cfg.String(), "from", cfg.From.String())
	return w, func() { _ = sender.Close() }, nil
}

// noticeMetrics count notifications and deliveries, and watch the outbox.
type noticeMetrics struct {
	notifications *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
}

// watchNotices registers the metrics of notifications and the outbox: the
// notifications this process created by kind, its deliveries by kind and
// outcome, and, read from the database at each scrape, the deliveries
// waiting and the age of the oldest.
func (m *metrics) watchNotices(db *sqlstore.DB) *noticeMetrics {
	n := &noticeMetrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasktrack_notifications_created_total", Help: "Notifications created by this process, by kind.",
		}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasktrack_outbox_deliveries_total", Help: "Delivery attempts by this process, by kind and outcome (delivered, retrying, failed).",
		}, []string{"kind", "outcome"}),
	}
	for _, k := range tasktrack.NotificationKinds {
		n.notifications.WithLabelValues(k)
	}
	for _, o := range []string{outbox.Delivered, outbox.Retrying, outbox.Failed} {
		n.deliveries.WithLabelValues(tasktrack.DeliveryEmail, o)
		n.deliveries.WithLabelValues(tasktrack.DeliveryWebhook, o)
	}
	m.reg.MustRegister(n.notifications, n.deliveries, &outboxCollector{db: db,
		depth: prometheus.NewDesc("tasktrack_outbox_pending", "Deliveries waiting to be made, by kind.", []string{"kind"}, nil),
		age:   prometheus.NewDesc("tasktrack_outbox_oldest_pending_age_seconds", "Age of the oldest delivery waiting (0 when none waits).", nil, nil),
	})
	m.reg.MustRegister(newWebhookCollector(db))
	return n
}

// notification counts notifications created, by kind; kinds come from a
// fixed set, so no caller can add series.
func (n *noticeMetrics) notification(kind string, count int) {
	if tasktrack.ValidNotificationKind(kind) {
		n.notifications.WithLabelValues(kind).Add(float64(count))
	}
}

func (n *noticeMetrics) delivery(kind, outcome string) {
	n.deliveries.WithLabelValues(kind, outcome).Inc()
}

// outboxCollector reads the outbox's depth at each scrape.
type outboxCollector struct {
	db         *sqlstore.DB
	depth, age *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.age
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, oldest, err := c.db.Outbox.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	for _, k := range []string{tasktrack.DeliveryEmail, tasktrack.DeliveryWebhook} {
		if _, ok := pending[k]; !ok {
			pending[k] = 0
		}
	}
	for kind, n := range pending {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), kind)
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, time.Since(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
}
