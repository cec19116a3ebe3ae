package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to one person.
type Message struct {
	To      netmail.Address
	Subject string
	Text    string
	// HTML, when set, is sent beside Text as multipart/alternative.
	HTML string
	// MessageID is "<left@right>", chosen by the caller and the same on
	// every retry, so that mail clients fold copies of one message.
	MessageID string
	// Date is when the message was made (for a retried message, the first
	// attempt's time), not when it happens to be sent.
	Date time.Time
	// Headers are extra header fields such as List-Unsubscribe. The fields
	// this package writes itself (addresses, subject, date, ids, MIME) are
	// refused here.
	Headers []Header
}

// Header is one extra header field.
type Header struct {
	Name, Value string
}

// ErrInvalidMessage is wrapped by Send's errors for a message that can
// never be sent as it is; IsPermanent reports them as permanent.
var ErrInvalidMessage = errors.New("invalid message")

// Headers this package writes itself; Message.Headers may not set them.
var ownHeaders = map[string]bool{
	"From": true, "Sender": true, "To": true, "Cc": true, "Bcc": true,
	"Reply-To": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Auto-Submitted": true, "Return-Path": true,
}

// Sender sends messages through the SMTP server of a Config. It is safe
// for concurrent use. Each Send has a session (an SMTP conversation) of
// its own: one that a Send before it left open, or a new one. Close
// closes the sessions left open.
type Sender struct {
	cfg  Config
	tls  *tls.Config
	pool pool
}

// NewSender checks cfg and fills in the default timeouts.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: no SMTP host")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: bad SMTP port %d", cfg.Port)
	}
	if cfg.From.Address == "" {
		return nil, errors.New("mail: no sender address")
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Sender{
		cfg: cfg,
		tls: &tls.Config{
			ServerName:         cfg.Host,
			RootCAs:            cfg.RootCAs,
			InsecureSkipVerify: cfg.Insecure,
			MinVersion:         tls.VersionTLS12,
		},
		pool: pool{maxIdle: DefaultMaxIdle, idleTimeout: DefaultIdleTimeout, maxMessages: DefaultMaxMessages},
	}, nil
}

// Close closes the sessions waiting for a message (QUIT, bounded by a
// couple of seconds) and keeps none from then on: a Send under way, or
// one after Close, ends its own session. Call it once the Sends are over.
func (s *Sender) Close() error {
	s.pool.close()
	return nil
}

// Send delivers m. A nil error means the server accepted the message.
// Otherwise IsPermanent tells whether trying again could help. The
// context and Config.Timeout bound the whole send, connecting included.
//
// The session is one a Send before this one left open when there is one:
// the server has greeted it, and STARTTLS and AUTH were done on it. A
// server may have closed such a session while it waited; when it turns out
// gone before any of the message's data was written, the message goes on
// a new session, once. Once the data was written, the outcome is the
// server's answer, as on a new session, and nothing is tried again: one
// Send never hands the server the message twice. A session that saw any
// failure is closed, not kept.
func (s *Sender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return fmt.Errorf("mail: %w: %v", ErrInvalidMessage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if ss := s.pool.get(); ss != nil {
		retry, err := s.sendOn(ctx, ss, msg, true)
		if !retry {
			return err
		}
		// The same message, built anew: go-mail marks a Msg it has tried.
		if msg, err = s.build(m); err != nil {
			return fmt.Errorf("mail: %w: %v", ErrInvalidMessage, err)
		}
	}
	_, err = s.sendOn(ctx, &session{}, msg, false)
	return err
}

// sendOn sends msg on ss, a session from the pool (pooled) or a new one
// to open, and keeps ss for the next Send if all went well. retry reports
// that ss, from the pool, was gone before the message was sent: msg may
// go on another session.
func (s *Sender) sendOn(ctx context.Context, ss *session, msg *gomail.Msg, pooled bool) (retry bool, err error) {
	// go-mail honours the context only while dialling; closing the
	// connection when the context ends stops a server that stalls later.
	stop := context.AfterFunc(ctx, ss.cut)
	keep := false
	defer func() {
		switch {
		case !stop() || !keep:
			// Done with, or closed by the context already.
			ss.cut()
		case !s.pool.put(ss):
			// The pool filled or closed since wants said yes.
			ss.quit(time.Until(deadline(ctx)))
		}
	}()
	if !pooled {
		if err := s.open(ctx, ss); err != nil {
			return false, err
		}
	}
	sendErr := ss.client.SendWithSMTPClient(ss.smtp, msg)
	if sendErr == nil {
		ss.sent++
		keep = s.pool.wants(ss)
	}
	if !keep {
		// Once the server has accepted the data the message is its
		// responsibility: a failed RSET or QUIT after that changes
		// nothing, and reporting it would only have the message sent
		// twice.
		_ = ss.client.CloseWithSMTPClient(ss.smtp)
	}
	if sendErr != nil && !msg.IsDelivered() {
		if pooled && ctx.Err() == nil && unsent(sendErr) {
			return true, sendErr
		}
		return false, failure(ctx, "send", sendErr)
	}
	return false, nil
}

// open connects ss: dial, greeting, EHLO, STARTTLS and AUTH as
// configured. go-mail leaves the connection open when the greeting,
// STARTTLS or AUTH fails; the caller closes it in any case.
func (s *Sender) open(ctx context.Context, ss *session) error {
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		c, err := s.dial(dctx, network)
		if err != nil {
			return nil, err
		}
		if !ss.setConn(c) {
			// The context ended meanwhile.
			c.Close()
			return nil, ctx.Err()
		}
		return c, nil
	}
	client, err := gomail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return fmt.Errorf("mail: %v", err)
	}
	ss.client = client
	if ss.smtp, err = client.DialToSMTPClientWithContext(ctx); err != nil {
		return failure(ctx, "connect to "+s.cfg.String(), err)
	}
	return nil
}

// deadline is when ctx ends; Send's context always has a deadline.
func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func (s *Sender) dial(ctx context.Context, network string) (net.Conn, error) {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := &net.Dialer{Timeout: s.cfg.ConnectTimeout}
	if !s.cfg.ImplicitTLS {
		return d.DialContext(ctx, network, addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: s.tls}
	// The handshake is part of connecting.
	hctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	return td.DialContext(hctx, network, addr)
}

func (s *Sender) options(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		// The context ends the conversation at Timeout (closing the
		// connection, so the error says why); go-mail's own deadlines are
		// only a backstop and must not race it.
		gomail.WithTimeout(2 * s.cfg.Timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(dial),
		// A NOOP right after connecting tells nothing the greeting did not.
		gomail.WithoutNoop(),
	}
	if s.cfg.ImplicitTLS {
		// With a dial function of ours go-mail only notes that the
		// connection is already TLS, and does not try STARTTLS on it.
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.Username != "" {
		// go-mail sends PLAIN and LOGIN only over TLS or to localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	return opts
}

func (s *Sender) build(m Message) (*gomail.Msg, error) {
	if m.To.Address == "" {
		return nil, errors.New("no recipient")
	}
	if !validMessageID(m.MessageID) {
		return nil, fmt.Errorf("Message-ID %q is not <left@right>", m.MessageID)
	}
	if m.Date.IsZero() {
		return nil, errors.New("no date")
	}
	if m.Text == "" {
		return nil, errors.New("no text")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(&s.cfg.From)
	if err := msg.To(m.To.String()); err != nil {
		return nil, fmt.Errorf("recipient: %v", err)
	}
	// go-mail encodes a subject holding CR or LF as an encoded word, but a
	// subject is one line: make it one before it gets there.
	msg.Subject(oneLine(m.Subject))
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"))
	msg.SetDateWithValue(m.Date)
	// RFC 3834: no vacation replies to notifications.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for _, h := range m.Headers {
		name := textproto.CanonicalMIMEHeaderKey(h.Name)
		if !validHeaderName(h.Name) || ownHeaders[name] || strings.HasPrefix(name, "Content-") {
			return nil, fmt.Errorf("header %q may not be set", h.Name)
		}
		msg.SetGenHeader(gomail.Header(name), oneLine(h.Value))
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// failure wraps a failed conversation; when the context ended, that is
// the reason to report, whatever the broken connection said.
func failure(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("mail: %s: %w (%v)", what, cerr, err)
	}
	return fmt.Errorf("mail: %s: %w", what, err)
}

// IsPermanent reports whether err from Send means the message will never
// be accepted as it is: an SMTP 5xx reply to the message (sender or
// recipient refused, content refused) or an invalid message. Everything
// else is temporary: connection refused, timeouts, 4xx replies, and also a
// 5xx before the message (to the greeting, STARTTLS or AUTH), which speaks
// of the server or of our own settings; once those are fixed, the waiting
// messages go out instead of having been given up.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode() >= 500 && se.ErrorCode() < 600
	}
	return false
}

// ReplyCode is the SMTP reply code behind err (0 when the server did not
// answer with an error), for logs and audit entries.
func ReplyCode(err error) int {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		return se.ErrorCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// validMessageID accepts "<left@right>" with printable ASCII and no
// spaces or further angle brackets (RFC 5322 msg-id, simplified).
func validMessageID(id string) bool {
	if len(id) < 5 || len(id) > 250 || id[0] != '<' || id[len(id)-1] != '>' {
		return false
	}
	inner := id[1 : len(id)-1]
	at := strings.IndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 || strings.Count(inner, "@") != 1 {
		return false
	}
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validHeaderName is RFC 5322's field-name: printable ASCII but colon.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// oneLine replaces each run of white space and control characters with
// one space, so a value from a person (a task title) stays on its header
// line.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == ' ' || r == '\u0085' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
