package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/store"
)

// messageCollector exposes the number of messages by direction, status and line. It
// counts from the database, which reads the whole messages table, so the counts are
// cached and refreshed at most every minInterval, and never more often than 100 times
// the last count took (at a million messages on a slow card a count may take a second;
// the collector then spends at most 1% of its time counting).
type messageCollector struct {
	db          *store.DB
	minInterval time.Duration
	now         func() time.Time

	mu        sync.Mutex
	counts    []store.MessageCount
	countedAt time.Time
	took      time.Duration

	messages  *prometheus.Desc
	timestamp *prometheus.Desc
	duration  *prometheus.Desc
}

func newMessageCollector(db *store.DB) *messageCollector {
	return &messageCollector{
		db: db, minInterval: 15 * time.Second, now: time.Now,
		messages: prometheus.NewDesc("smsgw_messages",
			"Messages in the database by direction (in, out), status and line, as of the last count.",
			[]string{"direction", "status", "line"}, nil),
		timestamp: prometheus.NewDesc("smsgw_messages_counted_timestamp_seconds",
			"When smsgw_messages was last counted (Unix time).", nil, nil),
		duration: prometheus.NewDesc("smsgw_messages_count_duration_seconds",
			"How long the last count of smsgw_messages took.", nil, nil),
	}
}

func (c *messageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.timestamp
	ch <- c.duration
}

func (c *messageCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.countedAt.IsZero() || now.Sub(c.countedAt) >= max(c.minInterval, 100*c.took) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		counts, err := c.db.MessageCounts(ctx)
		cancel()
		if err == nil {
			c.counts, c.countedAt, c.took = counts, now, c.now().Sub(now)
		}
		// On failure the last counts stay and the timestamp shows their age.
	}
	if c.countedAt.IsZero() {
		return
	}
	for _, m := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(m.Count), m.Direction, m.Status, m.Line)
	}
	ch <- prometheus.MustNewConstMetric(c.timestamp, prometheus.GaugeValue, float64(c.countedAt.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, c.took.Seconds())
}
