package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"slices"
	"sync"
	"testing"
	"time"

	"tasktrack/mail"
	"tasktrack/mail/smtptest"
)

// numbered is message() with a Message-ID of its own.
func numbered(i int) mail.Message {
	m := message()
	m.MessageID = fmt.Sprintf("<0193abcd-0000-7000-8000-%012d@tasktrack>", i)
	return m
}

// arrived returns the Message-ID and the connection of each message the
// server accepted, oldest first.
func arrived(t *testing.T, srv *smtptest.Server) (ids []string, conns []int) {
	t.Helper()
	for _, m := range srv.Messages() {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, msg.Header.Get("Message-Id"))
		conns = append(conns, m.Conn)
	}
	return ids, conns
}

func ids(ns ...int) []string {
	var out []string
	for _, n := range ns {
		out = append(out, numbered(n).MessageID)
	}
	return out
}

// eventually waits for cond, which the server makes true a moment after
// the client acted (it sees a connection end after the client's QUIT).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stalled waits until the server holds a message's data; a send that
// ended before (errc) fails the test.
func stalled(t *testing.T, held <-chan struct{}, errc <-chan error) {
	t.Helper()
	select {
	case <-held:
	case err := <-errc:
		t.Fatalf("Send ended before its data reached the server: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no data reached the server")
	}
}

func send(t *testing.T, s *mail.Sender, m mail.Message) {
	t.Helper()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send %s: %v", m.MessageID, err)
	}
}

// Messages sent one after another share one SMTP session: one connection,
// one greeting, one STARTTLS and one AUTH, and each message arrives as on
// a session of its own.
func TestSendReusesSession(t *testing.T) {
	serverTLS, roots := smtptest.NewCertificate(t)
	users := map[string]string{"tt": "pw"}
	cases := []struct {
		name     string
		opts     smtptest.Options
		userinfo string
		wantTLS  bool
		wantUser string
	}{
		{name: "plain relay"},
		{name: "STARTTLS, AUTH PLAIN", opts: smtptest.Options{TLS: serverTLS, Users: users},
			userinfo: "tt:pw", wantTLS: true, wantUser: "tt"},
		{name: "STARTTLS, AUTH LOGIN", opts: smtptest.Options{TLS: serverTLS, Users: users, Mechanisms: []string{"LOGIN"}},
			userinfo: "tt:pw", wantTLS: true, wantUser: "tt"},
		{name: "smtps, AUTH PLAIN", opts: smtptest.Options{TLS: serverTLS, ImplicitTLS: true, Users: users},
			userinfo: "tt:pw", wantTLS: true, wantUser: "tt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, c.opts)
			s := sender(t, srv, c.userinfo, "", roots)
			defer s.Close()
			var want []int
			for i := range 20 {
				send(t, s, numbered(i))
				want = append(want, i)
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
			gotIDs, conns := arrived(t, srv)
			if !slices.Equal(gotIDs, ids(want...)) {
				t.Errorf("arrived %q", gotIDs)
			}
			for i, m := range srv.Messages() {
				if m.TLS != c.wantTLS || m.User != c.wantUser || conns[i] != 1 ||
					m.From != "noreply@tt.example.com" || !slices.Equal(m.To, []string{"alice@example.com"}) {
					t.Errorf("message %d: TLS %v, user %q, connection %d, from %q to %q", i, m.TLS, m.User, conns[i], m.From, m.To)
				}
			}
			// Each message is whole: the last as the first.
			r := parse(t, srv.Messages()[19].Data)
			if lf(r.text) != message().Text || lf(r.html) != message().HTML {
				t.Errorf("last message: text %q, HTML %q", r.text, r.html)
			}
		})
	}
}

// A session carries at most its share of messages, and waits at most its
// idle time; then the Sender ends it with QUIT and opens another.
func TestSendSessionLimits(t *testing.T) {
	t.Run("messages", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{})
		s := sender(t, srv, "", "", nil)
		defer s.Close()
		s.SetPool(mail.DefaultMaxIdle, time.Hour, 3)
		for i := range 7 {
			send(t, s, numbered(i))
		}
		if _, conns := arrived(t, srv); !slices.Equal(conns, []int{1, 1, 1, 2, 2, 2, 3}) {
			t.Errorf("connections of the messages: %v", conns)
		}
		eventually(t, "1 connection open", func() bool { return srv.Open() == 1 })
	})
	t.Run("idle time", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{})
		s := sender(t, srv, "", "", nil)
		defer s.Close()
		s.SetPool(mail.DefaultMaxIdle, 20*time.Millisecond, mail.DefaultMaxMessages)
		send(t, s, numbered(1))
		eventually(t, "closed", func() bool { return srv.Open() == 0 && s.Idle() == 0 })
		send(t, s, numbered(2))
		if _, conns := arrived(t, srv); !slices.Equal(conns, []int{1, 2}) {
			t.Errorf("connections of the messages: %v", conns)
		}
	})
}

// Sends at once never share a session: one that holds a session waiting
// for the server's answer leaves the next to open one of its own.
func TestSendConcurrentSessions(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	s := sender(t, srv, "", "", nil)
	defer s.Close()
	send(t, s, numbered(0))
	held, release := srv.Stall()
	errc := make(chan error, 1)
	go func() { errc <- s.Send(context.Background(), numbered(1)) }()
	stalled(t, held, errc)
	send(t, s, numbered(2))
	release()
	if err := <-errc; err != nil {
		t.Fatalf("Send 1: %v", err)
	}
	gotIDs, conns := arrived(t, srv)
	if !slices.Equal(gotIDs, ids(0, 2, 1)) || !slices.Equal(conns, []int{1, 2, 1}) {
		t.Fatalf("arrived %q on connections %v; want %q on 1, 2, 1", gotIDs, conns, ids(0, 2, 1))
	}

	// A burst from several goroutines: every message arrives once and
	// whole, and no more sessions are kept than the pool holds.
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := s.Send(context.Background(), numbered(100+w*each+i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	gotIDs, _ = arrived(t, srv)
	var want []int
	for i := range workers * each {
		want = append(want, 100+i)
	}
	gotIDs = gotIDs[3:]
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, ids(want...)) {
		t.Errorf("arrived %q", gotIDs)
	}
	for i, m := range srv.Messages() {
		if r := parse(t, m.Data); lf(r.text) != message().Text {
			t.Errorf("message %d: text %q", i, r.text)
		}
	}
	if n := s.Idle(); n > mail.DefaultMaxIdle {
		t.Errorf("%d sessions kept", n)
	}
	eventually(t, "at most 4 connections open", func() bool { return srv.Open() <= mail.DefaultMaxIdle })
}

// A server that closed a kept session while it waited (an idle timeout, a
// restart): the next message goes on a new session, and arrives once.
func TestSendServerClosedSession(t *testing.T) {
	serverTLS, roots := smtptest.NewCertificate(t)
	for _, opts := range []smtptest.Options{{}, {TLS: serverTLS}} {
		for _, reply := range []bool{false, true} {
			t.Run(fmt.Sprintf("TLS %v, 421 %v", opts.TLS != nil, reply), func(t *testing.T) {
				srv := smtptest.NewServer(t, opts)
				s := sender(t, srv, "", "", roots)
				defer s.Close()
				send(t, s, numbered(1))
				if n := srv.CloseConnections(reply); n != 1 {
					t.Fatalf("closed %d connections", n)
				}
				send(t, s, numbered(2))
				send(t, s, numbered(3))
				gotIDs, conns := arrived(t, srv)
				if !slices.Equal(gotIDs, ids(1, 2, 3)) || !slices.Equal(conns, []int{1, 2, 2}) {
					t.Errorf("arrived %q on connections %v", gotIDs, conns)
				}
			})
		}
	}
	// Every kept session gone at once: each is found gone in turn.
	t.Run("all kept sessions", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{})
		s := sender(t, srv, "", "", nil)
		defer s.Close()
		held, release := srv.Stall()
		errc := make(chan error, 1)
		go func() { errc <- s.Send(context.Background(), numbered(1)) }()
		stalled(t, held, errc)
		send(t, s, numbered(2))
		release()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if s.Idle() != 2 {
			t.Fatalf("%d sessions kept, want 2", s.Idle())
		}
		srv.CloseConnections(false)
		// Two sends at once take both.
		held, release = srv.Stall()
		go func() { errc <- s.Send(context.Background(), numbered(3)) }()
		stalled(t, held, errc)
		send(t, s, numbered(4))
		release()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		gotIDs, conns := arrived(t, srv)
		if !slices.Equal(gotIDs, ids(2, 1, 4, 3)) {
			t.Errorf("arrived %q", gotIDs)
		}
		if conns[2] == conns[3] || slices.Contains(conns[:2], conns[2]) || slices.Contains(conns[:2], conns[3]) {
			t.Errorf("connections of the messages: %v", conns)
		}
	})
}

// Once the message's data was written, a failure is not tried again on
// another session, even on a kept one: the server may have the message.
func TestSendNoRetryAfterData(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	s := sender(t, srv, "", "", nil)
	defer s.Close()
	send(t, s, numbered(1))
	srv.DropAfterData(1)
	err := s.Send(context.Background(), numbered(2))
	if err == nil || mail.IsPermanent(err) {
		t.Fatalf("Send: %v, want a temporary error", err)
	}
	t.Log(err)
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d connections, want 1: tried again", n)
	}
	send(t, s, numbered(3))
	gotIDs, conns := arrived(t, srv)
	if !slices.Equal(gotIDs, ids(1, 2, 3)) || !slices.Equal(conns, []int{1, 1, 2}) {
		t.Errorf("arrived %q on connections %v", gotIDs, conns)
	}
}

// Refusals on a kept session are what they are on a new one, and not
// tried again; the session is closed after them. A 421 (the server closing
// the session) before the data is tried again, on a new session.
func TestSendRefusedOnKeptSession(t *testing.T) {
	cases := []struct {
		name      string
		at        smtptest.Stage
		code      int
		permanent bool
		retried   bool
	}{
		{"550 to RCPT", smtptest.AtRcpt, 550, true, false},
		{"553 to MAIL", smtptest.AtMail, 553, true, false},
		{"554 to the data", smtptest.AtData, 554, true, false},
		{"451 to MAIL", smtptest.AtMail, 451, false, false},
		{"452 to the data", smtptest.AtData, 452, false, false},
		{"421 to the data", smtptest.AtData, 421, false, false},
		{"421 to MAIL", smtptest.AtMail, 421, false, true},
		{"421 to RCPT", smtptest.AtRcpt, 421, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, smtptest.Options{})
			s := sender(t, srv, "", "", nil)
			defer s.Close()
			send(t, s, numbered(1))
			srv.Reply(c.at, c.code, 1)
			err := s.Send(context.Background(), numbered(2))
			if c.retried {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if n := srv.Connections(); n != 2 {
					t.Errorf("%d connections, want 2", n)
				}
				if gotIDs, _ := arrived(t, srv); !slices.Equal(gotIDs, ids(1, 2)) {
					t.Errorf("arrived %q", gotIDs)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if mail.IsPermanent(err) != c.permanent || mail.ReplyCode(err) != c.code {
				t.Errorf("%v: permanent %v, code %d", err, mail.IsPermanent(err), mail.ReplyCode(err))
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("%d connections, want 1: tried again", n)
			}
			send(t, s, numbered(3))
			if gotIDs, conns := arrived(t, srv); !slices.Equal(gotIDs, ids(1, 3)) || !slices.Equal(conns, []int{1, 2}) {
				t.Errorf("arrived %q on connections %v", gotIDs, conns)
			}
		})
	}
}

// The context ends a send on a kept session too, and the session is not
// kept after it.
func TestSendKeptSessionContext(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	s := sender(t, srv, "", "", nil)
	defer s.Close()
	send(t, s, numbered(1))
	held, release := srv.Stall()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-held:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	if err := s.Send(ctx, numbered(2)); !errors.Is(err, context.Canceled) || mail.IsPermanent(err) {
		t.Fatalf("Send: %v, want a temporary context.Canceled", err)
	}
	release()
	if s.Idle() != 0 {
		t.Errorf("%d sessions kept", s.Idle())
	}
	send(t, s, numbered(3))
	if n := srv.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// Close ends the kept sessions with QUIT; a Sender closed still sends,
// one session per message.
func TestSenderClose(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	s := sender(t, srv, "", "", nil)
	send(t, s, numbered(1))
	if srv.Open() != 1 || s.Idle() != 1 {
		t.Fatalf("%d connections open, %d sessions kept", srv.Open(), s.Idle())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Idle() != 0 {
		t.Errorf("%d sessions kept after Close", s.Idle())
	}
	eventually(t, "closed", func() bool { return srv.Open() == 0 })
	send(t, s, numbered(2))
	if s.Idle() != 0 {
		t.Errorf("%d sessions kept after Close", s.Idle())
	}
	eventually(t, "closed", func() bool { return srv.Open() == 0 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if gotIDs, conns := arrived(t, srv); !slices.Equal(gotIDs, ids(1, 2)) || !slices.Equal(conns, []int{1, 2}) {
		t.Errorf("arrived %q on connections %v", gotIDs, conns)
	}
}
