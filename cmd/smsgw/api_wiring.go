package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/smsgw/smsgw/alert"
	"github.com/smsgw/smsgw/api"
	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/webhook"
)

// apiWiring holds the parts mountAPI builds: authentication (also what the web UI
// logs people in with), webhooks and the REST API.
type apiWiring struct {
	auth     *auth.Service
	webhooks *webhook.Service
	api      *api.API
}

// mountAPI builds auth, webhooks and the REST API from the gateway's parts, mounts the
// API on the HTTP router and keeps the parts in g.api; runGateway runs
// g.api.webhooks.Run and g.api.auth.Run as workers.
func mountAPI(g *gateway) error {
	log := g.log.With("component", "api")
	a := &apiWiring{}
	ao := authOptions(g.cfg)
	ao.Log = g.log.With("component", "auth")
	a.auth = auth.New(g.db, ao)
	// At least as many envelopes as the bus keeps for replay, so a resumed SSE stream
	// carries the same old/new values as the live one.
	envs := webhook.NewEnvelopes(g.bus, 4096)
	wo := webhookOptions(g.cfg)
	wo.Log, wo.Registry = g.log.With("component", "webhook"), g.reg
	a.webhooks = webhook.New(g.db, g.bus, envs, wo)
	sessions := g.sessions
	a.api = api.New(api.Deps{
		DB: g.db, Auth: a.auth, Queue: g.q, Router: g.rt, Bus: g.bus, Envelopes: envs, Webhooks: a.webhooks,
		Modems: func() []api.Modem {
			out := make([]api.Modem, len(sessions))
			for i, s := range sessions {
				out[i] = sessionModem{s}
			}
			return out
		},
		Log: log, MaxBodyBytes: g.cfg.HTTP.MaxBodyBytes,
	})
	a.api.Mount(g.srv.Router())
	g.api = a
	return nil
}

// authOptions are the auth settings of cfg: session lifetime, login throttling and
// the cookie's Secure flag (http.secure_cookies; "auto" means whenever people reach
// the box over HTTPS).
func authOptions(cfg config.Config) auth.Options {
	return auth.Options{
		Secure:             cfg.SecureCookies(),
		SessionTTL:         cfg.Auth.SessionTTL,
		MaxFailuresPerUser: cfg.Auth.MaxFailuresPerUser,
		MaxFailuresPerIP:   cfg.Auth.MaxFailuresPerIP,
	}
}

// webhookOptions are the webhook delivery settings of cfg.
func webhookOptions(cfg config.Config) webhook.Options {
	return webhook.Options{
		RetryBase: cfg.Webhook.RetryBase,
		RetryMax:  cfg.Webhook.RetryMax,
		MaxAge:    cfg.Webhook.MaxAge,
		Workers:   cfg.Webhook.Workers,
	}
}

// sessionModem shows a modem session to the API.
type sessionModem struct{ s *modem.Session }

func (m sessionModem) Info() api.ModemInfo {
	st := m.s.Status()
	var problems []string
	for _, mem := range st.StorageFull {
		problems = append(problems, "SIM/modem storage "+mem+" is full: new SMS cannot arrive")
	}
	if st.State == modem.StateReady && !st.Registered {
		problems = append(problems, "not registered on a network ("+st.Registration+")")
	}
	if st.PINRetries >= 0 && st.PINRetries < 3 {
		problems = append(problems, "few PIN attempts left")
	}
	return api.ModemInfo{Name: m.s.Name(), Ready: st.State == modem.StateReady, Problems: problems, Status: st}
}

func (m sessionModem) WriteTrace(w io.Writer) error {
	_, err := m.s.Trace().WriteTo(w)
	return err
}

func (m sessionModem) USSD(ctx context.Context, code string) (any, error) {
	r, err := m.s.USSD(ctx, code)
	if err != nil {
		return nil, err
	}
	return map[string]any{"status": r.Status, "text": r.Text, "dcs": r.DCS}, nil
}

// authorizeAlerts is alert.Authorize for alert.NewHandler: the routes of package alert
// (jobs, alert templates and rules, system alerts under /api/v1) get the API's
// authentication, scope and CSRF checks.
func (a *apiWiring) authorizeAlerts(r *http.Request, scope string) (router.Actor, error) {
	p, err := a.api.Authorize(r, scope)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return router.Actor{}, alert.ErrUnauthenticated
	case errors.Is(err, api.ErrForbidden):
		return router.Actor{}, fmt.Errorf("%w: %v", alert.ErrForbidden, err)
	case err != nil:
		return router.Actor{}, err
	}
	return p.Actor(), nil
}
