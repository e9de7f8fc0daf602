package modem

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/smsgw/smsgw/modem/sim"
)

// silentPort is a pty nobody answers on, like a GPS or diagnostic interface; written
// returns everything written to it once the test is done with it.
func silentPort(t *testing.T) (path string, written func() string) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master)
		got <- string(b)
	}()
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = slave.Close()
			_ = master.Close()
		}
	})
	return slave.Name(), func() string {
		closed = true
		_ = slave.Close()
		time.Sleep(50 * time.Millisecond)
		_ = master.Close()
		select {
		case s := <-got:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("pty reader did not end")
			return ""
		}
	}
}

func startSim(t *testing.T, n *sim.Network, name string, lat sim.Latency) *sim.Modem {
	t.Helper()
	m, err := n.NewModem(sim.ModemConfig{Name: name, Latency: lat})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestDetectExplicitPorts(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	a := startSim(t, n, "d0", sim.LatencyInstant())
	hp, _ := sim.PersonalityByName("huawei")
	b, err := n.NewModem(sim.ModemConfig{Name: "d1", Personality: hp})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found, err := Detect(ctx, DetectOptions{NoUSB: true, Ports: []string{a.Path(), b.Path(), a.Path(), "/dev/no-such-port"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Fatalf("found %d, want 3 (duplicates merged): %+v", len(found), found)
	}
	byPort := map[string]Found{}
	for _, f := range found {
		byPort[f.Port] = f
	}
	for _, m := range []*sim.Modem{a, b} {
		f := byPort[m.Path()]
		id := m.Identity()
		if f.Err != nil || f.IMEI != id.IMEI || f.IMSI != id.IMSI || f.ICCID != id.ICCID || f.Operator == "" ||
			f.SignalDBm >= 0 || !f.Registered || f.Registration != "home" || f.Manufacturer == "" || f.Model == "" || f.SIM != "READY" {
			t.Errorf("%s: %+v", m.Name(), f)
		}
	}
	if f := byPort["/dev/no-such-port"]; f.Err == nil {
		t.Error("a missing port gave no error")
	}
	// A deregistered modem still identifies, unregistered.
	a.SetFault(sim.Fault{Deregistered: true})
	found, _ = Detect(ctx, DetectOptions{NoUSB: true, Ports: []string{a.Path()}})
	if len(found) != 1 || found[0].Err != nil || found[0].Registered || found[0].IMEI == "" {
		t.Errorf("deregistered: %+v", found)
	}
}

func TestDetectPicksTheATPortOfAStick(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	gps, gpsGot := silentPort(t)
	slow := startSim(t, n, "slow", sim.Latency{Command: sim.Fixed(400 * time.Millisecond)})
	fast := startSim(t, n, "fast", sim.LatencyInstant())
	list := func() ([]USBPort, error) {
		return []USBPort{
			{Port: fast.Path(), VID: "12d1", PID: "1001", SerialNumber: "SN1", Location: "1-1.2", Interface: 2},
			{Port: gps, VID: "12d1", PID: "1001", SerialNumber: "SN1", Location: "1-1.2", Interface: 0},
			{Port: slow.Path(), VID: "12d1", PID: "1001", SerialNumber: "SN1", Location: "1-1.2", Interface: 1},
		}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found, err := Detect(ctx, DetectOptions{ListUSB: list, ProbeTimeout: time.Second, CommandTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("one stick, got %d: %+v", len(found), found)
	}
	f := found[0]
	if f.Port != fast.Path() || f.Err != nil || f.IMEI != fast.Identity().IMEI || f.VID != "12d1" || f.USBSerial != "SN1" {
		t.Errorf("picked %+v, want the fast port %s", f, fast.Path())
	}
	if strings.Join(f.OtherPorts, ",") != gps+","+slow.Path() {
		t.Errorf("other ports %v", f.OtherPorts)
	}
	if w := gpsGot(); strings.TrimSpace(w) != "AT" {
		t.Errorf("the silent port received %q; it must get a bare AT only", w)
	}
}

func TestDetectLeavesHeldSticksAlone(t *testing.T) {
	p0, got0 := silentPort(t)
	p1, _ := silentPort(t)
	list := func() ([]USBPort, error) {
		return []USBPort{{Port: p0, Location: "2-1", Interface: 0}, {Port: p1, Location: "2-1", Interface: 1}}, nil
	}
	held := &PortInUseError{Port: p1, PID: 4242}
	lock := func(p string) (func(), error) {
		if p == p1 {
			return nil, held
		}
		return func() {}, nil
	}
	found, err := Detect(context.Background(), DetectOptions{ListUSB: list, Lock: lock, ProbeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !errors.Is(found[0].Err, ErrPortInUse) || found[0].Port != p1 || !strings.Contains(found[0].Err.Error(), "pid 4242") {
		t.Fatalf("found %+v", found)
	}
	if w := got0(); w != "" {
		t.Errorf("a port of a held stick received %q", w)
	}
	// Enumeration failures are returned, explicit ports still probed.
	found, err = Detect(context.Background(), DetectOptions{
		ListUSB: func() ([]USBPort, error) { return nil, errors.New("no sysfs") }, Ports: []string{"/dev/no-such-port"},
	})
	if err == nil || len(found) != 1 {
		t.Errorf("enumeration error: %v %+v", err, found)
	}
}

func TestUSBLocation(t *testing.T) {
	root := t.TempDir()
	dev := root + "/devices/pci0000:00/usb1/1-1/1-1.4/1-1.4:1.2/ttyUSB2"
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(root+"/class/ttyUSB2", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dev, root+"/class/ttyUSB2/device"); err != nil {
		t.Fatal(err)
	}
	if loc, iface := usbLocation(root+"/class", "ttyUSB2"); loc != "1-1.4" || iface != 2 {
		t.Errorf("got %q %d", loc, iface)
	}
	if loc, iface := usbLocation(root+"/class", "ttyS0"); loc != "" || iface != -1 {
		t.Errorf("missing: %q %d", loc, iface)
	}
}

func TestPickATPort(t *testing.T) {
	ms := time.Millisecond
	probes := []portProbe{
		{path: "a", err: ErrNoAnswer},
		{path: "b", answer: 20 * ms, pduMode: true, garbage: 1},
		{path: "c", answer: 90 * ms, pduMode: true},
		{path: "d", answer: 10 * ms, pduMode: true}, // same 100 ms step as c: c keeps it
		{path: "e", answer: 5 * ms},                 // refused PDU mode
	}
	if p := pickATPort(probes); p == nil || p.path != "c" {
		t.Errorf("picked %+v, want c", p)
	}
	if p := pickATPort(probes[:1]); p != nil {
		t.Errorf("picked %+v from no usable port", p)
	}
}
