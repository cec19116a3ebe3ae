// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp)
// inside a test, on 127.0.0.1: it records every message it accepts and the
// connection it came on, offers STARTTLS or implicit TLS with a certificate
// made for the test, requires AUTH PLAIN or LOGIN when given users, answers
// with a chosen SMTP code for the next messages when told to, and closes
// its connections on demand, so that email code is tested against a real
// SMTP conversation rather than a mock.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options say what the server offers.
type Options struct {
	// TLS, when set, is offered through STARTTLS, or from the first byte
	// with ImplicitTLS. NewCertificate makes one.
	TLS         *tls.Config
	ImplicitTLS bool
	// Users, when set, makes AUTH required: user name to password.
	Users map[string]string
	// Mechanisms are the AUTH mechanisms offered, of "PLAIN" and "LOGIN";
	// both when empty.
	Mechanisms []string
}

// Stage is the command of a message transaction a scripted reply answers.
type Stage int

// The stages of a message transaction.
const (
	AtMail Stage = iota // MAIL FROM
	AtRcpt              // RCPT TO
	AtData              // the end of DATA
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS tells whether the message came over TLS; User is the name it
	// authenticated with ("" without AUTH).
	TLS  bool
	User string
	// Conn is the connection the message came on: 1 for the first the
	// server accepted, 2 for the next, and so on.
	Conn int
}

// Server is a running SMTP server; it stops when the test ends.
type Server struct {
	Host string // always 127.0.0.1
	Port int

	opts Options
	srv  *smtp.Server

	mu       sync.Mutex
	messages []Message
	script   map[Stage]reply
	stalls   []stall
	drops    int // messages to record and then hang up on
	accepted int // connections accepted so far
	open     map[*countedConn]bool
	greeted  map[*smtp.Conn]bool // connections past EHLO, for CloseConnections
	closed   chan struct{}
}

type reply struct{ code, n int }

// NewServer starts a server on 127.0.0.1 and a free port.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.ImplicitTLS && opts.TLS == nil {
		tb.Fatal("smtptest: ImplicitTLS needs Options.TLS")
	}
	if len(opts.Mechanisms) == 0 {
		opts.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	s := &Server{Host: "127.0.0.1", opts: opts, script: map[Stage]reply{}, closed: make(chan struct{}),
		open: map[*countedConn]bool{}, greeted: map[*smtp.Conn]bool{}}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.Port = tcp.Addr().(*net.TCPAddr).Port
	var l net.Listener = &countingListener{Listener: tcp, srv: s}
	if opts.ImplicitTLS {
		l = tls.NewListener(l, opts.TLS)
	}

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtptest.localhost"
	log := &testLog{tb: tb}
	s.srv.ErrorLog = log
	if !opts.ImplicitTLS {
		s.srv.TLSConfig = opts.TLS
	}
	// AUTH on a plain connection only when no TLS is offered at all, so a
	// client that should have used STARTTLS cannot log in without it.
	s.srv.AllowInsecureAuth = opts.TLS == nil

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			tb.Errorf("smtptest: serve: %v", err)
		}
	}()
	tb.Cleanup(func() {
		log.stop()
		close(s.closed)
		s.srv.Close()
		// Close misses a listener Serve has not registered yet.
		l.Close()
		<-done
	})
	return s
}

// URL is the server's address as --smtp-url writes it, without
// credentials: smtp:// or, with ImplicitTLS, smtps://.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.opts.ImplicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// Messages returns the messages accepted so far, oldest first. A message
// is recorded before the server confirms it, so it is here by the time
// the client's send returns.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Connections returns how many connections the server has accepted so
// far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Open returns how many of the connections are still open. A connection
// the client ends is counted until the server has seen it end, a moment
// later.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// CloseConnections closes every open connection, as a server does to
// clients idle for too long or when it restarts: with reply, it first
// sends "421 4.4.2" (what go-smtp and most servers say on an idle
// timeout); without, it just hangs up. It returns how many it closed.
// Connections in the middle of a command are closed alike, so tests call
// it while their client is idle.
func (s *Server) CloseConnections(reply bool) int {
	s.mu.Lock()
	conns := map[*countedConn]net.Conn{}
	for cc := range s.open {
		conns[cc] = cc
	}
	// After STARTTLS a reply goes through the TLS connection on top of
	// the counted one.
	for c := range s.greeted {
		if cc := counted(c.Conn()); cc != nil && s.open[cc] {
			conns[cc] = c.Conn()
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		if reply {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(c, "421 4.4.2 smtptest.localhost closing the connection\r\n")
		}
		c.Close()
	}
	return len(conns)
}

// DropAfterData makes the server, for the next n messages, record the
// message when its data has arrived and then hang up instead of
// answering: the message is the server's, but the client cannot know.
func (s *Server) DropAfterData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops = n
}

// Reply makes the server answer code at stage to the next n messages
// that reach it (451 for a temporary refusal, 550 for a permanent one);
// afterwards it accepts again.
func (s *Server) Reply(at Stage, code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script[at] = reply{code: code, n: n}
}

// Stall makes the server hold its answer to the next message's data:
// held is closed once the data has arrived and the answer is being held,
// and release lets the server accept the message (so does the end of the
// test).
func (s *Server) Stall() (held <-chan struct{}, release func()) {
	st := stall{held: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.stalls = append(s.stalls, st)
	s.mu.Unlock()
	var once sync.Once
	return st.held, func() { once.Do(func() { close(st.release) }) }
}

type stall struct{ held, release chan struct{} }

func (s *Server) waitIfStalled() {
	s.mu.Lock()
	if len(s.stalls) == 0 {
		s.mu.Unlock()
		return
	}
	st := s.stalls[0]
	s.stalls = s.stalls[1:]
	s.mu.Unlock()
	close(st.held)
	select {
	case <-st.release:
	case <-s.closed:
	}
}

// scripted returns the scripted refusal for stage, if one is due.
func (s *Server) scripted(at Stage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.script[at]
	if r.n == 0 {
		return nil
	}
	r.n--
	s.script[at] = r
	return &smtp.SMTPError{
		Code:         r.code,
		EnhancedCode: smtp.EnhancedCode{r.code / 100, 0, 0},
		Message:      "scripted reply",
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.greeted[c] = true
	s.mu.Unlock()
	sess := &session{srv: s, conn: c}
	if s.opts.Users != nil {
		return &authSession{session: sess}, nil
	}
	return sess, nil
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.Users != nil && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := ss.srv.scripted(AtMail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.srv.scripted(AtRcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.srv.scripted(AtData); err != nil {
		return err
	}
	ss.srv.waitIfStalled()
	_, isTLS := ss.conn.TLSConnectionState()
	n := 0
	if cc := counted(ss.conn.Conn()); cc != nil {
		n = cc.n
	}
	ss.srv.mu.Lock()
	ss.srv.messages = append(ss.srv.messages, Message{
		From: ss.from, To: append([]string(nil), ss.to...), Data: bytes.Clone(data),
		TLS: isTLS, User: ss.user, Conn: n,
	})
	drop := ss.srv.drops > 0
	if drop {
		ss.srv.drops--
	}
	ss.srv.mu.Unlock()
	if drop {
		ss.conn.Conn().Close()
	}
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.to = "", nil
}

func (ss *session) Logout() error {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	delete(ss.srv.greeted, ss.conn)
	return nil
}

// countingListener numbers the connections it accepts and keeps those
// open.
type countingListener struct {
	net.Listener
	srv *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.srv.mu.Lock()
	defer l.srv.mu.Unlock()
	l.srv.accepted++
	cc := &countedConn{Conn: c, srv: l.srv, n: l.srv.accepted}
	l.srv.open[cc] = true
	return cc, nil
}

type countedConn struct {
	net.Conn
	srv  *Server
	n    int
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.srv.mu.Lock()
		defer c.srv.mu.Unlock()
		delete(c.srv.open, c)
	})
	return c.Conn.Close()
}

// counted finds the counted connection under c (under its TLS, if any).
func counted(c net.Conn) *countedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, _ := c.(*countedConn)
	return cc
}

// authSession is a session that offers AUTH; go-smtp advertises AUTH for
// sessions of this interface only.
type authSession struct{ *session }

func (as *authSession) AuthMechanisms() []string { return as.srv.opts.Mechanisms }

func (as *authSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		want, ok := as.srv.opts.Users[user]
		if !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		as.user = user
		return nil
	}
	for _, m := range as.srv.opts.Mechanisms {
		if m != mech {
			continue
		}
		switch mech {
		case sasl.Plain:
			return sasl.NewPlainServer(func(identity, user, pass string) error {
				if identity != "" && identity != user {
					return smtp.ErrAuthFailed
				}
				return check(user, pass)
			}), nil
		case sasl.Login:
			return &loginServer{check: check}, nil
		}
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login),
// which go-sasl implements only as a client.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(response) == 0 {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(response))
	}
}

// NewCertificate makes a self-signed certificate for 127.0.0.1 and
// localhost, valid for an hour around now: the server's TLS configuration,
// and a pool holding the certificate for the client to trust.
func NewCertificate(tb testing.TB) (*tls.Config, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	// TLS checks validity against the real clock, so the certificate must
	// be valid now.
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}, pool
}

// testLog sends the server's error log to the test's log until the test
// ends; after that, testing would panic on a late line.
type testLog struct {
	tb      testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *testLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

func (l *testLog) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.tb.Logf("smtptest: "+format, v...)
	}
}

func (l *testLog) Println(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.tb.Log(append([]any{"smtptest:"}, v...)...)
	}
}
