// Package mail sends tasktrack's email: it reads the SMTP settings
// (--smtp-url, --smtp-from), renders a notification, an alert or a daily
// digest into a subject and plain-text and HTML parts from templates
// embedded in the binary, and hands one message at a time to an SMTP server
// (github.com/wneessen/go-mail) on sessions it keeps open between messages,
// telling a permanent refusal (an SMTP 5xx reply to the message) from a
// failure worth retrying.
//
// It owns no queue and no state: the outbox decides what to send and when,
// and gives each message a Message-ID that stays the same across retries.
//
// Links in the email point into the web UI under the public URL:
// /tasks/<id> for a task, /users/<id> for a person, /alerts for alerts, and
// /preferences (the page where a person chooses what tasktrack emails them)
// in every footer.
package mail

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultFrom is the sender when --smtp-from is not given.
const DefaultFrom = "tasktrack <tasktrack@localhost>"

// Default ports: the submission port with STARTTLS for smtp://, and the
// implicit-TLS submission port for smtps://.
const (
	DefaultPort    = 587
	DefaultTLSPort = 465
)

// Default timeouts when a Config leaves them zero.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultTimeout        = time.Minute
)

// Config says how to reach the SMTP server and who the mail is from.
type Config struct {
	Host string
	Port int
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise STARTTLS
	// is used when the server offers it.
	ImplicitTLS bool
	// Insecure skips certificate checks (?insecure=1), for a local relay
	// with a self-signed certificate.
	Insecure bool
	// Username and Password, when Username is set, are sent with AUTH PLAIN
	// or LOGIN, and only over TLS unless the server is on localhost.
	Username string
	Password string
	From     netmail.Address
	// RootCAs verifies the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
	// ConnectTimeout bounds the TCP connection and, for smtps://, the TLS
	// handshake. Timeout bounds the whole conversation, connection included.
	ConnectTimeout time.Duration
	Timeout        time.Duration
}

// ParseURL reads --smtp-url: smtp://[user[:pass]@]host[:port][?insecure=1]
// or smtps://... . The sender is DefaultFrom until ParseFrom says otherwise.
// Errors name the problem and never contain the password.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included; its inner
		// error names the problem without it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Config{}, fmt.Errorf("smtp URL: %v", err)
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.Port = DefaultPort
	case "smtps":
		c.Port, c.ImplicitTLS = DefaultTLSPort, true
	default:
		return Config{}, fmt.Errorf("smtp URL: scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return Config{}, errors.New("smtp URL: missing // before the host")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, errors.New("smtp URL: missing host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("smtp URL: bad port %q (want 1-65535)", p)
		}
		c.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, fmt.Errorf("smtp URL: unexpected path %q", u.Path)
	}
	if u.Fragment != "" {
		return Config{}, errors.New("smtp URL: unexpected fragment")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return Config{}, errors.New("smtp URL: a password needs a user name")
		}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("smtp URL: bad query: %v", err)
	}
	for key, values := range query {
		if key != "insecure" {
			return Config{}, fmt.Errorf("smtp URL: unknown parameter %q (only insecure is known)", key)
		}
		switch strings.ToLower(values[len(values)-1]) {
		case "1", "true", "yes":
			c.Insecure = true
		case "0", "false", "no", "":
			c.Insecure = false
		default:
			return Config{}, fmt.Errorf("smtp URL: insecure=%q is not 1 or 0", values[len(values)-1])
		}
	}
	c.From, err = ParseFrom(DefaultFrom)
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// ParseFrom reads --smtp-from, an address with an optional name:
// "tasktrack <noreply@example.com>" or "noreply@example.com".
func ParseFrom(raw string) (netmail.Address, error) {
	a, err := netmail.ParseAddress(raw)
	if err != nil {
		return netmail.Address{}, fmt.Errorf("smtp from %q: %v", raw, err)
	}
	return *a, nil
}

// String shows the server the way ParseURL reads it, with the password
// replaced, so a Config can be logged.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
		if c.Password != "" {
			u.User = url.UserPassword(c.Username, "xxxxx")
		}
	}
	if c.Insecure {
		u.RawQuery = "insecure=1"
	}
	return u.String()
}
