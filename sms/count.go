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
	UnitsPerSegment int      // 160/153 (GSM-7) or 70/67 (UCS-2); 152/66 with a 16-bit reference
	UnitsLeft       int      // free units in the last segment
	ForcingUCS2     []string // distinct chars outside GSM-7 (+ extension table), first-appearance order
}

// Count tells how EncodeSubmit with default options would encode and split
// text: the encoding, the number of segments and how much room is left. It
// agrees with EncodeSubmit on the number of PDUs for every text. Invalid
// UTF-8 is counted as U+FFFD, which EncodeSubmit refuses.
func Count(text string) Counting {
	return CountSubmit(text, SubmitOptions{})
}

// CountSubmit is Count for the options that change segmentation:
// ForceUCS2 and Ref16. The other options are ignored.
func CountSubmit(text string, o SubmitOptions) Counting {
	l := layout(text, o.ForceUCS2, o.Ref16)
	return Counting{
		Encoding:        l.enc,
		Characters:      l.runes,
		Units:           l.units,
		Segments:        len(l.cuts) + 1,
		UnitsPerSegment: l.perSeg,
		UnitsLeft:       l.perSeg - l.lastUnits,
		ForcingUCS2:     l.forcing,
	}
}

// split is the segmentation of a text, shared by Count and the encoders so
// they can never disagree.
type split struct {
	enc       Encoding
	runes     int
	units     int
	perSeg    int
	cuts      []int // byte offsets in the text where segments 2.. start
	lastUnits int   // units in the last segment
	forcing   []string
}

// layout splits text greedily into segments. A rune is never split: an
// extension character keeps its escape, and a supplementary character keeps
// both halves of its surrogate pair, so a segment may end a unit short.
func layout(text string, forceUCS2, ref16 bool) split {
	s := split{enc: GSM7}
	if forceUCS2 {
		s.enc = UCS2
	}
	seen := map[rune]bool{}
	for _, c := range text {
		s.runes++
		if n := gsmSeptets(c); n > 0 {
			s.units += n
			continue
		}
		s.enc = UCS2
		if !seen[c] {
			seen[c] = true
			s.forcing = append(s.forcing, string(c))
		}
	}
	single, multi := gsmSingle, gsmMulti8
	if s.enc == UCS2 {
		single, multi = ucs2Single, ucs2Multi8
		s.units = 0
		for _, c := range text {
			s.units += ucs2Units(c)
		}
	}
	if ref16 {
		multi--
		if s.enc == UCS2 {
			multi = ucs2Multi16
		}
	}
	if s.units <= single {
		s.perSeg = single
		s.lastUnits = s.units
		return s
	}
	s.perSeg = multi
	used := 0
	for i, c := range text {
		n := ucs2Units(c)
		if s.enc == GSM7 {
			n = gsmSeptets(c)
		}
		if used+n > multi {
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
