package outbox_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/outbox"
	. "tasktrack/sqlstore/sqlstoretest"
)

// BenchmarkWebhookBurst writes a burst of 10,000 events for one local
// receiver and measures the time until a running worker with the serve
// defaults has delivered them all.
func BenchmarkWebhookBurst(b *testing.B) {
	const burst = 10000
	for _, e := range []Engine{SQLite, Postgres} {
		b.Run(string(e), func(b *testing.B) {
			if e == Postgres {
				PostgresURL(b) // skips without one
			}
			var received atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { received.Add(1) }))
			b.Cleanup(srv.Close)
			for b.Loop() {
				b.StopTimer()
				db := Open(b, e)
				url := srv.URL + "/"
				h, err := db.Webhooks.CreateWebhook(System, tasktrack.WebhookInput{URL: &url, Events: []string{"*"}}, tasktrack.NewWebhookSecret())
				if err != nil {
					b.Fatal(err)
				}
				for range burst {
					if err := db.Webhooks.PingWebhook(System, h.ID); err != nil {
						b.Fatal(err)
					}
				}
				hooks := &outbox.Webhooks{Store: db.Webhooks, Client: outbox.NewWebhookClient(outbox.DefaultWebhookTimeout, true),
					PublicURL: "https://tt.example.com", PerEndpoint: outbox.DefaultWebhookPerEndpoint, Now: time.Now,
					Logger: slog.New(slog.DiscardHandler)}
				w := outbox.New(db.Outbox, map[string]outbox.Kind{tasktrack.DeliveryWebhook: outbox.WebhookKind(hooks, 0)}, nil, slog.New(slog.DiscardHandler))
				received.Store(0)
				ctx, cancel := context.WithCancel(context.Background())
				stopped := make(chan struct{})
				b.StartTimer()
				go func() { w.Run(ctx); close(stopped) }()
				for received.Load() < burst {
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				cancel()
				<-stopped
				if n, err := w.RunOnce(context.Background()); err != nil || n != 0 {
					b.Fatalf("left after the burst: %d %v", n, err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(burst)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
