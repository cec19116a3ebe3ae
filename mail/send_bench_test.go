package mail_test

import (
	"context"
	"crypto/x509"
	"strings"
	"sync"
	"testing"

	"tasktrack/mail"
	"tasktrack/mail/smtptest"
)

// BenchmarkSend sends b.N messages to smtptest on 127.0.0.1, one after
// another and from 4 goroutines (the outbox worker's concurrency), and
// reports messages per second and connections per message.
func BenchmarkSend(b *testing.B) {
	serverTLS, roots := smtptest.NewCertificate(b)
	users := map[string]string{"tt": "s3cret"}
	cases := []struct {
		name     string
		opts     smtptest.Options
		userinfo string
	}{
		{"plain", smtptest.Options{}, ""},
		{"STARTTLS+AUTH", smtptest.Options{TLS: serverTLS, Users: users}, "tt:s3cret"},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 4} {
			name := c.name + "/sequential"
			if workers > 1 {
				name = c.name + "/concurrent4"
			}
			b.Run(name, func(b *testing.B) {
				srv := smtptest.NewServer(b, c.opts)
				s := benchSender(b, srv, c.userinfo, roots)
				m := message()
				b.ResetTimer()
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				for w := range workers {
					n := b.N / workers
					if w < b.N%workers {
						n++
					}
					wg.Go(func() {
						for range n {
							if err := s.Send(context.Background(), m); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				b.ReportMetric(float64(srv.Connections())/float64(b.N), "conns/msg")
			})
		}
	}
}

func benchSender(b *testing.B, srv *smtptest.Server, userinfo string, roots *x509.CertPool) *mail.Sender {
	b.Helper()
	raw := srv.URL()
	if userinfo != "" {
		raw = strings.Replace(raw, "://", "://"+userinfo+"@", 1)
	}
	cfg, err := mail.ParseURL(raw)
	if err != nil {
		b.Fatal(err)
	}
	if cfg.From, err = mail.ParseFrom("tasktrack <noreply@tt.example.com>"); err != nil {
		b.Fatal(err)
	}
	cfg.RootCAs = roots
	s, err := mail.NewSender(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
