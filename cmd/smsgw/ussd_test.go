package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
)

func TestUSSDAgainstVirtualModem(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	n.SetUSSD("*100#", "Your balance is 12.34 EUR")
	m := diagSim(t, n, "ussd0", sim.Preload{Memory: "SM", Stat: sim.StatRecUnread, PDU: deliverPDU(t, "+4915112345678", "keep me")})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	code, out, errOut := runCmd(ctx, "ussd", "--port", m.Path(), "*100#")
	if code != 0 || strings.TrimSpace(out) != "Your balance is 12.34 EUR" {
		t.Fatalf("exit %d\nstdout %q\nstderr %s", code, out, errOut)
	}
	code, out, errOut = runCmd(ctx, "ussd", "--json", "--port", m.Path(), "*100#")
	var j ussdJSON
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.Text != "Your balance is 12.34 EUR" || j.Code != "*100#" {
		t.Fatalf("--json exit %d: %s %s", code, out, errOut)
	}
	// The temporary session never deletes SMS: they are the gateway's.
	if msgs := m.Messages("SM"); len(msgs) != 1 {
		t.Errorf("SM holds %d messages after ussd, want the preloaded 1", len(msgs))
	}
	// An unknown code: the network says it is not supported.
	code, _, errOut = runCmd(ctx, "ussd", "--port", m.Path(), "--timeout", "5s", "*999#")
	if code != 1 || !strings.Contains(errOut, "not supported") {
		t.Errorf("unknown code: exit %d %s", code, errOut)
	}
	// Held port.
	unlock, err := modem.LockPort(m.Path())
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(ctx, "ussd", "--port", m.Path(), "*100#")
	unlock()
	if code != 1 || !strings.Contains(errOut, "in use by smsgw") || !strings.Contains(errOut, "--force") {
		t.Errorf("held port: exit %d %s", code, errOut)
	}
}

func TestUSSDUsage(t *testing.T) {
	ctx := context.Background()
	code, _, errOut := runCmd(ctx, "ussd", "--modem", "office", "*100#")
	if code != 2 || !strings.Contains(errOut, "API token with the modems:admin scope") {
		t.Errorf("--modem: exit %d %s", code, errOut)
	}
	for _, args := range [][]string{{"ussd", "*100#"}, {"ussd", "--port", "/dev/x"}, {"ussd", "--port", "/dev/x", `*100#",1;+CFUN=0`},
		{"ussd", "--port", "/dev/x", "*1#", "*2#"}, {"ussd", "--port", "/dev/x", "--timeout", "0s", "*1#"}} {
		if code, _, _ := runCmd(ctx, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := runCmd(ctx, "ussd", "--help"); code != 0 || !strings.Contains(errOut, "Examples:") {
		t.Errorf("--help: %d %s", code, errOut)
	}
	code, _, errOut = runCmd(ctx, "ussd", "--port", "/dev/no-such-modem", "--connect-timeout", "1s", "*100#")
	if code != 1 || !strings.Contains(errOut, "not ready") {
		t.Errorf("missing port: exit %d %s", code, errOut)
	}
}
