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

	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
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
	modems   int          // demo: number of virtual modems (0 means 2)
}

// prometheusRegisterer is the part of a registry the components register on.
type prometheusRegisterer = prometheus.Registerer

// gateway holds the parts of one running smsgw process.
type gateway struct {
	cfg      config.Config
	log      *slog.Logger
	db       *store.DB
	reg      *prometheus.Registry
	srv      *server.Server
	bus      *event.Bus
	q        *queue.Queue
	rt       *router.Router
	sessions []*modem.Session
	journal  *journal // the operational event log (eventlog.go)
	routes   []queue.Route
	farm     *sim.Farm
	api      *apiWiring     // auth, webhooks, REST API (api_wiring.go)
	alerts   *alertsWiring  // jobs, business and system alerts (alerts_wiring.go)
	smsgate  *smsgateWiring // SMSGate-compatible API (smsgate_wiring.go)
}

// runGateway starts every part, runs until a signal or a failure, and shuts down in
// order: HTTP first, then the router and the queue (a send in flight finishes and is
// recorded), then the modems, then the database.
func runGateway(ctx context.Context, e env, cfg config.Config, opts gatewayOptions) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(cfg.Log, e.stderr)

	g, err := openGateway(ctx, cfg, opts, log)
	if err != nil {
		log.Error("start failed", "error", err)
		return 1
	}
	defer g.close()

	ln := opts.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			log.Error("listen", "address", cfg.Listen, "error", err)
			return 1
		}
	}
	url := publicURL(cfg, ln.Addr())
	log.Info("smsgw started", "version", readBuildInfo().Version, "url", url, "database", g.db.Path(),
		"modems", len(g.sessions), "demo", opts.demo)
	if opts.demo {
		printDemoBanner(ctx, e, url, cfg.StateDir, g)
	}
	notifyReady(log)

	workers := []component{
		{"router", g.rt.Run},
		{"event log", g.journal.Run},
		{"queue", func(ctx context.Context) error { return g.q.Run(ctx, g.routes) }},
		{"watchdog", func(ctx context.Context) error { return watchdog(ctx, log, g.db.Ping) }},
		{"webhooks", g.api.webhooks.Run},
		{"sessions", g.api.auth.Run},
		{"alerts", g.alerts.svc.Run},
		{"system alerts", g.alerts.mon.Run},
		{"smsgate", g.smsgate.run},
	}
	var modems []component
	for _, s := range g.sessions {
		modems = append(modems, component{"modem " + s.Name(), s.Run})
	}
	if g.farm != nil {
		// The virtual modems go last: the sessions must let go of their ports first.
		modems = append(modems, component{"virtual modems", func(ctx context.Context) error { <-ctx.Done(); return nil }})
	}
	err = runLayers(ctx, [][]component{
		{{"http", func(ctx context.Context) error { return g.srv.Run(ctx, ln) }}},
		workers,
		modems,
	})
	if err != nil {
		log.Error("stopped on failure", "error", err)
		return 1
	}
	log.Info("smsgw stopped")
	return 0
}

func (g *gateway) close() {
	if g.farm != nil {
		if err := g.farm.Close(); err != nil {
			g.log.Warn("close virtual modems", "error", err)
		}
	}
	if err := g.db.Close(); err != nil {
		g.log.Error("close database", "error", err)
	}
}

// openGateway opens and migrates the database and builds every part: HTTP server, event
// bus, queue, router, and one session per modem.
func openGateway(ctx context.Context, cfg config.Config, opts gatewayOptions, log *slog.Logger) (g *gateway, err error) {
	db, err := store.Open(ctx, cfg.DatabasePath())
	if err != nil {
		return nil, err
	}
	// Close over gw, not the named result: `return nil, err` sets g to nil before the
	// deferred cleanup runs.
	gw := &gateway{cfg: cfg, log: log, db: db}
	g = gw
	defer func() {
		if err != nil {
			gw.close()
		}
	}()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	instance, err := db.InstanceID(ctx)
	if err != nil {
		return nil, err
	}
	g.reg = newRegistry()
	g.reg.MustRegister(newMessageCollector(db))
	g.srv = server.New(server.Options{
		Logger:            log.With("component", "http"),
		Registry:          g.reg,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		ShutdownTimeout:   cfg.HTTP.ShutdownTimeout,
		MaxBodyBytes:      cfg.HTTP.MaxBodyBytes,
	})
	g.srv.AddCheck("database", db.Ping)

	var specs []modemSpec
	if opts.demo {
		if specs, err = g.startVirtualModems(opts.modems); err != nil {
			return nil, err
		}
	} else {
		specs = configuredModems(ctx, cfg, log)
	}

	g.bus = event.New(1024, nil)
	if g.q, err = newQueue(cfg, db, log.With("component", "queue"), g.reg); err != nil {
		return nil, err
	}
	g.rt = newRouter(cfg, db, g.bus, g.q, specs, log.With("component", "router"))
	g.journal = newJournal(db, g.bus, log.With("component", "eventlog"), time.Duration(cfg.Log.EventLogDays)*24*time.Hour)
	metrics := modem.NewMetrics(g.reg)
	for _, spec := range specs {
		s := newSession(cfg, spec, db, g.rt, metrics, g.journal.modemEvent, log)
		g.sessions = append(g.sessions, s)
		line := spec.line
		if line == "" {
			line = spec.name
		}
		g.routes = append(g.routes, queue.Route{Sender: s, Lines: []string{line}, RatePerMinute: spec.rate, MonthlyQuota: spec.quota})
		g.srv.AddCheck("modem:"+spec.name, func(context.Context) error {
			if st := s.Status(); st.State != modem.StateReady {
				return fmt.Errorf("%s: %s", st.State, st.LastError)
			}
			return nil
		})
	}

	if err := mountAPI(g); err != nil {
		return nil, err
	}
	if err := mountAlerts(g); err != nil {
		return nil, err
	}
	if err := mountSMSGate(g); err != nil {
		return nil, err
	}
	ui, err := webui.New(webui.Options{
		Logger:   log.With("component", "webui"),
		Version:  readBuildInfo().Version,
		Instance: instance,
		DB:       db, Router: g.rt, Queue: g.q, Bus: g.bus, Config: &cfg, Demo: g.farm, Done: ctx.Done(),
		Sessions: func() []*modem.Session { return g.sessions }, Auth: g.api.auth,
		Routes: g.routes, Webhooks: g.api.webhooks,
	})
	if err != nil {
		return nil, err
	}
	ui.Mount(g.srv.Router())
	return g, nil
}

// startVirtualModems starts the demo's virtual modems and network in-process, with
// stable links under the state directory, and returns them as modem specs.
func (g *gateway) startVirtualModems(n int) ([]modemSpec, error) {
	if n <= 0 {
		n = 2
	}
	lat := sim.LatencyInstant()
	lat.Send = sim.Span{Min: sim.Duration(400 * time.Millisecond), Max: sim.Duration(1500 * time.Millisecond)}
	lat.StatusReport = sim.Span{Min: sim.Duration(time.Second), Max: sim.Duration(4 * time.Second)}
	farm, err := sim.Start(sim.Config{
		Modems: n, LinkDir: filepath.Join(g.cfg.StateDir, "dev"), ControlAddr: "127.0.0.1:0",
		Latency: lat, FirstNumber: "+12025550100", Logger: g.log.With("component", "sim"),
	})
	if err != nil {
		return nil, fmt.Errorf("start virtual modems: %w", err)
	}
	g.farm = farm
	var specs []modemSpec
	for _, m := range farm.Modems {
		port := m.Link()
		if port == "" {
			port = m.Path()
		}
		specs = append(specs, modemSpec{name: m.Name(), port: port, imei: m.Identity().IMEI, static: true})
	}
	return specs, nil
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
  smsgw demo --modems 4                # four virtual modems instead of two
`)
	dir := fs.String("dir", "smsgw-demo", "state directory; reused on the next start")
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on; a free port is used if it is taken")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	nModems := fs.Int("modems", 2, "number of virtual modems (1 to 16)")
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
	return runGateway(ctx, e, cfg, gatewayOptions{demo: true, listener: ln, modems: min(max(*nModems, 1), 16)})
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

func printDemoBanner(ctx context.Context, e env, url, dir string, g *gateway) {
	var modems strings.Builder
	if g.farm != nil {
		for _, m := range g.farm.Modems {
			fmt.Fprintf(&modems, "             %s  %s  (pty %s)\n", m.Name(), m.Identity().MSISDN, m.Path())
		}
	}
	login := "sign in with the administrator you created on the first start\n" +
		"             (add users with: smsgw user add --state-dir " + dir + " --username NAME --role dispatcher)"
	if has, err := g.api.auth.HasUsers(ctx); err == nil && !has {
		if link, err := g.api.auth.SetupLink(ctx, url); err == nil {
			login = "no user exists yet; open this one-time link to create the administrator:\n             " + link
		}
	}
	fmt.Fprintf(e.stdout, `
smsgw demo is running.

  Open:      %s
  Log in:    %s
  State:     %s (kept; the next "smsgw demo" reuses it)
  Health:    %shealthz    Metrics: %smetrics
  Modems:    virtual, on a virtual network:
%s  Phones:    text the gateway as a customer from %sdemo/phones, or with the simulator's API:
             curl -X POST %s/api/phones/+12025550199/send -d '{"to":"+12025550100","text":"hello"}'

Press Ctrl-C to stop.

`, url, login, dir, url, url, modems.String(), url, g.farm.ControlURL())
}
