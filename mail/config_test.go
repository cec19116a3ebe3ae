package mail_test

import (
	netmail "net/mail"
	"strings"
	"testing"

	"tasktrack/mail"
)

func TestParseURL(t *testing.T) {
	from := netmail.Address{Name: "tasktrack", Address: "tasktrack@localhost"}
	cases := []struct {
		raw  string
		want mail.Config
	}{
		{"smtp://mail.example.com", mail.Config{Host: "mail.example.com", Port: 587, From: from}},
		{"smtp://mail.example.com:25", mail.Config{Host: "mail.example.com", Port: 25, From: from}},
		{"smtps://mail.example.com", mail.Config{Host: "mail.example.com", Port: 465, ImplicitTLS: true, From: from}},
		{"smtp://user:s3cret@mail.example.com:587/", mail.Config{
			Host: "mail.example.com", Port: 587, Username: "user", Password: "s3cret", From: from}},
		{"smtp://apikey@relay", mail.Config{Host: "relay", Port: 587, Username: "apikey", From: from}},
		// Reserved characters in the password are percent-encoded.
		{"smtp://u%40x:p%3Aw%2Fd@relay:2525", mail.Config{
			Host: "relay", Port: 2525, Username: "u@x", Password: "p:w/d", From: from}},
		{"smtp://127.0.0.1:1025?insecure=1", mail.Config{Host: "127.0.0.1", Port: 1025, Insecure: true, From: from}},
		{"smtps://[::1]:465?insecure=true", mail.Config{Host: "::1", Port: 465, ImplicitTLS: true, Insecure: true, From: from}},
		{"smtp://relay?insecure=0", mail.Config{Host: "relay", Port: 587, From: from}},
	}
	for _, c := range cases {
		got, err := mail.ParseURL(c.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.raw, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseURL(%q) = %#v, want %#v", c.raw, got, c.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	cases := []struct {
		raw, want string
	}{
		{"http://user:s3cret@mail.example.com", `smtp URL: scheme "http" is not smtp or smtps`},
		{"mail.example.com:587", `smtp URL: scheme "mail.example.com" is not smtp or smtps`},
		{"", `smtp URL: scheme "" is not smtp or smtps`},
		{"smtp:user:s3cret@mail.example.com", `smtp URL: missing // before the host`},
		{"smtp://user:s3cret@", `smtp URL: missing host`},
		{"smtp://user:s3cret@:587", `smtp URL: missing host`},
		{"smtp://user:s3cret@mail.example.com:smtp", `smtp URL: invalid port ":smtp" after host`},
		{"smtp://user:s3cret@mail.example.com:0", `smtp URL: bad port "0" (want 1-65535)`},
		{"smtp://user:s3cret@mail.example.com:65536", `smtp URL: bad port "65536" (want 1-65535)`},
		{"smtp://user:s3cret@mail.example.com/inbox", `smtp URL: unexpected path "/inbox"`},
		{"smtp://user:s3cret@mail.example.com#x", `smtp URL: unexpected fragment`},
		{"smtp://:s3cret@mail.example.com", `smtp URL: a password needs a user name`},
		{"smtp://user:s3cret@mail.example.com?tls=1", `smtp URL: unknown parameter "tls" (only insecure is known)`},
		{"smtp://user:s3cret@mail.example.com?insecure=maybe", `smtp URL: insecure="maybe" is not 1 or 0`},
		// A space is not allowed in the user info; the parser's own message
		// would repeat the URL.
		{"smtp://user:s3 cret@mail.example.com", `smtp URL: net/url: invalid userinfo`},
		{"smtp://user:s3cret@mail example.com", `smtp URL: invalid character " " in host name`},
	}
	for _, c := range cases {
		_, err := mail.ParseURL(c.raw)
		if err == nil {
			t.Errorf("ParseURL(%q): no error, want %q", c.raw, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("ParseURL(%q) = %q, want %q", c.raw, err, c.want)
		}
		if strings.Contains(err.Error(), "s3") {
			t.Errorf("ParseURL(%q) = %q shows the password", c.raw, err)
		}
	}
}

func TestParseFrom(t *testing.T) {
	cases := []struct {
		raw     string
		want    netmail.Address
		wantErr bool
	}{
		{mail.DefaultFrom, netmail.Address{Name: "tasktrack", Address: "tasktrack@localhost"}, false},
		{"noreply@example.com", netmail.Address{Address: "noreply@example.com"}, false},
		{`"Task Track" <noreply@example.com>`, netmail.Address{Name: "Task Track", Address: "noreply@example.com"}, false},
		{"noreply", netmail.Address{}, true},
		{"", netmail.Address{}, true},
		{"a@example.com, b@example.com", netmail.Address{}, true},
		{"x <a@example.com>\r\nBcc: b@example.com", netmail.Address{}, true},
	}
	for _, c := range cases {
		got, err := mail.ParseFrom(c.raw)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseFrom(%q) = %#v, %v; want %#v, error %v", c.raw, got, err, c.want, c.wantErr)
		}
	}
}

func TestConfigStringHidesThePassword(t *testing.T) {
	cases := []struct {
		raw, want string
	}{
		{"smtp://user:s3cret@mail.example.com", "smtp://user:xxxxx@mail.example.com:587"},
		{"smtps://user@mail.example.com:2465?insecure=1", "smtps://user@mail.example.com:2465?insecure=1"},
		{"smtp://[::1]", "smtp://[::1]:587"},
	}
	for _, c := range cases {
		cfg, err := mail.ParseURL(c.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.String(); got != c.want {
			t.Errorf("String of %q = %q, want %q", c.raw, got, c.want)
		}
	}
}
