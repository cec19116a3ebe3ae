package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/mail"
	"tasktrack/sqlstore"
)

// Config is every setting, read from flags and environment variables; a
// flag wins over its variable.
type Config struct {
	Addr            string
	Database        string
	ListenURL       string
	JWTSecret       string
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	SweepInterval   time.Duration
	MissedThreshold int
	MissedWindow    time.Duration
	AdminPassword   string
	DBMaxConns      int
	SQLiteSync      string
	LoginLimits     auth.LoginLimits
	HashConcurrency int
	TrustedProxies  []netip.Prefix
	CORSOrigins     []string
	PublicURL       string
	LogFormat       string
	LogLevel        string
	MaxInFlight     int
	PprofAddr       string
	MetricsAddr     string
	// Reminders are the leads of the sweep's reminders, smallest first.
	Reminders []time.Duration
	// SMTP is the mail server (--smtp-url); nil: no email.
	SMTP          *mail.Config
	SMTPFrom      netmail.Address
	SMTPRetryBase time.Duration
	// WebhookRetryBase is the first wait of a webhook's retries;
	// WebhookAllowPrivate lets endpoints be at addresses that are not
	// public.
	WebhookRetryBase    time.Duration
	WebhookAllowPrivate bool
}

// setting describes one setting: its flag, variable, default and parser.
type setting struct {
	flag, env, def, usage string
	parse                 func(c *Config, v string) error
	secret                bool
}

func durationSetting(dst func(*Config) *time.Duration, allowZero bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("not a duration (such as 90s, 5m, 24h)")
		}
		if d < 0 || (d == 0 && !allowZero) {
			return errors.New("must be positive")
		}
		*dst(c) = d
		return nil
	}
}

func intSetting(dst func(*Config) *int, minimum int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("not a whole number")
		}
		if n < minimum {
			return fmt.Errorf("must be at least %d", minimum)
		}
		*dst(c) = n
		return nil
	}
}

func limitSetting(dst func(*Config) *auth.Limit) func(*Config, string) error {
	return func(c *Config, v string) error {
		l, err := auth.ParseLimit(v)
		if err != nil {
			return err
		}
		*dst(c) = l
		return nil
	}
}

func listSetting(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var settings = []setting{
	{"addr", "TASKTRACK_ADDR", "127.0.0.1:8000", "address to listen on", func(c *Config, v string) error {
		if _, _, err := splitHostPort(v); err != nil {
			return err
		}
		c.Addr = v
		return nil
	}, false},
	{"database", "TASKTRACK_DATABASE", "tasktrack.db", "SQLite file, or a postgres:// URL", func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		c.Database = v
		return nil
	}, false},
	{"database-listen-url", "TASKTRACK_DATABASE_LISTEN_URL", "", "PostgreSQL URL of a direct session for LISTEN, when --database goes through a transaction pooler (default: --database, or polling behind a pooler)", func(c *Config, v string) error {
		if v != "" && !sqlstore.IsPostgres(v) {
			return errors.New("must be a postgres:// or postgresql:// URL")
		}
		c.ListenURL = v
		return nil
	}, true},
	{"jwt-secret", "TASKTRACK_JWT_SECRET", "", "HS256 key, at least 32 bytes (default: made on first start and kept in the database)", func(c *Config, v string) error {
		if v != "" && len(v) < 32 {
			return errors.New("must be at least 32 bytes")
		}
		c.JWTSecret = v
		return nil
	}, true},
	{"access-ttl", "TASKTRACK_ACCESS_TTL", "5m", "lifetime of access tokens", durationSetting(func(c *Config) *time.Duration { return &c.AccessTTL }, false), false},
	{"refresh-ttl", "TASKTRACK_REFRESH_TTL", "24h", "lifetime of refresh tokens", durationSetting(func(c *Config) *time.Duration { return &c.RefreshTTL }, false), false},
	{"sweep-interval", "TASKTRACK_SWEEP_INTERVAL", "1m", "time between sweeps (0 turns the in-process sweep off)", durationSetting(func(c *Config) *time.Duration { return &c.SweepInterval }, true), false},
	{"missed-threshold", "TASKTRACK_MISSED_THRESHOLD", "5", "missed tasks in the window that deactivate a user", intSetting(func(c *Config) *int { return &c.MissedThreshold }, 1), false},
	{"missed-window", "TASKTRACK_MISSED_WINDOW", "168h", "window in which missed tasks are counted", durationSetting(func(c *Config) *time.Duration { return &c.MissedWindow }, false), false},
	{"admin-password", "TASKTRACK_ADMIN_PASSWORD", "", "password of the first admin on an empty database (default: random, printed once)", func(c *Config, v string) error {
		if v != "" && len(v) < 8 {
			return errors.New("must be at least 8 characters")
		}
		c.AdminPassword = v
		return nil
	}, true},
	{"db-max-conns", "TASKTRACK_DB_MAX_CONNS", "0", "connection pool size (0: 20 on PostgreSQL, 2 per CPU for SQLite readers)", intSetting(func(c *Config) *int { return &c.DBMaxConns }, 0), false},
	{"sqlite-synchronous", "TASKTRACK_SQLITE_SYNCHRONOUS", "normal", "SQLite durability: normal (survives a process crash) or full (also a power loss)", func(c *Config, v string) error {
		v = strings.ToLower(v)
		if v != "normal" && v != "full" {
			return errors.New("must be normal or full")
		}
		c.SQLiteSync = v
		return nil
	}, false},
	{"login-limit-addr", "TASKTRACK_LOGIN_LIMIT_ADDR", "20/10m", "failed logins allowed per client address (IPv6: per /64), as N/period (0: off)", limitSetting(func(c *Config) *auth.Limit { return &c.LoginLimits.Addr }), false},
	{"login-limit-user-addr", "TASKTRACK_LOGIN_LIMIT_USER_ADDR", "5/10m", "failed logins allowed per username from one client address, as N/period (0: off)", limitSetting(func(c *Config) *auth.Limit { return &c.LoginLimits.UserAddr }), false},
	{"login-limit-user", "TASKTRACK_LOGIN_LIMIT_USER", "10/10m", "failed logins allowed per username from all addresses, as N/period; once spent, only addresses that failed for it within the period are refused (0: off)", limitSetting(func(c *Config) *auth.Limit { return &c.LoginLimits.User }), false},
	{"hash-concurrency", "TASKTRACK_HASH_CONCURRENCY", "0", "password hashes computed at once (0: half the CPUs, at least one)", intSetting(func(c *Config) *int { return &c.HashConcurrency }, 0), false},
	{"trusted-proxies", "TASKTRACK_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs whose X-Forwarded-For is believed", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, p := range listSetting(v) {
			if !strings.Contains(p, "/") {
				a, err := netip.ParseAddr(p)
				if err != nil {
					return fmt.Errorf("%q is not an address or CIDR", p)
				}
				p = netip.PrefixFrom(a, a.BitLen()).String()
			}
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("%q is not an address or CIDR", p)
			}
			c.TrustedProxies = append(c.TrustedProxies, pfx)
		}
		return nil
	}, false},
	{"cors-origins", "TASKTRACK_CORS_ORIGINS", "", "comma-separated origins allowed to call the API from a browser (empty: CORS off)", func(c *Config, v string) error {
		c.CORSOrigins = listSetting(v)
		return nil
	}, false},
	{"public-url", "TASKTRACK_PUBLIC_URL", "", "the URL people reach the service at, the base of absolute links (empty: links in answers are relative)", func(c *Config, v string) error {
		c.PublicURL = ""
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return errors.New("must be an absolute http:// or https:// URL, without user, query or fragment")
		}
		c.PublicURL = strings.TrimSuffix(u.String(), "/")
		return nil
	}, false},
	{"log-format", "TASKTRACK_LOG_FORMAT", "text", "log format: text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return errors.New("must be text or json")
		}
		c.LogFormat = v
		return nil
	}, false},
	{"log-level", "TASKTRACK_LOG_LEVEL", "info", "log level: debug, info, warn or error", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return errors.New("must be debug, info, warn or error")
	}, false},
	{"max-in-flight", "TASKTRACK_MAX_IN_FLIGHT", "512", "API requests served at once; more get 503 (0: no limit)", intSetting(func(c *Config) *int { return &c.MaxInFlight }, 0), false},
	{"metrics-addr", "TASKTRACK_METRICS_ADDR", "127.0.0.1:9464", "address of the Prometheus /metrics listener, apart from the API (off or empty: none)", func(c *Config, v string) error {
		// "off" because an empty variable means the default.
		if v == "off" {
			v = ""
		}
		if v != "" {
			if _, _, err := splitHostPort(v); err != nil {
				return err
			}
		}
		c.MetricsAddr = v
		return nil
	}, false},
	{"reminders", "TASKTRACK_REMINDERS", "24h,1h", "leads before a deadline at which its assignee is reminded, comma-separated (empty or off: no reminders)", func(c *Config, v string) error {
		// "off" because an empty variable means the default.
		if v == "off" {
			v = ""
		}
		leads, err := tasktrack.ParseReminders(v)
		c.Reminders = leads
		return err
	}, false},
	{"smtp-url", "TASKTRACK_SMTP_URL", "", "SMTP server for email, smtp://user:pass@host:587 (STARTTLS when offered) or smtps:// (TLS), ?insecure=1 to skip certificate checks (empty: no email)", func(c *Config, v string) error {
		c.SMTP = nil
		if v == "" {
			return nil
		}
		cfg, err := mail.ParseURL(v)
		if err != nil {
			return err
		}
		c.SMTP = &cfg
		return nil
	}, true},
	{"smtp-from", "TASKTRACK_SMTP_FROM", mail.DefaultFrom, "sender of email, such as \"tasktrack <noreply@example.com>\"", func(c *Config, v string) error {
		a, err := mail.ParseFrom(v)
		c.SMTPFrom = a
		return err
	}, false},
	{"smtp-retry-base", "TASKTRACK_SMTP_RETRY_BASE", "30s", "first wait before an email refused for now is tried again; later waits double, with jitter, up to an hour", durationSetting(func(c *Config) *time.Duration { return &c.SMTPRetryBase }, false), false},
	{"webhook-retry-base", "TASKTRACK_WEBHOOK_RETRY_BASE", "5s", "first wait before a failed webhook is tried again; later waits grow to about 6 hours, with jitter", durationSetting(func(c *Config) *time.Duration { return &c.WebhookRetryBase }, false), false},
	{"webhook-allow-private", "TASKTRACK_WEBHOOK_ALLOW_PRIVATE", "false", "let webhook endpoints be at loopback, private and link-local addresses (intranet targets, tests)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.WebhookAllowPrivate = b
		return err
	}, false},
	{"pprof-addr", "TASKTRACK_PPROF_ADDR", "", "loopback address for a pprof listener (empty: off)", func(c *Config, v string) error {
		if v != "" {
			host, _, err := splitHostPort(v)
			if err != nil {
				return err
			}
			if a, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !a.IsLoopback()) {
				return errors.New("must be a loopback address")
			}
		}
		c.PprofAddr = v
		return nil
	}, false},
}

// usageError is a bad setting or command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// parseConfig reads the settings named in names (nil: all) from args and
// the environment, adding extra flags of the subcommand to fs.
func parseConfig(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	values := map[string]*string{}
	for _, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		if s.def == "false" {
			// A switch: given bare (--webhook-allow-private) it is on.
			b := switchValue(v)
			fs.Var(&b, s.flag, s.usage+" ($"+s.env+")")
			values[s.flag] = (*string)(&b)
			continue
		}
		values[s.flag] = fs.String(s.flag, v, s.usage+" ($"+s.env+")")
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	c := &Config{}
	for _, s := range settings {
		if err := s.parse(c, *values[s.flag]); err != nil {
			shown := *values[s.flag]
			if s.secret {
				shown = "(hidden)"
			}
			return nil, usageErrorf("bad setting --%s ($%s) = %q: %v", s.flag, s.env, shown, err)
		}
	}
	if c.ListenURL != "" && !sqlstore.IsPostgres(c.Database) {
		return nil, usageErrorf("bad setting --database-listen-url ($TASKTRACK_DATABASE_LISTEN_URL): needs a PostgreSQL --database")
	}
	return c, nil
}

// switchValue is a setting that is on or off, which a bare flag turns on.
type switchValue string

func (v *switchValue) String() string     { return string(*v) }
func (v *switchValue) Set(s string) error { *v = switchValue(s); return nil }
func (v *switchValue) IsBoolFlag() bool   { return true }

func splitHostPort(v string) (string, int, error) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return "", 0, errors.New("want host:port")
	}
	port, err := strconv.Atoi(v[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, errors.New("want host:port with a port from 0 to 65535")
	}
	return strings.Trim(v[:i], "[]"), port, nil
}
