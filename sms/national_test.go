package sms

import (
	"strings"
	"testing"
)

func mustLang(t testing.TB, name string) int {
	t.Helper()
	id, ok := LanguageID(name)
	if !ok {
		t.Fatalf("no language %q", name)
	}
	return id
}

// roundTrip encodes text with the options, checks Count agrees on the segments, decodes
// every part and reassembles them.
func roundTrip(t testing.TB, text string, o SubmitOptions) (Counting, []*Message) {
	t.Helper()
	c := CountSubmit(text, o)
	pdus, err := EncodeSubmit("+905321234567", text, o)
	if err != nil {
		t.Fatalf("encode %q: %v", text, err)
	}
	if len(pdus) != c.Segments {
		t.Fatalf("%q: Count says %d segments, EncodeSubmit made %d", text, c.Segments, len(pdus))
	}
	var parts []*Message
	for _, p := range pdus {
		m, err := Decode(p.Bytes, MO, true)
		if err != nil {
			t.Fatalf("decode %X: %v", p.Bytes, err)
		}
		if m.Encoding != c.Encoding || m.NationalShift != c.NationalShift || m.NationalLocking != c.NationalLocking {
			t.Fatalf("part %+v disagrees with the count %+v", m, c)
		}
		parts = append(parts, m)
	}
	got, err := Reassemble(parts)
	if err != nil || got != text {
		t.Fatalf("round trip of %q gave %q (%v)", text, got, err)
	}
	return c, parts
}

// turkish needs two UCS-2 parts (89 characters) but one part with the Turkish tables.
const turkish = "Sayın müşterimiz, teknisyenimiz yarın Şişli'deki adresinize gelecek. Teşekkür ederiz."

func TestNationalLanguageTables(t *testing.T) {
	tr, pt, hi := mustLang(t, "turkish"), mustLang(t, "Portuguese"), mustLang(t, "hindi")
	cases := []struct {
		name     string
		text     string
		langs    []int
		enc      Encoding
		segments int
		shift    bool
		lock     bool
	}{
		{"turkish without tables is UCS-2", turkish, nil, UCS2, 2, false, false},
		{"turkish: the tables save a part", turkish, []int{tr}, GSM7, 1, true, false},
		{"short turkish stays UCS-2 (no part saved)", "Yarın Şişli'de görüşürüz!", []int{tr}, UCS2, 1, false, false},
		{"turkish single shift", "Teşekkürler, yarın saat 10'da geleceğiz. Şimdiden iyi günler dileriz, görüşmek üzere!", []int{tr}, GSM7, 1, true, false},
		{"turkish long", strings.Repeat("Teknisyenimiz yarın saat 10'da Şişli'de olacak. ", 5), []int{tr}, GSM7, 2, true, false},
		{"portuguese", "Olá! A sua encomenda está a caminho. Ligação às 14h, não se esqueça: ção ã õ ê. Obrigado!", []int{pt}, GSM7, 1, true, false},
		{"hindi needs the locking table", "आपका तकनीशियन कल सुबह 10 बजे आएगा। कृपया घर पर रहें। धन्यवाद, आपकी सेवा टीम।", []int{hi}, GSM7, 1, true, true},
		{"no table carries it", "Привет 😀", []int{tr, pt}, UCS2, 1, false, false},
		{"default alphabet needs no table", "Hello €", []int{tr}, GSM7, 1, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, parts := roundTrip(t, tc.text, SubmitOptions{NationalLanguages: tc.langs, Ref: 9})
			if c.Encoding != tc.enc || c.Segments != tc.segments || (c.NationalShift != 0) != tc.shift || (c.NationalLocking != 0) != tc.lock {
				t.Fatalf("count %+v, want %s, %d segment(s), shift %v, locking %v", c, tc.enc, tc.segments, tc.shift, tc.lock)
			}
			if tc.enc == GSM7 && len(c.ForcingUCS2) != 0 {
				t.Errorf("forcing %q although the text stays GSM 7-bit", c.ForcingUCS2)
			}
			if c.Segments > 1 && parts[0].Concat == nil {
				t.Error("multi-part message without a concatenation IE")
			}
		})
	}
}

func TestNationalCapacity(t *testing.T) {
	tr := mustLang(t, "turkish")
	// One part carries 155 septets with the single shift IE: 155 plain letters fit, 156 do not.
	if c := CountSubmit("ş"+strings.Repeat("a", 153), SubmitOptions{NationalLanguages: []int{tr}}); c.Segments != 1 || c.UnitsLeft != 0 {
		t.Fatalf("155 septets: %+v", c)
	}
	c := CountSubmit("ş"+strings.Repeat("a", 154), SubmitOptions{NationalLanguages: []int{tr}})
	if c.Segments != 2 || c.UnitsPerSegment != 149 {
		t.Fatalf("156 septets: %+v, want 2 parts of 149", c)
	}
	if id, ok := LanguageID("klingon"); ok {
		t.Fatalf("unknown language gave %d", id)
	}
	if len(LanguageNames()) != 13 {
		t.Fatalf("languages %v", LanguageNames())
	}
}

// FuzzNationalRoundTrip: whatever the text and language, Count and EncodeSubmit agree
// and decoding gives the text back.
func FuzzNationalRoundTrip(f *testing.F) {
	f.Add("Şişli'de görüşürüz", uint8(1))
	f.Add("ção ã õ ê", uint8(3))
	f.Add("आपका तकनीशियन", uint8(6))
	f.Add(strings.Repeat("ğ", 200), uint8(1))
	f.Add("x\x1b€", uint8(2))
	f.Fuzz(func(t *testing.T, text string, lang uint8) {
		if !validUTF8(text) || len(text) > 2000 {
			return
		}
		o := SubmitOptions{NationalLanguages: []int{int(lang%13) + 1}, Ref: 1}
		if CountSubmit(text, o).Segments > maxConcatParts {
			return
		}
		roundTrip(t, text, o)
	})
}

// TestNationalTablesAudit checks that every entry of each Indic national table lies in
// its script's Unicode block, but for the characters TS 23.038 shares between tables
// (€, ∞, the Devanagari danda and double danda). It caught the Hindi slip hindiFix mends.
func TestNationalTablesAudit(t *testing.T) {
	shared := map[rune]bool{0x20AC: true, 0x221E: true, 0x0964: true, 0x0965: true}
	for name, id := range languageIDs {
		for _, a := range nationalAlphabets[id] {
			for _, tbl := range []map[rune]byte{a.base, a.ext} {
				blocks := map[rune]int{}
				for r := range tbl {
					if r >= 0x0900 && !shared[r] {
						blocks[r&^0x7f]++
					}
				}
				var main rune
				for b, n := range blocks {
					if n > blocks[main] {
						main = b
					}
				}
				for r, sep := range tbl {
					if main != 0 && r >= 0x0900 && !shared[r] && r&^0x7f != main {
						t.Errorf("%s: septet 0x%02X = U+%04X lies outside the script block U+%04X", name, sep, r, main)
					}
				}
			}
		}
	}
	// The mended Hindi signs encode to their septets and decode back.
	hi := mustLang(t, "hindi")
	lock := nationalAlphabets[hi][1]
	for r, want := range map[rune]byte{0x0901: 0x00, 0x0902: 0x01, 0x0903: 0x02} {
		if got, ok := lock.base[r]; !ok || got != want {
			t.Errorf("Hindi U+%04X → septet %02X (%v), want %02X", r, got, ok, want)
		}
	}
	if got := decodeGSM([]byte{0x00, 0x01, 0x02}, hi, hi); got != "\u0901\u0902\u0903" {
		t.Errorf("Hindi septets 00 01 02 decode to %q", got)
	}
}
