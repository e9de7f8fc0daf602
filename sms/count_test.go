package sms

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCount(t *testing.T) {
	x := strings.Repeat
	tests := []struct {
		name string
		text string
		want Counting
	}{
		{"empty", "", Counting{GSM7, 0, 0, 1, 160, 160, nil, 0, 0}},
		{"hello", "hello", Counting{GSM7, 5, 5, 1, 160, 155, nil, 0, 0}},
		{"160", x("a", 160), Counting{GSM7, 160, 160, 1, 160, 0, nil, 0, 0}},
		{"161", x("a", 161), Counting{GSM7, 161, 161, 2, 153, 145, nil, 0, 0}},
		{"306", x("a", 306), Counting{GSM7, 306, 306, 2, 153, 0, nil, 0, 0}},
		{"307", x("a", 307), Counting{GSM7, 307, 307, 3, 153, 152, nil, 0, 0}},
		{"extension counts 2", "€", Counting{GSM7, 1, 2, 1, 160, 158, nil, 0, 0}},
		{"80 euros fit one", x("€", 80), Counting{GSM7, 80, 160, 1, 160, 0, nil, 0, 0}},
		// 152 x + € would need 154 septets: € moves to part 2, leaving 1 free in part 1.
		{"escape at boundary", x("x", 152) + "€" + x("y", 20), Counting{GSM7, 173, 174, 2, 153, 131, nil, 0, 0}},
		{"ucs2 70", x("ж", 70), Counting{UCS2, 70, 70, 1, 70, 0, []string{"ж"}, 0, 0}},
		{"ucs2 71", x("ж", 71), Counting{UCS2, 71, 71, 2, 67, 63, []string{"ж"}, 0, 0}},
		{"emoji is 2 units", "😁", Counting{UCS2, 1, 2, 1, 70, 68, []string{"😁"}, 0, 0}},
		// 66 + 😁 would need 68 units: the pair moves to part 2.
		{"surrogate at boundary", x("ж", 66) + "😁" + x("z", 10), Counting{UCS2, 77, 78, 2, 67, 55, []string{"ж", "😁"}, 0, 0}},
		{"forcing order", "a😁bжc😁ж", Counting{UCS2, 7, 9, 1, 70, 61, []string{"😁", "ж"}, 0, 0}},
		{"escape char U+001B forces ucs2", "\x1be", Counting{UCS2, 2, 2, 1, 70, 68, []string{"\x1b"}, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Count(tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Count = %+v\nwant    %+v", got, tt.want)
			}
			checkCountAgrees(t, tt.text, SubmitOptions{})
		})
	}
}

func TestCountSubmitOptions(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		o      SubmitOptions
		segs   int
		perSeg int
		enc    Encoding
	}{
		{"ref16 gsm", strings.Repeat("a", 305), SubmitOptions{Ref16: true}, 3, 152, GSM7},
		{"ref8 gsm", strings.Repeat("a", 305), SubmitOptions{}, 2, 153, GSM7},
		{"ref16 ucs2", strings.Repeat("ж", 134), SubmitOptions{Ref16: true}, 3, 66, UCS2},
		{"ref8 ucs2", strings.Repeat("ж", 134), SubmitOptions{}, 2, 67, UCS2},
		{"force ucs2", strings.Repeat("a", 71), SubmitOptions{ForceUCS2: true}, 2, 67, UCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CountSubmit(tt.text, tt.o)
			if c.Segments != tt.segs || c.UnitsPerSegment != tt.perSeg || c.Encoding != tt.enc {
				t.Errorf("CountSubmit = %+v", c)
			}
			checkCountAgrees(t, tt.text, tt.o)
		})
	}
}

// checkCountAgrees checks that EncodeSubmit produces CountSubmit's number
// of PDUs, that no part exceeds its capacity, and that the parts decode
// back to text.
func checkCountAgrees(t *testing.T, text string, o SubmitOptions) {
	t.Helper()
	c := CountSubmit(text, o)
	pdus, err := EncodeSubmit("+15551234567", text, o)
	if !utf8.ValidString(text) {
		if err == nil {
			t.Errorf("EncodeSubmit accepted invalid UTF-8 %q", text)
		}
		return
	}
	if c.Segments > maxConcatParts {
		if err == nil {
			t.Errorf("EncodeSubmit accepted %d segments", c.Segments)
		}
		return
	}
	if err != nil {
		t.Fatalf("EncodeSubmit: %v", err)
	}
	if len(pdus) != c.Segments {
		t.Fatalf("EncodeSubmit gave %d PDUs, Count says %d", len(pdus), c.Segments)
	}
	var sb strings.Builder
	units := 0
	for i, p := range pdus {
		m, err := Decode(p.Bytes, MO, true)
		if err != nil {
			t.Fatalf("part %d: Decode(%s): %v", i+1, p.Hex(), err)
		}
		n := len(m.UD)
		if m.Encoding == UCS2 {
			n /= 2
		}
		if n > c.UnitsPerSegment && len(pdus) > 1 {
			t.Errorf("part %d has %d units, more than %d", i+1, n, c.UnitsPerSegment)
		}
		if i == len(pdus)-1 && c.UnitsPerSegment-n != c.UnitsLeft {
			t.Errorf("last part has %d units, Count says %d left of %d", n, c.UnitsLeft, c.UnitsPerSegment)
		}
		units += n
		sb.WriteString(m.Text)
	}
	if units != c.Units {
		t.Errorf("parts carry %d units, Count says %d", units, c.Units)
	}
	if sb.String() != text {
		t.Errorf("decoded %q, want %q", sb.String(), text)
	}
}

// TestSegmentBoundaries covers SIMULATOR.md 2.6, where smstools3 splits an
// escape from its character and drops text after a split surrogate pair,
// and an extension character at every position around the boundary.
func TestSegmentBoundaries(t *testing.T) {
	t.Run("escape 152x", func(t *testing.T) {
		pdus, err := EncodeSubmit("+15551234567", strings.Repeat("x", 152)+"€"+strings.Repeat("y", 20), SubmitOptions{})
		if err != nil || len(pdus) != 2 {
			t.Fatalf("EncodeSubmit: %d parts, %v", len(pdus), err)
		}
		m1, _ := Decode(pdus[0].Bytes, MO, true)
		m2, _ := Decode(pdus[1].Bytes, MO, true)
		if len(m1.UD) != 152 || m1.Text != strings.Repeat("x", 152) {
			t.Errorf("part 1: %d septets %q", len(m1.UD), m1.Text)
		}
		if len(m2.UD) < 2 || m2.UD[0] != 0x1b || m2.UD[1] != 0x65 || m2.Text != "€"+strings.Repeat("y", 20) {
			t.Errorf("part 2: UD % X, text %q", m2.UD, m2.Text)
		}
		// UDL of part 1 is 159 septets: 7 for the header, 152 of text.
		if udl := submitUDL(pdus[0].TPDU()); udl != 159 {
			t.Errorf("part 1 UDL %d, want 159", udl)
		}
		if udl := submitUDL(pdus[1].TPDU()); udl != 7+22 {
			t.Errorf("part 2 UDL %d, want 29", udl)
		}
	})
	t.Run("surrogate 66+emoji", func(t *testing.T) {
		text := strings.Repeat("ж", 66) + "😁" + strings.Repeat("z", 10)
		pdus, err := EncodeSubmit("+15551234567", text, SubmitOptions{})
		if err != nil || len(pdus) != 2 {
			t.Fatalf("EncodeSubmit: %d parts, %v", len(pdus), err)
		}
		m1, _ := Decode(pdus[0].Bytes, MO, true)
		m2, _ := Decode(pdus[1].Bytes, MO, true)
		if len(m1.UD) != 132 || m1.Text != strings.Repeat("ж", 66) {
			t.Errorf("part 1: %d octets %q", len(m1.UD), m1.Text)
		}
		if !strings.HasPrefix(string(m2.UD), "\xD8\x3D\xDE\x01") || m2.Text != "😁"+strings.Repeat("z", 10) {
			t.Errorf("part 2: UD % X, text %q", m2.UD, m2.Text)
		}
	})
	for _, ext := range []string{"€", "[", "]", "{", "}", "~", "^", "\\", "|", "\f"} {
		for _, ref16 := range []bool{false, true} {
			for n := 148; n <= 161; n++ {
				text := strings.Repeat("x", n) + ext + strings.Repeat("y", 10)
				checkCountAgrees(t, text, SubmitOptions{Ref16: ref16})
			}
		}
	}
	for _, ref16 := range []bool{false, true} {
		for n := 60; n <= 72; n++ {
			checkCountAgrees(t, strings.Repeat("ж", n)+"😁"+strings.Repeat("z", 10), SubmitOptions{Ref16: ref16})
			checkCountAgrees(t, strings.Repeat("😁", n), SubmitOptions{Ref16: ref16})
		}
	}
}

func TestEncodeTooLong(t *testing.T) {
	if _, err := EncodeSubmit("+1", strings.Repeat("a", 307), SubmitOptions{MaxSegments: 2}); err == nil {
		t.Error("3 segments accepted with MaxSegments 2")
	}
	if _, err := EncodeSubmit("+1", strings.Repeat("a", 153*256), SubmitOptions{}); err == nil {
		t.Error("256 segments accepted")
	}
	if pdus, err := EncodeSubmit("+1", strings.Repeat("a", 153*255), SubmitOptions{}); err != nil || len(pdus) != 255 {
		t.Errorf("255 segments: %d, %v", len(pdus), err)
	}
}

// submitUDL returns TP-UDL of an SMS-SUBMIT TPDU without TP-VP.
func submitUDL(tpdu []byte) int {
	da := 2 + (int(tpdu[2])+1)/2
	return int(tpdu[2+da+2])
}

func FuzzCount(f *testing.F) {
	for _, s := range []string{
		"", "hello", strings.Repeat("x", 152) + "€" + strings.Repeat("y", 20),
		strings.Repeat("ж", 66) + "😁" + strings.Repeat("z", 10), strings.Repeat("€", 81),
		strings.Repeat("a", 161), "\x1be", "a\xffb", "\x00@\n\r\f", strings.Repeat("😁", 36),
		"{}[]~^\\|€", "🇩🇪👍🏽", "e\u0301", "\uFFFD",
	} {
		f.Add(s, false, false)
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, text string, ref16, force bool) {
		o := SubmitOptions{Ref16: ref16, ForceUCS2: force, Ref: 42}
		c := CountSubmit(text, o)
		if c.Segments < 1 || c.UnitsLeft < 0 || c.UnitsLeft > c.UnitsPerSegment || c.Characters != utf8.RuneCountInString(text) {
			t.Fatalf("CountSubmit = %+v", c)
		}
		if c.Encoding == GSM7 && len(c.ForcingUCS2) != 0 {
			t.Fatalf("GSM7 with forcing chars %q", c.ForcingUCS2)
		}
		if !force && !ref16 && !reflect.DeepEqual(Count(text), c) {
			t.Fatalf("Count = %+v, CountSubmit = %+v", Count(text), c)
		}
		checkCountAgrees(t, text, o)
	})
}
