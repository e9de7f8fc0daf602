package sms

import (
	"strings"
	"testing"
)

func TestStatusMeaning(t *testing.T) {
	tests := []struct {
		st    byte
		class StatusClass
		text  string
	}{
		{0x00, Delivered, "received by the recipient"},
		{0x01, Delivered, "forwarded to the recipient, delivery not confirmed"},
		{0x02, Delivered, "replaced by the service centre"},
		{0x03, Delivered, "transaction completed (reserved 0x03)"},
		{0x10, Delivered, "transaction completed (service centre specific 0x10)"},
		{0x20, Pending, "congestion, still trying"},
		{0x25, Pending, "error in recipient, still trying"},
		{0x2A, Pending, "temporary error, still trying (reserved 0x2A)"},
		{0x3F, Pending, "temporary error, still trying (service centre specific 0x3F)"},
		{0x40, Failed, "remote procedure error"},
		{0x46, Failed, "validity period expired"},
		{0x49, Failed, "message does not exist"},
		{0x4A, Failed, "permanent error (reserved 0x4A)"},
		{0x5F, Failed, "permanent error (service centre specific 0x5F)"},
		{0x60, Failed, "congestion, no more attempts"},
		{0x65, Failed, "error in recipient, no more attempts"},
		{0x70, Failed, "temporary error, no more attempts (service centre specific 0x70)"},
		{0x80, Failed, "reserved status 0x80"},
		{0xFF, Failed, "reserved status 0xFF"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.text, " ", "_"), func(t *testing.T) {
			text, class := StatusMeaning(tt.st)
			if text != tt.text || class != tt.class {
				t.Errorf("StatusMeaning(0x%02X) = %q, %v; want %q, %v", tt.st, text, class, tt.text, tt.class)
			}
		})
	}
	for st := 0; st < 256; st++ {
		if text, class := StatusMeaning(byte(st)); text == "" || class < Delivered || class > Failed {
			t.Errorf("StatusMeaning(0x%02X) = %q, %v", st, text, class)
		}
	}
}

// TestStatusReportClasses decodes a status report for one value of each
// class and checks the meaning that the queue would record.
func TestStatusReportClasses(t *testing.T) {
	const head = "00" + "06" + "D6" + "0B911326880736F4" + "11101171955140" + "11101171957140"
	for _, tt := range []struct {
		st    string
		class StatusClass
	}{{"00", Delivered}, {"21", Pending}, {"46", Failed}, {"62", Failed}, {"9A", Failed}} {
		m, err := DecodeHex(head+tt.st, MT, true)
		if err != nil {
			t.Fatalf("DecodeHex: %v", err)
		}
		if _, class := StatusMeaning(m.Status); class != tt.class {
			t.Errorf("TP-ST %s: class %v, want %v", tt.st, class, tt.class)
		}
	}
}
