package sms

import (
	"errors"
	"testing"
	"time"
)

func TestDecodeKnownPDUs(t *testing.T) {
	cet := time.FixedZone("", 3600)
	tests := []struct {
		name     string
		hex      string
		dir      Direction
		withSMSC bool
		want     Message
	}{
		{
			// The classic TS 23.040 style example (dreamfabric.com): SMSC
			// +31624000000, from +31641600986, "How are you?".
			name: "deliver how are you", hex: "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
			dir: MT, withSMSC: true,
			want: Message{Type: Deliver, SMSC: "+31624000000", Address: "+31641600986", AddressTON: 1, AddressNPI: 1,
				SCTS: time.Date(2002, 8, 26, 19, 37, 41, 0, time.UTC), Encoding: GSM7, Text: "How are you?", SrcPort: -1, DstPort: -1},
		},
		{
			name: "deliver without smsc", hex: "040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
			dir: MT,
			want: Message{Type: Deliver, Address: "+31641600986", AddressTON: 1, AddressNPI: 1,
				SCTS: time.Date(2002, 8, 26, 19, 37, 41, 0, time.UTC), Encoding: GSM7, Text: "How are you?", SrcPort: -1, DstPort: -1},
		},
		{
			// SMS-SUBMIT "hellohello" to +46708251358, relative VP AA (4 days).
			name: "submit hellohello", hex: "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
			dir: MO, withSMSC: true,
			want: Message{Type: Submit, Address: "+46708251358", AddressTON: 1, AddressNPI: 1,
				Validity: 4 * 24 * time.Hour, Encoding: GSM7, Text: "hellohello", SrcPort: -1, DstPort: -1},
		},
		{
			name: "status report delivered", hex: "0006D60B911326880736F4111011719551401110117195714000",
			dir: MT, withSMSC: true,
			want: Message{Type: StatusReport, MR: 0xD6, Address: "+31628870634", AddressTON: 1, AddressNPI: 1,
				SCTS:      time.Date(2011, 1, 11, 17, 59, 15, 0, cet),
				Discharge: time.Date(2011, 1, 11, 17, 59, 17, 0, cet), Status: 0, Encoding: GSM7, SrcPort: -1, DstPort: -1},
		},
		{
			name: "deliver ucs2 alphanumeric", hex: "00040ED0C161B30862D2C90008421020304050400A006800690020D83DDE01",
			dir: MT, withSMSC: true,
			want: Message{Type: Deliver, Address: "ACME Ltd", AddressTON: 5, AddressNPI: 0, DCS: 8,
				SCTS: time.Date(2024, 1, 2, 3, 4, 5, 0, cet), Encoding: UCS2, Text: "hi 😁", SrcPort: -1, DstPort: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeHex(tt.hex, tt.dir, tt.withSMSC)
			if err != nil {
				t.Fatalf("DecodeHex: %v", err)
			}
			checkMessage(t, m, &tt.want)
		})
	}
}

// checkMessage compares the fields tests care about.
func checkMessage(t *testing.T, got, want *Message) {
	t.Helper()
	if got.Type != want.Type || got.SMSC != want.SMSC || got.Address != want.Address ||
		got.AddressTON != want.AddressTON || got.AddressNPI != want.AddressNPI || got.MR != want.MR ||
		got.Status != want.Status || got.PID != want.PID || got.DCS != want.DCS || got.Encoding != want.Encoding ||
		got.Text != want.Text || got.SrcPort != want.SrcPort || got.DstPort != want.DstPort ||
		got.StatusReportRequested != want.StatusReportRequested || got.Validity != want.Validity {
		t.Errorf("got  %+v\nwant %+v", *got, *want)
	}
	if !got.SCTS.Equal(want.SCTS) || !got.Discharge.Equal(want.Discharge) || !got.ValidUntil.Equal(want.ValidUntil) {
		t.Errorf("times: got SCTS %v DT %v VP %v, want %v %v %v", got.SCTS, got.Discharge, got.ValidUntil, want.SCTS, want.Discharge, want.ValidUntil)
	}
	_, goff := got.SCTS.Zone()
	_, woff := want.SCTS.Zone()
	if goff != woff {
		t.Errorf("SCTS zone offset %d, want %d", goff, woff)
	}
	if (got.Concat == nil) != (want.Concat == nil) || (got.Concat != nil && *got.Concat != *want.Concat) {
		t.Errorf("Concat %+v, want %+v", got.Concat, want.Concat)
	}
	if string(got.Data) != string(want.Data) {
		t.Errorf("Data %X, want %X", got.Data, want.Data)
	}
}

func TestDecodeHexForms(t *testing.T) {
	const pdu = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
	for _, s := range []string{pdu, "07 91 13 26 04 00 00 f0 04 0b 91 13 46 61 00 89 f6 00 00 20 80 62 91 73 14 08 0c c8 f7 1d 14 96 97 41 f9 77 fd 07\r\n"} {
		m, err := DecodeHex(s, MT, true)
		if err != nil || m.Text != "How are you?" {
			t.Errorf("DecodeHex(%q) = %+v, %v", s, m, err)
		}
	}
	for _, tt := range []struct {
		in  string
		off int
	}{{"0", 0}, {"07911", 4}, {"0G", 1}, {"00 x1", 3}} {
		_, err := DecodeHex(tt.in, MT, true)
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrBadHex) || de.Offset != tt.off || de.Field != "hex" {
			t.Errorf("DecodeHex(%q) error = %v, want hex error at %d", tt.in, err, tt.off)
		}
	}
}
