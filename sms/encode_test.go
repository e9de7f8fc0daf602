package sms

import (
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
