package sms

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEncodeSubmitRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		to    string
		text  string
		o     SubmitOptions
		parts int
		enc   Encoding
	}{
		{"short gsm", "+4915112345678", "hello", SubmitOptions{}, 1, GSM7},
		{"empty", "+4915112345678", "", SubmitOptions{}, 1, GSM7},
		{"national number", "015112345678", "hi", SubmitOptions{}, 1, GSM7},
		{"160 gsm", "+1", strings.Repeat("a", 160), SubmitOptions{}, 1, GSM7},
		{"161 gsm", "+1", strings.Repeat("a", 161), SubmitOptions{Ref: 200}, 2, GSM7},
		{"extension chars", "+1", "€[]{}~^\\|", SubmitOptions{}, 1, GSM7},
		{"ucs2", "+1", "Привет", SubmitOptions{}, 1, UCS2},
		{"forced ucs2", "+1", "hello", SubmitOptions{ForceUCS2: true}, 1, UCS2},
		{"long ucs2 16-bit ref", "+1", strings.Repeat("ж", 140), SubmitOptions{Ref: 0xBEEF, Ref16: true}, 3, UCS2},
		{"srr and validity", "+1", "x", SubmitOptions{StatusReport: true, Validity: time.Hour, SMSC: "+491710760000"}, 1, GSM7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdus, err := EncodeSubmit(tt.to, tt.text, tt.o)
			if err != nil {
				t.Fatalf("EncodeSubmit: %v", err)
			}
			if len(pdus) != tt.parts {
				t.Fatalf("%d parts, want %d", len(pdus), tt.parts)
			}
			var text strings.Builder
			for i, p := range pdus {
				if p.TPDULen != len(p.TPDU()) || len(p.Bytes)-p.TPDULen != int(p.Bytes[0])+1 {
					t.Errorf("part %d: TPDULen %d inconsistent with %s", i+1, p.TPDULen, p.Hex())
				}
				m, err := Decode(p.Bytes, MO, true)
				if err != nil {
					t.Fatalf("part %d: Decode(%s): %v", i+1, p.Hex(), err)
				}
				if m.Type != Submit || m.Address != tt.to || m.Encoding != tt.enc || m.SMSC != tt.o.SMSC ||
					m.StatusReportRequested != tt.o.StatusReport || m.Validity != tt.o.Validity {
					t.Errorf("part %d: decoded %+v", i+1, m)
				}
				if tt.parts > 1 {
					want := Concat{Ref: tt.o.Ref, Ref16: tt.o.Ref16, Total: tt.parts, Seq: i + 1}
					if m.Concat == nil || *m.Concat != want {
						t.Errorf("part %d: Concat %+v, want %+v", i+1, m.Concat, want)
					}
				} else if m.Concat != nil {
					t.Errorf("single part has Concat %+v", m.Concat)
				}
				text.WriteString(m.Text)
			}
			if text.String() != tt.text {
				t.Errorf("text %q, want %q", text.String(), tt.text)
			}
		})
	}
}

func TestEncodeDeliverRoundTrip(t *testing.T) {
	when := time.Date(2025, 12, 31, 23, 59, 58, 0, time.FixedZone("", -(4*3600+30*60)))
	tests := []struct {
		name  string
		from  string
		text  string
		o     DeliverOptions
		parts int
	}{
		{"number", "+4915112345678", "Hello there", DeliverOptions{Time: when}, 1},
		{"alphanumeric", "ACME Ltd", "Your code is 1234", DeliverOptions{Time: when, SMSC: "+491710760000"}, 1},
		{"long", "+1555", strings.Repeat("0123456789", 40), DeliverOptions{Time: when, Ref: 9}, 3},
		{"emoji sri", "12345", "😁😁", DeliverOptions{Time: when, StatusReportIndication: true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdus, err := EncodeDeliver(tt.from, tt.text, tt.o)
			if err != nil {
				t.Fatalf("EncodeDeliver: %v", err)
			}
			if len(pdus) != tt.parts {
				t.Fatalf("%d parts, want %d", len(pdus), tt.parts)
			}
			var text strings.Builder
			for i, p := range pdus {
				m, err := DecodeHex(p.Hex(), MT, true)
				if err != nil {
					t.Fatalf("part %d: Decode(%s): %v", i+1, p.Hex(), err)
				}
				if m.Type != Deliver || m.Address != tt.from || !m.SCTS.Equal(tt.o.Time) || m.SMSC != tt.o.SMSC ||
					m.StatusReportRequested != tt.o.StatusReportIndication {
					t.Errorf("part %d: decoded %+v", i+1, m)
				}
				if _, off := m.SCTS.Zone(); off != -(4*3600 + 30*60) {
					t.Errorf("part %d: zone offset %d", i+1, off)
				}
				text.WriteString(m.Text)
			}
			if text.String() != tt.text {
				t.Errorf("text %q, want %q", text.String(), tt.text)
			}
		})
	}
}

func TestEncodeStatusReportRoundTrip(t *testing.T) {
	scts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600))
	dt := scts.Add(3 * time.Second)
	for _, st := range []byte{0x00, 0x01, 0x20, 0x30, 0x40, 0x46, 0x60, 0x65} {
		p, err := EncodeStatusReport(77, "+4915112345678", scts, dt, st, "")
		if err != nil {
			t.Fatalf("EncodeStatusReport: %v", err)
		}
		m, err := Decode(p.Bytes, MT, true)
		if err != nil {
			t.Fatalf("Decode(%s): %v", p.Hex(), err)
		}
		if m.Type != StatusReport || m.MR != 77 || m.Address != "+4915112345678" || m.Status != st ||
			!m.SCTS.Equal(scts) || !m.Discharge.Equal(dt) {
			t.Errorf("decoded %+v", m)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		fn   func() error
		want error
	}{
		{"submit to alphanumeric", func() error { _, err := EncodeSubmit("ACME", "x", SubmitOptions{}); return err }, ErrBadAddress},
		{"submit to empty", func() error { _, err := EncodeSubmit("", "x", SubmitOptions{}); return err }, ErrBadAddress},
		{"submit to 21 digits", func() error { _, err := EncodeSubmit("+"+strings.Repeat("1", 21), "x", SubmitOptions{}); return err }, ErrBadAddress},
		{"submit bad smsc", func() error { _, err := EncodeSubmit("+1", "x", SubmitOptions{SMSC: "SMSC"}); return err }, ErrBadAddress},
		{"submit invalid utf8", func() error { _, err := EncodeSubmit("+1", "a\xffb", SubmitOptions{}); return err }, ErrInvalidText},
		{"submit ref 256", func() error { _, err := EncodeSubmit("+1", "x", SubmitOptions{Ref: 256}); return err }, ErrBadOption},
		{"submit ref16 65536", func() error { _, err := EncodeSubmit("+1", "x", SubmitOptions{Ref: 65536, Ref16: true}); return err }, ErrBadOption},
		{"submit negative ref", func() error { _, err := EncodeSubmit("+1", "x", SubmitOptions{Ref: -1}); return err }, ErrBadOption},
		{"submit negative max", func() error { _, err := EncodeSubmit("+1", "x", SubmitOptions{MaxSegments: -1}); return err }, ErrBadOption},
		{"deliver sender 12 chars", func() error { _, err := EncodeDeliver("ABCDEFGHIJKL", "x", DeliverOptions{Time: when}); return err }, ErrBadAddress},
		{"deliver sender not gsm", func() error { _, err := EncodeDeliver("Привет", "x", DeliverOptions{Time: when}); return err }, ErrBadAddress},
		{"deliver year 2070", func() error {
			_, err := EncodeDeliver("+1", "x", DeliverOptions{Time: time.Date(2070, 1, 1, 0, 0, 0, 0, time.UTC)})
			return err
		}, ErrBadTime},
		{"report mr 256", func() error { _, err := EncodeStatusReport(256, "+1", when, when, 0, ""); return err }, ErrBadOption},
		{"report alphanumeric", func() error { _, err := EncodeStatusReport(1, "ACME", when, when, 0, ""); return err }, ErrBadAddress},
		{"report year 1969", func() error {
			_, err := EncodeStatusReport(1, "+1", when, time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), 0, "")
			return err
		}, ErrBadTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn()
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "sms: ") || strings.Count(msg, "sms: ") != 1 {
				t.Errorf("error text %q", msg)
			}
		})
	}
}

func TestEncodeTimestampZones(t *testing.T) {
	tests := []struct {
		name string
		zone *time.Location
		oct  string // last octet of TP-SCTS
	}{
		{"utc", time.UTC, "00"},
		{"plus 1", time.FixedZone("", 3600), "40"},
		{"minus 4:30", time.FixedZone("", -(4*3600 + 30*60)), "89"},
		{"nepal 5:45", time.FixedZone("", 5*3600+45*60), "32"},
		{"plus 14", time.FixedZone("", 14*3600), "65"},
		{"odd offset truncated", time.FixedZone("LMT", 3600+7*60), "40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			when := time.Date(2024, 2, 29, 23, 59, 59, 999, tt.zone)
			pdus, err := EncodeDeliver("+1", "x", DeliverOptions{Time: when})
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(pdus[0].Bytes, MT, true)
			if err != nil {
				t.Fatal(err)
			}
			if !m.SCTS.Equal(when.Truncate(time.Second)) {
				t.Errorf("SCTS %v, want %v", m.SCTS, when)
			}
			tp := pdus[0].TPDU()
			if got := fmt.Sprintf("%02X", tp[len(tp)-3]); got != tt.oct {
				t.Errorf("zone octet %s, want %s (%s)", got, tt.oct, pdus[0].Hex())
			}
		})
	}
}

func TestEncodeLiteralHex(t *testing.T) {
	// Hand-checked against TS 23.040: SMS-SUBMIT, TP-MR 0, DA +46708251358,
	// GSM 7-bit "hellohello", no VP, modem-default SMSC.
	pdus, err := EncodeSubmit("+46708251358", "hellohello", SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pdus[0].Hex(), "0001000B916407281553F800000AE8329BFD4697D9EC37"; got != want {
		t.Errorf("Hex = %s, want %s", got, want)
	}
	if pdus[0].TPDULen != 22 {
		t.Errorf("TPDULen %d, want 22", pdus[0].TPDULen)
	}
	// SMS-DELIVER of the classic example, re-encoded.
	d, err := EncodeDeliver("+31641600986", "How are you?", DeliverOptions{SMSC: "+31624000000", Time: time.Date(2002, 8, 26, 19, 37, 41, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d[0].Hex(), "07911326040000F0040B911346610089F60000208062917314000CC8F71D14969741F977FD07"; got != want {
		t.Errorf("Hex = %s, want %s", got, want)
	}
}
