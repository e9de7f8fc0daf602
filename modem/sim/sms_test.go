package sim

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

func submitPDU(t *testing.T, to, text string, o sms.SubmitOptions) sms.PDU {
	t.Helper()
	pdus, err := sms.EncodeSubmit(to, text, o)
	if err != nil {
		t.Fatal(err)
	}
	return pdus[0]
}

var promptRE = regexp.MustCompile(`> $`)

// send runs AT+CMGS in PDU mode the way gammu does: the PDU and Ctrl-Z
// arrive in separate writes with a pause between them.
func (c *client) send(p sms.PDU, pause time.Duration) string {
	c.t.Helper()
	c.write(fmt.Sprintf("AT+CMGS=%d\r", p.TPDULen))
	if out, ok := c.readUntil(promptRE, 5*time.Second); !ok {
		c.t.Fatalf("no prompt: %q", out)
	}
	c.write(p.Hex())
	time.Sleep(pause)
	c.write("\x1a")
	out, ok := c.readUntil(finalRE, 5*time.Second)
	if !ok {
		c.t.Fatalf("no answer to the PDU: %q", out)
	}
	return out
}

func TestSendPDU(t *testing.T) {
	n, ms := testNet(t, ModemConfig{})
	m := ms[0]
	c := dial(t, m.Path())
	c.expect("AT+CMEE=1", "OK") // echo stays on: the PDU is echoed too
	p := submitPDU(t, "+4915550001", "split writes", sms.SubmitOptions{SMSC: "+491720000000"})
	out := c.send(p, 400*time.Millisecond)
	if !strings.Contains(out, p.Hex()) || !strings.Contains(out, "+CMGS: 0\r\n\r\nOK\r\n") {
		t.Errorf("answer %q", out)
	}
	c.expect("ATE0", "OK")
	// smstools style: empty SMSC field, the modem uses AT+CSCA.
	p = submitPDU(t, "4915550002", "no smsc", sms.SubmitOptions{StatusReport: true, Validity: 4 * 24 * time.Hour})
	out = c.send(p, 0)
	if !strings.Contains(out, "+CMGS: 1") {
		t.Errorf("answer %q", out)
	}
	subs := n.Submissions()
	if len(subs) != 2 || subs[0].Text != "split writes" || subs[1].SMSC != "+491720000000" ||
		!subs[1].StatusReport || subs[1].MR != 1 || subs[1].Validity < 4*24*time.Hour {
		t.Errorf("submissions %+v", subs)
	}

	t.Run("escape cancels", func(t *testing.T) {
		c.t = t
		c.write(fmt.Sprintf("AT+CMGS=%d\r", p.TPDULen))
		c.readUntil(promptRE, 5*time.Second)
		c.write(p.Hex() + "\x1b")
		if out, _ := c.readUntil(finalRE, 5*time.Second); !strings.Contains(out, "OK") {
			t.Errorf("ESC: %q", out)
		}
		if len(n.Submissions()) != 2 {
			t.Error("cancelled message reached the network")
		}
	})
	t.Run("wrong length", func(t *testing.T) {
		c.t = t
		bad := p
		bad.TPDULen++
		if out := c.send(bad, 0); !strings.Contains(out, "+CMS ERROR: 304") {
			t.Errorf("answer %q", out)
		}
	})
	t.Run("not hex", func(t *testing.T) {
		c.t = t
		bad := sms.PDU{Bytes: []byte("zz"), TPDULen: 1}
		c.write("AT+CMGS=1\r")
		c.readUntil(promptRE, 5*time.Second)
		c.write("ZZZZ\x1a")
		if out, _ := c.readUntil(finalRE, 5*time.Second); !strings.Contains(out, "+CMS ERROR: 304") {
			t.Errorf("answer %q (%v)", out, bad)
		}
	})
}

func TestTextMode(t *testing.T) {
	n, ms := testNet(t, ModemConfig{})
	m := ms[0]
	c := dial(t, m.Path())
	c.expect("ATE0;+CMEE=1", "OK")
	c.expect("AT+CMGF=1", "OK")
	c.expect("AT+CSMP=49,167,0,0", "OK")
	c.write("AT+CMGS=\"+4915550003\"\r")
	c.readUntil(promptRE, 5*time.Second)
	c.write("line one\rline two\x1a")
	if out, _ := c.readUntil(finalRE, 5*time.Second); !strings.Contains(out, "+CMGS: 0") {
		t.Errorf("text CMGS: %q", out)
	}
	subs := n.Submissions()
	if len(subs) != 1 || subs[0].Text != "line one\nline two" || !subs[0].StatusReport || subs[0].To != "+4915550003" {
		t.Errorf("submissions %+v", subs)
	}
	// The status report lands in SM first (AT+CNMI ds=0).
	deadline := time.Now().Add(2 * time.Second)
	for len(m.Messages("SM")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c.expect("AT+CMGR=1", `+CMGR: "REC UNREAD",6,0,"+4915550003",145,"`)
	if err := n.Phone("+4915550004").Send(m.Identity().MSISDN, "Grüße aus Köln", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	c.expect("AT+CMGR=2", `+CMGR: "REC UNREAD","+4915550004",,"`, "Grüße aus Köln")
	c.expect(`AT+CMGL="ALL"`, `+CMGL: 2,"REC READ","+4915550004"`)
	c.expect(`AT+CSCS="UCS2"`, "OK")
	c.expect("AT+CMGR=2", ucs2Hex("Grüße aus Köln"))
}

func TestIndications(t *testing.T) {
	n, ms := testNet(t, ModemConfig{})
	m := ms[0]
	m.SetAckTimeout(300 * time.Millisecond)
	c := dial(t, m.Path())
	c.expect("ATE0;+CMEE=1", "OK")
	phone := n.Phone("+4915550005")
	num := m.Identity().MSISDN

	c.expect("AT+CNMI=2,1,0,2,0", "OK")
	if err := phone.Send(num, "stored", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, ok := c.readUntil(regexp.MustCompile(`\+CMTI: "SM",1\r\n`), 2*time.Second); !ok {
		t.Fatalf("no +CMTI: %q", out)
	}
	out := c.expect("AT+CMGR=1", "+CMGR: 0,,")
	lines := strings.Split(strings.TrimSpace(out), "\r\n")
	msg, err := sms.DecodeHex(lines[1], sms.MT, true)
	if err != nil || msg.Text != "stored" || msg.Address != "+4915550005" {
		t.Errorf("CMGR PDU %q: %+v %v", lines[1], msg, err)
	}
	c.expect("AT+CMGD=1", "OK")

	// Direct delivery with acknowledgement.
	c.expect("AT+CSMS=1", "+CSMS: 1,1,1")
	c.expect("AT+CNMI=2,2,0,1,0", "OK")
	if err := phone.Send(num, "direct", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, ok := c.readUntil(regexp.MustCompile(`\+CMT: ,\d+\r\n[0-9A-F]+\r\n`), 2*time.Second); !ok {
		t.Fatalf("no +CMT: %q", out)
	}
	c.expect("AT+CNMA", "OK")
	c.expect("AT+CNMA", "+CMS ERROR: 340")

	// A status report comes back directly as +CDS.
	p := submitPDU(t, "+4915550005", "report me", sms.SubmitOptions{StatusReport: true})
	c.send(p, 0)
	if out, ok := c.readUntil(regexp.MustCompile(`\+CDS: \d+\r\n[0-9A-F]+\r\n`), 2*time.Second); !ok {
		t.Fatalf("no +CDS: %q", out)
	}
	c.expect("AT+CNMA", "OK")

	// No acknowledgement: routing is turned off and the message is stored.
	if err := phone.Send(num, "unacked", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	c.readUntil(regexp.MustCompile(`\+CMT: `), 2*time.Second)
	time.Sleep(600 * time.Millisecond)
	c.drain(50 * time.Millisecond)
	c.expect("AT+CNMI?", "+CNMI: 2,0,0,0,0")
	c.expect("AT+CMGL=4", "+CMGL: 1,0,,")

	// Injected indications, whatever +CNMI says.
	pdu := mustPDU(t, n, "+4915550006", "injected")
	if err := m.Inject(RouteCMTI, pdu); err != nil {
		t.Fatal(err)
	}
	if out, ok := c.readUntil(regexp.MustCompile(`\+CMTI: "SM",2\r\n`), 2*time.Second); !ok {
		t.Errorf("no injected +CMTI: %q", out)
	}
	c.expect("AT+CNMI=2,1,0,2,0", "OK")
	p = submitPDU(t, "+4915550005", "report to storage", sms.SubmitOptions{StatusReport: true})
	c.send(p, 0)
	if out, ok := c.readUntil(regexp.MustCompile(`\+CDSI: "SM",3\r\n`), 2*time.Second); !ok {
		t.Errorf("no +CDSI: %q", out)
	}
}

func TestStorageFull(t *testing.T) {
	pers, _ := PersonalityByName("generic")
	pers.SMCapacity = 2
	n, ms := testNet(t, ModemConfig{Personality: pers})
	m := ms[0]
	c := dial(t, m.Path())
	c.expect("ATE0;+CMEE=1", "OK")
	for i := range 3 {
		if err := n.Phone("+4915550007").Send(m.Identity().MSISDN, fmt.Sprint("msg ", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.expect("AT+CPMS?", `+CPMS: "SM",2,2,`)
	if st := m.Status(); st.Pending != 1 {
		t.Errorf("pending %d, want 1", st.Pending)
	}
	p := submitPDU(t, "+4915550001", "draft", sms.SubmitOptions{})
	c.write(fmt.Sprintf("AT+CMGW=%d\r", p.TPDULen))
	c.readUntil(promptRE, 2*time.Second)
	c.write(p.Hex() + "\x1a")
	if out, _ := c.readUntil(finalRE, 2*time.Second); !strings.Contains(out, "+CMS ERROR: 322") {
		t.Errorf("CMGW into full memory: %q", out)
	}
	c.expect("AT+CMGD=1", "OK")
	// The waiting message moves in as soon as there is room.
	c.expect("AT+CMGL=4", "+CMGL: 1,0,,", "+CMGL: 2,0,,")
	c.expect("AT+CMGD=1,4", "OK")
	c.expect("AT+CPMS?", `+CPMS: "SM",0,2,`)

	m.SetFault(Fault{StorageFull: true})
	c.expect("AT+CPMS?", `+CPMS: "SM",2,2,`)
	m.SetFault(Fault{})

	// +CMGW then +CMSS.
	c.write(fmt.Sprintf("AT+CMGW=%d\r", p.TPDULen))
	c.readUntil(promptRE, 2*time.Second)
	c.write(p.Hex() + "\x1a")
	c.readUntil(regexp.MustCompile(`\+CMGW: 1\r\n\r\nOK\r\n`), 2*time.Second)
	c.expect("AT+CMSS=1", "+CMSS: 0")
	c.expect("AT+CMGL=3", "+CMGL: 1,3,,")
	if msgs := n.Messages(); len(msgs) != 1 || msgs[0].Text != "draft" {
		t.Errorf("messages %+v", msgs)
	}
}

func TestFaults(t *testing.T) {
	n, ms := testNet(t, ModemConfig{})
	m := ms[0]
	c := dial(t, m.Path())
	c.expect("ATE0;+CMEE=1;+CREG=1", "OK")
	p := submitPDU(t, "+4915550001", "fault", sms.SubmitOptions{})

	tests := []struct {
		name  string
		fault Fault
		want  string
	}{
		{"network out of order", Fault{SendError: 38, SendErrorCount: 1}, "+CMS ERROR: 38"},
		{"recovered", Fault{}, "+CMGS: "},
		{"unknown error", Fault{SendError: 500}, "+CMS ERROR: 500"},
		{"smsc unknown", Fault{SendError: 330}, "+CMS ERROR: 330"},
		{"deregistered", Fault{Deregistered: true}, "+CMS ERROR: 331"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			m.SetFault(tt.fault)
			if out := c.send(p, 0); !strings.Contains(out, tt.want) {
				t.Errorf("answer %q, want %q", out, tt.want)
			}
		})
	}
	c.t = t
	c.expect("AT+CREG?", "+CREG: 1,2")
	m.SetFault(Fault{})
	if out, ok := c.readUntil(regexp.MustCompile(`\+CREG: 1\r\n`), 2*time.Second); !ok {
		t.Errorf("no +CREG: 1 after registering again: %q", out)
	}
	before := len(n.Submissions())

	m.SetFault(Fault{Hang: true})
	c.write("AT\r")
	if out, ok := c.readUntil(finalRE, 300*time.Millisecond); ok {
		t.Errorf("hung modem answered %q", out)
	}
	m.SetFault(Fault{})
	c.expect("AT", "OK")

	m.SetFault(Fault{Mute: true})
	c.write(fmt.Sprintf("AT+CMGS=%d\r", p.TPDULen))
	c.readUntil(promptRE, 2*time.Second)
	c.write(p.Hex() + "\x1a")
	if out, ok := c.readUntil(finalRE, 300*time.Millisecond); ok {
		t.Errorf("mute modem answered %q", out)
	}
	if got := len(n.Submissions()); got != before+1 {
		t.Errorf("muted send did not reach the network: %d submissions", got)
	}
	m.SetFault(Fault{Delay: Duration(300 * time.Millisecond)})
	start := time.Now()
	c.expect("AT", "OK")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("late answer came after %v", d)
	}
	m.SetFault(Fault{Garbage: true})
	c.write("AT\r")
	if out, ok := c.readUntil(finalRE, 2*time.Second); !ok {
		t.Errorf("garbage fault: no answer: %q", out)
	}
	m.SetFault(Fault{})
}

func TestUSSDAndCalls(t *testing.T) {
	n, ms := testNet(t, ModemConfig{})
	m := ms[0]
	c := dial(t, m.Path())
	c.expect("ATE0;+CMEE=1;+CLIP=1", "OK")
	c.expect(`AT+CUSD=1,"*100#",15`, "OK")
	if out, ok := c.readUntil(regexp.MustCompile(`\+CUSD: 0,"Your balance is 12.34 EUR[^"]*",15\r\n`), 2*time.Second); !ok {
		t.Errorf("no USSD answer: %q", out)
	}
	n.SetUSSD("*100#", "Balance 1.00")
	c.expect(`AT+CUSD=1,"*100#",15`, "OK")
	if out, ok := c.readUntil(regexp.MustCompile(`\+CUSD: 0,"Balance 1.00",15\r\n`), 2*time.Second); !ok {
		t.Errorf("no configured USSD answer: %q", out)
	}
	c.expect(`AT+CUSD=1,"*999#",15`, "OK")
	if out, ok := c.readUntil(regexp.MustCompile(`\+CUSD: 4\r\n`), 2*time.Second); !ok {
		t.Errorf("no USSD refusal: %q", out)
	}
	if err := n.Phone("+4915550008").Call(m.Identity().MSISDN); err != nil {
		t.Fatal(err)
	}
	if out, ok := c.readUntil(regexp.MustCompile(`RING\r\n\r\n\+CLIP: "\+4915550008",145,,,,0\r\n`), 2*time.Second); !ok {
		t.Errorf("no RING/+CLIP: %q", out)
	}
	c.expect("AT+CLCC", "+4915550008")
	c.expect("ATH", "OK")
	c.drain(300 * time.Millisecond)
	c.expect("AT+CPAS", "+CPAS: 0")
}

func TestPersonalities(t *testing.T) {
	for _, name := range PersonalityNames() {
		t.Run(name, func(t *testing.T) {
			pers, ok := PersonalityByName(name)
			if !ok {
				t.Fatal("missing")
			}
			pers.NoiseEvery = 20 * time.Millisecond
			_, ms := testNet(t, ModemConfig{Personality: pers})
			c := dial(t, ms[0].Path())
			c.expect("ATE0", "OK")
			c.expect("AT+CGMI", pers.Manufacturer)
			c.expect("AT+CGMM", pers.Model)
			c.expect("AT+CGSN", ms[0].Identity().IMEI)
			c.expect("AT+BOGUS", "\r\n"+pers.withDefaults().NotSupported+"\r\n")
			c.expect("AT+CMGF=0;+CPMS?", "OK")
			if len(pers.Noise) > 0 {
				out := c.drain(300 * time.Millisecond)
				if !strings.Contains(out, strings.SplitN(pers.Noise[0], ":", 2)[0]) && !strings.Contains(out, "^") && !strings.Contains(out, "+") {
					t.Errorf("no noise: %q", out)
				}
				c.expect("AT", "OK")
			}
		})
	}
}
