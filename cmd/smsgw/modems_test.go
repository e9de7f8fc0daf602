package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
)

func TestModemsProbesGivenPorts(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	a := diagSim(t, n, "mod0")
	b := diagSim(t, n, "mod1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	code, out, errOut := runCmd(ctx, "modems", "--port", a.Path(), "--port", b.Path())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, m := range []*sim.Modem{a, b} {
		id := m.Identity()
		for _, want := range []string{m.Path(), id.IMEI, id.IMSI, id.ICCID, "dBm", "home"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	}
	if !strings.Contains(out, "PORT") || !strings.Contains(out, "REGISTRATION") {
		t.Errorf("no table header:\n%s", out)
	}

	code, out, errOut = runCmd(ctx, "modems", "--json", "--port", a.Path())
	if code != 0 {
		t.Fatalf("--json exit %d: %s", code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("JSON %v: %s", err, out)
	}
	r := rows[0]
	if r["port"] != a.Path() || r["imei"] != a.Identity().IMEI || r["imsi"] != a.Identity().IMSI || r["iccid"] != a.Identity().ICCID ||
		r["registered"] != true || r["manufacturer"] == nil || r["signal_dbm"] == nil {
		t.Errorf("JSON row %v", r)
	}

	// A port a running gateway holds is reported, not touched.
	unlock, err := modem.LockPort(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(ctx, "modems", "--port", a.Path())
	unlock()
	if want := fmt.Sprintf("in use by smsgw (pid %d)", os.Getpid()); code != 1 || !strings.Contains(out, "Not usable:") || !strings.Contains(out, want) {
		t.Errorf("held port: exit %d\n%s", code, out)
	}
}

// A port that does not answer AT (a GPS or debug port) gets a bare AT and nothing else.
func TestModemsSilentPortGetsOnlyAT(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master)
		got <- string(b)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, out, errOut := runCmd(ctx, "modems", "--timeout", "300ms", "--port", slave.Name())
	if code != 1 || !strings.Contains(out, "no answer to AT") {
		t.Errorf("silent port: exit %d\n%s\n%s", code, out, errOut)
	}
	_ = slave.Close()
	time.Sleep(50 * time.Millisecond)
	_ = master.Close()
	select {
	case b := <-got:
		if strings.TrimSpace(b) != "AT" {
			t.Errorf("silent port received %q, want only AT", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reader did not end")
	}
}

func TestModemsWithoutUSBModems(t *testing.T) {
	if ports, err := modem.ListUSBPorts(); err != nil || len(ports) > 0 {
		t.Skipf("this machine has USB serial ports (%d) or cannot list them (%v); not probing real hardware from a test", len(ports), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, out, errOut := runCmd(ctx, "modems")
	if code != 0 || !strings.Contains(out, "no USB serial modems found; is the modem in HiLink/network mode? see docs") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCmd(ctx, "modems", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" || !strings.Contains(errOut, "HiLink") {
		t.Errorf("--json: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, args := range [][]string{{"modems", "extra"}, {"modems", "--timeout", "0s"}, {"modems", "--port", ""}} {
		if code, _, _ := runCmd(ctx, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := runCmd(ctx, "modems", "--help"); code != 0 || !strings.Contains(errOut, "Examples:") {
		t.Errorf("--help: %d %s", code, errOut)
	}
}

// runCmd runs the whole program in-process.
func runCmd(ctx context.Context, args ...string) (int, string, string) {
	out, errb := &syncBuffer{}, &syncBuffer{}
	code := run(ctx, args, out, errb, noEnv)
	return code, out.String(), errb.String()
}
