package sms

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   string
		reason string
	}{
		{"german mobile national", "0151 12345678", "DE", "+4915112345678", ""},
		{"german mobile punctuated", "(0151) 123-456.78", "de", "+4915112345678", ""},
		{"international", "+49 151 12345678", "", "+4915112345678", ""},
		{"international ignores region", "+44 7911 123456", "DE", "+447911123456", ""},
		{"idd prefix", "0044 7911 123456", "DE", "+447911123456", ""},
		{"us", "(202) 555-0143", "US", "+12025550143", ""},
		{"trimmed", "  +4915112345678\t", "", "+4915112345678", ""},
		{"alphanumeric", "ACME Ltd", "DE", "ACME Ltd", ""},
		{"alphanumeric trimmed", " Info-1 ", "", "Info-1", ""},
		{"alphanumeric 11", "ABCDEFGHIJK", "", "ABCDEFGHIJK", ""},
		{"short code", "7726", "GB", "7726", ""},
		{"short code known", "88088", "GB", "88088", ""},
		{"short code de", "22222", "DE", "22222", ""},
		{"empty", "", "DE", "", ReasonEmpty},
		{"blank", "   ", "DE", "", ReasonEmpty},
		{"no region", "015112345678", "", "", ReasonNoRegion},
		{"unknown region", "015112345678", "XX", "", ReasonUnknownRegion},
		{"too short", "+49 1", "", "", ReasonTooShort},
		{"too long", "+49 1511234567890123", "", "", ReasonTooLong},
		{"bad country code", "+999 12345678", "", "", ReasonCountryCode},
		{"not valid", "+49 0000 000000", "", "", ReasonNotValid},
		{"sender too long", "ACME Limited Company", "", "", ReasonSenderTooLong},
		{"sender extension counts 2", "ACME €€€€€", "", "", ReasonSenderTooLong},
		{"sender charset", "Привет", "", "", ReasonSenderCharset},
		{"plus with letters", "+49 ACME", "", "", ReasonCharacters},
		{"bad characters", "0151;12345678", "DE", "", ReasonCharacters},
		{"no digits", "+-", "DE", "", ReasonNotANumber},
		{"plus inside", "49+15112345678", "DE", "", ReasonCharacters},
		{"sql", "'; DROP TABLE messages;--", "DE", "", ReasonSenderTooLong},
		{"xss", "<script>alert(1)</script>", "DE", "", ReasonSenderTooLong},
		{"shell", "$(reboot)", "DE", "", ""},
		{"nul", "0151\x0012345678", "DE", "", ReasonControl},
		{"newline injection", "ACME\nLtd", "DE", "", ReasonControl},
		{"bidi override", "\u202eACME", "DE", "", ReasonControl},
		{"invalid utf8", "\xff\xfe", "DE", "", ReasonInvalidUTF8},
		{"huge", strings.Repeat("1", 10000), "DE", "", ReasonTooLongInput},
		{"long digits", strings.Repeat("1", 65), "DE", "", ReasonTooLongInput},
		{"fullwidth digits", "０１５１１２３４５６７８", "DE", "", ReasonCharacters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeNumber(tt.raw, tt.region)
			if tt.name == "shell" {
				// Representable as an alphanumeric sender id: accepted as text.
				if err != nil || got != "$(reboot)" {
					t.Errorf("NormalizeNumber = %q, %v", got, err)
				}
				return
			}
			if tt.reason == "" {
				if err != nil || got != tt.want {
					t.Errorf("NormalizeNumber(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
				}
				return
			}
			var ne *NumberError
			if !errors.As(err, &ne) || ne.Reason != tt.reason || !errors.Is(err, ErrInvalidNumber) || got != "" {
				t.Fatalf("NormalizeNumber(%q, %q) = %q, %v; want reason %q", tt.raw, tt.region, got, err, tt.reason)
			}
			if ne.Input != tt.raw {
				t.Errorf("Input %q, want %q", ne.Input, tt.raw)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "sms: invalid number ") || strings.ContainsAny(msg, "\n\x00") || len(msg) > 200 {
				t.Errorf("error text %q", msg)
			}
		})
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{
		"0151 12345678", "+4915112345678", "0044 7911 123456", "(202) 555-0143", "ACME Ltd", "7726",
		"", "+", "+999 1", "'; DROP TABLE x;--", "<script>", "$(reboot)", "\u202eACME", "\xff", "０１５１",
		"+49 ACME", "1-800-FLOWERS", "+1 (202) 555-0143 ext. 1234", "tel:+4915112345678",
	} {
		f.Add(s, "DE")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalizeNumber(raw, region)
		if err != nil {
			var ne *NumberError
			if !errors.As(err, &ne) || ne.Reason == "" || got != "" {
				t.Fatalf("NormalizeNumber(%q, %q) = %q, %v", raw, region, got, err)
			}
			return
		}
		switch {
		case strings.HasPrefix(got, "+"):
			for _, c := range got[1:] {
				if c < '0' || c > '9' {
					t.Fatalf("E.164 %q has %q", got, c)
				}
			}
			// E.164 is a fixed point, and EncodeSubmit takes it.
			if again, err := NormalizeNumber(got, ""); err != nil || again != got {
				t.Fatalf("NormalizeNumber(%q) = %q, %v", got, again, err)
			}
			if _, err := EncodeSubmit(got, "x", SubmitOptions{}); err != nil {
				t.Fatalf("EncodeSubmit(%q): %v", got, err)
			}
		case got == strings.TrimSpace(raw) || isDigits(got) && len(got) >= 3 && len(got) <= 6:
			// An alphanumeric sender id or a short code: it must be
			// usable as an SMS-DELIVER originator.
			if _, err := EncodeDeliver(got, "x", DeliverOptions{Time: time.Unix(1.7e9, 0)}); err != nil {
				t.Fatalf("EncodeDeliver(%q): %v", got, err)
			}
		default:
			t.Fatalf("NormalizeNumber(%q, %q) = %q", raw, region, got)
		}
	})
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
