package alert

import "github.com/prometheus/client_golang/prometheus"

var (
	firingDesc = prometheus.NewDesc("smsgw_alerts_firing",
		"System alert incidents firing now, by check (modem_offline, queue_backlog, ...).", []string{"check"}, nil)
	balanceDesc = prometheus.NewDesc("smsgw_modem_balance",
		"Prepaid balance from the last USSD balance check, in the operator's currency units.", []string{"modem"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	ch <- firingDesc
	ch <- balanceDesc
}

// Collect implements prometheus.Collector from what the monitor last saw; a scrape never
// runs a check or a USSD request.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	byCheck := map[string]int{}
	for _, check := range m.firing {
		byCheck[check]++
	}
	balance := make(map[string]float64, len(m.balance))
	for k, v := range m.balance {
		balance[k] = v
	}
	m.mu.Unlock()
	for _, check := range allChecks {
		ch <- prometheus.MustNewConstMetric(firingDesc, prometheus.GaugeValue, float64(byCheck[check]), check)
	}
	for modem, v := range balance {
		ch <- prometheus.MustNewConstMetric(balanceDesc, prometheus.GaugeValue, v, modem)
	}
}

// allChecks lists every check, so the firing gauge shows 0 for the quiet ones.
var allChecks = []string{CheckModemOffline, CheckModemUnregistered, CheckWeakSignal, CheckSIMStorage, CheckLowBalance,
	CheckQueueBacklog, CheckQueueOldest, CheckFailureRate, CheckQuota, CheckWebhookFailing}
