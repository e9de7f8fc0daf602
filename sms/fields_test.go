package sms

import (
	"errors"
	"testing"
	"time"
)

func TestValidityPeriod(t *testing.T) {
	// Every relative TP-VP value survives decode and re-encode.
	for v := 0; v < 256; v++ {
		if got := encodeRelativeVP(relativeVP(byte(v))); got != byte(v) {
			t.Errorf("encode(decode(%d)) = %d", v, got)
		}
	}
	// Requested periods are rounded up, never down, up to 63 weeks.
	for d := time.Duration(0); d <= 64*7*24*time.Hour; d += 7 * time.Minute {
		got := relativeVP(encodeRelativeVP(d))
		if d <= 63*7*24*time.Hour && got < d {
			t.Fatalf("%v encodes to %v", d, got)
		}
		if d > 0 && d <= 63*7*24*time.Hour && encodeRelativeVP(d) > 0 && relativeVP(encodeRelativeVP(d)-1) >= d {
			t.Fatalf("%v: a shorter representable period would do", d)
		}
	}
	tests := []struct {
		name string
		d    time.Duration
		vp   string
		back time.Duration
	}{
		{"5 minutes", 5 * time.Minute, "00", 5 * time.Minute},
		{"1 minute rounds up", time.Minute, "00", 5 * time.Minute},
		{"1 hour", time.Hour, "0B", time.Hour},
		{"12 hours", 12 * time.Hour, "8F", 12 * time.Hour},
		{"13 hours", 13 * time.Hour, "91", 13 * time.Hour},
		{"1 day", 24 * time.Hour, "A7", 24 * time.Hour},
		{"4 days", 4 * 24 * time.Hour, "AA", 4 * 24 * time.Hour},
		{"30 days", 30 * 24 * time.Hour, "C4", 30 * 24 * time.Hour},
		{"31 days rounds to 5 weeks", 31 * 24 * time.Hour, "C5", 35 * 24 * time.Hour},
		{"1 year capped", 10 * 365 * 24 * time.Hour, "FF", 63 * 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdus, err := EncodeSubmit("+1", "x", SubmitOptions{Validity: tt.d})
			if err != nil {
				t.Fatal(err)
			}
			h := pdus[0].Hex()
			// 00 | 11 00 | 01 91 F1 | 00 00 | VP | ...
			if h[:4] != "0011" || h[16:18] != tt.vp {
				t.Errorf("PDU %s, want VPF relative and VP %s", h, tt.vp)
			}
			m, err := Decode(pdus[0].Bytes, MO, true)
			if err != nil || m.Validity != tt.back {
				t.Errorf("decoded validity %v, %v; want %v", m.Validity, err, tt.back)
			}
		})
	}
	if _, err := EncodeSubmit("+1", "x", SubmitOptions{Validity: -time.Second}); !errors.Is(err, ErrBadOption) {
		t.Errorf("negative validity: %v", err)
	}
}

func TestDecodeValidityFormats(t *testing.T) {
	const tail = "0000" // TP-PID, TP-DCS before VP; UDL 0 after
	tests := []struct {
		name  string
		hex   string
		valid time.Duration
		until time.Time
	}{
		{"absent", "0001" + "00" + "0191F1" + tail + "00", 0, time.Time{}},
		{"relative", "0011" + "00" + "0191F1" + tail + "AA" + "00", 4 * 24 * time.Hour, time.Time{}},
		{"absolute", "0019" + "00" + "0191F1" + tail + "42506141000080" + "00", 0,
			time.Date(2024, 5, 16, 14, 0, 0, 0, time.FixedZone("", 2*3600))},
		{"enhanced relative", "0009" + "00" + "0191F1" + tail + "01AA0000000000" + "00", 4 * 24 * time.Hour, time.Time{}},
		{"enhanced seconds", "0009" + "00" + "0191F1" + tail + "025A0000000000" + "00", 90 * time.Second, time.Time{}},
		{"enhanced hhmmss", "0009" + "00" + "0191F1" + tail + "03103020000000" + "00", 1*time.Hour + 3*time.Minute + 2*time.Second, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeHex(tt.hex, MO, true)
			if err != nil {
				t.Fatal(err)
			}
			if m.Validity != tt.valid || !m.ValidUntil.Equal(tt.until) {
				t.Errorf("Validity %v ValidUntil %v, want %v %v", m.Validity, m.ValidUntil, tt.valid, tt.until)
			}
		})
	}
}
