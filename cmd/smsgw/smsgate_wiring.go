package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/smsgate"
)

// smsgateWiring holds the SMSGate-compatible API and, when configured, the listener
// with the Android phone's root layout.
type smsgateWiring struct {
	api   *smsgate.API
	log   *slog.Logger
	local net.Listener // nil: no local-layout listener
	srv   *http.Server
}

// mountSMSGate builds the SMSGate-compatible API on the gateway's queue, webhook queue
// and modems, mounts it under /3rdparty/v1 and /api/3rdparty/v1 on the main router
// (smsgate.enabled) and opens the local-layout listener (smsgate.local_listen), so a
// port that cannot be bound fails the start. runGateway runs g.smsgate.run as a
// worker. It must run after mountAPI (it needs the webhook service) and before the
// web UI mounts its catch-all routes.
func mountSMSGate(g *gateway) error {
	cfg := g.cfg.SMSGate
	if !cfg.Enabled && cfg.LocalListen == "" {
		return nil
	}
	if g.api == nil || g.api.webhooks == nil {
		return errors.New("smsgate: mount the API (webhooks) first")
	}
	log := g.log.With("component", "smsgate")
	region := cfg.Region
	if region == "" {
		region = g.cfg.Region
	}
	sessions, routes := g.sessions, g.routes
	a := smsgate.New(smsgate.Deps{
		DB: g.db, Queue: g.q, Webhooks: g.api.webhooks, Bus: g.bus,
		Modems:            func(context.Context) []smsgate.ModemInfo { return smsgateModems(sessions, routes) },
		Region:            region,
		AllowHTTPWebhooks: cfg.AllowHTTPWebhooks,
		PingInterval:      cfg.PingInterval,
		Version:           readBuildInfo().Version,
		Log:               log,
		MaxBodyBytes:      g.cfg.HTTP.MaxBodyBytes,
	})
	w := &smsgateWiring{api: a, log: log}
	if cfg.Enabled {
		a.Mount(g.srv.Router())
	}
	if cfg.LocalListen != "" {
		ln, err := net.Listen("tcp", cfg.LocalListen)
		if err != nil {
			return fmt.Errorf("smsgate.local_listen: %w", err)
		}
		w.local = ln
		w.srv = &http.Server{
			Handler:           recoverJSON(log, a.Handler("")),
			ReadHeaderTimeout: g.cfg.HTTP.ReadHeaderTimeout,
			ReadTimeout:       g.cfg.HTTP.ReadTimeout,
			WriteTimeout:      g.cfg.HTTP.WriteTimeout,
			IdleTimeout:       g.cfg.HTTP.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	g.smsgate = w
	return nil
}

// smsgateModems shows the modem sessions to the API with the line each serves.
func smsgateModems(sessions []*modem.Session, routes []queue.Route) []smsgate.ModemInfo {
	out := make([]smsgate.ModemInfo, 0, len(sessions))
	for i, s := range sessions {
		st := s.Status()
		line := s.Name()
		if i < len(routes) && len(routes[i].Lines) > 0 {
			line = routes[i].Lines[0]
		}
		out = append(out, smsgate.ModemInfo{Name: s.Name(), Line: line, IMEI: st.IMEI, ICCID: st.ICCID, Operator: st.Operator,
			State: string(st.State), Ready: st.State == modem.StateReady, Registered: st.Registered, SignalDBm: st.SignalDBm,
			LastSeen: st.LastSeen})
	}
	return out
}

// run follows deliveries for SMSGate webhooks and serves the local-layout listener
// until ctx ends (a nil wiring, when the API is off, just waits).
func (w *smsgateWiring) run(ctx context.Context) error {
	if w == nil {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	if w.srv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.log.Info("SMSGate local-layout listener started", "address", w.local.Addr().String())
			if err := w.srv.Serve(w.local); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("smsgate local listener: %w", err)
			}
		}()
	}
	err := w.api.Run(ctx)
	if w.srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if serr := w.srv.Shutdown(sctx); serr != nil {
			_ = w.srv.Close()
		}
		cancel()
	}
	wg.Wait()
	select {
	case serr := <-errc:
		return errors.Join(err, serr)
	default:
	}
	return err
}

// recoverJSON answers a panicking request with a JSON 500 instead of a dropped
// connection, and logs it.
func recoverJSON(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in SMSGate request", "panic", fmt.Sprint(v), "path", r.URL.Path)
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"message":"internal error","code":500}` + "\n"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
