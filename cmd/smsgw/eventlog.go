package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// journal writes what operators need to look back on into the event log: modem state
// changes and calls, system alerts fired and cleared, deliveries that failed or whose
// outcome is unknown, undecodable or unmatched inbound PDUs. It prunes entries older
// than the retention once a day.
type journal struct {
	db        *store.DB
	bus       *event.Bus
	log       *slog.Logger
	retention time.Duration
	now       func() time.Time
	// last delivery status logged per message, so a message's parts do not log the same
	// outcome several times (bounded: cleared when it grows large).
	delivered map[string]string
}

func newJournal(db *store.DB, bus *event.Bus, log *slog.Logger, retention time.Duration) *journal {
	return &journal{db: db, bus: bus, log: log, retention: retention, now: time.Now, delivered: map[string]string{}}
}

// Run follows the bus until ctx ends.
func (j *journal) Run(ctx context.Context) error {
	sub := j.bus.Subscribe(1024, func(e event.Event) bool {
		switch e.Type {
		case event.SystemAlertFired, event.SystemAlertCleared, event.MessageDelivery,
			event.InboundUndecodable, event.StatusReportUnmatched:
			return true
		}
		return false
	})
	defer sub.Close()
	prune := time.NewTicker(24 * time.Hour)
	defer prune.Stop()
	j.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.C():
			if !ok {
				return nil
			}
			if l, ok := j.line(e); ok {
				j.append(ctx, l)
			}
		case <-prune.C:
			j.prune(ctx)
		}
	}
}

func (j *journal) append(ctx context.Context, l store.LogLine) {
	if l.At.IsZero() {
		l.At = j.now()
	}
	if err := j.db.AppendLog(ctx, l); err != nil && ctx.Err() == nil {
		j.log.Warn("write the event log", "error", err)
	}
}

func (j *journal) prune(ctx context.Context) {
	if j.retention <= 0 {
		return
	}
	if n, err := j.db.PruneLog(ctx, j.now().Add(-j.retention)); err != nil && ctx.Err() == nil {
		j.log.Warn("prune the event log", "error", err)
	} else if n > 0 {
		j.log.Info("event log pruned", "entries", n)
	}
}

// line turns a bus event into a log entry, or reports false for events not worth one.
func (j *journal) line(e event.Event) (store.LogLine, bool) {
	l := store.LogLine{At: e.Time}
	switch e.Type {
	case event.SystemAlertFired, event.SystemAlertCleared:
		a, ok := e.Data.(store.SystemAlert)
		if !ok {
			return l, false
		}
		l.Module, l.Level, l.Message = "system", a.Severity, a.Message
		l.Context = map[string]any{"check": a.Check, "subject": a.Subject}
		if e.Type == event.SystemAlertCleared {
			l.Level, l.Message = "info", "cleared: "+a.Message
		}
	case event.MessageDelivery:
		m, ok := e.Data.(store.Message)
		if !ok || (m.Status != "failed" && m.Status != "expired" && m.Status != "unknown") || j.delivered[m.UID] == m.Status {
			return l, false
		}
		if len(j.delivered) > 10000 {
			j.delivered = map[string]string{}
		}
		j.delivered[m.UID] = m.Status
		l.Module, l.Level = "queue", "warning"
		l.Message = fmt.Sprintf("message %s to %s %s", m.UID, m.Peer, m.Status)
		if m.Error != "" {
			l.Message += ": " + m.Error
		}
		l.Context = map[string]any{"message": m.UID, "modem": m.Modem, "status": m.Status}
	case event.InboundUndecodable:
		l.Module, l.Level, l.Message = "inbound", "warning", "an inbound PDU could not be decoded"
		l.Context, _ = e.Data.(map[string]any)
	case event.StatusReportUnmatched:
		l.Module, l.Level, l.Message = "inbound", "info", "a status report matched no sent message"
		if se, ok := e.Data.(router.StatusEvent); ok {
			l.Context = map[string]any{"modem": se.Modem, "mr": se.MR, "status": se.Status}
		}
	default:
		return l, false
	}
	return l, true
}

// modemEvent logs a modem session's state changes and calls.
func (j *journal) modemEvent(e modem.Event) {
	l := store.LogLine{Module: "modem", At: j.now(), Context: map[string]any{"modem": e.Modem}}
	switch e.Kind {
	case "state":
		l.Context["state"] = string(e.State)
		l.Message = fmt.Sprintf("modem %s is %s", e.Modem, e.State)
		if e.Text != "" {
			l.Message += ": " + e.Text
		}
		switch e.State {
		case modem.StateReady, modem.StateConnecting, modem.StateStopped:
			l.Level = "info"
		case modem.StateAbsent, modem.StateLocked:
			l.Level = "critical"
		default:
			l.Level = "warning"
		}
	case "call":
		l.Level, l.Message = "info", fmt.Sprintf("incoming call to modem %s from %s", e.Modem, e.From)
		l.Context["from"] = e.From
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	j.append(ctx, l)
}
