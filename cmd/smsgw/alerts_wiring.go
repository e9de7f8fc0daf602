package main

import (
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"strings"

	"github.com/smsgw/smsgw/alert"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/store"
)

// alertsWiring holds what mountAlerts builds: the business alert service (jobs,
// templates, rules, customer-response emails) and the system alert monitor; runGateway
// runs both as workers.
type alertsWiring struct {
	svc *alert.Service
	mon *alert.Monitor
}

// mountAlerts builds the alert service and monitor from the configuration and the
// gateway's parts, and mounts the jobs, alert templates, alert rules and system alerts
// API (with the REST API's authentication, scopes and CSRF checks).
func mountAlerts(g *gateway) error {
	cfg := g.cfg.Alerts
	log := g.log.With("component", "alert")
	var mailer alert.Mailer
	if cfg.SMTP.Host != "" {
		mailer = &alert.SMTP{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password, From: cfg.SMTP.From, NoStartTLS: !cfg.SMTP.StartTLS}
	}
	var emailTo []string
	if cfg.EmailTo != "" {
		list, err := mail.ParseAddressList(cfg.EmailTo)
		if err != nil {
			return fmt.Errorf("alerts.email_to: %w", err)
		}
		for _, a := range list {
			emailTo = append(emailTo, a.Address)
		}
	}
	line := cfg.Line
	if line == "" && len(g.routes) > 0 && len(g.routes[0].Lines) > 0 {
		line = g.routes[0].Lines[0]
	}
	svc := alert.New(alert.Config{Region: g.cfg.Region, DefaultLine: line, DedupeWindow: cfg.DedupeWindow,
		ChatDelay: cfg.ChatDelay, ChatDelayMax: cfg.ChatDelayMax, EmailTo: emailTo, PublicURL: g.cfg.PublicURL},
		alert.Deps{DB: g.db, Router: g.rt, Bus: g.bus, Mail: mailer, Log: log})

	var modems []alert.ModemInfo
	for i, s := range g.sessions {
		mi := alert.ModemInfo{Name: s.Name(), Status: s.Status,
			USSD: func(ctx context.Context, code string) (string, error) {
				r, err := s.USSD(ctx, code)
				return r.Text, err
			}}
		if i < len(g.routes) {
			mi.Quota = g.routes[i].MonthlyQuota
			if len(g.routes[i].Lines) > 0 {
				mi.Line = g.routes[i].Lines[0]
			}
		}
		modems = append(modems, mi)
	}
	balanceMin, err := strconv.ParseFloat(strings.TrimSpace(cfg.BalanceMin), 64)
	if err != nil {
		return fmt.Errorf("alerts.balance_min: %w", err)
	}
	q, db := g.q, g.db
	mon := alert.NewMonitor(alert.MonitorConfig{Interval: cfg.CheckInterval, FireAfter: cfg.FireAfter, OnCall: cfg.OnCall,
		EmailTo: emailTo, Thresholds: alert.Thresholds{
			WeakSignalDBm: cfg.WeakSignalDBm, StorageRatio: float64(cfg.StoragePercent) / 100, BalanceCode: cfg.BalanceUSSD,
			BalanceMin: balanceMin, BalanceInterval: cfg.BalanceInterval, BacklogParts: cfg.BacklogParts,
			OldestAge: cfg.OldestAge, FailureRate: float64(cfg.FailurePercent) / 100, QuotaRatio: float64(cfg.QuotaPercent) / 100,
			WebhookFailures: cfg.WebhookFailures,
		}},
		alert.MonitorDeps{DB: db, Bus: g.bus, Mail: mailer, Modems: modems, QueueStats: q.Stats, Usage: db.SubmittedSince,
			WebhookFailures: func(ctx context.Context) (map[string]int, error) { return webhookFailures(ctx, db) },
			SendSMS: func(ctx context.Context, to, line, body, key string) error {
				// Kind api: an operator alarm is not held by quiet hours.
				_, _, err := q.Enqueue(ctx, queue.Request{To: to, Line: line, Body: body, Kind: queue.KindAPI, Priority: 10,
					IdempotencyKey: key})
				return err
			},
			Log: log})
	g.reg.MustRegister(mon) // smsgw_alerts_firing, smsgw_modem_balance

	h := alert.NewHandler(svc, g.api.authorizeAlerts, log)
	r := g.srv.Router()
	for _, prefix := range []string{"/api/v1/jobs", "/api/v1/alert-templates", "/api/v1/alert-rules", "/api/v1/system-alerts"} {
		r.PathPrefix(prefix).Handler(h)
	}
	g.alerts = &alertsWiring{svc: svc, mon: mon}
	return nil
}

// webhookFailures counts, per active webhook, the failed deliveries since the last one
// that got through.
func webhookFailures(ctx context.Context, db *store.DB) (map[string]int, error) {
	hooks, err := db.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, w := range hooks {
		if !w.Active {
			continue
		}
		ds, err := db.Deliveries(ctx, w.ID, 0, 50)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, d := range ds {
			if d.State == store.DeliveryDelivered {
				break
			}
			if d.State == store.DeliveryFailed || d.Attempts > 0 {
				n++
			}
		}
		out[w.URL] = n
	}
	return out, nil
}
