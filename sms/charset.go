package sms

import (
	"unicode/utf16"

	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/gsm7/charset"
)

const escSeptet = 0x1b

// gsmBase and gsmExt map runes to septets of the GSM 7-bit default alphabet
// and of its extension table (sent as ESC + septet). They are filled once by
// init and only read afterwards.
var (
	gsmBase map[rune]byte
	gsmExt  map[rune]byte
)

func init() {
	// warthog618/sms builds its charset tables lazily, writing package
	// variables without synchronisation, which is a data race when two
	// goroutines decode at once. Build every table here, before any
	// goroutine of ours can run, so that later calls only read them.
	charset.DefaultDecoder()
	charset.DefaultExtDecoder()
	charset.DefaultEncoder()
	charset.DefaultExtEncoder()
	for nli := charset.Start; nli < charset.End; nli++ {
		charset.NewDecoder(nli)
		charset.NewExtDecoder(nli)
		charset.NewEncoder(nli)
		charset.NewExtEncoder(nli)
	}

	gsmBase = make(map[rune]byte, 128)
	for r, s := range charset.DefaultEncoder() {
		// The library maps U+001B to the escape septet itself. Sending it
		// would merge with the next character into an extension character
		// (or dangle at a segment end), so U+001B forces UCS-2 instead.
		if s == escSeptet {
			continue
		}
		gsmBase[r] = s
	}
	gsmExt = make(map[rune]byte, 16)
	for r, s := range charset.DefaultExtEncoder() {
		if _, ok := gsmBase[r]; ok {
			continue
		}
		gsmExt[r] = s
	}
}

// gsmSeptets returns the number of septets r takes in the GSM 7-bit default
// alphabet: 1, 2 for an extension character, or 0 when r has none.
func gsmSeptets(r rune) int {
	if _, ok := gsmBase[r]; ok {
		return 1
	}
	if _, ok := gsmExt[r]; ok {
		return 2
	}
	return 0
}

// appendGSM appends the septets of r to dst; r must be encodable.
func appendGSM(dst []byte, r rune) []byte {
	if s, ok := gsmBase[r]; ok {
		return append(dst, s)
	}
	return append(dst, escSeptet, gsmExt[r])
}

// ucs2Units returns the number of UTF-16 code units of r.
func ucs2Units(r rune) int {
	if r >= 0x10000 && r <= 0x10FFFF {
		return 2
	}
	return 1
}

// appendUCS2 appends the big-endian UTF-16 encoding of r to dst.
func appendUCS2(dst []byte, r rune) []byte {
	if ucs2Units(r) == 2 {
		hi, lo := utf16.EncodeRune(r)
		return append(dst, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
	}
	if r > 0xFFFF || (r >= 0xD800 && r < 0xE000) {
		r = 0xFFFD
	}
	return append(dst, byte(r>>8), byte(r))
}

// decodeGSM converts unpacked septets to text using the default alphabet or
// the national language tables named by locking and shift (0 = default).
// Unknown extension septets fall back to the default table, as TS 23.038
// asks, and a dangling escape becomes a space.
func decodeGSM(septets []byte, locking, shift int) string {
	var opts []gsm7.DecoderOption
	if locking > 0 {
		opts = append(opts, gsm7.WithCharset(locking))
	}
	if shift > 0 {
		opts = append(opts, gsm7.WithExtCharset(shift))
	}
	d := gsm7.NewDecoder(opts...)
	b, _ := d.Decode(septets) // only fails in strict mode
	return string(b)
}

// decodeUCS2 converts big-endian UTF-16 to text. Unpaired surrogates become
// U+FFFD without swallowing the unit that follows them. b must have an even
// length.
func decodeUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}
