package sim

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBasicCommands(t *testing.T) {
	_, ms := testNet(t, ModemConfig{})
	m := ms[0]
	c := dial(t, m.Path())
	c.expect("ATE0", "OK")
	id := m.Identity()
	tests := []struct {
		line string
		want []string
	}{
		{"AT", []string{"\r\nOK\r\n"}},
		{"AT+CGMI", []string{"smsgw"}},
		{"AT+GMM", []string{"Virtual GSM Modem"}},
		{"AT+CGSN", []string{id.IMEI}},
		{"AT+CIMI", []string{id.IMSI}},
		{"AT+CCID", []string{"+CCID: " + id.ICCID}},
		{"AT^ICCID", []string{"^ICCID: " + id.ICCID}},
		{"AT+CNUM", []string{id.MSISDN}},
		{"AT+CFUN=1", []string{"OK"}},
		{"AT+CFUN?", []string{"+CFUN: 1"}},
		{"AT+CMEE=1", []string{"OK"}},
		{"AT+NOPE", []string{"\r\nERROR\r\n"}},
		{"AT+CMEE=1;+CREG=2", []string{"OK"}},
		{"AT+CREG?", []string{`+CREG: 2,1,"`}},
		{"AT+CSQ", []string{"+CSQ: 21,99"}},
		{"AT+COPS?", []string{`+COPS: 0,0,"Virtual Telco"`}},
		{"AT+CSCA?", []string{`+CSCA: "+491720000000",145`}},
		{"AT+CSCS=?", []string{`"UCS2"`}},
		{`AT+CSCS="UCS2"`, []string{"OK"}},
		{"AT+CSCS?", []string{`+CSCS: "UCS2"`}},
		{`AT+CSCS="GSM"`, []string{"OK"}},
		{"AT+CPMS=?", []string{`+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")`}},
		{"AT+CPMS?", []string{`+CPMS: "SM",0,30,"SM",0,30,"SM",0,30`}},
		{`AT+CPMS="ME","ME"`, []string{"+CPMS: 0,100,0,100,0,30"}},
		{`AT+CPMS="XX"`, []string{"+CMS ERROR: 302"}},
		{"AT+CNMI=?", []string{"+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)"}},
		{"AT+CNMI=2,1,0,2,0", []string{"OK"}},
		{"AT+CNMI?", []string{"+CNMI: 2,1,0,2,0"}},
		{"AT+CMGF=0", []string{"OK"}},
		{"AT+CMGF=2", []string{"+CMS ERROR: 302"}},
		{"AT+CMGR=1", []string{"+CMS ERROR: 321"}},
		{"AT+CMGL=4", []string{"\r\nOK\r\n"}},
		{"AT+CSMS=1", []string{"+CSMS: 1,1,1"}},
		{"AT+CMEE=2", []string{"OK"}},
		{"AT+CPIN=1234", []string{"+CME ERROR: operation not allowed"}},
		{"AT+CPIN?", []string{"+CPIN: READY"}},
		{"ATI", []string{"Revision: sim-1.0"}},
		{"ATS3?", []string{"013"}},
		{"AT$TSSPCSW=?", []string{"ERROR"}},
		{"AT+CHUP=?", []string{"OK"}},
		{"at+cgmm", []string{"Virtual GSM Modem"}},
		{"garbageAT+CGMM", []string{"Virtual GSM Modem"}},
		{`AT+CUSD=1`, []string{"OK"}},
		{`AT+CBC`, []string{"+CBC: 0,100"}},
		{`AT+CGATT?`, []string{"+CGATT: 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c.t = t
			c.expect(tt.line, tt.want...)
		})
	}
}

func TestEcho(t *testing.T) {
	_, ms := testNet(t, ModemConfig{})
	c := dial(t, ms[0].Path())
	if out := c.cmd("AT"); !strings.HasPrefix(out, "AT\r") {
		t.Errorf("echo on at start: %q", out)
	}
	if out := c.cmd("ATE0"); !strings.HasPrefix(out, "ATE0\r") {
		t.Errorf("ATE0 echoed: %q", out)
	}
	if out := c.cmd("AT"); out != "\r\nOK\r\n" {
		t.Errorf("echo off: %q", out)
	}
	c.write("ATV0\r")
	if out, ok := c.readUntil(regexp.MustCompile(`0\r`), 2*time.Second); !ok || out != "0\r" {
		t.Errorf("ATV0: %q", out)
	}
	c.write("AT+CGMI\r")
	if out, ok := c.readUntil(regexp.MustCompile(`0\r`), 2*time.Second); !ok || out != "smsgw\r\n0\r" {
		t.Errorf("ATV0 info: %q", out)
	}
}

func TestPIN(t *testing.T) {
	_, ms := testNet(t, ModemConfig{PIN: "1234", PUK: "11111111"})
	c := dial(t, ms[0].Path())
	c.expect("ATE0;+CMEE=1", "OK")
	c.expect("AT+CPIN?", "+CPIN: SIM PIN")
	c.expect("AT+CIMI", "+CME ERROR: 11")
	c.expect("AT+CMGL=4", "+CMS ERROR: 311")
	c.expect("AT+CREG?", "+CREG: 0,0")
	for range 3 {
		c.expect("AT+CPIN=0000", "+CME ERROR: 16")
	}
	c.expect("AT+CPIN?", "+CPIN: SIM PUK")
	c.expect(`AT+CPIN="11111111","4321"`, "OK")
	c.expect("AT+CPIN?", "+CPIN: READY")
	c.expect("AT+CREG?", "+CREG: 0,1")
}

func TestUnplugReplug(t *testing.T) {
	dir := t.TempDir()
	n, ms := testNet(t, ModemConfig{LinkDir: dir})
	m := ms[0]
	old := m.Path()
	c := dial(t, m.Link())
	c.expect("AT", "OK")
	if err := m.Unplug(); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	_ = c.f.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.f.Read(b); err == nil {
		t.Error("read after unplug succeeded")
	} else {
		t.Logf("read after unplug: %v", err)
	}
	if m.Path() != "" {
		t.Errorf("path while unplugged: %q", m.Path())
	}
	// A phone's message waits in the network while unplugged.
	if err := n.Phone("+4915550001").Send(m.Identity().MSISDN, "while away", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Replug()
	if err != nil {
		t.Fatal(err)
	}
	if p == old || p == "" {
		t.Errorf("replug path %q, old %q", p, old)
	}
	c2 := dial(t, m.Link())
	c2.expect("AT+CGSN", m.Identity().IMEI)
	c2.expect("AT+CMGL=4", "+CMGL: 1,0,,")
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		n := NewNetwork(NetworkConfig{})
		m, err := n.NewModem(ModemConfig{Name: "leak", Latency: LatencyInstant(), Personality: builtinPersonalities()[1]})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		c := dial(t, m.Path())
		c.expect("AT+CNMI=2,1;+CLIP=1", "OK")
		_ = n.Phone("+4915550099").Call(m.Identity().MSISDN)
		_ = n.Phone("+4915550099").Send(m.Identity().MSISDN, "x", SendOptions{})
		if _, err := m.Replug(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		_ = c.f.Close()
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
