package sms

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReassemble(t *testing.T) {
	// Parts as a careless sender would split them (see SIMULATOR.md 2.6):
	// part 1 ends with a lone ESC and part 2 starts with its 'e'; part 1
	// of the UCS-2 message ends with a high surrogate.
	gsm1 := &Message{Encoding: GSM7, UD: append([]byte(strings.Repeat("\x78", 152)), 0x1b)}
	gsm2 := &Message{Encoding: GSM7, UD: []byte{0x65, 0x79}}
	ucs1 := &Message{Encoding: UCS2, UD: []byte{0x04, 0x36, 0xD8, 0x3D}}
	ucs2 := &Message{Encoding: UCS2, UD: []byte{0xDE, 0x01, 0x00, 0x7A}}
	bin := &Message{Encoding: Binary, UD: []byte{1}, Data: []byte{1}}
	tests := []struct {
		name  string
		parts []*Message
		want  string
		err   bool
	}{
		{"split escape", []*Message{gsm1, gsm2}, strings.Repeat("x", 152) + "€y", false},
		{"split surrogate", []*Message{ucs1, ucs2}, "ж😁z", false},
		{"mixed encodings", []*Message{gsm2, ucs1, ucs2}, "eyж😁z", false},
		{"lone surrogate stays visible", []*Message{ucs1}, "ж\uFFFD", false},
		{"missing part", []*Message{gsm1, nil}, "", true},
		{"binary part", []*Message{gsm1, bin}, "", true},
		{"none", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Reassemble(tt.parts)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("Reassemble = %q, %v; want %q (error %v)", got, err, tt.want, tt.err)
			}
			if tt.name == "binary part" && !errors.Is(err, ErrNotText) {
				t.Errorf("error %v, want ErrNotText", err)
			}
		})
	}
}

func TestReassembleEncoded(t *testing.T) {
	text := strings.Repeat("x", 152) + "€" + strings.Repeat("🎉", 100) + "end"
	pdus, err := EncodeDeliver("+4915112345678", text, DeliverOptions{Time: time.Unix(1.7e9, 0), Ref: 3})
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*Message, len(pdus))
	for i, p := range pdus {
		if parts[i], err = Decode(p.Bytes, MT, true); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := Reassemble(parts); err != nil || got != text {
		t.Errorf("Reassemble = %q, %v", got, err)
	}
}
