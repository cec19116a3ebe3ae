package main

import (
	"log/slog"
	"time"

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
	h := &outbox.Webhooks{Store: db, Client: outbox.NewWebhookClient(outbox.DefaultWebhookTimeout, c.WebhookAllowPrivate),
		PublicURL: base, Timeout: outbox.DefaultWebhookTimeout, PerEndpoint: outbox.DefaultWebhookPerEndpoint,
		Now: time.Now, Logger: logger}
	return outbox.WebhookKind(h, c.WebhookRetryBase)
}
