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
	"sync"
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
// for concurrent use; each Send has its own connection.
type Sender struct {
	cfg Config
	tls *tls.Config
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
	return &Sender{cfg: cfg, tls: &tls.Config{
		ServerName:         cfg.Host,
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.Insecure,
		MinVersion:         tls.VersionTLS12,
	}}, nil
}

// Send delivers m in one SMTP conversation. A nil error means the server
// accepted the message. Otherwise IsPermanent tells whether trying again
// could help. The context and Config.Timeout bound the whole conversation.
func (s *Sender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return fmt.Errorf("mail: %w: %v", ErrInvalidMessage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	// go-mail honours the context only while dialling; closing the
	// connection when the context ends stops a server that stalls later.
	// go-mail also leaves the connection open when the greeting, STARTTLS
	// or AUTH fails, so it is closed here in any case.
	var mu sync.Mutex
	var conn net.Conn
	closeConn := func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	}
	stop := context.AfterFunc(ctx, closeConn)
	defer func() {
		stop()
		closeConn()
	}()
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		c, err := s.dial(dctx, network)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			c.Close()
			return nil, ctx.Err()
		}
		conn = c
		return c, nil
	}

	client, err := gomail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return fmt.Errorf("mail: %v", err)
	}
	smtpClient, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return failure(ctx, "connect to "+s.cfg.String(), err)
	}
	sendErr := client.SendWithSMTPClient(smtpClient, msg)
	// Once the server has accepted the data the message is its
	// responsibility: a failed RSET or QUIT after that changes nothing, and
	// reporting it would only have the message sent twice.
	_ = client.CloseWithSMTPClient(smtpClient)
	if sendErr != nil && !msg.IsDelivered() {
		return failure(ctx, "send", sendErr)
	}
	return nil
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
