package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"tasktrack/app"
	"tasktrack/auth"
	"tasktrack/sqlstore"
	"tasktrack/web"
)

// serve migrates, bootstraps, serves and sweeps until ctx ends.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, err := parseConfig(flag.NewFlagSet("serve", flag.ContinueOnError), args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(c, stderr)
	db, err := openStore(ctx, c, logger, false)
	if err != nil {
		return err
	}
	defer db.Close()

	secret := c.JWTSecret
	if secret == "" {
		if secret, err = db.Settings.Setting(ctx, "jwt_secret", auth.NewSecret); err != nil {
			return fmt.Errorf("jwt secret: %w", err)
		}
	}
	hasher := auth.NewHasher(auth.DefaultArgon2, c.HashConcurrency)
	db.Hasher = hasher
	if limit, ok := defaultMemoryLimit(hasher); ok {
		debug.SetMemoryLimit(limit)
		logger.Debug("memory limit", "bytes", limit)
	}
	if pct, ok := defaultGCPercent(); ok {
		debug.SetGCPercent(pct)
	}
	if err := bootstrapAdmin(ctx, db, hasher, c.AdminPassword, c.LogFormat == "json", stderr); err != nil {
		return err
	}
	tokens := auth.NewTokens([]byte(secret), c.AccessTTL, c.RefreshTTL)
	limiter := auth.NewLoginLimiter(c.LoginLimits)
	metrics := newMetrics(db)
	notices := metrics.watchNotices(db)
	db.OnNotifications = notices.notification
	worker, closeMail, err := newOutboxWorker(c, db, logger)
	if err != nil {
		return err
	}
	// After the worker has stopped (wg.Wait below): its sends are over.
	defer closeMail()

	// Notifications bring other processes' alerts at once; without them
	// (SQLite, or PostgreSQL behind a transaction pooler with no listen
	// URL) the poll alone does, so it runs often.
	poll := time.Second
	if db.Listens() {
		poll = 5 * time.Second
	} else if sqlstore.IsPostgres(c.Database) {
		logger.Info("alert notifications by polling: the database URL asks for a transaction pooler's query mode and --database-listen-url is not set", "poll", poll)
	}
	a, err := app.New(db, app.Options{Hasher: hasher, Tokens: tokens, Limiter: limiter, Logger: logger,
		Poll: poll, Reminders: c.Reminders, WebhookAllowPrivate: c.WebhookAllowPrivate})
	if err != nil {
		return err
	}
	a.Auth.OnLoginFailure = metrics.loginFailure
	a.TokenAuth.OnFailure = metrics.loginFailure
	api := a.API
	api.Web = web.Handler()
	api.TrustedProxies, api.CORSOrigins, api.PublicURL = c.TrustedProxies, c.CORSOrigins, c.PublicURL
	api.Observe = metrics.observe
	api.MaxInFlight, api.OnOverload = c.MaxInFlight, metrics.overload.Inc
	metrics.watchInFlight(api)
	handler := api.Handler()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return usageErrorf("bad setting --addr ($TASKTRACK_ADDR): %v", err)
	}
	defer ln.Close() // when a later step fails
	api.LinkBase = c.PublicURL
	if api.LinkBase == "" {
		api.LinkBase = "http://" + ln.Addr().String()
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // the event stream extends its own
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Metrics have a listener of their own, on loopback by default: what
	// they tell (traffic, failed logins, pool use) is for operators, and
	// the API's callers, signed in or not, should reach none of it.
	var metricsLn net.Listener
	if c.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return usageErrorf("bad setting --metrics-addr ($TASKTRACK_METRICS_ADDR): %v", err)
		}
	}

	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(bg) })
	if worker != nil {
		worker.OnOutcome = notices.delivery
		wg.Go(func() { worker.Run(bg) })
	}
	wg.Go(func() { db.Listen(bg) })
	if c.SweepInterval > 0 {
		wg.Go(func() { sweepLoop(bg, db, c.SweepInterval, metrics, logger) })
	}
	if c.PprofAddr != "" {
		wg.Go(func() { servePprof(bg, c.PprofAddr, logger) })
	}
	if metricsLn != nil {
		logger.Info("serving metrics", "addr", metricsLn.Addr().String())
		wg.Go(func() { serveMetrics(bg, metricsLn, metrics.handler(), logger) })
	}

	logger.Info("serving", "addr", ln.Addr().String(), "database", db.Engine(), "sweep_interval", c.SweepInterval)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		// Event streams never finish by themselves: end them first.
		stopBg()
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopBg()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// bootstrapAdmin creates the admin "admin" on an empty database, printing
// a random password once if none was given: as a JSON log line when the
// logs are JSON, so that every line stays machine-readable, whatever the
// log level.
func bootstrapAdmin(ctx context.Context, db *sqlstore.DB, hasher *auth.Hasher, password string, jsonLog bool, stderr io.Writer) error {
	if has, err := db.Settings.HasUsers(ctx); err != nil || has {
		return err // nothing to do: the usual start, without hashing
	}
	random := password == ""
	if random {
		password = randomPassword()
	}
	hash, err := hasher.Hash(password)
	if err != nil {
		return err
	}
	created, err := db.Settings.BootstrapAdmin(ctx, hash)
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	if created && random && jsonLog {
		slog.New(slog.NewJSONHandler(stderr, nil)).Warn("created the first admin; the password is shown once, change it",
			"username", "admin", "password", password)
	} else if created && random {
		fmt.Fprintf(stderr, "created the first admin: username admin, password %s (shown once; change it)\n", password)
	}
	return nil
}

// sweepLoop sweeps at start and then every interval.
func sweepLoop(ctx context.Context, db *sqlstore.DB, every time.Duration, m *metrics, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := db.Sweeper.Sweep(ctx)
		m.sweep(res, err)
		if err != nil && ctx.Err() == nil {
			logger.Error("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveMetrics serves Prometheus scrapes on ln until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		<-ctx.Done()
		srv.Close() // a scrape is short and the next one is retried: none is worth waiting for
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("metrics listener", "err", err)
	}
}

func servePprof(ctx context.Context, addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	logger.Info("pprof listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("pprof", "err", err)
	}
}

// serveMemory is what serving needs of the Go runtime besides password
// hashing: the heap of requests in flight, stacks, caches.
const serveMemory = 10 << 20

// defaultMemoryLimit is the soft memory limit of `serve` when GOMEMLIMIT
// does not set one: serveMemory plus what the hasher's argon2id buffers
// need at most (48 MiB with one hash at a time). Each hash allocates a
// 19 MiB buffer that is garbage a moment later; left to GOGC alone, a burst
// of sign-ins lets several such buffers pile up before a collection, and
// the process peaked above 110 MB. The limit makes the collector reclaim
// them first. It is soft: a heap that truly needs more gets it (the
// collector then runs more often, never using more than half the CPU).
func defaultMemoryLimit(h *auth.Hasher) (int64, bool) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return 0, false
	}
	return serveMemory + h.MemoryBound(), true
}

// serveGCPercent is GOGC for `serve` when the environment does not set
// one. A serving process's live heap is about 2 MB, under GOGC=100's floor
// of a 4 MB heap goal, so the collector would run after every 2 MB
// allocated: 16 times per 1,000 requests listing one's 20 tasks, 21 per
// 1,000 creations with their email and webhook. 150 raises the floor to
// 6 MB, which halves that for 2 MB of heap. Measured on the load run's
// rows (two servers, A B B A ...): 6 to 8% less CPU per request than at
// 100, and 2 MB more resident memory under the list load.
const serveGCPercent = 150

// defaultGCPercent is serveGCPercent unless GOGC is set.
func defaultGCPercent() (int, bool) {
	if _, set := os.LookupEnv("GOGC"); set {
		return 0, false
	}
	return serveGCPercent, true
}
