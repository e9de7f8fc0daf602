package sms

import (
	"sort"
	"strings"
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
	gsmExt = table(charset.DefaultExtEncoder(), gsmBase)
	initNationalAlphabets()
}

// gsmSeptets returns the number of septets r takes in the GSM 7-bit default
// alphabet: 1, 2 for an extension character, or 0 when r has none.
func gsmSeptets(r rune) int { return defaultAlphabet.septets(r) }

// appendGSM appends the septets of r in the default alphabet; r must be encodable.
func appendGSM(dst []byte, r rune) []byte { return defaultAlphabet.append(dst, r) }

// alphabet is one GSM 7-bit character set as TS 23.038 §6.2.1 defines it: a base
// table (the default alphabet, or a national locking shift table) and the table
// reached through ESC (the default extension table, or a national single shift
// table). lock and shift are the national language identifiers of the two, 0 for the
// default tables; a non-zero one costs a 3-octet information element in the UDH.
type alphabet struct {
	base, ext   map[rune]byte
	lock, shift int
}

// defaultAlphabet is the GSM 7-bit default alphabet with its extension table.
var defaultAlphabet alphabet

// nationalAlphabets are, per national language identifier, the alphabets that can
// use its tables: single shift only, then locking and single shift (Spanish has no
// locking shift table). Filled by init, read-only afterwards.
var nationalAlphabets = map[int][]alphabet{}

// Language identifiers of TS 23.038 §6.2.1.2.4, for configuration by name.
var languageIDs = map[string]int{
	"turkish": charset.Turkish, "spanish": charset.Spanish, "portuguese": charset.Portuguese,
	"bengali": charset.Bengali, "gujarati": charset.Gujaranti, "hindi": charset.Hindi,
	"kannada": charset.Kannada, "malayalam": charset.Malayalam, "oriya": charset.Oriya,
	"punjabi": charset.Punjabi, "tamil": charset.Tamil, "telugu": charset.Telugu, "urdu": charset.Urdu,
}

// LanguageID returns the national language identifier of a language name
// ("turkish", "portuguese", ...), for SubmitOptions.NationalLanguages.
func LanguageID(name string) (int, bool) {
	id, ok := languageIDs[strings.ToLower(strings.TrimSpace(name))]
	return id, ok
}

// LanguageNames lists the names LanguageID knows, sorted.
func LanguageNames() []string {
	names := make([]string, 0, len(languageIDs))
	for n := range languageIDs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// table copies enc without the rune mapped to the escape septet and without runes
// already in skip (a character is sent through the base table when it can be).
func table(enc charset.Encoder, skip map[rune]byte) map[rune]byte {
	t := make(map[rune]byte, len(enc))
	for r, s := range enc {
		if s == escSeptet {
			continue
		}
		if _, ok := skip[r]; ok {
			continue
		}
		t[r] = s
	}
	return t
}

// hindiFix corrects warthog618/sms v0.3.0's Hindi locking shift table, whose septets
// 0x00–0x02 hold the Bengali signs U+0981–U+0983 instead of the Devanagari candrabindu,
// anusvara and visarga U+0901–U+0903 of TS 23.038 A.3.6 (every other entry of the table
// is Devanagari; TestNationalTablesAudit guards the tables against such slips).
var hindiFix = map[rune]rune{0x0981: 0x0901, 0x0982: 0x0902, 0x0983: 0x0903}

func initNationalAlphabets() {
	defaultAlphabet = alphabet{base: gsmBase, ext: gsmExt}
	for _, nli := range languageIDs {
		list := []alphabet{{base: gsmBase, ext: table(charset.NewExtEncoder(nli), gsmBase), shift: nli}}
		if nli != charset.Spanish {
			base := table(charset.NewEncoder(nli), nil)
			if nli == charset.Hindi {
				for wrong, right := range hindiFix {
					if s, ok := base[wrong]; ok {
						delete(base, wrong)
						base[right] = s
					}
				}
			}
			list = append(list, alphabet{base: base, ext: table(charset.NewExtEncoder(nli), base), lock: nli, shift: nli})
		}
		nationalAlphabets[nli] = list
	}
}

// septets returns how many septets r takes in a: 1, 2 through ESC, or 0 when a
// cannot carry r.
func (a alphabet) septets(r rune) int {
	if _, ok := a.base[r]; ok {
		return 1
	}
	if _, ok := a.ext[r]; ok {
		return 2
	}
	return 0
}

// append appends the septets of r to dst; r must be encodable in a.
func (a alphabet) append(dst []byte, r rune) []byte {
	if s, ok := a.base[r]; ok {
		return append(dst, s)
	}
	return append(dst, escSeptet, a.ext[r])
}

// ieOctets is the size of a's national language information elements in the UDH.
func (a alphabet) ieOctets() int {
	n := 0
	if a.shift != 0 {
		n += 3
	}
	if a.lock != 0 {
		n += 3
	}
	return n
}

// appendIEs appends a's national language information elements to a UDH.
func (a alphabet) appendIEs(udh []byte) []byte {
	if a.shift != 0 {
		udh = append(udh, ieShiftNLI, 1, byte(a.shift))
	}
	if a.lock != 0 {
		udh = append(udh, ieLockingNLI, 1, byte(a.lock))
	}
	return udh
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
	if locking == charset.Hindi {
		return strings.Map(func(r rune) rune {
			if right, ok := hindiFix[r]; ok {
				return right
			}
			return r
		}, string(b))
	}
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
