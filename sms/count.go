package sms

import "unicode/utf8"

// Units per segment, TS 23.040 9.2.3.24.1: a concatenation IE takes 6
// octets of header with an 8-bit reference (7 septets with the fill bit) and
// 7 octets with a 16-bit one (8 septets).
const (
	gsmSingle      = 160
	gsmMulti8      = 153
	gsmMulti16     = 152
	ucs2Single     = 70
	ucs2Multi8     = 67
	ucs2Multi16    = 66
	maxConcatParts = 255
)

// Counting describes how a text is encoded and split into segments.
type Counting struct {
	Encoding        Encoding
	Characters      int      // runes
	Units           int      // septets (extension chars count 2) or UTF-16 code units
	Segments        int      // 1 for the empty text
	UnitsPerSegment int      // 160/153 (GSM-7) or 70/67 (UCS-2); less with a 16-bit reference or national tables
	UnitsLeft       int      // free units in the last segment
	ForcingUCS2     []string // distinct chars outside GSM-7 (+ extension table), first-appearance order
	// NationalShift and NationalLocking name the national language tables used to keep
	// the text in GSM 7-bit (0 = the default tables); see SubmitOptions.NationalLanguages.
	NationalShift, NationalLocking int
}

// Count tells how EncodeSubmit with default options would encode and split
// text: the encoding, the number of segments and how much room is left. It
// agrees with EncodeSubmit on the number of PDUs for every text. Invalid
// UTF-8 is counted as U+FFFD, which EncodeSubmit refuses.
func Count(text string) Counting {
	return CountSubmit(text, SubmitOptions{})
}

// CountSubmit is Count for the options that change segmentation:
// ForceUCS2, Ref16 and NationalLanguages. The other options are ignored.
func CountSubmit(text string, o SubmitOptions) Counting {
	l := layout(text, o.ForceUCS2, o.Ref16, o.NationalLanguages)
	return Counting{
		Encoding:        l.enc,
		Characters:      l.runes,
		Units:           l.units,
		Segments:        len(l.cuts) + 1,
		UnitsPerSegment: l.perSeg,
		UnitsLeft:       l.perSeg - l.lastUnits,
		ForcingUCS2:     l.forcing,
		NationalShift:   l.alpha.shift,
		NationalLocking: l.alpha.lock,
	}
}

// split is the segmentation of a text, shared by Count and the encoders so
// they can never disagree.
type split struct {
	enc       Encoding
	alpha     alphabet // the GSM 7-bit tables, when enc is GSM7
	runes     int
	units     int
	perSeg    int
	cuts      []int // byte offsets in the text where segments 2.. start
	lastUnits int   // units in the last segment
	forcing   []string
}

// capacity is how many units fit one segment whose UDH carries udh octets of
// information elements (0 for none), in the given encoding. The UDH length octet
// counts too, and GSM 7-bit pads the header to a whole septet.
func capacity(enc Encoding, udh int) int {
	if enc == UCS2 {
		if udh == 0 {
			return ucs2Single
		}
		return (140 - 1 - udh) / 2
	}
	if udh == 0 {
		return gsmSingle
	}
	return gsmSingle - ((1+udh)*8+6)/7
}

// layout splits text greedily into segments. A rune is never split: an
// extension character keeps its escape, and a supplementary character keeps
// both halves of its surrogate pair, so a segment may end a unit short. Text
// the default GSM 7-bit alphabet cannot carry is tried with the national
// tables of langs (each language's single shift table, then its locking and
// single shift tables) and goes in the one that needs the fewest segments, but
// only when that is fewer than UCS-2 needs: not every handset renders the
// national tables, so they are used only where they save a part.
func layout(text string, forceUCS2, ref16 bool, langs []int) split {
	concat := 5 // octets of the concatenation IE
	if ref16 {
		concat = 6
	}
	var forcing []string
	seen := map[rune]bool{}
	runes := 0
	for _, c := range text {
		runes++
		if defaultAlphabet.septets(c) == 0 && !seen[c] {
			seen[c] = true
			forcing = append(forcing, string(c))
		}
	}
	if forceUCS2 {
		s := segment(text, UCS2, alphabet{}, concat)
		s.runes, s.forcing = runes, forcing
		return s
	}
	if len(forcing) == 0 {
		s := segment(text, GSM7, defaultAlphabet, concat)
		s.runes = runes
		return s
	}
	best := segment(text, UCS2, alphabet{}, concat)
	for _, id := range langs {
		for _, a := range nationalAlphabets[id] {
			if !a.carries(text) {
				continue
			}
			if s := segment(text, GSM7, a, concat); len(s.cuts) < len(best.cuts) {
				best = s
			}
		}
	}
	best.runes = runes
	if best.enc == UCS2 {
		best.forcing = forcing
	}
	return best
}

// carries reports whether every rune of text is in a.
func (a alphabet) carries(text string) bool {
	for _, c := range text {
		if a.septets(c) == 0 {
			return false
		}
	}
	return true
}

// segment splits text for one encoding and alphabet; concat is the size of the
// concatenation IE.
func segment(text string, enc Encoding, a alphabet, concat int) split {
	s := split{enc: enc, alpha: a}
	units := func(c rune) int {
		if enc == UCS2 {
			return ucs2Units(c)
		}
		return a.septets(c)
	}
	for _, c := range text {
		s.units += units(c)
	}
	ies := a.ieOctets()
	if single := capacity(enc, ies); s.units <= single {
		s.perSeg, s.lastUnits = single, s.units
		return s
	}
	s.perSeg = capacity(enc, concat+ies)
	used := 0
	for i, c := range text {
		n := units(c)
		if used+n > s.perSeg {
			s.cuts = append(s.cuts, i)
			used = 0
		}
		used += n
	}
	s.lastUnits = used
	return s
}

// validUTF8 reports whether text can be encoded without loss.
func validUTF8(text string) bool { return utf8.ValidString(text) }
