package alert

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMonitorMetrics(t *testing.T) {
	m := NewMonitor(MonitorConfig{}, MonitorDeps{})
	m.firing["modem_offline\x00m0"] = CheckModemOffline
	m.firing["modem_offline\x00m1"] = CheckModemOffline
	m.balance["m0"] = 4.5
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	want := `
# HELP smsgw_modem_balance Prepaid balance from the last USSD balance check, in the operator's currency units.
# TYPE smsgw_modem_balance gauge
smsgw_modem_balance{modem="m0"} 4.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "smsgw_modem_balance"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m, "smsgw_alerts_firing"); n != len(allChecks) {
		t.Fatalf("%d firing series, want one per check (%d)", n, len(allChecks))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "smsgw_alerts_firing" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			want := 0.0
			if mm.GetLabel()[0].GetValue() == CheckModemOffline {
				want = 2
			}
			if got := mm.GetGauge().GetValue(); got != want {
				t.Errorf("firing %s = %v, want %v", mm.GetLabel()[0].GetValue(), got, want)
			}
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}
