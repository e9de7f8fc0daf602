package queue

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/store"
)

type (
	storeClaim = store.ClaimFilter
	storeJob   = store.Job
)

type metrics struct {
	enqueued    prometheus.Counter
	recovered   prometheus.Counter
	parts       *prometheus.CounterVec
	sendLatency *prometheus.HistogramVec
	quotaUsed   *prometheus.GaugeVec
}

// newMetrics registers the queue's series; the part gauges read the statistics cached by
// housekeeping, never the database during a scrape.
func newMetrics(reg prometheus.Registerer, q *Queue) *metrics {
	m := &metrics{
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "queue", Name: "messages_enqueued_total",
			Help: "Outbound messages accepted into the queue (repeats of an idempotency key not counted).",
		}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "queue", Name: "parts_recovered_unknown_total",
			Help: "Parts found mid-submission at start-up and marked unknown.",
		}),
		parts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "queue", Name: "part_submissions_total",
			Help: "Part submissions by modem and outcome (sent, temporary, permanent, unknown).",
		}, []string{"modem", "outcome"}),
		sendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "smsgw", Subsystem: "queue", Name: "submit_duration_seconds",
			Help:    "Time from handing a part to the modem to its answer.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 4, 8, 15, 30, 60, 120},
		}, []string{"modem"}),
		quotaUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "smsgw", Subsystem: "queue", Name: "month_submissions",
			Help: "Parts submitted this calendar month per modem (for quotas).",
		}, []string{"modem"}),
	}
	if reg == nil {
		return m
	}
	partsDesc := prometheus.NewDesc("smsgw_queue_parts", "Outbound parts by state, as of the last housekeeping pass.", []string{"state"}, nil)
	oldestDesc := prometheus.NewDesc("smsgw_queue_oldest_queued_age_seconds", "Age of the oldest part still queued (0 when none).", nil, nil)
	reg.MustRegister(m.enqueued, m.recovered, m.parts, m.sendLatency, m.quotaUsed,
		collector{descs: []*prometheus.Desc{partsDesc, oldestDesc}, collect: func(ch chan<- prometheus.Metric) {
			parts, oldest := q.Stats()
			for _, s := range []string{store.PartQueued, store.PartSubmitting, store.PartSent, store.PartDelivered,
				store.PartFailed, store.PartExpired, store.PartUnknown, store.PartCancelled} {
				ch <- prometheus.MustNewConstMetric(partsDesc, prometheus.GaugeValue, float64(parts[s]), s)
			}
			age := 0.0
			if !oldest.IsZero() {
				age = max(0, q.now().Sub(oldest).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
		}})
	return m
}

// collector adapts a function to prometheus.Collector.
type collector struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
