package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/server"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webui"
)

func cmdServe(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "serve", "serve [flags]", `  smsgw serve                                   # reads /etc/smsgw/smsgw.yaml if present
  smsgw serve --config ./smsgw.yaml --listen 127.0.0.1:8080
  SMSGW_LOG_FORMAT=json smsgw serve --state-dir /var/lib/smsgw
`)
	var cf configFlags
	cf.register(fs)
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	cfg, err := cf.load(e)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	return runGateway(ctx, e, cfg, gatewayOptions{})
}

// gatewayOptions are what demo mode changes about the gateway.
type gatewayOptions struct {
	demo     bool
	listener net.Listener // already open (demo's port fallback); nil means listen on cfg.Listen
}

// gateway holds the parts of one running smsgw process.
type gateway struct {
	cfg config.Config
	log *slog.Logger
	db  *store.DB
	reg *prometheus.Registry
	srv *server.Server
}

// runGateway starts every part, runs until a signal or a failure, and shuts down in
// order: HTTP, then the workers, then the modems, then the database.
func runGateway(ctx context.Context, e env, cfg config.Config, opts gatewayOptions) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(cfg.Log, e.stderr)

	g, err := openGateway(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "error", err)
		return 1
	}
	defer func() {
		if err := g.db.Close(); err != nil {
			log.Error("close database", "error", err)
		}
	}()

	ln := opts.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			log.Error("listen", "address", cfg.Listen, "error", err)
			return 1
		}
	}
	url := publicURL(cfg, ln.Addr())
	log.Info("smsgw started", "version", readBuildInfo().Version, "url", url, "database", g.db.Path(), "demo", opts.demo)
	if opts.demo {
		printDemoBanner(e, url, cfg.StateDir)
	}
	notifyReady(log)

	err = runLayers(ctx, [][]component{
		{{"http", func(ctx context.Context) error { return g.srv.Run(ctx, ln) }}},
		{{"watchdog", func(ctx context.Context) error { return watchdog(ctx, log, g.db.Ping) }}},
	})
	if err != nil {
		log.Error("stopped on failure", "error", err)
		return 1
	}
	log.Info("smsgw stopped")
	return 0
}

// openGateway opens and migrates the database and builds the HTTP server with every
// route mounted.
func openGateway(ctx context.Context, cfg config.Config, log *slog.Logger) (*gateway, error) {
	db, err := store.Open(ctx, cfg.DatabasePath())
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	instance, err := db.InstanceID(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	reg := newRegistry()
	srv := server.New(server.Options{
		Logger:            log.With("component", "http"),
		Registry:          reg,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		ShutdownTimeout:   cfg.HTTP.ShutdownTimeout,
		MaxBodyBytes:      cfg.HTTP.MaxBodyBytes,
	})
	srv.AddCheck("database", db.Ping)
	ui, err := webui.New(webui.Options{
		Logger:   log.With("component", "webui"),
		Version:  readBuildInfo().Version,
		Instance: instance,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	ui.Mount(srv.Router())
	return &gateway{cfg: cfg, log: log, db: db, reg: reg, srv: srv}, nil
}

// publicURL is the address printed for people: the configured public URL, or the
// listener's address with an unspecified host shown as 127.0.0.1.
func publicURL(cfg config.Config, addr net.Addr) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

func cmdDemo(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "demo", "demo [flags]", `  smsgw demo                        # state in ./smsgw-demo, UI on http://127.0.0.1:8080/
  smsgw demo --dir /tmp/demo --listen 127.0.0.1:9000
`)
	dir := fs.String("dir", "smsgw-demo", "state directory; reused on the next start")
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on; a free port is used if it is taken")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	cfg := config.Default()
	cfg.StateDir = abs
	cfg.Listen = *listen
	cfg.Log.Level = *level
	cfg.Modem.Detect = false
	cfg.Region = "US"
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	ln, err := listenWithFallback(cfg.Listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	cfg.Listen = ln.Addr().String()
	return runGateway(ctx, e, cfg, gatewayOptions{demo: true, listener: ln})
}

// listenWithFallback listens on addr, or on a free port of the same host when addr's
// port is taken.
func listenWithFallback(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	host, _, serr := net.SplitHostPort(addr)
	if serr != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	ln, ferr := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if ferr != nil {
		return nil, fmt.Errorf("listen on %s (taken) or a free port: %w", addr, ferr)
	}
	return ln, nil
}

func printDemoBanner(e env, url, dir string) {
	fmt.Fprintf(e.stdout, `
smsgw demo is running.

  Open:      %s
  State:     %s (kept; the next "smsgw demo" reuses it)
  Health:    %shealthz    Metrics: %smetrics

The web UI and its login arrive with the team inbox; this page shows the gateway's status.
Press Ctrl-C to stop.

`, url, dir, url, url)
}
