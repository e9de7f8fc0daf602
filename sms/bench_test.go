package sms

import (
	"strings"
	"testing"
)

var benchTexts = map[string]string{
	"short":     "Your technician will arrive between 10:00 and 12:00.",
	"long-gsm":  strings.Repeat("Job #1234 at Main St {ETA 15 min} ", 14),
	"long-ucs2": strings.Repeat("Техник приедет через 15 минут 😁 ", 10),
}

func BenchmarkEncodeSubmit(b *testing.B) {
	for name, text := range benchTexts {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeSubmit("+4915112345678", text, SubmitOptions{Ref: 7}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCount(b *testing.B) {
	for name, text := range benchTexts {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Count(text)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for name, text := range benchTexts {
		pdus, err := EncodeDeliver("+4915112345678", text, DeliverOptions{Ref: 7})
		if err != nil {
			b.Fatal(err)
		}
		raw := pdus[0].Bytes
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(raw, MT, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNormalizeNumber(b *testing.B) {
	for name, raw := range map[string]string{
		"national": "0151 12345678", "e164": "+4915112345678", "sender": "ACME Ltd",
		"hostile": strings.Repeat("(1)-", 16),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = NormalizeNumber(raw, "DE")
			}
		})
	}
}
