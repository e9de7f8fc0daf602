package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// modemSpec is one modem the gateway drives, resolved from the configuration, from
// detection, or from the demo's virtual modems.
type modemSpec struct {
	name      string
	line      string
	port      string
	imei      string
	usbSerial string
	pin       string
	smsc      string
	rate      int
	quota     int
	find      func() []string
	static    bool // a virtual modem: its path is known, never searched for
}

// newQueue builds the outbound queue from the configuration.
func newQueue(cfg config.Config, db *store.DB, log *slog.Logger, reg prometheusRegisterer) (*queue.Queue, error) {
	qc := queue.Config{
		Region: cfg.Region, MaxSegments: cfg.Queue.MaxSegments, MaxAttempts: cfg.Queue.MaxAttempts,
		RetryBase: cfg.Queue.RetryBase, RetryMax: cfg.Queue.RetryMax, DefaultValidity: cfg.Queue.DefaultValidity,
	}
	for _, name := range cfg.Queue.NationalLanguages {
		id, ok := sms.LanguageID(name)
		if !ok {
			return nil, fmt.Errorf("queue.national_languages: %q is not one of %s", name, strings.Join(sms.LanguageNames(), ", "))
		}
		qc.NationalLanguages = append(qc.NationalLanguages, id)
	}
	if cfg.Queue.QuietStart != "" {
		start, err1 := queue.ParseClock(cfg.Queue.QuietStart)
		end, err2 := queue.ParseClock(cfg.Queue.QuietEnd)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		loc := time.Local
		if cfg.Queue.Timezone != "" {
			var err error
			if loc, err = time.LoadLocation(cfg.Queue.Timezone); err != nil {
				return nil, fmt.Errorf("queue.timezone: %w", err)
			}
		}
		qc.QuietHours = queue.QuietHours{Start: start, End: end, Location: loc}
	}
	return queue.New(qc, db, log, reg, nil), nil
}

// outbox lets the router send through the queue.
type outbox struct{ q *queue.Queue }

func (o outbox) Send(ctx context.Context, m router.Outgoing) (int64, error) {
	msg, _, err := o.q.Enqueue(ctx, queue.Request{
		To: m.To, Line: m.Line, Body: m.Body, Kind: m.Kind, AuthorID: m.AuthorID,
		ThreadID: m.ThreadID, IdempotencyKey: m.IdempotencyKey,
	})
	if err != nil {
		return 0, err
	}
	return msg.ID, nil
}

// reports hands status reports from the router to the queue (which retries a report
// that beats the recording of its submission).
type reports struct{ q *queue.Queue }

func (r reports) ApplyStatusReport(ctx context.Context, sr router.StatusReport) (bool, error) {
	return r.q.ApplyStatusReport(ctx, sr.Modem, sr.MR, sr.Recipient, sr.Discharge, sr.Status)
}

// newRouter builds the inbound router and inbox domain API.
func newRouter(cfg config.Config, db *store.DB, bus *event.Bus, q *queue.Queue, specs []modemSpec, log *slog.Logger) *router.Router {
	lines := map[string]string{}
	for _, s := range specs {
		lines[s.name] = s.line
	}
	publishDeliveries(q, db, bus, log)
	return router.New(router.Config{
		DefaultRegion:       cfg.Region,
		ReassemblyTimeout:   cfg.Inbound.ReassemblyTimeout,
		GraceWindow:         cfg.Inbox.GraceWindow,
		AutoResolveAfter:    cfg.Inbox.AutoResolveAfter,
		NoAutoAccept:        !cfg.Inbox.AutoAccept,
		NoReturnToLastOwner: !cfg.Inbox.ReturnToLastOwner,
		JobOwnerOwnsReplies: cfg.Inbox.JobOwnerOwnsReplies,
		Permissions: router.Permissions{
			DispatcherSeeOthers:   cfg.Inbox.DispatcherSeeOthers,
			DispatcherReplyOthers: cfg.Inbox.DispatcherReplyOthers,
			DispatcherAssign:      cfg.Inbox.DispatcherAssign,
		},
		LineForModem: func(m, _ string) string {
			if l := lines[m]; l != "" {
				return l
			}
			return m
		},
	}, router.Deps{DB: db, Bus: bus, Outbox: outbox{q}, Reports: reports{q}, Log: log})
}

// publishDeliveries puts every delivery change of an outbound message on the event bus,
// with the thread's latest conversation as its visibility, so the inbox updates live.
func publishDeliveries(q *queue.Queue, db *store.DB, bus *event.Bus, log *slog.Logger) {
	q.OnChange(func(m store.Message) {
		e := event.Event{Type: event.MessageDelivery, ThreadID: m.ThreadID, Data: m}
		if m.ThreadID != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			convs, err := db.ConversationsOfThread(ctx, m.ThreadID)
			cancel()
			if err != nil {
				log.Warn("find the conversation of a delivery change", "message", m.UID, "error", err)
			}
			if n := len(convs); n > 0 {
				c := convs[n-1]
				e.ConversationID, e.QueueID, e.OwnerID = c.ID, c.QueueID, c.OwnerID
			}
		}
		bus.Publish(e)
	})
}

// configuredModems turns the modems section (or, without one, what detection finds) into
// specs. Detection only ever sends a bare AT to ports it does not know.
func configuredModems(ctx context.Context, cfg config.Config, log *slog.Logger) []modemSpec {
	var specs []modemSpec
	for i, m := range cfg.Modems {
		name := m.Name
		if name == "" {
			name = "modem" + strconv.Itoa(i)
		}
		specs = append(specs, modemSpec{name: name, line: m.Line, port: m.Port, imei: m.IMEI, usbSerial: m.USBSerial,
			pin: m.PIN, smsc: m.SMSC, rate: m.RatePerMinute, quota: m.MonthlyQuota})
	}
	if len(specs) == 0 && cfg.Modem.Detect {
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		found, err := modem.Detect(dctx, modem.DetectOptions{})
		cancel()
		if err != nil {
			log.Warn("USB modem detection failed", "error", err)
		}
		for _, f := range found {
			if f.Err != nil || f.IMEI == "" {
				continue
			}
			name := "modem-" + f.IMEI[max(0, len(f.IMEI)-4):]
			log.Info("modem detected", "modem", name, "port", f.Port, "model", f.Model, "imei", f.IMEI)
			specs = append(specs, modemSpec{name: name, port: f.Port, imei: f.IMEI})
		}
		if len(specs) == 0 {
			log.Warn("no modem found; the gateway runs, queues messages and sends them when a modem is configured " +
				"(see `smsgw modems` and docs/diagnostics.md)")
		}
	}
	for i := range specs {
		s := &specs[i]
		// A modem pinned by USB serial number can only be found by detection.
		if !cfg.Modem.Detect && s.usbSerial == "" {
			continue
		}
		s.find = func() []string {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			found, _ := modem.Detect(dctx, modem.DetectOptions{})
			return matchFound(found, s.imei, s.usbSerial)
		}
	}
	return specs
}

// matchFound returns the AT ports of detected modems that fit a configured modem: the
// same IMEI and the same USB serial number, where the configuration names them.
func matchFound(found []modem.Found, imei, usbSerial string) []string {
	var ports []string
	for _, f := range found {
		if f.Err != nil || f.Port == "" {
			continue
		}
		if (imei != "" && f.IMEI != imei) || (usbSerial != "" && f.USBSerial != usbSerial) {
			continue
		}
		ports = append(ports, f.Port)
	}
	return ports
}

// newSession builds the supervised session of one modem, whose inbound messages are
// committed raw before the modem deletes them.
func newSession(cfg config.Config, s modemSpec, db *store.DB, rt *router.Router, metrics *modem.Metrics, onEvent func(modem.Event), log *slog.Logger) *modem.Session {
	handler := func(ctx context.Context, in modem.Inbound) error {
		_, err := db.InsertInboundPDU(ctx, store.InboundPDU{Modem: in.Modem, IMEI: in.IMEI, IMSI: in.IMSI,
			Storage: in.Storage, Index: in.Index, PDU: in.PDU})
		if err == nil {
			rt.Notify()
		}
		return err
	}
	find := s.find
	if s.static {
		port := s.port
		find = func() []string { return []string{port} }
	}
	mc := modem.Config{
		Name: s.name, Port: s.port, IMEI: s.imei, Baud: cfg.Modem.Baud, PIN: s.pin, SMSC: s.smsc,
		CommandTimeout: cfg.Modem.CommandTimeout, SendTimeout: cfg.Modem.SendTimeout,
		HealthInterval: cfg.Modem.HealthInterval, SweepInterval: cfg.Modem.SweepInterval,
		TraceLines: cfg.Modem.TraceLines, Find: find,
		Claim: func(path string) (func(), bool) {
			unlock, err := modem.LockPort(path)
			if err != nil {
				log.Warn("modem port is held elsewhere", "modem", s.name, "port", path, "error", err)
				return nil, false
			}
			return unlock, true
		},
	}
	return modem.NewSession(mc, log.With("component", "modem"), handler, onEvent, metrics)
}
