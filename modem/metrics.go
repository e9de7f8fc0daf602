package modem

import (
	"errors"

	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/warthog618/modem/at"
)

// Metrics are the per-modem Prometheus series. They are set from what sessions already
// learned; a scrape never runs an AT command. Labels are modem names, never numbers.
type Metrics struct {
	commands   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	reconnects *prometheus.CounterVec
	up         *prometheus.GaugeVec
	registered *prometheus.GaugeVec
	signalDBm  *prometheus.GaugeVec
	storUsed   *prometheus.GaugeVec
	storTotal  *prometheus.GaugeVec
	sends      *prometheus.CounterVec
	received   *prometheus.CounterVec
}

// NewMetrics registers the modem series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "commands_total",
			Help: "AT commands run, by modem, command and result (ok, error, cme, cms, timeout, closed).",
		}, []string{"modem", "command", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "command_duration_seconds",
			Help:    "Time from writing an AT command to its final result, by modem and command.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 4, 8, 15, 30, 60, 120},
		}, []string{"modem", "command"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "reconnects_total",
			Help: "Times a modem session reconnected after losing its port or the modem.",
		}, []string{"modem"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "up",
			Help: "1 when the modem session is ready, else 0.",
		}, []string{"modem"}),
		registered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "registered",
			Help: "1 when the modem is registered on a network (home or roaming), else 0.",
		}, []string{"modem"}),
		signalDBm: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "signal_dbm",
			Help: "Received signal strength from AT+CSQ in dBm (absent when unknown).",
		}, []string{"modem"}),
		storUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "storage_used_messages",
			Help: "Messages held in a modem storage (SM, ME, SR).",
		}, []string{"modem", "storage"}),
		storTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "storage_capacity_messages",
			Help: "Capacity of a modem storage in messages.",
		}, []string{"modem", "storage"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "submits_total",
			Help: "AT+CMGS submissions by modem and outcome (ok, temporary, permanent, unknown).",
		}, []string{"modem", "outcome"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "modem", Name: "inbound_pdus_total",
			Help: "Inbound PDUs read from modems, by whether storing them succeeded.",
		}, []string{"modem", "result"}),
	}
	reg.MustRegister(m.commands, m.latency, m.reconnects, m.up, m.registered, m.signalDBm,
		m.storUsed, m.storTotal, m.sends, m.received)
	return m
}

func resultLabel(err error) string {
	var cme at.CMEError
	var cms at.CMSError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &cms):
		return "cms"
	case errors.As(err, &cme):
		return "cme"
	case errors.Is(err, at.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, at.ErrClosed):
		return "closed"
	}
	return "error"
}

func (m *Metrics) command(modem, cmd string, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(modem, cmd, resultLabel(err)).Inc()
	m.latency.WithLabelValues(modem, cmd).Observe(d.Seconds())
}

func (m *Metrics) reconnect(modem string) {
	if m != nil {
		m.reconnects.WithLabelValues(modem).Inc()
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *Metrics) setUp(modem string, up bool) {
	if m != nil {
		m.up.WithLabelValues(modem).Set(b2f(up))
	}
}

func (m *Metrics) setRegistered(modem string, reg bool) {
	if m != nil {
		m.registered.WithLabelValues(modem).Set(b2f(reg))
	}
}

func (m *Metrics) signal(modem string, dbm int) {
	if m == nil {
		return
	}
	if dbm == 0 {
		m.signalDBm.DeleteLabelValues(modem)
		return
	}
	m.signalDBm.WithLabelValues(modem).Set(float64(dbm))
}

func (m *Metrics) storage(modem string, u MemoryUse) {
	if m != nil {
		m.storUsed.WithLabelValues(modem, u.Name).Set(float64(u.Used))
		m.storTotal.WithLabelValues(modem, u.Name).Set(float64(u.Total))
	}
}

func (m *Metrics) sendResult(modem string, c Class) {
	if m == nil {
		return
	}
	outcome := "ok"
	if c != 0 {
		outcome = c.String()
	}
	m.sends.WithLabelValues(modem, outcome).Inc()
}

func (m *Metrics) countReceived(modem string, err error) {
	if m != nil {
		m.received.WithLabelValues(modem, map[bool]string{true: "stored", false: "failed"}[err == nil]).Inc()
	}
}
