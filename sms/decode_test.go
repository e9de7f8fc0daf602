package sms

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

func TestDecodeErrors(t *testing.T) {
	// Valid DELIVER: SMSC 0-7, first octet 8, TP-OA 9-16, TP-PID 17,
	// TP-DCS 18, TP-SCTS 19-25, TP-UDL 26, TP-UD 27-37.
	const deliver = "07911326040000F0" + "04" + "0B911346610089F6" + "00" + "00" + "20806291731408" + "0C" + "C8F71D14969741F977FD07"
	// Valid STATUS-REPORT without SMSC: first octet 0, TP-MR 1, TP-RA 2-9,
	// TP-SCTS 10-16, TP-DT 17-23, TP-ST 24.
	const report = "06" + "D6" + "0B911326880736F4" + "11101171955140" + "11101171957140" + "00"
	tests := []struct {
		name     string
		hex      string
		dir      Direction
		withSMSC bool
		field    string
		off      int
		err      error
	}{
		{"empty", "", MT, true, "SMSC", 0, ErrTruncated},
		{"empty tpdu", "", MT, false, "first octet", 0, ErrTruncated},
		{"only smsc", "00", MT, true, "first octet", 1, ErrTruncated},
		{"smsc too long", "0C91" + "1326040000F01326040000F0", MT, true, "SMSC", 0, ErrBadLength},
		{"smsc truncated", "07911326", MT, true, "SMSC", 2, ErrTruncated},
		{"smsc fill inside", "0391F123" + deliver[16:], MT, true, "SMSC", 0, ErrBadAddress},
		{"submit-report in MT", "00" + "01", MT, true, "first octet", 1, ErrUnsupportedType},
		{"reserved MTI", "0003", MT, true, "first octet", 1, ErrUnsupportedType},
		{"deliver-report in MO", "0000", MO, true, "first octet", 1, ErrUnsupportedType},
		{"command in MO", "0002", MO, true, "first octet", 1, ErrUnsupportedType},
		{"truncated after OA", deliver[:34], MT, true, "TP-PID", 17, ErrTruncated},
		{"truncated OA", deliver[:24], MT, true, "TP-OA", 11, ErrTruncated},
		{"OA too long", deliver[:18] + "15" + deliver[20:], MT, true, "TP-OA", 9, ErrBadLength},
		{"truncated SCTS", deliver[:44], MT, true, "TP-SCTS", 19, ErrTruncated},
		{"SCTS not BCD", deliver[:38] + "A2" + deliver[40:], MT, true, "TP-SCTS", 19, ErrBadTime},
		{"SCTS month 13", deliver[:40] + "31" + deliver[42:], MT, true, "TP-SCTS", 19, ErrBadTime},
		{"SCTS Feb 30", deliver[:40] + "2003" + deliver[44:], MT, true, "TP-SCTS", 19, ErrBadTime},
		{"no UDL", deliver[:52], MT, true, "TP-UDL", 26, ErrTruncated},
		{"UDL past end", deliver[:52] + "20" + deliver[54:], MT, true, "TP-UD", 27, ErrTruncated},
		{"UDL over 160", deliver[:52] + "A1" + deliver[54:], MT, true, "TP-UDL", 26, ErrBadLength},
		{"trailing data", deliver + "00", MT, true, "TP-UD", 38, ErrTrailingData},
		{"reserved coding group", deliver[:36] + "80" + deliver[38:], MT, true, "TP-DCS", 18, ErrBadDCS},
		{"compressed", deliver[:36] + "20" + deliver[38:], MT, true, "TP-DCS", 18, ErrBadDCS},
		{"reserved alphabet", deliver[:36] + "0C" + deliver[38:], MT, true, "TP-DCS", 18, ErrBadDCS},
		{"ucs2 odd length", deliver[:36] + "08" + deliver[38:52] + "03" + "004100", MT, true, "TP-UD", 27, ErrBadLength},
		{"8bit UDL over 140", deliver[:36] + "04" + deliver[38:52] + "8D", MT, true, "TP-UDL", 26, ErrBadLength},
		{"UDHL past end", "00" + "44" + deliver[18:52] + "03" + "05000300", MT, true, "TP-UDH", 20, ErrBadLength},
		{"IE past UDH", "00" + "44" + deliver[18:52] + "05" + "0400030102", MT, true, "TP-UDH", 21, ErrBadLength},
		{"UDH longer than UDL", "00" + "44" + deliver[18:52] + "02" + "0500", MT, true, "TP-UDH", 20, ErrBadLength},
		{"report truncated RA", report[:10], MT, false, "TP-RA", 4, ErrTruncated},
		{"report no DT", report[:34], MT, false, "TP-DT", 17, ErrTruncated},
		{"report no ST", report[:48], MT, false, "TP-ST", 24, ErrTruncated},
		{"report PI UDL past end", report + "04" + "05" + "C8", MT, false, "TP-UD", 27, ErrTruncated},
		{"report PI DCS missing", report + "02", MT, false, "TP-DCS", 26, ErrTruncated},
		{"report PI bad DCS", report + "02" + "90", MT, false, "TP-DCS", 26, ErrBadDCS},
		{"report PI 0 and junk", report + "00" + "41", MT, false, "TP-UD", 26, ErrTrailingData},
		{"submit no VP", "0011" + "00" + "0B916407281553F8" + "0000", MO, true, "TP-VP", 13, ErrTruncated},
		{"submit enhanced VP short", "0009" + "00" + "0B916407281553F8" + "0000" + "0102", MO, true, "TP-VP", 13, ErrTruncated},
		{"submit absolute VP bad", "0019" + "00" + "0B916407281553F8" + "0000" + "FF000000000000" + "00", MO, true, "TP-VP", 13, ErrBadTime},
		{"submit DA fill inside", "0001" + "00" + "049122F1" + "0000" + "00", MO, true, "TP-DA", 3, ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeHex(tt.hex, tt.dir, tt.withSMSC)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeHex(%s) = %+v, %v; want a *DecodeError", tt.hex, m, err)
			}
			if de.Field != tt.field || de.Offset != tt.off || !errors.Is(err, tt.err) {
				t.Errorf("error %q (field %q, offset %d), want field %q offset %d, %v", err, de.Field, de.Offset, tt.field, tt.off, tt.err)
			}
			if !strings.HasPrefix(err.Error(), "sms: decode "+tt.field+" at byte ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestDecodeTolerated(t *testing.T) {
	const report = "06" + "D6" + "0B911326880736F4" + "11101171955140" + "11101171957140" + "00"
	tests := []struct {
		name string
		hex  string
		dir  Direction
		want func(*Message) bool
	}{
		{"report garbage PI", "00" + report + "FF", MT, func(m *Message) bool { return m.Status == 0 && m.Text == "" }},
		{"report garbage PI and more", "00" + report + "F7" + "0102030405", MT, func(m *Message) bool { return m.Status == 0 }},
		{"report PI with text", "00" + report + "07" + "00" + "00" + "02" + "E834", MT, func(m *Message) bool { return m.Text == "hi" }},
		{"report PI only PID", "00" + report + "01" + "7F", MT, func(m *Message) bool { return m.PID == 0x7F }},
		{"concat seq 0 ignored", "0044" + "0B911346610089F6" + "0000" + "20806291731408" + "09" + "050003010200" + "D069", MT,
			func(m *Message) bool { return m.Concat == nil && m.Text == "hi" }},
		{"concat wrong IE length ignored", "0044" + "0B911346610089F6" + "0000" + "20806291731408" + "08" + "0400020102" + "A0D3", MT,
			func(m *Message) bool { return m.Concat == nil && m.Text == "hi" }},
		{"unknown IE skipped", "0044" + "0B911346610089F6" + "0000" + "20806291731408" + "07" + "037001FF" + "40A701", MT,
			func(m *Message) bool { return m.Concat == nil && m.Text == "hi" }},
		{"16-bit ports", "0044" + "0B911346610089F6" + "0004" + "20806291731408" + "08" + "060504" + "0B84" + "23F0" + "AA", MT,
			func(m *Message) bool {
				return m.DstPort == 2948 && m.SrcPort == 9200 && m.Encoding == Binary && string(m.Data) == "\xAA"
			}},
		{"8-bit ports and 16-bit concat", "0044" + "0B911346610089F6" + "00F5" + "20806291731408" + "0C" + "0A" + "040210F0" + "0804ABCD0302" + "BB", MT,
			func(m *Message) bool {
				return m.DstPort == 0x10 && m.SrcPort == 0xF0 && m.Encoding == Binary &&
					m.Concat != nil && *m.Concat == Concat{Ref: 0xABCD, Ref16: true, Total: 3, Seq: 2}
			}},
		{"dangling escape", "0004" + "0B911346610089F6" + "0000" + "20806291731408" + "02" + "E10D", MT,
			func(m *Message) bool { return m.Text == "a " && len(m.UD) == 2 }},
		{"lone surrogate", "0004" + "0B911346610089F6" + "0008" + "20806291731408" + "04" + "D83D0041", MT,
			func(m *Message) bool { return m.Text == "\uFFFDA" }},
		{"empty SMSC with TOA only", "0181" + "04" + "0B911346610089F6" + "0000" + "20806291731408" + "00", MT,
			func(m *Message) bool { return m.SMSC == "" && m.Text == "" }},
		{"national language tables", "0044" + "0B911346610089F6" + "0000" + "20806291731408" + "06" + "03250101" + "3800", MT,
			func(m *Message) bool { return m.NationalLocking == 1 && m.Text == "ı" }},
		{"national single shift", "0044" + "0B911346610089F6" + "0000" + "20806291731408" + "07" + "03240101" + "D8CC01", MT,
			func(m *Message) bool { return m.NationalShift == 1 && m.Text == "ş" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeHex(tt.hex, tt.dir, true)
			if err != nil {
				t.Fatalf("DecodeHex: %v", err)
			}
			if !tt.want(m) {
				t.Errorf("decoded %+v", m)
			}
		})
	}
}

// decodeSeeds are real and hand-made PDUs, including the malformed shapes
// of RELIABILITY.md B3: reserved and odd DCS values (CVE-2019-1747),
// inconsistent lengths (CVE-2025-54328) and garbage TP-PI (gnokii).
var decodeSeeds = []struct {
	hex      string
	dir      Direction
	withSMSC bool
}{
	{"07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", MT, true},
	{"040B911346610089F60000208062917314080CC8F71D14969741F977FD07", MT, false},
	{"0011000B916407281553F80000AA0AE8329BFD4697D9EC37", MO, true},
	{"0006D60B911326880736F4111011719551401110117195714000", MT, true},
	{"00040ED0C161B30862D2C90008421020304050400A006800690020D83DDE01", MT, true},
	{"0044" + "0B911346610089F6" + "00F5" + "20806291731408" + "0C" + "0A" + "040210F0" + "0804ABCD0302" + "BB", MT, true},
	{"0044" + "0B911346610089F6" + "0000" + "20806291731408" + "07" + "03240101" + "D8CC01", MT, true},
	{"0044" + "0B911346610089F6" + "0000" + "20806291731408" + "09" + "050003010200" + "D069", MT, true},
	{"0019" + "00" + "0B916407281553F8" + "0000" + "42506141000080" + "00", MO, true},
	{"0009" + "00" + "0191F1" + "0000" + "03103020000000" + "00", MO, true},
	// malformed
	{"07911326040000F0040B911346610089F60080208062917314080CC8F71D14969741F977FD07", MT, true}, // reserved DCS group
	{"07911326040000F0040B911346610089F600FF208062917314080CC8F71D14969741F977FD07", MT, true}, // DCS FF
	{"07911326040000F0040B911346610089F60020208062917314080CC8F71D14969741F977FD07", MT, true}, // compressed
	{"07911326040000F0040B911346610089F6000020806291731408FFC8F71D14969741F977FD07", MT, true}, // UDL FF
	{"07911326040000F0040B911346610089F6000020806291731408A0C8F71D14969741F977FD07", MT, true}, // UDL 160, short data
	{"07911326040000F0FF0B911346610089F60000208062917314080CC8F71D14969741F977FD07", MT, true}, // FO all bits
	{"FF911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", MT, true}, // SMSC length FF
	{"07911326040000F004FF911346610089F60000208062917314080CC8F71D14969741F977FD07", MT, true}, // OA length FF
	{"0044" + "0B911346610089F6" + "0000" + "20806291731408" + "01" + "FF", MT, true},          // UDHL past UDL
	{"0044" + "0B911346610089F6" + "0008" + "20806291731408" + "05" + "0400030102", MT, true},  // IE past UDH
	{"0006D60B911326880736F4111011719551401110117195714000FF", MT, true},                       // garbage PI
	{"0006D60B911326880736F4111011719551401110117195714000FF0405C8", MT, true},                 // garbage PI + junk
	{"0006D60B911326880736F41110117195514011101171957140000704", MT, true},                     // PI says DCS+UDL, ends
	{"0006D60B911326880736F411101171955140111011719571400004FF", MT, true},                     // PI UDL past end
	{"0006D60B911326880736F41110117195514011101171957140", MT, true},                           // no ST
	{"00", MT, true},
	{"", MT, false},
}

func TestDecodeSeeds(t *testing.T) {
	// The seeds must not panic. The first ten are valid, and so are the
	// two status reports whose garbage TP-PI is ignored.
	for i, s := range decodeSeeds {
		_, err := DecodeHex(s.hex, s.dir, s.withSMSC)
		if (err == nil) != (i < 10 || i == 20 || i == 21) {
			t.Errorf("seed %d (%s): error %v", i, s.hex, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		b, err := hex.DecodeString(s.hex)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, s.dir == MO, s.withSMSC)
	}
	f.Fuzz(func(t *testing.T, b []byte, mo, withSMSC bool) {
		dir := MT
		if mo {
			dir = MO
		}
		m, err := Decode(b, dir, withSMSC)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Field == "" || de.Offset < 0 || de.Offset > len(b) {
				t.Fatalf("error %v (%T) is not a sane *DecodeError", err, err)
			}
			return
		}
		// The hex form decodes the same.
		m2, err := DecodeHex(strings.ToLower(hex.EncodeToString(b)), dir, withSMSC)
		if err != nil || m2.Text != m.Text || m2.Type != m.Type {
			t.Fatalf("DecodeHex disagrees: %v", err)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Address) {
			t.Fatalf("invalid UTF-8 in %+v", m)
		}
		if m.Concat != nil && (m.Concat.Seq < 1 || m.Concat.Seq > m.Concat.Total) {
			t.Fatalf("bad Concat %+v", m.Concat)
		}
		// A plain text DELIVER re-encodes to PDUs that decode to its text.
		if m.Type != Deliver || m.Encoding == Binary || m.Concat != nil || m.NationalLocking != 0 || m.NationalShift != 0 {
			return
		}
		pdus, err := EncodeDeliver(m.Address, m.Text, DeliverOptions{SMSC: m.SMSC, Time: m.SCTS, ForceUCS2: m.Encoding == UCS2})
		if err != nil {
			if errors.Is(err, ErrBadAddress) {
				return // e.g. an empty or 'abc' address, which we do not encode
			}
			t.Fatalf("re-encode %+v: %v", m, err)
		}
		parts := make([]*Message, len(pdus))
		for i, p := range pdus {
			if parts[i], err = Decode(p.Bytes, MT, true); err != nil {
				t.Fatalf("decode re-encoded part %d %s: %v", i+1, p.Hex(), err)
			}
			if parts[i].Address != m.Address || !parts[i].SCTS.Equal(m.SCTS) || parts[i].SMSC != m.SMSC {
				t.Fatalf("re-encoded part %d: %+v, want %+v", i+1, parts[i], m)
			}
		}
		if got, err := Reassemble(parts); err != nil || got != m.Text {
			t.Fatalf("re-encoded text %q, %v; want %q", got, err, m.Text)
		}
	})
}

func FuzzDecodeHex(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s.hex, s.dir == MO, s.withSMSC)
	}
	f.Add("0 G", false, true)
	f.Add("07 91 13 26\r\n", false, true)
	f.Fuzz(func(t *testing.T, s string, mo, withSMSC bool) {
		dir := MT
		if mo {
			dir = MO
		}
		if _, err := DecodeHex(s, dir, withSMSC); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(s) {
				t.Fatalf("error %v is not a sane *DecodeError", err)
			}
		}
	})
}
