package modem

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParsers(t *testing.T) {
	t.Run("CSQ", func(t *testing.T) {
		cases := []struct {
			lines []string
			dbm   int
			ok    bool
		}{
			{[]string{"+CSQ: 17,99"}, -79, true},
			{[]string{"^RSSI:5", "+CSQ: 31,0"}, -51, true},
			{[]string{"+CSQ: 99,99"}, 0, true},
			{[]string{"+CSQ: x"}, 0, false},
			{nil, 0, false},
		}
		for _, c := range cases {
			s, err := parseCSQ(c.lines)
			if (err == nil) != c.ok || s.DBm != c.dbm {
				t.Errorf("%q: %+v %v", c.lines, s, err)
			}
		}
	})
	t.Run("CREG", func(t *testing.T) {
		for in, want := range map[string]Registration{
			"+CREG: 0,1": RegHome, "+CREG: 2,5,\"1A2B\",\"00C3\",7": RegRoaming, "+CREG: 0,0": RegNotSearching, "+CREG: 1,3": RegDenied,
		} {
			got, err := parseReg([]string{in}, "+CREG:")
			if err != nil || got != want {
				t.Errorf("%q: %v %v", in, got, err)
			}
		}
		if _, err := parseReg([]string{"+CREG: 1"}, "+CREG:"); err == nil {
			t.Error("unsolicited form accepted as a query answer")
		}
	})
	t.Run("COPS", func(t *testing.T) {
		if op, _ := parseCOPS([]string{`+COPS: 0,0,"Telekom.de",7`}); op != "Telekom.de" {
			t.Errorf("operator %q", op)
		}
		if op, err := parseCOPS([]string{`+COPS: 0`}); op != "" || err != nil {
			t.Errorf("unregistered: %q %v", op, err)
		}
	})
	t.Run("CPMS", func(t *testing.T) {
		use, err := parseCPMSQuery([]string{`+CPMS: "SM",3,30,"ME",0,100,"SM",3,30`})
		if err != nil || len(use) != 3 || use[1] != (MemoryUse{"ME", 0, 100}) {
			t.Errorf("%+v %v", use, err)
		}
		mems, err := parseCPMSTest([]string{`+CPMS: ("SM","ME","MT","SR"),("SM","ME"),("SM","ME")`})
		if err != nil || strings.Join(mems, ",") != "SM,ME,MT,SR" {
			t.Errorf("%v %v", mems, err)
		}
	})
	t.Run("CMGL with noise and a broken entry", func(t *testing.T) {
		lines := []string{
			`+CMGL: 1,0,,30`, `07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07`,
			`+CMGL: 2,1,,30`, `^RSSI:12`, `07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07`,
			`+CMGL: 3,1,,99`, `0791`,
			`+CMGL: 4,1,,30`,
		}
		msgs, bad := parseCMGL(lines)
		if len(msgs) != 2 || msgs[1].Index != 2 || msgs[1].Stat != 1 {
			t.Errorf("msgs %+v", msgs)
		}
		if len(bad) != 2 {
			t.Errorf("bad %v, want 2 (wrong length, missing PDU)", bad)
		}
	})
	t.Run("CMGR", func(t *testing.T) {
		m, ok, err := parseCMGR([]string{`+CMGR: 0,,30`, `07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07`}, 5)
		if !ok || err != nil || m.Index != 5 || len(m.PDU) != 38 {
			t.Errorf("%+v %v %v", m, ok, err)
		}
		if _, ok, err := parseCMGR(nil, 5); ok || err != nil {
			t.Error("empty slot not reported as empty")
		}
	})
	t.Run("notifications", func(t *testing.T) {
		mem, idx, err := parseNotify(`+CMTI: "ME",12`)
		if mem != "ME" || idx != 12 || err != nil {
			t.Errorf("%s %d %v", mem, idx, err)
		}
		if _, _, err := parseNotify(`+CMTI: "ME",-1`); err == nil {
			t.Error("negative index accepted")
		}
		pdu, err := parseDirect("+CDS:25", "0006D60B911326880736F4111011719551401110117195714000")
		if err != nil || len(pdu) != 26 {
			t.Errorf("+CDS without a space: %x %v", pdu, err)
		}
	})
	t.Run("PIN retries", func(t *testing.T) {
		for in, want := range map[string]int{`+CPINR: SIM PIN,2,3`: 2, `+QPINC: "SC",3,10`: 3, `+SPIC: 1,10,0,10`: 1, `^CPIN: SIM PIN,3,10,3,10,2`: 3} {
			if n, ok := parsePINRetries([]string{in}); !ok || n != want {
				t.Errorf("%q: %d %v", in, n, ok)
			}
		}
	})
	t.Run("IMEI", func(t *testing.T) {
		for in, want := range map[string]string{"356938035643809": "356938035643809", "+CGSN: \"356938035643809\"": "356938035643809", "\x9a\x12garbage": "", "ERROR": ""} {
			if got := parseIMEI([]string{in}); got != want {
				t.Errorf("%q: %q", in, got)
			}
		}
	})
	t.Run("CUSD", func(t *testing.T) {
		m, str, dcs, err := parseCUSD(`+CUSD: 0,"Balance: 5.00",15`)
		if m != 0 || str != "Balance: 5.00" || dcs != 15 || err != nil {
			t.Errorf("%d %q %d %v", m, str, dcs, err)
		}
		if got := decodeUSSD("004200610l", 72); got != "004200610l" {
			t.Errorf("non-hex UCS2 text changed: %q", got)
		}
		if got := decodeUSSD("0042006100DF", 72); got != "Baß" {
			t.Errorf("UCS2 USSD %q", got)
		}
	})
}

func TestNormalizerRewritesVendorFinals(t *testing.T) {
	cases := []struct{ in, want string }{
		{"\r\nCOMMAND NOT SUPPORT\r\n", "\r\nERROR\r\n"},
		{"\r\nCOMMAND NOT\r\n", "\r\nCOMMAND NOT\r\n"},
		{"\r\nCOMMANDER\r\n", "\r\nCOMMANDER\r\n"},
		{"\r\n> ", "\r\n> "},
		{"\r\nOK\r\n\r\nTOO MANY PARAMETERS\r\n", "\r\nOK\r\n\r\nERROR\r\n"},
		{"C", "C"}, // held until decided; flushed at EOF below
	}
	for _, c := range cases {
		// Byte by byte, as a slow serial line delivers it.
		p := &tracedPort{rw: nopCloser{iotest.OneByteReader(strings.NewReader(c.in))}}
		var out bytes.Buffer
		buf := make([]byte, 64)
		for {
			n, err := p.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		out.Write(p.norm.held)
		if out.String() != c.want {
			t.Errorf("%q → %q, want %q", c.in, out.String(), c.want)
		}
	}
}

type nopCloser struct{ io.Reader }

func (nopCloser) Write(b []byte) (int, error) { return len(b), nil }
func (nopCloser) Close() error                { return nil }

func TestTraceRedactsPIN(t *testing.T) {
	tr := NewTrace(10, true)
	tr.record(0, []byte("AT+CPIN=\"1234\"\r"))
	tr.record(0, []byte("AT+CPIN=\"12345678\",\"4321\"\r"))
	tr.record(0, []byte("0011000B915121551532F400000B0FC8329BFD06DDDF72363904\x1a"))
	var b strings.Builder
	_, _ = tr.WriteTo(&b)
	out := b.String()
	for _, secret := range []string{"1234", "4321", "C8329BFD"} {
		if strings.Contains(out, secret) {
			t.Errorf("trace shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "<PDU 26 octets redacted>") {
		t.Errorf("PDU not redacted:\n%s", out)
	}
}

// FuzzParseReplies feeds arbitrary reply lines to every parser: none may panic, and
// CMGL never returns a PDU whose length disagrees with its header.
func FuzzParseReplies(f *testing.F) {
	for _, s := range []string{
		"+CMGL: 1,0,,30\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
		"+CMGR: 0,,24\n0791", "+CSQ: 17,99", "+CREG: 2,5,\"1A\",\"2B\",7", `+CPMS: "SM",3,30`, `+CPMS: ("SM","ME")`,
		`+COPS: 0,0,"x",7`, `+CUSD: 1,"hi",72`, "+CMTI: \"SM\",3", "+CDS: 25\n00", "+CPINR: SIM PIN,3,3", "+CMGS: 255",
		"\x00\xff,,,\"", "+CMGL: ,,,", "+CPMS: (", `+CSCA: "+49",145`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		_, _ = parseCSQ(lines)
		_, _ = parseReg(lines, "+CREG:")
		_, _ = parseCOPS(lines)
		_, _ = parseCPMSQuery(lines)
		_, _ = parseCPMSTest(lines)
		msgs, _ := parseCMGL(lines)
		for _, m := range msgs {
			if len(m.PDU) == 0 {
				t.Fatalf("empty PDU from %q", s)
			}
		}
		_, _, _ = parseCMGR(lines, 1)
		_, _ = parseCMGS(lines)
		_, _, _ = parseNotify(lines[0])
		if len(lines) > 1 {
			_, _ = parseDirect(lines[0], lines[1])
		}
		_, _ = parseCPIN(lines)
		_, _ = parsePINRetries(lines)
		_, _ = parseCSCA(lines)
		_, _, _, _ = parseCUSD(lines[0])
		_ = parseIMEI(lines)
		_ = firstInfo(lines, "+CGMI:")
		_ = decodeUSSD(s, 72)
		var n normalizer
		n.feed([]byte(s))
	})
}
