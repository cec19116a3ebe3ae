package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/emersion/go-smtp"
)

// smtpSink accepts every message on addr and throws it away, counting
// them, until SIGTERM or SIGINT; then it prints the count. With
// -count-addr, an HTTP listener there answers every GET with the count so
// far (for drain). bench/run.sh points tasktrack's --smtp-url at it, so that
// creating a task is measured with its email written and sent.
func smtpSink(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("smtpsink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "address to listen on")
	countAddr := fs.String("count-addr", "", "address of an HTTP listener that answers the count (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var received atomic.Int64
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{received: &received}, nil
	}))
	srv.Domain = "sink.localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *countAddr != "" {
		cln, err := net.Listen("tcp", *countAddr)
		if err != nil {
			return err
		}
		cs := countServer(&received)
		go cs.Serve(cln)
		defer cs.Close()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != smtp.ErrServerClosed {
		return err
	}
	fmt.Fprintf(stdout, "received %d messages\n", received.Load())
	return nil
}

type sinkSession struct{ received *atomic.Int64 }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }

func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.received.Add(1)
	return nil
}
