package mail_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack/mail"
	"tasktrack/mail/smtptest"
)

var sentAt = time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)

func message() mail.Message {
	return mail.Message{
		To:        netmail.Address{Name: "Alice Smith", Address: "alice@example.com"},
		Subject:   `Reminder: "Quarterly report 🚀" is due in 1 hour`,
		Text:      "Hello Alice,\n\n\"Quarterly report 🚀\" is due in 1 hour.\nOpen it: https://tt.example.com/tasks/0193abc\n",
		HTML:      `<p>Hello Alice,</p><p>&#34;Quarterly report 🚀&#34; is due in 1 hour. <a href="https://tt.example.com/tasks/0193abc">Open it</a></p>`,
		MessageID: "<0193abcd-0000-7000-8000-000000000001@tasktrack>",
		Date:      sentAt,
		Headers:   []mail.Header{{Name: "List-Unsubscribe", Value: "<https://tt.example.com/preferences>"}},
	}
}

// sender makes a Sender for the test server: from its URL plus suffix
// (credentials go into the URL), trusting roots.
func sender(t *testing.T, srv *smtptest.Server, userinfo, query string, roots *x509.CertPool) *mail.Sender {
	t.Helper()
	raw := srv.URL()
	if userinfo != "" {
		scheme, rest, _ := strings.Cut(raw, "://")
		raw = scheme + "://" + userinfo + "@" + rest
	}
	cfg, err := mail.ParseURL(raw + query)
	if err != nil {
		t.Fatal(err)
	}
	cfg.From, err = mail.ParseFrom("tasktrack <noreply@tt.example.com>")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = roots
	s, err := mail.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The message as a mail client reads it: headers, and both parts decoded.
type received struct {
	header     netmail.Header
	text, html string
}

func parse(t *testing.T, data []byte) received {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	r := received{header: m.Header}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if mediaType == "text/plain" {
		r.text = decodePart(t, m.Header.Get("Content-Transfer-Encoding"), m.Body)
		return r
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// NextPart has already undone quoted-printable.
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			r.text = string(body)
		case "text/html":
			r.html = string(body)
		default:
			t.Errorf("unexpected part %q", ct)
		}
	}
	return r
}

func decodePart(t *testing.T, encoding string, body io.Reader) string {
	t.Helper()
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		data, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return string(data)
}

func decodeHeader(t *testing.T, h netmail.Header, name string) string {
	t.Helper()
	v, err := new(mime.WordDecoder).DecodeHeader(h.Get(name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// CRLF line ends, as SMTP carries them, to the LF the strings above use.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestSend(t *testing.T) {
	serverTLS, roots := smtptest.NewCertificate(t)
	users := map[string]string{"tt": "pa:ss w0rd"}
	cases := []struct {
		name     string
		opts     smtptest.Options
		userinfo string // as in the URL
		query    string
		roots    *x509.CertPool
		wantTLS  bool
		wantUser string
	}{
		{name: "plain relay", opts: smtptest.Options{}},
		{name: "STARTTLS, trusted root", opts: smtptest.Options{TLS: serverTLS}, roots: roots, wantTLS: true},
		{name: "STARTTLS, insecure=1", opts: smtptest.Options{TLS: serverTLS}, query: "?insecure=1", wantTLS: true},
		{name: "smtps", opts: smtptest.Options{TLS: serverTLS, ImplicitTLS: true}, roots: roots, wantTLS: true},
		{name: "smtps, insecure=1", opts: smtptest.Options{TLS: serverTLS, ImplicitTLS: true}, query: "?insecure=1", wantTLS: true},
		{name: "STARTTLS, AUTH PLAIN", opts: smtptest.Options{TLS: serverTLS, Users: users},
			userinfo: "tt:pa%3Ass%20w0rd", roots: roots, wantTLS: true, wantUser: "tt"},
		{name: "STARTTLS, AUTH LOGIN", opts: smtptest.Options{TLS: serverTLS, Users: users, Mechanisms: []string{"LOGIN"}},
			userinfo: "tt:pa%3Ass%20w0rd", roots: roots, wantTLS: true, wantUser: "tt"},
		{name: "smtps, AUTH PLAIN", opts: smtptest.Options{TLS: serverTLS, ImplicitTLS: true, Users: users},
			userinfo: "tt:pa%3Ass%20w0rd", roots: roots, wantTLS: true, wantUser: "tt"},
		// go-mail sends a password without TLS only to localhost.
		{name: "AUTH PLAIN to localhost without TLS", opts: smtptest.Options{Users: users},
			userinfo: "tt:pa%3Ass%20w0rd", wantUser: "tt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, c.opts)
			m := message()
			if err := sender(t, srv, c.userinfo, c.query, c.roots).Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("%d messages arrived, want 1", len(got))
			}
			if got[0].From != "noreply@tt.example.com" || !slices.Equal(got[0].To, []string{"alice@example.com"}) {
				t.Errorf("envelope from %q to %q", got[0].From, got[0].To)
			}
			if got[0].TLS != c.wantTLS || got[0].User != c.wantUser {
				t.Errorf("TLS %v, user %q; want %v, %q", got[0].TLS, got[0].User, c.wantTLS, c.wantUser)
			}
			r := parse(t, got[0].Data)
			headers := []struct{ name, want string }{
				{"From", `"tasktrack" <noreply@tt.example.com>`},
				{"To", `"Alice Smith" <alice@example.com>`},
				{"Subject", m.Subject},
				{"Message-Id", m.MessageID},
				{"Auto-Submitted", "auto-generated"},
				{"List-Unsubscribe", "<https://tt.example.com/preferences>"},
				{"Mime-Version", "1.0"},
			}
			for _, h := range headers {
				if got := decodeHeader(t, r.header, h.name); got != h.want {
					t.Errorf("%s: %q, want %q", h.name, got, h.want)
				}
			}
			if date, err := r.header.Date(); err != nil || !date.Equal(m.Date) {
				t.Errorf("Date %v (%v), want %v", date, err, m.Date)
			}
			if lf(r.text) != m.Text {
				t.Errorf("text part %q, want %q", r.text, m.Text)
			}
			if lf(r.html) != m.HTML {
				t.Errorf("HTML part %q, want %q", r.html, m.HTML)
			}
		})
	}
}

func TestSendTextOnly(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	m := message()
	m.HTML = ""
	if err := sender(t, srv, "", "", nil).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := parse(t, srv.Messages()[0].Data)
	if ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	if lf(r.text) != m.Text {
		t.Errorf("text %q, want %q", r.text, m.Text)
	}
}

// A person's name, a title in the subject and a header value may hold line
// breaks; none of them may start a header of its own or add a recipient.
func TestSendHeaderInjection(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	m := message()
	m.To.Name = "Eve\r\nBcc: name@evil.example"
	m.Subject = "Hi\r\nBcc: subject@evil.example\r\n\r\nforged body"
	m.Headers = []mail.Header{{Name: "X-Task-Title", Value: "a\nBcc: header@evil.example"}}
	if err := sender(t, srv, "", "", nil).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0]
	if !slices.Equal(got.To, []string{"alice@example.com"}) {
		t.Errorf("recipients %q", got.To)
	}
	r := parse(t, got.Data)
	cases := []struct{ name, want string }{
		{"Bcc", ""},
		{"Subject", "Hi Bcc: subject@evil.example forged body"},
		{"X-Task-Title", "a Bcc: header@evil.example"},
	}
	for _, c := range cases {
		if got := decodeHeader(t, r.header, c.name); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	to, err := r.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "alice@example.com" || to[0].Name != m.To.Name {
		t.Errorf("To %v (%v)", to, err)
	}
	if lf(r.text) != m.Text {
		t.Errorf("text part %q", r.text)
	}
}

// Refusals and failures, and whether trying again could help.
func TestSendFailures(t *testing.T) {
	serverTLS, _ := smtptest.NewCertificate(t)
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	cases := []struct {
		name      string
		opts      smtptest.Options
		script    func(*smtptest.Server)
		userinfo  string
		addr      string // instead of the server's
		permanent bool
		code      int
	}{
		{name: "550 to RCPT", script: func(s *smtptest.Server) { s.Reply(smtptest.AtRcpt, 550, 1) }, permanent: true, code: 550},
		{name: "553 to MAIL", script: func(s *smtptest.Server) { s.Reply(smtptest.AtMail, 553, 1) }, permanent: true, code: 553},
		{name: "554 to the data", script: func(s *smtptest.Server) { s.Reply(smtptest.AtData, 554, 1) }, permanent: true, code: 554},
		{name: "451 to RCPT", script: func(s *smtptest.Server) { s.Reply(smtptest.AtRcpt, 451, 1) }, code: 451},
		{name: "452 to the data", script: func(s *smtptest.Server) { s.Reply(smtptest.AtData, 452, 1) }, code: 452},
		{name: "connection refused", addr: refused()},
		// The server or our settings are wrong, not the message: once they
		// are fixed, the message should still go out.
		{name: "untrusted certificate", opts: smtptest.Options{TLS: serverTLS}},
		{name: "wrong password", opts: smtptest.Options{Users: map[string]string{"tt": "right"}}, userinfo: "tt:wrong", code: 535},
		{name: "AUTH not offered", userinfo: "tt:pw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, c.opts)
			if c.script != nil {
				c.script(srv)
			}
			s := sender(t, srv, c.userinfo, "", nil)
			if c.addr != "" {
				host, port, _ := net.SplitHostPort(c.addr)
				cfg, err := mail.ParseURL("smtp://" + net.JoinHostPort(host, port))
				if err != nil {
					t.Fatal(err)
				}
				if s, err = mail.NewSender(cfg); err != nil {
					t.Fatal(err)
				}
			}
			err := s.Send(context.Background(), message())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			t.Log(err)
			if got := mail.IsPermanent(err); got != c.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, c.permanent)
			}
			if got := mail.ReplyCode(err); got != c.code {
				t.Errorf("ReplyCode(%v) = %d, want %d", err, got, c.code)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages arrived", n)
			}
		})
	}
}

// A server that refuses for a while and then accepts gets the message once.
func TestSendRetryAfterTemporaryRefusal(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	srv.Reply(smtptest.AtData, 451, 2)
	s := sender(t, srv, "", "", nil)
	for attempt := 1; attempt <= 3; attempt++ {
		err := s.Send(context.Background(), message())
		if attempt < 3 && (err == nil || mail.IsPermanent(err)) {
			t.Fatalf("attempt %d: %v, want a temporary error", attempt, err)
		}
		if attempt == 3 && err != nil {
			t.Fatalf("attempt 3: %v", err)
		}
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	if id := parse(t, got[0].Data).header.Get("Message-Id"); id != message().MessageID {
		t.Errorf("Message-ID %q", id)
	}
}

// The caller's context, and Config.Timeout, end a conversation with a
// server that stops answering.
func TestSendStalledServer(t *testing.T) {
	cases := []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    error
	}{
		// Only the context can end this one.
		{"context canceled", time.Hour, true, context.Canceled},
		{"timeout", 50 * time.Millisecond, false, context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, smtptest.Options{})
			held, release := srv.Stall()
			defer release()
			cfg, err := mail.ParseURL(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			cfg.Timeout = c.timeout
			s, err := mail.NewSender(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancel {
				go func() {
					<-held
					cancel()
				}()
			}
			err = s.Send(ctx, message())
			if !errors.Is(err, c.want) {
				t.Fatalf("Send: %v, want %v", err, c.want)
			}
			if mail.IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = true", err)
			}
		})
	}
}

// A message that can never be sent is refused before any connection.
func TestSendInvalidMessage(t *testing.T) {
	cases := []struct {
		name   string
		change func(*mail.Message)
	}{
		{"no recipient", func(m *mail.Message) { m.To = netmail.Address{} }},
		{"bad recipient", func(m *mail.Message) { m.To.Address = "alice" }},
		{"no Message-ID", func(m *mail.Message) { m.MessageID = "" }},
		{"Message-ID without brackets", func(m *mail.Message) { m.MessageID = "id@tasktrack" }},
		{"Message-ID without @", func(m *mail.Message) { m.MessageID = "<id>" }},
		{"Message-ID with a space", func(m *mail.Message) { m.MessageID = "<i d@tasktrack>" }},
		{"Message-ID with a line break", func(m *mail.Message) { m.MessageID = "<id@tasktrack>\r\nBcc: x@y" }},
		{"no date", func(m *mail.Message) { m.Date = time.Time{} }},
		{"no text", func(m *mail.Message) { m.Text = "" }},
		{"own header", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "bcc", Value: "x@example.com"}} }},
		{"content header", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "Content-Type", Value: "text/html"}} }},
		{"bad header name", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "X Bad", Value: "v"}} }},
		{"header name with colon", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "Bcc:x", Value: "v"}} }},
	}
	srv := smtptest.NewServer(t, smtptest.Options{})
	s := sender(t, srv, "", "", nil)
	for _, c := range cases {
		m := message()
		c.change(&m)
		err := s.Send(context.Background(), m)
		if !errors.Is(err, mail.ErrInvalidMessage) || !mail.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent invalid message", c.name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages arrived", n)
	}
}

func TestNewSender(t *testing.T) {
	from := netmail.Address{Address: "noreply@example.com"}
	cases := []struct {
		name string
		cfg  mail.Config
		want string
	}{
		{"no host", mail.Config{Port: 25, From: from}, "mail: no SMTP host"},
		{"no port", mail.Config{Host: "relay", From: from}, "mail: bad SMTP port 0"},
		{"no sender", mail.Config{Host: "relay", Port: 25}, "mail: no sender address"},
	}
	for _, c := range cases {
		if _, err := mail.NewSender(c.cfg); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
